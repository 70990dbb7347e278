//! The local cache: one SQLite file per profile, WAL, `synchronous=NORMAL`,
//! 8 KiB pages, one writing connection and up to two reading ones (views),
//! WAL checkpoints in a thread of their own (`licensedesk_sqlite`),
//! temporary storage (statement journals) in memory, plans independent of
//! bound values,
//! numbered migrations embedded in the binary (`migrations/NNNN_name.sql`,
//! version in `PRAGMA user_version`), every write in `BEGIN IMMEDIATE`.

pub(crate) mod apply;
pub(crate) mod bulk;

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use licensedesk_sqlite::Checkpoints;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::{Error, Result};

/// Embedded migrations, in order; `user_version` = how many are applied.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../migrations/0001_init.sql")),
    (
        "0002_pool_counts",
        include_str!("../../migrations/0002_pool_counts.sql"),
    ),
    (
        "0003_statements",
        include_str!("../../migrations/0003_statements.sql"),
    ),
    (
        "0004_deferred_schema",
        include_str!("../../migrations/0004_deferred_schema.sql"),
    ),
    (
        "0005_device_indexes",
        include_str!("../../migrations/0005_device_indexes.sql"),
    ),
];

/// Page size of a new cache file (bytes). SQLite's default is 4 KiB. A first
/// sync writes every page twice (to the WAL, then the checkpoint copies it
/// into the file), one call per page: at 4 KiB that was about 900,000 read
/// and write calls for a million devices, a third of the sync process's
/// CPU time (system time). 8 KiB pages halve the calls for the same bytes.
/// 16 KiB made a first sync no faster, and row-by-row writes into the
/// indexes (each dirtying a whole page) half again slower. A file keeps
/// the size it was made with (in WAL mode it cannot change), so only
/// caches made from now on have it.
const PAGE_SIZE: i64 = 8_192;

/// Connections that only read (views), besides the one that writes.
const READERS: usize = 2;
/// Page cache of a reading connection (KiB, as `cache_size`).
const READER_CACHE_KIB: i64 = 16_000;

/// A cache database. Cheap to clone. One connection writes (SQLite
/// serialises writers anyway); the views read through up to READERS others
/// (WAL: each read is one snapshot of the last commit), so a long read (a
/// chart over a million codes, a first sync's page) does not hold up the
/// table's next rows.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// The writer's WAL checkpoints, copied into the file by a thread of
    /// their own while the writer goes on (a first sync's pages, its
    /// indexes: about a second of the writer's time otherwise).
    checkpoints: Checkpoints,
    /// Opened on first use.
    readers: [Mutex<Option<Connection>>; READERS],
    /// Which commit the rows are at, as a seqlock: odd while a write is
    /// running, even between writes, never the same twice. Something
    /// derived from a read ([`Cache::derived`]) is valid as long as it has
    /// not moved.
    generation: AtomicU64,
    /// Values derived from the rows, by name, with the generation they
    /// were read at (see [`Cache::derived`]).
    derived: Mutex<Vec<Derived>>,
}

/// A value derived from the rows: its name, the generation it was read at,
/// the value.
type Derived = (&'static str, u64, Arc<dyn Any + Send + Sync>);

/// Moves the generation to odd when a write starts, and back to even when
/// it ends (committed, rolled back or unwound).
struct Writing<'a>(&'a AtomicU64);

