//! Alerts: the conditions LicenseDesk watches for its user while it runs
//! (issue 16). Each rule turns facts (counters, dates, the last sync) and
//! `now` into a [`Level`]; [`step`] turns an alert's previous state and its
//! level into what happens to it. An alert is raised once, when its
//! condition starts to hold, stays raised while it holds, and re-arms only
//! when the condition has cleared: the low-remaining rule clears at a
//! higher mark than it raises (hysteresis, like EMQX's license alarm at a
//! high-water mark of 80 %, cleared at 75 %), so a pool hovering at the
//! mark does not raise it again and again.
//!
//! No IO and no clock here: the client reads the facts from its caches,
//! the gateway registry reads its licenses, and the app keeps each alert's
//! state (raised or not) between runs.

#[cfg(test)]
mod tests;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::device::allocate_renewals;
use crate::error::Coded;

/// What an alert is about. Its `as_str` names are stored and cross IPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A gateway uses more connections or data tags than its license allows.
    GatewayOverLimit,
    /// A gateway's floating lease lapses within minutes.
    LeaseLapsing,
    /// Active devices of a product go offline at their renewal within the
    /// window for want of codes.
    OfflineAtRenewal,
    /// A gateway license expires within the window (or has expired).
    GatewayExpiring,
    /// A product's Remaining runs out within the window at its recent rate.
    RunsOutSoon,
    /// A product's Remaining is under its watermark.
    LowRemaining,
    /// A profile has not synced for longer than the limit while the app ran.
    NotSynced,
}

impl AlertKind {
    /// Every kind, most urgent first (the order [`Self::urgency`] gives).
    pub const ALL: [Self; 7] = [
        Self::GatewayOverLimit,
        Self::LeaseLapsing,
        Self::OfflineAtRenewal,
        Self::GatewayExpiring,
        Self::RunsOutSoon,
        Self::LowRemaining,
        Self::NotSynced,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::GatewayOverLimit => "gateway_over_limit",
            Self::LeaseLapsing => "lease_lapsing",
            Self::OfflineAtRenewal => "offline_at_renewal",
            Self::GatewayExpiring => "gateway_expiring",
            Self::RunsOutSoon => "runs_out_soon",
            Self::LowRemaining => "low_remaining",
            Self::NotSynced => "not_synced",
        }
    }

    /// 0 = most urgent: what stops working now before what will later, and
    /// a stale view last (the tray shows the most urgent raised alert).
    pub fn urgency(self) -> u8 {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0) as u8
    }

    /// What the user can do about it.
    pub const fn action(self) -> AlertAction {
        match self {
            Self::LowRemaining | Self::RunsOutSoon => AlertAction::BuyCodes,
            Self::OfflineAtRenewal => AlertAction::AssignCodes,
            Self::GatewayExpiring | Self::GatewayOverLimit => AlertAction::Renew,
            Self::LeaseLapsing => AlertAction::CheckLease,
            Self::NotSynced => AlertAction::Sync,
        }
    }
}

impl std::str::FromStr for AlertKind {
    type Err = AlertError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| AlertError::KindUnknown {
                found: s.to_owned(),
            })
    }
}

/// What an alert asks its user to do (the Alerts view offers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertAction {
    /// Buy codes for the product (or assign unassigned ones).
    BuyCodes,
    /// Assign unassigned codes to the product (or buy some).
    AssignCodes,
    /// Install a new license on the gateway.
    Renew,
    /// See to the gateway's connection to its management platform.
    CheckLease,
    /// Sync the profile.
    Sync,
}

impl AlertAction {
    pub const ALL: [Self; 5] = [
        Self::BuyCodes,
        Self::AssignCodes,
        Self::Renew,
        Self::CheckLease,
        Self::Sync,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BuyCodes => "buy_codes",
            Self::AssignCodes => "assign_codes",
            Self::Renew => "renew",
            Self::CheckLease => "check_lease",
            Self::Sync => "sync",
        }
    }
}

/// Errors of alert settings and stored alerts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum AlertError {
    #[error("{field} must be from {min} to {max} (got {got}): change it in Settings")]
    ThresholdOutOfRange {
        field: &'static str,
        min: u32,
        max: u32,
        got: u32,
    },
    #[error(
        "the watermark must clear above where it is raised (raised under {raise} %, cleared at {clear} %): set the clearing mark higher"
    )]
    WatermarkOrder { raise: u32, clear: u32 },
    #[error("unknown alert kind {found:?}")]
    KindUnknown { found: String },
}

