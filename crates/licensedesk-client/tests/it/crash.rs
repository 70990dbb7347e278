//! `ld-sync` run as a child process and killed with SIGKILL at random points
//! (seeded), in the snapshot and in the feed after it: the cache resumes to
//! the same final state as an uninterrupted sync, every snapshot row and
//! every change applied exactly once, and queued outbox items reach the
//! server exactly once.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use licensedesk_client::{ApiToken, Cache, OutboxAction, Session, SystemClock};
use rusqlite::Connection;

use crate::support::{
    ADMIN, ENT, TestServer, assert_same_dump, assert_same_view, assert_whole, dump, pool_counts,
    session, sync,
};

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
        // Feed pages of 25 changes, snapshot pages of 250 rows: the demo
        // account's snapshot spans about 22 pages, so the first cycles are
        // killed in the snapshot and the later ones in the feed after it.
        .args([base, token, cache.to_str().expect("utf-8"), "25", "250"])
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
    let account = server.account_id(ENT).await;
    let package = server.get_json("/v1/products/pcc0002", ENT).await["package"].clone();
    let dir = tempfile::tempdir().expect("dir");
    let cache_path = dir.path().join("killed.sqlite3");
    let mut rng = Rng(0x5eed_c0ff_ee00_1234);
    let (mut killed_mid_run, mut in_snapshot, mut in_feed) = (0, 0, 0);
    // Codes and devices on the server during the run that finished the
    // snapshot: exactly the rows its pages held.
    let mut snapshot_held: Option<(i64, i64)> = None;
    let snapshot_done = |p: &Path| {
        meta(p, "sync.snapshot_upto").is_some() && meta(p, "sync.snapshot_cursor").is_none()
    };
    for cycle in 0..CYCLES {
        // Keep the server changing so that every run has work to be killed
        // in: devices connect (also between snapshot pages); once the
        // snapshot is done, a batch of codes too (six feed pages).
        for i in 0..3 {
            let (st, _) = server
                .connect(ENT, "pcc0002", &format!("crash-{cycle}-{i}"))
                .await;
            assert_eq!(st, 200);
        }
        if snapshot_done(&cache_path) {
            server
                .post_ok(
                    "/v1/admin/batches",
                    ADMIN,
                    serde_json::json!({"account_id": account, "pk": "pcc0002", "count": 150, "package": package}),
                )
                .await;
        }
        let rows = server.snapshot_counts(ENT).await;
        let was_done = snapshot_done(&cache_path);
        // Killed right after a random progress line (1–6) of this run: the
        // kill lands while the next page is fetched or applied.
        let pages = 1 + usize::try_from(rng.below(6)).expect("small");
        let cut = run_child(&server.base, ENT, &cache_path, Stop::AfterPages(pages)).await;
        killed_mid_run += usize::from(cut);
        if snapshot_done(&cache_path) {
            if !was_done {
                snapshot_held = Some((rows.1, rows.2));
            }
            in_feed += usize::from(cut && was_done);
        } else {
            in_snapshot += usize::from(cut);
        }
    }
    eprintln!(
        "killed mid-run: {killed_mid_run}/{CYCLES} ({in_snapshot} in the snapshot, {in_feed} in the feed)"
    );
    let rows = server.snapshot_counts(ENT).await;
    assert!(!run_child(&server.base, ENT, &cache_path, Stop::Finish).await);
    let (codes, devices) = snapshot_held.unwrap_or((rows.1, rows.2));
    assert!(
        killed_mid_run >= CYCLES / 2,
        "only {killed_mid_run} kills landed mid-run"
    );
    assert!(in_snapshot >= 5, "only {in_snapshot} kills in the snapshot");
    assert!(in_feed >= 5, "only {in_feed} kills in the feed");

    // Exactly once: every snapshot row, and every change (of the feed up to
    // the snapshot's pin only the rest: codes and devices came as rows).
    assert_eq!(
        meta(&cache_path, "sync.snapshot_rows"),
        Some((codes + devices).to_string()),
        "no snapshot row applied twice"
    );
    let upto = meta(&cache_path, "sync.snapshot_upto").expect("upto");
    let rest = rest_changes_upto(&server, account, &upto).await;
    let after = server.changes_after(ENT, &upto).await;
    assert_eq!(
        meta(&cache_path, "sync.changes_seen"),
        Some((rest + after).to_string()),
        "no change applied twice"
    );

    // Same final state as an uninterrupted sync.
    let ref_dir = tempfile::tempdir().expect("dir");
    let (reference, _) = session(&server, ref_dir.path(), ENT);
    sync(&reference).await;
    assert_same_dump(
        &dump(&cache_path),
        &dump(reference.cache().path()),
        "killed-and-resumed cache vs the reference",
    );
    assert_whole(&cache_path);
}

