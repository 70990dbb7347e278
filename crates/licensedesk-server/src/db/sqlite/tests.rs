//! The writer's groups, failures and checkpoints.
use super::*;
use licensedesk_sqlite::CHECKPOINT_FRAMES;
use std::sync::atomic::AtomicBool;

/// What one request of a test group does.
type Step = fn(&Connection, &str) -> Result<()>;
/// How many times a request ran, and its answer.
type Answer = (usize, std::result::Result<(), String>);

fn insert(c: &Connection, key: &str) -> Result<()> {
    c.execute("INSERT INTO meta (key, value) VALUES (?1, 'v')", [key])?;
    Ok(())
}

fn insert_then_fail(c: &Connection, key: &str) -> Result<()> {
    insert(c, key)?;
    Err(ApiError::Internal("refused after writing".into()))
}

fn fail_first(_: &Connection, _: &str) -> Result<()> {
    Err(ApiError::Internal("refused before writing".into()))
}

fn insert_then_panic(c: &Connection, key: &str) -> Result<()> {
    insert(c, key)?;
    panic!("a request panicked");
}

/// Runs `steps` as ONE group (queued behind a request that holds the
/// writer until they all are) and returns, per step, how many times it
/// ran and its answer, plus the keys committed.
fn run_as_one_group(steps: &[(&'static str, Step)]) -> (Vec<Answer>, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("t.sqlite3")).expect("open");
    let (started, writer_held) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let held = AtomicBool::new(false);
    db.submit(
        move |_| {
            if !held.swap(true, Ordering::SeqCst) {
                let _ = started.send(());
                let _ = released.lock().map(|r| r.recv());
            }
            Ok(())
        },
        |_: Result<()>| {},
    )
    .expect("submit");
    writer_held
        .recv()
        .expect("the writer runs the first request");
    let mut answers = Vec::new();
    for &(key, step) in steps {
        let runs = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        let counted = runs.clone();
        db.submit(
            move |c| {
                counted.fetch_add(1, Ordering::SeqCst);
                step(c, key)
            },
            move |out: Result<()>| {
                let _ = tx.send(out.map_err(|e| e.to_string()));
            },
        )
        .expect("submit");
        answers.push((runs, rx));
    }
    release.send(()).expect("release");
    let answers = answers
        .into_iter()
        .map(|(runs, rx)| {
            let out = rx.recv().expect("answer");
            (runs.load(Ordering::SeqCst), out)
        })
        .collect();
    let keys = db
        .write_sync(|c| {
            Ok(
                c.prepare("SELECT key FROM meta WHERE value = 'v' ORDER BY key")?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?,
            )
        })
        .expect("keys");
    (answers, keys)
}

/// A request that fails after writing rolls back alone: the group is
/// replayed with savepoints and the others commit.
#[test]
fn a_request_failing_after_writing_rolls_back_alone() {
    let (answers, keys) =
        run_as_one_group(&[("a", insert), ("b", insert_then_fail), ("c", insert)]);
    assert_eq!(keys, ["a", "c"]);
    assert_eq!(answers[0], (2, Ok(())), "ran, then replayed");
    assert_eq!(answers[1].0, 2);
    assert!(
        answers[1]
            .1
            .as_ref()
            .is_err_and(|e| e.contains("refused after writing"))
    );
    assert_eq!(answers[2], (1, Ok(())), "first run in the replay");
}

/// A request that fails before changing a row needs no replay, nor does
/// one whose failing statement SQLite undid by itself.
#[test]
fn a_request_failing_without_changes_costs_no_replay() {
    let (answers, keys) = run_as_one_group(&[
        ("a", insert),
        ("b", fail_first),
        ("a", insert), // UNIQUE violation: the statement changes nothing
        ("c", insert),
    ]);
    assert_eq!(keys, ["a", "c"]);
    assert_eq!(
        answers.iter().map(|a| a.0).collect::<Vec<_>>(),
        [1, 1, 1, 1]
    );
    assert!(answers[1].1.is_err() && answers[2].1.is_err());
    assert!(answers[0].1.is_ok() && answers[3].1.is_ok());
}

fn noop() -> Job {
    Box::new(Pending {
        f: |_: &Connection| Ok(()),
        out: None,
        deliver: |_: Result<()>| {},
    })
}

/// Runs `group` (and what `gather` takes in) in one transaction of an
/// in-memory database, without committing.
fn run_in_memory(group: &mut Vec<Job>, queue: &mpsc::Receiver<Job>, gather: &Gather) {
    let conn = Connection::open_in_memory().expect("open");
    exec(&conn, "BEGIN IMMEDIATE").expect("begin");
    assert!(run_together(&conn, group, queue, gather).expect("run"));
}

/// A group as large as the previous one is formed without waiting (a
/// wait would last the hour given as budget).
#[test]
fn a_group_as_large_as_the_previous_one_does_not_wait() {
    let (tx, queue) = mpsc::channel();
    for _ in 0..2 {
        tx.send(noop()).expect("queue");
    }
    let mut group = vec![noop()];
    run_in_memory(
        &mut group,
        &queue,
        &Gather::after(3, Duration::from_secs(3600)),
    );
    assert_eq!(group.len(), 3);
    let mut group = vec![noop()];
    run_in_memory(&mut group, &queue, &Gather::after(5, Duration::ZERO));
    assert_eq!(group.len(), 1, "no budget, no wait");
}

/// A group smaller than the previous one waits for the requests still
/// on their way, and runs the ones it has meanwhile: here the late
/// requests are only sent once the first has run (a writer that waited
/// before running anything would keep the sender waiting for the hour).
#[test]
fn a_smaller_group_runs_its_requests_while_it_waits_for_the_others() {
    let (tx, queue) = mpsc::channel::<Job>();
    let (first_ran, ran) = mpsc::channel::<()>();
    let first: Job = Box::new(Pending {
        f: move |_: &Connection| {
            let _ = first_ran.send(());
            Ok(())
        },
        out: None,
        deliver: |_: Result<()>| {},
    });
    let late = std::thread::spawn(move || {
        let ran_first = ran.recv_timeout(Duration::from_secs(60)).is_ok();
        for _ in 0..2 {
            tx.send(noop()).expect("queue");
        }
        ran_first
    });
    let mut group = vec![first];
    run_in_memory(
        &mut group,
        &queue,
        &Gather::after(3, Duration::from_secs(3600)),
    );
    assert!(
        late.join().expect("sender"),
        "the first request did not run before the others arrived"
    );
    assert_eq!(group.len(), 3);
}

/// A request that arrives while a group runs joins that group.
#[test]
fn a_running_group_takes_in_requests_arriving_meanwhile() {
    let conn = Connection::open_in_memory().expect("open");
    let (tx, queue) = mpsc::channel::<Job>();
    let ran = Arc::new(AtomicUsize::new(0));
    let (r1, r2) = (ran.clone(), ran.clone());
    let tx = Mutex::new(tx);
    let first: Job = Box::new(Pending {
        f: move |_: &Connection| {
            r1.fetch_add(1, Ordering::SeqCst);
            let r2 = r2.clone();
            let late: Job = Box::new(Pending {
                f: move |_: &Connection| {
                    r2.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                },
                out: None,
                deliver: |_: Result<()>| {},
            });
            let _ = tx.lock().map(|t| t.send(late));
            Ok(())
        },
        out: None,
        deliver: |_: Result<()>| {},
    });
    let mut group = vec![first];
    exec(&conn, "BEGIN IMMEDIATE").expect("begin");
    let gather = Gather::after(1, Duration::ZERO);
    assert!(run_together(&conn, &mut group, &queue, &gather).expect("run"));
    assert_eq!((group.len(), ran.load(Ordering::SeqCst)), (2, 2));
}

/// A panicking request fails alone (with its writes undone); the writer
/// keeps going.
#[test]
fn a_panicking_request_fails_alone() {
    let (answers, keys) =
        run_as_one_group(&[("a", insert), ("b", insert_then_panic), ("c", insert)]);
    assert_eq!(keys, ["a", "c"]);
    assert!(answers[1].1.as_ref().is_err_and(|e| e.contains("panicked")));
    assert!(answers[0].1.is_ok() && answers[2].1.is_ok());
}

/// Writes several times the checkpoint threshold: the checkpointer and
/// the writer's tail checkpoint keep restarting the WAL, so its file
/// stays near the threshold instead of growing with every write.
#[test]
fn wal_restarts_instead_of_growing() {
    const FRAME: u64 = 4096 + 24;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("t.sqlite3")).expect("open");
    let value = "x".repeat(64 * 1024); // ~17 frames per write
    for i in 0..(5 * CHECKPOINT_FRAMES / 17) {
        let v = value.clone();
        db.write_sync(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                rusqlite::params![format!("k{}", i % 50), v],
            )?;
            Ok(())
        })
        .expect("write");
    }
    let wal = std::fs::metadata(dir.path().join("t.sqlite3-wal"))
        .expect("wal")
        .len();
    assert!(
        wal < 3 * u64::from(CHECKPOINT_FRAMES) * FRAME,
        "the WAL grew to {wal} bytes: it was never restarted"
    );
}
