//! With the server stopped the views still answer and say how old they are;
//! a dead server is SERVER_UNREACHABLE and destroys nothing.

use chrono::Duration;
use licensedesk_client::{LicenseQuery, NearExpiryQuery, OutboxAction};
use licensedesk_core::Coded;

use crate::support::{ENT, TestServer, client_licenses, session, sync};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_answer_offline_with_staleness_and_sync_fails_cleanly() {
    let mut server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, clock) = session(&server, dir.path(), ENT);
    sync(&s).await;
    let before = (
        s.overview().expect("ov"),
        s.cards().expect("cards"),
        client_licenses(&s),
    );
    let cursor = s.cache().path().to_owned();
    server.stop().await;

    clock.advance(Duration::hours(3));
    let err = s
        .sync(&|_| {}, &Default::default())
        .await
        .expect_err("server is down");
    assert_eq!(err.code(), "SERVER_UNREACHABLE", "{err}");
    assert_eq!(err.body().code, "SERVER_UNREACHABLE");
    assert!(
        err.to_string().contains(&server.base),
        "names the server: {err}"
    );

    let ov = s.overview().expect("overview offline");
    assert_eq!(
        ov.staleness.age_seconds,
        Some(3 * 3600),
        "last synced 3 h ago"
    );
    let synced = ov.staleness.last_synced_at.clone().expect("stamp");
    assert_eq!(crate::support::at(&synced), server.now());
    assert!(
        ov.staleness.server_time.is_some(),
        "verified server time kept"
    );
    assert_eq!(ov.staleness.clock_warning, None);
    // Nothing was destroyed by the failed sync.
    assert_eq!(
        (ov.total, ov.used, ov.remaining),
        (before.0.total, before.0.used, before.0.remaining)
    );
    let counts = |cs: &[licensedesk_client::ProductCard]| {
        cs.iter()
            .map(|c| (c.pk.clone(), c.total, c.used, c.remaining))
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&s.cards().expect("cards")), counts(&before.1));
    clock.set(server.now()); // code statuses depend on `now`
    assert_eq!(client_licenses(&s), before.2);
    clock.advance(Duration::hours(3));
    assert!(
        !s.near_expiry(&NearExpiryQuery {
            days: Some(365),
            ..Default::default()
        })
        .expect("near")
        .devices
        .is_empty()
    );
    assert!(s.licenses(&LicenseQuery::default()).expect("lm").rows.len() == 100);
    assert!(cursor.exists());

    // Offline actions are queued, not lost.
    s.enqueue(&OutboxAction::AssignCodes {
        pk: "pwm0001".into(),
        count: 1,
    })
    .expect("queue");
    let err = s
        .sync(&|_| {}, &Default::default())
        .await
        .expect_err("still down");
    assert_eq!(err.code(), "SERVER_UNREACHABLE");
    assert_eq!(s.outbox().pending_count().expect("pending"), 1);

    // A clock set back behind the verified server time trips the guard.
    clock.set(server.now() - Duration::hours(5));
    let w = s
        .staleness()
        .expect("staleness")
        .clock_warning
        .expect("warning");
    assert_eq!(w.code, "CLOCK_SET_BACK");
}
