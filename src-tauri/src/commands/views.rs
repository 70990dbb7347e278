//! Device activation code views (from the active profile's cache):
//! overview, product cards, code assignment, License Management (window,
//! charts, CSV), near-expiry devices (paged), device quota and OTA cost.
//! The views that read the cache run off the main thread (`async`): a read
//! over a million codes must not freeze the window, nor wait for another.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use licensedesk_client::{
    AccountOverview, DeviceQuota, LicenseQuery, LicenseWindow, NearExpiryPage, NearExpiryQuery,
    OutboxAction, OutboxItem, ProductBilling, ProductCard, Session, charts,
};
use licensedesk_core::Coded;
use licensedesk_core::package::ota_cost as core_ota_cost;
use licensedesk_core::package::quota::{OtaDecision, OveragePolicy, decide_ota};
use licensedesk_gateways::files::file_size;
use serde::{Deserialize, Serialize};
use tauri::{Runtime, State, Window};
use ts_rs::TS;

use crate::error::{CmdError, CmdResult};
use crate::state::AppState;
use crate::words::Dialog;

#[tauri::command(async)]
pub fn account_overview(state: State<'_, AppState>) -> CmdResult<AccountOverview> {
    Ok(state.sessions.session()?.overview()?)
}

#[tauri::command(async)]
pub fn product_cards(state: State<'_, AppState>) -> CmdResult<Vec<ProductCard>> {
    Ok(state.sessions.session()?.cards()?)
}

/// A product's overage policy, top-ups left, this month's overage so far
/// and the months the server has closed.
#[tauri::command]
pub fn product_billing(state: State<'_, AppState>, pk: String) -> CmdResult<ProductBilling> {
    Ok(state.sessions.session()?.billing(&pk)?)
}

/// Assigns `count` unassigned codes to product `pk`: queued in the outbox
/// and sent at once when the server answers (the item says which).
#[tauri::command]
pub async fn assign_codes(
    state: State<'_, AppState>,
    pk: String,
    count: u64,
) -> CmdResult<OutboxItem> {
    let s = state.sessions.session()?;
    let item = s.enqueue(&OutboxAction::AssignCodes { pk, count })?;
    // A sync flushes the outbox first; offline, the item stays queued.
    let _ = s
        .sync(&|_| {}, &licensedesk_client::CancelToken::new())
        .await;
    Ok(s.outbox()
        .all()?
        .into_iter()
        .find(|i| i.id == item.id)
        .unwrap_or(item))
}

/// The License Management rows from position `offset` of the filtered,
/// sorted set (`query.limit` of them), with the set's length when `count`.
#[tauri::command(async)]
pub fn license_window(
    state: State<'_, AppState>,
    query: LicenseQuery,
    offset: u64,
    count: bool,
) -> CmdResult<LicenseWindow> {
    Ok(state
        .sessions
        .session()?
        .license_window(&query, offset, count)?)
}

/// The License Management charts (SVG strings themed by CSS variables,
/// without captions: the UI titles them) and the figures the burn-down is
/// drawn from, which the UI states under its title.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct LicenseCharts {
    pub consumption: String,
    pub burn_down: String,
    /// Codes a month the burn-down assumes (the last 90 days' rate).
    pub burn_down_per_month: u64,
    /// The month ("YYYY-MM") the remaining codes run out in at that rate;
    /// `null` when they last all `burn_down_months`.
    pub burn_down_runs_out: Option<String>,
    /// Months the burn-down forecasts, from the current one.
    pub burn_down_months: u32,
    pub expirations: String,
}

#[tauri::command(async)]
pub fn license_charts(state: State<'_, AppState>) -> CmdResult<LicenseCharts> {
    let s = state.sessions.session()?;
    let now = s.now();
    let burn_down = charts::burn_down(s.cache(), now)?;
    Ok(LicenseCharts {
        consumption: charts::consumed_per_month(s.cache(), now, 12)?,
        burn_down: burn_down.svg,
        burn_down_per_month: burn_down.per_month,
        burn_down_runs_out: burn_down.runs_out,
        burn_down_months: charts::BURN_DOWN_MONTHS,
        expirations: charts::expirations_next_12_months(s.cache(), now)?,
    })
}

fn write_csv(s: &Session, query: &LicenseQuery, path: &PathBuf) -> CmdResult<u64> {
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    let tmp = dir.join(".licensedesk-export.csv.tmp");
    let io = |e: std::io::Error| {
        CmdError::with_params(
            "EXPORT_IO",
            format!("{}: {e}", path.display()),
            [
                ("path", path.display().to_string().into()),
                ("detail", e.to_string().into()),
            ],
        )
    };
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut out = BufWriter::new(file);
    let rows = s.export_csv(query, &mut out)?;
    out.flush().map_err(io)?;
    drop(out);
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(rows)
}

