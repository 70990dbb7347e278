//! Usage (messages, OTA upgrades) against the product's package in the
//! data center's local day and month (core's `quota` decisions), the
//! devices' logs and their retention, and the overage preview of a month.

use chrono::{DateTime, Utc};
use licensedesk_core::package::quota::{
    MessageDecision, OtaDecision, OverageBill, bill_overage, decide_message, decide_ota,
    message_window, ota_window, overage_billing_instant,
};
use licensedesk_core::package::{Package, retention_cutoff};
use licensedesk_protocol::feed::{LogsPurged, UsageChange};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::Conn;
use crate::error::{ApiError, Result};
use crate::store::accounts::{self, AccountRow};
use crate::store::changes::{self, Record};
use crate::store::devices::{self, DeviceRow};
use crate::store::products::{self, ProductRow};
use crate::store::{Ctx, Store, codes, read, write};
use crate::time::stored;

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

pub async fn usage_now(
    c: &impl Conn,
    a: &AccountRow,
    p: &ProductRow,
    device_id: i64,
    now: DateTime<Utc>,
) -> Result<UsageNow> {
    let tz = a.tz()?;
    let day = message_window(now, tz).map_err(ApiError::core)?;
    let month = ota_window(now, tz).map_err(ApiError::core)?;
    let (messages, m_over) = c
        .opt(
            "SELECT messages, overage FROM usage_days WHERE device_id = $1 AND day = $2",
            &[&device_id, &stored(day.start)],
            |r| Ok((r.u64(0)?, r.u64(1)?)),
        )
        .await?
        .unwrap_or((0, 0));
    let (ota, o_over) = c
        .opt(
            "SELECT ota_attempts, ota_overage FROM usage_months WHERE device_id = $1 AND month = $2",
            &[&device_id, &stored(month.start)],
            |r| Ok((r.u64(0)?, r.u64(1)?)),
        )
        .await?
        .unwrap_or((0, 0));
    let pkg = p.package.as_ref();
    Ok(UsageNow {
        messages_today: messages,
        messages_per_day: pkg.map_or(0, |p| p.messages_per_day),
        messages_overage_today: m_over,
        messages_reset_at: day.end,
        ota_this_month: ota,
        ota_per_month: pkg.map_or(0, |p| p.ota_per_month),
        ota_overage_this_month: o_over,
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageResponse {
    /// `allowed` or `allowed_with_overage`.
    pub decision: String,
    pub overage: u64,
    pub topups_used: u64,
    pub usage: UsageNow,
}

async fn log(
    c: &impl Conn,
    device_id: i64,
    at: DateTime<Utc>,
    direction: &str,
    detail: &str,
) -> Result<()> {
    c.exec(
        "INSERT INTO device_logs (device_id, at, direction, detail) VALUES ($1, $2, $3, $4)",
        &[&device_id, &stored(at), &direction, &detail],
    )
    .await?;
    Ok(())
}

/// The feed's record of a device's usage now.
fn usage_changed(pk: &str, dk: &str, device_id: i64, usage: &UsageNow) -> Result<Record<'static>> {
    Ok(Record::UsageUpdated {
        device_id,
        usage: UsageChange {
            dk: dk.to_owned(),
            pk: pk.to_owned(),
            usage: serde_json::to_value(usage)?,
        },
    })
}

/// What a usage report needs: the account, the device's product (with its
/// package) and the device, which must be active at `now`.
async fn reporting(
    c: &impl Conn,
    id: i64,
    pk: &str,
    dk: &str,
    now: DateTime<Utc>,
) -> Result<(AccountRow, ProductRow, DeviceRow, Package)> {
    let a = accounts::get(c, id).await?;
    let (p, d) = devices::resolve(c, id, pk, dk).await?;
    require_active(&p, &d, now)?;
    let pkg = p.package.clone().ok_or(ApiError::NotFound("package"))?;
    Ok((a, p, d, pkg))
}

/// After a report was counted: the device's usage now, its change in the
/// feed, and the answer.
async fn answered(
    c: &impl Conn,
    a: &AccountRow,
    p: &ProductRow,
    d: &DeviceRow,
    now: DateTime<Utc>,
    overage: u64,
    topups_used: u64,
) -> Result<UsageResponse> {
    let usage = usage_now(c, a, p, d.id, now).await?;
    changes::record(
        c,
        p.account_id,
        now,
        &usage_changed(&p.pk, &d.dk, d.id, &usage)?,
    )
    .await?;
    Ok(UsageResponse {
        decision: if overage > 0 {
            "allowed_with_overage"
        } else {
            "allowed"
        }
        .into(),
        overage,
        topups_used,
        usage,
    })
}

/// Counts `count` messages of device `dk` of product `pk` at `now`
/// against its package (the messages route; the demo's usage).
pub async fn report_messages(
    c: &impl Conn,
    id: i64,
    pk: &str,
    dk: &str,
    count: u64,
    direction: &str,
    now: DateTime<Utc>,
) -> Result<UsageResponse> {
    let (a, p, d, pkg) = reporting(c, id, pk, dk, now).await?;
    let day = message_window(now, a.tz()?).map_err(ApiError::core)?;
    let used = usage_now(c, &a, &p, d.id, now).await?.messages_today;
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
    c.exec(
        "INSERT INTO usage_days (device_id, day, messages, overage) VALUES ($1, $2, $3, $4)
         ON CONFLICT (device_id, day) DO UPDATE SET messages = usage_days.messages + $3, overage = usage_days.overage + $4",
        &[&d.id, &stored(day.start), &(count as i64), &(overage as i64)],
    )
    .await?;
    log(c, d.id, now, direction, &format!("{count} message(s)")).await?;
    answered(c, &a, &p, &d, now, overage, 0).await
}

/// An OTA upgrade of an image of `bytes` bytes of device `dk` at `now`:
/// core's `decide_ota` with the month's attempts and the product's top-ups.
async fn report_ota(
    c: &impl Conn,
    id: i64,
    pk: &str,
    dk: &str,
    bytes: u64,
    now: DateTime<Utc>,
) -> Result<UsageResponse> {
    let (a, p, d, pkg) = reporting(c, id, pk, dk, now).await?;
    let cost = pkg.ota_cost(bytes).map_err(ApiError::core)?;
    let month = ota_window(now, a.tz()?).map_err(ApiError::core)?;
    let used = usage_now(c, &a, &p, d.id, now).await?.ota_this_month;
    let topups = u32::try_from(p.ota_topups.max(0)).unwrap_or(u32::MAX);
    let used32 = u32::try_from(used).unwrap_or(u32::MAX);
    let (from_allowance, topups_used, overage) = match decide_ota(
        cost,
        used32,
        pkg.ota_per_month,
        topups,
        p.policy,
    ) {
        OtaDecision::Allowed {
            from_allowance,
            topups_used,
        } => (from_allowance, topups_used, 0),
        OtaDecision::AllowedWithOverage {
            from_allowance,
            overage,
        } => (from_allowance, 0, overage),
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
    c.exec(
        "INSERT INTO usage_months (device_id, month, ota_attempts, ota_overage, topups_used) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (device_id, month) DO UPDATE SET ota_attempts = usage_months.ota_attempts + $3,
           ota_overage = usage_months.ota_overage + $4, topups_used = usage_months.topups_used + $5",
        &[
            &d.id,
            &stored(month.start),
            &i64::from(from_allowance),
            &i64::from(overage),
            &i64::from(topups_used),
        ],
    )
    .await?;
    if topups_used > 0 {
        c.exec(
            "UPDATE products SET ota_topups = ota_topups - $1 WHERE id = $2",
            &[&i64::from(topups_used), &p.id],
        )
        .await?;
    }
    log(
        c,
        d.id,
        now,
        "ota",
        &format!("OTA {bytes} bytes = {cost} attempt(s)"),
    )
    .await?;
    // Its top-ups as they are now.
    let p = products::by_pk(c, id, pk).await?;
    answered(
        c,
        &a,
        &p,
        &d,
        now,
        u64::from(overage),
        u64::from(topups_used),
    )
    .await
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub direction: String,
    pub detail: String,
}

async fn logs_in(c: &impl Conn, id: i64, pk: &str, dk: &str) -> Result<Vec<LogEntry>> {
    let (_, d) = devices::resolve(c, id, pk, dk).await?;
    c.query(
        "SELECT at, direction, detail FROM device_logs WHERE device_id = $1 ORDER BY at DESC, id DESC LIMIT 1000",
        &[&d.id],
        |r| {
            Ok(LogEntry {
                at: r.time(0)?,
                direction: r.string(1)?,
                detail: r.string(2)?,
            })
        },
    )
    .await
}

/// The accounts with a product that has a package (whose logs may be due
/// for purging; maintenance).
async fn accounts_with_packages(c: &impl Conn) -> Result<Vec<i64>> {
    c.query(
        "SELECT DISTINCT account_id FROM products WHERE package IS NOT NULL",
        &[],
        |r| r.i64(0),
    )
    .await
}

/// Purges the device logs of `account_id` older than each product's
/// storage duration; each purge is recorded in the change feed. Returns
/// the rows purged.
async fn purge_account_logs(c: &impl Conn, account_id: i64, now: DateTime<Utc>) -> Result<u64> {
    let products = c
        .query(
            concat!(
                "SELECT ",
                products::product_cols!(),
                " FROM products WHERE account_id = $1 AND package IS NOT NULL"
            ),
            &[&account_id],
            products::from_row,
        )
        .await?;
    let mut total = 0u64;
    for p in products {
        let Some(pkg) = &p.package else { continue };
        let cutoff = retention_cutoff(now, pkg.storage_days);
        let n = c
            .exec(
                "DELETE FROM device_logs WHERE at < $1 AND device_id IN (SELECT id FROM devices WHERE product_id = $2)",
                &[&stored(cutoff), &p.id],
            )
            .await?;
        if n > 0 {
            total += n;
            changes::record(
                c,
                p.account_id,
                now,
                &Record::DeviceLogsPurged(LogsPurged {
                    before: cutoff,
                    pk: p.pk.clone(),
                    purged: n,
                }),
            )
            .await?;
        }
    }
    Ok(total)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Bill {
    /// Units beyond the allowance still to bill after the top-ups.
    pub billed: u64,
    /// Top-up units that offset the overage.
    pub topups_used: u64,
}

impl From<OverageBill> for Bill {
    fn from(b: OverageBill) -> Self {
        Self {
            billed: b.billed,
            topups_used: b.topups_used,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BillingPreview {
    pub pk: String,
    /// The local month, as a UTC interval.
    pub month_start: DateTime<Utc>,
    pub month_end: DateTime<Utc>,
    /// When this month's overage is billed: the 1st of the next local month.
    pub billed_at: DateTime<Utc>,
    pub message_overage: u64,
    pub messages: Bill,
    pub ota_overage: u64,
    pub ota: Bill,
}

/// A product's message and OTA overage in `[start, end)` (the local month
/// starting at `start`).
pub async fn month_overage(
    c: &impl Conn,
    product_id: i64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(u64, u64, u64)> {
    let (start, end) = (stored(start), stored(end));
    let messages = c
        .one(
            "SELECT CAST(COALESCE(SUM(u.overage), 0) AS BIGINT) FROM usage_days u JOIN devices d ON d.id = u.device_id
             WHERE d.product_id = $1 AND u.day >= $2 AND u.day < $3",
            &[&product_id, &start, &end],
            |r| r.u64(0),
        )
        .await?;
    let (ota, topups_used) = c
        .one(
            "SELECT CAST(COALESCE(SUM(u.ota_overage), 0) AS BIGINT), CAST(COALESCE(SUM(u.topups_used), 0) AS BIGINT)
             FROM usage_months u JOIN devices d ON d.id = u.device_id
             WHERE d.product_id = $1 AND u.month = $2",
            &[&product_id, &start],
            |r| Ok((r.u64(0)?, r.u64(1)?)),
        )
        .await?;
    Ok((messages, ota, topups_used))
}

async fn billing_in(c: &impl Conn, id: i64, pk: &str, at: DateTime<Utc>) -> Result<BillingPreview> {
    let tz = accounts::get(c, id).await?.tz()?;
    let p = products::by_pk(c, id, pk).await?;
    let month = ota_window(at, tz).map_err(ApiError::core)?;
    let billed_at = overage_billing_instant(at, tz).map_err(ApiError::core)?;
    let (msgs, ota, _) = month_overage(c, p.id, month.start, month.end).await?;
    Ok(BillingPreview {
        month_start: month.start,
        month_end: month.end,
        billed_at,
        message_overage: msgs,
        messages: bill_overage(msgs, p.message_topups.max(0) as u64).into(),
        ota_overage: ota,
        ota: bill_overage(ota, p.ota_topups.max(0) as u64).into(),
        pk: p.pk,
    })
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeviceDetail {
    pub pk: String,
    pub product_name: String,
    pub dk: String,
    pub hardware_id: Option<String>,
    /// `active` or `inactive`.
    pub status: String,
    pub online: bool,
    /// `no_codes` when taken offline for want of codes.
    pub offline_reason: Option<String>,
    pub code: Option<String>,
    pub activated_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Whether the product pool has a code to replace this one at expiry.
    pub replacement_available: bool,
    pub usage: UsageNow,
}

async fn detail_in(
    c: &impl Conn,
    account_id: i64,
    pk: &str,
    dk: &str,
    now: DateTime<Utc>,
) -> Result<DeviceDetail> {
    let a = accounts::get(c, account_id).await?;
    let (p, d) = devices::resolve(c, account_id, pk, dk).await?;
    let remaining = codes::product_counters(c, p.id).await?.remaining();
    Ok(DeviceDetail {
        usage: usage_now(c, &a, &p, d.id, now).await?,
        pk: p.pk,
        product_name: p.name,
        code: codes::active_code(c, d.id).await?,
        dk: d.dk,
        hardware_id: d.hardware_id,
        status: d.status,
        online: d.online,
        offline_reason: d.offline_reason,
        activated_at: d.activated_at,
        expires_at: d.expires_at,
        last_seen_at: d.last_seen_at,
        replacement_available: remaining > 0,
    })
}

impl Store {
    pub async fn device_detail(
        &self,
        account: i64,
        pk: String,
        dk: String,
        now: DateTime<Utc>,
    ) -> Result<DeviceDetail> {
        read!(self, [pk, dk], |c| detail_in(c, account, &pk, &dk, now)).await
    }

    pub async fn report_messages(
        &self,
        ctx: &Ctx,
        account: i64,
        pk: String,
        dk: String,
        count: u64,
        direction: String,
    ) -> Result<UsageResponse> {
        let now = ctx.now;
        write!(self, ctx, [pk, dk, direction], |c| report_messages(
            c, account, &pk, &dk, count, &direction, now
        ))
        .await
    }

    pub async fn report_ota(
        &self,
        ctx: &Ctx,
        account: i64,
        pk: String,
        dk: String,
        bytes: u64,
    ) -> Result<UsageResponse> {
        let now = ctx.now;
        write!(self, ctx, [pk, dk], |c| report_ota(
            c, account, &pk, &dk, bytes, now
        ))
        .await
    }

    pub async fn device_logs(&self, account: i64, pk: String, dk: String) -> Result<Vec<LogEntry>> {
        read!(self, [pk, dk], |c| logs_in(c, account, &pk, &dk)).await
    }

    /// The overage of the local month containing `at` and what its
    /// top-ups would offset (a preview: nothing is used up).
    pub async fn billing_preview(
        &self,
        account: i64,
        pk: String,
        at: DateTime<Utc>,
    ) -> Result<BillingPreview> {
        read!(self, [pk], |c| billing_in(c, account, &pk, at)).await
    }

    pub async fn accounts_with_packages(&self) -> Result<Vec<i64>> {
        read!(self, [], |c| accounts_with_packages(c)).await
    }

    pub async fn purge_logs(&self, ctx: &Ctx, account: i64) -> Result<u64> {
        let now = ctx.now;
        write!(self, ctx, [], |c| purge_account_logs(c, account, now)).await
    }
}
