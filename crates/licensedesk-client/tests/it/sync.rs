//! Full sync (a snapshot, then the feed) equals the server's view, also
//! when the server changes between snapshot pages; incremental sync
//! fetches only the changes; progress and cancellation.

use std::sync::Mutex;

use licensedesk_client::{CancelToken, Error, SyncPhase, SyncProgress};
use licensedesk_core::Coded;
use serde_json::json;

use crate::support::{
    ADMIN, ENT, TestServer, assert_same_dump, assert_same_view, assert_whole, client_licenses,
    dump, session, sync,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_equals_the_servers_view_of_the_demo_account() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&server, dir.path(), ENT);
    let seen = Mutex::new(Vec::<SyncProgress>::new());
    let report = s
        .sync(&|p| seen.lock().expect("lock").push(p), &CancelToken::new())
        .await
        .expect("sync");
    assert!(report.full, "first sync is the full one");
    assert!(
        !report.started_over,
        "a fresh cache starts, not over: {report:?}"
    );
    // A snapshot: each code and device once, of the feed only the rest.
    let (rest, codes, devices) = server.snapshot_counts(ENT).await;
    assert_eq!(report.snapshot_rows as i64, codes + devices);
    assert_eq!(report.changes_fetched as i64, rest);
    assert!(
        server.changes_after(ENT, "").await > codes + devices + rest,
        "the feed's history is much longer than the snapshot"
    );
    assert_same_view(&server, &s, ENT).await;
    assert_whole(s.cache().path());
    let seen = seen.into_inner().expect("lock");
    let snapshot: Vec<_> = seen
        .iter()
        .filter(|p| p.phase == SyncPhase::Snapshot)
        .collect();
    assert!(snapshot.len() >= 2, "the demo snapshot spans pages");
    assert!(snapshot.iter().all(|p| p.full));
    assert!(
        snapshot.windows(2).all(|w| w[0].done < w[1].done),
        "progress grows"
    );
    let total = (rest + codes + devices) as u64;
    assert!(
        snapshot.iter().all(|p| p.total == Some(total)),
        "{snapshot:?}"
    );
    assert_eq!(snapshot.last().map(|p| p.done), Some(total));
    // Then the feed from the snapshot's pin: nothing new, one page.
    let changes: Vec<_> = seen
        .iter()
        .filter(|p| p.phase == SyncPhase::Changes)
        .collect();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].total, Some(0));
    assert_eq!(report.pages, snapshot.len() as u64 + 1);
    assert_eq!(seen.last().map(|p| p.phase), Some(SyncPhase::Done));
    // A second sync right away fetches nothing.
    assert_next_sync_fetches_nothing(&s).await;
}

/// The snapshot and a replay of the whole feed build the same cache, row
/// for row (device-to-code links and pool counters included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_builds_the_same_cache_as_replaying_the_whole_feed() {
    let server = TestServer::demo().await;
    let (a, b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let (snap, _) = session(&server, a.path(), ENT);
    let (feed, _) = session(&server, b.path(), ENT);
    let r1 = sync(&snap).await;
    let r2 = feed
        .sync_with(
            feed.engine().with_snapshot(false),
            &|_| {},
            &CancelToken::new(),
        )
        .await
        .expect("feed sync");
    assert!(r1.snapshot_rows > 0);
    assert_eq!(r2.snapshot_rows, 0);
    assert_eq!(r1.cursor, r2.cursor, "both end at the feed's end");
    let d = dump(snap.cache().path());
    assert!(d.len() > 5000);
    assert_same_dump(&d, &dump(feed.cache().path()), "snapshot vs feed");
    // The snapshot was loaded in bulk, the feed row by row: same schema.
    assert_whole(snap.cache().path());
    assert_whole(feed.cache().path());
}

/// A server older than the snapshot answers 404 for it: a fresh cache's
/// first sync then replays the whole feed, and ends as a snapshot would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_the_snapshot_gets_its_whole_feed_replayed() {
    let server = TestServer::demo_without_snapshot().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&server, dir.path(), ENT);
    let r = sync(&s).await;
    assert!(r.full);
    assert_eq!(r.snapshot_rows, 0);
    assert!(r.changes_fetched > 5000, "{r:?}");
    assert_same_view(&server, &s, ENT).await;
    assert_next_sync_fetches_nothing(&s).await;
}

