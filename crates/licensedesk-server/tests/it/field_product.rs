//! Field allotments by gateway product: oldest order first, each slot
//! consumed once against its own order, exactly one of order and product,
//! the same caps and idempotency as by order, out-of-scope licenses refused,
//! and the schema upgrade of existing allotments.

use chrono::Duration;
use licensedesk_core::delegate::{DelegateCert, delegated_payload};
use licensedesk_core::keys::{KeySet, SigningKeyWithKid};
use licensedesk_core::license::{LicensePayload, verify_license};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::field::{Kit, checkout_twice, code, kit_of, reconcile};
use crate::support::{ADMIN, TestServer, fingerprint};

const PRO: &str = "edge-gateway-pro";

async fn order(
    s: &TestServer,
    account: i64,
    no: &str,
    product: Option<&str>,
    qty: u32,
    extra: Value,
) {
    let mut body = json!({"account_id": account, "order_no": no, "email": "b@example.com",
        "customer": "Buyer Ltd", "quantity": qty, "max_connections": 100, "max_tags": 500,
        "plugins": ["modbus-tcp", "mqtt"], "validity_days": 365, "product": product});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    s.post_ok("/v1/admin/gateway-orders", ADMIN, body).await;
}

/// An account with ORD-1 (3 licenses) and ORD-2 (4, fewer plugins, created
/// a day later) of `PRO`, ORD-L of another product and ORD-N of none.
async fn setup() -> (TestServer, i64, String) {
    let s = TestServer::start().await;
    let (id, token) = s.account("enterprise", "cn-east").await;
    order(&s, id, "ORD-1", Some(PRO), 3, json!({})).await;
    s.clock.advance(Duration::days(1));
    order(
        &s,
        id,
        "ORD-2",
        Some(PRO),
        4,
        json!({"plugins": ["modbus-tcp"], "max_tags": 300}),
    )
    .await;
    order(&s, id, "ORD-L", Some("edge-gateway-lite"), 5, json!({})).await;
    order(&s, id, "ORD-N", None, 5, json!({})).await;
    (s, id, token)
}

fn body(key: &SigningKeyWithKid, scope: Value, count: u32, days: u32) -> Value {
    let mut b = json!({"count": count, "days": days, "delegate_kid": key.kid(),
        "delegate_public_key": DelegateCert::public_key_of(key)});
    if let (Some(b), Some(s)) = (b.as_object_mut(), scope.as_object()) {
        b.extend(s.clone());
    }
    b
}

fn laptop(seed: u8) -> SigningKeyWithKid {
    SigningKeyWithKid::from_seed(&format!("laptop-{seed}"), [seed; 32]).expect("kid")
}

async fn by_product(s: &TestServer, token: &str, count: u32, seed: u8) -> (StatusCode, Value) {
    s.post(
        "/v1/field/allotments",
        token,
        body(&laptop(seed), json!({"product": PRO}), count, 7),
    )
    .await
}

/// The order as `POST /v1/gateway/orders/lookup` shows it.
async fn lookup(s: &TestServer, no: &str) -> Value {
    s.call(
        "POST",
        "/v1/gateway/orders/lookup",
        None,
        Some(json!({"order_no": no, "email": "b@example.com"})),
    )
    .await
    .1
}

