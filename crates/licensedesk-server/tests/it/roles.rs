//! Who may do what (domain.md §4): the vendor (admin token) sells and
//! verifies, the customer (an account's token) reads its account, creates
//! products by name, assigns codes and uses its devices, gateways and field
//! kits. A token of the other role gets 403 with a stable code.

use licensedesk_server::config::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN, TestServer, doc_package, package};

/// Every operation of the OpenAPI document that needs a token answers the
/// other role's token with 403 and its code: `/v1/admin/…` is the
/// vendor's, everything else the customer's.
#[tokio::test]
async fn every_route_is_held_to_its_role() {
    let s = TestServer::start().await;
    let (_, t) = s.account("enterprise", "cn-east").await;
    let doc = s.call("GET", "/openapi.json", None, None).await.1;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            if op["security"].is_null() {
                continue;
            }
            let concrete = path
                .replace("{id}", "1")
                .replace("{pk}", "p1")
                .replace("{dk}", "d1")
                .replace("{name}", "pool");
            let vendor = path.starts_with("/v1/admin/");
            // A gateway's lease routes take its pool's token only.
            let gateway = path.ends_with("/claim") || path.ends_with("/heartbeat");
            let (token, code) = if vendor {
                (t.as_str(), "VENDOR_ONLY")
            } else if gateway {
                (ADMIN, "POOL_TOKEN_ONLY")
            } else {
                (ADMIN, "CUSTOMER_ONLY")
            };
            let method = method.to_uppercase();
            let body = (method == "POST").then(|| json!({}));
            let (st, v) = s.call(&method, &concrete, Some(token), body).await;
            assert_eq!(
                (st, v["code"].as_str()),
                (StatusCode::FORBIDDEN, Some(code)),
                "{method} {path}: {v}"
            );
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} operations checked");
}

/// The defect: an account upgraded its own package (a validity of 99
/// years moved a consumed code's expiry from 2031 to 2125).
#[tokio::test]
async fn an_account_token_cannot_change_any_package_term() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pmine", doc_package(), "block", 2).await;
    s.connect(&t, "pmine", "dev").await;
    let expiry = s.get_ok("/v1/devices/pmine/dev", &t).await["expires_at"].clone();
    assert_eq!(expiry, "2031-03-31T10:00:00Z");
    let upgrade = json!({"package": package(99, 0, 0), "overage_policy": "bill"});
    for (path, body) in [
        ("/v1/products/pmine/package", upgrade.clone()),
        (
            "/v1/admin/packages",
            json!({"account_id": id, "pk": "pmine", "package": package(20, 0, 0)}),
        ),
        (
            "/v1/admin/topups",
            json!({"account_id": id, "pk": "pmine", "ota_attempts": 100}),
        ),
        (
            "/v1/admin/batches",
            json!({"account_id": id, "pk": "pmine", "count": 5, "package": doc_package()}),
        ),
        (
            "/v1/admin/products",
            json!({"account_id": id, "name": "Mine", "package": package(99, 0, 0)}),
        ),
        ("/v1/account/verify-enterprise", json!({})),
        (
            &format!("/v1/admin/accounts/{id}/verify-enterprise"),
            json!({}),
        ),
        (
            "/v1/products",
            json!({"name": "Sneaky", "package": package(99, 0, 0)}),
        ),
        (
            "/v1/products",
            json!({"name": "Sneaky", "overage_policy": "bill"}),
        ),
        ("/v1/products", json!({"name": "Sneaky", "pk": "pchosen"})),
    ] {
        let (st, v) = s.post(path, &t, body).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("VENDOR_ONLY")),
            "{path}: {v}"
        );
    }
    let card = s.get_ok("/v1/products/pmine", &t).await;
    assert_eq!(
        (
            card["package_summary"].as_str(),
            card["overage_policy"].as_str(),
            card["ota_topups"].as_i64(),
            card["total"].as_u64()
        ),
        (
            Some("5 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d"),
            Some("block"),
            Some(0),
            Some(2)
        )
    );
    assert_eq!(
        s.get_ok("/v1/devices/pmine/dev", &t).await["expires_at"],
        expiry
    );
    assert_eq!(
        s.get_ok("/v1/products", &t).await.as_array().map(Vec::len),
        Some(1)
    );
}

