//! `ldctl trust`, `usage` and `lease` against the real license server
//! (in-process on a loopback port, its clock read from the system clock at
//! the start and moved by the tests).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use licensedesk_testkit::Server;
use serde_json::{Value, json};

use crate::{MACHINE, World, error_code, json, payload, s};

async fn server(dir: &Path) -> Server {
    Server::start(dir, chrono::Utc::now()).await
}

/// Runs ldctl with `world`'s home and machine id, off the runtime's threads.
async fn ldctl(world: &World, args: &[&str]) -> std::process::Output {
    let mut full: Vec<String> = vec!["--home".into(), s(&world.home()).into()];
    full.extend(args.iter().map(|a| (*a).to_owned()));
    if args[0] != "trust" {
        full.extend(["--machine-id".into(), MACHINE.into()]);
    }
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ldctl"))
            .args(&full)
            .env_remove("LDCTL_HOME")
            .env_remove("LDCTL_MACHINE_ID")
            .env_remove("LDCTL_POOL_TOKEN")
            .output()
            .expect("run ldctl")
    })
    .await
    .expect("join")
}

fn ok(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    json(out)
}

/// `ldctl lease claim` of `points` in pool `fleet` of `base`, with `token`
/// (else the one a claim kept).
async fn claim(
    world: &World,
    base: &str,
    points: &str,
    token: Option<&str>,
) -> std::process::Output {
    let mut args = vec![
        "lease", "claim", "--server", base, "--pool", "fleet", "--points", points, "--json",
    ];
    if let Some(t) = token {
        args.extend(["--token", t]);
    }
    ldctl(world, &args).await
}

