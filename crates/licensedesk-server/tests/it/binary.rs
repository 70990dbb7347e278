//! What only the `licensedesk-server` binary does: `rotate-key` then a
//! restart, and `--demo`'s printed tokens and seed.

use std::collections::BTreeSet;

use licensedesk_core::keys::KeySet;
use licensedesk_core::license::verify_license;
use licensedesk_core::trust::{SignedKeySet, accept};
use serde_json::{Value, json};

use crate::support::{
    ADMIN, ServerProc, fingerprint, get_json, post_json, server_bin, wait_healthy,
};

/// The server's published key set document, `GET /v1/keys`.
async fn published(c: &reqwest::Client, base: &str) -> SignedKeySet {
    let text = c
        .get(format!("{base}/v1/keys"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    SignedKeySet::from_json(text.as_bytes()).expect("key set")
}

/// The server's published key set, `GET /v1/keys`.
async fn keyset(c: &reqwest::Client, base: &str) -> KeySet {
    published(c, base).await.keyset().clone()
}

fn kids(set: &KeySet) -> BTreeSet<String> {
    set.entries().iter().map(|e| e.kid.clone()).collect()
}

/// A floating license for gateway `n` of pool `p`.
async fn claim(c: &reqwest::Client, base: &str, token: &str, n: u32) -> String {
    let v = post_json(
        c,
        format!("{base}/v1/floating/pools/p/claim"),
        token,
        json!({"fingerprint": fingerprint(n), "points": 1}),
    )
    .await;
    v["license"].as_str().expect("license").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_key_then_a_restart_signs_with_the_new_key_and_publishes_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = reqwest::Client::new();
    let mut p = ServerProc::healthy(dir.path(), &c).await;
    let account = p.account(&c, "rot").await;
    let created = post_json(
        &c,
        format!("{}/v1/admin/floating/pools", p.base),
        ADMIN,
        json!({"account_id": account["id"], "name": "p", "points": 5}),
    )
    .await;
    let t = created["token"].as_str().expect("pool token").to_owned();
    let old_license = claim(&c, &p.base, &t, 1).await;
    let before = keyset(&c, &p.base).await;
    let old_kid = before.current().to_owned();
    assert_eq!(kids(&before), BTreeSet::from([old_kid.clone()]));
    p.kill();

    let out = server_bin()
        .args(["rotate-key", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run rotate-key");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let new_kid = stdout
        .lines()
        .find_map(|l| l.strip_prefix("new current signing key: "))
        .unwrap_or_else(|| panic!("no new key id in {stdout:?}"))
        .to_owned();
    assert_ne!(new_kid, old_kid);

    let p = ServerProc::healthy(dir.path(), &c).await;
    let after = keyset(&c, &p.base).await;
    assert_eq!(after.current(), new_kid);
    assert_eq!(
        kids(&after),
        BTreeSet::from([old_kid.clone(), new_kid.clone()])
    );
    let new_license = claim(&c, &p.base, &t, 2).await;
    let verified = verify_license(new_license.as_bytes(), &after).expect("new license verifies");
    assert_eq!(verified.kid(), new_kid, "signed with the new key");
    let verified = verify_license(old_license.as_bytes(), &after).expect("old license verifies");
    assert_eq!(verified.kid(), old_kid);
    // A client that trusted the set before accepts the new key through the
    // chain `rotate-key` signed with the old key; a second rotation too.
    let doc = published(&c, &p.base).await;
    assert_eq!(doc.chain().len(), 1);
    let up = accept(&before, &doc).expect("the new key chains to the old one");
    assert_eq!(up.added, std::slice::from_ref(&new_kid));
    drop(p);
    let out = server_bin()
        .args(["rotate-key", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run rotate-key");
    assert!(out.status.success());
    let p = ServerProc::healthy(dir.path(), &c).await;
    let doc = published(&c, &p.base).await;
    let up = accept(&before, &doc).expect("two rotations chain");
    assert_eq!(up.added.len(), 2);
    assert_eq!(up.set.current(), doc.keyset().current());
    // The file operators copy is the same document.
    let file = std::fs::read(dir.path().join("keys/keyset.json")).expect("keyset.json");
    assert_eq!(SignedKeySet::from_json(&file).expect("file"), doc);
}

/// `  {kind} account "{name}" ({data center}): token {token}`.
fn printed_account(line: &str) -> Option<(String, String, String)> {
    let (head, token) = line.rsplit_once("): token ")?;
    let (head, dc) = head.rsplit_once(" (")?;
    let kind = head.trim_start().split_once(" account ")?.0;
    Some((kind.to_owned(), dc.to_owned(), token.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_tokens_that_work_and_seeds_orders_and_a_pool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = reqwest::Client::new();
    let mut cmd = server_bin();
    cmd.args(["--listen", "127.0.0.1:0", "--demo", "--data-dir"])
        .arg(dir.path());
    let mut p = ServerProc::spawn(cmd);
    let mut lines = Vec::new();
    while !lines
        .last()
        .is_some_and(|l: &String| l.contains("tokens written to"))
    {
        lines.push(p.line());
    }
    assert_eq!(lines[0], "demo data seeded", "{lines:#?}");
    let accounts: Vec<_> = lines.iter().filter_map(|l| printed_account(l)).collect();
    assert_eq!(
        accounts
            .iter()
            .map(|(k, dc, _)| (k.as_str(), dc.as_str()))
            .collect::<Vec<_>>(),
        [("enterprise", "cn-east"), ("individual", "eu-central")],
        "{lines:#?}"
    );
    let field = |label: &str| {
        lines
            .iter()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} in {lines:#?}"))
            .to_owned()
    };
    let admin = field("admin token: ");
    let keys_line = field("public key set: ");
    wait_healthy(&c, &p.base).await;

    // Each printed account token is its account's.
    for (kind, dc, token) in &accounts {
        let a = get_json(&c, format!("{}/v1/account", p.base), token).await;
        assert_eq!(
            (a["kind"].as_str(), a["data_center"].as_str()),
            (Some(kind.as_str()), Some(dc.as_str()))
        );
    }
    let ent = &accounts[0].2;
    // The printed admin token is the admin's (and an account's is not).
    let r = post_json(
        &c,
        format!("{}/v1/admin/maintenance", p.base),
        &admin,
        json!({}),
    )
    .await;
    assert!(r.is_object(), "{r}");
    let refused = c
        .post(format!("{}/v1/admin/maintenance", p.base))
        .bearer_auth(ent)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    // An account token on a vendor route: 403 VENDOR_ONLY.
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    // The key set: served at the printed address, and the printed file holds it.
    let (url, file) = keys_line
        .split_once(" (file ")
        .unwrap_or_else(|| panic!("{keys_line}"));
    assert_eq!(url, format!("{}/v1/keys", p.base));
    let served = keyset(&c, &p.base).await;
    let on_disk = KeySet::from_json(
        &std::fs::read(file.trim_end_matches(')')).expect("the printed key set file"),
    )
    .expect("key set");
    assert_eq!(kids(&on_disk), kids(&served));
    assert_eq!(on_disk.current(), served.current());

    // The seed has gateway orders and a floating pool with leases.
    let order = post_json(
        &c,
        format!("{}/v1/gateway/orders/lookup", p.base),
        ent,
        json!({"order_no": "ORD-2025-0001", "email": "ops@hzmeters.example"}),
    )
    .await;
    assert_eq!(
        (
            order["product"].as_str(),
            order["quantity"].as_u64(),
            order["used"].as_u64()
        ),
        (Some("edge-gateway-pro"), Some(10), Some(3))
    );
    let pool: Value = get_json(&c, format!("{}/v1/floating/pools/edge-fleet", p.base), ent).await;
    assert_eq!(
        (pool["points"].as_u64(), pool["in_use"].as_u64()),
        (Some(200), Some(100))
    );
    assert_eq!(pool["leases"].as_array().map(Vec::len), Some(2));
    // The printed pool token claims in that pool.
    let pool_line = field("floating pool \"edge-fleet\": pool token ");
    let pool_token = pool_line.split_whitespace().next().expect("pool token");
    let lease = post_json(
        &c,
        format!("{}/v1/floating/pools/edge-fleet/claim", p.base),
        pool_token,
        json!({"fingerprint": fingerprint(7), "points": 10}),
    )
    .await;
    assert_eq!(lease["points"], 10, "{lease}");
}

/// A script may read the `listening on` line and close the pipe (or start
/// the server with no reader at all): the demo's printout then fails to
/// write, and the server serves on all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_does_not_stop_the_demo_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Killed(
        server_bin()
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--demo",
                "--data-dir",
            ])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(writer)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn server"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let c = reqwest::Client::new();
    // The demo's printout comes before the first request is served.
    wait_healthy(&c, &base).await;
    let a = get_json(
        &c,
        format!("{base}/v1/account"),
        licensedesk_server::demo::DEMO_ENTERPRISE_TOKEN,
    )
    .await;
    assert_eq!(a["data_center"], "cn-east", "{a}");
    assert!(
        child.0.try_wait().expect("status").is_none(),
        "the server exited"
    );
}
