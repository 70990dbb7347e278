//! SQLite storage: one writer thread owning the only writing connection, a
//! few reader connections (WAL lets them read while the writer writes), and
//! reads run on tokio's blocking pool.
//!
//! **Group commit.** Write requests queue up for the writer thread, which
//! runs every queued request in one `BEGIN IMMEDIATE` transaction, then
//! commits once: one fsync (`synchronous=FULL`) for the whole group. A
//! request is answered only after that commit, so every acknowledged write
//! is durable. Writes are serialised, so a request's reads-then-writes are
//! atomic. A request that fails rolls back alone: the requests run without
//! savepoints, and a group in which one failed after changing rows is
//! rolled back and replayed with one savepoint per request (see
//! [`run_group`]); a write closure may therefore run more than once.
//! The writer runs the requests queued, waits briefly for the clients it
//! just answered, running each as it arrives (see [`Gather`]), and takes in
//! the requests that arrive while the group runs, so that one fsync serves
//! as many as it can.
//!
//! **Checkpoints.** SQLite's automatic checkpoint would run inside the
//! writer's commit, copying ~1000 pages and syncing the database file before
//! the group is answered. Instead a checkpointer thread copies the WAL into
//! the database while the writer keeps committing
//! ([`licensedesk_sqlite::Checkpoints`], which the desktop cache shares).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use licensedesk_sqlite::Checkpoints;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::{ApiError, Result};

use super::migrations::{MIGRATIONS, migrate};

/// The database's file name in the data dir.
pub const FILE_NAME: &str = "licensedesk.sqlite3";
/// Number of reader connections.
const READERS: usize = 4;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;
/// Most write requests committed together.
const MAX_GROUP: usize = 256;
/// Longest wait for the rest of a group (see [`Gather`]), whatever the
/// previous commit took.
const MAX_GATHER_WAIT: Duration = Duration::from_millis(2);

/// A write request queued for the writer thread.
trait Request: Send {
    /// Runs the request on the writer's transaction and says whether it
    /// succeeded. A request may be run again when its group is replayed
    /// (see [`run_group`]); only the outcome of its last run is delivered.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the request once the group's commit outcome is known.
    fn deliver(self: Box<Self>, commit: std::result::Result<(), String>);
}

/// A write closure, the outcome of its last run, and where to deliver it.
struct Pending<T, F, D> {
    f: F,
    out: Option<Result<T>>,
    deliver: D,
}

impl<T, F, D> Request for Pending<T, F, D>
where
    T: Send,
    F: Fn(&Connection) -> Result<T> + Send,
    D: FnOnce(Result<T>) + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        // Cleared first: a run that panics leaves no outcome.
        self.out = None;
        let out = (self.f)(conn);
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn deliver(self: Box<Self>, commit: std::result::Result<(), String>) {
        let Self { out, deliver, .. } = *self;
        deliver(match (commit, out) {
            (Err(e), _) => Err(ApiError::Internal(format!("commit failed: {e}"))),
            (Ok(()), Some(out)) => out,
            (Ok(()), None) => Err(ApiError::Internal("the request panicked".into())),
        });
    }
}

type Job = Box<dyn Request>;

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

/// The database's instance id (made by migration 8), if it has one.
pub fn instance(c: &Connection) -> rusqlite::Result<Option<String>> {
    c.query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
        r.get(0)
    })
    .optional()
}

/// Gives the database a new instance id, made exactly as migration 8 makes
/// the first one (its statement is run again), and returns it.
pub fn renew_instance(c: &Connection) -> rusqlite::Result<String> {
    let (_, _, make) = MIGRATIONS
        .iter()
        .find(|m| m.1 == "instance")
        .expect("the instance migration");
    c.execute("DELETE FROM meta WHERE key = 'instance'", [])?;
    c.execute_batch(make)?;
    instance(c)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
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
    // `temp_store` stays at its default: a statement journal (what SQLite
    // keeps to undo a statement that fails half-way, e.g. the consuming
    // UPDATE, which checks a foreign key) is then held in memory in one
    // 64 KiB chunk, spilling to a temporary file only beyond that. With
    // `temp_store=MEMORY` it is never spilled but grows in 1 KiB chunks,
    // several allocations for every page it copies.

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
        let checkpoints = Checkpoints::start(&mut writer, open_connection(path)?)?;
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

    /// Runs `f` inside the writer's `BEGIN IMMEDIATE` transaction; the result
    /// is returned once the group commit succeeded. If `f` fails, its changes
    /// are rolled back (and only its own).
    ///
    /// `f` may run more than once: when another request of its group fails
    /// after changing rows, the group is rolled back and replayed (see
    /// [`run_group`]). Only the last run's result is returned, and only its
    /// changes are committed, so `f` must act on nothing but `conn`.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T>>();
        self.submit(f, move |out| {
            let _ = tx.send(out);
        })?;
        rx.await
            .map_err(|_| ApiError::Internal("the writer dropped the request".into()))?
    }

    /// Synchronous write, for start-up work (demo seeding). Blocks the
    /// calling thread until the writer committed it. Like [`Db::write`], `f`
    /// may run more than once.
    pub fn write_sync<T: Send + 'static>(
        &self,
        f: impl Fn(&Connection) -> Result<T> + Send + 'static,
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
        F: Fn(&Connection) -> Result<T> + Send + 'static,
    {
        let job: Job = Box::new(Pending {
            f,
            out: None,
            deliver,
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
fn writer_loop(conn: Connection, queue: &mpsc::Receiver<Job>, checkpoints: &Checkpoints) {
    // The previous group's size and how long its commit took.
    let mut previous = (1, Duration::ZERO);
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        let gather = Gather::after(previous.0, previous.1.min(MAX_GATHER_WAIT));
        let outcome = run_group(&conn, &mut group, queue, &gather);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "group commit failed");
        }
        previous = (group.len(), outcome.clone().unwrap_or_default());
        let outcome = outcome.map(drop);
        for job in group {
            job.deliver(outcome.clone());
        }
        checkpoints.after_commit(&conn);
    }
}

