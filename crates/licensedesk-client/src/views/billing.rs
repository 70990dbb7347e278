//! A product's billing: its overage policy, the top-ups it has left, this
//! month's overage so far, and the months the server has closed (domain.md
//! §1: overage billed on the 1st of the next local month, first offset by
//! top-ups, which the close uses up).

use chrono::{DateTime, Utc};
use licensedesk_core::package::statement::Month;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, ts};
use crate::error::{Error, Result};
use crate::views::time_zone;

/// A closed month of a product, as the server wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Statement {
    /// The data center's month, `YYYY-MM`.
    pub month: String,
    /// `block` or `bill`, as the product had it at the close.
    pub overage_policy: String,
    /// Messages beyond the daily allowances.
    pub message_overage: u64,
    /// Message top-ups the close used up to offset them.
    pub message_topups_applied: u64,
    pub messages_billed: u64,
    pub ota_overage: u64,
    pub ota_topups_applied: u64,
    pub ota_billed: u64,
    /// Prepaid OTA attempts upgrades took during the month (`block`).
    pub ota_topups_used_in_month: u64,
    /// Balances left after the close.
    pub message_topups_left: u64,
    pub ota_topups_left: u64,
    /// RFC 3339.
    pub closed_at: String,
}

/// What the app shows of one product's billing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ProductBilling {
    pub pk: String,
    /// `block` or `bill`.
    pub overage_policy: String,
    /// Prepaid units left.
    pub message_topups: u64,
    pub ota_topups: u64,
    /// The data center's current month, `YYYY-MM`, and when it closes
    /// (RFC 3339: the first local midnight of the next month).
    pub month: String,
    pub month_closes_at: String,
    /// Overage recorded this month so far, from the devices' usage reports
    /// this cache has seen (under `block` there is none: it is refused).
    pub message_overage_this_month: u64,
    pub ota_overage_this_month: u64,
    /// Closed months, newest first.
    pub statements: Vec<Statement>,
}

/// The billing of product `pk` at `now`.
pub fn billing(cache: &Cache, pk: &str, now: DateTime<Utc>) -> Result<ProductBilling> {
    cache.read(|c| billing_in(c, pk, now))
}

fn billing_in(c: &Connection, pk: &str, now: DateTime<Utc>) -> Result<ProductBilling> {
    let (policy, message_topups, ota_topups): (String, i64, i64) = c
        .query_row(
            "SELECT overage_policy, message_topups, ota_topups FROM products WHERE pk = ?1",
            [pk],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("product {pk}")))?;
    let tz = time_zone(c)?;
    let month = Month::containing(now, tz).map_err(|e| Error::Invalid(e.to_string()))?;
    let (start, end) = (ts(month.window.start), ts(month.window.end));
    // A day's usage is keyed by its end, which lies in (start, end].
    let messages: i64 = c
        .prepare_cached(
            "SELECT COALESCE(SUM(u.overage), 0) FROM usage_days u JOIN devices d ON d.id = u.device_id
             WHERE d.pk = ?1 AND u.day_end > ?2 AND u.day_end <= ?3",
        )?
        .query_row(params![pk, start, end], |r| r.get(0))?;
    // A device's latest report counts when it is of this month (its OTA
    // counter resets at this month's end).
    let ota: i64 = c
        .prepare_cached(
            "SELECT COALESCE(SUM(json_extract(n.usage, '$.ota_overage_this_month')), 0)
             FROM usage_now n JOIN devices d ON d.id = n.device_id
             WHERE d.pk = ?1 AND julianday(json_extract(n.usage, '$.ota_reset_at')) = julianday(?2)",
        )?
        .query_row(params![pk, end], |r| r.get(0))?;
    let statements = c
        .prepare_cached("SELECT data FROM statements WHERE pk = ?1 ORDER BY month DESC")?
        .query_map([pk], |r| r.get::<_, String>(0))?
        .map(|data| {
            serde_json::from_str::<Statement>(&data?)
                .map_err(|e| Error::Protocol(format!("a stored statement: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ProductBilling {
        pk: pk.to_owned(),
        overage_policy: policy,
        message_topups: message_topups.max(0) as u64,
        ota_topups: ota_topups.max(0) as u64,
        month: month.label,
        month_closes_at: month.window.end.to_rfc3339(),
        message_overage_this_month: messages.max(0) as u64,
        ota_overage_this_month: ota.max(0) as u64,
        statements,
    })
}
