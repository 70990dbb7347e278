//! Device lifecycle: consumption, validity, reconnect, renewal, offline,
//! package upgrade, near-expiry view.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{ADMIN, TestServer, at, doc_package, package};

#[tokio::test]
async fn five_year_validity_from_consumption_and_idempotent_reconnect() {
    let s = TestServer::start().await; // 2026-03-31T10:00Z
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "p5y", doc_package(), "block", 2).await;
    let (st, v) = s.connect(&t, "p5y", "dev-1").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["consumed"], true);
    assert_eq!(v["expires_at"], "2031-03-31T10:00:00Z");
    s.clock.advance(Duration::days(400));
    let (_, again) = s.connect(&t, "p5y", "dev-1").await;
    assert_eq!(
        (again["consumed"].as_bool(), again["code"].clone()),
        (Some(false), v["code"].clone())
    );
    let card = s.get_ok("/v1/products/p5y", &t).await;
    assert_eq!(
        (card["used"].as_u64(), card["remaining"].as_u64()),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn feb_29_plus_one_year_is_feb_28() {
    let s = TestServer::start_with(Default::default(), at("2028-02-29T08:30:00Z")).await;
    let (id, t) = s.account("individual", "eu-central").await;
    s.product(id, "pleap", package(1, 0, 0), "block", 1).await;
    let (_, v) = s.connect(&t, "pleap", "d").await;
    assert_eq!(v["expires_at"], "2029-02-28T08:30:00Z");
}

#[tokio::test]
async fn renewal_at_expiry_then_offline_then_back_after_crediting() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pren", package(0, 1, 0), "block", 2).await; // 1 month validity
    let (_, first) = s.connect(&t, "pren", "d").await;
    assert_eq!(first["expires_at"], "2026-04-30T10:00:00Z");
    // At expiry, the maintenance pass renews it at that very instant.
    s.clock.set(at("2026-04-30T10:00:00Z"));
    let r = s.maintenance().await;
    assert_eq!(r["renewed"], 1);
    let d = s.get_ok("/v1/devices/pren/d", &t).await;
    assert_eq!(
        (d["activated_at"].as_str(), d["expires_at"].as_str()),
        (Some("2026-04-30T10:00:00Z"), Some("2026-05-30T10:00:00Z"))
    );
    assert_ne!(d["code"], first["code"]);
    // Next expiry with an empty pool: offline and inactive.
    s.clock.set(at("2026-06-01T00:00:00Z"));
    let r = s.maintenance().await;
    assert_eq!(r["taken_offline"], 1);
    let d = s.get_ok("/v1/devices/pren/d", &t).await;
    assert_eq!(
        (
            d["status"].as_str(),
            d["online"].as_bool(),
            d["offline_reason"].as_str()
        ),
        (Some("inactive"), Some(false), Some("no_codes"))
    );
    let (st, e) = s.connect(&t, "pren", "d").await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("NO_CODES_AVAILABLE"))
    );
    // The values of its message, for a client that words it itself (the
    // account's enterprise free codes are unassigned).
    assert_eq!(e["params"], json!({"pk": "pren", "unassigned": 10}), "{e}");
    // Codes credited: the next connection consumes one, from now.
    s.post_ok(
        "/v1/admin/batches",
        ADMIN,
        json!({"account_id": id, "pk": "pren", "count": 1, "package": package(0, 1, 0)}),
    )
    .await;
    let (st, v) = s.connect(&t, "pren", "d").await;
    assert_eq!(
        (st, v["consumed"].as_bool(), v["expires_at"].as_str()),
        (StatusCode::OK, Some(true), Some("2026-07-01T00:00:00Z"))
    );
    let lic = s.get_ok("/v1/licenses?status=expired", &t).await;
    assert_eq!(lic["items"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn connecting_after_a_missed_expiry_renews_from_the_expiry_instant() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "plate", package(0, 1, 0), "block", 3).await;
    s.connect(&t, "plate", "d").await;
    s.clock.set(at("2026-06-15T00:00:00Z")); // two expiries missed, no maintenance ran
    let (_, v) = s.connect(&t, "plate", "d").await;
    assert_eq!(
        (
            v["consumed"].as_bool(),
            v["activated_at"].as_str(),
            v["expires_at"].as_str()
        ),
        (
            Some(true),
            Some("2026-05-30T10:00:00Z"),
            Some("2026-06-30T10:00:00Z")
        )
    );
    assert_eq!(s.get_ok("/v1/products/plate", &t).await["used"], 3);
}

