//! `cargo bench -p licensedesk-client --bench sync` (or `cargo xtask bench
//! sync`): prints, in one run,
//! 1. the first sync of 1,000,000 consumption records (a child `ld-sync`
//!    process, so its peak memory is its own; a fresh cache, so the
//!    server's snapshot of the codes and devices loaded in bulk, then the
//!    feed from its pin), three times (the median), its peak memory
//!    (VmHWM), and its pool counters against a recount, with the machine's
//!    load averages before and after;
//! 2. next to it, the same 2,000,000 code and device rows inserted in one
//!    transaction into BARE tables (the cache's columns, no secondary index,
//!    no trigger: what SQLite can do here at best) and into the cache's full
//!    schema (indexes and counters kept row by row), and the ratios;
//! 3. incremental syncs of one change and of 1,000 changes on that cache
//!    (medians), and their ratio: the change feed alone, and with the
//!    request for the account details that ends every sync;
//! 4. the License Management query (filter + sort + page) p50 / p95, and
//!    the virtualized table's window at row 900,000 and the count of its
//!    filtered set.
//!
//! The server's database is seeded directly in SQL (its own schema), with
//! the change rows the server itself would have written.
//! `LD_BENCH_RECORDS=N` runs it on N records instead (a quick look);
//! `LD_BENCH_SERVE_ONLY=1` seeds the server, prints its URL and the
//! account's token, and serves until killed (to profile `ld-sync` by hand).

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use licensedesk_client::{
    ApiToken, Cache, LicenseQuery, LicenseSort, ManualClock, NearExpiryQuery, Session,
};
use licensedesk_server::clock::TestClock;
use licensedesk_server::config::Settings;
use licensedesk_server::{AppState, build_app, serve};
use rusqlite::params;
use serde_json::json;

const ADMIN: &str = "bench-admin";
/// First syncs (and bare inserts) measured: the median is printed.
const RUNS: usize = 3;

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("t")
        .with_timezone(&Utc)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// (code, dk, consumed_at, expires_at) of row `i`.
fn row(i: i64, now: DateTime<Utc>) -> (String, String, String, String) {
    let consumed = now - chrono::Duration::seconds(60 + (i * 63) % (730 * 86_400));
    let expires = consumed + chrono::Duration::days(730);
    (
        format!("BENCH-{i:09}"),
        format!("dev-{i:07}"),
        ts(consumed),
        ts(expires),
    )
}

