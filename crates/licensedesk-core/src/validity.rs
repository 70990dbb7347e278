//! Validity period of a consumed activation code (domain.md §1, "Activation
//! codes"; package term 1).
//!
//! A consumed code is valid for the package's validity period counted from
//! the consumption instant: `2026-03-31T10:00Z` + 5 years =
//! `2031-03-31T10:00Z`; Feb 29 + 1 year → Feb 28. Calendar arithmetic is done
//! on the UTC calendar so that an expiry instant does not depend on which data
//! center stores it.

use std::fmt;

use chrono::{DateTime, Days, Months, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Coded;

/// Errors of validity arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum ValidityError {
    /// A validity of zero would expire at the instant it is consumed.
    #[error(
        "the validity period is empty (0 years, 0 months, 0 days): give the package a validity of at least one day"
    )]
    Empty,
    /// The expiry would fall outside the representable calendar.
    #[error(
        "a validity of {validity} from {start} ends outside the supported calendar: use a shorter validity period"
    )]
    OutOfRange { validity: String, start: String },
}

impl Coded for ValidityError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "VALIDITY_EMPTY",
            Self::OutOfRange { .. } => "VALIDITY_OUT_OF_RANGE",
        }
    }
}

/// A calendar period: years, months and days.
///
/// Serialised as `{"years":5,"months":0,"days":0}`; missing fields default
/// to 0. Derived equality is structural (`1 y` ≠ `12 mo`); use
/// [`Validity::same_period`] to compare periods by meaning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Validity {
    pub years: u32,
    pub months: u32,
    pub days: u32,
}

impl Validity {
    pub const fn new(years: u32, months: u32, days: u32) -> Self {
        Self {
            years,
            months,
            days,
        }
    }

    pub const fn years(years: u32) -> Self {
        Self::new(years, 0, 0)
    }

    pub const fn months(months: u32) -> Self {
        Self::new(0, months, 0)
    }

    pub const fn days(days: u32) -> Self {
        Self::new(0, 0, days)
    }

    /// `true` when every term is zero.
    pub const fn is_empty(&self) -> bool {
        self.years == 0 && self.months == 0 && self.days == 0
    }

    /// The period's months, years included (`years * 12 + months`).
    pub const fn total_months(&self) -> u64 {
        self.years as u64 * 12 + self.months as u64
    }

    /// The same period with months carried into years (`18 mo` → `1 y 6 mo`).
    /// Saturates at `u32::MAX` years, which no calendar can reach anyway.
    pub fn normalized(&self) -> Self {
        let total = self.total_months();
        Self {
            years: u32::try_from(total / 12).unwrap_or(u32::MAX),
            // `total % 12` is below 12.
            months: (total % 12) as u32,
            days: self.days,
        }
    }

    /// `true` when both periods mean the same thing (`1 y` and `12 mo`).
    pub fn same_period(&self, other: &Self) -> bool {
        self.total_months() == other.total_months() && self.days == other.days
    }

    /// The instant a code consumed at `start` expires (domain.md §1): `start`
    /// plus all the months at once (years included), clamped to the end of
    /// the month when the day does not exist (Feb 29 + 1 y → Feb 28,
    /// Jan 31 + 1 mo → Feb 28/29), then plus the days. The time of day is
    /// kept.
    ///
    /// Adding all months at once rather than years then months avoids a
    /// double clamp (Feb 29 2024 + 1 y 1 mo = Mar 29 2025, not Mar 28).
    pub fn expiry_from(&self, start: DateTime<Utc>) -> Result<DateTime<Utc>, ValidityError> {
        if self.is_empty() {
            return Err(ValidityError::Empty);
        }
        let out_of_range = || ValidityError::OutOfRange {
            validity: self.to_string(),
            start: start.to_rfc3339(),
        };
        let months = u32::try_from(self.total_months()).map_err(|_| out_of_range())?;
        start
            .checked_add_months(Months::new(months))
            .and_then(|t| t.checked_add_days(Days::new(u64::from(self.days))))
            .ok_or_else(out_of_range)
    }
}

