//! A real server on loopback, and helpers to compare the client's cache with
//! the server's own endpoints.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use licensedesk_client::{
    ApiToken, Cache, CancelToken, LicenseQuery, ManualClock, Session, SyncReport,
};
use licensedesk_server::config::Settings;
use serde_json::{Value, json};

pub use licensedesk_server::demo::DEMO_ENTERPRISE_TOKEN as ENT;
pub use licensedesk_testkit::{ADMIN, at};

/// The kit's [`licensedesk_testkit::Server`] on a temp dir of its own.
pub struct TestServer {
    server: licensedesk_testkit::Server,
    dir: tempfile::TempDir,
}

impl Deref for TestServer {
    type Target = licensedesk_testkit::Server;
    fn deref(&self) -> &Self::Target {
        &self.server
    }
}

impl DerefMut for TestServer {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.server
    }
}

impl TestServer {
    /// A server seeded with the demo data set (`--demo`).
    pub async fn demo() -> Self {
        let s = Self::start().await;
        licensedesk_server::demo::seed(&s.state)
            .await
            .expect("demo seed");
        s
    }

    pub async fn start() -> Self {
        Self::start_with(|app| app).await
    }

    /// A demo server as one older than the snapshot answers: `/v1/snapshot`
    /// is an unknown route there (404 `NOT_FOUND`, like any other).
    pub async fn demo_without_snapshot() -> Self {
        let s = Self::start_with(|app| {
            app.layer(axum::middleware::from_fn(
                |req: axum::extract::Request, next: axum::middleware::Next| async move {
                    use axum::response::IntoResponse;
                    if req.uri().path() == "/v1/snapshot" {
                        return licensedesk_server::error::ApiError::NotFound("route")
                            .into_response();
                    }
                    next.run(req).await
                },
            ))
        })
        .await;
        licensedesk_server::demo::seed(&s.state)
            .await
            .expect("demo seed");
        s
    }

    /// A server whose router `wrap` may wrap (another version's routes).
    pub async fn start_with(wrap: impl FnOnce(axum::Router) -> axum::Router) -> Self {
        Self::start_in(tempfile::tempdir().expect("tempdir"), wrap).await
    }

    /// A server on `dir`, which may already hold a data dir (a database
    /// copied there: a restored backup).
    pub async fn start_on(dir: tempfile::TempDir) -> Self {
        Self::start_in(dir, |app| app).await
    }

    async fn start_in(
        dir: tempfile::TempDir,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Self {
        let server = licensedesk_testkit::Server::start_with(
            dir.path(),
            Settings::default(),
            licensedesk_testkit::t0(),
            wrap,
        )
        .await;
        Self { server, dir }
    }

    /// A copy of the server's database as it is now, in a new directory
    /// (`licensedesk-server backup`, consistent while the server runs), as
    /// an operator would put back by hand: its instance id kept, and the
    /// signing keys copied beside it (README: they are backed up apart).
    pub fn copy_database(&self) -> tempfile::TempDir {
        let copy = self.copy_keys();
        licensedesk_server::backup::backup(
            self.dir.path(),
            &copy.path().join(licensedesk_server::db::FILE_NAME),
        )
        .expect("copy the database");
        copy
    }

    /// A new data dir holding only this server's signing keys: a server
    /// started on it is this server with its data replaced.
    pub fn copy_keys(&self) -> tempfile::TempDir {
        let copy = tempfile::tempdir().expect("tempdir");
        let (from, to) = (self.dir.path().join("keys"), copy.path().join("keys"));
        std::fs::create_dir_all(&to).expect("keys dir");
        for e in std::fs::read_dir(&from).expect("keys") {
            let e = e.expect("entry");
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy a key file");
        }
        copy
    }

    /// The demo data set on a new database of this server (its keys).
    pub async fn demo_replacing(&self) -> Self {
        let s = Self::start_on(self.copy_keys()).await;
        licensedesk_server::demo::seed(&s.state)
            .await
            .expect("demo seed");
        s
    }

    /// Stops the server, rotates its signing key (`rotate-key`) and starts
    /// it again on the same data dir (another port).
    pub async fn rotated(mut self) -> Self {
        self.server.stop().await;
        licensedesk_server::keystore::rotate(&self.dir.path().join("keys"), self.server.now())
            .expect("rotate");
        Self::start_on(self.dir).await
    }

    /// Creates a product with [`package`] and `codes` codes credited (the
    /// kit's `product`, with this suite's package and the default policy).
    pub async fn product(&self, account: i64, pk: &str, codes: u64) {
        self.server
            .product(account, pk, package(), None, codes)
            .await;
    }

    /// Connects `n` new devices `{prefix}-{i}` of `pk`, each consuming a code.
    pub async fn connect_new(&self, token: &str, pk: &str, prefix: &str, n: usize) {
        for i in 0..n {
            let (st, v) = self.connect(token, pk, &format!("{prefix}-{i}")).await;
            assert_eq!(st, 200, "{v}");
        }
    }

    /// Changes of the account after `cursor` (a feed cursor), counted in the server DB.
    pub async fn changes_after(&self, token: &str, cursor: &str) -> i64 {
        let account = self.account_id(token).await;
        let since = cursor_seq(cursor);
        self.state
            .store
            .sqlite_db()
            .expect("a SQLite store")
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM changes WHERE account_id = ?1 AND seq > ?2",
                    [account, since],
                    |r| r.get(0),
                )?)
            })
            .await
            .expect("count")
    }

    pub async fn account_id(&self, token: &str) -> i64 {
        self.get_json("/v1/account", token).await["id"]
            .as_i64()
            .expect("id")
    }

    /// What a snapshot of the account holds now, counted in the server DB:
    /// (changes about neither a code nor a device, codes, devices).
    pub async fn snapshot_counts(&self, token: &str) -> (i64, i64, i64) {
        let account = self.account_id(token).await;
        self.state
            .store
            .sqlite_db()
            .expect("a SQLite store")
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT (SELECT COUNT(*) FROM changes WHERE account_id = ?1 AND entity != 'code' AND entity != 'device'),
                            (SELECT COUNT(*) FROM codes WHERE account_id = ?1),
                            (SELECT COUNT(*) FROM devices WHERE account_id = ?1)",
                    [account],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?)
            })
            .await
            .expect("count")
    }

    /// Every consumption row, from the server's own endpoint, by code.
    pub async fn all_licenses(&self, token: &str) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/licenses?limit=500&cursor={c}"),
                None => "/v1/licenses?limit=500".to_owned(),
            };
            let page = self.get_json(&path, token).await;
            for item in page["items"].as_array().expect("items") {
                let norm = json!({
                    "batch_id": item["batch_id"], "batch_kind": item["batch_kind"], "pk": item["pk"],
                    "product_name": item["product_name"], "dk": item["dk"], "status": item["status"],
                    "consumed_at": norm_ts(&item["consumed_at"]), "expires_at": norm_ts(&item["expires_at"]),
                });
                out.insert(item["code"].as_str().expect("code").to_owned(), norm);
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }
}

