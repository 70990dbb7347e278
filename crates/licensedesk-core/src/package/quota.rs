//! Quota windows and overage decisions (domain.md §1, "Package allowance",
//! overage policy and counter resets).
//!
//! "A day" and "a month" are the data center's local calendar day and month:
//! the message counter resets at local midnight, the OTA counter on the 1st
//! of the local month. Windows are returned as half-open UTC intervals
//! `[start, end)`, so a DST day is 23 or 25 hours long.

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::Coded;

/// Errors of quota windows: only possible at the edges of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum QuotaError {
    #[error(
        "the instant {at} has no local day or month in {tz} that the calendar can represent: use a realistic date"
    )]
    TimeOutOfRange { at: String, tz: String },
}

impl Coded for QuotaError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::TimeOutOfRange { .. } => "TIME_OUT_OF_RANGE",
        }
    }
}

/// A half-open interval `[start, end)` of UTC instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// `true` when `start <= t < end`.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }

    /// Length of the window (23 h or 25 h on a DST day).
    pub fn duration(&self) -> TimeDelta {
        self.end - self.start
    }
}

fn out_of_range(at: DateTime<Utc>, tz: Tz) -> QuotaError {
    QuotaError::TimeOutOfRange {
        at: at.to_rfc3339(),
        tz: tz.name().to_owned(),
    }
}

/// The local calendar date of `instant` in `tz`.
pub fn local_date(instant: DateTime<Utc>, tz: Tz) -> Result<NaiveDate, QuotaError> {
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
    instant
        .naive_utc()
        .checked_add_offset(offset)
        .map(|local| local.date())
        .ok_or_else(|| out_of_range(instant, tz))
}

/// The first instant of local day `date` in `tz`: local midnight, or, where a
/// DST gap swallows midnight, the first local time that exists that day
/// (searched in 15-minute steps: every real offset change is a multiple of
/// 15 minutes). Where midnight happens twice, the earlier one.
pub fn local_day_start(date: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    let midnight: NaiveDateTime = date.and_hms_opt(0, 0, 0)?;
    (0..96).find_map(|step| {
        let local = midnight.checked_add_signed(TimeDelta::minutes(15 * step))?;
        if local.date() != date {
            return None;
        }
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
            LocalResult::None => None,
        }
    })
}

/// The message-quota window containing `now`: from local midnight of
/// `now`'s local day to the next local midnight (domain.md §1: messages
/// reset at local midnight of the data center).
pub fn message_window(now: DateTime<Utc>, tz: Tz) -> Result<Window, QuotaError> {
    let day = local_date(now, tz)?;
    let window = day.succ_opt().and_then(|next| {
        Some(Window {
            start: local_day_start(day, tz)?,
            end: local_day_start(next, tz)?,
        })
    });
    window.ok_or_else(|| out_of_range(now, tz))
}

/// The OTA-quota window containing `now`: from the 1st of `now`'s local
/// month to the 1st of the next local month (domain.md §1: OTA attempts
/// reset on the 1st of the local month).
pub fn ota_window(now: DateTime<Utc>, tz: Tz) -> Result<Window, QuotaError> {
    let day = local_date(now, tz)?;
    let window = day.with_day(1).and_then(|first| {
        let next = first.checked_add_months(chrono::Months::new(1))?;
        Some(Window {
            start: local_day_start(first, tz)?,
            end: local_day_start(next, tz)?,
        })
    });
    window.ok_or_else(|| out_of_range(now, tz))
}

/// When the overage of the local month containing `instant` is billed: the
/// start of the 1st of the next local month (domain.md §1, overage policy).
pub fn overage_billing_instant(
    instant: DateTime<Utc>,
    tz: Tz,
) -> Result<DateTime<Utc>, QuotaError> {
    ota_window(instant, tz).map(|w| w.end)
}

