//! Device lifecycle with respect to activation codes (domain.md §1,
//! "Activation codes"): first consumption, idempotent reconnection, renewal
//! at expiry, going offline for want of codes, and the near-expiry view.
//!
//! The core decides, the server stores: each function returns a decision
//! that the server executes atomically (one SQL transaction whose code
//! consumption is guarded by a UNIQUE constraint). A device is identified by
//! its product key and device key; its hardware identifier is informational
//! and never makes a reconnecting active device consume a second code.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Coded;
use crate::validity::{Validity, ValidityError};

/// Longest chain of renewals one decision computes (a device whose code
/// lapsed long ago with a very short validity). Beyond it the decision is
/// refused rather than allocating without bound.
pub const MAX_RENEWALS_PER_DECISION: usize = 10_000;

/// Default window of the "devices with near-expiry activation codes" view.
pub const NEAR_EXPIRY_DEFAULT_DAYS: u32 = 30;

/// Errors of device decisions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum DeviceError {
    #[error(transparent)]
    Validity(#[from] ValidityError),
    /// More renewals pending than one decision handles.
    #[error(
        "the device's code lapsed more than {max} validity periods ago: process renewals more often, or fix the package's validity"
    )]
    RenewalBacklogTooLong { max: usize },
}

impl Coded for DeviceError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Validity(e) => e.code(),
            Self::RenewalBacklogTooLong { .. } => "RENEWAL_BACKLOG_TOO_LONG",
        }
    }
}

/// The consumption period of one code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CodePeriod {
    pub consumed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl CodePeriod {
    /// The period of a code consumed at `consumed_at` with `validity`.
    pub fn starting(
        consumed_at: DateTime<Utc>,
        validity: &Validity,
    ) -> Result<Self, ValidityError> {
        Ok(Self {
            consumed_at,
            expires_at: validity.expiry_from(consumed_at)?,
        })
    }
}

/// A device's activation state as stored by the server. Serialised with a
/// `status` tag: `{"status":"inactive"}` or
/// `{"status":"active","consumed_at":…,"expires_at":…}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum DeviceCodeState {
    /// Never activated, or reset to inactive for want of codes.
    Inactive,
    /// Holding the code consumed at `consumed_at`, valid until `expires_at`.
    Active {
        consumed_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
}

impl DeviceCodeState {
    /// The state after the product's package changed to one with `validity`
    /// (domain.md §1: an upgrade applies to every device of the product at
    /// once): the current code's expiry is recomputed from its consumption
    /// instant. If that expiry is already past, the next renewal decision
    /// renews the device at that instant.
    pub fn rebased(&self, validity: &Validity) -> Result<Self, ValidityError> {
        match *self {
            Self::Inactive => Ok(Self::Inactive),
            Self::Active { consumed_at, .. } => {
                let p = CodePeriod::starting(consumed_at, validity)?;
                Ok(Self::Active {
                    consumed_at: p.consumed_at,
                    expires_at: p.expires_at,
                })
            }
        }
    }
}

/// Outcome of [`decide_renewal`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum RenewalDecision {
    /// Inactive, or the code has not expired at `now`: nothing to do.
    NotDue,
    /// Consume one code per period, in order; the last one covers `now`.
    Renewed { periods: Vec<CodePeriod> },
    /// Consume the `periods` (possibly none), then take the device offline
    /// and reset it to inactive at `offline_at`, the expiry no code could
    /// renew.
    WentOffline {
        periods: Vec<CodePeriod>,
        offline_at: DateTime<Utc>,
    },
}

/// Renewal at expiry (domain.md §1): when the code expires, a new code of
/// the same product pool is consumed at that very instant and its validity
/// counts from there; if none is available the device is taken offline and
/// reset to inactive.
///
/// `available` is the product's assigned-but-unconsumed codes. If the
/// decision runs late, every renewal that should have happened up to `now`
/// is returned, each starting at the previous expiry.
pub fn decide_renewal(
    state: &DeviceCodeState,
    now: DateTime<Utc>,
    validity: &Validity,
    available: u64,
) -> Result<RenewalDecision, DeviceError> {
    let DeviceCodeState::Active { expires_at, .. } = *state else {
        return Ok(RenewalDecision::NotDue);
    };
    if expires_at > now {
        return Ok(RenewalDecision::NotDue);
    }
    let mut periods = Vec::new();
    let mut expiry = expires_at;
    while expiry <= now {
        if periods.len() as u64 >= available {
            return Ok(RenewalDecision::WentOffline {
                periods,
                offline_at: expiry,
            });
        }
        if periods.len() >= MAX_RENEWALS_PER_DECISION {
            return Err(DeviceError::RenewalBacklogTooLong {
                max: MAX_RENEWALS_PER_DECISION,
            });
        }
        let period = CodePeriod::starting(expiry, validity)?;
        expiry = period.expires_at;
        periods.push(period);
    }
    Ok(RenewalDecision::Renewed { periods })
}

