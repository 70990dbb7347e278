//! Backup and restore on PostgreSQL, as the README documents them:
//! `pg_dump -Fc`, `pg_restore` into a new database, then
//! `licensedesk-server renew-instance`, the rule SQLite's `restore`
//! follows: clients' sync cursors are refused and they sync again from
//! the start. (Always on PostgreSQL: the tests' throwaway cluster.)

use std::sync::Arc;

use licensedesk_server::clock::TestClock;
use licensedesk_server::config::Settings;
use licensedesk_testkit::Server;
use reqwest::StatusCode;

use crate::support::{doc_package, server_bin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_dump_and_restore_then_renew_instance_makes_clients_sync_again() {
    let cluster = licensedesk_testkit::pg::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = cluster.database();
    let clock = Arc::new(TestClock::new(licensedesk_testkit::t0()));
    let mut s = Server::node(dir.path(), &url, clock.clone(), Settings::default()).await;
    let (account, token) = s.account("enterprise", "cn-east").await;
    s.product(account, "pdump", doc_package(), "block", 20)
        .await;
    for i in 0..5 {
        assert_eq!(
            s.connect(&token, "pdump", &format!("d{i}")).await.0,
            StatusCode::OK
        );
    }
    let dumped_card = s.get_ok("/v1/products/pdump", &token).await;

    // The dump, as the README says.
    let file = dir.path().join("licensedesk.dump");
    let out = cluster
        .client("pg_dump")
        .args(["-Fc", "-f"])
        .arg(&file)
        .arg(url.rsplit('/').next().expect("db name"))
        .output()
        .expect("pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Written after the dump: a client that synced holds it.
    s.connect(&token, "pdump", "after-dump").await;
    let mut feed = s.get_ok("/v1/changes?limit=1000", &token).await;
    while feed["has_more"] == true {
        let next = feed["next"].as_str().expect("next").to_owned();
        feed = s
            .get_ok(&format!("/v1/changes?since={next}&limit=1000"), &token)
            .await;
    }
    let end = feed["next"].as_str().expect("next").to_owned();
    let early = s.get_ok("/v1/changes?limit=1", &token).await["next"]
        .as_str()
        .expect("next")
        .to_owned();
    s.stop().await;

    // Restored into a new database.
    let restored = cluster.database();
    let out = cluster
        .client("pg_restore")
        .args(["--no-owner", "-d"])
        .arg(restored.rsplit('/').next().expect("db name"))
        .arg(&file)
        .output()
        .expect("pg_restore");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without a new instance id, a cursor past the restored feed's end is
    // still refused; one before it is not (and would read on).
    let r = Server::node(dir.path(), &restored, clock.clone(), Settings::default()).await;
    let (st, e) = r.get(&format!("/v1/changes?since={end}"), &token).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("CURSOR_INVALID")),
        "{e}"
    );
    r.get_ok(&format!("/v1/changes?since={early}"), &token)
        .await;
    drop(r);

    let out = server_bin()
        .args(["renew-instance", "--database", &restored])
        .output()
        .expect("renew-instance");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("new instance id"), "{printed}");

    let r = Server::node(dir.path(), &restored, clock, Settings::default()).await;
    for cursor in [&early, &end] {
        let (st, e) = r.get(&format!("/v1/changes?since={cursor}"), &token).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("CURSOR_INVALID")),
            "{cursor}: {e}"
        );
        assert!(
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("another database")),
            "{e}"
        );
    }
    // The data is the dump's: the same token, the same card; a fresh sync
    // reads it from the start.
    assert_eq!(r.get_ok("/v1/products/pdump", &token).await, dumped_card);
    let fresh = r.get_ok("/v1/snapshot", &token).await;
    assert_eq!(
        fresh["devices"].as_array().map(Vec::len),
        Some(5),
        "{fresh}"
    );
    let (st, _) = r.connect(&token, "pdump", "after-restore").await;
    assert_eq!(st, StatusCode::OK);
}
