//! SQLite storage: one writer thread owning the only writing connection, a
//! few reader connections (WAL lets them read while the writer writes), and
//! reads run on tokio's blocking pool.
//!
//! **Group commit.** Write requests queue up for the writer thread, which
//! runs every queued request in one `BEGIN IMMEDIATE` transaction, each in
//! its own savepoint (a request that fails rolls back alone), then commits
//! once: one fsync (`synchronous=FULL`) for the whole group. A request is
//! answered only after that commit, so every acknowledged write is durable.
//! Writes are serialised, so a request's reads-then-writes are atomic.
//!
//! **Checkpoints.** SQLite's automatic checkpoint would run inside the
//! writer's commit, copying ~1000 pages and syncing the database file before
//! the group is answered. Instead the writer counts WAL frames (a WAL hook)
//! and, past [`CHECKPOINT_FRAMES`], hands the checkpoint to a checkpointer
//! thread with its own connection, which copies the WAL into the database
//! while the writer keeps committing. Once it is done, the writer itself
//! checkpoints the few frames committed meanwhile, between two groups: the
//! WAL is then fully copied, so the writer's next transaction starts the log
//! over from its beginning (overwriting a file of steady size, which syncs
//! much faster than appending to a growing one).

mod migrations;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Result};

pub use migrations::{MIGRATIONS, migrate};

/// Number of reader connections.
const READERS: usize = 4;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;
/// Most write requests committed together.
const MAX_GROUP: usize = 256;
/// WAL size (in frames, i.e. pages) past which the WAL is checkpointed and
/// restarted: SQLite's default automatic checkpoint threshold.
const CHECKPOINT_FRAMES: u32 = 1000;

/// A write request: runs on the writer's savepoint, says whether it
/// succeeded, and returns how to deliver its outcome once the group's
/// commit is known.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Deliver) + Send>;
type Deliver = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;

#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    jobs: Mutex<mpsc::Sender<Job>>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

