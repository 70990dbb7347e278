//! Clock guard: detects a computer clock set back to extend a license.
//!
//! The caller stores a high-water mark: the latest time it has trusted
//! (`now` after a successful check, the `issued_at` of a verified license, a
//! verified server time). [`check_clock`] compares `now` with it; [`advance`]
//! moves it forward — never backwards.
//!
//! A signed server time statement ([`sign_server_time`] /
//! [`verify_server_time`]) is an envelope under [`SERVER_TIME_CONTEXT`] whose
//! payload is `{"v":1,"server_time":"<RFC 3339>"}`. It is a trusted lower
//! bound on the real time: replaying an old statement cannot move the mark
//! back, because [`advance`] never does.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Coded;
use crate::keys::{self, Envelope, EnvelopeError, KeySet, SERVER_TIME_CONTEXT, SigningKeyWithKid};

/// A server time statement larger than this is refused before it is parsed.
pub const MAX_SERVER_TIME_LEN: usize = 4096;

/// `now` may be this far behind the high-water mark (time zone or NTP
/// corrections, dual boot) before the clock counts as set back.
pub const MAX_SETBACK_MINUTES: i64 = 60;
/// A license may be issued this far after `now` (clock skew between the
/// issuing server and the gateway) and still be accepted.
pub const MAX_FUTURE_SKEW_MINUTES: i64 = 5;

/// Why the clock cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
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
    #[error(
        "the server time statement is invalid ({detail}): retry, or update LicenseDesk if this persists"
    )]
    ServerTimeInvalid { detail: String },
}

impl Coded for ClockError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::SetBack { .. } => "CLOCK_SET_BACK",
            Self::IssuedInFuture { .. } => "CLOCK_ISSUED_IN_FUTURE",
            Self::ServerTimeInvalid { .. } => "CLOCK_SERVER_TIME_INVALID",
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

#[derive(Serialize, Deserialize)]
struct ServerTimeWire {
    v: u32,
    server_time: DateTime<Utc>,
}

/// Signs the server's current time.
pub fn sign_server_time(now: DateTime<Utc>, key: &SigningKeyWithKid) -> Envelope {
    let wire = ServerTimeWire {
        v: 1,
        server_time: now,
    };
    // An integer and an RFC 3339 date: serialisation cannot fail.
    let bytes = serde_json::to_vec(&wire).unwrap_or_default();
    keys::sign(SERVER_TIME_CONTEXT, key, &bytes)
}

/// Verifies a signed server time statement (the envelope JSON) and returns
/// the time it states.
pub fn verify_server_time(json: &[u8], keys: &KeySet) -> Result<DateTime<Utc>, ClockError> {
    let invalid = |detail: String| ClockError::ServerTimeInvalid { detail };
    if json.len() > MAX_SERVER_TIME_LEN {
        return Err(invalid(format!(
            "{} bytes, at most {MAX_SERVER_TIME_LEN}",
            json.len()
        )));
    }
    let envelope: Envelope = serde_json::from_slice(json).map_err(|e| invalid(e.to_string()))?;
    let payload = keys
        .verify(SERVER_TIME_CONTEXT, &envelope)
        .map_err(|e: EnvelopeError| invalid(e.to_string()))?;
    let wire: ServerTimeWire =
        serde_json::from_slice(&payload).map_err(|e| invalid(e.to_string()))?;
    if wire.v != 1 {
        return Err(invalid(format!("version {} (expected 1)", wire.v)));
    }
    Ok(wire.server_time)
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
    fn server_time_round_trip_and_rejections() {
        let key = SigningKeyWithKid::from_seed("k1", [3; 32]).expect("kid");
        let other = SigningKeyWithKid::from_seed("k1", [4; 32]).expect("kid");
        let keys = KeySet::single(key.public_entry(t(0, 0, 0))).expect("key set");
        let good = sign_server_time(t(10, 0, 0), &key).to_json();
        assert_eq!(verify_server_time(good.as_bytes(), &keys), Ok(t(10, 0, 0)));
        let license_ctx = keys::sign(
            keys::LICENSE_CONTEXT,
            &key,
            br#"{"v":1,"server_time":"2026-03-31T10:00:00Z"}"#,
        );
        let v2 = keys::sign(
            SERVER_TIME_CONTEXT,
            &key,
            br#"{"v":2,"server_time":"2026-03-31T10:00:00Z"}"#,
        );
        let cases = [
            sign_server_time(t(10, 0, 0), &other).to_json(),
            license_ctx.to_json(),
            v2.to_json(),
            "{".to_owned(),
            " ".repeat(MAX_SERVER_TIME_LEN + 1),
        ];
        for case in cases {
            let code = verify_server_time(case.as_bytes(), &keys)
                .err()
                .map(|e| e.code());
            assert_eq!(code, Some("CLOCK_SERVER_TIME_INVALID"), "{case}");
        }
    }

    #[test]
    fn advance_never_goes_backwards() {
        assert_eq!(advance(None, t(10, 0, 0)), t(10, 0, 0));
        assert_eq!(advance(Some(t(10, 0, 0)), t(11, 0, 0)), t(11, 0, 0));
        assert_eq!(advance(Some(t(10, 0, 0)), t(9, 0, 0)), t(10, 0, 0));
    }
}
