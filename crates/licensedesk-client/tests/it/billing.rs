//! A product's billing in the app: its policy, the top-ups it has left,
//! this month's overage so far and the months the server closed, all from
//! the cache the feed filled.

use chrono::Duration;
use licensedesk_testkit::ADMIN;
use serde_json::json;

use crate::support::{TestServer, session, sync};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_month_close_reaches_the_app_with_the_top_ups_it_used() {
    let server = TestServer::start().await; // 2026-03-31T10:00Z, 18:00 in Shanghai
    let (account, token) = server.account("enterprise", "cn-east").await;
    // The kit's product, with a policy (this suite's shorthand has none).
    licensedesk_testkit::Server::product(
        &server,
        account,
        "pbill1",
        crate::support::package(),
        "bill",
        2,
    )
    .await;
    server
        .post_json(
            "/v1/admin/topups",
            ADMIN,
            json!({"account_id": account, "pk": "pbill1", "messages": 50, "ota_attempts": 4}),
        )
        .await;
    server.connect(&token, "pbill1", "d1").await;
    // 100 a day: 130 is 30 over today.
    server
        .post_json(
            "/v1/devices/pbill1/d1/messages",
            &token,
            json!({"count": 130}),
        )
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, clock) = session(&server, dir.path(), &token);
    sync(&s).await;
    let b = s.billing("pbill1").expect("billing");
    assert_eq!(
        (
            b.overage_policy.as_str(),
            b.message_topups,
            b.ota_topups,
            b.month.as_str(),
            b.message_overage_this_month,
            b.statements.len()
        ),
        ("bill", 50, 4, "2026-03", 30, 0)
    );
    assert_eq!(b.month_closes_at, "2026-03-31T16:00:00+00:00");
    assert_eq!(s.cards().expect("cards")[0].ota_topups, 4);

    // April 1st, local: the server closes March, using 30 of the 50.
    server.clock.advance(Duration::hours(7));
    let r = server
        .post_json("/v1/admin/maintenance", ADMIN, json!({}))
        .await;
    assert_eq!(r["months_closed"], 1, "{r}");
    clock.set(server.now());
    sync(&s).await;
    let b = s.billing("pbill1").expect("billing");
    assert_eq!(
        (
            b.month.as_str(),
            b.message_overage_this_month,
            b.message_topups
        ),
        ("2026-04", 0, 20)
    );
    assert_eq!(b.statements.len(), 1);
    let st = &b.statements[0];
    assert_eq!(
        (
            st.month.as_str(),
            st.message_overage,
            st.message_topups_applied,
            st.messages_billed,
            st.message_topups_left
        ),
        ("2026-03", 30, 30, 0, 20)
    );
    assert_eq!(s.cards().expect("cards")[0].message_topups, 20);
    // A second pass writes nothing; the app shows one statement still.
    server
        .post_json("/v1/admin/maintenance", ADMIN, json!({}))
        .await;
    sync(&s).await;
    assert_eq!(s.billing("pbill1").expect("billing").statements.len(), 1);
    assert!(s.billing("nope").is_err());
}
