//! Month close (domain.md §1: overage billed on the 1st of the next month,
//! first offset by top-up packages; core's `package::statement`): the
//! maintenance job that closes every product's ended local months once,
//! and the route that lists a product's statements.
//!
//! A month is closed in one transaction with its statement (`UNIQUE
//! (product_id, month)`), the top-ups it used up and the product's
//! `closed_through`, so a close is written once however often the job runs
//! or the server restarts, and months missed while it was down are closed
//! in order when it runs again.

use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use licensedesk_core::package::statement::{Month, close_month, months_to_close};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::common;
use crate::api::extract::{Json, Path};
use crate::auth::Caller;
use crate::changes::{self, Op};
use crate::db::{json_time, parse_ts, ts};
use crate::error::{ApiError, Result};

/// A product's closed month.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Statement {
    pub id: i64,
    pub pk: String,
    /// The local month, `YYYY-MM`.
    pub month: String,
    #[serde(serialize_with = "json_time")]
    pub month_start: DateTime<Utc>,
    #[serde(serialize_with = "json_time")]
    pub month_end: DateTime<Utc>,
    /// `block` or `bill`, as the product had it at the close.
    pub overage_policy: String,
    /// Messages beyond the daily allowances (recorded under `bill`).
    pub message_overage: u64,
    /// Message top-ups the close used up to offset them.
    pub message_topups_applied: u64,
    pub messages_billed: u64,
    /// OTA attempts beyond the monthly allowances (recorded under `bill`).
    pub ota_overage: u64,
    pub ota_topups_applied: u64,
    pub ota_billed: u64,
    /// Prepaid OTA attempts upgrades took during the month (under `block`).
    pub ota_topups_used_in_month: u64,
    /// The product's top-up balances after the close.
    pub message_topups_left: u64,
    pub ota_topups_left: u64,
    #[serde(serialize_with = "json_time")]
    pub closed_at: DateTime<Utc>,
}

/// The accounts with a product whose month before `now`'s has not been
/// closed (maintenance). Each data center has its own calendar.
pub fn accounts_due_close(c: &Connection, now: DateTime<Utc>) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for (dc, tz) in licensedesk_core::datacenter::DATA_CENTERS {
        let last_ended = previous_label(now, *tz)?;
        let ids: Vec<i64> = c
            .prepare_cached(
                "SELECT DISTINCT p.account_id FROM products p JOIN accounts a ON a.id = p.account_id
                 WHERE a.data_center = ?1 AND (p.closed_through IS NULL OR p.closed_through < ?2)",
            )?
            .query_map(params![dc, last_ended], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        out.extend(ids);
    }
    Ok(out)
}

/// The label of the local month before the one containing `now`.
fn previous_label(now: DateTime<Utc>, tz: Tz) -> Result<String> {
    let this = Month::containing(now, tz).map_err(ApiError::core)?;
    let prev = this
        .first
        .pred_opt()
        .and_then(|d| Month::of_date(d, tz))
        .ok_or_else(|| ApiError::Internal(format!("no month before {}", this.label)))?;
    Ok(prev.label)
}