/// How many objects of the schema a bulk load has deferred (0 = whole).
fn deferred(path: &Path) -> i64 {
    let c = Connection::open(path).expect("open");
    c.query_row("SELECT COUNT(*) FROM deferred_schema", [], |r| r.get(0))
        .expect("deferred")
}

/// A fresh cache's first sync loads the snapshot in bulk (bare tables, the
/// indexes and triggers built when the rows are in). Killed with SIGKILL
/// after each of its pages in turn, up to and in its last one (where the
/// indexes are built, in the transaction that ends the snapshot), then
/// resumed: at every kill the pool counters equal a recount of the codes,
/// and the resumed cache has the server's counts, cards and rows, and a
/// whole schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_killed_during_its_bulk_load_resumes_to_the_servers_counts() {
    let server = TestServer::demo().await;
    let (rest, codes, devices) = server.snapshot_counts(ENT).await;
    // Snapshot pages of 250 rows (ld-sync's second page-size argument).
    let pages = usize::try_from((rest + codes + devices + 249) / 250).expect("pages");
    assert!(pages >= 10, "{pages} snapshot pages");
    let (mut mid_bulk, mut in_last_page) = (0, 0);
    let kill_points = (1..pages)
        .step_by(3)
        .chain([pages - 1, pages - 1, pages - 1]);
    for (i, after) in kill_points.enumerate() {
        let dir = tempfile::tempdir().expect("dir");
        let cache_path = dir.path().join("bulk.sqlite3");
        // Killed right after its `after`-th page: while the next one is
        // fetched or applied.
        let cut = run_child(&server.base, ENT, &cache_path, Stop::AfterPages(after)).await;
        let (kept, counted) = pool_counts(&cache_path);
        assert_eq!(kept, counted, "kill {i} after page {after}: counters exact");
        if cut && deferred(&cache_path) > 0 {
            mid_bulk += 1;
            in_last_page += usize::from(after == pages - 1);
        }
        assert!(!run_child(&server.base, ENT, &cache_path, Stop::Finish).await);
        assert_whole(&cache_path);
        let s = Session::new(
            Cache::open(&cache_path).expect("cache"),
            &server.base,
            ApiToken::new(ENT),
            std::sync::Arc::new(licensedesk_client::ManualClock::new(server.now())),
        )
        .expect("session");
        assert_same_view(&server, &s, ENT).await;
    }
    eprintln!("killed in the bulk load: {mid_bulk} times, {in_last_page} in its last page");
    assert!(mid_bulk >= 5, "only {mid_bulk} kills in the bulk load");
    assert!(in_last_page >= 1, "no kill in the last page");
}

/// The account's changes up to `upto` (a feed cursor) about neither a code
/// nor a device.
async fn rest_changes_upto(server: &TestServer, account: i64, upto: &str) -> i64 {
    let upto = crate::support::cursor_seq(upto);
    assert!(upto > 0, "cursor {upto}");
    server
        .state
        .store
        .sqlite_db()
        .expect("a SQLite store")
        .read(move |c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM changes WHERE account_id = ?1 AND seq <= ?2 AND entity != 'code' AND entity != 'device'",
                [account, upto],
                |r| r.get(0),
            )?)
        })
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_items_survive_kill_9_and_reach_the_server_exactly_once() {
    let server = TestServer::start().await;
    let (account, token) = server.account("enterprise", "us-west").await;
    server.product(account, "pkill1", 0).await;
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
    let card = server.get_json("/v1/products/pkill1", &token).await;
    assert_eq!(
        card["total"], 10,
        "10 queued assignments of 1 code, each applied once: {card}"
    );
    let cache = Cache::open(&cache_path).expect("cache");
    let items = licensedesk_client::Outbox::new(cache).all().expect("items");
    assert_eq!(items.len(), 10, "no item lost");
    assert!(items.iter().all(|i| i.state == "done"), "{items:?}");
}
