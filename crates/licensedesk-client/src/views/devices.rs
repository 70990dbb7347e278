//! Devices with near-expiry codes, and a device's quota detail.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use licensedesk_core::device::{NEAR_EXPIRY_DEFAULT_DAYS, allocate_renewals};
use licensedesk_core::package::quota::{local_day_start, message_window, ota_window};
use licensedesk_core::package::{Package, retention_cutoff};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, parse_opt, parse_ts, ts};
use crate::error::{Error, ErrorBody, Result};
use crate::views::{PackageTerms, time_zone};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct NearExpiryQuery {
    /// Window in days (default 30, at most 3650).
    pub days: Option<u32>,
    /// Free text matched against product name, PK and DK.
    pub q: Option<String>,
    /// Local dates (YYYY-MM-DD, data center calendar), inclusive.
    pub activated_from: Option<String>,
    pub activated_to: Option<String>,
    pub expires_from: Option<String>,
    pub expires_to: Option<String>,
    /// Position of the first device to return in the whole list (default 0).
    pub offset: Option<u64>,
    /// Devices to return, 1..=500 (default 100).
    pub limit: Option<u32>,
}

/// A page of the near-expiry list: `devices` from position `offset`, and
/// how many devices the whole list has (nothing is left out silently).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct NearExpiryPage {
    /// Devices matching the query, all of them.
    pub count: u64,
    pub offset: u64,
    pub devices: Vec<NearExpiryDevice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct NearExpiryDevice {
    pub pk: String,
    pub product_name: String,
    pub dk: String,
    pub code: Option<String>,
    pub activated_at: Option<String>,
    pub expires_at: String,
    #[ts(type = "number")]
    pub days_left: i64,
    /// The pool still has a code for it once earlier expiries took theirs
    /// (core's `allocate_renewals`).
    pub replacement_available: bool,
}

fn local_start(d: &str, tz: Tz, next_day: bool) -> Result<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .map_err(|_| Error::Invalid(format!("date {d:?}: use YYYY-MM-DD")))?;
    let date = if next_day {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    local_day_start(date, tz).ok_or_else(|| Error::Invalid(format!("{d} has no start in {tz}")))
}

/// Devices whose code expires within the window, earliest first: the page
/// at `offset`, and the list's length.
pub fn near_expiry(
    cache: &Cache,
    q: &NearExpiryQuery,
    now: DateTime<Utc>,
) -> Result<NearExpiryPage> {
    let days = q.days.unwrap_or(NEAR_EXPIRY_DEFAULT_DAYS).min(3650);
    let end = ts(now + Duration::days(i64::from(days)));
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    cache.read(|c| {
        let tz = time_zone(c)?;
        let renewable = renewable(c, now, &end)?;
        let mut args = vec![Value::Text(ts(now)), Value::Text(end.clone())];
        let mut filter = String::from(
            " FROM devices d JOIN products p ON p.pk = d.pk
             WHERE d.status = 'active' AND d.expires_at > ?1 AND d.expires_at <= ?2",
        );
        if let Some(t) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let e = t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            args.push(Value::Text(format!("%{e}%")));
            let n = args.len();
            filter.push_str(&format!(
                " AND (p.name LIKE ?{n} ESCAPE '\\' OR d.pk LIKE ?{n} ESCAPE '\\' OR d.dk LIKE ?{n} ESCAPE '\\')"
            ));
        }
        for (date, col, op, next) in [
            (&q.activated_from, "d.activated_at", ">=", false),
            (&q.activated_to, "d.activated_at", "<", true),
            (&q.expires_from, "d.expires_at", ">=", false),
            (&q.expires_to, "d.expires_at", "<", true),
        ] {
            if let Some(d) = date.as_deref().filter(|d| !d.is_empty()) {
                args.push(Value::Text(ts(local_start(d, tz, next)?)));
                filter.push_str(&format!(" AND {col} {op} ?{}", args.len()));
            }
        }
        let count: i64 = c
            .prepare_cached(&format!("SELECT COUNT(*){filter}"))?
            .query_row(params_from_iter(&args), |r| r.get(0))?;
        args.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT d.pk, p.name, d.dk, (SELECT code FROM codes WHERE id = d.code_id), d.activated_at, d.expires_at, d.id
             {filter} ORDER BY d.expires_at, d.id LIMIT {limit} OFFSET ?{}",
            args.len()
        );
        let rows = c
            .prepare_cached(&sql)?
            .query_map(params_from_iter(args), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let devices = rows
            .into_iter()
            .map(|(pk, product_name, dk, code, act, exp, id)| {
                let expires = parse_ts(&exp)?;
                Ok(NearExpiryDevice {
                    pk,
                    product_name,
                    dk,
                    code,
                    activated_at: act,
                    days_left: (expires - now).num_days(),
                    expires_at: exp,
                    replacement_available: renewable.contains(&id),
                })
            })
            .collect::<Result<_>>()?;
        Ok(NearExpiryPage {
            count: u64::try_from(count).unwrap_or(0),
            offset,
            devices,
        })
    })
}

/// A product pool's remaining codes and its expiring devices.
type Pool = (u64, Vec<(i64, DateTime<Utc>)>);

