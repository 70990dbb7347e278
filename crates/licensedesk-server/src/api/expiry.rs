//! Devices whose code expires within N days (default 30), searchable, with
//! whether a replacement code is available for each.

use axum::extract::State;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::{HashMap, HashSet};

use licensedesk_core::device::allocate_renewals;
use licensedesk_core::package::quota::local_day_start;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::common;
use crate::api::extract::{Json, Query};
use crate::auth::Caller;
use crate::db::{parse_ts, ts};
use crate::error::{ApiError, Result};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearExpiryQuery {
    /// Window in days (default 30, at most 3650).
    pub days: Option<u32>,
    /// Free text matched against product name, PK and DK.
    pub q: Option<String>,
    pub product: Option<String>,
    pub pk: Option<String>,
    pub dk: Option<String>,
    /// Local dates (YYYY-MM-DD, data center's calendar), inclusive.
    pub activated_from: Option<NaiveDate>,
    pub activated_to: Option<NaiveDate>,
    pub expires_from: Option<NaiveDate>,
    pub expires_to: Option<NaiveDate>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NearExpiryDevice {
    pub pk: String,
    pub product_name: String,
    pub dk: String,
    pub code: Option<String>,
    pub activated_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub days_left: i64,
    /// `true` when the product pool still has a code for this device once
    /// the devices of the product that expire earlier have taken theirs.
    pub replacement_available: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NearExpiryList {
    pub days: u32,
    pub devices: Vec<NearExpiryDevice>,
}

/// First instant of local date `d` in `tz`.
fn local_start(d: NaiveDate, tz: Tz) -> Result<DateTime<Utc>> {
    local_day_start(d, tz)
        .ok_or_else(|| ApiError::invalid("DATE_INVALID", format!("{d} has no start in {tz}")))
}

/// Devices with near-expiry activation codes.
#[utoipa::path(get, path = "/v1/devices/near-expiry", tag = "devices", params(NearExpiryQuery),
    responses((status = 200, body = NearExpiryList)), security(("bearer" = [])))]
pub async fn near_expiry(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<NearExpiryQuery>,
) -> Result<Json<NearExpiryList>> {
    let id = caller.account_id;
    let now = state.now();
    let days = q
        .days
        .unwrap_or(licensedesk_core::device::NEAR_EXPIRY_DEFAULT_DAYS)
        .min(3650);
    let out = state
        .db
        .read(move |c| {
            let tz = common::account(c, id)?.tz()?;
            let renewable = renewable_devices(c, id, now, days)?;
            let mut sql = String::from(
                "SELECT p.pk, p.name, d.dk, (SELECT code FROM codes WHERE device_id = d.id AND active = 1),
                        d.activated_at, d.expires_at, d.id
                 FROM devices d JOIN products p ON p.id = d.product_id
                 WHERE d.account_id = ?1 AND d.status = 'active' AND d.expires_at > ?2 AND d.expires_at <= ?3",
            );
            let mut args: Vec<Value> = vec![
                Value::Integer(id),
                Value::Text(ts(now)),
                Value::Text(ts(now + Duration::days(i64::from(days)))),
            ];
            let push = |cond: &str, v: Value, sql: &mut String, args: &mut Vec<Value>| {
                args.push(v);
                sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
            };
            if let Some(t) = q.q.as_deref().filter(|t| !t.is_empty()) {
                push(" AND (p.name LIKE ? ESCAPE '\\'", Value::Text(like(t)), &mut sql, &mut args);
                let n = args.len();
                sql.push_str(&format!(" OR p.pk LIKE ?{n} ESCAPE '\\' OR d.dk LIKE ?{n} ESCAPE '\\')"));
            }
            if let Some(v) = q.product.as_deref() {
                push(" AND p.name LIKE ? ESCAPE '\\'", Value::Text(like(v)), &mut sql, &mut args);
            }
            if let Some(v) = q.pk.as_deref() {
                push(" AND p.pk = ?", Value::Text(v.to_owned()), &mut sql, &mut args);
            }
            if let Some(v) = q.dk.as_deref() {
                push(" AND d.dk LIKE ? ESCAPE '\\'", Value::Text(like(v)), &mut sql, &mut args);
            }
            for (date, col, op, next_day) in [
                (q.activated_from, "d.activated_at", ">=", false),
                (q.activated_to, "d.activated_at", "<", true),
                (q.expires_from, "d.expires_at", ">=", false),
                (q.expires_to, "d.expires_at", "<", true),
            ] {
                if let Some(d) = date {
                    let d = if next_day { d.succ_opt().unwrap_or(d) } else { d };
                    push(&format!(" AND {col} {op} ?"), Value::Text(ts(local_start(d, tz)?)), &mut sql, &mut args);
                }
            }
            sql.push_str(" ORDER BY d.expires_at, d.id LIMIT 5000");
            let mut st = c.prepare(&sql)?;
            let rows = st
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
                .map(|(pk, product_name, dk, code, act, exp, device_id)| {
                    let expires_at = parse_ts(&exp)?;
                    Ok(NearExpiryDevice {
                        pk,
                        product_name,
                        dk,
                        code,
                        activated_at: crate::db::parse_ts_opt(act)?,
                        days_left: (expires_at - now).num_days(),
                        expires_at,
                        replacement_available: renewable.contains(&device_id),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(NearExpiryList { days, devices })
        })
        .await?;
    Ok(Json(out))
}

/// Device ids with their expiry.
type Expiring = Vec<(i64, DateTime<Utc>)>;

/// Devices (ids) of the account expiring within the window that their
/// product pool can renew, as core's `allocate_renewals` hands out codes
/// (earliest expiry first), computed before any search filter.
fn renewable_devices(
    c: &rusqlite::Connection,
    account_id: i64,
    now: DateTime<Utc>,
    days: u32,
) -> Result<HashSet<i64>> {
    let mut st = c.prepare_cached(
        "SELECT d.product_id, d.id, d.expires_at,
                (SELECT COUNT(*) FROM codes WHERE product_id = d.product_id AND consumed_at IS NULL)
         FROM devices d WHERE d.account_id = ?1 AND d.status = 'active' AND d.expires_at > ?2 AND d.expires_at <= ?3
         ORDER BY d.product_id, d.expires_at, d.id",
    )?;
    let rows = st
        .query_map(
            params![
                account_id,
                ts(now),
                ts(now + Duration::days(i64::from(days)))
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut by_product: HashMap<i64, (u64, Expiring)> = HashMap::new();
    for (product, device, exp, remaining) in rows {
        let entry = by_product
            .entry(product)
            .or_insert_with(|| (remaining as u64, Vec::new()));
        entry.1.push((device, parse_ts(&exp)?));
    }
    Ok(by_product
        .into_values()
        .flat_map(|(codes, expiring)| allocate_renewals(&expiring, codes).renew)
        .collect())
}

/// A LIKE pattern matching `s` anywhere, with wildcards escaped.
pub fn like(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