/// Opens the cache in `dir` against `server`, whose database is not the
/// one the cache last synced from, runs `before` on the session, syncs, and
/// checks that the mirror started over and ends equal to `server`'s view.
async fn sync_starting_over(
    server: &TestServer,
    dir: &std::path::Path,
    before: impl FnOnce(&licensedesk_client::Session),
) -> (licensedesk_client::Session, licensedesk_client::SyncReport) {
    let (s, _) = session(server, dir, ENT);
    before(&s);
    let r = sync(&s).await;
    assert!(r.full, "started over: {r:?}");
    assert!(r.started_over, "{r:?}");
    assert_same_view(server, &s, ENT).await;
    (s, r)
}

/// The cache's server now answers from another database (its data was
/// replaced; here: the same cache opened against a second server): the
/// cache's cursor is refused, the mirror starts over and ends equal to the
/// new database's view, and the outbox (a refused item) is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_server_database_gets_the_mirror_started_over() {
    let old = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&old, dir.path(), ENT);
    sync(&s).await;
    let new = old.demo_replacing().await;
    new.connect_new(ENT, "pwm0001", "only-new", 5).await;
    drop(s);
    let (s, r) = sync_starting_over(&new, dir.path(), |s| {
        s.enqueue(&licensedesk_client::OutboxAction::AssignCodes {
            pk: "no-such-product".into(),
            count: 1,
        })
        .expect("enqueue");
    })
    .await;
    assert!(r.snapshot_rows > 0, "{r:?}");
    let items = s.outbox().list().expect("outbox");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].state, "rejected");
    // The next sync is an ordinary incremental one.
    assert_next_sync_fetches_nothing(&s).await;
}

/// The server's database was put back to an older copy of itself (same
/// instance id) after the cache had synced past the copy: the cache's
/// cursor is past the restored feed's end and refused, and the mirror
/// starts over and ends equal to the restored database's view (the devices
/// connected after the copy are gone from it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restored_from_an_older_copy_gets_the_mirror_started_over() {
    let old = TestServer::demo().await;
    let copy = old.copy_database();
    old.connect_new(ENT, "pwm0001", "after-the-copy", 5).await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&old, dir.path(), ENT);
    sync(&s).await;
    let after_the_copy = |s: &licensedesk_client::Session| {
        client_licenses(s)
            .values()
            .filter(|l| {
                l["dk"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("after-the-copy"))
            })
            .count()
    };
    assert_eq!(after_the_copy(&s), 5);
    drop(s);
    let restored = TestServer::start_on(copy).await;
    assert_eq!(restored.state.instance, old.state.instance);
    let (s, _) = sync_starting_over(&restored, dir.path(), |_| {}).await;
    assert_eq!(after_the_copy(&s), 0);
    assert_next_sync_fetches_nothing(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_fetches_only_the_changes() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, clock) = session(&server, dir.path(), ENT);
    let first = sync(&s).await;
    let account = server.account_id(ENT).await;
    // Server-side changes: new devices, an assignment, a new product and batch.
    server.connect_new(ENT, "pwm0001", "new", 7).await;
    server
        .post_ok("/v1/products/pcc0002/assign", ENT, json!({"count": 2}))
        .await;
    server
        .post_ok(
            "/v1/admin/products",
            ADMIN,
            json!({"account_id": account, "pk": "pnew01", "name": "New Gadget", "package": crate::support::package()}),
        )
        .await;
    server
        .post_ok("/v1/admin/batches", ADMIN, json!({"account_id": account, "pk": "pnew01", "count": 3, "package": crate::support::package()}))
        .await;
    let expected = server.changes_after(ENT, &first.cursor).await;
    assert!(expected > 0);
    clock.set(server.now());
    let inc = sync(&s).await;
    assert!(!inc.full);
    assert!(!inc.started_over, "{inc:?}");
    assert_eq!(inc.changes_fetched as i64, expected, "only the new changes");
    assert_eq!(inc.snapshot_rows, 0);
    assert!(
        inc.changes_fetched * 50 < first.snapshot_rows,
        "{inc:?} vs {first:?}"
    );
    assert_same_view(&server, &s, ENT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_snapshot_stops_between_pages_and_resumes() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&server, dir.path(), ENT);
    let cancel = CancelToken::new();
    let engine = s.engine().with_snapshot_page_size(200);
    let done_at_cancel = Mutex::new(0);
    let err = s
        .sync_with(
            engine.clone(),
            &|p| {
                if p.phase == SyncPhase::Snapshot && p.done >= 600 && !cancel.is_cancelled() {
                    *done_at_cancel.lock().expect("lock") = p.done;
                    cancel.cancel();
                }
            },
            &cancel,
        )
        .await
        .expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_eq!(err.code(), "SYNC_CANCELLED");
    let ov = s.staleness().expect("staleness");
    assert_eq!(ov.last_synced_at, None, "not complete yet");
    let done = *done_at_cancel.lock().expect("lock");
    assert_eq!(done, 600, "pages of 200 rows");
    let resumed = Mutex::new(Vec::new());
    let rest = s
        .sync_with(
            engine,
            &|p| {
                if p.phase == SyncPhase::Snapshot {
                    resumed.lock().expect("lock").push(p.done);
                }
            },
            &CancelToken::new(),
        )
        .await
        .expect("resume");
    let (changes, codes, devices) = server.snapshot_counts(ENT).await;
    assert_eq!(
        done + rest.snapshot_rows + rest.changes_fetched,
        (changes + codes + devices) as u64,
        "the rest of the snapshot, nothing twice"
    );
    let resumed = resumed.into_inner().expect("lock");
    assert_eq!(resumed.first(), Some(&800), "progress goes on from 600");
    assert_same_view(&server, &s, ENT).await;
    assert_whole(s.cache().path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_feed_sync_stops_between_pages_and_resumes() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&server, dir.path(), ENT);
    let cancel = CancelToken::new();
    let engine = s.engine().with_snapshot(false).with_page_size(200);
    let err = s
        .sync_with(
            engine.clone(),
            &|p| {
                if p.phase == SyncPhase::Changes && p.done >= 600 {
                    cancel.cancel();
                }
            },
            &cancel,
        )
        .await
        .expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled), "{err}");
    let rest = s
        .sync_with(engine, &|_| {}, &CancelToken::new())
        .await
        .expect("resume");
    assert_eq!(
        rest.changes_fetched as i64,
        server.changes_after(ENT, "c0").await - 600
    );
    assert_same_view(&server, &s, ENT).await;
}

