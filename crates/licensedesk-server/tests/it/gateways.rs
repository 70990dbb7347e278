//! Gateway orders, online and offline activation, floating leases.

use chrono::Duration;
use licensedesk_core::keys::KeySet;
use licensedesk_core::license::verify_license;
use licensedesk_core::offline::{
    Credential, OfflineRequest, RequestEntry, VerifiedOutcome, match_response, verify_response,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN, TestServer, fingerprint};

async fn order(s: &TestServer, account: i64, no: &str, qty: u32) -> Value {
    s.post_ok("/v1/admin/gateway-orders", ADMIN, json!({"account_id": account, "order_no": no, "email": "Buyer@Example.com",
        "customer": "Buyer Ltd", "quantity": qty, "max_connections": 100, "max_tags": 500, "plugins": ["modbus-tcp"], "validity_days": 365})).await
}

async fn keyset(s: &TestServer) -> KeySet {
    let v = s.call("GET", "/v1/keys", None, None).await.1;
    KeySet::from_json(v.to_string().as_bytes()).expect("keyset")
}

#[tokio::test]
async fn order_lookup_activation_and_reissue_without_second_consumption() {
    let s = TestServer::start().await;
    let (id, _) = s.account("enterprise", "cn-east").await;
    let o = order(&s, id, "ORD-1", 2).await;
    let code = o["activation_code"].as_str().expect("code").to_owned();
    let (st, found) = s
        .call(
            "POST",
            "/v1/gateway/orders/lookup",
            None,
            Some(json!({"order_no": "ORD-1", "email": "buyer@example.com"})),
        )
        .await;
    assert_eq!((st, found["remaining"].as_u64()), (StatusCode::OK, Some(2)));
    let (st, _) = s
        .call(
            "POST",
            "/v1/gateway/orders/lookup",
            None,
            Some(json!({"order_no": "ORD-1", "email": "other@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let fp = fingerprint(1);
    let (st, a) = s
        .call(
            "POST",
            "/v1/gateway/activate",
            None,
            Some(json!({"code": code.to_lowercase(), "fingerprint": fp})),
        )
        .await;
    assert_eq!(
        (st, a["reissued"].as_bool(), a["remaining"].as_u64()),
        (StatusCode::OK, Some(false), Some(1))
    );
    let lic = verify_license(
        a["license"].as_str().expect("license").as_bytes(),
        &keyset(&s).await,
    )
    .expect("verifies");
    let p = lic.payload();
    assert_eq!(
        (
            p.hardware.as_deref(),
            p.max_connections,
            p.max_tags,
            p.order.as_deref()
        ),
        (Some(fp.as_str()), 100, 500, Some("ORD-1"))
    );
    assert_eq!(p.expire_at - p.issued_at, Duration::days(365));
    // Same hardware again: re-issued, nothing consumed.
    let (_, again) = s
        .call(
            "POST",
            "/v1/gateway/activate",
            None,
            Some(json!({"code": code, "fingerprint": fp})),
        )
        .await;
    assert_eq!(
        (
            again["reissued"].as_bool(),
            again["remaining"].as_u64(),
            again["license_id"].clone()
        ),
        (Some(true), Some(1), a["license_id"].clone())
    );
    s.call(
        "POST",
        "/v1/gateway/activate",
        None,
        Some(json!({"code": code, "fingerprint": fingerprint(2)})),
    )
    .await;
    let (st, e) = s
        .call(
            "POST",
            "/v1/gateway/activate",
            None,
            Some(json!({"code": code, "fingerprint": fingerprint(3)})),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("ORDER_EXHAUSTED"))
    );
    let (_, found) = s
        .call(
            "POST",
            "/v1/gateway/orders/lookup",
            None,
            Some(json!({"order_no": "ORD-1", "email": "buyer@example.com"})),
        )
        .await;
    assert_eq!(
        (found["used"].as_u64(), found["remaining"].as_u64()),
        (Some(2), Some(0))
    );
}

#[tokio::test]
async fn offline_request_bundle_gets_a_signed_response_bundle() {
    let s = TestServer::start().await;
    let (id, _) = s.account("enterprise", "cn-east").await;
    let o = order(&s, id, "ORD-OFF", 1).await;
    let code = licensedesk_core::activation_code::ActivationCode::parse(
        o["activation_code"].as_str().expect("code"),
    )
    .expect("parse");
    let unknown = licensedesk_core::activation_code::ActivationCode::from_entropy([7; 16]);
    let now = s.now();
    let request = OfflineRequest::new(vec![
        RequestEntry::new(
            &fingerprint(10),
            Credential::Code(code),
            [1; 16],
            now,
            Some("site A".into()),
        )
        .expect("entry"),
        RequestEntry::new(&fingerprint(11), Credential::Code(code), [2; 16], now, None)
            .expect("entry"),
        RequestEntry::new(
            &fingerprint(12),
            Credential::Code(unknown),
            [3; 16],
            now,
            None,
        )
        .expect("entry"),
    ])
    .expect("request");
    let resp = s
        .http
        .post(format!("{}/v1/gateway/offline", s.base))
        .body(request.to_json())
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let bundle = resp.text().await.expect("text");
    let verified = verify_response(bundle.as_bytes(), &keyset(&s).await).expect("signed response");
    let matched = match_response(&request, &verified).expect("answers exactly the request");
    assert!(
        matches!(matched[0].outcome, VerifiedOutcome::Issued { .. }),
        "{:?}",
        matched[0].outcome
    );
    assert!(
        matches!(&matched[1].outcome, VerifiedOutcome::Refused { code, .. } if code == "ORDER_EXHAUSTED"),
        "{:?}",
        matched[1].outcome
    );
    assert!(
        matches!(&matched[2].outcome, VerifiedOutcome::Refused { code, .. } if code == "NOT_FOUND"),
        "{:?}",
        matched[2].outcome
    );

    // Under an Idempotency-Key, the replay is the first answer byte for
    // byte, with its own Content-Type (a bundle, not a JSON error body).
    let keyed = || {
        s.http
            .post(format!("{}/v1/gateway/offline", s.base))
            .header("Idempotency-Key", "offline-1")
            .body(request.to_json())
            .send()
    };
    let first = keyed().await.expect("send");
    assert_eq!(first.status(), StatusCode::OK);
    let first_type = first.headers()[reqwest::header::CONTENT_TYPE].clone();
    let first_body = first.bytes().await.expect("body");
    let again = keyed().await.expect("send");
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()[reqwest::header::CONTENT_TYPE], first_type);
    assert_eq!(again.bytes().await.expect("body"), first_body);
}

#[tokio::test]
async fn floating_leases_claim_heartbeat_release_and_lapse() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    let pt = s.pool(id, "fleet", 100, 60).await;
    let a = s
        .post_ok(
            "/v1/floating/pools/fleet/claim",
            &pt,
            json!({"fingerprint": fingerprint(1), "points": 70}),
        )
        .await;
    let lic = verify_license(
        a["license"].as_str().expect("lic").as_bytes(),
        &keyset(&s).await,
    )
    .expect("verifies");
    assert_eq!(
        (lic.payload().max_tags, lic.payload().expire_at),
        (
            70,
            a["expires_at"]
                .as_str()
                .and_then(|x| x.parse().ok())
                .expect("exp")
        )
    );
    let (st, e) = s
        .post(
            "/v1/floating/pools/fleet/claim",
            &pt,
            json!({"fingerprint": fingerprint(2), "points": 40}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("POOL_EXHAUSTED"))
    );
    s.post_ok(
        "/v1/floating/pools/fleet/claim",
        &pt,
        json!({"fingerprint": fingerprint(2), "points": 30}),
    )
    .await;
    // Heartbeats keep gateway 1 alive (with its usage); gateway 2 stops
    // checking in.
    s.clock.advance(Duration::seconds(45));
    s.post_ok(
        "/v1/floating/pools/fleet/heartbeat",
        &pt,
        json!({"fingerprint": fingerprint(1), "usage": {"connections": 12, "tags": 64}}),
    )
    .await;
    s.clock.advance(Duration::seconds(45));
    let (st, e) = s
        .post(
            "/v1/floating/pools/fleet/heartbeat",
            &pt,
            json!({"fingerprint": fingerprint(2)}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("LEASE_LAPSED"))
    );
    let r = s.maintenance().await;
    assert_eq!(r["leases_culled"], 1);
    // The account sees its pool's live leases with the usage they carry.
    let pool = s.get_ok("/v1/floating/pools/fleet", &t).await;
    assert_eq!(
        (
            pool["in_use"].as_u64(),
            pool["leases"].as_array().map(Vec::len)
        ),
        (Some(70), Some(1))
    );
    assert_eq!(
        pool["leases"][0]["usage"],
        json!({"connections": 12, "tags": 64})
    );
    assert_eq!(pool["server_time"], json!(s.now()));
    let list = s.get_ok("/v1/floating/pools", &t).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["name"], "fleet");
    // The account releases the lease (the app's Release).
    let pool = s
        .post_ok(
            "/v1/floating/pools/fleet/release",
            &t,
            json!({"fingerprint": fingerprint(1)}),
        )
        .await;
    assert_eq!(pool["in_use"], 0);
    let feed = s.get_ok("/v1/changes?limit=1000", &t).await;
    let deletes = feed["changes"]
        .as_array()
        .expect("c")
        .iter()
        .filter(|c| c["entity"] == "floating_lease" && c["op"] == "delete")
        .count();
    assert_eq!(deletes, 2);
}

