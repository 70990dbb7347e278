//! `GET /v1/snapshot`: the account's codes and devices as rows and its
//! other changes up to the pin, nothing of another account; cursors and
//! auth as for the feed; the rest query reads the partial index.

use licensedesk_core::keys::{Envelope, KeySet, SERVER_TIME_CONTEXT};
use licensedesk_server::demo::{DEMO_ENTERPRISE_TOKEN as ENT, DEMO_INDIVIDUAL_TOKEN as IND};
use licensedesk_server::store::changes::{CODES_SQL, DEVICES_SQL, REST_CHANGES_SQL};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Database, TestServer};

/// Every page of a snapshot with `limit`, in order.
async fn pages(s: &TestServer, token: &str, limit: u32) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = if cursor.is_empty() {
            format!("/v1/snapshot?limit={limit}")
        } else {
            format!("/v1/snapshot?limit={limit}&cursor={cursor}")
        };
        let page = s.get_ok(&path, token).await;
        cursor = page["next"].as_str().expect("next").to_owned();
        let more = page["has_more"].as_bool().expect("has_more");
        out.push(page);
        if !more {
            return out;
        }
    }
}

fn column(pages: &[Value], section: &str, field: &str) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| p[section].as_array().expect(section).iter())
        .map(|r| r[field].clone())
        .collect()
}

/// The server's rows of a query on `account` ($1), each as a JSON array.
async fn db_rows(s: &TestServer, sql: &str, account: i64) -> Vec<Value> {
    s.database.rows(sql, &[account]).await
}

