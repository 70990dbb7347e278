//! The one seam between the store and an engine: a transaction's
//! connection that runs a statement, with its parameters, and maps the
//! rows it returns.
//!
//! The store's SQL is written once, in the subset both engines read the
//! same way: `$1`-numbered parameters (SQLite numbers `$N` by first use: a
//! statement that uses them out of order is rewritten to `?N` for it),
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

/// `sql` as SQLite should be given it. SQLite reads `$1` as a *named*
/// parameter and numbers named parameters by first use: when the `$N`
/// first appear in the order 1, 2, 3, … (the store's statements almost all
/// do) that numbering is N, and the text is used as it is (one scan, no
/// copy, no lookup); otherwise it is rewritten to `?N` ([`rewritten`]).
fn sqlite_sql(sql: &str) -> std::borrow::Cow<'_, str> {
    if numbered_by_first_use(sql) {
        std::borrow::Cow::Borrowed(sql)
    } else {
        std::borrow::Cow::Owned(rewritten(sql).to_string())
    }
}

/// Whether every `$N` of `sql` first appears after `$1` … `$N-1` did.
fn numbered_by_first_use(sql: &str) -> bool {
    let b = sql.as_bytes();
    let (mut next, mut i) = (1u64, 0);
    while i < b.len() {
        if b[i] == b'$' {
            let mut j = i + 1;
            let mut n = 0u64;
            while j < b.len() && b[j].is_ascii_digit() {
                n = n.saturating_mul(10).saturating_add(u64::from(b[j] - b'0'));
                j += 1;
            }
            if j > i + 1 {
                if n > next {
                    return false;
                }
                if n == next {
                    next += 1;
                }
                i = j;
                continue;
            }
        }
        i += 1;
    }
    true
}

/// `sql` with its `$N` parameters written `?N`. Each statement's text is
/// rewritten once per thread and kept.
fn rewritten(sql: &str) -> std::rc::Rc<str> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static SEEN: RefCell<HashMap<String, std::rc::Rc<str>>> = RefCell::new(HashMap::new());
    }
    SEEN.with(|seen| {
        if let Some(done) = seen.borrow().get(sql) {
            return done.clone();
        }
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                out.push('?');
            } else {
                out.push(c);
            }
        }
        let done: std::rc::Rc<str> = out.into();
        let mut seen = seen.borrow_mut();
        // Statements are the store's own texts (a few hundred); the bound
        // only guards against a caller building one per value.
        if seen.len() > 4096 {
            seen.clear();
        }
        seen.insert(sql.to_owned(), done.clone());
        done
    })
}

fn sqlite_params<'p>(params: &'p [&'p dyn Param]) -> Vec<&'p dyn rusqlite::ToSql> {
    params.iter().map(|p| *p as &dyn rusqlite::ToSql).collect()
}

impl Conn for SqliteConn<'_> {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    async fn exec(&self, sql: &str, params: &[&dyn Param]) -> Result<u64> {
        let mut st = self.0.prepare_cached(&sqlite_sql(sql))?;
        Ok(st.execute(sqlite_params(params).as_slice())? as u64)
    }

    async fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut st = self.0.prepare_cached(&sqlite_sql(sql))?;
        let mut rows = st.query(sqlite_params(params).as_slice())?;
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
        let mut st = self.0.prepare_cached(&sqlite_sql(sql))?;
        let mut rows = st.query(sqlite_params(params).as_slice())?;
        match rows.next()? {
            Some(r) => f(&Row::Sqlite(r)).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{numbered_by_first_use, sqlite_sql};

    #[test]
    fn statements_numbered_by_first_use_go_as_written_others_are_rewritten() {
        assert!(numbered_by_first_use("SELECT 1"));
        assert!(numbered_by_first_use(
            "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $1"
        ));
        assert!(!numbered_by_first_use(
            "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $5, $10)"
        ));
        assert!(!numbered_by_first_use("UPDATE t SET a = $2 WHERE id = $1"));
        assert!(numbered_by_first_use(
            "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11"
        ));
        assert_eq!(sqlite_sql("SELECT $1, $2"), "SELECT $1, $2");
        assert_eq!(
            sqlite_sql("UPDATE t SET a = $2 WHERE id = $1"),
            "UPDATE t SET a = ?2 WHERE id = ?1"
        );
    }

    /// SQLite binds `$N` numbered by first use at index N: the positional
    /// values land where the text says.
    #[test]
    fn sqlite_binds_dollar_parameters_in_first_use_order_by_index() {
        let c = rusqlite::Connection::open_in_memory().expect("db");
        let got: (i64, i64, i64) = c
            .query_row(&sqlite_sql("SELECT $1, $2, $1 + $2"), [10, 3], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .expect("row");
        assert_eq!(got, (10, 3, 13));
        let got: (i64, i64) = c
            .query_row(&sqlite_sql("SELECT $2, $1"), [10, 3], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("row");
        assert_eq!(got, (3, 10));
    }
}
