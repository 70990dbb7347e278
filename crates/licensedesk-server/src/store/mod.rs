//! The store: every SQL statement and row type of the server, one module
//! per aggregate, and the domain verbs the API and the jobs call
//! (`connect_device`, `credit_batch`, `close_month`, …).
//!
//! A verb is written once, as a function generic over the engine's
//! connection ([`crate::db::Conn`]): it reads, lets `licensedesk-core`
//! decide, and writes, inside one transaction that the engine runs
//! ([`Store`]'s `write!` and `read!`). The SQL is the subset both engines
//! read alike (see `db::conn`).
//!
//! A write verb is handed the request's [`Ctx`]: its time, and its
//! `Idempotency-Key` record, which is written in the same transaction as
//! the effect (and replayed instead of running the verb again, when a
//! previous attempt committed but its response was lost).

pub mod accounts;
pub mod attempts;
pub mod changes;
pub mod codes;
pub mod devices;
pub mod field;
pub mod floating;
pub mod gateways;
pub mod idempotency;
pub mod nodes;
pub mod products;
pub mod statements;
pub mod usage;
pub mod views;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::pg::{Pg, PgConn};
use crate::db::{Db, Engine, SqliteConn, ready};
use crate::error::Result;

/// What a write needs of its request: the time, and the idempotency record
/// to keep with the effect (if the request carries a key).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub now: DateTime<Utc>,
    pub key: Option<idempotency::Keyed>,
}

impl Ctx {
    /// A write of no request (maintenance, the demo, a test).
    pub fn at(now: DateTime<Utc>) -> Self {
        Self { now, key: None }
    }
}

/// The store on its engine. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    engine: Handle,
}

#[derive(Clone)]
enum Handle {
    Sqlite(Db),
    Postgres(Pg),
}

/// Runs a write verb in one transaction of the store's engine, with the
/// context's idempotency record: `write!(store, ctx, [captured values],
/// |c| verb(c, …))`. The verb may run more than once (a retried or
/// replayed transaction), so it acts on nothing but `c`; the values named
/// are what its future owns on an engine that awaits (cloned per try).
macro_rules! write {
    ($store:expr, $ctx:expr, [$($v:ident),*], |$c:ident| $call:expr) => {
        $crate::store::write!(@in None, $store, $ctx, [$($v),*], |$c| $call)
    };
    ($store:expr, $ctx:expr, lane = $lane:expr, [$($v:ident),*], |$c:ident| $call:expr) => {
        $crate::store::write!(@in Some($lane), $store, $ctx, [$($v),*], |$c| $call)
    };
    (@in $lane:expr, $store:expr, $ctx:expr, [$($v:ident),*], |$c:ident| $call:expr) => {{
        let store: &$crate::store::Store = &$store;
        let ctx: &$crate::store::Ctx = $ctx;
        async move {
            match store.engine() {
                // One writer: every write is in one lane (never computed).
                $crate::store::EngineRef::Sqlite => {
                    store.write_sqlite(ctx, move |$c| $crate::db::ready($call)).await
                }
                $crate::store::EngineRef::Postgres(pg) => {
                    if let Some(stored) = ctx.key.as_ref().and_then(|k| k.replay.clone()) {
                        return Ok(serde_json::from_str(&stored)?);
                    }
                    let (key, now) = (ctx.key.clone(), ctx.now);
                    let lane: Option<$crate::store::Lane> = $lane;
                    // Boxed: the SQLite path's future stays the size of
                    // its own state, not of PostgreSQL's retries and pool.
                    Box::pin(pg.write(lane.map(|l| l.0), move |$c| {
                        $(let $v = $v.clone();)*
                        let key = key.clone();
                        Box::pin(async move {
                            if let Some(done) = $crate::store::replayed($c, key.as_ref()).await? {
                                return Ok(done);
                            }
                            let out = $call.await?;
                            $crate::store::keep($c, key.as_ref(), &out, now).await?;
                            Ok(out)
                        })
                    }))
                    .await
                }
            }
        }
    }};
}

/// Runs a read verb in one read transaction: `read!(store, [captured
/// values], |c| verb(c, …))`.
macro_rules! read {
    ($store:expr, [$($v:ident),*], |$c:ident| $call:expr) => {{
        let store: &$crate::store::Store = &$store;
        async move {
            match store.engine() {
                $crate::store::EngineRef::Sqlite => {
                    store.read_sqlite(move |$c| $crate::db::ready($call)).await
                }
                $crate::store::EngineRef::Postgres(pg) => {
                    Box::pin(pg.read(move |$c| Box::pin(async move { $call.await }))).await
                }
            }
        }
    }};
}

pub(crate) use {read, write};