fn as_rows(pages: &[Value], section: &str, fields: &[&str]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| p[section].as_array().expect(section).iter())
        .map(|r| {
            Value::Array(
                fields
                    .iter()
                    .map(|f| match &r[*f] {
                        Value::Bool(b) => json!(i64::from(*b)),
                        v => v.clone(),
                    })
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_pages_hold_the_accounts_rows_and_other_changes_up_to_the_pin() {
    let s = TestServer::start().await;
    licensedesk_server::demo::seed(&s.state)
        .await
        .expect("demo");
    let account = s.get_ok("/v1/account", ENT).await["id"]
        .as_i64()
        .expect("id");
    // The pin: after the account's last change. On SQLite exactly its
    // `seq`; on PostgreSQL a transaction id past the last one that wrote
    // the account's changes (the oldest transaction still running in the
    // database, or the next one: other databases' transactions, e.g. the
    // other tests', may move it on, never below).
    let all = pages(&s, ENT, 777).await; // a limit that ends pages inside every section
    assert!(all.len() > 3, "{} pages", all.len());
    let first = &all[0];
    let upto = first["upto"].as_str().expect("upto");
    let instance = format!("@{}", s.state.instance);
    let pin = upto
        .strip_prefix('c')
        .and_then(|u| u.strip_suffix(instance.as_str()))
        .unwrap_or_else(|| panic!("upto {upto:?} is c<position>{instance}"));
    match &s.database {
        Database::Sqlite(_) => assert_eq!(
            pin,
            db_rows(
                &s,
                "SELECT MAX(seq) FROM changes WHERE account_id = $1",
                account
            )
            .await[0][0]
                .to_string()
        ),
        Database::Postgres(_) => {
            let (txid, seq) = pin.split_once(':').expect("txid:seq");
            let txid: i64 = txid.parse().expect("txid");
            assert_eq!(seq, "0");
            let last = s
                .database
                .i64(
                    "SELECT MAX(txid) FROM changes WHERE account_id = $1",
                    &[account],
                )
                .await;
            assert!(
                txid > last,
                "pin {txid} after the account's last writer {last}"
            );
        }
    }
    for (i, p) in all.iter().enumerate() {
        assert_eq!(p["upto"], first["upto"], "the pin holds on page {i}");
        let n: usize = ["changes", "codes", "devices"]
            .iter()
            .map(|k| p[*k].as_array().expect("rows").len())
            .sum();
        assert!(n <= 777, "page {i} has {n} rows");
        if i + 1 < all.len() {
            assert_eq!(n, 777, "only the last page is short");
            assert_eq!(p["has_more"], true);
        }
        assert_eq!(p["total"].is_u64(), i == 0, "only the first page counts");
        assert!(
            p["server_time"]["payload"].is_string(),
            "{}",
            p["server_time"]
        );
    }

    // Changes: exactly the account's changes up to the pin that are about
    // neither a code nor a device, in seq order, shaped as the feed's.
    let seqs = column(&all, "changes", "seq");
    let want = db_rows(
        &s,
        "SELECT seq FROM changes WHERE account_id = $1 AND entity NOT IN ('code', 'device') ORDER BY seq",
        account,
    ).await;
    assert_eq!(seqs, want.iter().map(|r| r[0].clone()).collect::<Vec<_>>());
    let entities: std::collections::BTreeSet<String> = column(&all, "changes", "entity")
        .iter()
        .map(|e| e.as_str().expect("entity").to_owned())
        .collect();
    for e in ["account", "product", "batch"] {
        assert!(entities.contains(e), "{e} in {entities:?}");
    }
    for c in all[0]["changes"].as_array().expect("changes") {
        for k in ["seq", "entity", "id", "op", "at", "data"] {
            assert!(c.get(k).is_some(), "{k} in {c}");
        }
    }

    // Codes and devices: every row of the account, as the server holds it.
    let codes = as_rows(
        &all,
        "codes",
        &[
            "id",
            "code",
            "batch_id",
            "product_id",
            "device_id",
            "consumed_at",
            "expires_at",
        ],
    );
    assert_eq!(
        codes,
        db_rows(
            &s,
            "SELECT id, code, batch_id, product_id, device_id, consumed_at, expires_at FROM codes WHERE account_id = $1 ORDER BY id",
            account,
        ).await
    );
    let devices = as_rows(
        &all,
        "devices",
        &[
            "id",
            "pk",
            "dk",
            "hardware_id",
            "status",
            "online",
            "offline_reason",
            "activated_at",
            "expires_at",
        ],
    );
    assert_eq!(
        devices,
        db_rows(
            &s,
            "SELECT d.id, p.pk, d.dk, d.hardware_id, d.status, d.online, d.offline_reason, d.activated_at, d.expires_at
             FROM devices d JOIN products p ON p.id = d.product_id WHERE d.account_id = $1 ORDER BY d.id",
            account,
        ).await
    );
    assert!(codes.len() > 2000 && devices.len() > 2000);
    assert_eq!(
        first["total"].as_u64(),
        Some((seqs.len() + codes.len() + devices.len()) as u64)
    );

    // Nothing of the other demo account, and its snapshot is its own.
    let other = pages(&s, IND, 5000).await;
    let ind_codes = column(&other, "codes", "id");
    assert!(
        column(&all, "codes", "id")
            .iter()
            .all(|id| !ind_codes.contains(id))
    );
    let ind_devices = column(&other, "devices", "id");
    assert!(
        column(&all, "devices", "id")
            .iter()
            .all(|id| !ind_devices.contains(id))
    );
    let ind_seqs = column(&other, "changes", "seq");
    assert!(seqs.iter().all(|q| !ind_seqs.contains(q)));

    // The server time is signed with a published key.
    let keys =
        KeySet::from_json(s.get_ok("/v1/keys", ENT).await.to_string().as_bytes()).expect("keys");
    let env: Envelope = serde_json::from_value(first["server_time"].clone()).expect("envelope");
    keys.verify(SERVER_TIME_CONTEXT, &env).expect("signed");
}

/// Rows written while a snapshot is paged: a device connected after the
/// pin shows up in a later devices page (read later) AND in the feed after
/// `upto`, which the client replays on top.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_after_the_pin_are_in_the_feed_after_upto() {
    let s = TestServer::start().await;
    let (account, t) = s.account("enterprise", "us-west").await;
    s.product(
        account,
        "psnap1",
        crate::support::doc_package(),
        "block",
        10,
    )
    .await;
    for i in 0..3 {
        let (st, v) = s.connect(&t, "psnap1", &format!("before-{i}")).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let first = s.get_ok("/v1/snapshot?limit=2", &t).await;
    assert_eq!(first["has_more"], true);
    let upto = first["upto"].as_str().expect("upto").to_owned();
    let (st, _) = s.connect(&t, "psnap1", "after-pin").await;
    assert_eq!(st, StatusCode::OK);
    let mut all = vec![first];
    loop {
        let next = all.last().expect("page")["next"]
            .as_str()
            .expect("next")
            .to_owned();
        let page = s
            .get_ok(&format!("/v1/snapshot?limit=2&cursor={next}"), &t)
            .await;
        let more = page["has_more"] == true;
        assert_eq!(page["upto"], upto.as_str(), "the pin holds");
        all.push(page);
        if !more {
            break;
        }
    }
    let dks = column(&all, "devices", "dk");
    assert_eq!(dks.len(), 4, "{dks:?}");
    assert!(dks.contains(&json!("after-pin")));
    // On PostgreSQL the feed shows a change once every older transaction
    // of the cluster has ended (other tests' too): it may come a moment
    // later, never out of order.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let feed = loop {
        let feed = s.get_ok(&format!("/v1/changes?since={upto}"), &t).await;
        if feed["changes"] != json!([]) || std::time::Instant::now() > deadline {
            break feed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let after: Vec<(Value, Value)> = feed["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| (c["entity"].clone(), c["op"].clone()))
        .collect();
    assert!(
        after.contains(&(json!("device"), json!("insert"))),
        "{after:?}"
    );
    assert!(
        after.contains(&(json!("code"), json!("update"))),
        "{after:?}"
    );
    // The last page's cursor is a valid one: an empty last page again.
    let last = all.last().expect("page")["next"]
        .as_str()
        .expect("next")
        .to_owned();
    let again = s.get_ok(&format!("/v1/snapshot?cursor={last}"), &t).await;
    assert_eq!(again["has_more"], false);
    assert_eq!(again["devices"], json!([]));
}

#[tokio::test]
async fn snapshot_refuses_bad_cursors_and_callers_without_a_token() {
    let s = TestServer::start().await;
    let (_, t) = s.account("individual", "eu-central").await;
    for bad in [
        "zzz",
        "c12",
        "s1",
        "s1.codes",
        "s1.code.2",
        "s-1.codes.2",
        "s1.devices.2.3",
        "s1.codes.x",
    ] {
        let (st, e) = s.get(&format!("/v1/snapshot?cursor={bad}"), &t).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("CURSOR_INVALID")),
            "{bad}: {e}"
        );
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    }
    let (st, e) = s.call("GET", "/v1/snapshot", None, None).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("UNAUTHORIZED")),
        "{e}"
    );
    assert!(e["message"].is_string());
    let (st, _) = s.get("/v1/snapshot", "ld_not_a_token").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

/// A cursor carries its database's instance: another server (or this one
/// with its data replaced) refuses it with CURSOR_INVALID, the signal for a
/// client to start its mirror over, while a cursor written before cursors
/// carried one is still taken.
#[tokio::test]
async fn cursors_of_another_database_are_refused() {
    let (a, b) = (TestServer::start().await, TestServer::start().await);
    for s in [&a, &b] {
        licensedesk_server::demo::seed(&s.state)
            .await
            .expect("demo data");
    }
    assert_ne!(a.state.instance, b.state.instance);
    let feed = a.get_ok("/v1/changes?limit=10", ENT).await;
    let snap = a.get_ok("/v1/snapshot?limit=10", ENT).await;
    for (path, cursor) in [
        ("/v1/changes?since=", feed["next"].as_str().expect("next")),
        ("/v1/snapshot?cursor=", snap["next"].as_str().expect("next")),
        ("/v1/changes?since=", snap["upto"].as_str().expect("upto")),
    ] {
        assert!(
            cursor.ends_with(&format!("@{}", a.state.instance)),
            "{cursor}"
        );
        let here = a.get_ok(&format!("{path}{cursor}"), ENT).await;
        assert!(here.is_object());
        let (st, e) = b.get(&format!("{path}{cursor}"), ENT).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("CURSOR_INVALID")),
            "{path}{cursor}: {e}"
        );
        assert!(
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("another database")),
            "{e}"
        );
    }
    // Written before cursors carried the instance (on SQLite: a
    // PostgreSQL database never served one).
    if matches!(b.database, Database::Postgres(_)) {
        return;
    }
    let legacy = b.get_ok("/v1/changes?since=c10&limit=5", ENT).await;
    assert_eq!(legacy["changes"][0]["seq"], 11, "{legacy}");
    let legacy = b
        .get_ok("/v1/snapshot?cursor=s10.codes.0&limit=5", ENT)
        .await;
    assert!(legacy["codes"].as_array().is_some_and(|c| !c.is_empty()));
}

