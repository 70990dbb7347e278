//! `ld-sync` run as a child process and killed with SIGKILL at random points
//! (seeded): the cache resumes to the same final state as an uninterrupted
//! sync, every change applied exactly once, and queued outbox items reach
//! the server exactly once.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use licensedesk_client::{ApiToken, Cache, OutboxAction, Session, SystemClock};
use rusqlite::Connection;

use crate::support::{ENT, TestServer, session, sync};

const BIN: &str = env!("CARGO_BIN_EXE_ld-sync");
const CYCLES: usize = 24;

/// xorshift64*: the kill delays are reproducible from the seed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn dump(path: &Path) -> Vec<String> {
    let c = Connection::open(path).expect("open");
    let mut out = Vec::new();
    for (table, order) in [
        ("account", "id"),
        ("products", "id"),
        ("batches", "id"),
        ("devices", "id"),
        ("codes", "id"),
        ("usage_now", "device_id"),
        ("usage_days", "device_id, day_end"),
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

fn meta(path: &Path, key: &str) -> Option<String> {
    let c = Connection::open(path).expect("open");
    c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .ok()
}

/// How a child sync run is stopped.
#[derive(Clone, Copy)]
enum Stop {
    /// Let it finish (it must succeed).
    Finish,
    /// SIGKILL after a random delay.
    After(Duration),
    /// SIGKILL right after it reports its n-th applied page.
    AfterPages(usize),
}

/// Runs `ld-sync` once; returns whether it was cut short (killed before it
/// printed its final report).
async fn run_child(base: &str, token: &str, cache: &Path, stop: Stop) -> bool {
    let mut child = Command::new(BIN)
        .args([base, token, cache.to_str().expect("utf-8"), "25"])
        .stdout(Stdio::piped())
        .stderr(match stop {
            Stop::AfterPages(_) => Stdio::piped(),
            _ => Stdio::null(),
        })
        .spawn()
        .expect("spawn ld-sync");
    match stop {
        Stop::After(d) => tokio::time::sleep(d).await, // a random kill point, not synchronisation
        Stop::AfterPages(n) => {
            let stderr = child.stderr.take().expect("stderr");
            tokio::task::spawn_blocking(move || {
                // One progress line per applied page; stop reading at the n-th.
                BufReader::new(stderr).lines().take(n).for_each(drop);
            })
            .await
            .expect("join");
        }
        Stop::Finish => {}
    }
    tokio::task::spawn_blocking(move || {
        if !matches!(stop, Stop::Finish) {
            let _ = child.kill(); // SIGKILL
        }
        let out = child.wait_with_output().expect("wait");
        let finished = !out.stdout.is_empty();
        if matches!(stop, Stop::Finish) {
            assert!(
                out.status.success() && finished,
                "ld-sync failed: {}",
                out.status
            );
        }
        !finished
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_at_random_points_resumes_to_the_same_state_exactly_once() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let cache_path = dir.path().join("killed.sqlite3");
    let mut rng = Rng(0x5eed_c0ff_ee00_1234);
    let mut killed_mid_run = 0;
    for cycle in 0..CYCLES {
        // Keep the feed growing so that every run has work to be killed in.
        for i in 0..3 {
            let (st, _) = server
                .connect(ENT, "pcc0002", &format!("crash-{cycle}-{i}"))
                .await;
            assert_eq!(st, 200);
        }
        // Killed right after a random page (1–6) of this run was applied:
        // the kill lands while the next page is fetched or applied.
        let pages = 1 + usize::try_from(rng.below(6)).expect("small");
        killed_mid_run +=
            usize::from(run_child(&server.base, ENT, &cache_path, Stop::AfterPages(pages)).await);
    }
    eprintln!("killed mid-run: {killed_mid_run}/{CYCLES}");
    assert!(!run_child(&server.base, ENT, &cache_path, Stop::Finish).await);
    assert!(
        killed_mid_run >= CYCLES / 2,
        "only {killed_mid_run} kills landed mid-run"
    );

    // Exactly once: every change.
    let total = server.changes_after(ENT, "").await;
    assert_eq!(
        meta(&cache_path, "sync.changes_seen"),
        Some(total.to_string()),
        "no change applied twice"
    );

    // Same final state as an uninterrupted sync.
    let ref_dir = tempfile::tempdir().expect("dir");
    let (reference, _) = session(&server, ref_dir.path(), ENT);
    sync(&reference).await;
    let (a, b) = (dump(&cache_path), dump(reference.cache().path()));
    assert_eq!(a.len(), b.len());
    assert!(
        a == b,
        "killed-and-resumed cache differs from the reference"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_items_survive_kill_9_and_reach_the_server_exactly_once() {
    let server = TestServer::start().await;
    let (account, token) = server.account("enterprise", "us-west").await;
    server.product(account, &token, "pkill1", 0).await;
    let dir = tempfile::tempdir().expect("dir");
    let cache_path = dir.path().join("outbox.sqlite3");
    let queue = |n: usize| {
        let cache = Cache::open(&cache_path).expect("cache");
        let s = Session::new(
            cache,
            &server.base,
            ApiToken::new(token.as_str()),
            std::sync::Arc::new(SystemClock),
        )
        .expect("session");
        for _ in 0..n {
            s.enqueue(&OutboxAction::AssignCodes {
                pk: "pkill1".into(),
                count: 1,
            })
            .expect("queue");
        }
    };
    let mut rng = Rng(0x0b0c_5eed_0000_0042);
    // 10 free codes: one queued assignment per cycle for 10 cycles, each
    // run killed a few ms in (during its POSTs); then more kills.
    for cycle in 0..CYCLES {
        if cycle < 10 {
            queue(1);
        }
        let delay = Duration::from_millis(rng.below(40));
        run_child(&server.base, &token, &cache_path, Stop::After(delay)).await;
    }
    assert!(!run_child(&server.base, &token, &cache_path, Stop::Finish).await);
    let card = server.get("/v1/products/pkill1", &token).await;
    assert_eq!(
        card["total"], 10,
        "10 queued assignments of 1 code, each applied once: {card}"
    );
    let cache = Cache::open(&cache_path).expect("cache");
    let items = licensedesk_client::Outbox::new(cache).all().expect("items");
    assert_eq!(items.len(), 10, "no item lost");
    assert!(items.iter().all(|i| i.state == "done"), "{items:?}");
}
