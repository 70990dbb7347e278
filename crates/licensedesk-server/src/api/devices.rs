//! Devices: connect (consumption, reconnect, renewal, offline for want of
//! codes), detail, and devices with near-expiry codes.

use axum::extract::State;
use chrono::{DateTime, Utc};
use licensedesk_core::bounds;
use licensedesk_core::device::{
    CodePeriod, ConnectDecision, DeviceCodeState, RenewalDecision, decide_connect, decide_renewal,
};
use licensedesk_core::package::Package;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::common::{self, ProductRow};
use crate::api::extract::{Json, Path};
use crate::api::pool;
use crate::auth::Caller;
use crate::changes::{self, Op};
use crate::db::{json_time, json_time_opt, parse_ts, parse_ts_opt, ts};
use crate::error::{ApiError, Result};

#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: i64,
    pub account_id: i64,
    pub product_id: i64,
    pub dk: String,
    pub hardware_id: Option<String>,
    pub status: String,
    pub online: bool,
    pub offline_reason: Option<String>,
    pub activated_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The active code, when already known (set by a consumption).
    pub code: Option<String>,
}

const DEVICE_COLS: &str = "id, account_id, product_id, dk, hardware_id, status, online, offline_reason, activated_at, expires_at, last_seen_at";

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(DeviceRow, [Option<String>; 3])> {
    Ok((
        DeviceRow {
            id: r.get(0)?,
            account_id: r.get(1)?,
            product_id: r.get(2)?,
            dk: r.get(3)?,
            hardware_id: r.get(4)?,
            status: r.get(5)?,
            online: r.get(6)?,
            offline_reason: r.get(7)?,
            activated_at: None,
            expires_at: None,
            last_seen_at: None,
            code: None,
        },
        [r.get(8)?, r.get(9)?, r.get(10)?],
    ))
}

fn finish(row: Option<(DeviceRow, [Option<String>; 3])>) -> Result<Option<DeviceRow>> {
    row.map(|(mut d, [a, e, l])| {
        d.activated_at = parse_ts_opt(a)?;
        d.expires_at = parse_ts_opt(e)?;
        d.last_seen_at = parse_ts_opt(l)?;
        Ok(d)
    })
    .transpose()
}

pub fn device_by_dk(c: &Connection, product_id: i64, dk: &str) -> Result<Option<DeviceRow>> {
    let row = c
        .prepare_cached(&format!(
            "SELECT {DEVICE_COLS} FROM devices WHERE product_id = ?1 AND dk = ?2"
        ))?
        .query_row(params![product_id, dk], device_from_row)
        .optional()?;
    finish(row)
}

fn device_by_id(c: &Connection, id: i64) -> Result<DeviceRow> {
    let row = c
        .prepare_cached(&format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"))?
        .query_row([id], device_from_row)
        .optional()?;
    finish(row)?.ok_or(ApiError::NotFound("device"))
}

/// A device change's data. Serialises to the object a `json!` map of the
/// same fields would (keys in its sorted order, instants as chrono writes
/// them) without building that map: every activation records one.
#[derive(Serialize)]
struct DeviceChange<'a> {
    #[serde(serialize_with = "json_time_opt")]
    activated_at: Option<DateTime<Utc>>,
    dk: &'a str,
    #[serde(serialize_with = "json_time_opt")]
    expires_at: Option<DateTime<Utc>>,
    hardware_id: Option<&'a str>,
    id: i64,
    offline_reason: Option<&'a str>,
    online: bool,
    pk: &'a str,
    status: &'a str,
}

impl<'a> DeviceChange<'a> {
    fn of(d: &'a DeviceRow, pk: &'a str) -> Self {
        Self {
            activated_at: d.activated_at,
            dk: &d.dk,
            expires_at: d.expires_at,
            hardware_id: d.hardware_id.as_deref(),
            id: d.id,
            offline_reason: d.offline_reason.as_deref(),
            online: d.online,
            pk,
            status: &d.status,
        }
    }
}