/// The plans of the snapshot's three queries, on a connection with the
/// server's own settings.
#[tokio::test]
async fn snapshot_queries_read_their_indexes_and_the_rest_the_partial_one() {
    let s = TestServer::start().await;
    let Database::Sqlite(file) = &s.database else {
        return; // SQLite's query plans
    };
    let c = licensedesk_server::db::sqlite::open_connection(file).expect("open");
    let plan = |sql: &str, n: usize| -> String {
        let params: Vec<i64> = (0..n).map(|i| i as i64 + 1).collect();
        let mut st = c
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepare");
        st.query_map(rusqlite::params_from_iter(params), |r| {
            r.get::<_, String>(3)
        })
        .expect("plan")
        .collect::<rusqlite::Result<Vec<_>>>()
        .expect("rows")
        .join(" / ")
    };
    let rest = plan(REST_CHANGES_SQL, 4);
    assert!(rest.contains("USING INDEX changes_account_rest"), "{rest}");
    assert!(!rest.contains("TEMP B-TREE"), "{rest}");
    let codes = plan(CODES_SQL, 3);
    assert!(codes.contains("codes_account"), "{codes}");
    assert!(!codes.contains("TEMP B-TREE"), "{codes}");
    let devices = plan(DEVICES_SQL, 3);
    assert!(devices.contains("devices_account"), "{devices}");
    assert!(!devices.contains("TEMP B-TREE"), "{devices}");
    // The feed itself keeps its full index (the partial one lacks the bulk).
    let feed = plan(
        "SELECT seq FROM changes WHERE account_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        3,
    );
    assert!(feed.contains("changes_account_seq"), "{feed}");
}

