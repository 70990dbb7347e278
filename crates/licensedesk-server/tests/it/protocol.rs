//! Cross-cutting protocol: idempotency, rate limiting, change feed, keys,
//! OpenAPI, demo seeding.

use chrono::Duration;
use licensedesk_core::keys::{Envelope, KeySet, SERVER_TIME_CONTEXT};
use licensedesk_server::config::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN, Database, TestServer, at, doc_package, fingerprint};

#[tokio::test]
async fn idempotency_key_replays_and_refuses_another_body() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "pidem", doc_package(), "block", 0).await;
    let credit = json!({"account_id": id, "pk": "pidem", "count": 3, "package": doc_package()});
    let first = s
        .post_idem(ADMIN, "/v1/admin/batches", "k-1", &credit)
        .await;
    let second = s
        .post_idem(ADMIN, "/v1/admin/batches", "k-1", &credit)
        .await;
    assert_eq!(first.0, StatusCode::OK);
    assert_eq!(first, second, "same key and body → same response");
    // A crash after the commit but before the response was recorded leaves
    // the key reserved (status 0) with the write's result: a retry replays
    // it without crediting again. (The write's result is the batch's id;
    // the response around it is read after the write.)
    let scope = licensedesk_server::auth::hash_token(&format!("Bearer {ADMIN}"));
    let batch: Value = serde_json::from_str(&first.1).expect("json");
    let result = hex::encode(batch["batch_id"].to_string());
    let bytes = match &s.database {
        Database::Sqlite(_) => format!("X'{result}'"),
        Database::Postgres(_) => format!("'\\x{result}'::bytea"),
    };
    let reserved = s
        .database
        .exec(
            &format!("UPDATE idempotency SET status = 0, body = {bytes} WHERE key = 'k-1' AND scope = '{scope}'"),
            &[],
        )
        .await;
    assert_eq!(reserved, 1, "simulate lost response");
    let third = s
        .post_idem(ADMIN, "/v1/admin/batches", "k-1", &credit)
        .await;
    assert_eq!(third, first);
    let status = s
        .database
        .i64("SELECT status FROM idempotency WHERE key = 'k-1'", &[])
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        s.get_ok("/v1/products/pidem", &t).await["total"],
        3,
        "credited once"
    );
    let other = json!({"account_id": id, "pk": "pidem", "count": 4, "package": doc_package()});
    let (st, body) = s.post_idem(ADMIN, "/v1/admin/batches", "k-1", &other).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("IDEMPOTENCY_KEY_REUSED"), "{body}");
    // Errors are replayed too, and keys are per caller.
    let connect = json!({"pk": "nope", "dk": "d"});
    let a = s
        .post_idem(&t, "/v1/devices/connect", "k-1", &connect)
        .await;
    assert_eq!(a.0, StatusCode::NOT_FOUND);
    assert_eq!(
        a,
        s.post_idem(&t, "/v1/devices/connect", "k-1", &connect)
            .await
    );
    // Concurrent retries of one key run the request once.
    let body = json!({"pk": "pidem", "dk": "conc"});
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (c, url, t) = (
            s.http.clone(),
            format!("{}/v1/devices/connect", s.base),
            t.clone(),
        );
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .bearer_auth(t)
                .header("Idempotency-Key", "same")
                .json(&body)
                .send()
                .await
                .expect("send")
                .text()
                .await
                .expect("t")
        }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        bodies.push(t.await.expect("task"));
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(s.get_ok("/v1/products/pidem", &t).await["used"], 1);
}

/// A client that sends a keyed request and hangs up before the answer (a
/// crash, a killed process), then retries at once with the same key: the
/// retry must wait for the abandoned original and replay its response, so
/// the batch is credited once and the retry sees success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_racing_an_abandoned_original_replays_it() {
    use std::io::Write;
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await;
    s.product(id, "prace", doc_package(), "block", 0).await;
    let credit = json!({"account_id": id, "pk": "prace", "count": 1, "package": doc_package()});
    let body = credit.to_string();
    let addr = s.base.trim_start_matches("http://").to_owned();
    const ROUNDS: u64 = 40;
    for round in 0..ROUNDS {
        let key = format!("abandoned-{round}");
        let mut sock = std::net::TcpStream::connect(&addr).expect("connect");
        let raw = format!(
            "POST /v1/admin/batches HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\n\
             Idempotency-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(raw.as_bytes()).expect("write");
        drop(sock);
        let (st, text) = s.post_idem(ADMIN, "/v1/admin/batches", &key, &credit).await;
        assert_eq!(st, StatusCode::OK, "round {round}: {text}");
        let total = s.get_ok("/v1/products/prace", &t).await["total"].as_u64();
        assert_eq!(total, Some(round + 1), "round {round}: credited once");
    }
}