/// Activates gateway `n` online with the order's code; the response.
async fn activate_online(s: &TestServer, order: &Value, n: u32) -> Value {
    let (st, v) = s
        .call(
            "POST",
            "/v1/gateway/activate",
            None,
            Some(json!({"code": order["activation_code"], "fingerprint": fingerprint(n)})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v
}

async fn remaining(s: &TestServer, no: &str) -> (u64, u64) {
    let v = lookup(s, no).await;
    (
        v["used"].as_u64().expect("used"),
        v["remaining"].as_u64().expect("remaining"),
    )
}

#[tokio::test]
async fn a_product_allotment_draws_oldest_order_first_and_reconciles_each_slot_once() {
    let (s, _, token) = setup().await;
    // One license of ORD-1 goes online first: it names the order's product.
    let o1 = lookup(&s, "ORD-1").await;
    assert_eq!(o1["product"], PRO);
    let online = activate_online(&s, &o1, 50).await;
    let keys: KeySet = serde_json::from_value(s.get_ok("/v1/keys", &token).await).expect("keys");
    let license = verify_license(
        online["license"].as_str().expect("license").as_bytes(),
        &keys,
    )
    .expect("valid");
    assert_eq!(
        (
            license.payload().order.as_deref(),
            license.payload().product.as_deref()
        ),
        (Some("ORD-1"), Some(PRO))
    );

    let (st, v) = by_product(&s, &token, 4, 1).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["scope"].as_str(),
            v["order_no"].as_str(),
            v["product"].as_str()
        ),
        (Some("product"), None, Some(PRO))
    );
    assert_eq!(
        v["orders"],
        json!([{"order_no": "ORD-1", "first_slot": 1, "count": 2},
               {"order_no": "ORD-2", "first_slot": 3, "count": 2}])
    );
    let mut k: Kit = kit_of(&v, laptop(1), 4);
    assert_eq!(
        (
            k.cert.scope.order.as_deref(),
            k.cert.scope.product.as_deref()
        ),
        (None, Some(PRO))
    );
    assert_eq!(
        k.cert.scope.plugins,
        ["modbus-tcp"],
        "what both orders grant"
    );
    assert_eq!(
        (k.cert.scope.max_connections, k.cert.scope.max_tags),
        (100, 300)
    );
    assert_eq!(remaining(&s, "ORD-1").await, (1, 0));
    assert_eq!(remaining(&s, "ORD-2").await, (0, 2));
    assert_eq!(
        remaining(&s, "ORD-L").await,
        (0, 5),
        "another product untouched"
    );

    let now = s.now();
    for n in 1..=4 {
        k.issue(n, now + Duration::minutes(i64::from(n)));
    }
    k.issue(2, now + Duration::minutes(9)); // a re-issue reuses slot 2
    for round in 0..3 {
        let (st, r) = reconcile(&s, &token, &k, k.export()).await;
        assert_eq!(st, StatusCode::OK, "{r}");
        assert_eq!(r["allotment"]["consumed"], 4, "round {round}: {r}");
        assert_eq!(r["newly_consumed"], if round == 0 { 4 } else { 0 });
        assert_eq!(r["allotment"]["reserved"], 0);
    }
    assert_eq!(remaining(&s, "ORD-1").await, (3, 0));
    assert_eq!(remaining(&s, "ORD-2").await, (2, 2));

    let audit = s.get_ok("/v1/field/audit", &token).await;
    // Newest first: the checkout is the oldest entry.
    let checkout = audit["entries"]
        .as_array()
        .and_then(|a| a.last())
        .expect("audit");
    assert_eq!(checkout["action"], "checkout");
    assert_eq!(
        (
            &checkout["detail"]["scope"],
            &checkout["detail"]["product"],
            &checkout["detail"]["order_no"]
        ),
        (&json!("product"), &json!(PRO), &Value::Null)
    );
    assert_eq!(
        checkout["detail"]["orders"],
        json!([{"order_no": "ORD-1", "count": 2}, {"order_no": "ORD-2", "count": 2}])
    );
    let feed = s.get_ok("/v1/changes?limit=1000", &token).await;
    let activations: Vec<&str> = feed["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| {
            c["entity"] == "gateway_activation" && c["data"]["allotment_id"] == k.id.as_str()
        })
        .map(|c| c["data"]["order_no"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(activations, ["ORD-1", "ORD-1", "ORD-2", "ORD-2"], "{feed}");

    // The product has 2 left (ORD-2); the next allotment takes them, and
    // a third finds nothing.
    let (st, v) = by_product(&s, &token, 3, 2).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::CONFLICT, "ALLOTMENT_EXCEEDS_PRODUCT"),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("at most 2"),
        "{v}"
    );
    let (st, v) = by_product(&s, &token, 2, 3).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["orders"],
        json!([{"order_no": "ORD-2", "first_slot": 1, "count": 2}])
    );
}

