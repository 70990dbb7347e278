//! A fleet: two server nodes sharing one PostgreSQL database (always
//! PostgreSQL, whichever engine the rest of the suite runs on: the tests'
//! throwaway cluster, a fresh database per test). Each node is a whole
//! server of its own (its pool, its in-flight keys, its port); they share
//! the keys dir and the clock, as a fleet shares its key file and real time.
//!
//! What must hold across nodes: a code is consumed once, an
//! `Idempotency-Key` answers once, the code-attempt limit counts every
//! node's failures, maintenance does each due item once, and a client that
//! reads the change feed from both nodes while both write ends with a
//! mirror equal to the database. And a node killed under load loses no
//! acknowledged activation while the other keeps serving.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as Days;
use licensedesk_server::clock::TestClock;
use licensedesk_server::config::Settings;
use licensedesk_testkit::{Database, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN, ServerProc, doc_package, package, post_json, server_bin};

/// Two nodes on a fresh database, their clock at the suite's start.
async fn fleet(settings: Settings) -> (tempfile::TempDir, Server, Server) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = licensedesk_testkit::pg::shared().database();
    let clock = Arc::new(TestClock::new(licensedesk_testkit::t0()));
    let a = Server::node(dir.path(), &url, clock.clone(), settings.clone()).await;
    let b = Server::node(dir.path(), &url, clock, settings).await;
    (dir, a, b)
}

fn nodes<'a>(a: &'a Server, b: &'a Server) -> [&'a Server; 2] {
    [a, b]
}

