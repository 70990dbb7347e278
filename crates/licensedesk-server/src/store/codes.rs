//! The code pool: crediting, assigning, counting and consuming activation
//! codes. Counter arithmetic and its invariant come from
//! `licensedesk_core::codes`.

use chrono::{DateTime, Utc};
use licensedesk_core::codes::{Counters, account_counters};
use licensedesk_protocol::feed::{CodeInsert, CodeUpdate};

use crate::db::Conn;
use crate::error::{ApiError, Result};
use crate::store::changes::{self, Record};

/// Source of code entropy (OS randomness, or the demo's seeded generator).
pub type Entropy<'a> = &'a mut (dyn FnMut() -> Result<[u8; 16]> + Send);

/// 16 bytes of OS randomness.
pub fn os_entropy() -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| ApiError::Internal(format!("OS randomness: {e}")))?;
    Ok(b)
}

/// A new activation code string from 16 bytes of entropy.
pub fn code_from_entropy(entropy: [u8; 16]) -> String {
    licensedesk_core::activation_code::ActivationCode::from_entropy(entropy).canonical()
}

/// Inserts `n` new unconsumed codes of batch `batch_id`, assigned to
/// `product_id` (or unassigned), each recorded in the change feed.
pub async fn insert(
    c: &impl Conn,
    account_id: i64,
    batch_id: i64,
    product_id: Option<i64>,
    n: u64,
    now: DateTime<Utc>,
    entropy: Entropy<'_>,
) -> Result<()> {
    for _ in 0..n {
        let code = code_from_entropy(entropy()?);
        let id = c
            .insert(
                "INSERT INTO codes (account_id, batch_id, product_id, code) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&account_id, &batch_id, &product_id, &code],
            )
            .await?;
        changes::record(
            c,
            account_id,
            now,
            &Record::CodeCreated(CodeInsert {
                batch_id,
                code: code.as_str().into(),
                id,
                product_id,
            }),
        )
        .await?;
    }
    Ok(())
}

/// Used / Remaining of one product's pool.
pub async fn product_counters(c: &impl Conn, product_id: i64) -> Result<Counters> {
    let (used, remaining) = c
        .one(
            "SELECT COUNT(consumed_at), COUNT(*) - COUNT(consumed_at) FROM codes WHERE product_id = $1",
            &[&product_id],
            |r| Ok((r.u64(0)?, r.u64(1)?)),
        )
        .await?;
    Counters::new(used, remaining).map_err(ApiError::core)
}

/// Unconsumed codes of a product's pool, counted up to `cap` (enough for a
/// connect or renewal decision without reading the whole pool).
pub async fn available_up_to(c: &impl Conn, product_id: i64, cap: u64) -> Result<u64> {
    c.one(
        "SELECT COUNT(*) FROM (SELECT 1 FROM codes WHERE product_id = $1 AND consumed_at IS NULL LIMIT $2) AS pool",
        &[&product_id, &(cap as i64)],
        |r| r.u64(0),
    )
    .await
}

/// Unassigned codes of an account.
pub async fn unassigned(c: &impl Conn, account_id: i64) -> Result<u64> {
    c.one(
        "SELECT COUNT(*) FROM codes WHERE account_id = $1 AND product_id IS NULL",
        &[&account_id],
        |r| r.u64(0),
    )
    .await
}

/// The account overview's counters: unassigned plus every product's pool.
pub async fn account_overview(c: &impl Conn, account_id: i64) -> Result<(Counters, u64)> {
    let unassigned = unassigned(c, account_id).await?;
    let pools = c
        .query(
            "SELECT COUNT(consumed_at), COUNT(*) - COUNT(consumed_at)
             FROM codes WHERE account_id = $1 AND product_id IS NOT NULL GROUP BY product_id",
            &[&account_id],
            |r| Counters::new(r.u64(0)?, r.u64(1)?).map_err(ApiError::core),
        )
        .await?;
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
pub async fn consume_one(
    c: &impl Conn,
    product_id: i64,
    device_id: i64,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Option<(i64, String)>> {
    let claimed = c
        .exec(
            "UPDATE codes SET device_id = $1, consumed_at = $2, expires_at = $3, active = 1
             WHERE id = (SELECT id FROM codes WHERE product_id = $4 AND consumed_at IS NULL ORDER BY id LIMIT 1)",
            &[
                &device_id,
                &crate::time::stored(at),
                &crate::time::stored(expires_at),
                &product_id,
            ],
        )
        .await?;
    if claimed == 0 {
        return Ok(None);
    }
    c.opt(
        "SELECT id, code FROM codes WHERE device_id = $1 AND active = 1",
        &[&device_id],
        |r| Ok((r.i64(0)?, r.string(1)?)),
    )
    .await
}

/// The device's active code is no longer active (it expired, or the
/// device went inactive).
pub async fn release_active(c: &impl Conn, device_id: i64) -> Result<()> {
    c.exec(
        "UPDATE codes SET active = NULL WHERE device_id = $1 AND active = 1",
        &[&device_id],
    )
    .await?;
    Ok(())
}

/// The device's active code, if any.
pub async fn active_code(c: &impl Conn, device_id: i64) -> Result<Option<String>> {
    c.opt(
        "SELECT code FROM codes WHERE device_id = $1 AND active = 1",
        &[&device_id],
        |r| r.string(0),
    )
    .await
}

/// Moves `n` unassigned codes (oldest first) to `product_id`; returns how
/// many moved.
pub async fn assign(
    c: &impl Conn,
    account_id: i64,
    product_id: i64,
    n: u64,
    now: DateTime<Utc>,
) -> Result<u64> {
    let ids = c
        .query(
            "UPDATE codes SET product_id = $1 WHERE id IN
               (SELECT id FROM codes WHERE account_id = $2 AND product_id IS NULL ORDER BY id LIMIT $3)
             RETURNING id",
            &[&product_id, &account_id, &(n as i64)],
            |r| r.i64(0),
        )
        .await?;
    for id in &ids {
        changes::record(
            c,
            account_id,
            now,
            &Record::CodeUpdated(CodeUpdate {
                id: *id,
                product_id: Some(product_id),
                ..CodeUpdate::default()
            }),
        )
        .await?;
    }
    Ok(ids.len() as u64)
}
