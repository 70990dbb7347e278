//! Usage reports (messages, OTA upgrades) against the product's package in
//! the data center's local day and month, and retention of device logs.

use axum::extract::State;
use chrono::{DateTime, Utc};
use licensedesk_core::package::quota::{
    MessageDecision, OtaDecision, decide_message, decide_ota, message_window, ota_window,
};
use licensedesk_core::package::{image_size_from_i64, retention_cutoff};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::common::{self, AccountRow, ProductRow};
use crate::api::devices::{self, DeviceRow};
use crate::api::extract::{Json, Path};
use crate::auth::Caller;
use crate::changes::{self, Op};
use crate::db::ts;
use crate::error::{ApiError, Result};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageNow {
    pub messages_today: u64,
    pub messages_per_day: u32,
    pub messages_overage_today: u64,
    /// Next local midnight of the data center.
    pub messages_reset_at: DateTime<Utc>,
    pub ota_this_month: u64,
    pub ota_per_month: u32,
    pub ota_overage_this_month: u64,
    /// 1st of next local month.
    pub ota_reset_at: DateTime<Utc>,
    pub ota_topups_left: i64,
}

fn tz_err<E: licensedesk_core::Coded + std::fmt::Display>(e: E) -> ApiError {
    ApiError::core(e)
}

pub fn usage_now(
    c: &Connection,
    a: &AccountRow,
    p: &ProductRow,
    device_id: i64,
    now: DateTime<Utc>,
) -> Result<UsageNow> {
    let tz = a.tz()?;
    let day = message_window(now, tz).map_err(tz_err)?;
    let month = ota_window(now, tz).map_err(tz_err)?;
    let (messages, m_over): (i64, i64) = c
        .query_row(
            "SELECT messages, overage FROM usage_days WHERE device_id = ?1 AND day = ?2",
            params![device_id, ts(day.start)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, 0));
    let (ota, o_over): (i64, i64) = c
        .query_row(
            "SELECT ota_attempts, ota_overage FROM usage_months WHERE device_id = ?1 AND month = ?2",
            params![device_id, ts(month.start)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, 0));
    let pkg = p.package.as_ref();
    Ok(UsageNow {
        messages_today: messages as u64,
        messages_per_day: pkg.map_or(0, |p| p.messages_per_day),
        messages_overage_today: m_over as u64,
        messages_reset_at: day.end,
        ota_this_month: ota as u64,
        ota_per_month: pkg.map_or(0, |p| p.ota_per_month),
        ota_overage_this_month: o_over as u64,
        ota_reset_at: month.end,
        ota_topups_left: p.ota_topups,
    })
}