impl Coded for AlertError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::ThresholdOutOfRange { .. } => "ALERT_THRESHOLD_INVALID",
            Self::WatermarkOrder { .. } => "ALERT_WATERMARK_ORDER",
            Self::KindUnknown { .. } => "ALERT_KIND_UNKNOWN",
        }
    }
}

/// The user's thresholds (Settings), with the defaults of issue 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Raised when a product's Remaining falls under this % of its Total.
    pub low_remaining_percent: u32,
    /// Cleared when Remaining is back at or above this % of its Total.
    pub low_remaining_clear_percent: u32,
    /// Raised when Remaining runs out within this many days.
    pub runs_out_days: u32,
    /// Devices going offline at a renewal within this many days.
    pub renewal_days: u32,
    /// Gateway licenses expiring within this many days.
    pub gateway_expiry_days: u32,
    /// Floating leases lapsing within this many minutes.
    pub lease_minutes: u32,
    /// A profile not synced for longer than this many minutes.
    pub not_synced_minutes: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            low_remaining_percent: 20,
            low_remaining_clear_percent: 25,
            runs_out_days: 30,
            renewal_days: 30,
            gateway_expiry_days: 30,
            lease_minutes: 10,
            not_synced_minutes: 60,
        }
    }
}

impl Thresholds {
    /// Every threshold in its range, the watermark clearing above where it
    /// is raised.
    pub fn validate(&self) -> Result<(), AlertError> {
        let ranges: [(&'static str, u32, u32, u32); 7] = [
            ("low_remaining_percent", self.low_remaining_percent, 1, 99),
            (
                "low_remaining_clear_percent",
                self.low_remaining_clear_percent,
                1,
                100,
            ),
            ("runs_out_days", self.runs_out_days, 1, 365),
            ("renewal_days", self.renewal_days, 1, 365),
            ("gateway_expiry_days", self.gateway_expiry_days, 1, 365),
            ("lease_minutes", self.lease_minutes, 1, 1440),
            ("not_synced_minutes", self.not_synced_minutes, 5, 10_080),
        ];
        for (field, got, min, max) in ranges {
            if !(min..=max).contains(&got) {
                return Err(AlertError::ThresholdOutOfRange {
                    field,
                    min,
                    max,
                    got,
                });
            }
        }
        if self.low_remaining_clear_percent <= self.low_remaining_percent {
            return Err(AlertError::WatermarkOrder {
                raise: self.low_remaining_percent,
                clear: self.low_remaining_clear_percent,
            });
        }
        Ok(())
    }
}

/// Whether a condition holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The condition holds: raise the alert if it is not raised.
    On,
    /// The condition has cleared: clear the alert (it re-arms).
    Off,
    /// Between the raising and the clearing mark: keep the alert as it is.
    Hold,
}

impl Level {
    fn from_bool(on: bool) -> Self {
        if on { Self::On } else { Self::Off }
    }
}

/// What happens to an alert at one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// It starts now: notify the user, once.
    Raised,
    /// It was raised and still holds: say nothing again.
    Still,
    /// It was raised and has cleared: it re-arms.
    Cleared,
    /// Not raised, and nothing to raise.
    Quiet,
}

/// The next state of an alert that was `raised` (or not) at the previous
/// evaluation, given its condition's level now.
pub fn step(raised: bool, level: Level) -> Transition {
    match (raised, level) {
        (false, Level::On) => Transition::Raised,
        (false, Level::Off | Level::Hold) => Transition::Quiet,
        (true, Level::On | Level::Hold) => Transition::Still,
        (true, Level::Off) => Transition::Cleared,
    }
}

impl Transition {
    /// Whether the alert is raised after this transition.
    pub fn raised(self) -> bool {
        matches!(self, Self::Raised | Self::Still)
    }
}

/// A product's Remaining against its watermark: `On` under
/// `low_remaining_percent` of its Total, `Off` at or above
/// `low_remaining_clear_percent`, `Hold` in between. A product that never
/// had a code (Total 0) has nothing to watch.
pub fn low_remaining(total: u64, remaining: u64, t: &Thresholds) -> Level {
    if total == 0 {
        return Level::Off;
    }
    // remaining / total < p / 100, in integers (no rounding at the mark).
    let r = u128::from(remaining) * 100;
    let of = |percent: u32| u128::from(total) * u128::from(percent);
    if r < of(t.low_remaining_percent) {
        Level::On
    } else if r >= of(t.low_remaining_clear_percent) {
        Level::Off
    } else {
        Level::Hold
    }
}