/// Opens a connection with the server's pragmas.
pub fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The writer runs every request in a savepoint: keep the statement
    // journal (what a savepoint rollback restores) in memory rather than in
    // a temporary file written page by page. Durability is the WAL's job.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Query planner stability: a plan never depends on a bound value. Without
    // it, a statement whose plan looked at a parameter (`col = ?`, `LIMIT ?`)
    // is expired by `sqlite3_clear_bindings`, which rusqlite's statement
    // cache calls on every statement it takes back, so `prepare_cached`
    // statements were parsed and planned again on every use.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Room for every statement of the API (rusqlite's default is 16, which
    // a busy writer running several endpoints would churn through).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl Db {
    /// Opens (creating if needed) the database, applies pending migrations
    /// and starts the writer thread.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut writer = open_connection(path)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| open_connection(path).map(Mutex::new))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let checkpoints = Checkpoints::start(path, &mut writer)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("licensedesk-writer".into())
            .spawn(move || writer_loop(writer, &queue, &checkpoints))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                jobs: Mutex::new(jobs),
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` inside the writer's `BEGIN IMMEDIATE` transaction (in its own
    /// savepoint); the result is returned once the group commit succeeded.
    /// If `f` fails, its changes are rolled back.
    ///
    /// Inside a request carrying an `Idempotency-Key` (see
    /// [`crate::idempotency`]), the successful result is also recorded under
    /// that key in the same savepoint, so the mutation and its idempotency
    /// record commit together; when the request is a retry whose response
    /// was lost (a crash after the commit), `f` is not run again and the
    /// recorded result is returned instead.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + Serialize + DeserializeOwned + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let ctx = crate::idempotency::current();
        if let Some(stored) = ctx.as_ref().and_then(|c| c.replay.clone()) {
            return serde_json::from_str(&stored).map_err(Into::into);
        }
        let f = move |conn: &Connection| {
            let out = f(conn)?;
            if let Some(c) = &ctx {
                crate::idempotency::reserve(conn, c, &serde_json::to_string(&out)?)?;
            }
            Ok(out)
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T>>();
        self.submit(f, move |out| {
            let _ = tx.send(out);
        })?;
        rx.await
            .map_err(|_| ApiError::Internal("the writer dropped the request".into()))?
    }

    /// Synchronous write, for start-up work (demo seeding). Blocks the
    /// calling thread until the writer committed it.
    pub fn write_sync<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel::<Result<T>>();
        self.submit(f, move |out| {
            let _ = tx.send(out);
        })?;
        rx.recv()
            .map_err(|_| ApiError::Internal("the writer dropped the request".into()))?
    }

    fn submit<T, F>(&self, f: F, deliver: impl FnOnce(Result<T>) + Send + 'static) -> Result<()>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let job: Job = Box::new(move |conn: &Connection| {
            let out = f(conn);
            let ok = out.is_ok();
            let d: Deliver = Box::new(move |commit| {
                deliver(match commit {
                    Ok(()) => out,
                    Err(e) => Err(ApiError::Internal(format!("commit failed: {e}"))),
                });
            });
            (ok, d)
        });
        self.inner
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .map_err(|_| ApiError::Internal("the writer thread stopped".into()))
    }

    /// Runs `f` on a reader connection (a consistent snapshot if `f` opens a
    /// transaction; single statements are consistent by themselves).
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = inner.readers[i].lock().unwrap_or_else(|e| e.into_inner());
            f(&conn)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
    }
}

/// The writer's side of checkpointing (see the module doc).
struct Checkpoints {
    /// Frames in the WAL after the writer's last commit (set by the WAL hook).
    frames: Arc<AtomicU32>,
    /// A checkpoint was handed to the checkpointer and has not finished.
    running: Arc<AtomicBool>,
    /// The checkpointer finished: the writer checkpoints the tail.
    done: Arc<AtomicBool>,
    /// WAL size at which the next checkpoint is handed over: the threshold,
    /// or a bit more than the last handed-over size while a long read keeps
    /// the WAL from restarting (no checkpoint after every group then).
    next_at: std::cell::Cell<u32>,
    request: mpsc::Sender<()>,
}

impl Checkpoints {
    /// Turns off the writer's automatic checkpoint (the WAL hook replaces it)
    /// and starts the checkpointer thread.
    fn start(path: &Path, writer: &mut Connection) -> anyhow::Result<Self> {
        let frames = Arc::new(AtomicU32::new(0));
        let f = frames.clone();
        writer.wal_hook(Some(
            move |_: &mut rusqlite::hooks::Wal, n: std::ffi::c_int| {
                f.store(u32::try_from(n).unwrap_or(0), Ordering::Relaxed);
                Ok(())
            },
        ))?;
        let conn = open_connection(path)?;
        let (running, done) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (request, requests) = mpsc::channel::<()>();
        let (r, d) = (running.clone(), done.clone());
        std::thread::Builder::new()
            .name("licensedesk-checkpointer".into())
            .spawn(move || {
                // Ends when the writer thread (holding the sender) ends.
                while requests.recv().is_ok() {
                    if let Err(e) = checkpoint(&conn) {
                        tracing::warn!(error = %e, "background checkpoint failed");
                    }
                    d.store(true, Ordering::Release);
                    r.store(false, Ordering::Release);
                }
            })?;
        Ok(Self {
            frames,
            running,
            done,
            next_at: std::cell::Cell::new(CHECKPOINT_FRAMES),
            request,
        })
    }

    /// Between two groups: finishes a checkpoint the checkpointer completed,
    /// or hands it a new one when the WAL has grown past the threshold.
    fn between_groups(&self, writer: &Connection) {
        if self.done.swap(false, Ordering::AcqRel) {
            if let Err(e) = checkpoint(writer) {
                tracing::warn!(error = %e, "checkpoint failed");
            }
            return;
        }
        let frames = self.frames.load(Ordering::Relaxed);
        if frames < CHECKPOINT_FRAMES {
            self.next_at.set(CHECKPOINT_FRAMES);
        } else if frames >= self.next_at.get() && !self.running.swap(true, Ordering::AcqRel) {
            self.next_at
                .set(frames.saturating_add(CHECKPOINT_FRAMES / 4));
            if self.request.send(()).is_err() {
                self.running.store(false, Ordering::Release);
            }
        }
    }
}

/// A passive checkpoint: copies what it can without waiting for anyone.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// The writer thread: group commit of queued write requests.
fn writer_loop(conn: Connection, queue: &mpsc::Receiver<Job>, checkpoints: &Checkpoints) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut delivers = Vec::with_capacity(group.len());
        let outcome = run_group(&conn, group, &mut delivers);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "group commit failed");
        }
        for d in delivers {
            d(outcome.clone());
        }
        checkpoints.between_groups(&conn);
    }
}

/// Runs one cached statement without parameters (transaction control: the
/// same few statements for every group and request, so parsed once).
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn run_group(
    conn: &Connection,
    group: Vec<Job>,
    delivers: &mut Vec<Deliver>,
) -> std::result::Result<(), String> {
    exec(conn, "BEGIN IMMEDIATE").map_err(|e| e.to_string())?;
    let outcome = run_jobs(conn, group, delivers).and_then(|()| exec(conn, "COMMIT"));
    if outcome.is_err()
        && !conn.is_autocommit()
        && let Err(e) = exec(conn, "ROLLBACK")
    {
        tracing::error!(error = %e, "rollback failed");
    }
    outcome.map_err(|e| e.to_string())
}

fn run_jobs(
    conn: &Connection,
    group: Vec<Job>,
    delivers: &mut Vec<Deliver>,
) -> rusqlite::Result<()> {
    for job in group {
        exec(conn, "SAVEPOINT request")?;
        // A panicking request must not take the writer down: it fails alone
        // (its waiter sees the dropped channel) and its savepoint rolls back.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn)));
        let ok = matches!(ran, Ok((true, _)));
        if !ok {
            exec(conn, "ROLLBACK TO request")?;
        }
        exec(conn, "RELEASE request")?;
        if let Ok((_, deliver)) = ran {
            delivers.push(deliver);
        }
    }
    Ok(())
}

/// Formats an instant the way it is stored: fixed-width RFC 3339 UTC, so
/// that string order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored instant.
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::Internal(format!("bad stored time {s:?}: {e}")))
}

pub fn parse_ts_opt(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
