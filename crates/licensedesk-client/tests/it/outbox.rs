//! Outbox: queued actions reach the server exactly once, a refusal is kept
//! with its error, list / retry / dismiss.

use licensedesk_client::OutboxAction;

use crate::support::{TestServer, session, sync};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_actions_reach_the_server_once_and_refusals_are_kept() {
    let server = TestServer::start().await;
    let (account, token) = server.account("enterprise", "eu-central").await;
    server.product(account, &token, "pout01", 0).await;
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
    let card = server.get("/v1/products/pout01", &token).await;
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
    assert_eq!(server.get("/v1/products/pout01", &token).await["total"], 6);
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
