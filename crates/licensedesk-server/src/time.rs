//! Instants as the server stores them, by chrono's own formatting: RFC 3339
//! UTC with six fractional digits and `Z` (`2026-03-31T10:00:00.000000Z`),
//! fixed-width so that string order is time order (both engines compare
//! them as text). In JSON an instant is written as chrono's `Serialize`
//! writes it; a hot answer says so with [`json_opt`].

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::{ApiError, Result};

/// `t` as stored.
pub fn stored(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `#[serde(serialize_with = "crate::time::json_opt")]`: an optional
/// instant as chrono's `Serialize` writes it (RFC 3339, `Z`, 0, 3, 6 or 9
/// fraction digits), through chrono's `to_rfc3339_opts`, a fraction of the
/// cost of the `Debug` formatting its `Serialize` goes through. For the
/// answers written once per request under load (a device's connect).
pub fn json_opt<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        None => s.serialize_none(),
    }
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

    /// [`json_opt`] writes what chrono's `Serialize` writes, at every
    /// fraction width and at the edges of the bounds' years.
    #[test]
    fn json_instants_are_chronos_own() {
        #[derive(serde::Serialize)]
        struct Ours(#[serde(serialize_with = "json_opt")] Option<DateTime<Utc>>);
        for input in [
            "2026-03-31T10:00:00Z",
            "2026-03-31T10:00:00.5Z",
            "2026-03-31T10:00:00.000001Z",
            "2026-03-31T10:00:00.123456789Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999Z",
        ] {
            let t = DateTime::parse_from_rfc3339(input)
                .expect("instant")
                .with_timezone(&Utc);
            let chrono = serde_json::to_string(&Some(t)).expect("json");
            assert_eq!(serde_json::to_string(&Ours(Some(t))).expect("json"), chrono);
        }
        assert_eq!(serde_json::to_string(&Ours(None)).expect("json"), "null");
    }
}
