//! Devices: connect (consumption, reconnect, renewal, offline for want of
//! codes), renewal at expiry, the package rebase of an upgrade, detail.
//! Every decision is core's (`decide_connect`, `decide_renewal`,
//! `DeviceCodeState::rebased`); this module reads what they need and
//! writes what they decided.

use chrono::{DateTime, Utc};
use licensedesk_core::device::{
    CodePeriod, ConnectDecision, DeviceCodeState, RenewalDecision, decide_connect, decide_renewal,
};
use licensedesk_core::package::Package;
use licensedesk_protocol::feed::{CodeUpdate, DeviceChange};
use licensedesk_protocol::instant;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{Conn, Row};
use crate::error::{ApiError, Result};
use crate::store::changes::{self, Op, Record};
use crate::store::products::{self, ProductRow};
use crate::store::{Ctx, Lane, Store, codes, read, write};
use crate::time::stored;

mod renewal;
use renewal::{accounts_due_renewal, renew_account};

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

/// The columns [`from_row`] reads, in its order (a macro: see
/// [`products::product_cols`]).
macro_rules! device_cols {
    () => {
        "id, account_id, product_id, dk, hardware_id, status, online, offline_reason, activated_at, expires_at, last_seen_at"
    };
}

fn from_row(r: &Row<'_>) -> Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.i64(0)?,
        account_id: r.i64(1)?,
        product_id: r.i64(2)?,
        dk: r.string(3)?,
        hardware_id: r.opt_string(4)?,
        status: r.string(5)?,
        online: r.bool(6)?,
        offline_reason: r.opt_string(7)?,
        activated_at: r.opt_time(8)?,
        expires_at: r.opt_time(9)?,
        last_seen_at: r.opt_time(10)?,
        code: None,
    })
}

pub async fn by_dk(c: &impl Conn, product_id: i64, dk: &str) -> Result<Option<DeviceRow>> {
    c.opt(
        concat!(
            "SELECT ",
            device_cols!(),
            " FROM devices WHERE product_id = $1 AND dk = $2"
        ),
        &[&product_id, &dk],
        from_row,
    )
    .await
}

async fn by_id(c: &impl Conn, id: i64) -> Result<DeviceRow> {
    c.opt(
        concat!("SELECT ", device_cols!(), " FROM devices WHERE id = $1"),
        &[&id],
        from_row,
    )
    .await?
    .ok_or(ApiError::NotFound("device"))
}

/// The feed's row of a device as it is now: the device `op` created
/// (`Insert`) or changed (any other).
fn device_change<'a>(d: &'a DeviceRow, pk: &'a str, op: Op) -> Record<'a> {
    let row = DeviceChange {
        activated_at: d.activated_at.map(instant),
        dk: d.dk.as_str().into(),
        expires_at: d.expires_at.map(instant),
        hardware_id: d.hardware_id.as_deref().map(Into::into),
        id: d.id,
        offline_reason: d.offline_reason.as_deref().map(Into::into),
        online: d.online,
        pk: pk.into(),
        status: d.status.as_str().into(),
    };
    match op {
        Op::Insert => Record::DeviceCreated(row),
        _ => Record::DeviceUpdated(row),
    }
}

/// The feed's record of code `id` (`code`) consumed by device `d` of
/// product `pk`.
fn code_consumed<'a>(
    id: i64,
    code: &'a str,
    d: &'a DeviceRow,
    pk: &'a str,
    consumed_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Record<'a> {
    Record::CodeUpdated(CodeUpdate {
        code: Some(code.into()),
        consumed_at: Some(instant(consumed_at)),
        device_id: Some(d.id),
        dk: Some(d.dk.as_str().into()),
        expires_at: Some(instant(expires_at)),
        id,
        pk: Some(pk.into()),
        product_id: None,
    })
}

