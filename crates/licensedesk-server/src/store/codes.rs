//! The code pool: crediting, assigning, counting and consuming activation
//! codes. Counter arithmetic and its invariant come from
//! `licensedesk_core::codes`.
//!
//! **The counts are kept, not counted.** Each product pool's Used /
//! Remaining (`pool_counts`) and each account's unassigned codes
//! (`unassigned_counts`) change here, in the statement after the one that
//! changes the codes, in its transaction: [`insert`] (a credit adds its
//! codes), [`assign`] (moves the codes it moved) and [`consume_one`] (one
//! Remaining becomes Used). Nothing else writes `codes.product_id` or
//! `codes.consumed_at`, and no code is ever deleted, so the counts equal a
//! recount at every commit; the overview and the cards then read a few rows
//! instead of every code of the account (migration 0013).

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
    match product_id {
        Some(product_id) => add_to_pool(c, product_id, n).await,
        None => add_unassigned(c, account_id, n).await,
    }
}

/// `n` more unconsumed codes in `product_id`'s pool.
async fn add_to_pool(c: &impl Conn, product_id: i64, n: u64) -> Result<()> {
    if n > 0 {
        c.exec(
            "INSERT INTO pool_counts (product_id, used, remaining) VALUES ($1, 0, $2)
             ON CONFLICT (product_id) DO UPDATE SET remaining = pool_counts.remaining + $2",
            &[&product_id, &(n as i64)],
        )
        .await?;
    }
    Ok(())
}

/// `n` more unassigned codes in `account_id`.
async fn add_unassigned(c: &impl Conn, account_id: i64, n: u64) -> Result<()> {
    if n > 0 {
        c.exec(
            "INSERT INTO unassigned_counts (account_id, unassigned) VALUES ($1, $2)
             ON CONFLICT (account_id) DO UPDATE SET unassigned = unassigned_counts.unassigned + $2",
            &[&account_id, &(n as i64)],
        )
        .await?;
    }
    Ok(())
}

/// That the count of codes just changed was there to update (one row).
fn kept(rows: u64, of: &str, id: i64) -> Result<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(ApiError::Internal(format!(
            "the codes of {of} {id} changed but it has no kept count"
        )))
    }
}

/// One product's Used / Remaining, as kept.
pub const POOL_SQL: &str = "SELECT used, remaining FROM pool_counts WHERE product_id = $1";

/// Every product pool's Used / Remaining of an account (a product without
/// codes has none).
pub const POOLS_SQL: &str = "SELECT n.used, n.remaining FROM products p
     JOIN pool_counts n ON n.product_id = p.id WHERE p.account_id = $1";

/// An account's unassigned codes, as kept.
pub const UNASSIGNED_SQL: &str = "SELECT unassigned FROM unassigned_counts WHERE account_id = $1";

/// Used / Remaining of one product's pool.
pub async fn product_counters(c: &impl Conn, product_id: i64) -> Result<Counters> {
    let (used, remaining) = c
        .opt(POOL_SQL, &[&product_id], |r| Ok((r.u64(0)?, r.u64(1)?)))
        .await?
        .unwrap_or((0, 0));
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
    Ok(c.opt(UNASSIGNED_SQL, &[&account_id], |r| r.u64(0))
        .await?
        .unwrap_or(0))
}

/// The account overview's counters: unassigned plus every product's pool.
pub async fn account_overview(c: &impl Conn, account_id: i64) -> Result<(Counters, u64)> {
    let unassigned = unassigned(c, account_id).await?;
    let pools = c
        .query(POOLS_SQL, &[&account_id], |r| {
            Counters::new(r.u64(0)?, r.u64(1)?).map_err(ApiError::core)
        })
        .await?;
    let counters = account_counters(unassigned, pools.iter()).map_err(ApiError::core)?;
    Ok((counters, unassigned))
}

/// Consumes one code of `product_id` for `device_id` at `at`, valid until
/// `expires_at`, in ONE statement: the oldest unconsumed code of the pool is
/// claimed; the partial UNIQUE index `codes_one_active_per_device` makes a
/// second active code for the same device impossible; then one of the
/// pool's kept Remaining becomes Used. Returns the code's id and text, or
/// `None` when the pool is empty.
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
    let counted = c
        .exec(
            "UPDATE pool_counts SET used = used + 1, remaining = remaining - 1 WHERE product_id = $1",
            &[&product_id],
        )
        .await?;
    kept(counted, "product", product_id)?;
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
    let moved = ids.len() as u64;
    if moved > 0 {
        let counted = c
            .exec(
                "UPDATE unassigned_counts SET unassigned = unassigned - $2 WHERE account_id = $1",
                &[&account_id, &(moved as i64)],
            )
            .await?;
        kept(counted, "account", account_id)?;
        add_to_pool(c, product_id, moved).await?;
    }
    Ok(moved)
}