fn seed(state: &AppState, account: i64, product: i64, n: i64, now: DateTime<Utc>) {
    let batch: i64 = state
        .store
        .sqlite_db()
        .expect("a SQLite store")
        .write_sync(move |tx| {
            Ok(tx.query_row(
                "INSERT INTO batches (account_id, product_id, kind, quantity, created_at) VALUES (?1, ?2, 'purchase', ?3, ?4) RETURNING id",
                params![account, product, n, ts(now)],
                |r| r.get(0),
            )?)
        })
        .expect("batch");
    let chunk_size = n.min(100_000);
    for chunk in 0..(n + chunk_size - 1) / chunk_size {
        state
            .store
            .sqlite_db()
            .expect("a SQLite store")
            .write_sync(move |tx| {
                let mut dev = tx.prepare("INSERT INTO devices (account_id, product_id, dk, status, online, activated_at, expires_at, created_at, updated_at) VALUES (?1, ?2, ?3, 'active', 1, ?4, ?5, ?4, ?4) RETURNING id")?;
                let mut code = tx.prepare("INSERT INTO codes (account_id, batch_id, product_id, code, device_id, consumed_at, expires_at, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1) RETURNING id")?;
                let mut ch = tx.prepare("INSERT INTO changes (account_id, entity, entity_id, op, at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
                for i in chunk * chunk_size..((chunk + 1) * chunk_size).min(n) {
                    let (c, dk, con, exp) = row(i, now);
                    let d: i64 = dev.query_row(params![account, product, dk, con, exp], |r| r.get(0))?;
                    let id: i64 = code.query_row(params![account, batch, product, c, d, con, exp], |r| r.get(0))?;
                    ch.execute(params![account, "code", id, "insert", con, json!({"id": id, "code": c, "batch_id": batch, "product_id": product}).to_string()])?;
                    ch.execute(params![account, "device", d, "insert", con, json!({"id": d, "pk": "pbench", "dk": dk, "hardware_id": null, "status": "active", "online": true, "offline_reason": null, "activated_at": con, "expires_at": exp}).to_string()])?;
                    ch.execute(params![account, "code", id, "update", con, json!({"id": id, "code": c, "device_id": d, "dk": dk, "pk": "pbench", "consumed_at": con, "expires_at": exp}).to_string()])?;
                }
                // The server keeps each pool's counts beside its codes.
                let used = ((chunk + 1) * chunk_size).min(n) - chunk * chunk_size;
                tx.execute(
                    "INSERT INTO pool_counts (product_id, used, remaining) VALUES (?1, ?2, 0)
                     ON CONFLICT (product_id) DO UPDATE SET used = pool_counts.used + ?2",
                    params![product, used],
                )?;
                Ok(())
            })
            .expect("seed chunk");
    }
}

/// A fresh cache file of the current schema, on a connection with the
/// cache's own settings (WAL, `synchronous=NORMAL`, statement journals in
/// memory): the sync is compared with plain inserts of its rows on the same
/// terms, not with a slower default. `bare` drops the secondary indexes and
/// triggers of `codes` and `devices` (the same columns, the rowid only).
fn fresh_cache(path: &std::path::Path, bare: bool) -> rusqlite::Connection {
    drop(Cache::open(path).expect("cache"));
    let c = licensedesk_client::cache::open_connection(path).expect("open");
    if bare {
        let objects: Vec<(String, String)> = c
            .prepare("SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name IN ('codes', 'devices') AND sql IS NOT NULL")
            .expect("schema")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("schema")
            .collect::<rusqlite::Result<_>>()
            .expect("schema");
        for (kind, name) in objects {
            c.execute_batch(&format!("DROP {kind} {name}"))
                .expect("drop");
        }
    }
    c
}

/// The sync's 1M codes then 1M devices inserted into `c` in ONE
/// transaction with prepared statements.
fn insert_rows(mut c: rusqlite::Connection, n: i64, now: DateTime<Utc>) -> Duration {
    let t = Instant::now();
    let tx = c.transaction().expect("tx");
    {
        let mut code = tx.prepare("INSERT INTO codes (id, code, batch_id, product_id, device_id, consumed_at, expires_at) VALUES (?1, ?2, 1, 1, ?1, ?3, ?4)").expect("p");
        for i in 0..n {
            let (cd, _, con, exp) = row(i, now);
            code.execute(params![i + 1, cd, con, exp]).expect("code");
        }
        let mut dev = tx.prepare("INSERT INTO devices (id, pk, dk, status, online, activated_at, expires_at, code_id) VALUES (?1, 'pbench', ?2, 'active', 1, ?3, ?4, ?1)").expect("p");
        for i in 0..n {
            let (_, dk, con, exp) = row(i, now);
            dev.execute(params![i + 1, dk, con, exp]).expect("dev");
        }
    }
    tx.commit().expect("commit");
    t.elapsed()
}

/// (product id, used, remaining) of a pool (0 = unassigned).
type Pool = (i64, i64, i64);

/// (pool counters as kept, as a recount of the codes) of a cache.
fn pools(path: &std::path::Path) -> (Vec<Pool>, Vec<Pool>) {
    let c = rusqlite::Connection::open(path).expect("open");
    let q = |sql: &str| -> Vec<Pool> {
        c.prepare(sql)
            .expect("q")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("q")
            .collect::<rusqlite::Result<_>>()
            .expect("q")
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

fn median(v: &mut [Duration]) -> Duration {
    pct(v, 0.5)
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(run());
}

async fn run() {
    let n: i64 = std::env::var("LD_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("dir");
    let now = at("2026-03-31T10:00:00Z");
    let state = AppState::open(
        &dir.path().join("server"),
        Arc::new(TestClock::new(now)),
        Settings::default(),
        ADMIN,
    )
    .expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(serve(
        listener,
        build_app(state.clone()),
        std::future::pending(),
    ));
    let http = reqwest::Client::new();
    let acc: serde_json::Value = http
        .post(format!("{base}/v1/admin/accounts"))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "Bench", "kind": "enterprise", "data_center": "cn-east"}))
        .send()
        .await
        .expect("acc")
        .json()
        .await
        .expect("json");
    let token = acc["token"].as_str().expect("token").to_owned();
    let account = acc["id"].as_i64().expect("id");
    let pkg = json!({"validity": {"years": 2}, "messages_per_day": 100, "ota_per_month": 1, "ota_cap_mb": 5, "storage_days": 7});
    // The vendor sets the product up with its package (an account may not).
    let r = http
        .post(format!("{base}/v1/admin/products"))
        .bearer_auth(ADMIN)
        .json(&json!({"account_id": account, "pk": "pbench", "name": "Bench", "package": pkg}))
        .send()
        .await
        .expect("product");
    assert!(r.status().is_success(), "product: {}", r.status());
    let product: i64 = state
        .store
        .sqlite_db()
        .expect("a SQLite store")
        .read(|c| {
            Ok(
                c.query_row("SELECT id FROM products WHERE pk = 'pbench'", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
        .expect("pid");
    let t = Instant::now();
    let st = state.clone();
    tokio::task::spawn_blocking(move || seed(&st, account, product, n, now))
        .await
        .expect("seed");
    println!(
        "seeded server with {n} consumption records (3 changes each) in {:.1?}",
        t.elapsed()
    );
    // The seed's WAL copied into the server's file before anything is
    // measured: otherwise the server's checkpointer is still copying it
    // (about 1.5 GB) while the first sync runs.
    let t = Instant::now();
    let server_db = rusqlite::Connection::open(
        dir.path()
            .join("server")
            .join(licensedesk_server::db::FILE_NAME),
    )
    .expect("server db");
    server_db
        .busy_timeout(Duration::from_secs(120))
        .expect("busy timeout");
    // Busy at once while the server's checkpointer runs: again until done.
    let (busy, log, copied) = loop {
        let got: (i64, i64, i64) = server_db
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .expect("checkpoint");
        if got.0 == 0 || t.elapsed() > Duration::from_secs(120) {
            break got;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(server_db);
    println!(
        "  its WAL copied into its file in {:.1?} (busy {busy}, frames {log}, copied {copied})",
        t.elapsed()
    );

    let overview: serde_json::Value = http
        .get(format!("{base}/v1/account"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("account")
        .json()
        .await
        .expect("json");
    assert_eq!(
        overview["used"],
        json!(n),
        "the server's kept counts: {overview}"
    );

    if std::env::var("LD_BENCH_SERVE_ONLY").is_ok() {
        println!("SERVE {base} {token}");
        std::future::pending::<()>().await;
    }
    // 1. The first sync, in a process of its own, RUNS times on a fresh
    // cache (the machine is shared: the median, and the load beside it).
    println!("load average before: {}", load_average());
    let bin = env!("CARGO_BIN_EXE_ld-sync");
    let mut syncs = Vec::new();
    let mut cache_path = dir.path().join("cache-0.sqlite3");
    for run in 0..RUNS {
        if run > 0 {
            for ext in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", cache_path.display()));
            }
            cache_path = dir.path().join(format!("cache-{run}.sqlite3"));
        }
        let t = Instant::now();
        let out = Command::new(bin)
            .args([&base, &token, cache_path.to_str().expect("utf8")])
            .output()
            .expect("ld-sync");
        let sync_time = t.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
        println!(
            "first sync {}: snapshot of {} code and device rows + {} other changes, {} pages: {sync_time:.2?}, peak memory (VmHWM) {} MiB",
            run + 1,
            v["report"]["snapshot_rows"],
            v["report"]["changes_fetched"],
            v["report"]["pages"],
            v["vm_hwm_kb"].as_u64().unwrap_or(0) / 1024
        );
        syncs.push((sync_time, v["vm_hwm_kb"].as_u64().unwrap_or(0) / 1024));
    }
    let sync_time = median(&mut syncs.iter().map(|s| s.0).collect::<Vec<_>>());
    let peak = syncs.iter().map(|s| s.1).max().unwrap_or(0);
    println!(
        "first sync, median of {RUNS}: {sync_time:.2?} ({:.0} records/s; goal for 1M records <= 8 s); peak memory at most {peak} MiB (goal <= 100 MiB)",
        n as f64 / sync_time.as_secs_f64()
    );
    let (kept, counted) = pools(&cache_path);
    println!(
        "  pool counters after the bulk load {} a recount of the codes: {kept:?}",
        if kept == counted {
            "equal"
        } else {
            "DIFFER FROM"
        }
    );

    // 2. The same rows, inserted straight (bare: median of RUNS).
    let mut bares = (0..RUNS)
        .map(|k| {
            let path = dir.path().join(format!("bare-{k}.sqlite3"));
            let t = insert_rows(fresh_cache(&path, true), n, now);
            let _ = std::fs::remove_file(&path);
            t
        })
        .collect::<Vec<_>>();
    let bare = median(&mut bares);
    let full = insert_rows(fresh_cache(&dir.path().join("full.sqlite3"), false), n, now);
    println!(
        "insert of the same {} rows in one transaction: bare tables (no index, no trigger) {bare:.2?} (median of {RUNS}), the cache's schema {full:.2?}",
        2 * n
    );
    println!(
        "  ratio bare insert / first sync = {:.2} (goal >= 0.3); schema insert / first sync = {:.2}",
        bare.as_secs_f64() / sync_time.as_secs_f64(),
        full.as_secs_f64() / sync_time.as_secs_f64()
    );
    println!("load average after: {}", load_average());

    // 3. Incremental syncs: server-side device changes, then a sync.
    let clock = Arc::new(ManualClock::new(now));
    let s = Session::new(
        Cache::open(&cache_path).expect("cache"),
        &base,
        ApiToken::new(token.as_str()),
        clock,
    )
    .expect("session");
    let mut next_device = 0;
    let mut incremental = |count: i64| {
        let first = next_device;
        next_device += count;
        let (state, s) = (state.clone(), s.clone());
        async move {
            state.store.sqlite_db().expect("a SQLite store").write_sync(move |tx| {
                for i in first..first + count {
                    let (_, dk, con, exp) = row(i % n, now);
                    tx.execute("INSERT INTO changes (account_id, entity, entity_id, op, at, data) VALUES (?1, 'device', ?2, 'update', ?3, ?4)",
                        params![account, i % n + 1, con, json!({"id": i % n + 1, "pk": "pbench", "dk": dk, "hardware_id": null, "status": "active", "online": i % 2 == 0, "offline_reason": null, "activated_at": con, "expires_at": exp}).to_string()])?;
                }
                Ok(())
            }).expect("changes");
            // The sync in its two halves: the feed, then the account
            // details the feed does not carry (one request).
            let engine = s.engine();
            let t = Instant::now();
            let report = engine
                .run(&|_| {}, &Default::default())
                .await
                .expect("incremental");
            let feed = t.elapsed();
            let t = Instant::now();
            engine.finish().await.expect("finish");
            assert_eq!(report.changes_fetched, count as u64);
            (feed, t.elapsed())
        }
    };
    let (mut one, mut thousand) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        one.push(incremental(1).await);
        thousand.push(incremental(1000).await);
    }
    let feed = |v: &[(Duration, Duration)]| median(&mut v.iter().map(|p| p.0).collect::<Vec<_>>());
    let whole =
        |v: &[(Duration, Duration)]| median(&mut v.iter().map(|p| p.0 + p.1).collect::<Vec<_>>());
    let account = median(&mut one.iter().chain(&thousand).map(|p| p.1).collect::<Vec<_>>());
    println!(
        "incremental sync, the change feed (median of 5): 1 change {:.2?}, 1,000 changes {:.2?}: {:.1}x (goal <= 100x)",
        feed(&one),
        feed(&thousand),
        feed(&thousand).as_secs_f64() / feed(&one).as_secs_f64()
    );
    println!(
        "  with the account details after it (GET /v1/account, median {account:.2?}): 1 change {:.2?}, 1,000 changes {:.2?}: {:.1}x",
        whole(&one),
        whole(&thousand),
        whole(&thousand).as_secs_f64() / whole(&one).as_secs_f64()
    );

    // 4. License Management: filter + sort + keyset page, first and deeper pages.
    let mut times = Vec::new();
    for (status, sort, desc) in [
        ("active", LicenseSort::ExpiresAt, true),
        ("active", LicenseSort::ConsumedAt, false),
        ("expired", LicenseSort::ExpiresAt, false),
    ] {
        for _ in 0..20 {
            let mut q = LicenseQuery {
                pk: Some("pbench".into()),
                status: Some(status.into()),
                sort,
                desc,
                limit: Some(100),
                ..Default::default()
            };
            for _ in 0..5 {
                let t = Instant::now();
                let p = s.licenses(&q).expect("page");
                times.push(t.elapsed());
                match p.next_cursor {
                    Some(c) => q.cursor = Some(c),
                    None => break,
                }
            }
        }
    }
    println!(
        "License Management query (pk + status + sort + page of 100, {} runs): p50 {:.2?}, p95 {:.2?} (goal p95 <= 20 ms)",
        times.len(),
        pct(&mut times, 0.5),
        pct(&mut times, 0.95)
    );
    // The virtualized table: a window of 100 rows at 90% of the list, and
    // the length of the list (asked once per filter).
    let deep = (n * 9 / 10) as u64;
    for (what, status, sort, desc) in [
        (
            "all codes, by consumption (the default)",
            None,
            LicenseSort::ConsumedAt,
            true,
        ),
        ("all codes, by code", None, LicenseSort::Code, false),
        (
            "active codes, by expiry",
            Some("active"),
            LicenseSort::ExpiresAt,
            false,
        ),
    ] {
        let q = LicenseQuery {
            status: status.map(Into::into),
            sort,
            desc,
            limit: Some(100),
            ..Default::default()
        };
        let (mut window, mut count) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let t = Instant::now();
            let w = s.license_window(&q, deep, false).expect("window");
            window.push(t.elapsed());
            assert_eq!(w.rows.len(), 100.min(n as usize));
            let t = Instant::now();
            s.license_window(&q, 0, true).expect("count");
            count.push(t.elapsed());
        }
        println!(
            "License Management window of 100 at row {deep}, {what}: median {:.2?}; with the count of its set: median {:.2?}",
            median(&mut window),
            median(&mut count)
        );
    }
    // The near-expiry list, paged with its count (and each page's
    // replacement availability, which needs the window's every device).
    for days in [30, 90] {
        let mut times = Vec::new();
        let mut count = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let first = s
                .near_expiry(&NearExpiryQuery {
                    days: Some(days),
                    limit: Some(100),
                    ..Default::default()
                })
                .expect("near expiry");
            count = first.count;
            let deep = s
                .near_expiry(&NearExpiryQuery {
                    days: Some(days),
                    offset: Some(first.count * 9 / 10),
                    limit: Some(100),
                    ..Default::default()
                })
                .expect("near expiry");
            assert!(!deep.devices.is_empty() || first.count == 0);
            times.push(t.elapsed() / 2);
        }
        println!(
            "near-expiry list within {days} days ({count} devices): a page of 100 with the count, median {:.2?}",
            median(&mut times)
        );
    }
}