/// A gateway licensed online from ORD-1 and then issued a slot of ORD-2 by
/// a product allotment already holds a license of that product: the slot is
/// a conflict, and ORD-2 keeps its license.
#[tokio::test]
async fn a_gateway_licensed_from_another_order_of_the_product_is_a_conflict() {
    let (s, _, token) = setup().await;
    activate_online(&s, &lookup(&s, "ORD-1").await, 60).await;
    let (st, v) = by_product(&s, &token, 3, 4).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["orders"],
        json!([{"order_no": "ORD-1", "first_slot": 1, "count": 2},
               {"order_no": "ORD-2", "first_slot": 3, "count": 1}])
    );
    let mut k: Kit = kit_of(&v, laptop(4), 3);
    let now = s.now();
    for n in [1, 2, 60] {
        k.issue(n, now + Duration::minutes(i64::from(n)));
    }
    let (st, r) = reconcile(&s, &token, &k, k.export()).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["newly_consumed"], 2, "{r}");
    assert_eq!(
        (&r["conflicts"][0]["slot"], &r["conflicts"][0]["code"]),
        (&json!(3), &json!("HARDWARE_ALREADY_ACTIVATED")),
        "{r}"
    );
    assert_eq!(remaining(&s, "ORD-1").await, (3, 0));
    assert_eq!(
        remaining(&s, "ORD-2").await,
        (0, 4),
        "ORD-2 gave nothing to a gateway that already had the product"
    );
}

#[tokio::test]
async fn a_product_allotment_returned_gives_each_order_its_reservation_back() {
    let (s, _, token) = setup().await;
    let (st, v) = by_product(&s, &token, 5, 1).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut k = kit_of(&v, laptop(1), 5);
    assert_eq!(
        (remaining(&s, "ORD-1").await, remaining(&s, "ORD-2").await),
        ((0, 0), (0, 2))
    );
    // Four gateways are issued; only slot 1 (ORD-1) is reconciled before
    // the allotment is returned: each order gets back its unused part.
    let now = s.now();
    k.issue(1, now);
    k.issue(2, now);
    k.issue(3, now);
    k.issue(4, now);
    let first = Kit {
        entries: k.entries[..1].to_vec(),
        ..crate::field::kit_clone(&k)
    };
    assert_eq!(
        reconcile(&s, &token, &first, first.export()).await.0,
        StatusCode::OK
    );
    let ret = s
        .post_ok(
            &format!("/v1/field/allotments/{}/return", k.id),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(
        (ret["state"].as_str(), ret["reserved"].as_u64()),
        (Some("returned"), Some(0))
    );
    assert_eq!(remaining(&s, "ORD-1").await, (1, 2));
    assert_eq!(remaining(&s, "ORD-2").await, (0, 4));
    // Reconciled after the return: slots 2-3 (ORD-1) and 4 (ORD-2) still
    // count against their own orders while those have licenses free.
    let (st, r) = reconcile(&s, &token, &k, k.export()).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["allotment"]["consumed"].as_u64(),
            r["conflicts"].as_array().map(Vec::len)
        ),
        (Some(4), Some(0)),
        "{r}"
    );
    assert_eq!(remaining(&s, "ORD-1").await, (3, 0));
    assert_eq!(remaining(&s, "ORD-2").await, (1, 3));
}

