//! License installs reported by desktop clients (`/v1/gateway/installs`):
//! recorded once per idempotency key, in the change feed, per account.

use licensedesk_core::gateway::{InstallSource, LicenseKind};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, fingerprint};

fn report(license_id: &str, n: u32) -> Value {
    json!({"license_id": license_id, "fingerprint": fingerprint(n),
           "installed_at": "2026-03-31T09:00:00Z", "kind": "file", "source": "file"})
}

/// The installs the server lists for `token`'s account.
async fn installs(s: &TestServer, token: &str) -> Vec<Value> {
    s.get_ok("/v1/gateway/installs", token)
        .await
        .as_array()
        .expect("rows")
        .clone()
}

async fn install_changes(s: &TestServer, token: &str) -> Vec<Value> {
    let page = s.get_ok("/v1/changes", token).await;
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
    let rows = installs(&s, &t).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
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
    assert_eq!(installs(&s, &t).await.len(), 1);

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
    assert_eq!(installs(&s, &t).await.len(), 2);
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
    assert!(installs(&s, &t).await.is_empty());
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

    let ra = s.get_ok("/v1/gateway/installs", &a).await;
    let rb = s.get_ok("/v1/gateway/installs", &b).await;
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

/// Reports one install per name, with `field` set to it, and returns the
/// `field` of every install the server lists.
async fn record_each(s: &TestServer, t: &str, field: &str, names: &[&str]) -> Vec<String> {
    for (n, name) in (1..).zip(names) {
        let mut body = report(&format!("lic-{field}"), n);
        body[field] = json!(name);
        let (st, v) = s.post("/v1/gateway/installs", t, body).await;
        assert_eq!(st, StatusCode::OK, "{name}: {v}");
    }
    installs(s, t)
        .await
        .iter()
        .map(|r| r[field].as_str().expect(field).to_owned())
        .collect()
}

#[tokio::test]
async fn every_core_install_source_is_recorded_as_its_name() {
    let s = TestServer::start().await;
    let (_, t) = s.account("enterprise", "cn-east").await;
    let names = InstallSource::ALL.map(InstallSource::as_str);
    assert_eq!(record_each(&s, &t, "source", &names).await, names);
}

#[tokio::test]
async fn openapi_lists_core_install_sources_and_kinds() {
    let s = TestServer::start().await;
    let (st, doc) = s.call("GET", "/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["InstallReport"]["properties"]["source"]["$ref"],
        "#/components/schemas/InstallSource"
    );
    assert_eq!(schemas["InstallSource"]["type"], "string");
    assert_eq!(
        schemas["InstallSource"]["enum"],
        json!(InstallSource::ALL.map(InstallSource::as_str))
    );
    // The kind stays an inline string whose description lists core's kinds.
    let kind = &schemas["InstallReport"]["properties"]["kind"];
    assert_eq!(kind["type"], "string");
    for name in LicenseKind::ALL.map(LicenseKind::as_str) {
        assert!(
            kind["description"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("`{name}`"))),
            "{name}: {kind}"
        );
    }
}

#[tokio::test]
async fn every_core_license_kind_is_recorded_as_its_name() {
    let s = TestServer::start().await;
    let (_, t) = s.account("enterprise", "cn-east").await;
    let names = LicenseKind::ALL.map(LicenseKind::as_str);
    assert_eq!(record_each(&s, &t, "kind", &names).await, names);

    let mut body = report("lic-kind", 9);
    body["kind"] = json!("paper");
    let (st, v) = s.post("/v1/gateway/installs", &t, body).await;
    assert!(st.is_client_error(), "{st}: {v}");
    assert_eq!(installs(&s, &t).await.len(), 4);
}

/// A migrated database with one account, to insert `gateway_installs` rows
/// into directly (bypassing the API, to test the table's own CHECKs).
fn installs_db() -> (tempfile::TempDir, rusqlite::Connection) {
    use licensedesk_server::db::migrations::migrate;
    use licensedesk_server::db::sqlite::open_connection;
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = open_connection(&dir.path().join("db.sqlite3")).expect("open");
    migrate(&mut c).expect("migrate");
    c.execute(
        "INSERT INTO accounts (id, name, kind, data_center, token_hash, created_at)
           VALUES (1, 'A', 'enterprise', 'cn-east', 'h', '2026-01-01T00:00:00Z')",
        [],
    )
    .expect("account");
    (dir, c)
}

fn insert_install(c: &rusqlite::Connection, kind: &str, source: &str) -> rusqlite::Result<usize> {
    c.execute(
        "INSERT INTO gateway_installs (account_id, license_id, fingerprint, kind, source, installed_at, recorded_at)
         VALUES (1, 'lic', 'fp', ?1, ?2, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        [kind, source],
    )
}

/// The names the `CHECK (column IN (…))` of `gateway_installs` lists,
/// sorted.
fn checked_names(c: &rusqlite::Connection, column: &str) -> Vec<String> {
    let sql: String = c
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'gateway_installs'",
            [],
            |r| r.get(0),
        )
        .expect("schema");
    let list = sql
        .split_once(&format!("CHECK ({column} IN ("))
        .and_then(|(_, rest)| rest.split_once("))"))
        .map(|(list, _)| list)
        .unwrap_or_else(|| panic!("the {column} CHECK in {sql}"));
    let mut names: Vec<String> = list
        .split(',')
        .map(|v| v.trim().trim_matches('\'').to_owned())
        .collect();
    names.sort_unstable();
    names
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
    v.sort_unstable();
    v
}

fn assert_check_failed(r: rusqlite::Result<usize>, what: &str) {
    let err = r.expect_err(what);
    assert!(
        err.to_string().contains("CHECK constraint failed"),
        "{what}: {err}"
    );
}

/// The `source` CHECK of `gateway_installs` (migration 4, never edited)
/// admits exactly core's [`InstallSource`] names.
#[test]
fn install_source_check_agrees_with_core() {
    let (_dir, c) = installs_db();
    for source in InstallSource::ALL.map(InstallSource::as_str) {
        insert_install(&c, "file", source).expect(source);
    }
    for unknown in ["pigeon", "File", "trial", ""] {
        assert_check_failed(insert_install(&c, "file", unknown), unknown);
    }
    // And the CHECK lists nothing core does not know.
    assert_eq!(
        checked_names(&c, "source"),
        sorted(&InstallSource::ALL.map(InstallSource::as_str))
    );
}

/// The `kind` CHECK of `gateway_installs` (migration 4, never edited)
/// admits exactly core's [`LicenseKind`] names.
#[test]
fn license_kind_check_agrees_with_core() {
    let (_dir, c) = installs_db();
    for kind in LicenseKind::ALL.map(LicenseKind::as_str) {
        insert_install(&c, kind, "file").expect(kind);
    }
    for unknown in ["paper", "Trial", "offline", ""] {
        assert_check_failed(insert_install(&c, unknown, "file"), unknown);
    }
    // And the CHECK lists nothing core does not know.
    assert_eq!(
        checked_names(&c, "kind"),
        sorted(&LicenseKind::ALL.map(LicenseKind::as_str))
    );
}
