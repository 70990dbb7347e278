//! One tenant's data never stops work done for another: maintenance runs
//! account by account, and a failure in one is reported, not fatal.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, package};

/// The defect: one account's expiry in the year 12028 made every
/// maintenance pass answer 500, and another account's expired device was
/// never renewed. Here the bad row is written straight into the database
/// (the API no longer takes such a validity).
#[tokio::test]
async fn a_tenant_with_an_unreadable_row_does_not_stop_another_tenants_renewals() {
    let s = TestServer::start().await;
    let (bad, tbad) = s.account("individual", "eu-central").await;
    let (good, tgood) = s.account("enterprise", "cn-east").await;
    s.product(bad, "ppoison", package(0, 1, 0), "block", 2)
        .await;
    s.product(good, "phealthy", package(0, 1, 0), "block", 2)
        .await;
    s.connect(&tbad, "ppoison", "dev").await;
    let first = s.connect(&tgood, "phealthy", "dev").await.1;
    s.state
        .db
        .write_sync(move |c| {
            c.execute(
                "UPDATE devices SET expires_at = '+12028-05-01T10:00:00Z' WHERE account_id = ?1",
                [bad],
            )?;
            c.execute(
                "UPDATE devices SET expires_at = '0000-not-a-time' WHERE account_id = ?1",
                [bad],
            )?;
            Ok(())
        })
        .expect("poison");
    // The healthy device's code expired two days ago.
    s.clock.advance(Duration::days(33));
    let r = s.maintenance().await;
    assert_eq!(r["renewed"], 1, "{r}");
    let failures = r["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{r}");
    assert_eq!(
        (
            failures[0]["account_id"].as_i64(),
            failures[0]["job"].as_str()
        ),
        (Some(bad), Some("renewals")),
        "{r}"
    );
    let d = s.get_ok("/v1/devices/phealthy/dev", &tgood).await;
    assert_ne!(d["code"], first["code"], "renewed with its second code");
    assert_eq!(d["status"], "active");
    // The healthy tenant's views all answer.
    for path in [
        "/v1/account",
        "/v1/products",
        "/v1/licenses",
        "/v1/devices/near-expiry",
        "/v1/changes",
        "/v1/snapshot",
    ] {
        s.get_ok(path, &tgood).await;
    }
    // Every pass says so again until the row is repaired, and nothing else stops.
    let r = s.maintenance().await;
    assert_eq!(r["failures"][0]["account_id"], bad);
    let (st, _) = s.get("/v1/account", &tbad).await;
    assert_eq!(st, StatusCode::OK, "the account itself still reads");
}

/// A failure in one account's month close leaves the others' statements.
#[tokio::test]
async fn a_month_close_failure_is_the_failing_accounts_alone() {
    let s = TestServer::start().await;
    let (bad, _) = s.account("enterprise", "cn-east").await;
    let (good, tgood) = s.account("enterprise", "cn-east").await;
    s.product(bad, "pbadclose", package(1, 0, 0), "bill", 1)
        .await;
    s.product(good, "pgoodclose", package(1, 0, 0), "bill", 1)
        .await;
    s.state
        .db
        .write_sync(move |c| {
            c.execute(
                "UPDATE products SET closed_through = NULL, created_at = 'garbage' WHERE account_id = ?1",
                [bad],
            )?;
            Ok(())
        })
        .expect("poison");
    s.clock.advance(Duration::days(40));
    let r = s.maintenance().await;
    // The good product was created on March 31: March and April close.
    assert_eq!(r["months_closed"], 2, "{r}");
    assert_eq!(
        (
            r["failures"][0]["account_id"].as_i64(),
            r["failures"][0]["job"].as_str()
        ),
        (Some(bad), Some("month_close")),
        "{r}"
    );
    let st = s.get_ok("/v1/products/pgoodclose/statements", &tgood).await;
    assert_eq!(
        (st[0]["month"].as_str(), st[1]["month"].as_str()),
        (Some("2026-04"), Some("2026-03")),
        "{st}"
    );
    s.post_ok("/v1/products", &tgood, json!({"name": "still works"}))
        .await;
}
