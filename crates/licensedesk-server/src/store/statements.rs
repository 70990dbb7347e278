//! Month close (domain.md §1: overage billed on the 1st of the next month,
//! first offset by top-up packages; core's `package::statement`): closing
//! every product's ended local months once, and a product's statements.
//!
//! A month is closed in one transaction with its statement (`UNIQUE
//! (product_id, month)`), the top-ups it used up and the product's
//! `closed_through`, so a close is written once however often the job runs
//! or the server restarts, and months missed while it was down are closed
//! in order when it runs again.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use licensedesk_core::package::statement::{Month, close_month, months_to_close};

use crate::db::{Conn, Row};
use crate::error::{ApiError, Result};
use crate::store::changes::{self, Record};
use crate::store::{Ctx, Store, accounts, products, read, usage, write};
use crate::time::stored;

/// A product's closed month (the feed's record of it, and the API's).
pub use licensedesk_protocol::feed::Statement;

/// The accounts with a product whose month before `now`'s has not been
/// closed (maintenance). Each data center has its own calendar.
async fn accounts_due_close(c: &impl Conn, now: DateTime<Utc>) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for (dc, tz) in licensedesk_core::datacenter::DATA_CENTERS {
        let last_ended = products::closed_before(now, *tz)?;
        let ids = c
            .query(
                "SELECT DISTINCT p.account_id FROM products p JOIN accounts a ON a.id = p.account_id
                 WHERE a.data_center = $1 AND (p.closed_through IS NULL OR p.closed_through < $2)",
                &[dc, &last_ended],
                |r| r.i64(0),
            )
            .await?;
        out.extend(ids);
    }
    Ok(out)
}

struct Due {
    id: i64,
    pk: String,
    policy: String,
    closed_through: Option<String>,
    created_at: String,
    message_topups: i64,
    ota_topups: i64,
}

/// Closes every ended month of every product of `account_id`; returns how
/// many months it closed.
async fn close_account(c: &impl Conn, account_id: i64, now: DateTime<Utc>) -> Result<u64> {
    let tz = accounts::get(c, account_id).await?.tz()?;
    let due = c
        .query(
            "SELECT id, pk, overage_policy, closed_through, created_at, message_topups, ota_topups
             FROM products WHERE account_id = $1 ORDER BY id",
            &[&account_id],
            |r| {
                Ok(Due {
                    id: r.i64(0)?,
                    pk: r.string(1)?,
                    policy: r.string(2)?,
                    closed_through: r.opt_string(3)?,
                    created_at: r.string(4)?,
                    message_topups: r.i64(5)?,
                    ota_topups: r.i64(6)?,
                })
            },
        )
        .await?;
    let mut closed = 0;
    for p in due {
        closed += close_product(c, account_id, &p, tz, now).await?;
    }
    Ok(closed)
}

fn first_open(p: &Due, tz: Tz) -> Result<Month> {
    let month = match &p.closed_through {
        Some(label) => NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d")
            .ok()
            .and_then(|d| Month::of_date(d, tz))
            .and_then(|m| m.next(tz)),
        None => Month::containing(crate::time::parse(&p.created_at)?, tz).ok(),
    };
    month.ok_or_else(|| ApiError::Internal(format!("product {} has no month to close", p.pk)))
}

