//! The engines: SQLite (embedded, the default: one writer thread with
//! group commit, WAL readers, numbered migrations) and the seam the store
//! talks to them through ([`Conn`]). Nothing here knows a route or a
//! request: what a write needs (an idempotency record, say) is passed in.

pub mod conn;
pub mod migrations;
pub mod pg;
pub mod sqlite;

pub use conn::SqliteConn;
pub use conn::{Conn, Engine, Param, Row, ready};
pub use sqlite::{Db, FILE_NAME};

/// An instant as stored ([`crate::time::stored`]), for the areas not moved
/// into the store yet.
pub fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    crate::time::stored(t)
}

/// A stored instant ([`crate::time::parse`]).
pub fn parse_ts(s: &str) -> crate::error::Result<chrono::DateTime<chrono::Utc>> {
    crate::time::parse(s)
}

pub fn parse_ts_opt(
    s: Option<String>,
) -> crate::error::Result<Option<chrono::DateTime<chrono::Utc>>> {
    s.as_deref().map(crate::time::parse).transpose()
}
