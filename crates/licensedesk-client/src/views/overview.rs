//! Account overview (Total / Used / Remaining), staleness and product cards.

use chrono::{DateTime, Duration, Utc};
use licensedesk_core::codes::{Counters, account_counters};
use licensedesk_core::device::{allocate_renewals, forecast_offline};
use licensedesk_core::package::Package;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::cache::{Cache, get_meta, keys, parse_opt, parse_ts, ts};
use crate::error::{Error, ErrorBody, Result};
use crate::views::{PackageTerms, month_index, month_label, time_zone};

/// How old the cache is ("last synced 3 h ago": the UI words it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Staleness {
    /// RFC 3339; `None` before the first complete sync.
    pub last_synced_at: Option<String>,
    /// Seconds since then (at `now`).
    #[ts(type = "number | null")]
    pub age_seconds: Option<i64>,
    /// Last verified server time (RFC 3339).
    pub server_time: Option<String>,
    /// Set when this computer's clock is behind a time already trusted.
    pub clock_warning: Option<ErrorBody>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct AccountOverview {
    pub name: String,
    pub kind: String,
    pub data_center: String,
    pub time_zone: String,
    pub verified_enterprise: bool,
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    pub unassigned: u64,
    pub free_codes: u64,
    pub staleness: Staleness,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ProductCard {
    pub pk: String,
    pub name: String,
    /// Its package allowance (`null` until it has one), which the UI
    /// words: `5 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d`.
    pub package: Option<PackageTerms>,
    pub overage_policy: String,
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    pub devices: u64,
    /// Local month ("YYYY-MM") the pool runs out at the current rate
    /// (renewals + new activations); `None` if not within 24 months.
    pub runs_out: Option<String>,
    /// Devices that will go offline at their next renewal for want of codes.
    pub renewal_warnings: u64,
    /// Prepaid top-ups the product has left (the month's close uses them
    /// up against its overage; under `block`, upgrades take OTA ones).
    pub ota_topups: u64,
    pub message_topups: u64,
}

pub fn staleness(c: &Connection, now: DateTime<Utc>) -> Result<Staleness> {
    let last = get_meta(c, keys::LAST_SYNCED)?;
    let age = last
        .as_deref()
        .map(parse_ts)
        .transpose()?
        .map(|t| (now - t).num_seconds());
    let mark = parse_opt(get_meta(c, keys::CLOCK_MARK)?.as_deref())?;
    let clock_warning = licensedesk_core::clock::check_clock(mark, now, None)
        .err()
        .map(|e| Error::from(e).body());
    Ok(Staleness {
        last_synced_at: last,
        age_seconds: age,
        server_time: get_meta(c, keys::SERVER_TIME)?,
        clock_warning,
    })
}

/// Per-product pools and the unassigned count, summed by core.
pub(crate) fn counters(c: &Connection) -> Result<(Counters, u64)> {
    let unassigned: i64 = c
        .query_row(
            "SELECT remaining + used FROM pool_counts WHERE product_id = 0",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let mut st =
        c.prepare_cached("SELECT used, remaining FROM pool_counts WHERE product_id != 0")?;
    let pools = st
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?
        .map(|r| {
            let (u, rem) = r?;
            Counters::new(u as u64, rem as u64).map_err(|e| Error::Invalid(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let total = account_counters(unassigned as u64, pools.iter())
        .map_err(|e| Error::Invalid(e.to_string()))?;
    Ok((total, unassigned as u64))
}

/// One product's pool: its row id, key, name and counters.
pub(crate) struct ProductPool {
    pub id: i64,
    pub pk: String,
    pub name: String,
    pub counters: Counters,
}

/// Every product's pool, ordered like the cards (name, then PK).
pub(crate) fn counters_by_product(c: &Connection) -> Result<Vec<ProductPool>> {
    let mut st = c.prepare_cached(
        "SELECT p.id, p.pk, p.name,
                IFNULL((SELECT used FROM pool_counts WHERE product_id = p.id), 0),
                IFNULL((SELECT remaining FROM pool_counts WHERE product_id = p.id), 0)
         FROM products p ORDER BY p.name, p.pk",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, pk, name, used, rem)| {
            Ok(ProductPool {
                id,
                pk,
                name,
                counters: Counters::new(used as u64, rem as u64)
                    .map_err(|e| Error::Invalid(e.to_string()))?,
            })
        })
        .collect()
}

pub fn overview(cache: &Cache, now: DateTime<Utc>) -> Result<AccountOverview> {
    cache.read(|c| {
        let (name, kind, dc, verified): (String, String, String, bool) = c
            .query_row(
                "SELECT name, kind, data_center, verified_enterprise FROM account LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?
            .ok_or(Error::NotSynced)?;
        let (counters, unassigned) = counters(c)?;
        let free: i64 = c.query_row(
            "SELECT COALESCE(SUM(quantity), 0) FROM batches WHERE kind = 'free'",
            [],
            |r| r.get(0),
        )?;
        Ok(AccountOverview {
            name,
            kind,
            data_center: dc,
            time_zone: time_zone(c)?.name().to_owned(),
            verified_enterprise: verified,
            total: counters.total(),
            used: counters.used(),
            remaining: counters.remaining(),
            unassigned,
            free_codes: free as u64,
            staleness: staleness(c, now)?,
        })
    })
}

/// Product cards, ordered like the server's (name, then PK).
pub fn cards(cache: &Cache, now: DateTime<Utc>) -> Result<Vec<ProductCard>> {
    cache.read(|c| {
        let mut st = c.prepare_cached(
            "SELECT p.id, p.pk, p.name, p.package, p.overage_policy,
                    IFNULL((SELECT used FROM pool_counts WHERE product_id = p.id), 0),
                    IFNULL((SELECT remaining FROM pool_counts WHERE product_id = p.id), 0),
                    (SELECT COUNT(*) FROM devices WHERE pk = p.pk),
                    p.ota_topups, p.message_topups
             FROM products p ORDER BY p.name, p.pk",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                    (r.get::<_, i64>(8)?, r.get::<_, i64>(9)?),
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(
                |(id, pk, name, pkg, policy, used, rem, devices, (ota, msgs))| {
                    let counters = Counters::new(used as u64, rem as u64)
                        .map_err(|e| Error::Invalid(e.to_string()))?;
                    let package: Option<Package> =
                        pkg.map(|p| serde_json::from_str(&p)).transpose()?;
                    let (runs_out, renewal_warnings) =
                        forecast(c, id, &pk, counters.remaining(), now)?;
                    Ok(ProductCard {
                        package: package.as_ref().map(PackageTerms::from),
                        pk,
                        name,
                        overage_policy: policy,
                        total: counters.total(),
                        used: counters.used(),
                        remaining: counters.remaining(),
                        devices: devices as u64,
                        runs_out,
                        renewal_warnings,
                        ota_topups: ota.max(0) as u64,
                        message_topups: msgs.max(0) as u64,
                    })
                },
            )
            .collect()
    })
}

/// Forecast horizon of the run-out date, in months.
const HORIZON_MONTHS: usize = 24;
/// Window of the "current rate" of new activations.
const RATE_DAYS: i64 = 90;

/// (run-out month, devices offline at next renewal) of a product pool.
fn forecast(
    c: &Connection,
    product_id: i64,
    pk: &str,
    remaining: u64,
    now: DateTime<Utc>,
) -> Result<(Option<String>, u64)> {
    let tz = time_zone(c)?;
    let active = active_expiries(c, pk, now)?;
    let warnings = allocate_renewals(&active, remaining).offline.len() as u64;
    // Demand per month: renewals of codes expiring that month plus new
    // activations at the rate of the last 90 days; core allocates it.
    let first_codes: i64 = c.query_row(
        "SELECT COUNT(*) FROM codes c WHERE c.product_id = ?1 AND c.consumed_at >= ?2
         AND NOT EXISTS (SELECT 1 FROM codes e WHERE e.device_id = c.device_id AND e.consumed_at < c.consumed_at AND e.consumed_at != '')",
        rusqlite::params![product_id, ts(now - Duration::days(RATE_DAYS))],
        |r| r.get(0),
    )?;
    let per_month = (first_codes as f64 * 30.44 / RATE_DAYS as f64).round() as u64;
    let start = month_index(now, tz);
    let mut demand = vec![per_month; HORIZON_MONTHS];
    for (_, at) in &active {
        let m = month_index(*at, tz) - start;
        if (0..HORIZON_MONTHS as i64).contains(&m) {
            demand[m as usize] += 1;
        }
    }
    let months = forecast_offline(&demand, remaining);
    let runs_out = months
        .iter()
        .position(|m| m.offline > 0)
        .map(|i| month_label(start + i as i64));
    Ok((runs_out, warnings))
}

/// (device id, expiry) of the product's active devices, not yet expired.
pub(crate) fn active_expiries(
    c: &Connection,
    pk: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, DateTime<Utc>)>> {
    let mut st = c.prepare_cached(
        "SELECT id, expires_at FROM devices WHERE pk = ?1 AND status = 'active' AND expires_at > ?2 ORDER BY expires_at, id",
    )?;
    let rows = st
        .query_map(rusqlite::params![pk, ts(now)], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, e)| Ok((id, parse_ts(&e)?)))
        .collect()
}
