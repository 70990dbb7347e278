//! Clock guard: detects a computer clock set back to extend a license.
//!
//! The caller stores a high-water mark: the latest time it has trusted
//! (`now` after a successful check, the `issued_at` of a verified license, a
//! verified server time). [`check_clock`] compares `now` with it; [`advance`]
//! moves it forward — never backwards.

use chrono::{DateTime, Duration, Utc};

use crate::error::Coded;

/// `now` may be this far behind the high-water mark (time zone or NTP
/// corrections, dual boot) before the clock counts as set back.
pub const MAX_SETBACK_MINUTES: i64 = 60;
/// A license may be issued this far after `now` (clock skew between the
/// issuing server and the gateway) and still be accepted.
pub const MAX_FUTURE_SKEW_MINUTES: i64 = 5;

/// Why the clock cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error(
        "this computer's clock ({now}) is behind a time already seen ({mark}): set the clock to the correct time and try again"
    )]
    SetBack {
        mark: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error(
        "the license is issued at {issued_at}, later than this computer's clock ({now}): set the clock to the correct time and try again"
    )]
    IssuedInFuture {
        issued_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
}

impl Coded for ClockError {
    fn code(&self) -> &'static str {
        match self {
            Self::SetBack { .. } => "CLOCK_SET_BACK",
            Self::IssuedInFuture { .. } => "CLOCK_ISSUED_IN_FUTURE",
        }
    }
}

/// Ok unless `now` is more than 1 h behind the high-water `mark`
/// ([`ClockError::SetBack`]) or `issued_at` is more than 5 min ahead of `now`
/// ([`ClockError::IssuedInFuture`]). A set-back clock is reported first.
pub fn check_clock(
    mark: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    issued_at: Option<DateTime<Utc>>,
) -> Result<(), ClockError> {
    // Checked arithmetic: dates at the ends of chrono's range never panic.
    if let Some(mark) = mark
        && mark
            .checked_sub_signed(Duration::minutes(MAX_SETBACK_MINUTES))
            .is_some_and(|limit| now < limit)
    {
        return Err(ClockError::SetBack { mark, now });
    }
    if let Some(issued_at) = issued_at
        && issued_in_future(issued_at, now)
    {
        return Err(ClockError::IssuedInFuture { issued_at, now });
    }
    Ok(())
}

/// Whether `issued_at` is more than [`MAX_FUTURE_SKEW_MINUTES`] after `now`.
pub fn issued_in_future(issued_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now.checked_add_signed(Duration::minutes(MAX_FUTURE_SKEW_MINUTES))
        .is_some_and(|limit| issued_at > limit)
}

/// The new high-water mark after trusting `observed`: the later of the two,
/// so the mark never moves backwards.
pub fn advance(mark: Option<DateTime<Utc>>, observed: DateTime<Utc>) -> DateTime<Utc> {
    match mark {
        Some(mark) if mark > observed => mark,
        _ => observed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 31, h, m, s)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn check_table() {
        let cases = [
            // (mark, now, issued_at, expected code)
            (None, t(10, 0, 0), None, None),
            (Some(t(10, 0, 0)), t(10, 0, 0), None, None),
            (Some(t(10, 0, 0)), t(12, 0, 0), None, None),
            (Some(t(10, 0, 0)), t(9, 0, 0), None, None),
            (
                Some(t(10, 0, 0)),
                t(8, 59, 59),
                None,
                Some("CLOCK_SET_BACK"),
            ),
            (None, t(10, 0, 0), Some(t(10, 5, 0)), None),
            (
                None,
                t(10, 0, 0),
                Some(t(10, 5, 1)),
                Some("CLOCK_ISSUED_IN_FUTURE"),
            ),
            (None, t(10, 0, 0), Some(t(1, 0, 0)), None),
            (
                Some(t(12, 0, 0)),
                t(10, 0, 0),
                Some(t(11, 0, 0)),
                Some("CLOCK_SET_BACK"),
            ),
        ];
        for (mark, now, issued, want) in cases {
            let got = check_clock(mark, now, issued).err().map(|e| e.code());
            assert_eq!(got, want, "mark {mark:?} now {now} issued {issued:?}");
        }
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            check_clock(Some(min), min, Some(max))
                .err()
                .map(|e| e.code()),
            Some("CLOCK_ISSUED_IN_FUTURE")
        );
        assert_eq!(
            check_clock(Some(max), min, None).err().map(|e| e.code()),
            Some("CLOCK_SET_BACK")
        );
        assert_eq!(check_clock(Some(min), max, Some(max)), Ok(()));
    }

    #[test]
    fn advance_never_goes_backwards() {
        assert_eq!(advance(None, t(10, 0, 0)), t(10, 0, 0));
        assert_eq!(advance(Some(t(10, 0, 0)), t(11, 0, 0)), t(11, 0, 0));
        assert_eq!(advance(Some(t(10, 0, 0)), t(9, 0, 0)), t(10, 0, 0));
    }
}
