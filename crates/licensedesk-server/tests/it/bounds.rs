//! Bounded input (domain.md §5): every value the API takes is checked
//! against core's `bounds` once, refused with 400 and a code naming the
//! field, and nothing refused is stored.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN, TestServer, doc_package, package};

#[track_caller]
fn refused(r: (StatusCode, Value), code: &str) {
    assert_eq!(
        (r.0, r.1["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some(code)),
        "{}",
        r.1
    );
}

/// The defect: a validity of 10,000 years got through, and its expiry
/// (`+12028-…`) could not be read back.
#[tokio::test]
async fn package_terms_are_bounded_on_every_route_that_takes_one() {
    let s = TestServer::start().await;
    let (id, t) = s.account("individual", "eu-central").await;
    let mut cases = vec![
        (package(10_000, 0, 0), "VALIDITY_OUT_OF_RANGE"),
        (package(30, 0, 1), "VALIDITY_OUT_OF_RANGE"),
        (package(0, 0, 0), "VALIDITY_OUT_OF_RANGE"),
    ];
    for (term, bad, code) in [
        (
            "messages_per_day",
            10_000_001,
            "MESSAGES_PER_DAY_OUT_OF_RANGE",
        ),
        ("ota_per_month", 1_001, "OTA_PER_MONTH_OUT_OF_RANGE"),
        ("ota_cap_mb", 0, "OTA_CAP_OUT_OF_RANGE"),
        ("ota_cap_mb", 10_241, "OTA_CAP_OUT_OF_RANGE"),
        ("storage_days", 3_651, "STORAGE_DAYS_OUT_OF_RANGE"),
    ] {
        let mut p = doc_package();
        p[term] = json!(bad);
        cases.push((p, code));
    }
    s.product(id, "pok", package(30, 0, 0), "block", 0).await;
    for (p, code) in cases {
        refused(
            s.post(
                "/v1/admin/products",
                ADMIN,
                json!({"account_id": id, "name": "X", "package": p}),
            )
            .await,
            code,
        );
        refused(
            s.post(
                "/v1/admin/batches",
                ADMIN,
                json!({"account_id": id, "pk": "pok", "count": 1, "package": p}),
            )
            .await,
            code,
        );
        refused(
            s.post(
                "/v1/admin/packages",
                ADMIN,
                json!({"account_id": id, "pk": "pok", "package": p}),
            )
            .await,
            code,
        );
    }
    // Nothing refused was stored; 30 years is the edge, and it is read back.
    let cards = s.get_ok("/v1/products", &t).await;
    assert_eq!(cards.as_array().map(Vec::len), Some(1));
    s.post_ok(
        "/v1/admin/batches",
        ADMIN,
        json!({"account_id": id, "pk": "pok", "count": 1, "package": package(30, 0, 0)}),
    )
    .await;
    let d = s.connect(&t, "pok", "dev").await.1;
    assert_eq!(d["expires_at"], "2056-03-31T10:00:00Z");
    s.get_ok("/v1/licenses", &t).await;
    s.get_ok("/v1/devices/pok/dev", &t).await;
}

#[tokio::test]
async fn keys_names_and_counts_are_bounded() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    let huge = "x".repeat(100 * 1024);
    for pk in ["../../etc/passwd", "\u{0}", "p\u{1F600}", huge.as_str(), ""] {
        refused(
            s.post(
                "/v1/admin/products",
                ADMIN,
                json!({"account_id": id, "name": "X", "pk": pk}),
            )
            .await,
            "PRODUCT_KEY_INVALID",
        );
    }
    for name in ["", "   ", "a\u{0}b", huge.as_str()] {
        refused(
            s.post("/v1/products", &t, json!({"name": name})).await,
            "NAME_INVALID",
        );
        refused(
            s.post(
                "/v1/admin/accounts",
                ADMIN,
                json!({"name": name, "kind": "enterprise", "data_center": "cn-east"}),
            )
            .await,
            "NAME_INVALID",
        );
    }
    // Right-to-left text and emoji are printable names.
    for name in ["مقياس الخلية", "Beehive \u{1F41D}"] {
        let card = s.post_ok("/v1/products", &t, json!({"name": name})).await;
        assert_eq!(card["name"], name);
    }
    s.product(id, "pcount", doc_package(), "block", 1).await;
    for (path, body, code) in [
        (
            "/v1/admin/batches",
            json!({"account_id": id, "pk": "pcount", "count": 1_000_001, "package": doc_package()}),
            "BATCH_COUNT_INVALID",
        ),
        (
            "/v1/admin/batches",
            json!({"account_id": id, "pk": "pcount", "count": 0, "package": doc_package()}),
            "BATCH_COUNT_INVALID",
        ),
        (
            "/v1/admin/topups",
            json!({"account_id": id, "pk": "pcount", "ota_attempts": 1_000_001}),
            "TOPUP_OUT_OF_RANGE",
        ),
        (
            "/v1/admin/topups",
            json!({"account_id": id, "pk": "pcount"}),
            "TOPUP_OUT_OF_RANGE",
        ),
    ] {
        refused(s.post(path, ADMIN, body).await, code);
    }
    refused(
        s.post("/v1/products/pcount/assign", &t, json!({"count": 0}))
            .await,
        "ASSIGN_COUNT_INVALID",
    );
    for (dk, code) in [
        ("", "DEVICE_KEY_INVALID"),
        ("a/b", "DEVICE_KEY_INVALID"),
        (&"d".repeat(129), "DEVICE_KEY_INVALID"),
    ] {
        refused(
            s.post("/v1/devices/connect", &t, json!({"pk": "pcount", "dk": dk}))
                .await,
            code,
        );
    }
    let card = s.get_ok("/v1/products/pcount", &t).await;
    assert_eq!(
        (card["total"].as_u64(), card["devices"].as_u64()),
        (Some(1), Some(0))
    );
}

/// The defect: `via` took any string (`"mars-north"`) as a data center.
#[tokio::test]
async fn via_is_a_known_data_center() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pvia", doc_package(), "block", 2).await;
    refused(
        s.post(
            "/v1/devices/connect",
            &t,
            json!({"pk": "pvia", "dk": "d1", "via": "mars-north"}),
        )
        .await,
        "DATA_CENTER_UNKNOWN",
    );
    let (st, _) = s.get("/v1/devices/pvia/d1", &t).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "nothing stored");
    let (st, _) = s
        .post(
            "/v1/devices/connect",
            &t,
            json!({"pk": "pvia", "dk": "d1", "via": "eu-central"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
}

/// The defect: a connect refused with NO_CODES_AVAILABLE still created a
/// device, so a card counted devices that never activated.
#[tokio::test]
async fn a_refused_first_connect_creates_no_device() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pempty", doc_package(), "block", 0).await;
    for dk in ["a", "b", "c"] {
        let (st, v) = s.connect(&t, "pempty", dk).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::CONFLICT, Some("NO_CODES_AVAILABLE"))
        );
    }
    assert_eq!(s.get_ok("/v1/products/pempty", &t).await["devices"], 0);
    let v = s.get_ok("/v1/licenses?pk=pempty", &t).await;
    assert_eq!(v["items"], json!([]));
    // With a code, the same device key activates as a first connect.
    s.post_ok("/v1/products/pempty/assign", &t, json!({"count": 1}))
        .await;
    let (st, d) = s.connect(&t, "pempty", "a").await;
    assert_eq!((st, d["consumed"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(s.get_ok("/v1/products/pempty", &t).await["devices"], 1);
}

#[tokio::test]
async fn gateway_orders_and_reports_are_bounded() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    let order = |patch: Value| {
        let mut o = json!({"account_id": id, "order_no": "ORD-B", "email": "b@example.com",
            "customer": "Buyer", "quantity": 3, "max_connections": 30, "max_tags": 30,
            "plugins": ["modbus"], "validity_days": 365});
        for (k, v) in patch.as_object().expect("patch") {
            o[k] = v.clone();
        }
        o
    };
    for (patch, code) in [
        (json!({"order_no": "../x"}), "ORDER_NUMBER_INVALID"),
        (json!({"email": "nobody"}), "EMAIL_INVALID"),
        (json!({"customer": ""}), "NAME_INVALID"),
        (json!({"quantity": 0}), "ORDER_QUANTITY_OUT_OF_RANGE"),
        (
            json!({"quantity": 1_000_001}),
            "ORDER_QUANTITY_OUT_OF_RANGE",
        ),
        (
            json!({"validity_days": 4_000_000}),
            "LICENSE_VALIDITY_OUT_OF_RANGE",
        ),
        (json!({"max_tags": 0}), "LICENSE_LIMIT_OUT_OF_RANGE"),
        (json!({"plugins": ["a b"]}), "PLUGIN_NAME_INVALID"),
    ] {
        refused(
            s.post("/v1/admin/gateway-orders", ADMIN, order(patch))
                .await,
            code,
        );
    }
    s.post_ok("/v1/admin/gateway-orders", ADMIN, order(json!({})))
        .await;
    // A report of a year-10000 install cannot be stored, nor read back.
    let (st, v) = s
        .post(
            "/v1/gateway/installs",
            &t,
            json!({"license_id": "lic-1", "fingerprint": crate::support::fingerprint(1),
                   "installed_at": "+10000-01-01T00:00:00Z", "kind": "file", "source": "file"}),
        )
        .await;
    assert!(st.is_client_error(), "{st} {v}");
    s.get_ok("/v1/gateway/installs", &t).await;
}