async fn close_product(
    c: &impl Conn,
    account_id: i64,
    p: &Due,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<u64> {
    let months = months_to_close(&first_open(p, tz)?, now, tz);
    let Some(last) = months.last() else {
        return Ok(0);
    };
    let (mut message_topups, mut ota_topups) =
        (p.message_topups.max(0) as u64, p.ota_topups.max(0) as u64);
    let mut closed = 0;
    for m in &months {
        let (message_overage, ota_overage, used_in_month) =
            usage::month_overage(c, p.id, m.window.start, m.window.end).await?;
        let close = close_month(message_overage, ota_overage, message_topups, ota_topups);
        let s = Statement {
            id: 0,
            pk: p.pk.clone(),
            month: m.label.clone(),
            month_start: m.window.start,
            month_end: m.window.end,
            overage_policy: p.policy.clone(),
            message_overage,
            message_topups_applied: close.messages.topups_used,
            messages_billed: close.messages.billed,
            ota_overage,
            ota_topups_applied: close.ota.topups_used,
            ota_billed: close.ota.billed,
            ota_topups_used_in_month: used_in_month,
            message_topups_left: close.message_topups_left,
            ota_topups_left: close.ota_topups_left,
            closed_at: now,
        };
        let n = |v: u64| v as i64;
        let id = c
            .opt(
                "INSERT INTO statements (account_id, product_id, month, month_start, month_end, overage_policy,
                   message_overage, message_topups_applied, messages_billed, ota_overage, ota_topups_applied,
                   ota_billed, ota_topups_used_in_month, message_topups_left, ota_topups_left, closed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                 ON CONFLICT (product_id, month) DO NOTHING RETURNING id",
                &[
                    &account_id,
                    &p.id,
                    &s.month,
                    &stored(s.month_start),
                    &stored(s.month_end),
                    &s.overage_policy,
                    &n(s.message_overage),
                    &n(s.message_topups_applied),
                    &n(s.messages_billed),
                    &n(s.ota_overage),
                    &n(s.ota_topups_applied),
                    &n(s.ota_billed),
                    &n(s.ota_topups_used_in_month),
                    &n(s.message_topups_left),
                    &n(s.ota_topups_left),
                    &stored(now),
                ],
                |r| r.i64(0),
            )
            .await?;
        // Already closed (a statement is written once): its top-ups were
        // taken then.
        let Some(id) = id else { continue };
        (message_topups, ota_topups) = (close.message_topups_left, close.ota_topups_left);
        changes::record(
            c,
            account_id,
            now,
            &Record::StatementClosed(Statement { id, ..s }),
        )
        .await?;
        closed += 1;
    }
    c.exec(
        "UPDATE products SET closed_through = $2, message_topups = $3, ota_topups = $4 WHERE id = $1",
        &[&p.id, &last.label, &(message_topups as i64), &(ota_topups as i64)],
    )
    .await?;
    if (message_topups as i64, ota_topups as i64) != (p.message_topups, p.ota_topups) {
        changes::record(
            c,
            account_id,
            now,
            &products::topups_changed(&p.pk, ota_topups as i64, message_topups as i64),
        )
        .await?;
    }
    Ok(closed)
}

fn statement_from_row(r: &Row<'_>) -> Result<Statement> {
    Ok(Statement {
        id: r.i64(0)?,
        pk: r.string(1)?,
        month: r.string(2)?,
        month_start: r.time(3)?,
        month_end: r.time(4)?,
        overage_policy: r.string(5)?,
        message_overage: r.u64(6)?,
        message_topups_applied: r.u64(7)?,
        messages_billed: r.u64(8)?,
        ota_overage: r.u64(9)?,
        ota_topups_applied: r.u64(10)?,
        ota_billed: r.u64(11)?,
        ota_topups_used_in_month: r.u64(12)?,
        message_topups_left: r.u64(13)?,
        ota_topups_left: r.u64(14)?,
        closed_at: r.time(15)?,
    })
}

/// A product's statements, newest month first.
async fn list_in(c: &impl Conn, account_id: i64, pk: &str) -> Result<Vec<Statement>> {
    let p = products::by_pk(c, account_id, pk).await?;
    c.query(
        "SELECT s.id, p.pk, s.month, s.month_start, s.month_end, s.overage_policy,
           s.message_overage, s.message_topups_applied, s.messages_billed, s.ota_overage,
           s.ota_topups_applied, s.ota_billed, s.ota_topups_used_in_month,
           s.message_topups_left, s.ota_topups_left, s.closed_at
         FROM statements s JOIN products p ON p.id = s.product_id
         WHERE s.product_id = $1 ORDER BY s.month DESC",
        &[&p.id],
        statement_from_row,
    )
    .await
}

impl Store {
    pub async fn statements(&self, account: i64, pk: String) -> Result<Vec<Statement>> {
        read!(self, [pk], |c| list_in(c, account, &pk)).await
    }

    pub async fn accounts_due_close(&self, now: DateTime<Utc>) -> Result<Vec<i64>> {
        read!(self, [], |c| accounts_due_close(c, now)).await
    }

    /// Closes the ended months of one account's products.
    pub async fn close_months(&self, ctx: &Ctx, account: i64) -> Result<u64> {
        let now = ctx.now;
        write!(self, ctx, [], |c| close_account(c, account, now)).await
    }
}
