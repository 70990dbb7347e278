//! SQLite habits shared by the license server and the desktop cache.
//!
//! **Checkpoints in a thread of their own.** SQLite's automatic checkpoint
//! runs inside the commit that crosses its threshold (1000 WAL frames),
//! copying the WAL into the database file before the commit returns. A
//! writer that commits often and much (the server's group commits, a first
//! sync's pages) then spends a good part of its time copying pages. With
//! [`Checkpoints`] the writer counts WAL frames (a WAL hook) and, past
//! [`CHECKPOINT_FRAMES`], hands the checkpoint to a checkpointer thread
//! with its own connection, which copies the WAL into the database while
//! the writer keeps committing. Once it is done, the writer itself
//! checkpoints the few frames committed meanwhile, after its next commit:
//! the WAL is then fully copied, so the writer's next transaction starts
//! the log over from its beginning (overwriting a file of steady size,
//! which syncs much faster than appending to a growing one).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;

/// WAL size (in frames, i.e. pages) past which the WAL is checkpointed and
/// restarted: SQLite's default automatic checkpoint threshold.
pub const CHECKPOINT_FRAMES: u32 = 1000;

/// The writer's side of checkpointing (see the crate doc). Dropping it
/// waits for a checkpoint in progress (nothing is left half copied by a
/// process that ends right after).
pub struct Checkpoints {
    /// Frames in the WAL after the writer's last commit (set by the WAL hook).
    frames: Arc<AtomicU32>,
    /// A checkpoint was handed to the checkpointer and has not finished.
    running: Arc<AtomicBool>,
    /// The checkpointer finished: the writer checkpoints the tail.
    done: Arc<AtomicBool>,
    /// Frames of the WAL the checkpointer's last checkpoint had copied.
    copied: Arc<AtomicU32>,
    /// WAL size at which the next checkpoint is handed over: the threshold,
    /// or a bit more than the last handed-over size while a long read keeps
    /// the WAL from restarting (no checkpoint after every commit then).
    next_at: AtomicU32,
    request: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpoints {
    /// Turns off `writer`'s automatic checkpoint (its WAL hook replaces it)
    /// and starts the checkpointer thread on `conn`, a connection of its
    /// own to the same database.
    pub fn start(writer: &mut Connection, conn: Connection) -> std::io::Result<Self> {
        let frames = Arc::new(AtomicU32::new(0));
        let f = frames.clone();
        writer
            .wal_hook(Some(
                move |_: &mut rusqlite::hooks::Wal, n: std::ffi::c_int| {
                    f.store(u32::try_from(n).unwrap_or(0), Ordering::Relaxed);
                    Ok(())
                },
            ))
            .map_err(std::io::Error::other)?;
        let (running, done) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let copied = Arc::new(AtomicU32::new(0));
        let (request, requests) = mpsc::channel::<()>();
        let (r, d, c) = (running.clone(), done.clone(), copied.clone());
        let thread = std::thread::Builder::new()
            .name("licensedesk-checkpointer".into())
            .spawn(move || {
                background_priority();
                // Ends when the writer's side (holding the sender) is dropped.
                while requests.recv().is_ok() {
                    match checkpoint(&conn) {
                        Ok(n) => c.store(n, Ordering::Relaxed),
                        Err(e) => tracing::warn!(error = %e, "background checkpoint failed"),
                    }
                    d.store(true, Ordering::Release);
                    r.store(false, Ordering::Release);
                }
            })?;
        Ok(Self {
            frames,
            running,
            done,
            copied,
            next_at: AtomicU32::new(CHECKPOINT_FRAMES),
            request: Some(request),
            thread: Some(thread),
        })
    }

    /// After a commit of `writer` (or between two): finishes a checkpoint
    /// the checkpointer completed, or hands it a new one when the WAL has
    /// grown past the threshold.
    pub fn after_commit(&self, writer: &Connection) {
        let frames = self.frames.load(Ordering::Relaxed);
        if self.done.swap(false, Ordering::AcqRel) {
            // A tail as large as a checkpoint (a big transaction committed
            // meanwhile) goes to the checkpointer too.
            let tail = frames.saturating_sub(self.copied.load(Ordering::Relaxed));
            if tail < CHECKPOINT_FRAMES {
                if let Err(e) = checkpoint(writer) {
                    tracing::warn!(error = %e, "checkpoint failed");
                }
                return;
            }
            self.next_at.store(frames, Ordering::Relaxed);
        }
        if frames < CHECKPOINT_FRAMES {
            self.next_at.store(CHECKPOINT_FRAMES, Ordering::Relaxed);
        } else if frames >= self.next_at.load(Ordering::Relaxed)
            && !self.running.swap(true, Ordering::AcqRel)
        {
            self.next_at.store(
                frames.saturating_add(CHECKPOINT_FRAMES / 4),
                Ordering::Relaxed,
            );
            let sent = self.request.as_ref().is_some_and(|r| r.send(()).is_ok());
            if !sent {
                self.running.store(false, Ordering::Release);
            }
        }
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        drop(self.request.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Lowers the calling thread's CPU priority (nice 10): a checkpoint is
/// upkeep, and copying a first sync's pages right after it must not take
/// the processor from what the user is waiting for (the desktop's window
/// painting the rows just synced, on a two-core machine: a table's jump
/// took 50 ms instead of 25 while the checkpointer copied). Elsewhere than
/// on Linux the thread keeps its priority.
fn background_priority() {
    #[cfg(target_os = "linux")]
    if rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10).is_err() {
        tracing::debug!("the checkpointer keeps its priority");
    }
}

/// A passive checkpoint: copies what it can without waiting for anyone.
/// Returns how many frames of the WAL are copied.
pub fn checkpoint(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        r.get::<_, i64>(2)
            .map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &std::path::Path) -> Connection {
        let c = Connection::open(path).expect("open");
        c.pragma_update(None, "journal_mode", "WAL").expect("wal");
        c
    }

    /// Frames in the WAL (copied or not) after the last commit.
    fn wal_frames(c: &Connection) -> i64 {
        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .expect("frames")
    }

    /// The writer only commits; the checkpointer copies the WAL, and the
    /// log starts over instead of growing with every commit. Without the
    /// checkpoints (no automatic checkpoint either: the hook replaces it)
    /// it would hold every frame written.
    #[test]
    fn the_wal_is_copied_by_the_checkpointer_and_starts_over() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("db.sqlite3");
        let mut writer = open(&path);
        writer
            .execute_batch("CREATE TABLE t (x BLOB)")
            .expect("table");
        let checkpoints = Checkpoints::start(&mut writer, open(&path)).expect("start");
        let mut written = 0;
        let mut restarted = false;
        // Each commit writes about 4 pages; the WAL passes the threshold
        // after ~250 commits. Bounded: a checkpointer that never copied
        // would end the loop with `restarted` false.
        for _ in 0..20_000 {
            writer
                .execute("INSERT INTO t (x) VALUES (zeroblob(12000))", [])
                .expect("insert");
            written += 4;
            checkpoints.after_commit(&writer);
            let frames = checkpoints.frames.load(Ordering::Relaxed);
            if written > 3 * i64::from(CHECKPOINT_FRAMES) && i64::from(frames) < written / 2 {
                restarted = true;
                break;
            }
            std::thread::yield_now();
        }
        assert!(restarted, "the WAL never started over");
        drop(checkpoints);
        let reader = open(&path);
        let rows: i64 = reader
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert!(rows > 0);
        assert!(wal_frames(&reader) < 3 * i64::from(CHECKPOINT_FRAMES));
    }

    /// The checkpointer runs at a lower priority than the threads that
    /// serve the user (nice 10; Linux names a thread by 15 bytes).
    #[cfg(target_os = "linux")]
    #[test]
    fn the_checkpointer_yields_the_processor() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("db.sqlite3");
        let mut writer = open(&path);
        let checkpoints = Checkpoints::start(&mut writer, open(&path)).expect("start");
        // Its first request runs after it set its priority.
        checkpoints
            .request
            .as_ref()
            .expect("sender")
            .send(())
            .expect("request");
        checkpoints.running.store(true, Ordering::Release);
        while checkpoints.running.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        let nice: Vec<i64> = std::fs::read_dir("/proc/self/task")
            .expect("tasks")
            .filter_map(|t| {
                let t = t.ok()?.path();
                let comm = std::fs::read_to_string(t.join("comm")).ok()?;
                (comm.trim() == "licensedesk-che").then(|| {
                    let stat = std::fs::read_to_string(t.join("stat")).expect("stat");
                    // Fields after the command's closing parenthesis; nice
                    // is the 19th field of the line.
                    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
                    rest.split(' ')
                        .nth(16)
                        .expect("nice")
                        .parse()
                        .expect("number")
                })
            })
            .collect();
        // (Another test's checkpointer may be starting beside it.)
        assert!(
            nice.contains(&10),
            "nice values of the checkpointers: {nice:?}"
        );
    }
}