/// A consumption's code change (see [`DeviceChange`]).
#[derive(Serialize)]
struct CodeChange<'a> {
    code: &'a str,
    #[serde(serialize_with = "json_time")]
    consumed_at: DateTime<Utc>,
    device_id: i64,
    dk: &'a str,
    #[serde(serialize_with = "json_time")]
    expires_at: DateTime<Utc>,
    id: i64,
    pk: &'a str,
}

fn record_device(
    tx: &Connection,
    d: &DeviceRow,
    pk: &str,
    op: Op,
    now: DateTime<Utc>,
) -> Result<()> {
    changes::record(
        tx,
        d.account_id,
        "device",
        d.id,
        op,
        now,
        &DeviceChange::of(d, pk),
    )
}

/// The device's activation state in core's terms.
pub fn code_state(d: &DeviceRow) -> DeviceCodeState {
    match (d.status.as_str(), d.activated_at, d.expires_at) {
        ("active", Some(consumed_at), Some(expires_at)) => DeviceCodeState::Active {
            consumed_at,
            expires_at,
        },
        _ => DeviceCodeState::Inactive,
    }
}

/// Consumes one code per period (in order) for the device; returns the
/// periods actually covered (fewer only if the pool ran dry meanwhile, which
/// the write lock rules out).
fn consume_periods(
    tx: &Connection,
    d: &mut DeviceRow,
    p: &ProductRow,
    periods: &[CodePeriod],
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut done = 0;
    for period in periods {
        // Only an active device holds an active code (going inactive clears it).
        if d.status == "active" {
            tx.prepare_cached(
                "UPDATE codes SET active = NULL WHERE device_id = ?1 AND active = 1",
            )?
            .execute([d.id])?;
        }
        let Some((code_id, code)) =
            pool::consume_one(tx, p.id, d.id, period.consumed_at, period.expires_at)?
        else {
            break;
        };
        done += 1;
        d.status = "active".into();
        d.activated_at = Some(period.consumed_at);
        d.expires_at = Some(period.expires_at);
        changes::record(
            tx,
            d.account_id,
            "code",
            code_id,
            Op::Update,
            now,
            &CodeChange {
                code: &code,
                consumed_at: period.consumed_at,
                device_id: d.id,
                dk: &d.dk,
                expires_at: period.expires_at,
                id: code_id,
                pk: &p.pk,
            },
        )?;
        d.code = Some(code);
    }
    Ok(done)
}

/// Codes counted for a decision, smallest first: a decision that did not
/// run out at a probe stands (more codes would not change it). A first
/// connection needs one code, a renewal one per period due; the whole pool
/// is counted only when a decision ran out at the largest probe.
const AVAILABLE_PROBES: [u64; 2] = [1, 64];

/// Runs a core decision with the product's available codes, counting no
/// more of the pool than the decision needs.
fn decide_with_pool<D>(
    tx: &Connection,
    product_id: i64,
    decide: impl Fn(u64) -> Result<D>,
    ran_out: impl Fn(&D) -> bool,
) -> Result<D> {
    for cap in AVAILABLE_PROBES {
        let probe = pool::available_up_to(tx, product_id, cap)?;
        let decision = decide(probe)?;
        if probe < cap || !ran_out(&decision) {
            return Ok(decision);
        }
    }
    decide(pool::product_counters(tx, product_id)?.remaining())
}

/// Takes a device offline and resets it to inactive (no code left).
fn take_offline(tx: &Connection, d: &mut DeviceRow) -> Result<()> {
    tx.prepare_cached("UPDATE codes SET active = NULL WHERE device_id = ?1 AND active = 1")?
        .execute([d.id])?;
    d.status = "inactive".into();
    d.code = None;
    d.online = false;
    d.offline_reason = Some("no_codes".into());
    d.activated_at = None;
    d.expires_at = None;
    Ok(())
}

fn save_device(tx: &Connection, d: &DeviceRow, now: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached("UPDATE devices SET status = ?2, online = ?3, offline_reason = ?4, activated_at = ?5, expires_at = ?6,
         hardware_id = ?7, updated_at = ?8 WHERE id = ?1")?.execute(
        params![d.id, d.status, d.online, d.offline_reason, d.activated_at.map(ts), d.expires_at.map(ts),
                d.hardware_id, ts(now)],
    )?;
    Ok(())
}