/// `n` device connections at once, alternating between the nodes, the
/// `i`th with `body(i)`; every answer, in order.
async fn connect_on_both(
    a: &Server,
    b: &Server,
    token: &str,
    n: usize,
    body: impl Fn(usize) -> Value,
) -> Vec<(StatusCode, Value)> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let node = nodes(a, b)[i % 2].base.clone();
        let (http, token, body) = (a.http.clone(), token.to_owned(), body(i));
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{node}/v1/devices/connect"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .expect("send");
            (r.status(), r.json::<Value>().await.expect("json"))
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_activations_over_ten_codes_on_two_nodes_consume_exactly_ten() {
    let (_dir, a, b) = fleet(Settings::default()).await;
    let (account, token) = a.account("enterprise", "cn-east").await;
    a.product(account, "pfleet", doc_package(), "block", 10)
        .await;
    let answers = connect_on_both(
        &a,
        &b,
        &token,
        200,
        |i| json!({"pk": "pfleet", "dk": format!("d{i}")}),
    )
    .await;
    let mut by_outcome = BTreeMap::<String, u32>::new();
    for (status, body) in answers {
        let outcome = match status {
            StatusCode::OK => "activated".to_owned(),
            _ => body["code"].as_str().unwrap_or("?").to_owned(),
        };
        *by_outcome.entry(outcome).or_default() += 1;
    }
    assert_eq!(
        by_outcome,
        BTreeMap::from([
            ("activated".to_owned(), 10),
            ("NO_CODES_AVAILABLE".to_owned(), 190)
        ]),
        "every request answered, ten activated"
    );
    let db = &a.database;
    assert_eq!(
        db.i64(
            "SELECT COUNT(*) FROM codes WHERE consumed_at IS NOT NULL",
            &[]
        )
        .await,
        10
    );
    assert_eq!(
        db.i64("SELECT COUNT(*) FROM devices WHERE status = 'active'", &[])
            .await,
        10
    );
    assert_eq!(
        db.i64(
            "SELECT COUNT(DISTINCT device_id) FROM codes WHERE consumed_at IS NOT NULL",
            &[]
        )
        .await,
        10,
        "one code per device"
    );
    for node in nodes(&a, &b) {
        let card = node.get_ok("/v1/products/pfleet", &token).await;
        assert_eq!(
            (card["used"].as_u64(), card["remaining"].as_u64()),
            (Some(10), Some(0))
        );
    }
    crate::support::assert_counts_equal_recount(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_device_connecting_fifty_times_on_two_nodes_consumes_one_code() {
    let (_dir, a, b) = fleet(Settings::default()).await;
    let (account, token) = a.account("enterprise", "cn-east").await;
    a.product(account, "pone", doc_package(), "block", 5).await;
    let answers = connect_on_both(
        &a,
        &b,
        &token,
        50,
        |_| json!({"pk": "pone", "dk": "the-one"}),
    )
    .await;
    let mut codes = std::collections::BTreeSet::new();
    for (status, body) in answers {
        assert_eq!(status, StatusCode::OK, "{body}");
        codes.insert(body["code"].as_str().expect("code").to_owned());
    }
    assert_eq!(
        codes.len(),
        1,
        "every answer names the same code: {codes:?}"
    );
    assert_eq!(
        a.database
            .i64(
                "SELECT COUNT(*) FROM codes WHERE consumed_at IS NOT NULL",
                &[]
            )
            .await,
        1
    );
    assert_eq!(a.database.i64("SELECT COUNT(*) FROM devices", &[]).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idempotency_key_answers_once_across_nodes() {
    let (_dir, a, b) = fleet(Settings::default()).await;
    let (account, token) = a.account("enterprise", "cn-east").await;
    a.product(account, "pidem", doc_package(), "block", 0).await;
    let credit =
        json!({"account_id": account, "pk": "pidem", "count": 3, "package": doc_package()});
    let mut tasks = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let (http, credit) = (a.http.clone(), credit.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{node}/v1/admin/batches"))
                .bearer_auth(ADMIN)
                .header("Idempotency-Key", "fleet-credit-1")
                .json(&credit)
                .send()
                .await
                .expect("send");
            (r.status(), r.text().await.expect("text"))
        }));
    }
    let mut answers = std::collections::BTreeSet::new();
    for t in tasks {
        let (status, body) = t.await.expect("task");
        assert_eq!(status, StatusCode::OK, "{body}");
        answers.insert(body);
    }
    assert_eq!(answers.len(), 1, "one answer, replayed: {answers:?}");
    for node in nodes(&a, &b) {
        assert_eq!(
            node.get_ok("/v1/products/pidem", &token).await["total"],
            3,
            "credited once"
        );
    }
    // The same key with another body, on the other node: refused.
    let other = json!({"account_id": account, "pk": "pidem", "count": 4, "package": doc_package()});
    let r = b
        .http
        .post(format!("{}/v1/admin/batches", b.base))
        .bearer_auth(ADMIN)
        .header("Idempotency-Key", "fleet-credit-1")
        .json(&other)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .expect("text")
            .contains("IDEMPOTENCY_KEY_REUSED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_code_attempts_on_one_node_limit_the_other() {
    let settings = Settings {
        fail_limit: 3,
        fail_window_secs: 60,
        ..Settings::default()
    };
    let (_dir, a, b) = fleet(settings).await;
    let (id, _) = a.account("enterprise", "cn-east").await;
    let order = a
        .post_ok(
            "/v1/admin/gateway-orders",
            ADMIN,
            json!({"account_id": id, "order_no": "FLEET-RL", "email": "a@b.c", "customer": "c",
                "quantity": 5, "max_connections": 1, "max_tags": 1, "validity_days": 30}),
        )
        .await;
    let good = order["activation_code"].as_str().expect("code").to_owned();
    let wrong =
        licensedesk_core::activation_code::ActivationCode::from_entropy([9; 16]).canonical();
    let activate = async |node: &Server, code: &str| {
        let r = node
            .http
            .post(format!("{}/v1/gateway/activate", node.base))
            .json(&json!({"code": code, "fingerprint": crate::support::fingerprint(1)}))
            .send()
            .await
            .expect("send");
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().expect("ascii").to_owned());
        (r.status(), retry)
    };
    // Two failures on A, one on B: the limit of three is reached.
    for node in [&a, &a, &b] {
        assert_eq!(activate(node, &wrong).await.0, StatusCode::NOT_FOUND);
    }
    for node in nodes(&a, &b) {
        let (status, retry) = activate(node, &good).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry.as_deref(), Some("60"));
    }
    a.clock.advance(Days::seconds(61));
    assert_eq!(activate(&b, &good).await.0, StatusCode::OK);
    // Maintenance forgets what left the window, on whichever node runs it.
    let r = a.post_ok("/v1/admin/maintenance", ADMIN, json!({})).await;
    assert_eq!(r["failed_attempts_forgotten"], 3, "{r}");
}