impl fmt::Display for Validity {
    /// `5 y`, `1 y 6 mo`, `30 d`; an empty period is `0 d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("0 d");
        }
        let parts = [(self.years, "y"), (self.months, "mo"), (self.days, "d")];
        let mut first = true;
        for (n, unit) in parts.into_iter().filter(|(n, _)| *n > 0) {
            if !first {
                f.write_str(" ")?;
            }
            write!(f, "{n} {unit}")?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn expiry_table() {
        #[track_caller]
        fn check(start: &str, validity: Validity, expected: &str) {
            let got = validity.expiry_from(utc(start)).expect("in range");
            assert_eq!(got, utc(expected), "{start} + {validity}");
        }
        // domain.md §1's own example.
        check(
            "2026-03-31T10:00:00Z",
            Validity::years(5),
            "2031-03-31T10:00:00Z",
        );
        // Feb 29 + 1 year → Feb 28.
        check(
            "2028-02-29T08:30:00Z",
            Validity::years(1),
            "2029-02-28T08:30:00Z",
        );
        // Feb 29 + 4 years lands on another Feb 29.
        check(
            "2028-02-29T08:30:00Z",
            Validity::years(4),
            "2032-02-29T08:30:00Z",
        );
        // Month arithmetic clamps to the month end.
        check(
            "2026-01-31T00:00:00Z",
            Validity::months(1),
            "2026-02-28T00:00:00Z",
        );
        check(
            "2028-01-31T00:00:00Z",
            Validity::months(1),
            "2028-02-29T00:00:00Z",
        );
        check(
            "2026-03-31T23:59:59Z",
            Validity::months(1),
            "2026-04-30T23:59:59Z",
        );
        check(
            "2026-08-31T12:00:00Z",
            Validity::months(6),
            "2027-02-28T12:00:00Z",
        );
        // Years and months are added together: one clamp only.
        check(
            "2028-02-29T00:00:00Z",
            Validity::new(1, 1, 0),
            "2029-03-29T00:00:00Z",
        );
        check(
            "2026-01-31T00:00:00Z",
            Validity::new(0, 13, 0),
            "2027-02-28T00:00:00Z",
        );
        // Days after months.
        check(
            "2026-01-31T00:00:00Z",
            Validity::new(0, 1, 1),
            "2026-03-01T00:00:00Z",
        );
        check(
            "2026-12-31T06:00:00Z",
            Validity::days(1),
            "2027-01-01T06:00:00Z",
        );
        check(
            "2026-03-01T00:00:00Z",
            Validity::days(30),
            "2026-03-31T00:00:00Z",
        );
        // Sub-second precision is kept.
        check(
            "2026-03-31T10:00:00.250Z",
            Validity::years(5),
            "2031-03-31T10:00:00.250Z",
        );
    }

    #[test]
    fn expiry_errors() {
        let start = utc("2026-03-31T10:00:00Z");
        let cases: [(Validity, DateTime<Utc>, &str); 4] = [
            (Validity::default(), start, "VALIDITY_EMPTY"),
            (Validity::years(u32::MAX), start, "VALIDITY_OUT_OF_RANGE"),
            (Validity::days(u32::MAX), start, "VALIDITY_OUT_OF_RANGE"),
            (
                Validity::days(1),
                DateTime::<Utc>::MAX_UTC,
                "VALIDITY_OUT_OF_RANGE",
            ),
        ];
        for (validity, start, code) in cases {
            let err = validity.expiry_from(start).expect_err("must fail");
            assert_eq!(err.code(), code, "{validity} from {start}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn display_table() {
        let cases = [
            (Validity::years(5), "5 y"),
            (Validity::new(1, 6, 0), "1 y 6 mo"),
            (Validity::days(30), "30 d"),
            (Validity::new(2, 0, 15), "2 y 15 d"),
            (Validity::default(), "0 d"),
        ];
        for (validity, text) in cases {
            assert_eq!(validity.to_string(), text);
        }
    }

    #[test]
    fn normalized_and_same_period() {
        assert_eq!(Validity::months(18).normalized(), Validity::new(1, 6, 0));
        assert_eq!(Validity::new(1, 12, 3).normalized(), Validity::new(2, 0, 3));
        assert!(Validity::years(1).same_period(&Validity::months(12)));
        assert!(!Validity::years(1).same_period(&Validity::days(365)));
        assert!(!Validity::years(1).same_period(&Validity::new(1, 0, 1)));
        assert_eq!(
            Validity::new(u32::MAX, u32::MAX, 0).normalized().years,
            u32::MAX
        );
    }

    #[test]
    fn serde_shape() {
        let json = serde_json::to_string(&Validity::new(5, 0, 7)).expect("serialise");
        assert_eq!(json, r#"{"years":5,"months":0,"days":7}"#);
        let parsed: Validity = serde_json::from_str(r#"{"years":5}"#).expect("defaults");
        assert_eq!(parsed, Validity::years(5));
        assert!(serde_json::from_str::<Validity>(r#"{"year":5}"#).is_err());
        assert!(serde_json::from_str::<Validity>(r#"{"years":-1}"#).is_err());
    }

    #[test]
    fn expiry_keeps_time_of_day_and_is_later() {
        let start = Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).single();
        let start = start.expect("valid");
        for v in [Validity::days(1), Validity::months(1), Validity::years(1)] {
            let end = v.expiry_from(start).expect("in range");
            assert!(end > start);
            assert_eq!(end.time(), start.time());
        }
    }

    proptest::proptest! {
        #[test]
        fn expiry_is_later_and_monotone(
            secs in 0i64..4_000_000_000,
            years in 0u32..50, months in 0u32..30, days in 0u32..400,
        ) {
            let start = DateTime::<Utc>::from_timestamp(secs, 0).expect("in range");
            let v = Validity::new(years, months, days);
            let longer = Validity::new(years, months, days + 1);
            let end = longer.expiry_from(start).expect("in range");
            proptest::prop_assert!(end > start);
            if !v.is_empty() {
                let shorter_end = v.expiry_from(start).expect("in range");
                proptest::prop_assert!(shorter_end > start);
                proptest::prop_assert!(shorter_end < end);
            }
        }
    }
}
