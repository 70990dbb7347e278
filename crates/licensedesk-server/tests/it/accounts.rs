//! Accounts, free codes, products, packages, assignment, cross-account.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{ADMIN, TestServer, doc_package, package};

#[tokio::test]
async fn free_codes_ten_five_and_five_more_once() {
    let s = TestServer::start().await;
    let (ent_id, ent) = s.account("enterprise", "cn-east").await;
    let (ind_id, ind) = s.account("individual", "eu-central").await;
    let verify = |id: i64| format!("/v1/admin/accounts/{id}/verify-enterprise");
    let e = s.get_ok("/v1/account", &ent).await;
    assert_eq!(
        (
            e["total"].as_u64(),
            e["unassigned"].as_u64(),
            e["free_codes"].as_u64()
        ),
        (Some(10), Some(10), Some(10))
    );
    assert_eq!(e["time_zone"], "Asia/Shanghai");
    let i = s.get_ok("/v1/account", &ind).await;
    assert_eq!(
        (
            i["total"].as_u64(),
            i["remaining"].as_u64(),
            i["used"].as_u64()
        ),
        (Some(5), Some(5), Some(0))
    );
    let v = s.post_ok(&verify(ind_id), ADMIN, json!({})).await;
    assert_eq!(
        (
            v["kind"].as_str(),
            v["free_codes"].as_u64(),
            v["total"].as_u64()
        ),
        (Some("enterprise"), Some(10), Some(10))
    );
    let (st, again) = s.post(&verify(ind_id), ADMIN, json!({})).await;
    assert_eq!(
        (st, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("ALREADY_VERIFIED"))
    );
    let (st, ent_again) = s.post(&verify(ent_id), ADMIN, json!({})).await;
    assert_eq!(
        (st, ent_again["code"].as_str()),
        (StatusCode::CONFLICT, Some("ALREADY_ENTERPRISE"))
    );
    assert_eq!(s.get_ok("/v1/account", &ind).await["total"], 10);
}

#[tokio::test]
async fn counters_batches_package_consistency_and_assignment() {
    let s = TestServer::start().await;
    let (id, t) = s.account("individual", "eu-central").await;
    s.product(id, "pmeter", doc_package(), "block", 3).await;
    let card = s.get_ok("/v1/products/pmeter", &t).await;
    assert_eq!(
        card["package_summary"],
        "5 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d"
    );
    // A batch with another package is refused, naming both packages.
    let (st, e) = s
        .post(
            "/v1/admin/batches",
            ADMIN,
            json!({"account_id": id, "pk": "pmeter", "count": 5, "package": package(2, 0, 0)}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("PACKAGE_MISMATCH"))
    );
    let msg = e["message"].as_str().expect("message");
    assert!(msg.contains("5 y") && msg.contains("2 y"), "{msg}");
    // Same package by meaning (60 months) is accepted.
    s.post_ok(
        "/v1/admin/batches",
        ADMIN,
        json!({"account_id": id, "pk": "pmeter", "count": 2, "package": package(0, 60, 0)}),
    )
    .await;
    // Free codes are unassigned: a device of a product without assigned codes goes offline.
    s.product(id, "pdev", doc_package(), "block", 0).await;
    let (st, e) = s.connect(&t, "pdev", "d1").await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("NO_CODES_AVAILABLE"))
    );
    // It says how many unassigned codes the account could assign.
    let msg = e["message"].as_str().expect("message");
    assert!(
        msg.contains("pdev") && msg.contains("5 unassigned codes") && msg.contains("assign"),
        "{msg}"
    );
    // A device refused its first code is not created: the card counts
    // only devices that activated.
    let (st, _) = s.get("/v1/devices/pdev/d1", &t).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(s.get_ok("/v1/products/pdev", &t).await["devices"], 0);
    let (st, e) = s
        .post("/v1/products/pdev/assign", &t, json!({"count": 6}))
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("ASSIGN_COUNT_EXCEEDS_AVAILABLE"))
    );
    let card = s
        .post_ok("/v1/products/pdev/assign", &t, json!({"count": 2}))
        .await;
    assert_eq!(
        (card["total"].as_u64(), card["remaining"].as_u64()),
        (Some(2), Some(2))
    );
    // A free code assigned to the product takes on its package: 5 years.
    let (st, d) = s.connect(&t, "pdev", "d1").await;
    assert_eq!(
        (st, d["consumed"].as_bool(), d["expires_at"].as_str()),
        (StatusCode::OK, Some(true), Some("2031-03-31T10:00:00Z"))
    );
    s.connect(&t, "pmeter", "m1").await;
    let a = s.get_ok("/v1/account", &t).await;
    // Total = Used + Remaining; Remaining = unassigned + assigned-unconsumed.
    assert_eq!(
        (
            a["total"].as_u64(),
            a["used"].as_u64(),
            a["remaining"].as_u64(),
            a["unassigned"].as_u64()
        ),
        (Some(10), Some(2), Some(8), Some(3))
    );
    let cards = s.get_ok("/v1/products", &t).await;
    assert_eq!(cards.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn cross_account_access_is_always_not_found() {
    let s = TestServer::start().await;
    let (a, ta) = s.account("enterprise", "cn-east").await;
    let (_, tb) = s.account("enterprise", "us-west").await;
    s.product(a, "psecret", doc_package(), "block", 2).await;
    s.connect(&ta, "psecret", "dev").await;
    s.pool(a, "pool", 10, None).await;
    for path in [
        "/v1/products/psecret",
        "/v1/devices/psecret/dev",
        "/v1/devices/psecret/dev/logs",
        "/v1/floating/pools/pool",
    ] {
        let (st, e) = s.get(path, &tb).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("NOT_FOUND")),
            "{path}"
        );
    }
    for (path, body) in [
        ("/v1/devices/connect", json!({"pk": "psecret", "dk": "x"})),
        ("/v1/products/psecret/assign", json!({"count": 1})),
        ("/v1/devices/psecret/dev/messages", json!({"count": 1})),
        ("/v1/devices/psecret/dev/ota", json!({"bytes": 10})),
        (
            "/v1/floating/pools/pool/release",
            json!({"fingerprint": crate::support::fingerprint(1)}),
        ),
    ] {
        let (st, e) = s.post(path, &tb, body).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("NOT_FOUND")),
            "{path}"
        );
    }
    // B sees nothing of A in lists and in the change feed.
    assert_eq!(s.get_ok("/v1/products", &tb).await, json!([]));
    let feed = s.get_ok("/v1/changes", &tb).await;
    assert!(
        feed["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .all(|c| c["data"].to_string().find("psecret").is_none())
    );
    let lic = s.get_ok("/v1/licenses?pk=psecret", &tb).await;
    assert_eq!(lic["items"], json!([]));
    // No token or a wrong token: 401; an account token on a vendor route:
    // 403 (roles.rs holds every route to its role).
    let (st, _) = s.call("GET", "/v1/account", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s.get("/v1/account", "nope").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s
        .post(
            "/v1/admin/batches",
            &ta,
            json!({"account_id": a, "pk": "psecret", "count": 1, "package": doc_package()}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}