/// Writes that would all contend for the same rows (the writes of one
/// product's pool, [`Lane::pool`]): on
/// PostgreSQL, the writes of one lane run one after another across every
/// node (a session advisory lock on the lane, taken before the
/// transaction starts, so its snapshot sees the previous one's commit)
/// instead of aborting each other under `SERIALIZABLE`. Correctness never
/// rests on it: a write outside its lane (an older node) is still
/// serializable. SQLite has one writer: one lane for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lane(pub i64);

impl Lane {
    /// The lane of `parts`, the same on every node and build (SHA-256).
    pub fn of(parts: &[&str]) -> Self {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p.as_bytes());
        }
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        Self(i64::from_le_bytes(b))
    }

    /// The writes of product `pk`'s pool: its connections (each takes the
    /// pool's next free code and moves its kept counts) and the credits
    /// and assignments that add to those counts. (Named "connect", as
    /// when connections alone ran in it: a node of either build queues in
    /// the same lane.)
    pub fn pool(account: i64, pk: &str) -> Self {
        Self::of(&["connect", &account.to_string(), pk])
    }
}

/// The store's engine, for the macros.
pub(crate) enum EngineRef<'a> {
    Sqlite,
    Postgres(&'a Pg),
}

impl Store {
    /// The store on a SQLite database.
    pub fn sqlite(db: Db) -> Self {
        Self {
            engine: Handle::Sqlite(db),
        }
    }

    /// The store on a PostgreSQL database.
    pub fn postgres(pg: Pg) -> Self {
        Self {
            engine: Handle::Postgres(pg),
        }
    }

    /// Which engine the store is on.
    pub fn kind(&self) -> Engine {
        match &self.engine {
            Handle::Sqlite(_) => Engine::Sqlite,
            Handle::Postgres(_) => Engine::Postgres,
        }
    }

    pub(crate) fn engine(&self) -> EngineRef<'_> {
        match &self.engine {
            Handle::Sqlite(_) => EngineRef::Sqlite,
            Handle::Postgres(pg) => EngineRef::Postgres(pg),
        }
    }

    /// The SQLite database, for what only it does (backup, the crash tests).
    pub fn sqlite_db(&self) -> Option<&Db> {
        match &self.engine {
            Handle::Sqlite(db) => Some(db),
            Handle::Postgres(_) => None,
        }
    }

    pub(crate) async fn write_sqlite<T, F>(&self, ctx: &Ctx, f: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(&SqliteConn<'_>) -> Result<T> + Send + 'static,
    {
        if let Some(stored) = ctx.key.as_ref().and_then(|k| k.replay.clone()) {
            return Ok(serde_json::from_str(&stored)?);
        }
        let (key, now) = (ctx.key.clone(), ctx.now);
        let Handle::Sqlite(db) = &self.engine else {
            unreachable!("write_sqlite on another engine")
        };
        db.write(move |conn| {
            let c = SqliteConn(conn);
            let out = f(&c)?;
            if let Some(k) = &key {
                ready(idempotency::reserve(
                    &c,
                    k,
                    &serde_json::to_string(&out)?,
                    now,
                ))?;
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn read_sqlite<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteConn<'_>) -> Result<T> + Send + 'static,
    {
        let Handle::Sqlite(db) = &self.engine else {
            unreachable!("read_sqlite on another engine")
        };
        db.read(move |conn| {
            // One read transaction: a verb's statements see one state.
            let tx = conn.unchecked_transaction()?;
            let out = f(&SqliteConn(&tx))?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}

/// On PostgreSQL, the record of a request's key written meanwhile (by
/// another node: the concurrent write that made this one try again): its
/// write's result to return, or [`crate::error::ApiError::Replay`] when its
/// final answer is recorded (the idempotency middleware replays that).
pub(crate) async fn replayed<T: DeserializeOwned>(
    c: &PgConn<'_>,
    key: Option<&idempotency::Keyed>,
) -> Result<Option<T>> {
    let Some(k) = key else { return Ok(None) };
    match idempotency::recorded(c, k).await? {
        None => Ok(None),
        Some(found) if found.request_hash != k.request_hash => {
            Err(crate::error::ApiError::IdempotencyKeyReused)
        }
        Some(found) if found.status == 0 => Ok(Some(serde_json::from_slice(&found.body)?)),
        Some(_) => Err(crate::error::ApiError::Replay),
    }
}

/// Records a keyed write's result with its effect (PostgreSQL).
pub(crate) async fn keep<T: Serialize>(
    c: &PgConn<'_>,
    key: Option<&idempotency::Keyed>,
    out: &T,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(k) = key {
        idempotency::reserve(c, k, &serde_json::to_string(out)?, now).await?;
    }
    Ok(())
}