fn require_active(p: &ProductRow, d: &DeviceRow, now: DateTime<Utc>) -> Result<()> {
    let active = d.status == "active" && d.expires_at.is_some_and(|e| e > now);
    if active && p.package.is_some() {
        Ok(())
    } else {
        Err(ApiError::conflict(
            "DEVICE_INACTIVE",
            format!(
                "device {} of product {} is not active: it must connect (and consume a code) first",
                d.dk, p.pk
            ),
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MessageReport {
    /// Messages to count (uplink and downlink together); default 1.
    pub count: Option<u64>,
    /// `up` (default) or `down`; recorded in the device log.
    pub direction: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageResponse {
    /// `allowed` or `allowed_with_overage`.
    pub decision: String,
    pub overage: u64,
    pub topups_used: u64,
    pub usage: UsageNow,
}

/// Report messages of a device. Under `block`, messages beyond the daily
/// allowance are refused (403 MESSAGE_QUOTA_EXCEEDED) until local midnight;
/// under `bill` they pass and count as overage.
#[utoipa::path(post, path = "/v1/devices/{pk}/{dk}/messages", tag = "usage",
    params(("pk" = String, Path), ("dk" = String, Path)), request_body = MessageReport,
    responses((status = 200, body = UsageResponse), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    Path((pk, dk)): Path<(String, String)>,
    Json(req): Json<MessageReport>,
) -> Result<Json<UsageResponse>> {
    let id = caller.account_id;
    let now = state.now();
    let count = licensedesk_core::bounds::MESSAGE_REPORT
        .check(req.count.unwrap_or(1))
        .map_err(ApiError::core)?;
    let direction = req.direction.unwrap_or_else(|| "up".into());
    if !matches!(direction.as_str(), "up" | "down") {
        return Err(ApiError::invalid(
            "USAGE_INVALID",
            "direction must be \"up\" or \"down\"",
        ));
    }
    let out = state
        .db
        .write(move |tx| report_messages(tx, id, &pk, &dk, count, &direction, now))
        .await?;
    Ok(Json(out))
}

/// Counts `count` messages of device `dk` of product `pk` at `now`
/// against its package (the messages route; the demo's usage).
pub fn report_messages(
    tx: &Connection,
    id: i64,
    pk: &str,
    dk: &str,
    count: u64,
    direction: &str,
    now: DateTime<Utc>,
) -> Result<UsageResponse> {
    let a = common::account(tx, id)?;
    let (p, d) = devices::resolve(tx, id, pk, dk)?;
    require_active(&p, &d, now)?;
    let pkg = p.package.clone().ok_or(ApiError::NotFound("package"))?;
    let day = message_window(now, a.tz()?).map_err(tz_err)?;
    let used = usage_now(tx, &a, &p, d.id, now)?.messages_today;
    let overage = match decide_message(used, pkg.messages_per_day, p.policy, count, day.end) {
        MessageDecision::Allowed => 0,
        MessageDecision::AllowedWithOverage { overage } => overage,
        MessageDecision::Refused { until, remaining } => {
            return Err(ApiError::Coded {
                status: axum::http::StatusCode::FORBIDDEN,
                code: "MESSAGE_QUOTA_EXCEEDED",
                message: format!(
                    "device {dk} reached its {} messages/day ({remaining} left, {count} asked); the allowance resets at {until}",
                    pkg.messages_per_day
                ),
            });
        }
    };
    tx.prepare_cached("INSERT INTO usage_days (device_id, day, messages, overage) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device_id, day) DO UPDATE SET messages = messages + ?3, overage = overage + ?4")?.execute(
        params![d.id, ts(day.start), count as i64, overage as i64],
    )?;
    tx.prepare_cached(
        "INSERT INTO device_logs (device_id, at, direction, detail) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        d.id,
        ts(now),
        direction,
        format!("{count} message(s)")
    ])?;
    let usage = usage_now(tx, &a, &p, d.id, now)?;
    changes::record(
        tx,
        id,
        "usage",
        d.id,
        Op::Update,
        now,
        &json!({"pk": p.pk, "dk": d.dk, "usage": usage}),
    )?;
    Ok(UsageResponse {
        decision: if overage > 0 {
            "allowed_with_overage"
        } else {
            "allowed"
        }
        .into(),
        overage,
        topups_used: 0,
        usage,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OtaReport {
    /// Firmware image size in bytes (≥ 1).
    #[schema(minimum = 1)]
    pub bytes: i64,
}

/// Report an OTA upgrade: it costs `max(1, ceil(bytes / cap))` attempts.
/// Under `block` it is refused (403 OTA_QUOTA_EXCEEDED) unless this
/// month's attempts plus top-ups cover it; under `bill` the excess is overage.
#[utoipa::path(post, path = "/v1/devices/{pk}/{dk}/ota", tag = "usage",
    params(("pk" = String, Path), ("dk" = String, Path)), request_body = OtaReport,
    responses((status = 200, body = UsageResponse), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn ota(
    State(state): State<AppState>,
    caller: Caller,
    Path((pk, dk)): Path<(String, String)>,
    Json(req): Json<OtaReport>,
) -> Result<Json<UsageResponse>> {
    let id = caller.account_id;
    let now = state.now();
    let bytes = image_size_from_i64(req.bytes).map_err(ApiError::core)?;
    let out = state
        .db
        .write(move |tx| {
            let a = common::account(tx, id)?;
            let (p, d) = devices::resolve(tx, id, &pk, &dk)?;
            require_active(&p, &d, now)?;
            let pkg = p.package.clone().ok_or(ApiError::NotFound("package"))?;
            let cost = pkg.ota_cost(bytes).map_err(ApiError::core)?;
            let month = ota_window(now, a.tz()?).map_err(tz_err)?;
            let used = usage_now(tx, &a, &p, d.id, now)?.ota_this_month;
            let topups = u32::try_from(p.ota_topups.max(0)).unwrap_or(u32::MAX);
            let used32 = u32::try_from(used).unwrap_or(u32::MAX);
            let (from_allowance, topups_used, overage) =
                match decide_ota(cost, used32, pkg.ota_per_month, topups, p.policy) {
                    OtaDecision::Allowed { from_allowance, topups_used } => (from_allowance, topups_used, 0),
                    OtaDecision::AllowedWithOverage { from_allowance, overage } => (from_allowance, 0, overage),
                    OtaDecision::Refused { needs_topups } => {
                        return Err(ApiError::Coded {
                            status: axum::http::StatusCode::FORBIDDEN,
                            code: "OTA_QUOTA_EXCEEDED",
                            message: format!(
                                "this upgrade costs {cost} OTA attempt(s) ({bytes} bytes, {} MB cap) but only {} remain this month and {topups} top-up(s): buy {needs_topups} more top-up attempt(s)",
                                pkg.ota_cap_mb,
                                pkg.ota_per_month.saturating_sub(used32)
                            ),
                        });
                    }
                };
            tx.prepare_cached("INSERT INTO usage_months (device_id, month, ota_attempts, ota_overage, topups_used) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (device_id, month) DO UPDATE SET ota_attempts = ota_attempts + ?3,
                   ota_overage = ota_overage + ?4, topups_used = topups_used + ?5")?.execute(
                params![d.id, ts(month.start), from_allowance, overage, topups_used],
            )?;
            if topups_used > 0 {
                tx.prepare_cached("UPDATE products SET ota_topups = ota_topups - ?1 WHERE id = ?2")?.execute( params![topups_used, p.id])?;
            }
            tx.prepare_cached("INSERT INTO device_logs (device_id, at, direction, detail) VALUES (?1, ?2, 'ota', ?3)")?.execute(
                params![d.id, ts(now), format!("OTA {bytes} bytes = {cost} attempt(s)")],
            )?;
            let p = common::product_by_pk(tx, id, &pk)?;
            let usage = usage_now(tx, &a, &p, d.id, now)?;
            changes::record(tx, id, "usage", d.id, Op::Update, now, &json!({"pk": p.pk, "dk": d.dk, "usage": usage}))?;
            Ok(UsageResponse {
                decision: if overage > 0 { "allowed_with_overage" } else { "allowed" }.into(),
                overage: u64::from(overage),
                topups_used: u64::from(topups_used),
                usage,
            })
        })
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub direction: String,
    pub detail: String,
}

/// A device's raw log (kept for the package's storage duration).
#[utoipa::path(get, path = "/v1/devices/{pk}/{dk}/logs", tag = "usage",
    params(("pk" = String, Path), ("dk" = String, Path)),
    responses((status = 200, body = Vec<LogEntry>)), security(("bearer" = [])))]
pub async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    Path((pk, dk)): Path<(String, String)>,
) -> Result<Json<Vec<LogEntry>>> {
    let id = caller.account_id;
    let out = state
        .db
        .read(move |c| {
            let (_, d) = devices::resolve(c, id, &pk, &dk)?;
            let mut st = c.prepare_cached(
                "SELECT at, direction, detail FROM device_logs WHERE device_id = ?1 ORDER BY at DESC, id DESC LIMIT 1000",
            )?;
            let rows = st
                .query_map([d.id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(at, direction, detail)| Ok(LogEntry { at: devices::col_ts(&at)?, direction, detail }))
                .collect()
        })
        .await?;
    Ok(Json(out))
}

/// The accounts with a product that has a package (whose logs may be due
/// for purging; maintenance).
pub fn accounts_with_packages(c: &Connection, _now: DateTime<Utc>) -> Result<Vec<i64>> {
    Ok(
        c.prepare_cached("SELECT DISTINCT account_id FROM products WHERE package IS NOT NULL")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?,
    )
}

/// Purges the device logs of `account_id` older than each product's
/// storage duration; each purge is recorded in the change feed. Returns
/// the rows purged.
pub fn purge_account_logs(tx: &Connection, account_id: i64, now: DateTime<Utc>) -> Result<u64> {
    let products: Vec<ProductRow> = tx
        .prepare_cached(&format!(
            "SELECT {} FROM products WHERE account_id = ?1 AND package IS NOT NULL",
            common::PRODUCT_COLS
        ))?
        .query_map([account_id], common::product_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let mut total = 0u64;
    for p in products {
        let Some(pkg) = &p.package else { continue };
        let cutoff = retention_cutoff(now, pkg.storage_days);
        let n = tx.prepare_cached("DELETE FROM device_logs WHERE at < ?1 AND device_id IN (SELECT id FROM devices WHERE product_id = ?2)")?.execute(
            params![ts(cutoff), p.id],
        )? as u64;
        if n > 0 {
            total += n;
            changes::record(
                tx,
                p.account_id,
                "device_logs",
                &p.pk,
                Op::Purge,
                now,
                &json!({"pk": p.pk, "before": cutoff, "purged": n}),
            )?;
        }
    }
    Ok(total)
}