fn limited() -> Settings {
    Settings {
        fail_limit: 3,
        fail_window_secs: 60,
        trust_forwarded_for: false,
        ..Settings::default()
    }
}

async fn activate(
    s: &TestServer,
    code: &str,
    xff: Option<&str>,
    token: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut r = s
        .http
        .post(format!("{}/v1/gateway/activate", s.base))
        .json(&json!({"code": code, "fingerprint": fingerprint(1)}));
    if let Some(x) = xff {
        r = r.header("X-Forwarded-For", x);
    }
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await.expect("send");
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    (
        resp.status(),
        retry,
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn failed_code_attempts_are_rate_limited_per_address_with_retry_after() {
    let s = TestServer::start_with(limited(), at("2026-03-31T10:00:00Z")).await;
    let (id, _) = s.account("enterprise", "cn-east").await;
    let o = s
        .post_ok(
            "/v1/admin/gateway-orders",
            ADMIN,
            json!({"account_id": id, "order_no": "RL-1", "email": "a@b.c", "customer": "c",
        "quantity": 5, "max_connections": 1, "max_tags": 1, "validity_days": 30}),
        )
        .await;
    let good = o["activation_code"].as_str().expect("code").to_owned();
    let wrong =
        licensedesk_core::activation_code::ActivationCode::from_entropy([9; 16]).canonical();
    for _ in 0..3 {
        assert_eq!(
            activate(&s, &wrong, None, None).await.0,
            StatusCode::NOT_FOUND
        );
    }
    let (st, retry, body) = activate(&s, &good, None, None).await;
    assert_eq!(
        (st, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("RATE_LIMITED"))
    );
    assert_eq!(retry.as_deref(), Some("60"));
    // X-Forwarded-For is not trusted by default: same address.
    assert_eq!(
        activate(&s, &good, Some("203.0.113.9"), None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    s.clock.advance(Duration::seconds(30));
    assert_eq!(
        activate(&s, &good, None, None).await.1.as_deref(),
        Some("30")
    );
    s.clock.advance(Duration::seconds(30));
    assert_eq!(activate(&s, &good, None, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn rate_limit_per_token_and_trusted_forwarded_for() {
    let settings = Settings {
        trust_forwarded_for: true,
        ..limited()
    };
    let s = TestServer::start_with(settings, at("2026-03-31T10:00:00Z")).await;
    let (_, t) = s.account("enterprise", "cn-east").await;
    let wrong =
        licensedesk_core::activation_code::ActivationCode::from_entropy([9; 16]).canonical();
    for i in 0..3 {
        let xff = format!("198.51.100.{i}");
        assert_eq!(
            activate(&s, &wrong, Some(&xff), Some(&t)).await.0,
            StatusCode::NOT_FOUND
        );
    }
    // Each address failed once, but the token failed three times.
    assert_eq!(
        activate(&s, &wrong, Some("198.51.100.77"), Some(&t))
            .await
            .0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Without the token, a fresh (trusted) address is not limited.
    assert_eq!(
        activate(&s, &wrong, Some("198.51.100.78"), None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn change_feed_is_monotonic_complete_and_signed() {
    let s = TestServer::start().await;
    let (id, t) = s.account("individual", "eu-central").await;
    s.product(id, "pfeed", doc_package(), "block", 2).await;
    s.connect(&t, "pfeed", "d1").await;
    s.post_ok(
        "/v1/admin/packages",
        ADMIN,
        json!({"account_id": id, "pk": "pfeed", "package": doc_package(), "overage_policy": "bill"}),
    )
    .await;
    let mut seen = Vec::new();
    let mut since = String::new();
    loop {
        let v = s
            .get_ok(&format!("/v1/changes?since={since}&limit=3"), &t)
            .await;
        seen.extend(v["changes"].as_array().expect("changes").iter().cloned());
        since = v["next"].as_str().expect("next").to_owned();
        if v["has_more"] == false {
            break;
        }
    }
    let seqs: Vec<i64> = seen
        .iter()
        .map(|c| c["seq"].as_i64().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let kinds: Vec<(String, String)> = seen
        .iter()
        .map(|c| {
            (
                c["entity"].as_str().unwrap_or("").into(),
                c["op"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    for want in [
        ("account", "insert"),
        ("code", "insert"),
        ("product", "insert"),
        ("product", "update"),
        ("batch", "insert"),
        ("device", "insert"),
        ("code", "update"),
    ] {
        assert!(
            kinds.contains(&(want.0.into(), want.1.into())),
            "missing {want:?}"
        );
    }
    // Nothing new after the end; a new mutation shows up after the cursor.
    let v = s.get_ok(&format!("/v1/changes?since={since}"), &t).await;
    assert_eq!(v["changes"], json!([]));
    s.post_ok(
        &format!("/v1/admin/accounts/{id}/verify-enterprise"),
        ADMIN,
        json!({}),
    )
    .await;
    let v = s.get_ok(&format!("/v1/changes?since={since}"), &t).await;
    assert!(
        v["changes"]
            .as_array()
            .expect("c")
            .iter()
            .any(|c| c["entity"] == "account" && c["op"] == "update")
    );
    // The server time is signed with a published key.
    let keys = KeySet::from_json(
        s.call("GET", "/v1/keys", None, None)
            .await
            .1
            .to_string()
            .as_bytes(),
    )
    .expect("keyset");
    let env: Envelope = serde_json::from_value(v["server_time"].clone()).expect("envelope");
    let payload: Value = serde_json::from_slice(
        &keys
            .verify(SERVER_TIME_CONTEXT, &env)
            .expect("valid signature"),
    )
    .expect("json");
    assert_eq!(payload["server_time"], "2026-03-31T10:00:00Z");
    let (st, _) = s.get("/v1/changes?since=zzz", &t).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn key_rotation_keeps_old_licenses_verifiable() {
    let s = TestServer::start().await;
    let (id, _) = s.account("enterprise", "cn-east").await;
    let pt = s.pool(id, "p", 5, None).await;
    let old = s
        .post_ok(
            "/v1/floating/pools/p/claim",
            &pt,
            json!({"fingerprint": fingerprint(1), "points": 1}),
        )
        .await;
    let keys_dir = s.dir.path().join("keys");
    let mode = std::fs::metadata(
        std::fs::read_dir(&keys_dir)
            .expect("dir")
            .filter_map(Result::ok)
            .find(|e| e.path().extension().is_some_and(|x| x == "key"))
            .expect("key file")
            .path(),
    )
    .expect("meta");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    let kid = licensedesk_server::keystore::rotate(&keys_dir, at("2026-04-01T00:00:00Z"))
        .expect("rotate");
    let store = licensedesk_server::keystore::KeyStore::load(&keys_dir).expect("load");
    assert_eq!(store.current, kid);
    let set: KeySet = serde_json::from_str(
        &std::fs::read_to_string(keys_dir.join("keyset.json")).expect("keyset"),
    )
    .expect("parse");
    assert_eq!((set.entries().len(), set.current()), (2, kid.as_str()));
    licensedesk_core::license::verify_license(old["license"].as_str().expect("l").as_bytes(), &set)
        .expect("old license still verifies");
}

#[tokio::test]
async fn openapi_document_lists_the_api() {
    let s = TestServer::start().await;
    let (st, doc) = s.call("GET", "/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    for path in [
        "/v1/devices/connect",
        "/v1/changes",
        "/v1/snapshot",
        "/v1/licenses",
        "/v1/gateway/activate",
        "/v1/floating/pools/{name}/claim",
        "/v1/keys",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
    let (st, e) = s.call("GET", "/v1/nowhere", None, None).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
}

#[tokio::test]
async fn demo_seeds_once_and_its_tokens_work() {
    let s = TestServer::start().await;
    let first = licensedesk_server::demo::seed(&s.state)
        .await
        .expect("seed");
    let count = async |s: &TestServer| {
        let mut n = Vec::new();
        for table in ["devices", "codes", "changes"] {
            n.push(
                s.database
                    .i64(&format!("SELECT COUNT(*) FROM {table}"), &[])
                    .await,
            );
        }
        n
    };
    let before = count(&s).await;
    let second = licensedesk_server::demo::seed(&s.state)
        .await
        .expect("seed again");
    assert!(first.seeded_now && !second.seeded_now);
    assert_eq!(before, count(&s).await, "a second seeding adds nothing");
    let ent = s
        .get_ok(
            "/v1/account",
            licensedesk_server::demo::DEMO_ENTERPRISE_TOKEN,
        )
        .await;
    assert_eq!(
        (ent["data_center"].as_str(), ent["time_zone"].as_str()),
        (Some("cn-east"), Some("Asia/Shanghai"))
    );
    assert!(ent["used"].as_u64().expect("used") > 2000);
    let ind = s
        .get_ok(
            "/v1/account",
            licensedesk_server::demo::DEMO_INDIVIDUAL_TOKEN,
        )
        .await;
    assert_eq!(ind["time_zone"], "Europe/Berlin");
    let near = s
        .get_ok(
            "/v1/devices/near-expiry",
            licensedesk_server::demo::DEMO_ENTERPRISE_TOKEN,
        )
        .await;
    let list = near["devices"].as_array().expect("devices");
    assert!(
        list.iter().any(|d| d["replacement_available"] == true)
            && list.iter().any(|d| d["replacement_available"] == false)
    );
    let offline = s
        .get_ok(
            "/v1/devices/psl0003/PSL-00420",
            licensedesk_server::demo::DEMO_ENTERPRISE_TOKEN,
        )
        .await;
    assert_eq!(offline["offline_reason"], "no_codes");
}

/// The feed's JSON held to `licensedesk-protocol`: every change of the
/// demo's accounts (after a maintenance pass) is one of the protocol's
/// records, and its data is the very bytes that record serializes to.
#[tokio::test]
async fn the_demo_feed_is_the_protocols_records_byte_for_byte() {
    use licensedesk_protocol::feed::{Change, Entity};
    let s = TestServer::start().await;
    licensedesk_server::demo::seed(&s.state)
        .await
        .expect("seed");
    s.maintenance().await;
    let http = reqwest::Client::new();
    let mut entities = std::collections::BTreeSet::new();
    for token in [
        licensedesk_server::demo::DEMO_ENTERPRISE_TOKEN,
        licensedesk_server::demo::DEMO_INDIVIDUAL_TOKEN,
    ] {
        let mut since = String::new();
        let mut read = 0;
        loop {
            let text = http
                .get(format!("{}/v1/changes?limit=1000{since}", s.base))
                .bearer_auth(token)
                .send()
                .await
                .expect("send")
                .text()
                .await
                .expect("body");
            #[derive(serde::Deserialize)]
            struct Page {
                changes: Vec<Change>,
                next: String,
                has_more: bool,
            }
            let page: Page = serde_json::from_str(&text).expect(&text);
            for c in &page.changes {
                let record = c
                    .record()
                    .expect("a record")
                    .unwrap_or_else(|| panic!("no record for {c:?}"));
                assert_eq!(
                    (record.entity(), record.op(), record.id()),
                    (c.entity, c.op, c.id.clone())
                );
                assert_ne!(c.entity, Entity::Other);
                assert_eq!(record.data().expect("data"), c.data_str(), "{c:?}");
                entities.insert(c.entity.as_str());
            }
            read += page.changes.len();
            since = format!("&since={}", page.next);
            if !page.has_more {
                break;
            }
        }
        assert!(read > 0);
    }
    for e in [
        "account",
        "batch",
        "code",
        "device",
        "product",
        "statement",
        "usage",
    ] {
        assert!(
            entities.contains(e),
            "{e} not in the demo feed: {entities:?}"
        );
    }
}

#[tokio::test]
async fn migrations_are_numbered_applied_once_and_wal_is_on() {
    let s = TestServer::start().await;
    let latest = licensedesk_server::db::migrations::MIGRATIONS
        .last()
        .expect("migrations")
        .0;
    let file = match &s.database {
        Database::Sqlite(file) => file,
        Database::Postgres(url) => {
            // Its own migrations, numbered as SQLite's, applied once.
            let version = || s.database.i64("SELECT version FROM schema_version", &[]);
            assert_eq!(version().await, i64::from(latest));
            licensedesk_server::db::pg::Pg::open(url)
                .await
                .expect("opened again");
            assert_eq!(version().await, i64::from(latest));
            s.database
                .exec("UPDATE schema_version SET version = version + 1", &[])
                .await;
            let err = licensedesk_server::db::pg::Pg::open(url)
                .await
                .err()
                .expect("newer schema");
            assert!(err.to_string().contains("newer"), "{err}");
            return;
        }
    };
    let mut c = licensedesk_server::db::sqlite::open_connection(file).expect("open");
    let version: u32 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("pragma");
    assert_eq!(version, latest);
    assert_eq!(
        licensedesk_server::db::migrations::migrate(&mut c).expect("re-run"),
        latest
    );
    let mode: String = c
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("pragma");
    assert_eq!(mode, "wal");
    let sync: i64 = c
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .expect("pragma");
    assert_eq!(sync, 2, "synchronous=FULL");
    // A database from a newer server is refused rather than touched.
    c.pragma_update(None, "user_version", latest + 1)
        .expect("bump");
    let err = licensedesk_server::db::migrations::migrate(&mut c).expect_err("newer schema");
    assert!(err.to_string().contains("newer"), "{err}");
}

/// The response's status, its `Allow` header and its body, which must be
/// JSON `{code, message}` (labelled so) with a non-empty message.
async fn error_of(r: reqwest::Response) -> (StatusCode, Option<String>, String) {
    let status = r.status();
    let header = |n: &str| {
        r.headers()
            .get(n)
            .map(|v| v.to_str().expect("ascii").to_owned())
    };
    let (allow, ctype) = (header("allow"), header("content-type"));
    let text = r.text().await.expect("body");
    assert_eq!(
        ctype.as_deref(),
        Some("application/json"),
        "{status}: {text}"
    );
    let e: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text:?}"));
    let message = e["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{status}: {text}");
    assert_eq!(e.as_object().map(|o| o.len()), Some(2), "{text}");
    (status, allow, e["code"].as_str().expect("code").to_owned())
}

#[tokio::test]
async fn requests_refused_before_a_handler_get_code_and_message() {
    let s = TestServer::start().await;
    let (_, t) = s.account("enterprise", "cn-east").await;
    let url = |p: &str| format!("{}{p}", s.base);
    let assign = url("/v1/products/pwm0001/assign");
    let post = |body: &'static str, ctype: Option<&str>| {
        let mut r = s.http.post(&assign).bearer_auth(&t).body(body);
        if let Some(c) = ctype {
            r = r.header("content-type", c);
        }
        r
    };
    let json = Some("application/json");
    let cases = [
        (
            post(r#"{"count":"x"}"#, json),
            StatusCode::BAD_REQUEST,
            "BODY_INVALID",
        ),
        (
            post(r#"{"count":1}"#, None),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "CONTENT_TYPE_UNSUPPORTED",
        ),
        (
            post(r#"{"count":1}"#, Some("text/plain")),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "CONTENT_TYPE_UNSUPPORTED",
        ),
        (
            post("{count", json),
            StatusCode::BAD_REQUEST,
            "BODY_INVALID",
        ),
        (post("", json), StatusCode::BAD_REQUEST, "BODY_INVALID"),
        (
            s.http.get(url("/v1/licenses?limit=abc")).bearer_auth(&t),
            StatusCode::BAD_REQUEST,
            "QUERY_INVALID",
        ),
        (
            s.http
                .get(url("/v1/devices/near-expiry?expires_from=31-12-2026"))
                .bearer_auth(&t),
            StatusCode::BAD_REQUEST,
            "QUERY_INVALID",
        ),
        (
            s.http.get(url("/v1/products/%FF")).bearer_auth(&t),
            StatusCode::BAD_REQUEST,
            "PATH_INVALID",
        ),
        (
            s.http.get(url("/v1/nowhere")),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            s.http.post(url("/v1/nowhere")),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
    ];
    for (req, status, code) in cases {
        let (st, allow, got) = error_of(req.send().await.expect("send")).await;
        assert_eq!((st, got.as_str()), (status, code));
        assert_eq!(allow, None);
    }
    // A wrong method: 405 with the route's methods in `Allow`.
    for (method, path, allowed) in [
        (reqwest::Method::GET, "/v1/floating/pools/p/claim", "POST"),
        (reqwest::Method::POST, "/v1/licenses", "GET,HEAD"),
        (reqwest::Method::DELETE, "/openapi.json", "GET,HEAD"),
    ] {
        let r = s.http.request(method.clone(), url(path)).bearer_auth(&t);
        let (st, allow, code) = error_of(r.send().await.expect("send")).await;
        assert_eq!(
            (st, code.as_str(), allow.as_deref()),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                Some(allowed)
            ),
            "{method} {path}"
        );
    }
    // A raw body over the limit (the offline bundle, read as bytes).
    let r = s
        .http
        .post(url("/v1/gateway/offline"))
        .body(vec![b' '; 3 * 1024 * 1024])
        .send()
        .await
        .expect("send");
    let (st, _, code) = error_of(r).await;
    assert_eq!(
        (st, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE")
    );
    // The messages say what to do, in the API's words, not axum's.
    let r = post("{count", json).send().await.expect("send");
    let e: Value = r.json().await.expect("json");
    let m = e["message"].as_str().expect("message");
    assert!(m.starts_with("the body must be JSON: "), "{m}");
    assert!(!m.contains("Failed to"), "{m}");
}

#[tokio::test]
async fn a_keyed_request_whose_body_fails_to_parse_replays_json() {
    let s = TestServer::start().await;
    let (_, t) = s.account("enterprise", "cn-east").await;
    let send = |key: &'static str, method: reqwest::Method, path: &'static str| {
        s.http
            .request(method, format!("{}{path}", s.base))
            .bearer_auth(&t)
            .header("Idempotency-Key", key)
            .header("content-type", "application/json")
            .body(r#"{"count":"x"}"#)
            .send()
    };
    let post = reqwest::Method::POST;
    let first = send("k", post.clone(), "/v1/products/pwm0001/assign")
        .await
        .expect("send");
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.text().await.expect("text");
    let again = send("k", post.clone(), "/v1/products/pwm0001/assign")
        .await
        .expect("send");
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(again.text().await.expect("text"), first_body);
    let replayed = send("k", post.clone(), "/v1/products/pwm0001/assign")
        .await
        .expect("send");
    let (st, _, code) = error_of(replayed).await;
    assert_eq!(
        (st, code.as_str()),
        (StatusCode::BAD_REQUEST, "BODY_INVALID")
    );
    // A request no route took is not recorded: a retry is answered anew,
    // `Allow` included.
    for _ in 0..2 {
        let r = send("k2", post.clone(), "/v1/licenses")
            .await
            .expect("send");
        assert!(r.headers().get("idempotent-replayed").is_none());
        let (st, allow, code) = error_of(r).await;
        assert_eq!(
            (st, code.as_str(), allow.as_deref()),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                Some("GET,HEAD")
            )
        );
    }
}

#[tokio::test]
async fn idempotency_keys_without_a_token_are_scoped_by_client_address() {
    let settings = Settings {
        trust_forwarded_for: true,
        ..Settings::default()
    };
    let s = TestServer::start_with(settings, at("2026-03-31T10:00:00Z")).await;
    let (id, _) = s.account("enterprise", "cn-east").await;
    for no in ["SC-1", "SC-2"] {
        s.post_ok(
            "/v1/admin/gateway-orders",
            ADMIN,
            json!({"account_id": id, "order_no": no, "email": "a@b.c", "customer": "c",
                "quantity": 1, "max_connections": 1, "max_tags": 1, "validity_days": 30}),
        )
        .await;
    }
    let lookup = |xff: &'static str, no: &'static str| {
        let r = s
            .http
            .post(format!("{}/v1/gateway/orders/lookup", s.base))
            .header("Idempotency-Key", "1")
            .header("X-Forwarded-For", xff)
            .json(&json!({"order_no": no, "email": "a@b.c"}))
            .send();
        async move {
            let r = r.await.expect("send");
            (r.status(), r.json::<Value>().await.expect("json"))
        }
    };
    let (st, a) = lookup("198.51.100.1", "SC-1").await;
    assert_eq!((st, a["order_no"].as_str()), (StatusCode::OK, Some("SC-1")));
    // Another client, the same key, another body: its own answer.
    let (st, b) = lookup("198.51.100.2", "SC-2").await;
    assert_eq!(
        (st, b["order_no"].as_str()),
        (StatusCode::OK, Some("SC-2")),
        "{b}"
    );
    // The same client: its key is taken by another request.
    let (st, e) = lookup("198.51.100.1", "SC-2").await;
    assert_eq!(
        (st, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("IDEMPOTENCY_KEY_REUSED")
        )
    );
    assert_eq!(lookup("198.51.100.2", "SC-2").await.1, b, "replayed");
}

/// The defect: every query parameter was declared `in: path, required:
/// true`, so a client generated from the document was wrong.
#[tokio::test]
async fn the_openapi_document_declares_query_parameters_in_the_query() {
    let s = TestServer::start().await;
    let doc = s.call("GET", "/openapi.json", None, None).await.1;
    let mut queries = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().expect("name");
                let in_path = path.contains(&format!("{{{name}}}"));
                let want = if in_path { "path" } else { "query" };
                assert_eq!(p["in"], want, "{method} {path} {name}");
                if !in_path {
                    queries += 1;
                    assert_ne!(p["required"], true, "{method} {path} {name}");
                }
            }
        }
    }
    assert!(queries >= 20, "only {queries} query parameters");
}
