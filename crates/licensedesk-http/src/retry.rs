//! The retry policy, stated once: which failed attempt of which call is
//! sent again, and after how long. Pure ([`delay`]); the waiting and the
//! jitter are the caller's.
//!
//! - Only an **idempotent** call is retried: a GET, or a POST carrying an
//!   `Idempotency-Key` (the server answers a key once and replays that
//!   answer). A POST without one is never sent twice.
//! - **What is retried:** a connection error (refused, reset, lost while
//!   reading the answer), and the answers 502, 503 and 504, which a server
//!   or the proxy before it gives for a passing condition. A 503's
//!   `Retry-After` (the server's `DATABASE_BUSY` says 1 s) is honoured
//!   when it is at most [`MAX_RETRY_AFTER`]; a longer one is given back to
//!   the caller at once. A timeout is not retried: the call's time is
//!   spent. Every other answer (4xx, 500, 429 with its own wait) is final.
//! - **How often:** at most [`ATTEMPTS`] attempts in all, waiting
//!   [`BACKOFF`] before the second, doubling up to [`MAX_BACKOFF`], each
//!   wait jittered (half to all of it) so clients do not retry in step.

use std::time::Duration;

/// Attempts of one call in all (the first and its retries).
pub const ATTEMPTS: u32 = 3;
/// The wait before the first retry.
pub const BACKOFF: Duration = Duration::from_millis(200);
/// The longest wait between two attempts the backoff reaches.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The longest `Retry-After` a call waits for; a longer one ends the call.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No answer (`timeout`: none within the request timeout).
    Failed { timeout: bool },
    /// An answer that is not a success, with its `Retry-After`.
    Answered {
        status: u16,
        retry_after: Option<Duration>,
    },
}

/// Whether attempt number `attempt` (1 for the first) of a call that is
/// `idempotent` or not, failed as `outcome`, is followed by another, and
/// after how long (before jitter).
pub fn delay(idempotent: bool, attempt: u32, outcome: &Outcome) -> Option<Duration> {
    if !idempotent || attempt >= ATTEMPTS {
        return None;
    }
    let backoff = BACKOFF
        .saturating_mul(1 << (attempt - 1).min(16))
        .min(MAX_BACKOFF);
    match *outcome {
        Outcome::Failed { timeout: true } => None,
        Outcome::Failed { timeout: false } => Some(backoff),
        Outcome::Answered {
            status: 503,
            retry_after: Some(after),
        } => (after <= MAX_RETRY_AFTER).then_some(after.max(backoff)),
        Outcome::Answered {
            status: 502..=504, ..
        } => Some(backoff),
        Outcome::Answered { .. } => None,
    }
}

/// `Retry-After` in seconds (the form the server sends; an HTTP date is
/// ignored and the backoff used).
pub fn retry_after(v: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let secs: u64 = v?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

/// `delay` jittered: half to all of it for a backoff; a server's
/// `Retry-After` is waited in full, plus up to a tenth of it.
pub(crate) fn jitter(delay: Duration, outcome: &Outcome) -> Duration {
    let r = f64::from(getrandom::u32().unwrap_or(u32::MAX / 2)) / f64::from(u32::MAX);
    match outcome {
        Outcome::Answered {
            retry_after: Some(_),
            ..
        } => delay.mul_f64(1.0 + r / 10.0),
        _ => delay.mul_f64(0.5 + r / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEAD: Outcome = Outcome::Failed { timeout: false };

    fn answered(status: u16, retry_after: Option<u64>) -> Outcome {
        Outcome::Answered {
            status,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn a_call_that_is_not_idempotent_is_never_retried() {
        for o in [
            DEAD,
            answered(502, None),
            answered(503, Some(1)),
            answered(504, None),
        ] {
            assert_eq!(delay(false, 1, &o), None, "{o:?}");
        }
    }

    #[test]
    fn an_idempotent_call_is_retried_on_a_connection_error_and_502_503_504() {
        for o in [
            DEAD,
            answered(502, None),
            answered(503, None),
            answered(504, None),
        ] {
            assert_eq!(delay(true, 1, &o), Some(BACKOFF), "{o:?}");
        }
    }

    #[test]
    fn every_other_answer_and_a_timeout_are_final() {
        for status in [400, 401, 403, 404, 409, 422, 429, 500, 501, 505] {
            assert_eq!(delay(true, 1, &answered(status, Some(1))), None, "{status}");
        }
        assert_eq!(delay(true, 1, &Outcome::Failed { timeout: true }), None);
    }

    #[test]
    fn the_backoff_doubles_and_the_attempts_are_bounded() {
        assert_eq!(delay(true, 2, &DEAD), Some(BACKOFF * 2));
        assert_eq!(delay(true, ATTEMPTS, &DEAD), None);
        assert_eq!(delay(true, ATTEMPTS + 5, &answered(503, Some(1))), None);
        // The cap holds however far the count goes (a longer policy).
        let far = BACKOFF.saturating_mul(1 << 16).min(MAX_BACKOFF);
        assert_eq!(far, MAX_BACKOFF);
    }

    #[test]
    fn a_503s_retry_after_is_honoured_up_to_the_cap() {
        // DATABASE_BUSY: Retry-After: 1.
        assert_eq!(
            delay(true, 1, &answered(503, Some(1))),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            delay(true, 1, &answered(503, Some(MAX_RETRY_AFTER.as_secs()))),
            Some(MAX_RETRY_AFTER)
        );
        // Longer than a call waits: the caller gets the answer now.
        assert_eq!(
            delay(true, 1, &answered(503, Some(MAX_RETRY_AFTER.as_secs() + 1))),
            None
        );
        // Retry-After: 0 still backs off.
        assert_eq!(delay(true, 1, &answered(503, Some(0))), Some(BACKOFF));
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        use reqwest::header::HeaderValue;
        let v = |s: &'static str| retry_after(Some(&HeaderValue::from_static(s)));
        assert_eq!(v("1"), Some(Duration::from_secs(1)));
        assert_eq!(v(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(v("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(v("-1"), None);
        assert_eq!(retry_after(None), None);
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        for _ in 0..100 {
            let d = jitter(BACKOFF, &DEAD);
            assert!(d >= BACKOFF / 2 && d <= BACKOFF, "{d:?}");
            let d = jitter(Duration::from_secs(1), &answered(503, Some(1)));
            assert!(
                d >= Duration::from_secs(1) && d <= Duration::from_millis(1100),
                "{d:?}"
            );
        }
    }
}
