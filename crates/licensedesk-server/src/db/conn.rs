//! The one seam between the store and an engine: a transaction's
//! connection that runs a statement, with its parameters, and maps the
//! rows it returns.
//!
//! The store's SQL is written once, in the subset both engines read the
//! same way: `$1`-numbered parameters (SQLite reads `$N` as a name: each is
//! bound by the N of its name, see [`SqliteConn`]),
//! integers as 64-bit, flags as `TRUE`/`FALSE`, instants as the fixed-width
//! RFC 3339 text of [`crate::time`] (so string order is time order on both),
//! `RETURNING`, `ON CONFLICT`, and casts where PostgreSQL's types would
//! differ (`CAST(SUM(x) AS BIGINT)`). What only one engine can say (the
//! change feed's order on PostgreSQL, say) asks [`Conn::engine`].
//!
//! A SQLite transaction runs on the writer thread, where nothing waits: its
//! futures are ready at once ([`ready`]); a PostgreSQL transaction awaits
//! the server.

use chrono::{DateTime, Utc};

use crate::error::{ApiError, Result};

/// Which engine a connection is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A statement parameter both engines can bind.
pub trait Param: rusqlite::ToSql + tokio_postgres::types::ToSql + Sync {}
impl<T: rusqlite::ToSql + tokio_postgres::types::ToSql + Sync> Param for T {}

/// One row of a result, whichever engine read it.
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Pg(&'a tokio_postgres::Row),
}

fn column(e: impl std::fmt::Display, idx: usize) -> ApiError {
    ApiError::Internal(format!("reading column {idx}: {e}"))
}

impl Row<'_> {
    pub fn i64(&self, idx: usize) -> Result<i64> {
        match self {
            Self::Sqlite(r) => r.get(idx).map_err(|e| column(e, idx)),
            Self::Pg(r) => r.try_get(idx).map_err(|e| column(e, idx)),
        }
    }

    pub fn opt_i64(&self, idx: usize) -> Result<Option<i64>> {
        match self {
            Self::Sqlite(r) => r.get(idx).map_err(|e| column(e, idx)),
            Self::Pg(r) => r.try_get(idx).map_err(|e| column(e, idx)),
        }
    }

    /// A count or an amount that cannot be negative.
    pub fn u64(&self, idx: usize) -> Result<u64> {
        Ok(self.i64(idx)?.max(0) as u64)
    }

    pub fn u32(&self, idx: usize) -> Result<u32> {
        let v = self.i64(idx)?;
        u32::try_from(v).map_err(|_| column(format!("{v} is not a u32"), idx))
    }

    /// A flag: SQLite stores `TRUE` as 1.
    pub fn bool(&self, idx: usize) -> Result<bool> {
        match self {
            Self::Sqlite(r) => r.get(idx).map_err(|e| column(e, idx)),
            Self::Pg(r) => r.try_get(idx).map_err(|e| column(e, idx)),
        }
    }

    pub fn str(&self, idx: usize) -> Result<&str> {
        match self {
            Self::Sqlite(r) => r
                .get_ref(idx)
                .and_then(|v| v.as_str().map_err(Into::into))
                .map_err(|e| column(e, idx)),
            Self::Pg(r) => r.try_get(idx).map_err(|e| column(e, idx)),
        }
    }

    pub fn opt_str(&self, idx: usize) -> Result<Option<&str>> {
        match self {
            Self::Sqlite(r) => r
                .get_ref(idx)
                .and_then(|v| v.as_str_or_null().map_err(Into::into))
                .map_err(|e| column(e, idx)),
            Self::Pg(r) => r.try_get(idx).map_err(|e| column(e, idx)),
        }
    }

    pub fn string(&self, idx: usize) -> Result<String> {
        self.str(idx).map(str::to_owned)
    }

    pub fn opt_string(&self, idx: usize) -> Result<Option<String>> {
        Ok(self.opt_str(idx)?.map(str::to_owned))
    }

    pub fn bytes(&self, idx: usize) -> Result<Vec<u8>> {
        match self {
            Self::Sqlite(r) => r.get(idx).map_err(|e| column(e, idx)),
            Self::Pg(r) => r.try_get(idx).map_err(|e| column(e, idx)),
        }
    }

    /// An instant stored as [`crate::time::stored`] text.
    pub fn time(&self, idx: usize) -> Result<DateTime<Utc>> {
        crate::time::parse(self.str(idx)?)
    }

    pub fn opt_time(&self, idx: usize) -> Result<Option<DateTime<Utc>>> {
        self.opt_str(idx)?.map(crate::time::parse).transpose()
    }
}