#[tokio::test]
async fn upgrading_the_package_applies_to_every_device() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pup", package(1, 0, 0), "block", 3).await;
    s.connect(&t, "pup", "a").await;
    s.connect(&t, "pup", "b").await;
    let card = s
        .post_ok(
            "/v1/admin/packages",
            ADMIN,
            json!({"account_id": id, "pk": "pup", "package": doc_package()}),
        )
        .await;
    assert_eq!(
        card["package_summary"],
        "5 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d"
    );
    for dk in ["a", "b"] {
        assert_eq!(
            s.get_ok(&format!("/v1/devices/pup/{dk}"), &t).await["expires_at"],
            "2031-03-31T10:00:00Z"
        );
    }
    // New batches must now match the upgraded package.
    let (st, _) = s
        .post(
            "/v1/admin/batches",
            ADMIN,
            json!({"account_id": id, "pk": "pup", "count": 1, "package": package(1, 0, 0)}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
}

#[tokio::test]
async fn near_expiry_view_with_search_and_replacement() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pnear", package(0, 0, 40), "block", 3).await;
    s.connect(&t, "pnear", "early").await; // expires 2026-05-10
    s.clock.advance(Duration::days(5));
    s.connect(&t, "pnear", "late").await; // expires 2026-05-15
    s.product(id, "pfar", doc_package(), "block", 1).await;
    s.connect(&t, "pfar", "far").await;
    s.clock.set(at("2026-04-20T00:00:00Z"));
    let v = s.get_ok("/v1/devices/near-expiry", &t).await;
    let list = v["devices"].as_array().expect("devices");
    assert_eq!(
        list.iter()
            .map(|d| d["dk"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["early", "late"]
    );
    // One code left: only the earliest expiring device has a replacement.
    assert_eq!(
        (
            list[0]["replacement_available"].as_bool(),
            list[1]["replacement_available"].as_bool()
        ),
        (Some(true), Some(false))
    );
    // Search does not change the replacement answer.
    let v = s.get_ok("/v1/devices/near-expiry?dk=late", &t).await;
    assert_eq!(v["devices"][0]["replacement_available"], false);
    let v = s.get_ok("/v1/devices/near-expiry?days=10", &t).await;
    assert_eq!(v["devices"].as_array().map(Vec::len), Some(0));
    let v = s
        .get_ok(
            "/v1/devices/near-expiry?q=Product%20pnear&expires_from=2026-05-12",
            &t,
        )
        .await;
    assert_eq!(v["devices"].as_array().map(Vec::len), Some(1));
    let v = s
        .get_ok(
            "/v1/devices/near-expiry?activated_to=2026-03-31&pk=pnear",
            &t,
        )
        .await;
    assert_eq!(v["devices"][0]["dk"], "early");
    assert_eq!(v["devices"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_code_consumed_through_another_data_center_counts_at_home() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "proam", doc_package(), "block", 2).await;
    let (st, _) = s
        .post(
            "/v1/devices/connect",
            &t,
            json!({"pk": "proam", "dk": "roamer", "via": "eu-central"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let lic = s.get_ok("/v1/licenses?pk=proam&status=active", &t).await;
    assert_eq!(
        (
            lic["data_center"].as_str(),
            lic["items"].as_array().map(Vec::len)
        ),
        (Some("cn-east"), Some(1))
    );
    assert_eq!(s.get_ok("/v1/products/proam", &t).await["used"], 1);
}

#[tokio::test]
async fn near_expiry_default_window_is_thirty_days() {
    let s = TestServer::start().await; // 2026-03-31T10:00Z
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pwin", package(0, 0, 40), "block", 4).await;
    s.connect(&t, "pwin", "in-30").await; // expires 2026-05-10T10:00Z
    s.clock.advance(Duration::days(1));
    s.connect(&t, "pwin", "in-31").await; // expires 2026-05-11T10:00Z
    s.clock.set(at("2026-04-10T10:00:00Z"));
    let v = s.get_ok("/v1/devices/near-expiry", &t).await;
    assert_eq!(v["days"], 30);
    let list = v["devices"].as_array().expect("devices");
    assert_eq!(
        list.iter()
            .map(|d| (d["dk"].as_str().unwrap_or(""), d["days_left"].as_i64()))
            .collect::<Vec<_>>(),
        [("in-30", Some(30))],
        "31 days from expiry is outside the default window, 30 inside"
    );
    let v = s.get_ok("/v1/devices/near-expiry?days=31", &t).await;
    assert_eq!(v["devices"].as_array().map(Vec::len), Some(2));
}