/// The label of the local month before the one containing `t`, stored as a
/// new product's `closed_through`: its first month is the one it was
/// created in.
pub fn closed_before(t: DateTime<Utc>, tz: Tz) -> Result<String> {
    previous_label(t, tz)
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
pub fn close_account(tx: &Connection, account_id: i64, now: DateTime<Utc>) -> Result<u64> {
    let tz = common::account(tx, account_id)?.tz()?;
    let products: Vec<Due> = tx
        .prepare_cached(
            "SELECT id, pk, overage_policy, closed_through, created_at, message_topups, ota_topups
             FROM products WHERE account_id = ?1 ORDER BY id",
        )?
        .query_map([account_id], |r| {
            Ok(Due {
                id: r.get(0)?,
                pk: r.get(1)?,
                policy: r.get(2)?,
                closed_through: r.get(3)?,
                created_at: r.get(4)?,
                message_topups: r.get(5)?,
                ota_topups: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut closed = 0;
    for p in products {
        closed += close_product(tx, account_id, &p, tz, now)?;
    }
    Ok(closed)
}

fn first_open(p: &Due, tz: Tz) -> Result<Month> {
    let month = match &p.closed_through {
        Some(label) => NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d")
            .ok()
            .and_then(|d| Month::of_date(d, tz))
            .and_then(|m| m.next(tz)),
        None => Month::containing(parse_ts(&p.created_at)?, tz).ok(),
    };
    month.ok_or_else(|| ApiError::Internal(format!("product {} has no month to close", p.pk)))
}

fn close_product(
    tx: &Connection,
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
        let (start, end) = (ts(m.window.start), ts(m.window.end));
        let message_overage: i64 = tx
            .prepare_cached(
                "SELECT COALESCE(SUM(u.overage), 0) FROM usage_days u JOIN devices d ON d.id = u.device_id
                 WHERE d.product_id = ?1 AND u.day >= ?2 AND u.day < ?3",
            )?
            .query_row(params![p.id, start, end], |r| r.get(0))?;
        let (ota_overage, used_in_month): (i64, i64) = tx
            .prepare_cached(
                "SELECT COALESCE(SUM(u.ota_overage), 0), COALESCE(SUM(u.topups_used), 0)
                 FROM usage_months u JOIN devices d ON d.id = u.device_id
                 WHERE d.product_id = ?1 AND u.month = ?2",
            )?
            .query_row(params![p.id, start], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let c = close_month(
            message_overage.max(0) as u64,
            ota_overage.max(0) as u64,
            message_topups,
            ota_topups,
        );
        let s = Statement {
            id: 0,
            pk: p.pk.clone(),
            month: m.label.clone(),
            month_start: m.window.start,
            month_end: m.window.end,
            overage_policy: p.policy.clone(),
            message_overage: message_overage.max(0) as u64,
            message_topups_applied: c.messages.topups_used,
            messages_billed: c.messages.billed,
            ota_overage: ota_overage.max(0) as u64,
            ota_topups_applied: c.ota.topups_used,
            ota_billed: c.ota.billed,
            ota_topups_used_in_month: used_in_month.max(0) as u64,
            message_topups_left: c.message_topups_left,
            ota_topups_left: c.ota_topups_left,
            closed_at: now,
        };
        let id: Option<i64> = tx
            .prepare_cached(
                "INSERT INTO statements (account_id, product_id, month, month_start, month_end, overage_policy,
                   message_overage, message_topups_applied, messages_billed, ota_overage, ota_topups_applied,
                   ota_billed, ota_topups_used_in_month, message_topups_left, ota_topups_left, closed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT (product_id, month) DO NOTHING RETURNING id",
            )?
            .query_row(
                params![account_id, p.id, s.month, start, end, s.overage_policy,
                    s.message_overage as i64, s.message_topups_applied as i64, s.messages_billed as i64,
                    s.ota_overage as i64, s.ota_topups_applied as i64, s.ota_billed as i64,
                    s.ota_topups_used_in_month as i64, s.message_topups_left as i64,
                    s.ota_topups_left as i64, ts(now)],
                |r| r.get(0),
            )
            .optional()?;
        // Already closed (a statement is written once): its top-ups were
        // taken then.
        let Some(id) = id else { continue };
        (message_topups, ota_topups) = (c.message_topups_left, c.ota_topups_left);
        changes::record(
            tx,
            account_id,
            "statement",
            id,
            Op::Insert,
            now,
            &Statement { id, ..s },
        )?;
        closed += 1;
    }
    tx.prepare_cached(
        "UPDATE products SET closed_through = ?2, message_topups = ?3, ota_topups = ?4 WHERE id = ?1",
    )?
    .execute(params![
        p.id,
        last.label,
        message_topups as i64,
        ota_topups as i64
    ])?;
    if (message_topups as i64, ota_topups as i64) != (p.message_topups, p.ota_topups) {
        changes::record(
            tx,
            account_id,
            "product",
            &p.pk,
            Op::Update,
            now,
            &serde_json::json!({"pk": p.pk, "ota_topups": ota_topups, "message_topups": message_topups}),
        )?;
    }
    Ok(closed)
}

fn statement_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Statement, [String; 3])> {
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
    Ok((
        Statement {
            id: r.get(0)?,
            pk: r.get(1)?,
            month: r.get(2)?,
            month_start: DateTime::<Utc>::MIN_UTC,
            month_end: DateTime::<Utc>::MIN_UTC,
            overage_policy: r.get(5)?,
            message_overage: n(6)?,
            message_topups_applied: n(7)?,
            messages_billed: n(8)?,
            ota_overage: n(9)?,
            ota_topups_applied: n(10)?,
            ota_billed: n(11)?,
            ota_topups_used_in_month: n(12)?,
            message_topups_left: n(13)?,
            ota_topups_left: n(14)?,
            closed_at: DateTime::<Utc>::MIN_UTC,
        },
        [r.get(3)?, r.get(4)?, r.get(15)?],
    ))
}

/// A product's statements, newest month first.
#[utoipa::path(get, path = "/v1/products/{pk}/statements", tag = "usage", params(("pk" = String, Path)),
    responses((status = 200, body = Vec<Statement>), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(pk): Path<String>,
) -> Result<Json<Vec<Statement>>> {
    let id = caller.account_id;
    let out = state
        .db
        .read(move |c| {
            let p = common::product_by_pk(c, id, &pk)?;
            let rows = c
                .prepare_cached(
                    "SELECT s.id, p.pk, s.month, s.month_start, s.month_end, s.overage_policy,
                       s.message_overage, s.message_topups_applied, s.messages_billed, s.ota_overage,
                       s.ota_topups_applied, s.ota_billed, s.ota_topups_used_in_month,
                       s.message_topups_left, s.ota_topups_left, s.closed_at
                     FROM statements s JOIN products p ON p.id = s.product_id
                     WHERE s.product_id = ?1 ORDER BY s.month DESC",
                )?
                .query_map([p.id], statement_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(mut s, [start, end, closed])| {
                    s.month_start = parse_ts(&start)?;
                    s.month_end = parse_ts(&end)?;
                    s.closed_at = parse_ts(&closed)?;
                    Ok(s)
                })
                .collect()
        })
        .await?;
    Ok(Json(out))
}
