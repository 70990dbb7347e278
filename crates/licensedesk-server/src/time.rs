//! Instants as the server stores them, by chrono's own formatting: RFC 3339
//! UTC with six fractional digits and `Z` (`2026-03-31T10:00:00.000000Z`),
//! fixed-width so that string order is time order (both engines compare
//! them as text). In JSON an instant is written by chrono's `Serialize`.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::{ApiError, Result};

/// `t` as stored.
pub fn stored(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A stored instant.
pub fn parse(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::Internal(format!("bad stored time {s:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_instants_sort_as_text_and_read_back() {
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("instant")
                .with_timezone(&Utc)
        };
        let cases = [
            ("2026-03-31T10:00:00Z", "2026-03-31T10:00:00.000000Z"),
            ("2026-03-31T10:00:00.5Z", "2026-03-31T10:00:00.500000Z"),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
            ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
        ];
        for (input, want) in cases {
            assert_eq!(stored(t(input)), want);
            assert_eq!(parse(want).expect("parse"), t(input));
        }
        assert!(stored(t("2026-03-31T10:00:00Z")) < stored(t("2026-03-31T10:00:00.000001Z")));
        assert!(parse("+12028-01-01T00:00:00.000000Z").is_err());
    }
}
