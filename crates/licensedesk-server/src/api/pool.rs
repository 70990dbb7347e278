//! The code pool in SQL: crediting, assigning, counting and consuming codes.
//! Counter arithmetic and its invariant come from `licensedesk_core::codes`.

use chrono::{DateTime, Utc};
use licensedesk_core::codes::{Counters, account_counters};
use rusqlite::{Connection, params};
use serde_json::json;

use crate::changes::{self, Op};
use crate::db::ts;
use crate::error::{ApiError, Result};

/// Source of code entropy (OS randomness, or the demo's seeded generator).
pub type Entropy<'a> = &'a mut dyn FnMut() -> Result<[u8; 16]>;

/// Inserts `n` new unconsumed codes of batch `batch_id`, assigned to
/// `product_id` (or unassigned), each recorded in the change feed.
pub fn insert_codes(
    tx: &Connection,
    account_id: i64,
    batch_id: i64,
    product_id: Option<i64>,
    n: u64,
    now: DateTime<Utc>,
    entropy: Entropy<'_>,
) -> Result<()> {
    let mut st = tx.prepare_cached(
        "INSERT INTO codes (account_id, batch_id, product_id, code) VALUES (?1, ?2, ?3, ?4) RETURNING id",
    )?;
    for _ in 0..n {
        let code = crate::api::common::code_from_entropy(entropy()?);
        let id: i64 = st.query_row(params![account_id, batch_id, product_id, code], |r| {
            r.get(0)
        })?;
        changes::record(
            tx,
            account_id,
            "code",
            id,
            Op::Insert,
            now,
            &json!({"id": id, "code": code, "batch_id": batch_id, "product_id": product_id}),
        )?;
    }
    Ok(())
}

/// Used / Remaining of one product's pool.
pub fn product_counters(c: &Connection, product_id: i64) -> Result<Counters> {
    let (used, remaining): (i64, i64) = c.prepare_cached("SELECT COUNT(consumed_at), COUNT(*) - COUNT(consumed_at) FROM codes WHERE product_id = ?1")?.query_row(
        [product_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Counters::new(used as u64, remaining as u64).map_err(ApiError::core)
}

/// Unconsumed codes of a product's pool, counted up to `cap` (enough for a
/// connect or renewal decision without reading the whole pool).
pub fn available_up_to(c: &Connection, product_id: i64, cap: u64) -> Result<u64> {
    let n: i64 = c
        .prepare_cached(
            "SELECT COUNT(*) FROM (SELECT 1 FROM codes WHERE product_id = ?1 AND consumed_at IS NULL LIMIT ?2)",
        )?
        .query_row(params![product_id, cap as i64], |r| r.get(0))?;
    Ok(n as u64)
}

/// Unassigned codes of an account.
pub fn unassigned(c: &Connection, account_id: i64) -> Result<u64> {
    let n: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM codes WHERE account_id = ?1 AND product_id IS NULL")?
        .query_row([account_id], |r| r.get(0))?;
    Ok(n as u64)
}

/// The account overview's counters: unassigned plus every product's pool.
pub fn account_overview(c: &Connection, account_id: i64) -> Result<(Counters, u64)> {
    let unassigned = unassigned(c, account_id)?;
    let mut st = c.prepare_cached(
        "SELECT COUNT(c.consumed_at), COUNT(*) - COUNT(c.consumed_at)
         FROM codes c WHERE c.account_id = ?1 AND c.product_id IS NOT NULL GROUP BY c.product_id",
    )?;
    let pools = st
        .query_map([account_id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?
        .map(|r| {
            let (u, rem) = r?;
            Counters::new(u as u64, rem as u64).map_err(ApiError::core)
        })
        .collect::<Result<Vec<_>>>()?;
    let counters = account_counters(unassigned, pools.iter()).map_err(ApiError::core)?;
    Ok((counters, unassigned))
}

/// Consumes one code of `product_id` for `device_id` at `at`, valid until
/// `expires_at`, in ONE statement: the oldest unconsumed code of the pool is
/// claimed; the partial UNIQUE index `codes_one_active_per_device` makes a
/// second active code for the same device impossible. Returns the code's id
/// and text, or `None` when the pool is empty.
///
/// The claimed code is then read back through that same index (the
/// device's one active code) rather than with `RETURNING`, which SQLite
/// runs as a trigger buffering its rows in an ephemeral table.
pub fn consume_one(
    tx: &Connection,
    product_id: i64,
    device_id: i64,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Option<(i64, String)>> {
    let claimed = tx
        .prepare_cached(
            "UPDATE codes SET device_id = ?1, consumed_at = ?2, expires_at = ?3, active = 1
             WHERE id = (SELECT id FROM codes WHERE product_id = ?4 AND consumed_at IS NULL ORDER BY id LIMIT 1)",
        )?
        .execute(params![device_id, ts(at), ts(expires_at), product_id])?;
    if claimed == 0 {
        return Ok(None);
    }
    Ok(Some(
        tx.prepare_cached("SELECT id, code FROM codes WHERE device_id = ?1 AND active = 1")?
            .query_row([device_id], |r| Ok((r.get(0)?, r.get(1)?)))?,
    ))
}

/// Moves `n` unassigned codes (oldest first) to `product_id`; returns how
/// many moved.
pub fn assign(
    tx: &Connection,
    account_id: i64,
    product_id: i64,
    n: u64,
    now: DateTime<Utc>,
) -> Result<u64> {
    let ids: Vec<i64> = tx
        .prepare_cached(
            "UPDATE codes SET product_id = ?1 WHERE id IN
               (SELECT id FROM codes WHERE account_id = ?2 AND product_id IS NULL ORDER BY id LIMIT ?3)
             RETURNING id",
        )?
        .query_map(params![product_id, account_id, n as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &ids {
        changes::record(
            tx,
            account_id,
            "code",
            id,
            Op::Update,
            now,
            &json!({"id": id, "product_id": product_id}),
        )?;
    }
    Ok(ids.len() as u64)
}