/// `part` as a whole percent of `total`, rounded down (0 of nothing).
pub fn percent_of(part: u64, total: u64) -> u64 {
    (u128::from(part) * 100)
        .checked_div(u128::from(total))
        .map_or(0, |p| u64::try_from(p).unwrap_or(u64::MAX))
}

/// When a pool of `remaining` codes runs out if it keeps being consumed at
/// the rate of the last `window_days` days (`consumed` codes then); `None`
/// when nothing was consumed in that window (no rate to extrapolate).
pub fn runs_out_at(
    remaining: u64,
    consumed: u64,
    window_days: u32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if consumed == 0 || window_days == 0 {
        return None;
    }
    let secs = u128::from(remaining) * u128::from(window_days) * 86_400 / u128::from(consumed);
    let secs = i64::try_from(secs).ok()?;
    now.checked_add_signed(TimeDelta::try_seconds(secs)?)
}

/// A pool running out (at its recent rate, see [`runs_out_at`]) within
/// `runs_out_days`: `On` when it runs out at or before `now + days`. A pool
/// already empty is not "running out" (the watermark says it is empty).
pub fn runs_out_soon(
    remaining: u64,
    consumed: u64,
    window_days: u32,
    now: DateTime<Utc>,
    t: &Thresholds,
) -> Level {
    if remaining == 0 {
        return Level::Off;
    }
    match runs_out_at(remaining, consumed, window_days, now) {
        Some(at) => Level::from_bool(at <= now + TimeDelta::days(i64::from(t.runs_out_days))),
        None => Level::Off,
    }
}

/// Devices that go offline at a renewal within `renewal_days`: of the
/// product's active devices (`expiring`: id and code expiry), those in the
/// window that core's [`allocate_renewals`] cannot renew from the pool's
/// `remaining` codes. The level, and how many devices.
pub fn offline_at_renewal<K: Clone>(
    expiring: &[(K, DateTime<Utc>)],
    remaining: u64,
    now: DateTime<Utc>,
    t: &Thresholds,
) -> (Level, u64) {
    let end = now + TimeDelta::days(i64::from(t.renewal_days));
    let window: Vec<(K, DateTime<Utc>)> = expiring
        .iter()
        .filter(|(_, at)| *at > now && *at <= end)
        .cloned()
        .collect();
    let offline = allocate_renewals(&window, remaining).offline.len() as u64;
    (Level::from_bool(offline > 0), offline)
}

/// A gateway license expiring within `gateway_expiry_days` (or already
/// expired: the gateway fell back to the trial and it still needs renewing).
pub fn gateway_expiring(expire_at: DateTime<Utc>, now: DateTime<Utc>, t: &Thresholds) -> Level {
    Level::from_bool(expire_at <= now + TimeDelta::days(i64::from(t.gateway_expiry_days)))
}

/// A gateway using more than its license allows (core's `Usage::over_limit`
/// of its connections or data tags).
pub fn gateway_over_limit(over_limit: bool) -> Level {
    Level::from_bool(over_limit)
}

/// A floating lease lapsing within `lease_minutes` (or already lapsed).
pub fn lease_lapsing(lapses_at: DateTime<Utc>, now: DateTime<Utc>, t: &Thresholds) -> Level {
    Level::from_bool(lapses_at <= now + TimeDelta::minutes(i64::from(t.lease_minutes)))
}

/// A profile that has not synced for more than `not_synced_minutes` while
/// the app runs: counted from its last successful sync, or from the app's
/// start when that is later (an app opened after a week away first gets
/// the chance to sync).
pub fn not_synced(
    last_synced_at: Option<DateTime<Utc>>,
    app_started_at: DateTime<Utc>,
    now: DateTime<Utc>,
    t: &Thresholds,
) -> Level {
    let since = last_synced_at.map_or(app_started_at, |at| at.max(app_started_at));
    Level::from_bool(now - since > TimeDelta::minutes(i64::from(t.not_synced_minutes)))
}

/// Which alert: its kind, the scope it was evaluated in (a profile's id,
/// or [`GATEWAYS_SCOPE`]) and its subject in that scope (a product key, a
/// gateway id; empty for the profile itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AlertKey {
    pub scope: String,
    pub kind: AlertKind,
    pub subject: String,
}

/// The scope of the gateway registry's alerts (not a profile's).
pub const GATEWAYS_SCOPE: &str = "gateways";

/// One condition as evaluated now: its key, level and the figures it is
/// worded from (names → numbers, dates, names; the UI and the notification
/// word them in the user's language).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub key: AlertKey,
    pub level: Level,
    pub params: serde_json::Map<String, serde_json::Value>,
}
