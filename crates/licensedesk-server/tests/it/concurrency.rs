//! Consumption under contention: exactly as many activations as codes.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{ADMIN, TestServer, doc_package};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_devices_race_for_ten_codes_twenty_rounds() {
    let s = TestServer::start().await;
    let (account, token) = s.account("enterprise", "cn-east").await;
    s.product(account, "prace", doc_package(), "block", 0).await;
    for round in 0..20 {
        s.post_ok(
            "/v1/admin/batches",
            ADMIN,
            json!({"account_id": account, "pk": "prace", "count": 10, "package": doc_package()}),
        )
        .await;
        let mut tasks = Vec::new();
        for d in 0..200 {
            let client = s.http.clone();
            let url = format!("{}/v1/devices/connect", s.base);
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                let resp = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"pk": "prace", "dk": format!("r{round}-d{d}")}))
                    .send()
                    .await
                    .expect("send");
                let status = resp.status();
                let body: serde_json::Value = resp.json().await.expect("json");
                (status, body)
            }));
        }
        let (mut ok, mut none) = (0, 0);
        for t in tasks {
            let (status, body) = t.await.expect("task");
            match status {
                StatusCode::OK => {
                    assert_eq!(body["consumed"], true);
                    ok += 1;
                }
                StatusCode::CONFLICT => {
                    assert_eq!(body["code"], "NO_CODES_AVAILABLE", "{body}");
                    none += 1;
                }
                other => panic!("round {round}: unexpected {other}: {body}"),
            }
        }
        assert_eq!((ok, none), (10, 190), "round {round}");
        let card = s.get_ok("/v1/products/prace", &token).await;
        assert_eq!(
            (card["used"].as_u64(), card["remaining"].as_u64()),
            (Some(10 * (round + 1)), Some(0)),
            "round {round}: {card}"
        );
    }
    // Database-level check: no device holds two active codes, every consumed
    // code has its device.
    let orphans = s.database.i64("SELECT COUNT(*) FROM codes c LEFT JOIN devices d ON d.id = c.device_id WHERE c.consumed_at IS NOT NULL AND d.id IS NULL", &[]).await;
    assert_eq!(orphans, 0);
    let active = s
        .database
        .i64("SELECT COUNT(*) FROM devices WHERE status = 'active'", &[])
        .await;
    assert_eq!(active, 200);
    crate::support::assert_counts_equal_recount(&s.database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_device_connecting_fifty_times_at_once_consumes_one_code() {
    let s = TestServer::start().await;
    let (account, token) = s.account("enterprise", "cn-east").await;
    s.product(account, "pone", doc_package(), "block", 5).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = s.http.clone();
        let url = format!("{}/v1/devices/connect", s.base);
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"pk": "pone", "dk": "same"}))
                .send()
                .await
                .expect("send");
            assert_eq!(resp.status(), StatusCode::OK);
            resp.json::<serde_json::Value>().await.expect("json")
        }));
    }
    let mut consumed = 0;
    let mut codes = std::collections::HashSet::new();
    for t in tasks {
        let v = t.await.expect("task");
        consumed += usize::from(v["consumed"] == true);
        codes.insert(v["code"].as_str().expect("code").to_owned());
    }
    assert_eq!(consumed, 1);
    assert_eq!(codes.len(), 1, "every connection sees the same code");
    let card = s.get_ok("/v1/products/pone", &token).await;
    assert_eq!(
        (card["used"].as_u64(), card["remaining"].as_u64()),
        (Some(1), Some(4))
    );
}
