//! Full sync equals the server's view; incremental sync fetches only the
//! changes; progress and cancellation.

use std::sync::Mutex;

use licensedesk_client::{CancelToken, Error, SyncPhase, SyncProgress};
use licensedesk_core::Coded;
use serde_json::json;

use crate::support::{ADMIN, ENT, TestServer, assert_same_view, session, sync};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_equals_the_servers_view_of_the_demo_account() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&server, dir.path(), ENT);
    let seen = Mutex::new(Vec::<SyncProgress>::new());
    let report = s
        .sync(&|p| seen.lock().expect("lock").push(p), &CancelToken::new())
        .await
        .expect("sync");
    assert!(report.full, "first sync is the full one");
    assert_eq!(
        report.changes_fetched as i64,
        server.changes_after(ENT, "").await
    );
    assert!(report.pages >= 2, "the demo feed spans pages: {report:?}");
    assert_same_view(&server, &s, ENT).await;
    let seen = seen.into_inner().expect("lock");
    let changes: Vec<_> = seen
        .iter()
        .filter(|p| p.phase == SyncPhase::Changes)
        .collect();
    assert_eq!(
        changes.len() as u64,
        report.pages,
        "one progress report per page"
    );
    assert!(
        changes.windows(2).all(|w| w[0].done < w[1].done),
        "progress grows"
    );
    assert_eq!(
        changes.last().and_then(|p| p.total),
        Some(report.changes_fetched)
    );
    assert_eq!(seen.last().map(|p| p.phase), Some(SyncPhase::Done));
    // A second sync right away fetches nothing.
    let again = sync(&s).await;
    assert!(!again.full);
    assert_eq!(again.changes_fetched, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_fetches_only_the_changes() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, clock) = session(&server, dir.path(), ENT);
    let first = sync(&s).await;
    let account = server.get("/v1/account", ENT).await["id"]
        .as_i64()
        .expect("id");
    // Server-side changes: new devices, an assignment, a new product and batch.
    for i in 0..7 {
        let (st, v) = server.connect(ENT, "pwm0001", &format!("new-{i}")).await;
        assert_eq!(st, 200, "{v}");
    }
    server
        .post_ok("/v1/products/pcc0002/assign", ENT, json!({"count": 2}))
        .await;
    server
        .post_ok(
            "/v1/products",
            ENT,
            json!({"pk": "pnew01", "name": "New Gadget", "package": crate::support::package()}),
        )
        .await;
    server
        .post_ok("/v1/admin/batches", ADMIN, json!({"account_id": account, "pk": "pnew01", "count": 3, "package": crate::support::package()}))
        .await;
    let expected = server.changes_after(ENT, &first.cursor).await;
    assert!(expected > 0);
    clock.set(server.now());
    let inc = sync(&s).await;
    assert!(!inc.full);
    assert_eq!(inc.changes_fetched as i64, expected, "only the new changes");
    assert!(
        inc.changes_fetched * 50 < first.changes_fetched,
        "{inc:?} vs {first:?}"
    );
    assert_same_view(&server, &s, ENT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_sync_stops_between_pages_and_resumes() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&server, dir.path(), ENT);
    let cancel = CancelToken::new();
    let engine = s.engine().with_page_size(200);
    let err = s
        .sync_with(
            engine.clone(),
            &|p| {
                if p.phase == SyncPhase::Changes && p.done >= 600 {
                    cancel.cancel();
                }
            },
            &cancel,
        )
        .await
        .expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_eq!(err.code(), "SYNC_CANCELLED");
    let ov = s.staleness().expect("staleness");
    assert_eq!(ov.last_synced_at, None, "not complete yet");
    let rest = s
        .sync_with(engine, &|_| {}, &CancelToken::new())
        .await
        .expect("resume");
    assert_eq!(
        rest.changes_fetched as i64,
        server.changes_after(ENT, "c0").await - 600
    );
    assert_same_view(&server, &s, ENT).await;
}
