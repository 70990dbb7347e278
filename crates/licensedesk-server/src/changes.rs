//! The change feed's write, for the areas not yet moved into the store
//! (gateways, floating licenses, field kits, the demo): the same row
//! [`crate::store::changes::record`] writes, on a SQLite connection.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

use crate::error::Result;
pub use crate::store::changes::Op;

/// Appends a change; call inside the transaction that makes it.
pub fn record(
    tx: &Connection,
    account_id: i64,
    entity: &str,
    entity_id: impl ToString,
    op: Op,
    at: DateTime<Utc>,
    data: &(impl Serialize + ?Sized),
) -> Result<()> {
    crate::db::ready(crate::store::changes::record(
        &crate::db::SqliteConn(tx),
        account_id,
        entity,
        entity_id,
        op,
        at,
        data,
    ))?;
    Ok(())
}
