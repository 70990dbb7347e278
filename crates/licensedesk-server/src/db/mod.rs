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
