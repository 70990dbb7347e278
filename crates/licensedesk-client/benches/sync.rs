//! `cargo bench -p licensedesk-client --bench sync` (or `cargo xtask bench
//! sync`): prints, in one run,
//! 1. the initial sync of 1,000,000 consumption records (a child `ld-sync`
//!    process, so its peak memory is its own; a fresh cache, so the
//!    server's snapshot of the codes and devices, then the feed from its
//!    pin) next to a raw rusqlite bulk insert of the same rows into the
//!    same cache schema, and their ratio;
//! 2. an incremental sync of 1,000 changes on that cache;
//! 3. the License Management query (filter + sort + page) p50 / p95;
//! 4. the sync's peak memory (VmHWM).
//!
//! The server's database is seeded directly in SQL (its own schema), with
//! the change rows the server itself would have written.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use licensedesk_client::{ApiToken, Cache, LicenseQuery, LicenseSort, ManualClock, Session};
use licensedesk_server::clock::TestClock;
use licensedesk_server::config::Settings;
use licensedesk_server::{AppState, build_app, serve};
use rusqlite::params;
use serde_json::json;

const N: i64 = 1_000_000;
const ADMIN: &str = "bench-admin";

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

fn seed(state: &AppState, account: i64, product: i64, now: DateTime<Utc>) {
    let batch: i64 = state
        .store
        .sqlite_db()
        .expect("a SQLite store")
        .write_sync(move |tx| {
            Ok(tx.query_row(
                "INSERT INTO batches (account_id, product_id, kind, quantity, created_at) VALUES (?1, ?2, 'purchase', ?3, ?4) RETURNING id",
                params![account, product, N, ts(now)],
                |r| r.get(0),
            )?)
        })
        .expect("batch");
    for chunk in 0..(N / 100_000) {
        state
            .store
            .sqlite_db()
            .expect("a SQLite store")
            .write_sync(move |tx| {
                let mut dev = tx.prepare("INSERT INTO devices (account_id, product_id, dk, status, online, activated_at, expires_at, created_at, updated_at) VALUES (?1, ?2, ?3, 'active', 1, ?4, ?5, ?4, ?4) RETURNING id")?;
                let mut code = tx.prepare("INSERT INTO codes (account_id, batch_id, product_id, code, device_id, consumed_at, expires_at, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1) RETURNING id")?;
                let mut ch = tx.prepare("INSERT INTO changes (account_id, entity, entity_id, op, at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
                for i in chunk * 100_000..(chunk + 1) * 100_000 {
                    let (c, dk, con, exp) = row(i, now);
                    let d: i64 = dev.query_row(params![account, product, dk, con, exp], |r| r.get(0))?;
                    let id: i64 = code.query_row(params![account, batch, product, c, d, con, exp], |r| r.get(0))?;
                    ch.execute(params![account, "code", id, "insert", con, json!({"id": id, "code": c, "batch_id": batch, "product_id": product}).to_string()])?;
                    ch.execute(params![account, "device", d, "insert", con, json!({"id": d, "pk": "pbench", "dk": dk, "hardware_id": null, "status": "active", "online": true, "offline_reason": null, "activated_at": con, "expires_at": exp}).to_string()])?;
                    ch.execute(params![account, "code", id, "update", con, json!({"id": id, "code": c, "device_id": d, "dk": dk, "pk": "pbench", "consumed_at": con, "expires_at": exp}).to_string()])?;
                }
                Ok(())
            })
            .expect("seed chunk");
    }
}

/// The same 1M consumption rows straight into a fresh cache, one
/// transaction, on a connection with the cache's own settings (WAL,
/// `synchronous=NORMAL`, statement journals in memory): the sync is compared
/// with the fastest plain insert of its rows, not with a slower default.
fn raw_insert(dir: &std::path::Path, now: DateTime<Utc>) -> Duration {
    let cache = Cache::open(&dir.join("raw.sqlite3")).expect("cache");
    drop(cache);
    let mut c = licensedesk_client::cache::open_connection(&dir.join("raw.sqlite3")).expect("open");
    let t = Instant::now();
    let tx = c.transaction().expect("tx");
    {
        let mut dev = tx.prepare("INSERT INTO devices (id, pk, dk, status, online, activated_at, expires_at, code_id) VALUES (?1, 'pbench', ?2, 'active', 1, ?3, ?4, ?1)").expect("p");
        let mut code = tx.prepare("INSERT INTO codes (id, code, batch_id, product_id, device_id, consumed_at, expires_at) VALUES (?1, ?2, 1, 1, ?1, ?3, ?4)").expect("p");
        for i in 0..N {
            let (cd, dk, con, exp) = row(i, now);
            dev.execute(params![i + 1, dk, con, exp]).expect("dev");
            code.execute(params![i + 1, cd, con, exp]).expect("code");
        }
    }
    tx.commit().expect("commit");
    t.elapsed()
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
    http.post(format!("{base}/v1/products"))
        .bearer_auth(&token)
        .json(&json!({"pk": "pbench", "name": "Bench", "package": pkg}))
        .send()
        .await
        .expect("product");
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
    tokio::task::spawn_blocking(move || seed(&st, account, product, now))
        .await
        .expect("seed");
    println!(
        "seeded server with {N} consumption records (3 changes each) in {:.1?}",
        t.elapsed()
    );

    let cache_path = dir.path().join("cache.sqlite3");
    let bin = env!("CARGO_BIN_EXE_ld-sync");
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
    let raw = raw_insert(dir.path(), now);
    println!(
        "initial sync: snapshot of {} code and device rows + {} other changes, {} pages, {:.2?} ({:.0} records/s)",
        v["report"]["snapshot_rows"],
        v["report"]["changes_fetched"],
        v["report"]["pages"],
        sync_time,
        N as f64 / sync_time.as_secs_f64()
    );
    println!("raw rusqlite bulk insert of the same {N} rows: {raw:.2?}");
    println!(
        "ratio raw/sync = {:.2} (goal >= 0.5)",
        raw.as_secs_f64() / sync_time.as_secs_f64()
    );
    println!(
        "peak memory of the sync process (VmHWM): {} MiB",
        v["vm_hwm_kb"].as_u64().unwrap_or(0) / 1024
    );

    // 1,000 server-side changes, then an incremental sync.
    state
        .store
        .sqlite_db()
        .expect("a SQLite store")
        .write_sync(move |tx| {
        for i in 0..1000 {
            let (_, dk, con, exp) = row(i, now);
            tx.execute("INSERT INTO changes (account_id, entity, entity_id, op, at, data) VALUES (?1, 'device', ?2, 'update', ?3, ?4)",
                params![account, i + 1, con, json!({"id": i + 1, "pk": "pbench", "dk": dk, "hardware_id": null, "status": "active", "online": false, "offline_reason": null, "activated_at": con, "expires_at": exp}).to_string()])?;
        }
        Ok(())
    }).expect("changes");
    let clock = Arc::new(ManualClock::new(now));
    let s = Session::new(
        Cache::open(&cache_path).expect("cache"),
        &base,
        ApiToken::new(token.as_str()),
        clock,
    )
    .expect("session");
    let t = Instant::now();
    let inc = s
        .sync(&|_| {}, &Default::default())
        .await
        .expect("incremental");
    println!(
        "incremental sync: {} feed changes in {:.2?}",
        inc.changes_fetched,
        t.elapsed()
    );

    // License Management: filter + sort + keyset page, first and deeper pages.
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
}