/// Devices in the window that their pool can renew (before any search).
fn renewable(c: &Connection, now: DateTime<Utc>, end: &str) -> Result<HashSet<i64>> {
    let mut st = c.prepare_cached(
        "SELECT d.pk, d.id, d.expires_at,
           IFNULL((SELECT remaining FROM pool_counts WHERE product_id = (SELECT id FROM products WHERE pk = d.pk)), 0)
         FROM devices d WHERE d.status = 'active' AND d.expires_at > ?1 AND d.expires_at <= ?2
         ORDER BY d.pk, d.expires_at, d.id",
    )?;
    let rows = st
        .query_map(params![ts(now), end], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut by_pk: HashMap<String, Pool> = HashMap::new();
    for (pk, id, exp, rem) in rows {
        let e = by_pk.entry(pk).or_insert_with(|| (rem as u64, Vec::new()));
        e.1.push((id, parse_ts(&exp)?));
    }
    Ok(by_pk
        .into_values()
        .flat_map(|(codes, exp)| allocate_renewals(&exp, codes).renew)
        .collect())
}

/// Devices page: the package allowance and usage against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct DeviceQuota {
    pub pk: String,
    pub product_name: String,
    pub dk: String,
    pub status: String,
    pub online: bool,
    /// Why it is offline, as an error the UI words: `NO_CODES_AVAILABLE`
    /// (its product has no assigned code left; `unassigned`: how many the
    /// account could assign), else `DEVICE_OFFLINE` with the server's raw
    /// `reason`.
    pub offline_reason: Option<ErrorBody>,
    pub activated_at: Option<String>,
    pub expires_at: Option<String>,
    pub package: Option<PackageTerms>,
    pub messages_per_day: u32,
    /// Messages counted in the data center's current local day (as of the
    /// last sync; 0 if the last report was an earlier day).
    #[ts(type = "number")]
    pub messages_today: u64,
    pub messages_reset_at: String,
    pub ota_per_month: u32,
    pub ota_cap_mb: u32,
    #[ts(type = "number")]
    pub ota_this_month: u64,
    pub ota_reset_at: String,
    pub storage_days: u32,
    /// Raw logs older than this are purged (core's `retention_cutoff`).
    pub retention_cutoff: Option<String>,
}

type DeviceRowRaw = (
    i64,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

pub fn device_quota(cache: &Cache, pk: &str, dk: &str, now: DateTime<Utc>) -> Result<DeviceQuota> {
    cache.read(|c| {
        let tz = time_zone(c)?;
        let (name, package): (String, Option<String>) = c
            .query_row(
                "SELECT name, package FROM products WHERE pk = ?1",
                [pk],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("product {pk}")))?;
        let package: Option<Package> = package.map(|p| serde_json::from_str(&p)).transpose()?;
        let d: DeviceRowRaw = c
            .query_row(
                "SELECT id, dk, status, online, offline_reason, activated_at, expires_at,
                        (SELECT usage FROM usage_now WHERE device_id = devices.id)
                 FROM devices WHERE pk = ?1 AND dk = ?2",
                [pk, dk],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("device {dk} of product {pk}")))?;
        let day = message_window(now, tz).map_err(|e| Error::Invalid(e.to_string()))?;
        let month = ota_window(now, tz).map_err(|e| Error::Invalid(e.to_string()))?;
        let usage: serde_json::Value =
            d.7.as_deref()
                .map(serde_json::from_str)
                .transpose()?
                .unwrap_or_default();
        let same = |field: &str, end: DateTime<Utc>| {
            parse_opt(usage[field].as_str()).ok().flatten() == Some(end)
        };
        let messages_today = if same("messages_reset_at", day.end) {
            usage["messages_today"].as_u64().unwrap_or(0)
        } else {
            0
        };
        let ota_this_month = if same("ota_reset_at", month.end) {
            usage["ota_this_month"].as_u64().unwrap_or(0)
        } else {
            0
        };
        let p = package.as_ref();
        let name_for_reason = name.clone();
        Ok(DeviceQuota {
            pk: pk.to_owned(),
            product_name: name,
            dk: d.1,
            status: d.2,
            online: d.3,
            offline_reason: d
                .4
                .map(|r| offline_reason(c, pk, &name_for_reason, &r))
                .transpose()?,
            activated_at: d.5,
            expires_at: d.6,
            package: p.map(PackageTerms::from),
            messages_per_day: p.map_or(0, |p| p.messages_per_day),
            messages_today,
            messages_reset_at: ts(day.end),
            ota_per_month: p.map_or(0, |p| p.ota_per_month),
            ota_cap_mb: p.map_or(0, |p| p.ota_cap_mb),
            ota_this_month,
            ota_reset_at: ts(month.end),
            storage_days: p.map_or(0, |p| p.storage_days),
            retention_cutoff: p.map(|p| ts(retention_cutoff(now, p.storage_days))),
        })
    })
}

/// A device's raw offline reason (the server's `no_codes`) as an error the
/// UI words in the user's language.
fn offline_reason(c: &Connection, pk: &str, product: &str, raw: &str) -> Result<ErrorBody> {
    if raw == "no_codes" {
        let unassigned = crate::views::overview::counters(c)?.1;
        let hint = match unassigned {
            0 => "the account has no unassigned code either: buy codes for the product".to_owned(),
            n => format!("the account has {n} unassigned code(s): assign some to the product"),
        };
        let mut e = ErrorBody::new(
            "NO_CODES_AVAILABLE",
            format!(
                "taken offline: product {product} ({pk}) has no assigned activation code left; {hint}"
            ),
        );
        e.params = serde_json::json!({"pk": pk, "product": product, "unassigned": unassigned})
            .as_object()
            .cloned()
            .unwrap_or_default();
        return Ok(e);
    }
    let mut e = ErrorBody::new("DEVICE_OFFLINE", format!("offline: {raw}"));
    e.params.insert("reason".into(), raw.into());
    Ok(e)
}