/// The server changes between every two snapshot pages (devices connect
/// and consume codes, free codes are assigned, a batch is credited and a
/// waiting device takes one of its codes, a package upgrade re-bases
/// every device of a product, time passes and maintenance renews or takes
/// devices offline, usage is reported). After the snapshot and the feed
/// from its pin, the cache equals the server's view and, row for row, a
/// cache built by replaying the whole feed afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_changes_between_snapshot_pages_converge() {
    let server = TestServer::demo().await;
    let account = server.account_id(ENT).await;
    let psl = server.get_json("/v1/products/psl0003", ENT).await;
    let mut psl_package = psl["package"].clone();
    assert!(psl_package.is_object(), "{psl}");
    let dir = tempfile::tempdir().expect("dir");
    let (s, clock) = session(&server, dir.path(), ENT);
    let engine = s.engine().with_snapshot_page_size(150).with_page_size(50);
    let mut rounds = 0;
    let mut snapshot_pages = 0;
    let report = loop {
        // One snapshot page per run: cancelled right after it is applied.
        let cancel = CancelToken::new();
        let pages = Mutex::new(0);
        let out = s
            .sync_with(
                engine.clone(),
                &|p| {
                    if p.phase == SyncPhase::Snapshot {
                        *pages.lock().expect("lock") += 1;
                        cancel.cancel();
                    }
                },
                &cancel,
            )
            .await;
        snapshot_pages += *pages.lock().expect("lock");
        match out {
            Ok(report) => break report,
            Err(Error::Cancelled) => {}
            Err(e) => panic!("round {rounds}: {e}"),
        }
        change_the_server(&server, account, rounds, &mut psl_package).await;
        clock.set(server.now());
        rounds += 1;
    };
    assert!(snapshot_pages >= 30, "{snapshot_pages} snapshot pages");
    assert!(
        report.changes_fetched > 0,
        "the feed after the pin: {report:?}"
    );
    clock.set(server.now());
    assert_same_view(&server, &s, ENT).await;
    // Row for row what the whole feed builds.
    let ref_dir = tempfile::tempdir().expect("dir");
    let (reference, _) = session(&server, ref_dir.path(), ENT);
    reference
        .sync_with(
            reference.engine().with_snapshot(false),
            &|_| {},
            &CancelToken::new(),
        )
        .await
        .expect("reference");
    assert_whole(s.cache().path());
    assert_same_dump(
        &dump(s.cache().path()),
        &dump(reference.cache().path()),
        "snapshot under changes vs the whole feed",
    );
}