/// A transaction's connection.
///
/// Every method is `async`; on SQLite its future is ready at once.
#[allow(async_fn_in_trait)] // used with concrete engines only, never boxed
pub trait Conn {
    fn engine(&self) -> Engine;

    /// Runs `sql`; the rows it changed.
    async fn exec(&self, sql: &str, params: &[&dyn Param]) -> Result<u64>;

    /// Every row of `sql`, each mapped by `f`.
    async fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>>;

    /// The first row of `sql`, mapped by `f`, if there is one.
    async fn opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>>;

    /// Runs `sql`, an `INSERT` of one row ending with `RETURNING id`; the
    /// new row's id.
    async fn insert(&self, sql: &str, params: &[&dyn Param]) -> Result<i64> {
        returning_id(sql)?;
        self.one(sql, params, |r| r.i64(0)).await
    }

    /// The first row of `sql`, which must exist.
    async fn one<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.opt(sql, params, f)
            .await?
            .ok_or_else(|| ApiError::Internal(format!("no row: {sql}")))
    }
}

/// Runs a future that never waits (a SQLite transaction's, on the writer
/// thread) to its end.
pub fn ready<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("a SQLite statement waited"),
    }
}

/// A SQLite connection inside the writer's (or a reader's) transaction.
pub struct SqliteConn<'a>(pub &'a rusqlite::Connection);

fn unbindable(sql: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("statement parameters: {why}: {sql}"))
}

impl SqliteConn<'_> {
    /// `sql` (from the connection's statement cache) with `params` bound.
    ///
    /// SQLite reads `$1` as a *named* parameter and numbers the names by
    /// their first use in the text, so the statement is asked the name of
    /// each of its parameters and `$N` is bound to `params[N - 1]`,
    /// whatever order the text uses them in: the text goes to SQLite as it
    /// is written, unscanned and uncopied. Every parameter given must be
    /// used (as PostgreSQL requires).
    fn bound(&self, sql: &str, params: &[&dyn Param]) -> Result<rusqlite::CachedStatement<'_>> {
        let mut st = self.0.prepare_cached(sql)?;
        let count = st.parameter_count();
        if count != params.len() {
            return Err(unbindable(
                sql,
                format!("{count} in the text, {} given", params.len()),
            ));
        }
        for index in 1..=count {
            let n = st
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| (1..=params.len()).contains(n))
                .ok_or_else(|| unbindable(sql, format!("parameter {index} is not $1..${count}")))?;
            st.raw_bind_parameter(index, params[n - 1] as &dyn rusqlite::ToSql)?;
        }
        Ok(st)
    }
}

impl Conn for SqliteConn<'_> {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    async fn exec(&self, sql: &str, params: &[&dyn Param]) -> Result<u64> {
        Ok(self.bound(sql, params)?.raw_execute()? as u64)
    }

    /// SQLite answers `RETURNING` from a temporary table it fills and then
    /// reads back; the rowid of the row just inserted is already at hand.
    async fn insert(&self, sql: &str, params: &[&dyn Param]) -> Result<i64> {
        let insert = returning_id(sql)?;
        match self.bound(insert, params)?.raw_execute()? {
            1 => Ok(self.0.last_insert_rowid()),
            n => Err(ApiError::Internal(format!("{n} rows inserted by: {sql}"))),
        }
    }

    async fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut st = self.bound(sql, params)?;
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(f(&Row::Sqlite(r))?);
        }
        Ok(out)
    }

    async fn opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut st = self.bound(sql, params)?;
        let mut rows = st.raw_query();
        match rows.next()? {
            Some(r) => f(&Row::Sqlite(r)).map(Some),
            None => Ok(None),
        }
    }
}