impl<'a> Writing<'a> {
    fn start(generation: &'a AtomicU64) -> Self {
        generation.fetch_add(1, Ordering::SeqCst);
        Self(generation)
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// Opens a connection with the cache's pragmas.
pub fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // Only a file without its first page takes it: before WAL (which
    // writes that page).
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.pragma_update(None, "cache_size", -32_000)?;
    // Statement journals in memory. A write to `codes` runs the pool
    // counter triggers, so SQLite keeps a statement journal of every page
    // it touches; with the default temporary storage, once one statement's
    // journal passes 64 KiB it moves to a temporary file that then serves
    // the rest of the transaction, at two write syscalls per page. In a
    // full sync that was about half of the sync process's CPU time (mostly
    // system time). The cache creates no temporary tables and its views
    // read through indexes, so the rest of temporary storage stays small.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Query planner stability (as on the server): a plan never depends on
    // a bound value. Without it, a statement whose plan looked at one is
    // expired whenever that parameter is bound again, and rusqlite's
    // statement cache then parses and plans it on every use. The sync's
    // device statements were such (their `device_id = ?1` is matched
    // against the partial index `codes_device`): re-preparing them took a
    // third of the client's CPU time in a first sync (perf).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// A connection for views: the cache's pragmas, a smaller page cache, and
/// no writes (`query_only`).
fn open_reader(path: &Path) -> Result<Connection> {
    let conn = open_connection(path)?;
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// Applies pending migrations in one transaction.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_with(conn, MIGRATIONS)
}

/// Applies the pending ones of `migrations` (in order; `user_version` = how
/// many are applied) in one transaction.
pub(crate) fn migrate_with(conn: &mut Connection, migrations: &[(&str, &str)]) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = migrations.len() as i64;
    if version > known {
        return Err(Error::CacheTooNew {
            found: version,
            known,
        });
    }
    // A migration finds the cache's schema whole: a bulk load cut short
    // (its counters exact at every commit) gets its indexes and triggers
    // back first (`deferred_schema` is the cache's; other stores lack it).
    let deferred: bool = version < known
        && tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'deferred_schema')",
            [],
            |r| r.get(0),
        )?;
    if deferred {
        bulk::restore(&tx)?;
    }
    for (_, sql) in &migrations[version as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(())
}

