//! License installs reported by desktop clients (`/v1/gateway/installs`):
//! recorded once per idempotency key, in the change feed, per account.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, fingerprint};

fn report(license_id: &str, n: u32) -> Value {
    json!({"license_id": license_id, "fingerprint": fingerprint(n),
           "installed_at": "2026-03-31T09:00:00Z", "kind": "file", "source": "file"})
}

async fn install_changes(s: &TestServer, token: &str) -> Vec<Value> {
    let page = s.ok("/v1/changes", token).await;
    page["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["entity"] == "gateway_install")
        .cloned()
        .collect()
}

#[tokio::test]
async fn install_recorded_once_per_key_with_a_change_row() {
    let s = TestServer::start().await;
    let (_, t) = s.account("enterprise", "cn-east").await;
    let body = report("lic-abc", 1);

    let (st, first) = s
        .post_idem(&t, "/v1/gateway/installs", "install-1", &body)
        .await;
    assert_eq!(st, StatusCode::OK, "{first}");
    let v: Value = serde_json::from_str(&first).expect("json");
    assert_eq!(v["recorded"], true);
    assert!(v["id"].as_i64().is_some(), "{v}");

    // Replay with the same key: same answer, byte for byte, and no new row.
    let (st, again) = s
        .post_idem(&t, "/v1/gateway/installs", "install-1", &body)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(again, first);
    let rows = s.ok("/v1/gateway/installs", &t).await;
    assert_eq!(rows.as_array().expect("rows").len(), 1, "{rows}");
    assert_eq!(rows[0]["license_id"], "lic-abc");
    assert_eq!(rows[0]["fingerprint"], fingerprint(1));
    assert_eq!(rows[0]["kind"], "file");
    assert_eq!(rows[0]["source"], "file");
    let changes = install_changes(&s, &t).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["op"], "insert");

    // The same key with another body is refused.
    let (st, other) = s
        .post_idem(
            &t,
            "/v1/gateway/installs",
            "install-1",
            &report("lic-other", 1),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{other}");
    assert_eq!(
        s.ok("/v1/gateway/installs", &t)
            .await
            .as_array()
            .expect("rows")
            .len(),
        1
    );

    // Another key is another install.
    let (st, _) = s
        .post_idem(
            &t,
            "/v1/gateway/installs",
            "install-2",
            &report("lic-def", 2),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        s.ok("/v1/gateway/installs", &t)
            .await
            .as_array()
            .expect("rows")
            .len(),
        2
    );
    assert_eq!(install_changes(&s, &t).await.len(), 2);
}

#[tokio::test]
async fn install_fields_validated() {
    let s = TestServer::start().await;
    let (_, t) = s.account("enterprise", "cn-east").await;
    let mut empty_id = report("  ", 1);
    let (st, v) = s.post("/v1/gateway/installs", &t, empty_id.take()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["code"], "INSTALL_INVALID");

    let mut bad_fp = report("lic-1", 1);
    bad_fp["fingerprint"] = json!("not a fingerprint");
    let (st, v) = s.post("/v1/gateway/installs", &t, bad_fp).await;
    assert!(st.is_client_error(), "{st} {v}");

    let mut bad_source = report("lic-1", 1);
    bad_source["source"] = json!("carrier-pigeon");
    let (st, _) = s.post("/v1/gateway/installs", &t, bad_source).await;
    assert!(st.is_client_error(), "{st}");

    let (st, _) = s
        .call(
            "POST",
            "/v1/gateway/installs",
            None,
            Some(report("lic-1", 1)),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(
        s.ok("/v1/gateway/installs", &t)
            .await
            .as_array()
            .expect("rows")
            .is_empty()
    );
}

#[tokio::test]
async fn installs_isolated_between_accounts() {
    let s = TestServer::start().await;
    let (_, a) = s.account("enterprise", "cn-east").await;
    let (_, b) = s.account("enterprise", "cn-east").await;
    let body = report("lic-a", 1);
    let (st, _) = s
        .post_idem(&a, "/v1/gateway/installs", "shared-key", &body)
        .await;
    assert_eq!(st, StatusCode::OK);
    // The same key from another account is its own request.
    let (st, _) = s
        .post_idem(
            &b,
            "/v1/gateway/installs",
            "shared-key",
            &report("lic-b", 2),
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    let ra = s.ok("/v1/gateway/installs", &a).await;
    let rb = s.ok("/v1/gateway/installs", &b).await;
    assert_eq!(ra.as_array().expect("a").len(), 1);
    assert_eq!(rb.as_array().expect("b").len(), 1);
    assert_eq!(ra[0]["license_id"], "lic-a");
    assert_eq!(rb[0]["license_id"], "lic-b");
    assert_eq!(install_changes(&s, &a).await.len(), 1);
    assert_eq!(
        install_changes(&s, &b).await[0]["data"]["license_id"],
        "lic-b"
    );
}