/// One round of server-side changes (see the test above).
async fn change_the_server(
    server: &TestServer,
    account: i64,
    round: usize,
    psl_package: &mut serde_json::Value,
) {
    match round % 6 {
        0 => {
            for i in 0..2 {
                let (st, v) = server
                    .connect(ENT, "pwm0001", &format!("conv-{round}-{i}"))
                    .await;
                assert_eq!(st, 200, "{v}");
            }
        }
        1 if round < 30 => {
            server
                .post_ok("/v1/products/pcc0002/assign", ENT, json!({"count": 1}))
                .await;
        }
        2 => {
            server
                .post_ok(
                    "/v1/admin/batches",
                    ADMIN,
                    json!({"account_id": account, "pk": "psl0003", "count": 4, "package": psl_package}),
                )
                .await;
            // A device of the demo that found no code (420 devices, 400 codes).
            let dk = format!("PSL-{:05}", 401 + round / 6);
            let (st, v) = server.connect(ENT, "psl0003", &dk).await;
            assert_eq!(st, 200, "{dk}: {v}");
        }
        3 => {
            let years = psl_package["validity"]["years"].as_u64().unwrap_or(1);
            psl_package["validity"]["years"] = json!(if years == 1 { 2 } else { 1 });
            let account = server.account_id(ENT).await;
            server
                .post_ok(
                    "/v1/admin/packages",
                    ADMIN,
                    json!({"account_id": account, "pk": "psl0003", "package": psl_package}),
                )
                .await;
        }
        4 => {
            server.clock.advance(chrono::Duration::days(90));
            server
                .post_ok("/v1/admin/maintenance", ADMIN, json!({}))
                .await;
        }
        _ => {
            server
                .post_ok(
                    "/v1/devices/pwm0001/PWM-00007/messages",
                    ENT,
                    json!({"count": 3}),
                )
                .await;
        }
    }
}

/// The case the feed's device apply must get right after a snapshot: a
/// code read by the snapshot, then its device's package upgraded (the
/// server re-bases that code's expiry, saying so only in the device's
/// change) and the device renewed with a later code, both read after.
/// The replayed upgrade must move the first code's expiry although the
/// cache already links the device to the second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_between_snapshot_pages_re_bases_the_code_read_before_it() {
    let server = TestServer::start().await;
    let (account, token) = server.account("individual", "eu-central").await;
    server.product(account, "prebase", 2).await;
    let (st, v) = server.connect(&token, "prebase", "dev-1").await;
    assert_eq!(st, 200, "{v}");
    let ids: Vec<i64> = server
        .state
        .store
        .sqlite_db()
        .expect("a SQLite store")
        .read(move |c| {
            let mut st = c.prepare(
                "SELECT c.id FROM codes c JOIN products p ON p.id = c.product_id WHERE p.pk = 'prebase' ORDER BY c.id",
            )?;
            Ok(st
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
        .await
        .expect("ids");
    let (first, second) = (ids[0], ids[1]);
    let dir = tempfile::tempdir().expect("dir");
    let (s, clock) = session(&server, dir.path(), &token);
    let engine = s.engine().with_snapshot_page_size(1);
    let has = |id: i64| -> bool {
        let c = rusqlite::Connection::open(s.cache().path()).expect("open");
        c.query_row("SELECT COUNT(*) FROM codes WHERE id = ?1", [id], |r| {
            r.get::<_, i64>(0)
        })
        .expect("count")
            > 0
    };
    let mut changed = false;
    loop {
        let cancel = CancelToken::new();
        let out = s
            .sync_with(
                engine.clone(),
                &|p| {
                    if p.phase == SyncPhase::Snapshot {
                        cancel.cancel();
                    }
                },
                &cancel,
            )
            .await;
        match out {
            Ok(_) => break,
            Err(Error::Cancelled) => {}
            Err(e) => panic!("{e}"),
        }
        if !changed && has(first) && !has(second) {
            changed = true;
            let mut pkg = crate::support::package();
            pkg["validity"] = json!({"years": 2});
            server
                .post_ok(
                    "/v1/admin/packages",
                    ADMIN,
                    json!({"account_id": account, "pk": "prebase", "package": pkg}),
                )
                .await;
            server.clock.advance(chrono::Duration::days(2 * 366));
            let m = server
                .post_ok("/v1/admin/maintenance", ADMIN, json!({}))
                .await;
            assert_eq!(m["renewed"], 1, "{m}");
            clock.set(server.now());
        }
    }
    assert!(changed, "the snapshot never stood between the two codes");
    let licenses = server.all_licenses(&token).await;
    assert_eq!(
        licenses.values().filter(|l| l["dk"] == "dev-1").count(),
        2,
        "renewed with the second code: {licenses:?}"
    );
    clock.set(server.now());
    assert_same_view(&server, &s, &token).await;
}

/// A sync right after a complete one is incremental and fetches nothing.
async fn assert_next_sync_fetches_nothing(s: &licensedesk_client::Session) {
    let again = sync(s).await;
    assert!(!again.full, "{again:?}");
    assert!(!again.started_over, "{again:?}");
    assert_eq!((again.changes_fetched, again.snapshot_rows), (0, 0));
}