#[tokio::test]
async fn checkout_needs_exactly_one_order_or_product_with_the_same_caps() {
    let (s, id, token) = setup().await;
    let key = laptop(7);
    let cases: Vec<(Value, u32, u32, StatusCode, &str)> = vec![
        (
            json!({"order_no": "ORD-1", "product": PRO}),
            1,
            7,
            StatusCode::BAD_REQUEST,
            "ALLOTMENT_SCOPE_INVALID",
        ),
        (
            json!({}),
            1,
            7,
            StatusCode::BAD_REQUEST,
            "ALLOTMENT_SCOPE_INVALID",
        ),
        (
            json!({"product": "  ", "order_no": ""}),
            1,
            7,
            StatusCode::BAD_REQUEST,
            "ALLOTMENT_SCOPE_INVALID",
        ),
        (
            json!({"product": "edge pro"}),
            1,
            7,
            StatusCode::BAD_REQUEST,
            "GATEWAY_PRODUCT_INVALID",
        ),
        (
            json!({"product": "edge-gateway-nope"}),
            1,
            7,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            json!({"product": PRO}),
            8,
            7,
            StatusCode::CONFLICT,
            "ALLOTMENT_EXCEEDS_PRODUCT",
        ),
        (
            json!({"product": PRO}),
            501,
            7,
            StatusCode::BAD_REQUEST,
            "ALLOTMENT_INVALID",
        ),
        (
            json!({"product": PRO}),
            1,
            91,
            StatusCode::BAD_REQUEST,
            "ALLOTMENT_INVALID",
        ),
        (
            json!({"product": PRO}),
            0,
            7,
            StatusCode::BAD_REQUEST,
            "ALLOTMENT_INVALID",
        ),
    ];
    for (scope, count, days, status, want) in cases {
        let (st, v) = s
            .post(
                "/v1/field/allotments",
                &token,
                body(&key, scope.clone(), count, days),
            )
            .await;
        assert_eq!(
            (st, code(&v)),
            (status, want),
            "{scope} {count} {days}: {v}"
        );
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    // Another account's product is not found; orders for two customers
    // cannot be mixed in one allotment.
    let (_, other) = s.account("enterprise", "cn-east").await;
    let (st, _) = s
        .post(
            "/v1/field/allotments",
            &other,
            body(&key, json!({"product": PRO}), 1, 7),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    order(
        &s,
        id,
        "ORD-3",
        Some(PRO),
        2,
        json!({"customer": "Other Buyer"}),
    )
    .await;
    let (st, v) = s
        .post(
            "/v1/field/allotments",
            &token,
            body(&key, json!({"product": PRO}), 9, 7),
        )
        .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::CONFLICT, "ALLOTMENT_MIXED_CUSTOMERS"),
        "{v}"
    );
    // Nothing above reserved anything.
    assert_eq!(remaining(&s, "ORD-1").await, (0, 3));
    assert_eq!(remaining(&s, "ORD-2").await, (0, 4));
    // An order without a product checks out by order as before.
    let (st, v) = s
        .post(
            "/v1/field/allotments",
            &token,
            body(&key, json!({"order_no": " ORD-N "}), 2, 7),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["scope"].as_str(), v["order_no"].as_str(), &v["product"]),
        (Some("order"), Some("ORD-N"), &Value::Null)
    );
}

#[tokio::test]
async fn product_checkout_honours_idempotency_key() {
    let (s, _, token) = setup().await;
    let b = body(&laptop(3), json!({"product": PRO}), 4, 7);
    let answers = checkout_twice(&s, &token, "checkout-product-1", &b).await;
    assert_eq!(answers[0]["allotment_id"], answers[1]["allotment_id"]);
    assert_eq!(answers[0]["certificate"], answers[1]["certificate"]);
    assert_eq!(remaining(&s, "ORD-1").await, (0, 0));
    assert_eq!(remaining(&s, "ORD-2").await, (0, 3), "reserved once");
    let audit = s.get_ok("/v1/field/audit", &token).await;
    assert_eq!(
        audit["entries"].as_array().map(Vec::len),
        Some(1),
        "one checkout: {audit}"
    );
}

#[tokio::test]
async fn a_license_out_of_the_product_scope_is_refused_with_its_code() {
    let (s, _, token) = setup().await;
    // 5 = all 3 of ORD-1 + 2 of ORD-2: only modbus-tcp is in scope.
    let (_, v) = by_product(&s, &token, 5, 4).await;
    let k = kit_of(&v, laptop(4), 5);
    let now = s.now();
    type Change<'a> = &'a dyn Fn(&mut LicensePayload);
    let cases: [(&str, Change<'_>); 3] = [
        ("another product", &|p| {
            p.product = Some("edge-gateway-lite".into())
        }),
        ("an order of the product", &|p| {
            p.order = Some("ORD-1".into())
        }),
        ("a plugin only ORD-1 has", &|p| {
            p.plugins.push("mqtt".into())
        }),
    ];
    for (what, change) in cases {
        let mut bad = Kit {
            entries: vec![],
            ..crate::field::kit_clone(&k)
        };
        let mut p = delegated_payload(&bad.cert, "lic-x", &fingerprint(1), now);
        change(&mut p);
        bad.push(&p, 1);
        let (st, v) = reconcile(&s, &token, &k, bad.export()).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::FORBIDDEN, "DELEGATE_SCOPE_EXCEEDED"),
            "{what}: {v}"
        );
    }
    let view = s
        .get_ok(&format!("/v1/field/allotments/{}", k.id), &token)
        .await;
    assert_eq!(
        (view["consumed"].as_u64(), view["reserved"].as_u64()),
        (Some(0), Some(5))
    );
}

