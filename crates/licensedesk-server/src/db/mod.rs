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

mod migrations;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Result};

pub use migrations::{MIGRATIONS, migrate};

/// Number of reader connections.
const READERS: usize = 4;
/// Most write requests committed together.
const MAX_GROUP: usize = 256;

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
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("licensedesk-writer".into())
            .spawn(move || writer_loop(writer, &queue))?;
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

/// The writer thread: group commit of queued write requests.
fn writer_loop(mut conn: Connection, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut delivers = Vec::with_capacity(group.len());
        let outcome = run_group(&mut conn, group, &mut delivers);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "group commit failed");
        }
        for d in delivers {
            d(outcome.clone());
        }
    }
}

fn run_group(
    conn: &mut Connection,
    group: Vec<Job>,
    delivers: &mut Vec<Deliver>,
) -> std::result::Result<(), String> {
    let mut tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
    for job in group {
        let sp = tx.savepoint().map_err(|e| e.to_string())?;
        // A panicking request must not take the writer down: it fails alone
        // (its waiter sees the dropped channel) and its savepoint rolls back.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&sp)));
        match ran {
            Ok((true, deliver)) => {
                sp.commit().map_err(|e| e.to_string())?;
                delivers.push(deliver);
            }
            Ok((false, deliver)) => {
                drop(sp); // rolls back
                delivers.push(deliver);
            }
            Err(_) => drop(sp),
        }
    }
    tx.commit().map_err(|e| e.to_string())
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
