//! PostgreSQL: a pool of connections (deadpool-postgres over
//! tokio-postgres), one `SERIALIZABLE` transaction per write and one
//! `REPEATABLE READ READ ONLY` per read, and the migrations of
//! `migrations/postgres/`, applied at start under an advisory lock so that
//! several nodes starting together apply them once.
//!
//! **Several nodes on one database.** The store's verbs read, let core
//! decide and write, as if alone: on SQLite they are (one writer thread);
//! here `SERIALIZABLE` makes them so (PostgreSQL aborts a transaction that
//! could not have run alone with SQLSTATE 40001, or 40P01 for a deadlock),
//! and the write is run again from the start, a bounded number of times.
//! A key that another node is writing at the same moment is such a
//! conflict too (its `UNIQUE` index), so an `Idempotency-Key` is honoured
//! across nodes: the retry finds the record and replays it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls};

use crate::db::conn::{Conn, Engine, Param, Row};
use crate::error::{ApiError, Result};

/// Times a write is tried when PostgreSQL keeps refusing it as conflicting.
const ATTEMPTS: u32 = 40;
/// Connections per node.
const POOL_SIZE: usize = 16;

/// The migrations, `(version, name, sql)`, versioned as SQLite's are (the
/// schema at version N is the same on both).
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        11,
        "init",
        include_str!("../../migrations/postgres/0011_init.sql"),
    ),
    (
        12,
        "failed_attempts",
        include_str!("../../migrations/postgres/0012_failed_attempts.sql"),
    ),
    (
        13,
        "code_counts",
        include_str!("../../migrations/postgres/0013_code_counts.sql"),
    ),
];

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Pg {
    pool: Pool,
}

/// A future a write or read runs on a connection.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
                    // SSI's shared tables full ("not enough elements in
                    // RWConflictPool"): transient under a burst, it eases
                    // as transactions end, so it is retried like a conflict.
                    || *c == SqlState::OUT_OF_MEMORY =>
            {
                Self::Retry(e.to_string())
            }
            Some(c) if *c == SqlState::UNIQUE_VIOLATION => Self::Constraint(e.to_string()),
            _ => {
                // tokio-postgres's Display is only "db error": name the
                // server's message and SQLSTATE, as SQLite's errors do.
                let detail = e.as_db_error().map_or_else(
                    || e.to_string(),
                    |d| format!("{} (SQLSTATE {})", d.message(), d.code().code()),
                );
                tracing::error!(error = %detail, "database error");
                Self::Internal(format!("database: {detail}"))
            }
        }
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Internal(format!("database pool: {e}"))
    }
}

impl Pg {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies the
    /// pending migrations.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| anyhow::anyhow!("database URL {url:?}: {e}"))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(Duration::from_secs(30)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()?;
        let pg = Self { pool };
        pg.migrate().await?;
        Ok(pg)
    }

    /// Applies every migration newer than the database's version, in one
    /// transaction holding an advisory lock (nodes starting together wait
    /// for the first, then find nothing to do).
    async fn migrate(&self) -> anyhow::Result<u32> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(7343766354)", &[])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .await?;
        let current: i64 = tx
            .query_opt("SELECT version FROM schema_version", &[])
            .await?
            .map_or(0, |r| r.get(0));
        let latest = crate::db::migrations::MIGRATIONS.last().map_or(0, |m| m.0);
        if current > i64::from(latest) {
            anyhow::bail!(
                "the database's schema is version {current}, newer than this server's {latest}: run a newer server"
            );
        }
        let mut version = current;
        for (v, name, sql) in MIGRATIONS {
            if i64::from(*v) > version {
                tx.batch_execute(sql)
                    .await
                    .map_err(|e| anyhow::anyhow!("migration {v} ({name}): {e}"))?;
                version = i64::from(*v);
            }
        }
        if version != current {
            tx.execute("DELETE FROM schema_version", &[]).await?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&version],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(u32::try_from(version).unwrap_or(0))
    }

    /// Runs `f` in a `SERIALIZABLE` transaction, committed when it
    /// succeeds, tried again from the start when PostgreSQL finds it
    /// conflicting with another (its result and effects are the last try's).
    /// With a `lane` (`store::Lane`), the tries run holding the lane's
    /// session advisory lock, taken before the transaction begins.
    pub async fn write<T, F>(&self, lane: Option<i64>, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> Fn(&'c PgConn<'c>) -> BoxFuture<'c, T> + Send + Sync,
    {
        let mut conn = Laned::take(self.pool.get().await?, lane).await?;
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let tx = conn
                .client()
                .build_transaction()
                .isolation_level(IsolationLevel::Serializable)
                .start()
                .await?;
            let out = {
                let c = PgConn(&tx);
                f(&c).await
            };
            let committed = match out {
                Ok(v) => tx.commit().await.map(|()| v).map_err(ApiError::from),
                Err(e) => {
                    drop(tx); // rolled back
                    Err(e)
                }
            };
            match committed {
                Err(ApiError::Retry(why)) => last = why,
                other => {
                    conn.release().await;
                    return other;
                }
            }
        }
        conn.release().await;
        tracing::warn!("a write kept conflicting with others ({ATTEMPTS} tries): {last}");
        Err(ApiError::Retry(last))
    }

    /// Runs `f` in a `REPEATABLE READ READ ONLY` transaction (one view of
    /// the database for all of its statements).
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c PgConn<'c>) -> BoxFuture<'c, T> + Send,
    {
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let out = {
            let c = PgConn(&tx);
            f(&c).await?
        };
        tx.commit().await?;
        Ok(out)
    }
}

