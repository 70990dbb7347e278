//! Outbox: queued actions reach the server exactly once, a refusal is kept
//! with its error, list / retry / dismiss.

use licensedesk_client::OutboxAction;

use crate::support::{TestServer, session, sync};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_actions_reach_the_server_once_and_refusals_are_kept() {
    let server = TestServer::start().await;
    let (account, token) = server.account("enterprise", "eu-central").await;
    server.product(account, "pout01", 0).await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&server, dir.path(), &token);
    for _ in 0..3 {
        s.enqueue(&OutboxAction::AssignCodes {
            pk: "pout01".into(),
            count: 2,
        })
        .expect("queue");
    }
    let bad = s
        .enqueue(&OutboxAction::AssignCodes {
            pk: "pout01".into(),
            count: 500,
        })
        .expect("queue");
    assert_eq!(s.outbox().list().expect("list").len(), 4);
    sync(&s).await;
    let card = server.get_json("/v1/products/pout01", &token).await;
    assert_eq!(
        card["total"], 6,
        "three assignments of 2, once each: {card}"
    );
    let left = s.outbox().list().expect("list");
    assert_eq!(left.len(), 1, "only the refused one is left: {left:?}");
    assert_eq!(left[0].id, bad.id);
    assert_eq!(left[0].state, "rejected");
    let e = left[0].error.clone().expect("error kept");
    assert!(!e.code.is_empty() && !e.message.is_empty(), "{e:?}");
    // Synced again: nothing is sent twice; the cache shows the assignments.
    sync(&s).await;
    assert_eq!(
        server.get_json("/v1/products/pout01", &token).await["total"],
        6
    );
    assert_eq!(s.cards().expect("cards")[0].total, 6);
    // Retry (still refused: kept), then dismiss.
    s.outbox().retry(bad.id, s.now()).expect("retry");
    assert_eq!(s.outbox().pending_count().expect("n"), 1);
    sync(&s).await;
    assert_eq!(s.outbox().list().expect("list")[0].state, "rejected");
    s.outbox().dismiss(bad.id).expect("dismiss");
    assert!(s.outbox().list().expect("list").is_empty());
    assert_eq!(
        s.outbox().all().expect("all").len(),
        3,
        "history of done items"
    );
    assert!(s.outbox().dismiss(bad.id).is_err());
}

/// The installs the server recorded for `token`'s account.
async fn server_installs(server: &TestServer, token: &str) -> Vec<serde_json::Value> {
    server
        .get_json("/v1/gateway/installs", token)
        .await
        .as_array()
        .expect("installs")
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_install_queued_while_down_reaches_the_server_once() {
    use std::sync::Arc;

    use licensedesk_client::{ApiToken, Cache, ManualClock, Session};
    use licensedesk_core::Coded;

    let server = TestServer::start().await;
    let (_, token) = server.account("enterprise", "eu-central").await;
    let dir = tempfile::tempdir().expect("dir");
    let cache_path = dir.path().join("cache.sqlite3");
    // A server that is down: a loopback port nobody listens on any more.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let fp = licensedesk_core::fingerprint::fingerprint(b"machine-install", "licensedesk-test");
    let installed_at = server.now();
    {
        let clock = Arc::new(ManualClock::new(server.now()));
        let offline = Session::new(
            Cache::open(&cache_path).expect("cache"),
            &dead,
            ApiToken::new(&token),
            clock,
        )
        .expect("session");
        offline
            .enqueue(&OutboxAction::LicenseInstall {
                license_id: "lic-installed".into(),
                fingerprint: fp.clone(),
                installed_at,
                license_kind: "file".into(),
                source: "file".into(),
            })
            .expect("queue");
        offline
            .enqueue(&OutboxAction::LicenseInstall {
                license_id: "lic-bad".into(),
                fingerprint: "not a fingerprint".into(),
                installed_at,
                license_kind: "file".into(),
                source: "file".into(),
            })
            .expect("queue");
        let err = offline
            .sync(&|_| {}, &Default::default())
            .await
            .expect_err("server is down");
        assert_eq!(err.code(), "SERVER_UNREACHABLE", "{err}");
        assert_eq!(offline.outbox().pending_count().expect("n"), 2);
    }
    assert!(server_installs(&server, &token).await.is_empty());

    // The server is back (the same cache, now pointed at it).
    let (s, _) = session(&server, dir.path(), &token);
    sync(&s).await;
    let rows = server_installs(&server, &token).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["license_id"], "lic-installed");
    assert_eq!(rows[0]["fingerprint"], fp);
    assert_eq!(rows[0]["kind"], "file");
    assert_eq!(rows[0]["source"], "file");
    let left = s.outbox().list().expect("list");
    assert_eq!(left.len(), 1, "only the refused one is left: {left:?}");
    assert_eq!(left[0].kind, "license_install");
    assert_eq!(left[0].state, "rejected");
    let e = left[0].error.clone().expect("error kept");
    assert!(!e.code.is_empty() && !e.message.is_empty(), "{e:?}");
    let done = s.outbox().all().expect("all");
    let response: serde_json::Value =
        serde_json::from_str(done[0].response.as_deref().expect("answer")).expect("json");
    assert_eq!(response["recorded"], true);
    assert_eq!(response["id"], rows[0]["id"]);

    // Synced again: nothing is sent twice.
    sync(&s).await;
    assert_eq!(server_installs(&server, &token).await.len(), 1);
    assert_eq!(s.outbox().list().expect("list")[0].state, "rejected");
}

#[test]
fn license_install_fields_checked_before_queueing() {
    let dir = tempfile::tempdir().expect("dir");
    let outbox = licensedesk_client::Outbox::new(
        licensedesk_client::Cache::open(&dir.path().join("c.sqlite3")).expect("cache"),
    );
    let now = chrono::Utc::now();
    let action = |id: &str, kind: &str, source: &str| OutboxAction::LicenseInstall {
        license_id: id.into(),
        fingerprint: "fp".into(),
        installed_at: now,
        license_kind: kind.into(),
        source: source.into(),
    };
    assert!(outbox.enqueue(&action(" ", "file", "file"), now).is_err());
    let err = outbox
        .enqueue(&action("lic", "paper", "file"), now)
        .expect_err("unknown kind");
    assert!(
        err.to_string().contains("unknown license kind \"paper\""),
        "{err}"
    );
    let err = outbox
        .enqueue(&action("lic", "file", "pigeon"), now)
        .expect_err("unknown source");
    assert!(
        err.to_string()
            .contains("unknown install source \"pigeon\""),
        "{err}"
    );
    assert!(outbox.list().expect("list").is_empty());
    // Every source core knows is queued.
    for source in licensedesk_core::gateway::InstallSource::ALL.map(|s| s.as_str()) {
        outbox
            .enqueue(&action("lic", "file", source), now)
            .expect(source);
    }
    assert_eq!(outbox.list().expect("list").len(), 4);
    // And every kind core knows.
    for kind in licensedesk_core::gateway::LicenseKind::ALL.map(|k| k.as_str()) {
        outbox
            .enqueue(&action("lic", kind, "file"), now)
            .expect(kind);
    }
    assert_eq!(outbox.list().expect("list").len(), 8);
}