/// Outcome of [`decide_connect`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ConnectDecision {
    /// Active with a valid code: connect, consume nothing (idempotent).
    AlreadyActive { expires_at: DateTime<Utc> },
    /// First connection (or first since being reset): consume one code.
    ConsumeFirst { period: CodePeriod },
    /// The code had lapsed without being renewed yet: consume one code per
    /// period (each from the previous expiry), then connect.
    Renew { periods: Vec<CodePeriod> },
    /// Refuse the connection: the product has no assigned code left. The
    /// device is, or becomes, inactive. If it was active, `renewed` lists
    /// the codes still consumed before it went offline at `offline_at`.
    /// The account may still hold unassigned codes: the UI offers to assign
    /// some.
    NoCodes {
        renewed: Vec<CodePeriod>,
        offline_at: Option<DateTime<Utc>>,
    },
}

/// What happens when a device connects at `now` (domain.md §1): an inactive
/// device consumes a code of its product (validity counted from `now`); an
/// active one never consumes a second code by reconnecting; a lapsed one is
/// first renewed as [`decide_renewal`] says. `available` is the product's
/// assigned-but-unconsumed codes; `validity` the product's current package
/// validity.
pub fn decide_connect(
    state: &DeviceCodeState,
    now: DateTime<Utc>,
    validity: &Validity,
    available: u64,
) -> Result<ConnectDecision, DeviceError> {
    match *state {
        DeviceCodeState::Inactive if available == 0 => Ok(ConnectDecision::NoCodes {
            renewed: Vec::new(),
            offline_at: None,
        }),
        DeviceCodeState::Inactive => Ok(ConnectDecision::ConsumeFirst {
            period: CodePeriod::starting(now, validity)?,
        }),
        DeviceCodeState::Active { expires_at, .. } => {
            Ok(match decide_renewal(state, now, validity, available)? {
                RenewalDecision::NotDue => ConnectDecision::AlreadyActive { expires_at },
                RenewalDecision::Renewed { periods } => ConnectDecision::Renew { periods },
                RenewalDecision::WentOffline {
                    periods,
                    offline_at,
                } => ConnectDecision::NoCodes {
                    renewed: periods,
                    offline_at: Some(offline_at),
                },
            })
        }
    }
}

/// `true` when a code expiring at `expires_at` is in the near-expiry view at
/// `now`: not yet expired, and expiring within `window_days` days
/// (default [`NEAR_EXPIRY_DEFAULT_DAYS`]).
pub fn is_near_expiry(expires_at: DateTime<Utc>, now: DateTime<Utc>, window_days: u32) -> bool {
    let horizon = TimeDelta::try_days(i64::from(window_days))
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    now < expires_at && expires_at <= horizon
}

/// Which expiring devices a product pool of `codes` can renew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalAllocation<K> {
    /// Devices that get a replacement code, earliest expiry first.
    pub renew: Vec<K>,
    /// Devices that would go offline for want of codes, earliest first.
    pub offline: Vec<K>,
}

/// Allocates `codes` to devices in order of expiry (ties keep the input
/// order), as renewals at expiry would consume them. Used by the near-expiry
/// view ("is a replacement code available for this device?") and by
/// forecasts. `K` identifies a device (e.g. its DK).
pub fn allocate_renewals<K: Clone>(
    expiring: &[(K, DateTime<Utc>)],
    codes: u64,
) -> RenewalAllocation<K> {
    let mut order: Vec<&(K, DateTime<Utc>)> = expiring.iter().collect();
    order.sort_by_key(|(_, at)| *at);
    let split = usize::try_from(codes)
        .unwrap_or(usize::MAX)
        .min(order.len());
    let (renew, offline) = order.split_at(split);
    RenewalAllocation {
        renew: renew.iter().map(|(k, _)| k.clone()).collect(),
        offline: offline.iter().map(|(k, _)| k.clone()).collect(),
    }
}

/// One month of [`forecast_offline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthForecast {
    /// Devices whose code expires this month.
    pub expiring: u64,
    /// Of those, renewed from the pool.
    pub renewed: u64,
    /// Of those, going offline for want of codes.
    pub offline: u64,
    /// Codes left in the pool at the end of the month.
    pub codes_left: u64,
}

/// Forecast of "how many devices would go offline for want of codes":
/// `expiring_per_month[i]` devices expire in the i-th local month from now,
/// `codes` are left in the product's pool and none are added. Assumes the
/// validity is longer than the horizon (a renewed device does not expire
/// again within it).
pub fn forecast_offline(expiring_per_month: &[u64], codes: u64) -> Vec<MonthForecast> {
    let mut left = codes;
    expiring_per_month
        .iter()
        .map(|&expiring| {
            let renewed = expiring.min(left);
            left -= renewed;
            MonthForecast {
                expiring,
                renewed,
                offline: expiring - renewed,
                codes_left: left,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