/// A pooled connection holding a lane's session advisory lock, if any.
/// Released by [`Laned::release`]; a write dropped before that (its
/// request cancelled mid-transaction) takes the connection out of the pool
/// instead, and closing it frees the lock: a lane is never left locked.
struct Laned {
    client: Option<deadpool_postgres::Object>,
    lane: Option<i64>,
}

impl Laned {
    async fn take(client: deadpool_postgres::Object, lane: Option<i64>) -> Result<Self> {
        if let Some(l) = lane {
            client.execute("SELECT pg_advisory_lock($1)", &[&l]).await?;
        }
        Ok(Self {
            client: Some(client),
            lane,
        })
    }

    fn client(&mut self) -> &mut deadpool_postgres::Object {
        self.client.as_mut().expect("a connection until released")
    }

    async fn release(&mut self) {
        let Some(l) = self.lane else { return };
        let unlocked = match &self.client {
            Some(c) => c
                .execute("SELECT pg_advisory_unlock($1)", &[&l])
                .await
                .is_ok(),
            None => false,
        };
        if unlocked {
            self.lane = None; // back to the pool, unlocked
        }
    }
}

impl Drop for Laned {
    fn drop(&mut self) {
        if self.lane.is_some()
            && let Some(c) = self.client.take()
        {
            // Still locked: never back to the pool; the connection closes.
            drop(deadpool_postgres::Object::take(c));
        }
    }
}

/// How long to wait before try `attempt` (1, 2, …) of a write that lost a
/// conflict: a random time up to a bound that doubles from 2 ms to 128 ms
/// ("full jitter"), so the transactions that collided do not meet again.
fn backoff(attempt: u32) -> Duration {
    let bound_us = 2_000u64 << attempt.min(6);
    let mut b = [0u8; 8];
    let r = getrandom::fill(&mut b).map_or(bound_us / 2, |()| u64::from_le_bytes(b));
    Duration::from_micros(r % bound_us)
}

/// A PostgreSQL transaction's connection.
pub struct PgConn<'a>(pub &'a deadpool_postgres::Transaction<'a>);

fn pg_params<'p>(
    params: &'p [&'p dyn Param],
) -> Vec<&'p (dyn tokio_postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| *p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect()
}

impl Conn for PgConn<'_> {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    async fn exec(&self, sql: &str, params: &[&dyn Param]) -> Result<u64> {
        let st = self.0.prepare_cached(sql).await?;
        Ok(self.0.execute(&st, &pg_params(params)).await?)
    }

    async fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let st = self.0.prepare_cached(sql).await?;
        let rows = self.0.query(&st, &pg_params(params)).await?;
        rows.iter().map(|r| f(&Row::Pg(r))).collect()
    }

    async fn opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let st = self.0.prepare_cached(sql).await?;
        let rows = self.0.query(&st, &pg_params(params)).await?;
        rows.first().map(|r| f(&Row::Pg(r))).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    /// The schema at a version is the same on both engines: PostgreSQL's
    /// migrations end where SQLite's do (a new SQLite migration without
    /// its PostgreSQL twin fails here), in order.
    #[test]
    fn versioned_as_sqlite() {
        let sqlite = crate::db::migrations::MIGRATIONS.last().map(|m| m.0);
        assert_eq!(MIGRATIONS.last().map(|m| m.0), sqlite);
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
