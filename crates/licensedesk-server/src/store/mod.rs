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
pub mod changes;
pub mod codes;
pub mod devices;
pub mod field;
pub mod floating;
pub mod gateways;
pub mod idempotency;
pub mod products;
pub mod statements;
pub mod usage;
pub mod views;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::{Db, SqliteConn, ready};
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
}

/// Runs a write verb in one transaction of the store's engine, with the
/// context's idempotency record: `write!(store, ctx, [captured values],
/// |c| verb(c, …))`. The verb may run more than once (a retried or
/// replayed transaction), so it acts on nothing but `c`; the values named
/// are what its future owns on an engine that awaits.
macro_rules! write {
    ($store:expr, $ctx:expr, [$($v:ident),*], |$c:ident| $call:expr) => {{
        $(let _ = &$v;)*
        $store.write_sqlite($ctx, move |$c| $crate::db::ready($call))
    }};
}

/// Runs a read verb in one read transaction: `read!(store, [captured
/// values], |c| verb(c, …))`.
macro_rules! read {
    ($store:expr, [$($v:ident),*], |$c:ident| $call:expr) => {{
        $(let _ = &$v;)*
        $store.read_sqlite(move |$c| $crate::db::ready($call))
    }};
}

pub(crate) use {read, write};

impl Store {
    /// The store on a SQLite database.
    pub fn sqlite(db: Db) -> Self {
        Self {
            engine: Handle::Sqlite(db),
        }
    }

    /// The SQLite database, for what only it does (backup, the crash tests).
    pub fn sqlite_db(&self) -> Option<&Db> {
        match &self.engine {
            Handle::Sqlite(db) => Some(db),
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
        let Handle::Sqlite(db) = &self.engine;
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
        let Handle::Sqlite(db) = &self.engine;
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