/// Renewals and month closes due on both nodes at once: each done once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn maintenance_on_two_nodes_at_once_does_each_due_item_once() {
    let (_dir, a, b) = fleet(Settings::default()).await;
    let (account, token) = a.account("enterprise", "cn-east").await;
    // Monthly codes, two per device: a renewal is due for each after a month.
    a.product(account, "prenew", package(0, 1, 0), "bill", 60)
        .await;
    for i in 0..30 {
        let (st, v) = a.connect(&token, "prenew", &format!("r{i}")).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    a.clock.advance(Days::days(33));
    let mut passes = Vec::new();
    for i in 0..8 {
        let node = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let http = a.http.clone();
        passes.push(tokio::spawn(async move {
            post_json(
                &http,
                format!("{node}/v1/admin/maintenance"),
                ADMIN,
                json!({}),
            )
            .await
        }));
    }
    let mut renewed = 0;
    let mut closed = 0;
    for p in passes {
        let r = p.await.expect("pass");
        assert_eq!(r["failures"], json!([]), "{r}");
        renewed += r["renewed"].as_u64().expect("renewed");
        closed += r["months_closed"].as_u64().expect("months_closed");
    }
    let db = &a.database;
    assert_eq!(renewed, 30, "each device renewed once, by one pass");
    assert_eq!(
        db.i64(
            "SELECT COUNT(*) FROM codes WHERE consumed_at IS NOT NULL",
            &[]
        )
        .await,
        60
    );
    let months = db.i64("SELECT COUNT(*) FROM statements", &[]).await;
    assert!(months >= 1, "a month closed");
    assert_eq!(closed, months as u64, "each month closed by one pass");
    let code_changes = db
        .i64(
            "SELECT COUNT(*) FROM changes WHERE entity = 'code' AND op = 'update' AND data LIKE '%consumed_at%'",
            &[],
        )
        .await;
    assert_eq!(code_changes, 60, "one change per consumption");
    let card = b.get_ok("/v1/products/prenew", &token).await;
    assert_eq!(
        (card["used"].as_u64(), card["remaining"].as_u64()),
        (Some(60), Some(0))
    );
}

/// A client's mirror of the account, built from the feed alone: every
/// device and code as its latest change left it.
#[derive(Default, Debug)]
struct Mirror {
    devices: BTreeMap<i64, String>,
    codes: BTreeMap<i64, Value>,
    seen: usize,
}

