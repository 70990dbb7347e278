//! A test's look under the API: the server's database read or changed
//! directly, whichever engine it runs on ([`crate::engine`]), for what no
//! endpoint shows (a consistency count after a crash) or a row a test
//! breaks on purpose.
//!
//! SQL is written once with `$1`-style parameters, which both engines read.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio_postgres::types::Type;

use crate::server::{database_of, engine};
use licensedesk_server::db::Engine;

/// A server's database: its SQLite file or its PostgreSQL URL.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Database {
    /// The database of the data dir `dir` under the engine the tests run
    /// on (for PostgreSQL the one [`database_of`] gives the dir).
    pub fn of(dir: &Path) -> Self {
        match engine() {
            Engine::Sqlite => Self::Sqlite(dir.join(licensedesk_server::db::FILE_NAME)),
            Engine::Postgres => Self::Postgres(database_of(dir)),
        }
    }

    /// Runs `sql` with integer parameters; the rows changed.
    pub async fn exec(&self, sql: &str, params: &[i64]) -> u64 {
        match self {
            Self::Sqlite(file) => rusqlite::Connection::open(file)
                .and_then(|c| c.execute(sql, rusqlite::params_from_iter(params)))
                .map(|n| n as u64)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Self::Postgres(url) => pg_client(url)
                .await
                .execute(sql, &pg_params(params))
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// The integer in the first column of the first row of `sql`.
    pub async fn i64(&self, sql: &str, params: &[i64]) -> i64 {
        let rows = self.rows(sql, params).await;
        rows.first()
            .and_then(|r| r[0].as_i64())
            .unwrap_or_else(|| panic!("{sql}: no integer in {rows:?}"))
    }

    /// Every row of `sql`, each as a JSON array: integers, text, null (a
    /// PostgreSQL boolean as 0 or 1, as SQLite keeps it).
    pub async fn rows(&self, sql: &str, params: &[i64]) -> Vec<Value> {
        match self {
            Self::Sqlite(file) => {
                sqlite_rows(file, sql, params).unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            Self::Postgres(url) => {
                let rows = pg_client(url)
                    .await
                    .query(sql, &pg_params(params))
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.iter()
                    .map(|r| {
                        Value::Array(
                            (0..r.len())
                                .map(|i| pg_value(r, i).unwrap_or_else(|e| panic!("{sql}: {e}")))
                                .collect(),
                        )
                    })
                    .collect()
            }
        }
    }
}

fn sqlite_rows(file: &Path, sql: &str, params: &[i64]) -> rusqlite::Result<Vec<Value>> {
    use rusqlite::types::Value as V;
    let c = rusqlite::Connection::open(file)?;
    let mut st = c.prepare(sql)?;
    let n = st.column_count();
    st.query_map(rusqlite::params_from_iter(params), |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get::<_, V>(i)? {
                    V::Null => Value::Null,
                    V::Integer(v) => json!(v),
                    V::Text(v) => json!(v),
                    V::Real(v) => json!(v),
                    V::Blob(_) => panic!("{sql}: a blob in column {i}"),
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map(Value::Array)
    })?
    .collect()
}

fn pg_params(params: &[i64]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect()
}

fn pg_value(r: &tokio_postgres::Row, i: usize) -> Result<Value, tokio_postgres::Error> {
    let ty = r.columns()[i].type_();
    Ok(if *ty == Type::INT8 {
        json!(r.try_get::<_, Option<i64>>(i)?)
    } else if *ty == Type::INT4 {
        json!(r.try_get::<_, Option<i32>>(i)?)
    } else if *ty == Type::INT2 {
        json!(r.try_get::<_, Option<i16>>(i)?)
    } else if *ty == Type::BOOL {
        json!(r.try_get::<_, Option<bool>>(i)?.map(i64::from))
    } else if *ty == Type::FLOAT8 {
        json!(r.try_get::<_, Option<f64>>(i)?)
    } else {
        json!(r.try_get::<_, Option<String>>(i)?)
    })
}

/// A connection to a test database (its task runs on the test's runtime).
async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    tokio::spawn(conn);
    client
}