fn norm_ts(v: &Value) -> Value {
    v.as_str()
        .map_or(Value::Null, |s| Value::String(at(s).to_rfc3339()))
}

/// Every consumption row of the client's cache, paged like the UI does.
pub fn client_licenses(s: &Session) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut q = LicenseQuery {
        limit: Some(500),
        ..LicenseQuery::default()
    };
    loop {
        let page = s.licenses(&q).expect("page");
        for r in page.rows {
            let t = |v: &Option<String>| {
                v.as_deref()
                    .map_or(Value::Null, |s| Value::String(at(s).to_rfc3339()))
            };
            out.insert(
                r.code.clone(),
                json!({
                    "batch_id": r.batch_id, "batch_kind": r.batch_kind, "pk": r.pk, "product_name": r.product_name,
                    "dk": r.dk, "status": r.status, "consumed_at": t(&r.consumed_at), "expires_at": t(&r.expires_at),
                }),
            );
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

pub fn package() -> Value {
    json!({"validity": {"years": 1}, "messages_per_day": 100, "ota_per_month": 1, "ota_cap_mb": 5, "storage_days": 7})
}

/// A session over a fresh cache in `dir`, with a clock at the server's now.
/// The feed position of a cursor the server returned (`c{seq}@{instance}`),
/// 0 for none; a test reads the server's database at that position.
pub fn cursor_seq(cursor: &str) -> i64 {
    let body = cursor.split_once('@').map_or(cursor, |(b, _)| b);
    body.trim_start_matches('c').parse().unwrap_or(0)
}

pub fn session(
    server: &TestServer,
    dir: &std::path::Path,
    token: &str,
) -> (Session, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(server.now()));
    let cache = Cache::open(&dir.join("cache.sqlite3")).expect("cache");
    let s =
        Session::new(cache, &server.base, ApiToken::new(token), clock.clone()).expect("session");
    (s, clock)
}

pub async fn sync(s: &Session) -> SyncReport {
    s.sync(&|_| {}, &CancelToken::new()).await.expect("sync")
}

/// Asserts the cache equals the server's view: overview, cards, every row.
pub async fn assert_same_view(server: &TestServer, s: &Session, token: &str) {
    let ov = s.overview().expect("overview");
    let sv = server.get_json("/v1/account", token).await;
    for (k, mine) in [
        ("total", ov.total),
        ("used", ov.used),
        ("remaining", ov.remaining),
        ("unassigned", ov.unassigned),
        ("free_codes", ov.free_codes),
    ] {
        assert_eq!(sv[k].as_u64(), Some(mine), "overview {k}");
    }
    assert_eq!(sv["data_center"].as_str(), Some(ov.data_center.as_str()));
    assert_eq!(sv["time_zone"].as_str(), Some(ov.time_zone.as_str()));
    assert_eq!(sv["name"].as_str(), Some(ov.name.as_str()));
    assert_eq!(sv["kind"].as_str(), Some(ov.kind.as_str()));
    let cards = s.cards().expect("cards");
    let scards = server.get_json("/v1/products", token).await;
    let scards = scards.as_array().expect("cards");
    assert_eq!(scards.len(), cards.len(), "card count");
    for (c, sc) in cards.iter().zip(scards) {
        assert_eq!(sc["pk"].as_str(), Some(c.pk.as_str()));
        assert_eq!(sc["name"].as_str(), Some(c.name.as_str()));
        assert_eq!(
            sc["package"],
            serde_json::to_value(&c.package).expect("json"),
            "{}",
            c.pk
        );
        assert_eq!(
            sc["overage_policy"].as_str(),
            Some(c.overage_policy.as_str())
        );
        for (k, mine) in [
            ("total", c.total),
            ("used", c.used),
            ("remaining", c.remaining),
            ("devices", c.devices),
        ] {
            assert_eq!(sc[k].as_u64(), Some(mine), "card {} {k}", c.pk);
        }
    }
    let theirs = server.all_licenses(token).await;
    let mine = client_licenses(s);
    assert_eq!(theirs.len(), mine.len(), "consumption row count");
    for (code, row) in &theirs {
        assert_eq!(mine.get(code), Some(row), "row of code {code}");
    }
}

/// Every mirrored table of a cache file, row by row (pool counters without
/// their empty rows, which only say a pool was touched once).
pub fn dump(path: &std::path::Path) -> Vec<String> {
    let c = rusqlite::Connection::open(path).expect("open");
    let mut out = Vec::new();
    for (table, order) in [
        ("account", "id"),
        ("products", "id"),
        ("batches", "id"),
        ("devices", "id"),
        ("codes", "id"),
        ("usage_now", "device_id"),
        ("usage_days", "device_id, day_end"),
        ("pool_counts WHERE used + remaining > 0", "product_id"),
    ] {
        let mut st = c
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .expect("select");
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                let cols = (0..n)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(format!("{table}: {}", cols.join("|")))
            })
            .expect("rows")
            .collect::<rusqlite::Result<Vec<_>>>()
            .expect("collect");
        out.extend(rows);
    }
    out
}