impl Mirror {
    fn apply(&mut self, changes: &[Value]) {
        for c in changes {
            self.seen += 1;
            let id = || -> i64 {
                c["id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("entity id")
            };
            match c["entity"].as_str() {
                Some("device") => {
                    let d = &c["data"];
                    self.devices
                        .insert(id(), d["status"].as_str().expect("status").to_owned());
                }
                Some("code") => {
                    let device = c["data"]["device_id"].clone();
                    let e = self.codes.entry(id()).or_insert(Value::Null);
                    if !device.is_null() {
                        *e = device;
                    }
                }
                _ => {}
            }
        }
    }
}

/// The ids whose entries differ between `a` and `b`.
fn differ<V: PartialEq>(a: &BTreeMap<i64, V>, b: &BTreeMap<i64, V>) -> Vec<i64> {
    let mut ids: Vec<i64> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .copied()
        .collect();
    ids.dedup();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_reading_the_feed_while_two_nodes_write_ends_equal_to_the_database() {
    let (_dir, a, b) = fleet(Settings::default()).await;
    let (account, token) = a.account("enterprise", "cn-east").await;
    a.product(account, "pfeed", doc_package(), "block", 0).await;
    // The feed's length once the writers are done (-1 while they write):
    // the reader reads on until it has seen that many changes, or gives up.
    let target = Arc::new(std::sync::atomic::AtomicI64::new(-1));
    let mut writers = Vec::new();
    for w in 0..8 {
        let node = if w % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let (http, token) = (a.http.clone(), token.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..40 {
                // Codes credited and devices connected on both nodes at once:
                // transactions that commit out of their `seq` order.
                if i % 10 == 0 {
                    post_json(
                        &http,
                        format!("{node}/v1/admin/batches"),
                        ADMIN,
                        json!({"account_id": account, "pk": "pfeed", "count": 12, "package": doc_package()}),
                    )
                    .await;
                }
                let r = http
                    .post(format!("{node}/v1/devices/connect"))
                    .bearer_auth(&token)
                    .json(&json!({"pk": "pfeed", "dk": format!("w{w}-{i}")}))
                    .send()
                    .await
                    .expect("send");
                assert!(
                    r.status() == StatusCode::OK || r.status() == StatusCode::CONFLICT,
                    "{}",
                    r.status()
                );
            }
        }));
    }
    let reader = {
        let (http, token, target) = (a.http.clone(), token.clone(), target.clone());
        let bases = [a.base.clone(), b.base.clone()];
        tokio::spawn(async move {
            let mut mirror = Mirror::default();
            let mut cursor = String::new();
            let mut reads = 0usize;
            let mut deadline = None;
            loop {
                let base = &bases[reads % 2];
                reads += 1;
                let page = crate::support::get_json(
                    &http,
                    format!("{base}/v1/changes?limit=7&since={cursor}"),
                    &token,
                )
                .await;
                let changes = page["changes"].as_array().expect("changes");
                mirror.apply(changes);
                cursor = page["next"].as_str().expect("next").to_owned();
                let total = target.load(std::sync::atomic::Ordering::SeqCst);
                if total >= 0 {
                    if mirror.seen as i64 >= total {
                        return (mirror, reads);
                    }
                    let until =
                        *deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(30));
                    if Instant::now() > until {
                        return (mirror, reads); // the comparison below says what is missing
                    }
                }
                if changes.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        })
    };
    for w in writers {
        w.await.expect("writer");
    }
    let total = a
        .database
        .i64(
            "SELECT COUNT(*) FROM changes WHERE account_id = $1",
            &[account],
        )
        .await;
    target.store(total, std::sync::atomic::Ordering::SeqCst);
    let (mirror, reads) = reader.await.expect("reader");
    let db = &a.database;
    let devices: BTreeMap<i64, String> = db
        .rows(
            "SELECT id, status FROM devices WHERE account_id = $1",
            &[account],
        )
        .await
        .into_iter()
        .map(|r| {
            (
                r[0].as_i64().expect("id"),
                r[1].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    let codes: BTreeMap<i64, Value> = db
        .rows(
            "SELECT id, device_id FROM codes WHERE account_id = $1",
            &[account],
        )
        .await
        .into_iter()
        .map(|r| (r[0].as_i64().expect("id"), r[1].clone()))
        .collect();
    assert_eq!(devices.len(), 320, "every writer's devices");
    assert!(
        reads > 20,
        "the feed was read while written ({reads} reads)"
    );
    let (d, c) = (
        differ(&mirror.devices, &devices),
        differ(&mirror.codes, &codes),
    );
    assert!(
        d.is_empty(),
        "{} devices the mirror holds otherwise (of {}, {} changes seen of {total}), e.g. {:?}: {:?} in the mirror, {:?} in the database",
        d.len(),
        devices.len(),
        mirror.seen,
        d[0],
        mirror.devices.get(&d[0]),
        devices.get(&d[0])
    );
    assert!(c.is_empty(), "codes the mirror holds otherwise: {c:?}");
    assert_eq!(
        codes.values().filter(|v| !v.is_null()).count(),
        320,
        "a code per device"
    );
    assert_eq!(mirror.seen as i64, total, "every change read once");
    // Credits and connections of one pool on both nodes at once: the
    // counts kept with them are a recount.
    crate::support::assert_counts_equal_recount(db).await;
}

/// `kill -9` of one node of two (real binaries on one database) under
/// activation load on both: every acknowledged activation is there, and
/// the other node answers every request of its own throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_one_node_under_load_loses_nothing_and_the_other_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = licensedesk_testkit::pg::shared().database();
    let client = reqwest::Client::new();
    let start = |dir: &std::path::Path| {
        let mut c = server_bin();
        c.args([
            "--listen",
            "127.0.0.1:0",
            "--admin-token",
            ADMIN,
            "--database",
            &url,
        ])
        .arg("--data-dir")
        .arg(dir);
        ServerProc::spawn(c)
    };
    // The first node makes the keys; the second is given the same dir.
    let mut a = start(dir.path());
    crate::support::wait_healthy(&client, &a.base).await;
    let b = start(dir.path());
    crate::support::wait_healthy(&client, &b.base).await;
    let acct = a.account(&client, "fleet-crash").await;
    let token = acct["token"].as_str().expect("token").to_owned();
    let id = acct["id"].as_i64().expect("id");
    post_json(
        &client,
        format!("{}/v1/admin/products", a.base),
        ADMIN,
        json!({"account_id": id, "pk": "pkill", "name": "Kill"}),
    )
    .await;
    post_json(
        &client,
        format!("{}/v1/admin/batches", b.base),
        ADMIN,
        json!({"account_id": id, "pk": "pkill", "count": 3000, "package": doc_package()}),
    )
    .await;

    let acked = crate::support::Acked::default();
    let mut on_a = Vec::new();
    let mut on_b = Vec::new();
    for w in 0..8 {
        let base = if w % 2 == 0 { &a.base } else { &b.base };
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let task =
            crate::support::activation_worker(client, base, token, "pkill", w, 300, acked.clone());
        if w % 2 == 0 {
            on_a.push(task)
        } else {
            on_b.push(task)
        }
    }
    crate::support::wait_acked(&acked, 200).await;
    a.kill();
    for t in on_a {
        t.await.expect("worker on the killed node");
    }
    for t in on_b {
        assert!(
            !t.await.expect("worker on the other node"),
            "B answered every request"
        );
    }
    let acked = acked.lock().expect("lock").clone();
    for dk in &acked {
        let v =
            crate::support::get_json(&client, format!("{}/v1/devices/pkill/{dk}", b.base), &token)
                .await;
        assert_eq!(v["status"], "active", "{dk}: {v}");
    }
    let db = Database::Postgres(url.clone());
    let consumed = db
        .i64(
            "SELECT COUNT(*) FROM codes WHERE consumed_at IS NOT NULL",
            &[],
        )
        .await;
    let active = db
        .i64("SELECT COUNT(*) FROM devices WHERE status = 'active'", &[])
        .await;
    assert_eq!(consumed, active, "a consumed code per active device");
    assert!(consumed as usize >= acked.len());
    crate::support::assert_counts_equal_recount(&db).await;
    // A node started again on the database serves the same data.
    let a2 = start(dir.path());
    crate::support::wait_healthy(&client, &a2.base).await;
    let card =
        crate::support::get_json(&client, format!("{}/v1/products/pkill", a2.base), &token).await;
    assert_eq!(card["used"].as_i64(), Some(consumed));
}

/// The nodes of one database sign with the same keys: a node started with
/// none (a fresh data dir would make a key of its own) or with others does
/// not start, and says what to copy; a copy of the running node's keys
/// starts, and a rotation made on a node's keys dir becomes the database's.
#[tokio::test]
async fn a_node_without_the_fleets_signing_keys_refuses_to_start() {
    use licensedesk_server::AppState;
    use licensedesk_server::clock::Clock;
    use licensedesk_server::keystore;
    let url = licensedesk_testkit::pg::shared().database();
    let clock = Arc::new(TestClock::new(licensedesk_testkit::t0()));
    let open = |dir: std::path::PathBuf| {
        let (url, clock) = (url.clone(), clock.clone());
        async move {
            AppState::open_postgres(&dir, &url, clock, Settings::default(), ADMIN)
                .await
                .map_err(|e| e.to_string())
        }
    };
    let first = tempfile::tempdir().expect("tempdir");
    let a = open(first.path().to_owned()).await.expect("the first node");
    let kid = a.keys.current.clone();

    let empty = tempfile::tempdir().expect("tempdir");
    let err = open(empty.path().to_owned()).await.err().expect("no keys");
    assert!(
        err.contains("holds no signing key") && err.contains(&kid) && err.contains("copy"),
        "{err}"
    );
    assert!(
        !empty.path().join("keys").join("current").exists(),
        "no key made"
    );

    let other = tempfile::tempdir().expect("tempdir");
    keystore::KeyStore::open_or_create(&other.path().join("keys"), clock.now()).expect("keys");
    let err = open(other.path().to_owned())
        .await
        .err()
        .expect("other keys");
    assert!(
        err.contains("are not the ones") && err.contains(&kid),
        "{err}"
    );

    let copy = tempfile::tempdir().expect("tempdir");
    let keys = copy.path().join("keys");
    std::fs::create_dir_all(&keys).expect("mkdir");
    for f in std::fs::read_dir(first.path().join("keys")).expect("ls") {
        let f = f.expect("entry").path();
        std::fs::copy(&f, keys.join(f.file_name().expect("name"))).expect("copy");
    }
    let b = open(copy.path().to_owned())
        .await
        .expect("a copy of the keys");
    assert_eq!(b.keys.current, kid);

    // `rotate-key` on the copy: that node starts with the new key, and the
    // first node's dir, now behind, is refused until it gets the copy.
    clock.advance(Days::days(1));
    let rotated = keystore::rotate(&keys, clock.now()).expect("rotate");
    let b = open(copy.path().to_owned())
        .await
        .expect("the rotated node");
    assert_eq!(b.keys.current, rotated);
    let err = open(first.path().to_owned()).await.err().expect("behind");
    assert!(err.contains(&rotated), "{err}");
}