/// A world that trusts nothing yet.
fn bare_world() -> World {
    let world = World::new();
    std::fs::remove_file(world.home().join("keys.json")).expect("untrust");
    world
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_pins_then_follows_rotations_and_refuses_a_foreign_server() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut srv = server(data.path()).await;
    let world = bare_world();
    let shown = ok(&ldctl(&world, &["trust", "--json"]).await);
    assert_eq!(shown["keys"], Value::Null);
    let pinned = ok(&ldctl(&world, &["trust", "--json", "--server", &srv.base]).await);
    assert_eq!(pinned["pinned"], true);
    let keys = pinned["keys"].as_array().expect("keys").clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["fingerprint"].as_str().map(str::len), Some(39));
    // The server rotates its key: the new set chains to the pinned one.
    srv.stop().await;
    licensedesk_server::keystore::rotate(&data.path().join("keys"), chrono::Utc::now())
        .expect("rotate");
    let srv = server(data.path()).await;
    let up = ok(&ldctl(&world, &["trust", "--json", "--server", &srv.base]).await);
    assert_eq!(
        (up["pinned"].as_bool(), up["added"].as_array().map(Vec::len)),
        (Some(false), Some(1))
    );
    assert_eq!(up["keys"].as_array().map(Vec::len), Some(2));
    // Another server (its own keys) at the same address would be refused.
    let before = std::fs::read(world.home().join("keys.json")).expect("trusted");
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = server(other_dir.path()).await;
    let out = ldctl(&world, &["trust", "--json", "--server", &other.base]).await;
    assert_eq!(error_code(&out), "KEYSET_UNTRUSTED");
    assert_eq!(
        std::fs::read(world.home().join("keys.json")).expect("trusted"),
        before,
        "a refused key set changes nothing"
    );
    // A key set file works the same way (one the operator copied).
    let file = data.path().join("keys/keyset.json");
    let same = ok(&ldctl(&world, &["trust", "--json", "--file", s(&file)]).await);
    assert_eq!(same["added"], json!([]));
    let out = ldctl(
        &world,
        &[
            "trust",
            "--json",
            "--server",
            &srv.base.replace("127.0.0.1", "127.0.0.1:1"),
        ],
    )
    .await;
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_recorded_exported_and_a_license_below_it_is_refused() {
    let world = World::new();
    let set = ok(&ldctl(
        &world,
        &[
            "usage",
            "set",
            "--tags",
            "40",
            "--connections",
            "12",
            "--json",
        ],
    )
    .await);
    assert_eq!(set["usage"]["tags"], 40);
    let shown = ok(&ldctl(&world, &["usage", "show", "--json"]).await);
    assert_eq!(
        (
            shown["usage"]["connections"].as_u64(),
            shown["samples"].as_u64()
        ),
        (Some(12), Some(1))
    );
    let out = ldctl(
        &world,
        &[
            "usage",
            "set",
            "--tags",
            "10000001",
            "--connections",
            "1",
            "--json",
        ],
    )
    .await;
    assert_eq!(error_code(&out), "USAGE_OUT_OF_RANGE");
    ok(&ldctl(
        &world,
        &[
            "usage",
            "set",
            "--tags",
            "41",
            "--connections",
            "12",
            "--json",
        ],
    )
    .await);
    let file = world.path("usage.ldusage");
    let exported = ok(&ldctl(&world, &["usage", "export", "-o", s(&file), "--json"]).await);
    assert_eq!(exported["samples"], 2);
    let parsed =
        licensedesk_core::gateway::usage::UsageFile::parse(&std::fs::read(&file).expect("file"))
            .expect("a usage file");
    assert_eq!(parsed.fingerprint, world.fingerprint());
    assert_eq!(parsed.latest().map(|s| s.tags), Some(41));
    // A license for 30 tags while 41 are in use: refused, naming both.
    let fp = world.fingerprint();
    let mut small = payload("LIC-SMALL", Some(&fp));
    small["max_tags"] = json!(30);
    let lic = world.sign("small", "issuer", &small);
    let out = ldctl(&world, &["install", "--json", s(&lic)]).await;
    assert_eq!(error_code(&out), "LIMIT_BELOW_USAGE");
    let message = json(&out)["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("30") && message.contains("41"),
        "{message}"
    );
    assert!(!world.home().join("license.lic").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_is_claimed_kept_alive_with_usage_released_on_sigterm_and_lapses() {
    let data = tempfile::tempdir().expect("tempdir");
    let srv = server(data.path()).await;
    let (account, account_token) = srv.account("enterprise", "cn-east").await;
    let pool_token = srv.pool(account, "fleet", 100, 10).await;
    let world = bare_world();
    // Without trusted keys nothing is claimed.
    let out = claim(&world, &srv.base, "20", Some(&pool_token)).await;
    assert_eq!(error_code(&out), "KEYS_MISSING");
    ok(&ldctl(&world, &["trust", "--server", &srv.base, "--json"]).await);
    // The account's token is not the pool's.
    let out = claim(&world, &srv.base, "20", Some(&account_token)).await;
    assert_eq!(error_code(&out), "POOL_TOKEN_ONLY");
    // Fewer points than the tags in use: refused before claiming.
    ok(&ldctl(
        &world,
        &[
            "usage",
            "set",
            "--tags",
            "25",
            "--connections",
            "5",
            "--json",
        ],
    )
    .await);
    let out = claim(&world, &srv.base, "20", Some(&pool_token)).await;
    assert_eq!(error_code(&out), "LIMIT_BELOW_USAGE");
    assert_eq!(
        srv.get_ok("/v1/floating/pools/fleet", &account_token).await["in_use"],
        0
    );

    let claimed = ok(&claim(&world, &srv.base, "30", Some(&pool_token)).await);
    assert_eq!(claimed["license"]["kind"], "floating");
    assert_eq!(claimed["license"]["max_tags"], 30);
    assert_eq!(claimed["license"]["hardware"], json!(world.fingerprint()));
    let shown = ok(&ldctl(&world, &["show", "--json"]).await);
    assert_eq!(shown["effective"]["mode"], "licensed");
    let pool = srv.get_ok("/v1/floating/pools/fleet", &account_token).await;
    assert_eq!(
        pool["leases"][0]["usage"],
        json!({"connections": 5, "tags": 25})
    );

    // `lease run` (token kept by claim) heartbeats with the current usage…
    ok(&ldctl(
        &world,
        &[
            "usage",
            "set",
            "--tags",
            "27",
            "--connections",
            "6",
            "--json",
        ],
    )
    .await);
    let run = Command::new(env!("CARGO_BIN_EXE_ldctl"))
        .args([
            "--home",
            s(&world.home()),
            "lease",
            "run",
            "--interval",
            "1",
            "--json",
            "--machine-id",
            MACHINE,
        ])
        .env_remove("LDCTL_POOL_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lease run");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pool = srv.get_ok("/v1/floating/pools/fleet", &account_token).await;
        if pool["leases"][0]["usage"]["tags"] == 27 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no heartbeat with the new usage: {pool}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // …and releases the lease on SIGTERM.
    let st = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .expect("kill");
    assert!(st.success());
    let out = tokio::task::spawn_blocking(move || run.wait_with_output().expect("wait"))
        .await
        .expect("join");
    let report = ok(&out);
    assert_eq!(report["released"], true);
    assert!(report["heartbeats"].as_u64() >= Some(1), "{report}");
    assert_eq!(
        srv.get_ok("/v1/floating/pools/fleet", &account_token).await["in_use"],
        0
    );
    assert!(!world.home().join("lease.json").exists());

    // Claimed again, then no heartbeat: the lease lapses and the license
    // expires with it.
    let claimed = ok(&claim(&world, &srv.base, "30", None).await);
    let expires = claimed["expires_at"].as_str().expect("expires").to_owned();
    srv.clock.advance(chrono::Duration::seconds(11));
    let pool = srv.get_ok("/v1/floating/pools/fleet", &account_token).await;
    assert_eq!(pool["leases"], json!([]), "lapsed");
    let later: chrono::DateTime<chrono::Utc> = expires.parse().expect("time");
    let later = (later + chrono::Duration::seconds(1)).to_rfc3339();
    let shown = ok(&ldctl(&world, &["show", "--json", "--now", &later]).await);
    assert_eq!(shown["effective"]["mode"], "trial");
    assert_eq!(shown["effective"]["reason"]["reason"], "expired");
    // `lease release` of a lapsed lease still forgets it.
    ok(&ldctl(&world, &["lease", "release", "--json"]).await);
    let out = ldctl(&world, &["lease", "release", "--json"]).await;
    assert_eq!(error_code(&out), "LEASE_NONE");
}

/// A request answered by the server (as LicenseDesk saves it beside the
/// request, `.ldresp`) installs with `ldctl install`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_bundle_installs_this_gateways_license() {
    let data = tempfile::tempdir().expect("tempdir");
    let srv = server(data.path()).await;
    let (account, _) = srv.account("enterprise", "cn-east").await;
    let order = srv
        .post_ok(
            "/v1/admin/gateway-orders",
            licensedesk_testkit::ADMIN,
            json!({"account_id": account, "order_no": "ORD-R", "email": "b@example.com",
                   "customer": "Buyer", "quantity": 1, "max_connections": 10, "max_tags": 100,
                   "plugins": [], "validity_days": 30}),
        )
        .await;
    let code = order["activation_code"].as_str().expect("code");
    let world = bare_world();
    ok(&ldctl(&world, &["trust", "--server", &srv.base, "--json"]).await);
    let req = world.path("gw.ldreq");
    ok(&ldctl(
        &world,
        &["request", "--code", code, "-o", s(&req), "--json"],
    )
    .await);
    let resp = srv
        .http
        .post(format!("{}/v1/gateway/offline", srv.base))
        .header("content-type", "application/json")
        .body(std::fs::read(&req).expect("request"))
        .send()
        .await
        .expect("send")
        .bytes()
        .await
        .expect("body");
    let answer = world.path("gw.ldresp");
    std::fs::write(&answer, &resp).expect("write");
    let installed = ok(&ldctl(&world, &["install", s(&answer), "--json"]).await);
    assert_eq!(installed["kind"], "activation");
    assert_eq!(installed["hardware"], json!(world.fingerprint()));
    // Another gateway's bundle is not this one's.
    let other = World::new();
    std::fs::copy(
        world.home().join("keys.json"),
        other.home().join("keys.json"),
    )
    .expect("trust");
    let out = Command::new(env!("CARGO_BIN_EXE_ldctl"))
        .args([
            "--home",
            s(&other.home()),
            "install",
            s(&answer),
            "--json",
            "--machine-id",
            "another-machine",
        ])
        .output()
        .expect("run");
    assert_eq!(error_code(&out), "OFFLINE_GATEWAY_NOT_ANSWERED");
}
