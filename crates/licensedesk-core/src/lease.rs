//! Floating licenses (domain.md §2): a gateway managed by a platform holds a
//! lease of points while it checks in; the lease lapses when it stops.

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::Coded;

/// Time-to-live of a lease when the pool names none, in seconds.
pub const DEFAULT_TTL_SECS: u32 = 300;
/// The shortest and longest time-to-live a pool may set, in seconds.
pub const MIN_TTL_SECS: u32 = 10;
pub const MAX_TTL_SECS: u32 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum LeaseError {
    #[error("claim at least 1 point")]
    NoPoints,
    #[error("the lease lapsed at {at} (no heartbeat within its time-to-live): claim again")]
    Lapsed { at: DateTime<Utc> },
    #[error("the time is out of range")]
    TimeOutOfRange,
}

impl Coded for LeaseError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NoPoints => "LEASE_INVALID",
            Self::Lapsed { .. } => "LEASE_LAPSED",
            Self::TimeOutOfRange => "TIME_OUT_OF_RANGE",
        }
    }
}

/// A pool's time-to-live: the requested one clamped to
/// [`MIN_TTL_SECS`, `MAX_TTL_SECS`], or [`DEFAULT_TTL_SECS`].
pub fn pool_ttl(requested: Option<u32>) -> u32 {
    requested
        .unwrap_or(DEFAULT_TTL_SECS)
        .clamp(MIN_TTL_SECS, MAX_TTL_SECS)
}

/// Whether a lease that runs until `expires_at` has lapsed at `now`.
pub fn is_lapsed(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= expires_at
}

/// When a lease claimed at `now` runs out.
pub fn claim(points: u32, now: DateTime<Utc>, ttl_secs: u32) -> Result<DateTime<Utc>, LeaseError> {
    if points == 0 {
        return Err(LeaseError::NoPoints);
    }
    expiry(now, ttl_secs)
}

/// A heartbeat at `now` on a lease running until `expires_at`: the new end,
/// or [`LeaseError::Lapsed`] (a lapsed lease is not revived: claim again).
pub fn heartbeat(
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
    ttl_secs: u32,
) -> Result<DateTime<Utc>, LeaseError> {
    if is_lapsed(expires_at, now) {
        return Err(LeaseError::Lapsed { at: expires_at });
    }
    expiry(now, ttl_secs)
}

fn expiry(now: DateTime<Utc>, ttl_secs: u32) -> Result<DateTime<Utc>, LeaseError> {
    now.checked_add_signed(TimeDelta::seconds(i64::from(ttl_secs)))
        .ok_or(LeaseError::TimeOutOfRange)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, s)
            .single()
            .expect("valid")
    }

    #[test]
    fn ttl_is_clamped() {
        let cases = [
            (None, 300),
            (Some(0), 10),
            (Some(60), 60),
            (Some(1_000_000), 86_400),
        ];
        for (req, want) in cases {
            assert_eq!(pool_ttl(req), want, "{req:?}");
        }
    }

    #[test]
    fn a_lease_lives_while_heartbeats_arrive_and_lapses_after() {
        let until = claim(5, t(0), 30).expect("claim");
        assert_eq!(until, t(30));
        // A heartbeat before the end extends from the heartbeat.
        let until = heartbeat(until, t(29), 30).expect("alive");
        assert_eq!(until, t(59));
        // At the end instant the lease has lapsed.
        assert!(is_lapsed(until, t(59)));
        let err = heartbeat(until, t(59), 30).unwrap_err();
        assert_eq!(err.code(), "LEASE_LAPSED");
        assert_eq!(claim(0, t(0), 30).unwrap_err().code(), "LEASE_INVALID");
    }
}