#[test]
fn existing_order_allotments_survive_the_schema_upgrade() {
    use licensedesk_server::api::field::reserved_for_order;
    use licensedesk_server::db::{MIGRATIONS, migrate, open_connection};
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = open_connection(&dir.path().join("v4.sqlite3")).expect("open");
    for (_, _, sql) in &MIGRATIONS[..4] {
        c.execute_batch(sql).expect("old migration");
    }
    c.pragma_update(None, "user_version", 4).expect("version");
    c.execute_batch(
        "INSERT INTO accounts (id, name, kind, data_center, token_hash, created_at)
           VALUES (1, 'A', 'enterprise', 'cn-east', 'h', '2026-01-01T00:00:00Z');
         INSERT INTO gateway_orders (id, account_id, order_no, email, customer, activation_code, quantity,
           max_connections, max_tags, plugins, validity_days, created_at)
           VALUES (7, 1, 'ORD-OLD', 'b@example.com', 'B', 'CODE', 10, 1, 1, '[]', 365, '2026-01-01T00:00:00Z');
         INSERT INTO field_allotments (id, account_id, order_id, delegate_kid, delegate_public_key, max_licenses,
           not_before, not_after, certificate, created_at)
           VALUES ('alt-1', 1, 7, 'k', 'pk', 4, '2026-01-01T00:00:00Z', '2026-01-08T00:00:00Z', '{}', '2026-01-01T00:00:00Z');
         INSERT INTO field_slots (allotment_id, slot, fingerprint, license_id, status, reconciled_at)
           VALUES ('alt-1', 1, 'fp', 'lic', 'consumed', '2026-01-02T00:00:00Z');",
    )
    .expect("v4 data");
    assert_eq!(reserved_for_order_v4(&c), 3);
    assert_eq!(
        migrate(&mut c).expect("migrate"),
        MIGRATIONS.last().expect("last").0
    );
    let parts: Vec<(String, i64, u32, u32)> = c
        .prepare("SELECT allotment_id, order_id, first_slot, count FROM field_allotment_orders")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(parts, [("alt-1".to_owned(), 7, 1, 4)]);
    assert_eq!(reserved_for_order(&c, 7).expect("reserved"), 3, "unchanged");
    let fk: bool = c
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .expect("pragma");
    assert!(fk, "foreign keys enforced again after migrating");
    // The rebuilt table keeps its references: a slot of an unknown
    // allotment is refused.
    let orphan = c.execute(
        "INSERT INTO field_slots (allotment_id, slot, fingerprint, license_id, status, reconciled_at)
         VALUES ('alt-none', 1, 'fp', 'lic', 'consumed', 'now')",
        [],
    );
    assert!(orphan.is_err(), "{orphan:?}");
    // Exactly one of order and product.
    let neither = c.execute(
        "INSERT INTO field_allotments (id, account_id, delegate_kid, delegate_public_key, max_licenses,
           not_before, not_after, certificate, created_at) VALUES ('alt-2', 1, 'k', 'pk2', 1, 'a', 'b', '{}', 'a')",
        [],
    );
    assert!(neither.is_err(), "{neither:?}");
}

/// What version 4 computed for the order's reservation.
fn reserved_for_order_v4(c: &rusqlite::Connection) -> u32 {
    c.query_row(
        "SELECT COALESCE(SUM(a.max_licenses - (SELECT COUNT(*) FROM field_slots s WHERE s.allotment_id = a.id)), 0)
         FROM field_allotments a WHERE a.order_id = 7 AND a.state = 'open'",
        [],
        |r| r.get(0),
    )
    .expect("v4 reservation")
}
