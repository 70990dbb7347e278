//! Messages and OTA quotas in the data center's local day and month,
//! overage policies, top-ups, retention purge.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{ADMIN, TestServer, at, doc_package};

const MB: i64 = 1_048_576;

#[tokio::test]
async fn fifteen_hundred_messages_a_day_block_until_local_midnight() {
    // cn-east is Asia/Shanghai (UTC+8): local midnight is 16:00 UTC.
    let s = TestServer::start_with(Default::default(), at("2026-03-31T10:00:00Z")).await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pmsg", doc_package(), "block", 1).await;
    s.connect(&t, "pmsg", "d").await;
    let v = s
        .post_ok("/v1/devices/pmsg/d/messages", &t, json!({"count": 1499}))
        .await;
    assert_eq!(v["usage"]["messages_reset_at"], "2026-03-31T16:00:00Z");
    s.post_ok(
        "/v1/devices/pmsg/d/messages",
        &t,
        json!({"count": 1, "direction": "down"}),
    )
    .await;
    let (st, e) = s
        .post("/v1/devices/pmsg/d/messages", &t, json!({"count": 1}))
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("MESSAGE_QUOTA_EXCEEDED"))
    );
    s.clock.set(at("2026-03-31T15:59:59Z"));
    let (st, _) = s.post("/v1/devices/pmsg/d/messages", &t, json!({})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    s.clock.set(at("2026-03-31T16:00:00Z"));
    let v = s
        .post_ok("/v1/devices/pmsg/d/messages", &t, json!({}))
        .await;
    assert_eq!(v["usage"]["messages_today"], 1);
}

#[tokio::test]
async fn bill_policy_records_message_overage() {
    let s = TestServer::start().await;
    let (id, t) = s.account("individual", "eu-central").await;
    s.product(id, "pbill", doc_package(), "bill", 1).await;
    s.connect(&t, "pbill", "d").await;
    s.post_ok("/v1/devices/pbill/d/messages", &t, json!({"count": 1400}))
        .await;
    let v = s
        .post_ok("/v1/devices/pbill/d/messages", &t, json!({"count": 200}))
        .await;
    assert_eq!(
        (v["decision"].as_str(), v["overage"].as_u64()),
        (Some("allowed_with_overage"), Some(100))
    );
    assert_eq!(v["usage"]["messages_overage_today"], 100);
}

#[tokio::test]
async fn ota_six_mb_costs_two_attempts_with_a_five_mb_cap() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pota", doc_package(), "block", 1).await;
    s.connect(&t, "pota", "d").await;
    // 1 attempt a month: a 6 MB image needs 2 → refused without top-ups.
    let (st, e) = s
        .post("/v1/devices/pota/d/ota", &t, json!({"bytes": 6 * MB}))
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("OTA_QUOTA_EXCEEDED"))
    );
    assert!(
        e["message"].as_str().expect("msg").contains("costs 2"),
        "{e}"
    );
    s.post_ok(
        "/v1/admin/topups",
        ADMIN,
        json!({"account_id": id, "pk": "pota", "ota_attempts": 1}),
    )
    .await;
    let v = s
        .post_ok("/v1/devices/pota/d/ota", &t, json!({"bytes": 6 * MB}))
        .await;
    assert_eq!(
        (
            v["topups_used"].as_u64(),
            v["usage"]["ota_this_month"].as_u64(),
            v["usage"]["ota_topups_left"].as_i64()
        ),
        (Some(1), Some(1), Some(0))
    );
    // Month used up: even a 5 MB image (1 attempt) is refused until the 1st.
    let (st, _) = s
        .post("/v1/devices/pota/d/ota", &t, json!({"bytes": 5 * MB}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // 1 April 00:00 in Shanghai = 31 March 16:00 UTC.
    assert_eq!(v["usage"]["ota_reset_at"], "2026-03-31T16:00:00Z");
    s.clock.set(at("2026-03-31T16:00:00Z"));
    let v = s
        .post_ok("/v1/devices/pota/d/ota", &t, json!({"bytes": 5 * MB}))
        .await;
    assert_eq!(v["usage"]["ota_this_month"], 1);
    // Invalid sizes.
    for bytes in [0, -1] {
        let (st, e) = s
            .post("/v1/devices/pota/d/ota", &t, json!({"bytes": bytes}))
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("OTA_SIZE_INVALID"))
        );
    }
}