impl Cache {
    /// Opens (creating if needed) the cache file at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut conn = open_connection(path)?;
        migrate(&mut conn)?;
        // A first sync stopped between its last page and its indexes.
        if bulk::unfinished(&conn)? {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            bulk::restore(&tx)?;
            tx.commit()?;
        }
        let checkpoints = Checkpoints::start(&mut conn, open_connection(path)?)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                conn: Mutex::new(conn),
                checkpoints,
                readers: std::array::from_fn(|_| Mutex::new(None)),
                generation: AtomicU64::new(0),
                derived: Mutex::new(Vec::new()),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.inner.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction; commits on `Ok`.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        let _writing = Writing::start(&self.inner.generation);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        self.inner.checkpoints.after_commit(&conn);
        Ok(out)
    }

    /// Runs `f` on a reading connection inside a read transaction (one
    /// snapshot of the last commit): a free one, else the first one's turn.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut guard = self
            .inner
            .readers
            .iter()
            .find_map(|r| match r.try_lock() {
                Ok(g) => Some(g),
                Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            })
            .unwrap_or_else(|| {
                self.inner.readers[0]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
            });
        let conn = match &mut *guard {
            Some(conn) => conn,
            slot => slot.insert(open_reader(&self.inner.path)?),
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` like [`Cache::read`], with the generation of the rows its
    /// snapshot sees when it is known: no write ran while the snapshot
    /// began. (`None`: one did; what `f` derives is then not to be kept.)
    pub(crate) fn read_versioned<T>(
        &self,
        f: impl FnOnce(&Connection, Option<u64>) -> Result<T>,
    ) -> Result<T> {
        let before = self.inner.generation.load(Ordering::SeqCst);
        self.read(|c| {
            let at = self.snapshot_generation(c, before)?;
            f(c, at)
        })
    }

    /// Like [`Cache::read_versioned`] on a connection of its own, opened for
    /// this read: a long read in the background that must not hold up the
    /// views' readers.
    pub(crate) fn read_versioned_alone<T>(
        &self,
        f: impl FnOnce(&Connection, Option<u64>) -> Result<T>,
    ) -> Result<T> {
        let before = self.inner.generation.load(Ordering::SeqCst);
        let mut conn = open_reader(&self.inner.path)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let at = self.snapshot_generation(&tx, before)?;
        let out = f(&tx, at)?;
        tx.commit()?;
        Ok(out)
    }

    /// Begins the snapshot of `c`'s read transaction (at its first read of
    /// the file) and returns its generation: `before` (read before the
    /// transaction began) when no write ran meanwhile, else `None`.
    fn snapshot_generation(&self, c: &Connection, before: u64) -> Result<Option<u64>> {
        c.prepare_cached("SELECT 1 FROM meta LIMIT 1")?.exists([])?;
        let after = self.inner.generation.load(Ordering::SeqCst);
        Ok((before == after && before.is_multiple_of(2)).then_some(before))
    }

    /// The value derived under `name` from the rows at `generation`, if it
    /// was kept ([`Cache::keep_derived`]) from a read of the same rows.
    pub(crate) fn derived<T: Any + Send + Sync>(
        &self,
        name: &str,
        generation: u64,
    ) -> Option<Arc<T>> {
        let kept = self.inner.derived.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter()
            .find(|(n, g, _)| *n == name && *g == generation)
            .and_then(|(_, _, v)| Arc::clone(v).downcast::<T>().ok())
    }

    /// Keeps `value`, derived under `name` from the rows at `generation`
    /// (in place of the one kept before), while no write has run since.
    pub(crate) fn keep_derived<T: Any + Send + Sync>(
        &self,
        name: &'static str,
        generation: u64,
        value: Arc<T>,
    ) {
        let mut kept = self.inner.derived.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|(n, _, _)| *n != name);
        if self.inner.generation.load(Ordering::SeqCst) == generation {
            kept.push((name, generation, value));
        }
    }

    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        get_meta(&self.conn(), key)
    }
}

pub(crate) fn get_meta(c: &Connection, key: &str) -> Result<Option<String>> {
    Ok(c.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn set_meta(c: &Connection, key: &str, value: &str) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
    )?
    .execute([key, value])?;
    Ok(())
}

/// Empties the mirror: the account's rows and the sync's place in the
/// server's history (cursors, counters, the server's keys and time), so
/// that the next sync starts it over as on a fresh cache. What is not the
/// server's is kept: the outbox (actions queued offline) and the clock
/// guard's mark.
pub(crate) fn reset_mirror(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM codes; DELETE FROM devices; DELETE FROM batches; DELETE FROM products;
         DELETE FROM account; DELETE FROM usage_days; DELETE FROM usage_now; DELETE FROM pool_counts;
         DELETE FROM statements;",
    )?;
    // A snapshot cut short may have left the tables bare: whole again (at
    // no cost, empty), as the next sync may replay the feed instead.
    bulk::restore(tx)?;
    for key in [
        keys::CURSOR,
        keys::CHANGES_SEEN,
        keys::FULL_DONE,
        keys::SNAPSHOT_CURSOR,
        keys::SNAPSHOT_UPTO,
        keys::SNAPSHOT_ROWS,
        keys::SNAPSHOT_DONE,
        keys::SNAPSHOT_TOTAL,
        keys::SERVER_TIME,
        keys::KEYSET,
    ] {
        tx.prepare_cached("DELETE FROM meta WHERE key = ?1")?
            .execute([key])?;
    }
    Ok(())
}

/// Meta keys.
pub(crate) mod keys {
    pub const CURSOR: &str = "sync.cursor";
    /// Changes applied over the cache's life (each exactly once).
    pub const CHANGES_SEEN: &str = "sync.changes_seen";
    pub const FULL_DONE: &str = "sync.full_done";
    /// Where an unfinished snapshot resumes (absent once it is complete).
    pub const SNAPSHOT_CURSOR: &str = "sync.snapshot_cursor";
    /// The feed cursor the snapshot is complete up to.
    pub const SNAPSHOT_UPTO: &str = "sync.snapshot_upto";
    /// Code and device rows the snapshot applied (each exactly once).
    pub const SNAPSHOT_ROWS: &str = "sync.snapshot_rows";
    /// Rows of all three sections the snapshot applied, and the server's
    /// count of them when it started (progress).
    pub const SNAPSHOT_DONE: &str = "sync.snapshot_done";
    pub const SNAPSHOT_TOTAL: &str = "sync.snapshot_total";
    pub const LAST_SYNCED: &str = "sync.last_synced_at";
    pub const SERVER_TIME: &str = "clock.server_time";
    pub const CLOCK_MARK: &str = "clock.high_water";
    pub const KEYSET: &str = "server.keyset";
    pub const TIME_ZONE: &str = "account.time_zone";
}

/// The stored form of an instant (the server's: fixed width, microseconds).
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Protocol(format!("bad time {s:?}: {e}")))
}

/// '' or NULL = none.
pub fn parse_opt(s: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    match s {
        None | Some("") => Ok(None),
        Some(s) => parse_ts(s).map(Some),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::mpsc;

    use super::*;

    /// The query plan of a device statement (`?1`..`?9` as its row).
    pub(crate) fn device_plan(c: &Connection, sql: &str) -> Vec<String> {
        c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("plan")
            .query_map(rusqlite::params![1, "", "", "", "", 0, "", "", ""], |r| {
                r.get(3)
            })
            .expect("plan")
            .collect::<rusqlite::Result<_>>()
            .expect("plan")
    }

    /// A view reads while a long read and a write are in progress, and sees
    /// the last commit.
    #[test]
    fn reads_go_on_beside_a_long_read_and_a_write() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = Cache::open(&dir.path().join("c.sqlite3")).expect("cache");
        cache
            .write(|tx| set_meta(tx, "k", "committed"))
            .expect("write");
        let (hold, held) = (mpsc::channel::<()>(), mpsc::channel::<()>());
        let long_read = {
            let cache = cache.clone();
            std::thread::spawn(move || {
                cache.read(|c| {
                    let first = get_meta(c, "k")?;
                    held.0.send(()).expect("held");
                    hold.1.recv().expect("release");
                    Ok((first, get_meta(c, "k")?))
                })
            })
        };
        held.1.recv().expect("the long read holds a reader");
        let writer = cache.conn();
        writer
            .execute_batch("BEGIN IMMEDIATE; UPDATE meta SET value = 'uncommitted' WHERE key = 'k'")
            .expect("write in progress");
        let seen = cache.read(|c| get_meta(c, "k")).expect("read");
        assert_eq!(seen.as_deref(), Some("committed"));
        writer.execute_batch("COMMIT").expect("commit");
        drop(writer);
        assert_eq!(
            cache.read(|c| get_meta(c, "k")).expect("read").as_deref(),
            Some("uncommitted")
        );
        hold.0.send(()).expect("release");
        let (first, second) = long_read.join().expect("join").expect("long read");
        assert_eq!(first, second, "one snapshot for the whole read");
    }

    /// A new cache gets PAGE_SIZE; one made with SQLite's default keeps
    /// its pages (WAL cannot change them) and opens and writes as before.
    #[test]
    fn new_caches_get_the_larger_page_and_older_ones_keep_theirs() {
        let dir = tempfile::tempdir().expect("dir");
        let page = |path: &Path| -> i64 {
            Connection::open(path)
                .expect("open")
                .query_row("PRAGMA page_size", [], |r| r.get(0))
                .expect("page size")
        };
        let new = dir.path().join("new.sqlite3");
        let cache = Cache::open(&new).expect("cache");
        cache.write(|tx| set_meta(tx, "k", "v")).expect("write");
        drop(cache);
        assert_eq!(page(&new), PAGE_SIZE);

        let old = dir.path().join("old.sqlite3");
        {
            let c = Connection::open(&old).expect("open");
            c.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;")
                .expect("old cache");
            c.execute_batch("CREATE TABLE t (x)").expect("first page");
        }
        let cache = Cache::open(&old).expect("an older cache opens");
        cache.write(|tx| set_meta(tx, "k", "v")).expect("write");
        assert_eq!(
            cache.read(|c| get_meta(c, "k")).expect("read").as_deref(),
            Some("v")
        );
        drop(cache);
        assert_eq!(page(&old), 4096);
    }
}