/// Asserts two dumps are equal, naming the first rows that differ.
pub fn assert_same_dump(a: &[String], b: &[String], what: &str) {
    if a == b {
        return;
    }
    let (sa, sb): (std::collections::BTreeSet<_>, std::collections::BTreeSet<_>) =
        (a.iter().collect(), b.iter().collect());
    let only_a: Vec<_> = sa.difference(&sb).take(5).collect();
    let only_b: Vec<_> = sb.difference(&sa).take(5).collect();
    panic!(
        "{what}: {} vs {} rows; only in the first: {only_a:#?}; only in the second: {only_b:#?}",
        a.len(),
        b.len()
    );
}

/// The schema of a cache file: every table, index and trigger as SQLite
/// keeps it (`sqlite_master`), sorted.
fn schema(c: &rusqlite::Connection) -> Vec<(String, String, Option<String>)> {
    c.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        .expect("schema")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("schema")
        .collect::<rusqlite::Result<_>>()
        .expect("schema")
}

/// (product id, used, remaining) of a pool (0 = unassigned).
pub type Pool = (i64, i64, i64);

/// (pool counters as kept, as a recount of the codes), without empty pools.
pub fn pool_counts(path: &std::path::Path) -> (Vec<Pool>, Vec<Pool>) {
    let c = rusqlite::Connection::open(path).expect("open");
    let q = |sql: &str| -> Vec<Pool> {
        c.prepare(sql)
            .expect("pools")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("pools")
            .collect::<rusqlite::Result<_>>()
            .expect("pools")
    };
    (
        q(
            "SELECT product_id, used, remaining FROM pool_counts WHERE used + remaining > 0 ORDER BY 1",
        ),
        q(
            "SELECT IFNULL(product_id, 0), SUM(consumed_at != ''), SUM(consumed_at = '') FROM codes GROUP BY 1 ORDER BY 1",
        ),
    )
}

/// After a bulk load (a fresh cache's snapshot): the schema is exactly a
/// freshly migrated cache's (every index and trigger back, none deferred),
/// and the pool counters equal a recount of the codes.
pub fn assert_whole(path: &std::path::Path) {
    let fresh_dir = tempfile::tempdir().expect("dir");
    let fresh = fresh_dir.path().join("fresh.sqlite3");
    drop(Cache::open(&fresh).expect("fresh cache"));
    let c = rusqlite::Connection::open(path).expect("open");
    assert_eq!(
        schema(&c),
        schema(&rusqlite::Connection::open(&fresh).expect("open")),
        "the schema of a fresh cache"
    );
    let deferred: i64 = c
        .query_row("SELECT COUNT(*) FROM deferred_schema", [], |r| r.get(0))
        .expect("deferred");
    assert_eq!(deferred, 0, "nothing left deferred");
    let (kept, counted) = pool_counts(path);
    assert!(!kept.is_empty());
    assert_eq!(kept, counted, "pool counters = a recount of the codes");
}