/// A database restored from an older copy of itself keeps its instance id,
/// so a client's cursor from after the copy still looks like one of its
/// own. It is past the end of the restored feed, and refused
/// (CURSOR_INVALID, the client starts over) instead of read on from, which
/// would skip what the restored database writes next under the same
/// numbers. A cursor at the very end is not past it.
#[tokio::test]
async fn cursors_past_the_end_of_a_restored_database_are_refused() {
    if crate::support::on_postgres() {
        return; // a copy of SQLite's file; PostgreSQL's: pg_backup.rs
    }
    let a = TestServer::start().await;
    licensedesk_server::demo::seed(&a.state)
        .await
        .expect("demo data");
    // The database put back by hand, the file copied as it was: a
    // consistent copy, but no `restore` (which would give it a new id).
    let copy = tempfile::tempdir().expect("tempdir");
    licensedesk_server::backup::backup(
        a.dir.path(),
        &copy.path().join(licensedesk_server::db::FILE_NAME),
    )
    .expect("copy the database");
    // Written after the copy: the cursors below are past its end.
    a.post_ok("/v1/products", ENT, json!({"name": "After the copy"}))
        .await;
    let mut feed = a.get_ok("/v1/changes?limit=1000", ENT).await;
    while feed["has_more"] == true {
        let next = feed["next"].as_str().expect("next").to_owned();
        feed = a
            .get_ok(&format!("/v1/changes?since={next}&limit=1000"), ENT)
            .await;
    }
    let end = feed["next"].as_str().expect("next").to_owned();
    let snap = a.get_ok("/v1/snapshot?limit=10", ENT).await;
    assert_eq!(snap["has_more"], true, "{snap}");
    let at_end = a.get_ok(&format!("/v1/changes?since={end}"), ENT).await;
    assert_eq!(at_end["changes"], json!([]), "{at_end}");

    let restored = TestServer::start_in(
        copy,
        licensedesk_server::config::Settings::default(),
        a.now(),
    )
    .await;
    assert_eq!(restored.state.instance, a.state.instance);
    for path in [
        format!("/v1/changes?since={end}"),
        format!("/v1/changes?since={}", snap["upto"].as_str().expect("upto")),
        format!(
            "/v1/snapshot?cursor={}",
            snap["next"].as_str().expect("next")
        ),
    ] {
        let (st, e) = restored.get(&path, ENT).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("CURSOR_INVALID")),
            "{path}: {e}"
        );
        assert!(
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("older backup")),
            "{e}"
        );
        // The database the cursors came from still takes them.
        assert!(a.get_ok(&path, ENT).await.is_object(), "{path}");
    }
    // The restored database's own end is fine.
    let mut own = restored.get_ok("/v1/changes?limit=1000", ENT).await;
    while own["has_more"] == true {
        let next = own["next"].as_str().expect("next").to_owned();
        own = restored
            .get_ok(&format!("/v1/changes?since={next}&limit=1000"), ENT)
            .await;
    }
    let own_end = own["next"].as_str().expect("next");
    assert_ne!(own_end, end);
    restored
        .get_ok(&format!("/v1/changes?since={own_end}"), ENT)
        .await;
}