#[tokio::test]
async fn ota_overage_under_bill_and_cost_table() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    let pkg = json!({"validity": {"years": 5}, "messages_per_day": 1500, "ota_per_month": 10, "ota_cap_mb": 5, "storage_days": 7});
    s.product(id, "pcost", pkg, "bill", 1).await;
    s.connect(&t, "pcost", "d").await;
    let mut used = 0;
    for (bytes, cost) in [(5 * MB, 1), (6 * MB, 2), (10 * MB, 2), (10 * MB + 1, 3)] {
        let v = s
            .post_ok("/v1/devices/pcost/d/ota", &t, json!({"bytes": bytes}))
            .await;
        used += cost;
        assert_eq!(
            v["usage"]["ota_this_month"].as_u64().expect("n")
                + v["usage"]["ota_overage_this_month"].as_u64().expect("o"),
            used,
            "{bytes}"
        );
    }
    let v = s
        .post_ok("/v1/devices/pcost/d/ota", &t, json!({"bytes": 11 * MB}))
        .await; // 3 more: 8 + 3 = 11 > 10
    assert_eq!(
        (v["decision"].as_str(), v["overage"].as_u64()),
        (Some("allowed_with_overage"), Some(1))
    );
}

#[tokio::test]
async fn device_logs_are_purged_after_the_storage_duration() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "plog", doc_package(), "block", 1).await;
    s.connect(&t, "plog", "d").await;
    s.post_ok("/v1/devices/plog/d/messages", &t, json!({"count": 3}))
        .await;
    s.clock.advance(Duration::days(5));
    s.post_ok("/v1/devices/plog/d/messages", &t, json!({"count": 1}))
        .await;
    s.clock.advance(Duration::days(3)); // first log is 8 days old, second 3
    let r = s.maintenance().await;
    assert_eq!(r["logs_purged"], 1);
    let logs = s.get_ok("/v1/devices/plog/d/logs", &t).await;
    assert_eq!(logs.as_array().map(Vec::len), Some(1));
    let feed = s.get_ok("/v1/changes?limit=1000", &t).await;
    let purge = feed["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["op"] == "purge")
        .cloned();
    assert_eq!(purge.map(|p| p["data"]["purged"].clone()), Some(json!(1)));
}

#[tokio::test]
async fn overage_is_billed_on_the_first_of_next_month_offset_by_topups() {
    let s = TestServer::start().await; // 2026-03-31T10:00Z = 18:00 in Berlin (CEST)
    let (id, t) = s.account("individual", "eu-central").await;
    s.product(id, "povr", doc_package(), "bill", 1).await;
    s.connect(&t, "povr", "d").await;
    s.post_ok("/v1/devices/povr/d/messages", &t, json!({"count": 1600}))
        .await; // 100 over
    s.post_ok("/v1/devices/povr/d/ota", &t, json!({"bytes": 12 * MB}))
        .await; // 3 attempts, 2 over
    s.post_ok(
        "/v1/admin/topups",
        ADMIN,
        json!({"account_id": id, "pk": "povr", "messages": 30, "ota_attempts": 5}),
    )
    .await;
    let b = s.get_ok("/v1/products/povr/billing", &t).await;
    assert_eq!(
        b["billed_at"], "2026-03-31T22:00:00Z",
        "1 April 00:00 in Berlin"
    );
    assert_eq!(
        (
            b["message_overage"].as_u64(),
            b["messages"]["billed"].as_u64(),
            b["messages"]["topups_used"].as_u64()
        ),
        (Some(100), Some(70), Some(30))
    );
    assert_eq!(
        (
            b["ota_overage"].as_u64(),
            b["ota"]["billed"].as_u64(),
            b["ota"]["topups_used"].as_u64()
        ),
        (Some(2), Some(0), Some(2))
    );
    // Next month starts clean.
    let b = s
        .get_ok("/v1/products/povr/billing?at=2026-04-15T00:00:00Z", &t)
        .await;
    assert_eq!(
        (b["message_overage"].as_u64(), b["ota_overage"].as_u64()),
        (Some(0), Some(0))
    );
}