/// Exports every row matching `query` (streamed) to a file chosen in a
/// save dialog; the written path, `null` when cancelled.
#[tauri::command]
pub async fn export_licenses_csv<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
    query: LicenseQuery,
) -> CmdResult<Option<String>> {
    let s = state.sessions.session()?;
    let Some(path) = state
        .dialogs
        .save(
            &window,
            state.language(),
            Dialog::ExportLicenses,
            "licenses.csv",
        )
        .await
    else {
        return Ok(None);
    };
    write_csv(&s, &query, &path)?;
    Ok(Some(path.display().to_string()))
}

#[tauri::command(async)]
pub fn near_expiry_devices(
    state: State<'_, AppState>,
    query: NearExpiryQuery,
) -> CmdResult<NearExpiryPage> {
    Ok(state.sessions.session()?.near_expiry(&query)?)
}

#[tauri::command(async)]
pub fn device_quota(state: State<'_, AppState>, pk: String, dk: String) -> CmdResult<DeviceQuota> {
    Ok(state.sessions.session()?.device_quota(&pk, &dk)?)
}

#[tauri::command(async)]
pub fn device_messages_chart(
    state: State<'_, AppState>,
    pk: String,
    dk: String,
) -> CmdResult<String> {
    let s = state.sessions.session()?;
    Ok(charts::device_messages(s.cache(), &pk, &dk, s.now())?)
}

/// What an OTA upgrade of a given image would cost a device.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct OtaCost {
    #[ts(type = "number")]
    pub bytes: u64,
    pub attempts: u32,
    pub allowed: bool,
    /// Attempts left this month before this upgrade.
    #[ts(type = "number")]
    pub remaining_this_month: u64,
    /// Why it is refused, billed or takes prepaid top-ups, when it does:
    /// `OTA_NEEDS_TOPUPS`, `OTA_OVERAGE_BILLED`, `OTA_TOPUPS_USED` (worded
    /// by the UI from its params).
    pub reason: Option<CmdError>,
}

fn ota(s: &Session, pk: &str, dk: &str, bytes: u64) -> CmdResult<OtaCost> {
    let q = s.device_quota(pk, dk)?;
    let attempts = core_ota_cost(bytes, q.ota_cap_mb).map_err(|e| CmdError::coded(&e, e.code()))?;
    let card = s.cards()?.into_iter().find(|c| c.pk == pk);
    let policy: OveragePolicy = card
        .as_ref()
        .and_then(|c| {
            serde_json::from_value(serde_json::Value::String(c.overage_policy.clone())).ok()
        })
        .unwrap_or_default();
    // The product's real prepaid attempts (under `block` an upgrade takes
    // them when the month's allowance is not enough).
    let topups = card.map_or(0, |c| u32::try_from(c.ota_topups).unwrap_or(u32::MAX));
    let used = u32::try_from(q.ota_this_month).unwrap_or(u32::MAX);
    let remaining = q.ota_per_month.saturating_sub(used);
    let (allowed, reason) = match decide_ota(attempts, used, q.ota_per_month, topups, policy) {
        OtaDecision::Allowed { topups_used, .. } if topups_used > 0 => (
            true,
            Some(CmdError::with_params(
                "OTA_TOPUPS_USED",
                format!(
                    "{topups_used} of the product's {topups} prepaid top-up attempt(s) would be used"
                ),
                [("used", topups_used.into()), ("topups", topups.into())],
            )),
        ),
        OtaDecision::Allowed { .. } => (true, None),
        OtaDecision::AllowedWithOverage { overage, .. } => (
            true,
            Some(CmdError::with_params(
                "OTA_OVERAGE_BILLED",
                format!("{overage} attempt(s) beyond this month's allowance are billed as overage"),
                [("overage", overage.into())],
            )),
        ),
        OtaDecision::Refused { needs_topups } => (
            false,
            Some(CmdError::with_params(
                "OTA_NEEDS_TOPUPS",
                format!(
                    "needs {attempts} attempt(s) but {remaining} remain this month and {topups} prepaid top-up(s): buy {needs_topups} more top-up attempt(s) or wait for {}",
                    q.ota_reset_at
                ),
                [
                    ("attempts", attempts.into()),
                    ("remaining", remaining.into()),
                    ("prepaid", topups.into()),
                    ("topups", needs_topups.into()),
                    ("reset_at", q.ota_reset_at.clone().into()),
                ],
            )),
        ),
    };
    Ok(OtaCost {
        bytes,
        attempts,
        allowed,
        remaining_this_month: u64::from(q.ota_per_month).saturating_sub(q.ota_this_month),
        reason,
    })
}

#[tauri::command]
pub fn ota_cost(
    state: State<'_, AppState>,
    pk: String,
    dk: String,
    bytes: u64,
) -> CmdResult<OtaCost> {
    ota(&state.sessions.session()?, &pk, &dk, bytes)
}

/// The OTA cost of a firmware file dropped on the calculator (its size only).
#[tauri::command]
pub fn ota_cost_for_file(
    state: State<'_, AppState>,
    pk: String,
    dk: String,
    path: PathBuf,
) -> CmdResult<OtaCost> {
    let bytes = file_size(&path)?;
    ota(&state.sessions.session()?, &pk, &dk, bytes)
}