/// How long a group waits for more requests before it commits: while it is
/// smaller than the previous group, until a deadline.
///
/// The clients answered by the previous group come back a moment after its
/// commit. Committing at once would leave them for the next group, so the
/// requests split into two alternating halves, each paying a commit (an
/// fsync) of its own; waiting for them, at most about one commit's
/// duration, lets one commit serve them all. A steady lone client never
/// waits (its group is as large as the previous one).
///
/// The wait overlaps the work: the writer runs each request as soon as it
/// arrives and waits only when it has run all it has, so the requests'
/// statements execute while the later clients' requests are still being
/// received and parsed, and only the commit waits for the group.
#[derive(Debug, Clone, Copy)]
struct Gather {
    /// The size worth waiting for (the previous group's, at most [`MAX_GROUP`]).
    size: usize,
    deadline: std::time::Instant,
}

impl Gather {
    fn after(previous: usize, budget: Duration) -> Self {
        Self {
            size: previous.min(MAX_GROUP),
            deadline: std::time::Instant::now() + budget,
        }
    }

    /// With every request of `group` run: takes in those queued and, while
    /// the group is still smaller than `size`, waits until the deadline for
    /// the next one. Returns whether the group grew.
    fn more(&self, queue: &mpsc::Receiver<Job>, group: &mut Vec<Job>) -> bool {
        let before = group.len();
        take_queued(queue, group);
        if group.len() == before && group.len() < self.size {
            let left = self
                .deadline
                .saturating_duration_since(std::time::Instant::now());
            if let Ok(job) = queue.recv_timeout(left) {
                group.push(job);
                take_queued(queue, group);
            }
        }
        group.len() > before
    }
}

/// Adds the queued requests to the group, up to [`MAX_GROUP`].
fn take_queued(queue: &mpsc::Receiver<Job>, group: &mut Vec<Job>) {
    while group.len() < MAX_GROUP {
        match queue.try_recv() {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
}

/// Runs one cached statement without parameters (transaction control: the
/// same few statements for every group and request, so parsed once).
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Runs a group in one transaction and commits it; returns how long the
/// commit took.
///
/// The requests run one after the other without savepoints (a savepoint
/// copies every page a request touches into its journal). A request that
/// fails without having changed a row needs nothing rolled back. Only when
/// one fails after changing rows (or panics) is the transaction rolled back
/// and the whole group replayed with one savepoint per request, so that the
/// failed request's changes roll back alone.
///
/// Whether a request changed rows is told by `total_changes`: the rows
/// changed by every INSERT, UPDATE and DELETE that completed (a statement
/// that failed half-way was undone by SQLite and counts none). It does not
/// see schema changes, which no request makes.
fn run_group(
    conn: &Connection,
    group: &mut Vec<Job>,
    queue: &mpsc::Receiver<Job>,
    gather: &Gather,
) -> std::result::Result<Duration, String> {
    exec(conn, "BEGIN IMMEDIATE").map_err(|e| e.to_string())?;
    let outcome = run_together(conn, group, queue, gather)
        .and_then(|clean| {
            if clean {
                return Ok(());
            }
            exec(conn, "ROLLBACK")?;
            exec(conn, "BEGIN IMMEDIATE")?;
            run_isolated(conn, group)
        })
        .and_then(|()| {
            let started = std::time::Instant::now();
            exec(conn, "COMMIT").map(|()| started.elapsed())
        });
    if outcome.is_err()
        && !conn.is_autocommit()
        && let Err(e) = exec(conn, "ROLLBACK")
    {
        tracing::error!(error = %e, "rollback failed");
    }
    outcome.map_err(|e| e.to_string())
}

/// Runs one request; a panicking request must not take the writer down (it
/// counts as failed). Fails if the request ended the transaction (SQLite
/// rolls back the whole transaction on some errors, e.g. a full disk).
fn run_one(conn: &Connection, job: &mut Job) -> rusqlite::Result<bool> {
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(conn)));
    if conn.is_autocommit() {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
            Some("a request ended the group's transaction".into()),
        ));
    }
    Ok(ran.unwrap_or(false))
}

/// Runs the group's requests without savepoints, taking into the group
/// the requests that arrive meanwhile (they would otherwise wait for this
/// group's commit and then pay one of their own) and those `gather` waits
/// for. Returns `false` as soon as one fails after changing rows: the group
/// must then be replayed.
fn run_together(
    conn: &Connection,
    group: &mut Vec<Job>,
    queue: &mpsc::Receiver<Job>,
    gather: &Gather,
) -> rusqlite::Result<bool> {
    let mut next = 0;
    loop {
        if next == group.len() && !gather.more(queue, group) {
            return Ok(true);
        }
        let before = conn.total_changes();
        if !run_one(conn, &mut group[next])? && conn.total_changes() != before {
            return Ok(false);
        }
        next += 1;
    }
}

/// Runs each of the group's requests in its own savepoint: a request that
/// fails rolls back alone.
fn run_isolated(conn: &Connection, group: &mut [Job]) -> rusqlite::Result<()> {
    for job in group {
        exec(conn, "SAVEPOINT request")?;
        if !run_one(conn, job)? {
            exec(conn, "ROLLBACK TO request")?;
        }
        exec(conn, "RELEASE request")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