/// Applies core's renewal decision to one device. Returns
/// `(renewals, taken_offline)`.
fn renew_device(
    tx: &Connection,
    d: &mut DeviceRow,
    p: &ProductRow,
    now: DateTime<Utc>,
) -> Result<(u64, bool)> {
    let Some(pkg) = &p.package else {
        return Ok((0, false));
    };
    let state = code_state(d);
    let decision = decide_with_pool(
        tx,
        p.id,
        |n| decide_renewal(&state, now, &pkg.validity, n).map_err(ApiError::core),
        |d| matches!(d, RenewalDecision::WentOffline { .. }),
    )?;
    let (periods, offline) = match decision {
        RenewalDecision::NotDue => return Ok((0, false)),
        RenewalDecision::Renewed { periods } => (periods, false),
        RenewalDecision::WentOffline { periods, .. } => (periods, true),
    };
    let done = consume_periods(tx, d, p, &periods, now)?;
    let offline = offline || done < periods.len();
    if offline {
        take_offline(tx, d)?;
    }
    save_device(tx, d, now)?;
    record_device(tx, d, &p.pk, Op::Update, now)?;
    Ok((done as u64, offline))
}

/// After a package upgrade: every active device's current code expiry is
/// recomputed with the new validity (core's `rebased`).
pub fn rebase_product(
    tx: &Connection,
    p: &ProductRow,
    pkg: &Package,
    now: DateTime<Utc>,
) -> Result<()> {
    let ids: Vec<i64> = tx
        .prepare_cached("SELECT id FROM devices WHERE product_id = ?1 AND status = 'active'")?
        .query_map([p.id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in ids {
        let mut d = device_by_id(tx, id)?;
        if let DeviceCodeState::Active {
            consumed_at,
            expires_at,
        } = code_state(&d)
            .rebased(&pkg.validity)
            .map_err(ApiError::core)?
        {
            d.activated_at = Some(consumed_at);
            d.expires_at = Some(expires_at);
            tx.prepare_cached(
                "UPDATE codes SET expires_at = ?2 WHERE device_id = ?1 AND active = 1",
            )?
            .execute(params![d.id, ts(expires_at)])?;
            save_device(tx, &d, now)?;
            record_device(tx, &d, &p.pk, Op::Update, now)?;
        }
    }
    Ok(())
}

/// The accounts with a device whose code expired by `now` (maintenance).
pub fn accounts_due_renewal(c: &Connection, now: DateTime<Utc>) -> Result<Vec<i64>> {
    Ok(c.prepare_cached(
        "SELECT DISTINCT account_id FROM devices WHERE status = 'active' AND expires_at <= ?1",
    )?
    .query_map([ts(now)], |r| r.get(0))?
    .collect::<rusqlite::Result<_>>()?)
}

/// Renews (or takes offline) every device of `account_id` whose code
/// expired by `now`; returns `(renewals, taken offline)`.
pub fn renew_account(tx: &Connection, account_id: i64, now: DateTime<Utc>) -> Result<(u64, u64)> {
    let ids: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM devices WHERE account_id = ?1 AND status = 'active' AND expires_at <= ?2
             ORDER BY expires_at, id",
        )?
        .query_map(params![account_id, ts(now)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let (mut renewed, mut offline) = (0, 0);
    for id in ids {
        let mut d = device_by_id(tx, id)?;
        let p = product_by_id(tx, d.product_id)?;
        let (r, off) = renew_device(tx, &mut d, &p, now)?;
        renewed += r;
        offline += u64::from(off);
    }
    Ok((renewed, offline))
}

fn product_by_id(c: &Connection, id: i64) -> Result<ProductRow> {
    c.query_row(
        &format!(
            "SELECT {} FROM products WHERE id = ?1",
            common::PRODUCT_COLS
        ),
        [id],
        common::product_from_row,
    )
    .map_err(Into::into)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConnectRequest {
    pub pk: String,
    /// 1 to 128 characters of `A-Z a-z 0-9 - _ . :`.
    #[schema(pattern = "^[A-Za-z0-9_.:-]{1,128}$")]
    pub dk: String,
    /// 1 to 128 characters of `A-Z a-z 0-9 - _ . :` (IMEI, MAC, serial).
    #[schema(pattern = "^[A-Za-z0-9_.:-]{1,128}$")]
    pub hardware_id: Option<String>,
    /// Data center the device connected through, one of the known ones
    /// (it counts against its product's own data center regardless).
    #[schema(pattern = "^[a-z]+-[a-z]+$")]
    pub via: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConnectResponse {
    pub pk: String,
    pub dk: String,
    pub status: String,
    pub online: bool,
    /// `true` when this connection consumed a code.
    pub consumed: bool,
    pub code: Option<String>,
    #[serde(serialize_with = "json_time_opt")]
    pub activated_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "json_time_opt")]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
enum Outcome {
    Connected(ConnectResponse),
    NoCodes { pk: String, unassigned: i64 },
}

fn current_code(c: &Connection, device_id: i64) -> Result<Option<String>> {
    Ok(
        c.prepare_cached("SELECT code FROM codes WHERE device_id = ?1 AND active = 1")?
            .query_row([device_id], |r| r.get(0))
            .optional()?,
    )
}

/// The device stays (or becomes) offline and inactive; the device record
/// and any renewals are committed, the caller answers NO_CODES_AVAILABLE.
fn no_codes(
    tx: &Connection,
    d: &mut DeviceRow,
    p: &ProductRow,
    account_id: i64,
    now: DateTime<Utc>,
    op: Op,
) -> Result<Outcome> {
    let changed = op == Op::Insert
        || d.status != "inactive"
        || d.online
        || d.offline_reason.as_deref() != Some("no_codes");
    take_offline(tx, d)?;
    save_device(tx, d, now)?;
    tx.prepare_cached("UPDATE devices SET last_seen_at = ?2 WHERE id = ?1")?
        .execute(params![d.id, ts(now)])?;
    if changed {
        record_device(tx, d, &p.pk, op, now)?;
    }
    Ok(Outcome::NoCodes {
        pk: p.pk.clone(),
        unassigned: pool::unassigned(tx, account_id)? as i64,
    })
}

/// Inserts a device connecting for the first time. When it is about to
/// consume its first code (`first`), its row is written as it will be once
/// connected (active for that period, online, seen now), which spares a
/// second write of the row; should the consumption not happen after all,
/// [`no_codes`] writes the row again. The returned row is the device before
/// consuming (inactive, holding no code), which is what the consumption
/// starts from.
fn insert_device(
    tx: &Connection,
    account_id: i64,
    product_id: i64,
    req: &ConnectRequest,
    first: Option<CodePeriod>,
    now: DateTime<Utc>,
) -> Result<DeviceRow> {
    // No RETURNING (the id is the last inserted rowid): SQLite runs
    // RETURNING as a trigger, which costs the statement an ephemeral table
    // and a statement journal.
    match first {
        Some(period) => tx.prepare_cached(
            "INSERT INTO devices (account_id, product_id, dk, hardware_id, connected_via, status, online,
               activated_at, expires_at, last_seen_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'active', 1, ?6, ?7, ?8, ?8, ?8)",
        )?.execute(params![account_id, product_id, req.dk, req.hardware_id, req.via,
            ts(period.consumed_at), ts(period.expires_at), ts(now)])?,
        None => tx.prepare_cached(
            "INSERT INTO devices (account_id, product_id, dk, hardware_id, connected_via, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?.execute(params![account_id, product_id, req.dk, req.hardware_id, req.via, ts(now)])?,
    };
    Ok(DeviceRow {
        id: tx.last_insert_rowid(),
        account_id,
        product_id,
        dk: req.dk.clone(),
        hardware_id: req.hardware_id.clone(),
        status: "inactive".into(),
        online: false,
        offline_reason: None,
        activated_at: None,
        expires_at: None,
        last_seen_at: None,
        code: None,
    })
}

fn connect_tx(
    tx: &Connection,
    account_id: i64,
    req: &ConnectRequest,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let p = common::product_by_pk(tx, account_id, &req.pk)?;
    let existing = device_by_dk(tx, p.id, &req.dk)?;
    // A new device's insert is recorded once, with its state after connecting.
    let op = if existing.is_some() {
        Op::Update
    } else {
        Op::Insert
    };
    let state = existing
        .as_ref()
        .map_or(DeviceCodeState::Inactive, code_state);
    // A product without a package has never had codes credited.
    let decision = match &p.package {
        Some(pkg) => Some(decide_with_pool(
            tx,
            p.id,
            |n| decide_connect(&state, now, &pkg.validity, n).map_err(ApiError::core),
            |d| matches!(d, ConnectDecision::NoCodes { .. }),
        )?),
        None => None,
    };
    // A new device about to consume its first code is inserted connected.
    let first = match (&existing, &decision) {
        (None, Some(ConnectDecision::ConsumeFirst { period })) => Some(*period),
        _ => None,
    };
    // A device that never activated is not created (domain.md §1: a card
    // counts devices that connected): refused before its first code, it
    // leaves no row behind.
    if existing.is_none() && first.is_none() {
        return Ok(Outcome::NoCodes {
            pk: p.pk.clone(),
            unassigned: pool::unassigned(tx, account_id)? as i64,
        });
    }
    let mut d = match existing {
        Some(d) => d,
        None => insert_device(tx, account_id, p.id, req, first, now)?,
    };
    let Some(decision) = decision else {
        return no_codes(tx, &mut d, &p, account_id, now, op);
    };
    let consumed = match decision {
        ConnectDecision::AlreadyActive { .. } => false,
        ConnectDecision::ConsumeFirst { period } => {
            if consume_periods(tx, &mut d, &p, &[period], now)? == 0 {
                return no_codes(tx, &mut d, &p, account_id, now, op);
            }
            true
        }
        ConnectDecision::Renew { periods } => {
            if consume_periods(tx, &mut d, &p, &periods, now)? < periods.len() {
                return no_codes(tx, &mut d, &p, account_id, now, op);
            }
            true
        }
        ConnectDecision::NoCodes { renewed, .. } => {
            consume_periods(tx, &mut d, &p, &renewed, now)?;
            return no_codes(tx, &mut d, &p, account_id, now, op);
        }
    };
    let was_online = d.online;
    d.online = true;
    d.offline_reason = None;
    // A device inserted connected already holds this row.
    if first.is_none() {
        tx.prepare_cached("UPDATE devices SET status = 'active', online = 1, offline_reason = NULL, activated_at = ?2, expires_at = ?3,
             last_seen_at = ?4, hardware_id = COALESCE(?5, hardware_id), connected_via = COALESCE(?6, connected_via), updated_at = ?4
             WHERE id = ?1")?.execute(
            params![d.id, d.activated_at.map(ts), d.expires_at.map(ts), ts(now), req.hardware_id, req.via],
        )?;
    }
    if consumed || !was_online || op == Op::Insert {
        record_device(tx, &d, &p.pk, op, now)?;
    }
    let code = match d.code.take() {
        Some(c) => Some(c),
        None => current_code(tx, d.id)?,
    };
    Ok(Outcome::Connected(ConnectResponse {
        pk: p.pk,
        dk: d.dk,
        status: d.status,
        online: true,
        consumed,
        code,
        activated_at: d.activated_at,
        expires_at: d.expires_at,
    }))
}

/// A device connects: the first connection consumes a code of its product;
/// reconnecting consumes nothing; an expired code is renewed from the pool;
/// an empty pool leaves the device offline and inactive (409 NO_CODES_AVAILABLE).
#[utoipa::path(post, path = "/v1/devices/connect", tag = "devices", request_body = ConnectRequest,
    responses((status = 200, body = ConnectResponse), (status = 409, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn connect(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<ConnectRequest>,
) -> Result<Json<ConnectResponse>> {
    bounds::DEVICE_KEY.check(&req.dk).map_err(ApiError::core)?;
    if let Some(hw) = &req.hardware_id {
        bounds::HARDWARE_ID.check(hw).map_err(ApiError::core)?;
    }
    if let Some(via) = &req.via {
        licensedesk_core::datacenter::time_zone(via).map_err(ApiError::core)?;
    }
    let id = caller.account_id;
    let now = state.now();
    match state
        .db
        .write(move |tx| connect_tx(tx, id, &req, now))
        .await?
    {
        Outcome::Connected(r) => Ok(Json(r)),
        Outcome::NoCodes { pk, unassigned } => Err(ApiError::NoCodesAvailable { pk, unassigned }),
    }
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
    pub usage: crate::api::usage::UsageNow,
}

/// Device detail, with today's and this month's usage.
#[utoipa::path(get, path = "/v1/devices/{pk}/{dk}", tag = "devices",
    params(("pk" = String, Path), ("dk" = String, Path)),
    responses((status = 200, body = DeviceDetail), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path((pk, dk)): Path<(String, String)>,
) -> Result<Json<DeviceDetail>> {
    let id = caller.account_id;
    let now = state.now();
    let d = state
        .db
        .read(move |c| {
            let a = common::account(c, id)?;
            let p = common::product_by_pk(c, id, &pk)?;
            let d = device_by_dk(c, p.id, &dk)?.ok_or(ApiError::NotFound("device"))?;
            let remaining = pool::product_counters(c, p.id)?.remaining();
            Ok(DeviceDetail {
                usage: crate::api::usage::usage_now(c, &a, &p, d.id, now)?,
                pk: p.pk,
                product_name: p.name,
                code: current_code(c, d.id)?,
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
        })
        .await?;
    Ok(Json(d))
}

/// Looks a device up for another area (usage reports): 404 across accounts.
pub fn resolve(
    c: &Connection,
    account_id: i64,
    pk: &str,
    dk: &str,
) -> Result<(ProductRow, DeviceRow)> {
    let p = common::product_by_pk(c, account_id, pk)?;
    let d = device_by_dk(c, p.id, dk)?.ok_or(ApiError::NotFound("device"))?;
    Ok((p, d))
}

/// Parses an instant from a row column.
pub fn col_ts(s: &str) -> Result<DateTime<Utc>> {
    parse_ts(s)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    /// The change structs write the bytes the `json!` maps they replaced
    /// wrote (the feed's format is unchanged).
    #[test]
    fn change_structs_write_what_json_maps_wrote() {
        let at = Utc
            .with_ymd_and_hms(2026, 3, 31, 10, 0, 0)
            .single()
            .expect("at");
        for (activated, sub) in [
            (Some(at), 0),
            (Some(at), 123_456_000),
            (Some(at), 5_000_000),
            (None, 0),
        ] {
            let activated = activated.map(|t| t + chrono::Duration::nanoseconds(sub));
            let expires = activated.map(|t| t + chrono::Duration::days(365));
            for (hardware_id, reason) in [(None, None), (Some("hw \"1\""), Some("no_codes"))] {
                let d = DeviceRow {
                    id: 7,
                    account_id: 1,
                    product_id: 2,
                    dk: "dev-\u{e9}/1".into(),
                    hardware_id: hardware_id.map(str::to_owned),
                    status: "active".into(),
                    online: true,
                    offline_reason: reason.map(str::to_owned),
                    activated_at: activated,
                    expires_at: expires,
                    last_seen_at: None,
                    code: None,
                };
                let ours = serde_json::to_string(&DeviceChange::of(&d, "pk1")).expect("json");
                let theirs = serde_json::to_string(&json!({
                    "id": d.id, "pk": "pk1", "dk": d.dk, "hardware_id": d.hardware_id,
                    "status": d.status, "online": d.online, "offline_reason": d.offline_reason,
                    "activated_at": d.activated_at, "expires_at": d.expires_at,
                }))
                .expect("json");
                assert_eq!(ours, theirs);
                if let (Some(consumed_at), Some(expires_at)) = (activated, expires) {
                    let ours = serde_json::to_string(&CodeChange {
                        code: "ABCD-EFGH",
                        consumed_at,
                        device_id: d.id,
                        dk: &d.dk,
                        expires_at,
                        id: 9,
                        pk: "pk1",
                    })
                    .expect("json");
                    let theirs = serde_json::to_string(&json!({"id": 9, "code": "ABCD-EFGH",
                        "device_id": d.id, "dk": d.dk, "pk": "pk1",
                        "consumed_at": consumed_at, "expires_at": expires_at}))
                    .expect("json");
                    assert_eq!(ours, theirs);
                }
            }
        }
    }
}