/// The vendor's upgrade is a purchase: every device of the product shows
/// the new limits at once.
#[tokio::test]
async fn the_vendor_changes_a_package_and_every_device_takes_it_at_once() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pup", package(1, 0, 0), "block", 3).await;
    for dk in ["a", "b", "c"] {
        s.connect(&t, "pup", dk).await;
    }
    let mut bigger = doc_package();
    bigger["messages_per_day"] = json!(3000);
    let card = s
        .post_ok(
            "/v1/admin/packages",
            ADMIN,
            json!({"account_id": id, "pk": "pup", "package": bigger, "overage_policy": "bill"}),
        )
        .await;
    assert_eq!(
        (
            card["package_summary"].as_str(),
            card["overage_policy"].as_str()
        ),
        (
            Some("5 y · 3000 msg/day · 1 OTA/mo ≤ 5 MB · 7 d"),
            Some("bill")
        )
    );
    for dk in ["a", "b", "c"] {
        let d = s.get_ok(&format!("/v1/devices/pup/{dk}"), &t).await;
        assert_eq!(
            (
                d["expires_at"].as_str(),
                d["usage"]["messages_per_day"].as_u64()
            ),
            (Some("2031-03-31T10:00:00Z"), Some(3000)),
            "{dk}"
        );
    }
    // Another account's product is not the vendor's to guess: 404.
    let (other, _) = s.account("enterprise", "us-west").await;
    let (st, _) = s
        .post(
            "/v1/admin/packages",
            ADMIN,
            json!({"account_id": other, "pk": "pup", "package": doc_package()}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// A customer creates a product by name; the server makes the PK; free
/// codes bring the server's free development package.
#[tokio::test]
async fn a_product_by_name_takes_the_free_development_package_with_free_codes() {
    let s = TestServer::start().await;
    let (_, t) = s.account("individual", "eu-central").await;
    let card = s
        .post_ok("/v1/products", &t, json!({"name": "  Beehive Scale  "}))
        .await;
    let pk = card["pk"].as_str().expect("pk").to_owned();
    assert!(
        pk.len() == 11 && pk.starts_with('p') && pk[1..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{pk}"
    );
    assert_eq!(
        (card["name"].as_str(), &card["package"]),
        (Some("Beehive Scale"), &Value::Null)
    );
    let card = s
        .post_ok(
            &format!("/v1/products/{pk}/assign"),
            &t,
            json!({"count": 2}),
        )
        .await;
    assert_eq!(
        card["package_summary"],
        "1 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d"
    );
    let (st, d) = s.connect(&t, &pk, "hive-1").await;
    assert_eq!(
        (st, d["expires_at"].as_str()),
        (StatusCode::OK, Some("2027-03-31T10:00:00Z"))
    );
    // A purchase with another package is then refused, naming both.
    let (id, _) = (
        s.get_ok("/v1/account", &t).await["id"]
            .as_i64()
            .expect("id"),
        (),
    );
    let (st, v) = s
        .post(
            "/v1/admin/batches",
            ADMIN,
            json!({"account_id": id, "pk": pk, "count": 5, "package": doc_package()}),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("PACKAGE_MISMATCH"))
    );
}

/// The free development package is a server setting.
#[tokio::test]
async fn the_free_development_package_is_configured() {
    let mut settings = Settings::default();
    settings.free_package.validity = licensedesk_core::validity::Validity::months(6);
    settings.free_package.messages_per_day = 100;
    let s = TestServer::start_with(settings, licensedesk_testkit::t0()).await;
    let (_, t) = s.account("enterprise", "cn-east").await;
    let pk = s
        .post_ok("/v1/products", &t, json!({"name": "Dev kit"}))
        .await["pk"]
        .as_str()
        .expect("pk")
        .to_owned();
    let card = s
        .post_ok(
            &format!("/v1/products/{pk}/assign"),
            &t,
            json!({"count": 1}),
        )
        .await;
    assert_eq!(
        card["package_summary"],
        "6 mo · 100 msg/day · 1 OTA/mo ≤ 5 MB · 7 d"
    );
}

/// The defect: creating a product whose key another account holds
/// answered `PRODUCT_KEY_TAKEN`. A customer cannot choose a key at all, so
/// its answer is the same whether the key exists elsewhere or not.
#[tokio::test]
async fn no_answer_tells_a_tenant_that_a_key_exists_elsewhere() {
    let s = TestServer::start().await;
    let (a, _) = s.account("enterprise", "cn-east").await;
    let (_, tb) = s.account("enterprise", "us-west").await;
    s.product(a, "ptaken", doc_package(), "block", 1).await;
    let taken = s
        .post("/v1/products", &tb, json!({"name": "X", "pk": "ptaken"}))
        .await;
    let free = s
        .post("/v1/products", &tb, json!({"name": "X", "pk": "pfree"}))
        .await;
    assert_eq!(taken.0, free.0);
    assert_eq!(taken.1["code"], free.1["code"]);
    assert_eq!(taken.0, StatusCode::FORBIDDEN);
    for path in ["/v1/products/ptaken", "/v1/products/ptaken/statements"] {
        assert_eq!(s.get(path, &tb).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}