/// What happens beyond the allowance; a per-product setting (domain.md §1,
/// **Decision**). Serialised `"block"` / `"bill"`; defaults to `block`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OveragePolicy {
    /// Refuse what is beyond the allowance (OTA: unless top-ups cover it).
    #[default]
    Block,
    /// Allow it and record it as overage, billed on the 1st of next month.
    Bill,
}

/// Outcome of [`decide_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum MessageDecision {
    /// Within today's allowance.
    Allowed,
    /// Policy `bill`: allowed; `overage` of these messages are beyond the
    /// allowance and must be recorded as overage.
    AllowedWithOverage { overage: u64 },
    /// Policy `block`: refused until the next local midnight; `remaining`
    /// messages were still allowed today (fewer than requested).
    Refused {
        until: DateTime<Utc>,
        remaining: u64,
    },
}

/// Decides whether `count` more messages (uplink and downlink together) of a
/// device may pass, given `used_today` in the current window, the package's
/// daily `limit`, the product's policy and `next_reset` (the current
/// [`message_window`]'s end). A request of several messages is all or
/// nothing under `block`.
pub fn decide_message(
    used_today: u64,
    limit: u32,
    policy: OveragePolicy,
    count: u64,
    next_reset: DateTime<Utc>,
) -> MessageDecision {
    let room = u64::from(limit).saturating_sub(used_today);
    if count <= room {
        return MessageDecision::Allowed;
    }
    match policy {
        OveragePolicy::Block => MessageDecision::Refused {
            until: next_reset,
            remaining: room,
        },
        OveragePolicy::Bill => MessageDecision::AllowedWithOverage {
            overage: count - room,
        },
    }
}

/// Outcome of [`decide_ota`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum OtaDecision {
    /// Allowed; `from_allowance` attempts come from this month's allowance
    /// and `topups_used` from prepaid top-ups (consume both atomically).
    Allowed {
        from_allowance: u32,
        topups_used: u32,
    },
    /// Policy `bill`: allowed; `overage` attempts are beyond the allowance
    /// and recorded as overage (offset by top-ups when billed).
    AllowedWithOverage { from_allowance: u32, overage: u32 },
    /// Policy `block`: refused; `needs_topups` more top-up attempts must be
    /// bought before this upgrade can run.
    Refused { needs_topups: u32 },
}

/// Decides an OTA upgrade costing `cost` attempts (see
/// [`super::ota_cost`]) for a device that used `used_this_month` of its
/// `per_month` attempts, with `topups_available` prepaid top-up attempts on
/// the account (domain.md §1: under `block` an upgrade needing more attempts
/// than remain is refused unless top-ups cover the difference; under `bill`
/// the excess is overage).
pub fn decide_ota(
    cost: u32,
    used_this_month: u32,
    per_month: u32,
    topups_available: u32,
    policy: OveragePolicy,
) -> OtaDecision {
    let remaining = per_month.saturating_sub(used_this_month);
    let from_allowance = cost.min(remaining);
    let short = cost - from_allowance;
    match policy {
        _ if short == 0 => OtaDecision::Allowed {
            from_allowance,
            topups_used: 0,
        },
        OveragePolicy::Block if topups_available >= short => OtaDecision::Allowed {
            from_allowance,
            topups_used: short,
        },
        OveragePolicy::Block => OtaDecision::Refused {
            needs_topups: short - topups_available,
        },
        OveragePolicy::Bill => OtaDecision::AllowedWithOverage {
            from_allowance,
            overage: short,
        },
    }
}

/// A month's overage after top-ups (domain.md §1: billed on the 1st of the
/// next month, first offset by top-up packages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverageBill {
    /// Units left to bill after the offset.
    pub billed: u64,
    /// Top-up units consumed by the offset.
    pub topups_used: u64,
}

/// Offsets `overage` units with up to `topups` top-up units; the rest is
/// billed.
pub fn bill_overage(overage: u64, topups: u64) -> OverageBill {
    let topups_used = overage.min(topups);
    OverageBill {
        billed: overage - topups_used,
        topups_used,
    }
}

#[cfg(test)]
mod tests;
