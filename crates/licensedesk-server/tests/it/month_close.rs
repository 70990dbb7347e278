//! The month closes (domain.md §1: overage billed on the 1st of the next
//! local month, first offset by top-ups): once per product and month, the
//! top-ups it applies used up, caught up after the server was down.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN, TestServer, at, doc_package};

async fn over(s: &TestServer, t: &str, messages: u64) {
    s.post_ok(
        "/v1/devices/pclose/d/messages",
        t,
        json!({"count": 1500 + messages}),
    )
    .await;
}

fn statement(v: &Value) -> (String, u64, u64, u64, u64) {
    (
        v["month"].as_str().unwrap_or_default().to_owned(),
        v["message_overage"].as_u64().unwrap_or(99),
        v["message_topups_applied"].as_u64().unwrap_or(99),
        v["messages_billed"].as_u64().unwrap_or(99),
        v["message_topups_left"].as_u64().unwrap_or(99),
    )
}

/// The defect: a top-up of 10 offset March's 10 messages of overage and
/// April's again; with 100 bought, 105 units were offset and 100 remained.
/// Here: March with overage, April with none, then the server is down from
/// May 10 to July 3, over two 1sts.
#[tokio::test]
async fn top_ups_offset_overage_once_across_three_months() {
    // eu-central is Europe/Berlin: April 1 00:00 CEST is 2027-03-31T22:00Z.
    let s = TestServer::start_with(Default::default(), at("2027-03-05T10:00:00Z")).await;
    let (id, t) = s.account("individual", "eu-central").await;
    s.product(id, "pclose", doc_package(), "bill", 1).await;
    s.connect(&t, "pclose", "d").await;
    s.post_ok(
        "/v1/admin/topups",
        ADMIN,
        json!({"account_id": id, "pk": "pclose", "messages": 100}),
    )
    .await;
    over(&s, &t, 60).await;

    s.clock.set(at("2027-03-31T21:59:59Z"));
    assert_eq!(
        s.maintenance().await["months_closed"],
        0,
        "March still runs"
    );
    s.clock.set(at("2027-03-31T22:00:00Z"));
    assert_eq!(s.maintenance().await["months_closed"], 1);
    assert_eq!(s.maintenance().await["months_closed"], 0, "closed once");
    let card = s.get_ok("/v1/products/pclose", &t).await;
    assert_eq!(card["message_topups"], 40, "60 of the 100 used up");

    s.clock.set(at("2027-04-30T22:00:00Z")); // May 1 local
    assert_eq!(s.maintenance().await["months_closed"], 1);

    s.clock.set(at("2027-05-10T10:00:00Z"));
    over(&s, &t, 45).await;
    // Down from May 10 to July 3: May and June close in order on restart.
    let s = s.restart(at("2027-07-03T08:00:00Z")).await;
    assert_eq!(s.maintenance().await["months_closed"], 2);
    let s = s.restart(at("2027-07-04T08:00:00Z")).await;
    assert_eq!(s.maintenance().await["months_closed"], 0, "restart-safe");

    let list = s.get_ok("/v1/products/pclose/statements", &t).await;
    let got: Vec<_> = list
        .as_array()
        .expect("list")
        .iter()
        .map(statement)
        .collect();
    assert_eq!(
        got,
        [
            ("2027-06".into(), 0, 0, 0, 0),
            ("2027-05".into(), 45, 40, 5, 0),
            ("2027-04".into(), 0, 0, 0, 40),
            ("2027-03".into(), 60, 60, 0, 40),
        ]
    );
    assert_eq!(
        list[3]["month_start"], "2027-02-28T23:00:00Z",
        "Mar 1 00:00 CET"
    );
    assert_eq!(list[3]["month_end"], "2027-03-31T22:00:00Z");
    let card = s.get_ok("/v1/products/pclose", &t).await;
    assert_eq!(
        card["message_topups"], 0,
        "100 bought, 100 offset, 5 billed"
    );

    // In the change feed, so the desktop app gets them: four statements
    // and the product's balance after each close.
    let feed = s.get_ok("/v1/changes?limit=500", &t).await;
    let changes = feed["changes"].as_array().expect("changes");
    let months: Vec<&str> = changes
        .iter()
        .filter(|c| c["entity"] == "statement")
        .filter_map(|c| c["data"]["month"].as_str())
        .collect();
    assert_eq!(months, ["2027-03", "2027-04", "2027-05", "2027-06"]);
    let last_balance = changes
        .iter()
        .rev()
        .find(|c| c["entity"] == "product" && !c["data"]["message_topups"].is_null())
        .expect("balance change");
    assert_eq!(last_balance["data"]["message_topups"], 0);
}

/// OTA top-ups: under `block` they are taken when an upgrade needs them
/// (and the statement shows it); under `bill` at the close.
#[tokio::test]
async fn ota_top_ups_are_used_at_the_upgrade_under_block_and_at_the_close_under_bill() {
    let s = TestServer::start_with(Default::default(), at("2027-03-05T10:00:00Z")).await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pblock", doc_package(), "block", 1).await;
    s.product(id, "pbilled", doc_package(), "bill", 1).await;
    for pk in ["pblock", "pbilled"] {
        s.connect(&t, pk, "d").await;
        s.post_ok(
            "/v1/admin/topups",
            ADMIN,
            json!({"account_id": id, "pk": pk, "ota_attempts": 5}),
        )
        .await;
        // 12 MB with a 5 MB cap: 3 attempts, 1 from the allowance.
        let (st, v) = s
            .post(
                &format!("/v1/devices/{pk}/d/ota"),
                &t,
                json!({"bytes": 12 * 1_048_576}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    assert_eq!(s.get_ok("/v1/products/pblock", &t).await["ota_topups"], 3);
    assert_eq!(s.get_ok("/v1/products/pbilled", &t).await["ota_topups"], 5);
    s.clock.set(at("2027-04-01T00:00:00Z")); // 08:00 in Shanghai
    assert_eq!(s.maintenance().await["months_closed"], 2);
    let block = &s.get_ok("/v1/products/pblock/statements", &t).await[0];
    assert_eq!(
        (
            block["ota_overage"].as_u64(),
            block["ota_topups_used_in_month"].as_u64(),
            block["ota_topups_left"].as_u64()
        ),
        (Some(0), Some(2), Some(3))
    );
    let bill = &s.get_ok("/v1/products/pbilled/statements", &t).await[0];
    assert_eq!(
        (
            bill["ota_overage"].as_u64(),
            bill["ota_topups_applied"].as_u64(),
            bill["ota_billed"].as_u64(),
            bill["ota_topups_left"].as_u64()
        ),
        (Some(2), Some(2), Some(0), Some(3))
    );
    assert_eq!(s.get_ok("/v1/products/pbilled", &t).await["ota_topups"], 3);
}