/// domain.md §4: the vendor creates pools; a gateway uses its pool's token,
/// never the account's; a pool token opens its own pool only.
#[tokio::test]
async fn pools_are_the_vendors_and_leases_need_the_pool_token() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    let (other, to) = s.account("enterprise", "cn-east").await;
    let (st, e) = s
        .post(
            "/v1/admin/floating/pools",
            &t,
            json!({"account_id": id, "name": "mine", "points": 10}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("VENDOR_ONLY"))
    );
    // Bounded like a license's limits and a name.
    for bad in [
        json!({"account_id": id, "name": "", "points": 10}),
        json!({"account_id": id, "name": "x", "points": 0}),
        json!({"account_id": id, "name": "x", "points": 1_000_001}),
    ] {
        let (st, e) = s.post("/v1/admin/floating/pools", ADMIN, bad.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {e}");
    }
    let (st, _) = s
        .post(
            "/v1/admin/floating/pools",
            "nobody",
            json!({"account_id": id, "name": "mine", "points": 10}),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, e) = s
        .post(
            "/v1/admin/floating/pools",
            ADMIN,
            json!({"account_id": 999_999, "name": "x", "points": 10}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    let created = s
        .post_ok(
            "/v1/admin/floating/pools",
            ADMIN,
            json!({"account_id": id, "name": "fleet", "points": 10}),
        )
        .await;
    let pt = created["token"].as_str().expect("token").to_owned();
    assert!(pt.starts_with("ld_pool_"), "{pt}");
    assert_eq!(created["pool"]["points"], 10);
    let pt2 = s.pool(other, "fleet", 10, None).await;
    let claim = |token: String, n: u32| {
        let s = &s;
        async move {
            s.post(
                "/v1/floating/pools/fleet/claim",
                &token,
                json!({"fingerprint": fingerprint(n), "points": 1}),
            )
            .await
        }
    };
    // The account's token, or the vendor's: the wrong role.
    for token in [t.clone(), ADMIN.to_owned()] {
        let (st, e) = claim(token, 1).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("POOL_TOKEN_ONLY"))
        );
    }
    // Each pool token opens its own pool (same name, other account).
    s.post_ok(
        "/v1/floating/pools/fleet/claim",
        &pt,
        json!({"fingerprint": fingerprint(1), "points": 4}),
    )
    .await;
    s.post_ok(
        "/v1/floating/pools/fleet/claim",
        &pt2,
        json!({"fingerprint": fingerprint(1), "points": 7}),
    )
    .await;
    assert_eq!(s.get_ok("/v1/floating/pools/fleet", &t).await["in_use"], 4);
    assert_eq!(s.get_ok("/v1/floating/pools/fleet", &to).await["in_use"], 7);
    let pt_other_pool = s.pool(id, "second", 5, None).await;
    let (st, _) = s
        .post(
            "/v1/floating/pools/fleet/heartbeat",
            &pt_other_pool,
            json!({"fingerprint": fingerprint(1)}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // A pool token reads nothing else of the account.
    let (st, _) = s.get("/v1/floating/pools/fleet", &pt).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Usage is bounded.
    let (st, e) = s
        .post(
            "/v1/floating/pools/fleet/heartbeat",
            &pt,
            json!({"fingerprint": fingerprint(1), "usage": {"connections": 1, "tags": 10_000_001u64}}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("USAGE_OUT_OF_RANGE"))
    );
    // A new token replaces the old one.
    let re = s
        .post_ok(
            &format!("/v1/admin/floating/pools/{id}/fleet/token"),
            ADMIN,
            json!({}),
        )
        .await;
    let pt_new = re["token"].as_str().expect("token").to_owned();
    let (st, _) = claim(pt.clone(), 2).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = claim(pt_new, 2).await;
    assert_eq!(st, StatusCode::OK);
}

async fn product_order(s: &TestServer, account: i64, no: &str, qty: u32) -> String {
    let o = s.post_ok("/v1/admin/gateway-orders", ADMIN, json!({"account_id": account, "order_no": no,
        "email": "buyer@example.com", "customer": "Buyer Ltd", "quantity": qty, "max_connections": 100,
        "max_tags": 500, "plugins": [], "validity_days": 365, "product": "edge-gateway-pro"})).await;
    o["activation_code"].as_str().expect("code").to_owned()
}

async fn remaining(s: &TestServer, no: &str) -> u64 {
    s.call(
        "POST",
        "/v1/gateway/orders/lookup",
        None,
        Some(json!({"order_no": no, "email": "buyer@example.com"})),
    )
    .await
    .1["remaining"]
        .as_u64()
        .expect("remaining")
}

/// The defect: the same hardware activated with a second order of the same
/// gateway product consumed a second license online, while a field kit's
/// reconcile called it a conflict. One rule now (core's
/// `decide_order_activation`): a conflict that names the order it holds,
/// online and to an offline request alike, consuming nothing.
#[tokio::test]
async fn a_second_order_of_the_same_product_is_a_conflict_online_and_offline() {
    let s = TestServer::start().await;
    let (id, _) = s.account("enterprise", "cn-east").await;
    let first = product_order(&s, id, "ORD-P1", 2).await;
    let second = product_order(&s, id, "ORD-P2", 2).await;
    let fp = fingerprint(40);
    let s = &s;
    let activate = |code: String, fp: String| async move {
        s.call(
            "POST",
            "/v1/gateway/activate",
            None,
            Some(json!({"code": code, "fingerprint": fp})),
        )
        .await
    };
    let (st, _) = activate(first.clone(), fp.clone()).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = activate(second.clone(), fp.clone()).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("HARDWARE_ALREADY_ACTIVATED")),
        "{v}"
    );
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("ORD-P1")),
        "{v}"
    );
    assert_eq!(remaining(s, "ORD-P2").await, 2, "nothing consumed");
    // The first order re-issues as before.
    let (st, v) = activate(first.clone(), fp.clone()).await;
    assert_eq!((st, v["reissued"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(remaining(s, "ORD-P1").await, 1);

    // An offline request gets the same answer.
    let request = OfflineRequest::new(vec![
        RequestEntry::new(
            &fp,
            Credential::Code(
                licensedesk_core::activation_code::ActivationCode::parse(&second).expect("code"),
            ),
            [9; 16],
            s.now(),
            None,
        )
        .expect("entry"),
    ])
    .expect("request");
    let bundle = s
        .http
        .post(format!("{}/v1/gateway/offline", s.base))
        .body(request.to_json())
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    let verified = verify_response(bundle.as_bytes(), &keyset(s).await).expect("signed");
    let matched = match_response(&request, &verified).expect("matches");
    assert!(
        matches!(&matched[0].outcome, VerifiedOutcome::Refused { code, .. } if code == "HARDWARE_ALREADY_ACTIVATED"),
        "{:?}",
        matched[0].outcome
    );
    assert_eq!(remaining(s, "ORD-P2").await, 2);
    // Another gateway takes a license of the second order as usual.
    let (st, _) = activate(second, fingerprint(41)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(remaining(s, "ORD-P2").await, 1);
}