async fn record_device(
    c: &impl Conn,
    d: &DeviceRow,
    pk: &str,
    op: Op,
    now: DateTime<Utc>,
) -> Result<()> {
    changes::record(c, d.account_id, now, &device_change(d, pk, op)).await
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
/// periods actually covered (fewer only if the pool ran dry meanwhile,
/// which the transaction's isolation rules out).
async fn consume_periods(
    c: &impl Conn,
    d: &mut DeviceRow,
    p: &ProductRow,
    periods: &[CodePeriod],
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut done = 0;
    for period in periods {
        // Only an active device holds an active code (going inactive clears it).
        if d.status == "active" {
            codes::release_active(c, d.id).await?;
        }
        let Some((code_id, code)) =
            codes::consume_one(c, p.id, d.id, period.consumed_at, period.expires_at).await?
        else {
            break;
        };
        done += 1;
        d.status = "active".into();
        d.activated_at = Some(period.consumed_at);
        d.expires_at = Some(period.expires_at);
        let consumed = code_consumed(
            code_id,
            &code,
            d,
            &p.pk,
            period.consumed_at,
            period.expires_at,
        );
        changes::record(c, d.account_id, now, &consumed).await?;
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
async fn decide_with_pool<D>(
    c: &impl Conn,
    product_id: i64,
    decide: impl Fn(u64) -> Result<D>,
    ran_out: impl Fn(&D) -> bool,
) -> Result<D> {
    for cap in AVAILABLE_PROBES {
        let probe = codes::available_up_to(c, product_id, cap).await?;
        let decision = decide(probe)?;
        if probe < cap || !ran_out(&decision) {
            return Ok(decision);
        }
    }
    decide(codes::product_counters(c, product_id).await?.remaining())
}

/// Takes a device offline and resets it to inactive (no code left).
async fn take_offline(c: &impl Conn, d: &mut DeviceRow) -> Result<()> {
    codes::release_active(c, d.id).await?;
    d.status = "inactive".into();
    d.code = None;
    d.online = false;
    d.offline_reason = Some("no_codes".into());
    d.activated_at = None;
    d.expires_at = None;
    Ok(())
}

async fn save(c: &impl Conn, d: &DeviceRow, now: DateTime<Utc>) -> Result<()> {
    c.exec(
        "UPDATE devices SET status = $2, online = $3, offline_reason = $4, activated_at = $5, expires_at = $6,
         hardware_id = $7, updated_at = $8 WHERE id = $1",
        &[
            &d.id,
            &d.status,
            &d.online,
            &d.offline_reason,
            &d.activated_at.map(stored),
            &d.expires_at.map(stored),
            &d.hardware_id,
            &stored(now),
        ],
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
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
    #[serde(serialize_with = "crate::time::json_opt")]
    pub activated_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::time::json_opt")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a connect did: connected, or (committed) left offline for want of
/// codes.
#[derive(Debug, Serialize, Deserialize)]
pub enum Connected {
    Connected(ConnectResponse),
    NoCodes { pk: String, unassigned: i64 },
}

/// The device stays (or becomes) offline and inactive; the device record
/// and any renewals are committed, the caller answers NO_CODES_AVAILABLE.
async fn no_codes(
    c: &impl Conn,
    d: &mut DeviceRow,
    p: &ProductRow,
    account_id: i64,
    now: DateTime<Utc>,
    op: Op,
) -> Result<Connected> {
    let changed = op == Op::Insert
        || d.status != "inactive"
        || d.online
        || d.offline_reason.as_deref() != Some("no_codes");
    take_offline(c, d).await?;
    save(c, d, now).await?;
    c.exec(
        "UPDATE devices SET last_seen_at = $2 WHERE id = $1",
        &[&d.id, &stored(now)],
    )
    .await?;
    if changed {
        record_device(c, d, &p.pk, op, now).await?;
    }
    Ok(Connected::NoCodes {
        pk: p.pk.clone(),
        unassigned: codes::unassigned(c, account_id).await? as i64,
    })
}

/// Inserts a device connecting for the first time, written as it will be
/// once connected (active for its first period, online, seen now), which
/// spares a second write of the row. The returned row is the device before
/// consuming (inactive, holding no code), which is what the consumption
/// starts from.
async fn insert(
    c: &impl Conn,
    account_id: i64,
    product_id: i64,
    req: &ConnectRequest,
    first: CodePeriod,
    now: DateTime<Utc>,
) -> Result<DeviceRow> {
    let id = c
        .insert(
            "INSERT INTO devices (account_id, product_id, dk, hardware_id, connected_via, status, online,
               activated_at, expires_at, last_seen_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'active', TRUE, $6, $7, $8, $8, $8) RETURNING id",
            &[
                &account_id,
                &product_id,
                &req.dk,
                &req.hardware_id,
                &req.via,
                &stored(first.consumed_at),
                &stored(first.expires_at),
                &stored(now),
            ],
        )
        .await?;
    Ok(DeviceRow {
        id,
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

/// A device connects (domain.md §1): the first connection consumes a code
/// of its product; reconnecting consumes nothing; an expired code is
/// renewed from the pool; an empty pool leaves the device offline and
/// inactive. A device refused its first code is not created.
pub async fn connect(
    c: &impl Conn,
    account_id: i64,
    req: &ConnectRequest,
    now: DateTime<Utc>,
) -> Result<Connected> {
    let p = products::by_pk(c, account_id, &req.pk).await?;
    let existing = by_dk(c, p.id, &req.dk).await?;
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
        Some(pkg) => Some(
            decide_with_pool(
                c,
                p.id,
                |n| decide_connect(&state, now, &pkg.validity, n).map_err(ApiError::core),
                |d| matches!(d, ConnectDecision::NoCodes { .. }),
            )
            .await?,
        ),
        None => None,
    };
    // A new device about to consume its first code is inserted connected.
    let first = match (&existing, &decision) {
        (None, Some(ConnectDecision::ConsumeFirst { period })) => Some(*period),
        _ => None,
    };
    let mut d = match (existing, first) {
        (Some(d), _) => d,
        (None, Some(first)) => insert(c, account_id, p.id, req, first, now).await?,
        // A device that never activated is not created (a card counts
        // devices that connected): refused before its first code, it
        // leaves no row behind.
        (None, None) => {
            return Ok(Connected::NoCodes {
                pk: p.pk.clone(),
                unassigned: codes::unassigned(c, account_id).await? as i64,
            });
        }
    };
    let Some(decision) = decision else {
        return no_codes(c, &mut d, &p, account_id, now, op).await;
    };
    let consumed = match decision {
        ConnectDecision::AlreadyActive { .. } => false,
        ConnectDecision::ConsumeFirst { period } => {
            if consume_periods(c, &mut d, &p, &[period], now).await? == 0 {
                return no_codes(c, &mut d, &p, account_id, now, op).await;
            }
            true
        }
        ConnectDecision::Renew { periods } => {
            if consume_periods(c, &mut d, &p, &periods, now).await? < periods.len() {
                return no_codes(c, &mut d, &p, account_id, now, op).await;
            }
            true
        }
        ConnectDecision::NoCodes { renewed, .. } => {
            consume_periods(c, &mut d, &p, &renewed, now).await?;
            return no_codes(c, &mut d, &p, account_id, now, op).await;
        }
    };
    let was_online = d.online;
    d.online = true;
    d.offline_reason = None;
    // A device inserted connected already holds this row.
    if first.is_none() {
        c.exec(
            "UPDATE devices SET status = 'active', online = TRUE, offline_reason = NULL, activated_at = $2, expires_at = $3,
             last_seen_at = $4, hardware_id = COALESCE($5, hardware_id), connected_via = COALESCE($6, connected_via), updated_at = $4
             WHERE id = $1",
            &[
                &d.id,
                &d.activated_at.map(stored),
                &d.expires_at.map(stored),
                &stored(now),
                &req.hardware_id,
                &req.via,
            ],
        )
        .await?;
    }
    if consumed || !was_online || op == Op::Insert {
        record_device(c, &d, &p.pk, op, now).await?;
    }
    let code = match d.code.take() {
        Some(code) => Some(code),
        None => codes::active_code(c, d.id).await?,
    };
    Ok(Connected::Connected(ConnectResponse {
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

/// Looks a device up for another area (usage reports): 404 across accounts.
pub async fn resolve(
    c: &impl Conn,
    account_id: i64,
    pk: &str,
    dk: &str,
) -> Result<(ProductRow, DeviceRow)> {
    let p = products::by_pk(c, account_id, pk).await?;
    let d = by_dk(c, p.id, dk)
        .await?
        .ok_or(ApiError::NotFound("device"))?;
    Ok((p, d))
}

impl Store {
    pub async fn connect_device(
        &self,
        ctx: &Ctx,
        account: i64,
        req: ConnectRequest,
    ) -> Result<Connected> {
        let now = ctx.now;
        // Connections of one product all take its next free code.
        write!(self, ctx, lane = Lane::pool(account, &req.pk), [req], |c| {
            connect(c, account, &req, now)
        })
        .await
    }

    /// The accounts with a device due for renewal at `now`.
    pub async fn accounts_due_renewal(&self, now: DateTime<Utc>) -> Result<Vec<i64>> {
        read!(self, [], |c| accounts_due_renewal(c, now)).await
    }

    /// Renews (or takes offline) every due device of one account.
    pub async fn renew_account(&self, ctx: &Ctx, account: i64) -> Result<(u64, u64)> {
        let now = ctx.now;
        write!(self, ctx, [], |c| renew_account(c, account, now)).await
    }
}
#[cfg(test)]
mod tests;