/// The `INSERT` of `sql`, which must end with `RETURNING id`, without it.
pub(crate) fn returning_id(sql: &str) -> Result<&str> {
    sql.trim_end()
        .strip_suffix("RETURNING id")
        .ok_or_else(|| ApiError::Internal(format!("no trailing RETURNING id: {sql}")))
}

#[cfg(test)]
mod tests {
    use super::{Conn, SqliteConn, ready};

    /// SQLite numbers `$N` by first use; each is still bound to the N-th
    /// value, in whatever order the text uses them, once or more.
    #[test]
    fn sqlite_binds_each_dollar_parameter_to_its_number() {
        let db = rusqlite::Connection::open_in_memory().expect("db");
        let c = SqliteConn(&db);
        let row = |sql: &str| {
            ready(c.one(sql, &[&10i64, &3i64], |r| {
                Ok((r.i64(0)?, r.i64(1)?, r.i64(2)?))
            }))
            .expect(sql)
        };
        assert_eq!(row("SELECT $1, $2, $1 + $2"), (10, 3, 13));
        assert_eq!(row("SELECT $2, $1, $2 * $1"), (3, 10, 30));
        assert_eq!(row("SELECT $2 - $1, $2, $1"), (-7, 3, 10));
        db.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)")
            .expect("table");
        let n =
            ready(c.exec("INSERT INTO t (b, a) VALUES ($2, $1)", &[&"a", &"b"])).expect("insert");
        assert_eq!(n, 1);
        let got = ready(c.one("SELECT a, b FROM t", &[], |r| {
            Ok((r.string(0)?, r.string(1)?))
        }))
        .expect("row");
        assert_eq!(got, ("a".to_owned(), "b".to_owned()));
    }

    /// A statement whose parameters and values do not match is refused
    /// before it runs, not bound with NULLs.
    #[test]
    fn sqlite_refuses_parameters_that_do_not_match_the_values() {
        let db = rusqlite::Connection::open_in_memory().expect("db");
        let c = SqliteConn(&db);
        for (sql, given) in [
            ("SELECT $1, $2", 1),
            ("SELECT $1", 2),
            ("SELECT $1, $3", 2),
            ("SELECT ?1, ?2", 2),
        ] {
            let params: Vec<&dyn super::Param> =
                (0..given).map(|_| &1i64 as &dyn super::Param).collect();
            assert!(
                ready(c.opt(sql, &params, |r| r.i64(0))).is_err(),
                "{sql} with {given}"
            );
        }
    }

    /// `insert` gives the new row's id on SQLite without `RETURNING`, and
    /// refuses a statement that does not end with `RETURNING id`.
    #[test]
    fn sqlite_insert_gives_the_new_rows_id() {
        let db = rusqlite::Connection::open_in_memory().expect("db");
        db.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);
             CREATE TABLE log (id INTEGER PRIMARY KEY, t_id INTEGER);
             CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log (t_id) VALUES (NEW.id); INSERT INTO log (t_id) VALUES (NEW.id); END;
             INSERT INTO t (id, a) VALUES (41, 'x');",
        )
        .expect("schema");
        let c = SqliteConn(&db);
        let sql = "INSERT INTO t (a) VALUES ($1) RETURNING id";
        assert_eq!(ready(c.insert(sql, &[&"y"])).expect("insert"), 42);
        assert_eq!(ready(c.insert(sql, &[&"z"])).expect("insert"), 43);
        assert!(ready(c.insert("INSERT INTO t (a) VALUES ($1)", &[&"w"])).is_err());
    }
}
