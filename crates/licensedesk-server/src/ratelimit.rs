//! Rate limiting of failed code attempts, per token and per client address.
//!
//! Only failures count (an unknown activation code, a wrong order e-mail):
//! once a key has `limit` failures within the window, every further code
//! attempt from it is answered 429 with `Retry-After` until the oldest
//! failure leaves the window. Time comes from the injectable clock.
//!
//! The failures are kept in the database ([`crate::store::attempts`]), so
//! the limit holds across every node of a fleet that shares it. A check and
//! the attempt it lets through are not one transaction: attempts racing on
//! several nodes at the limit may each get through once, never more than
//! the requests already in flight.

use chrono::{DateTime, Duration, Utc};

use crate::error::ApiError;
use crate::store::Store;

#[derive(Clone)]
pub struct FailureLimiter {
    store: Store,
    limit: i64,
    window: Duration,
}

impl FailureLimiter {
    pub fn new(store: Store, limit: u32, window_secs: u64) -> Self {
        Self {
            store,
            limit: i64::from(limit.max(1)),
            window: Duration::seconds(i64::try_from(window_secs).unwrap_or(i64::MAX / 2_000)),
        }
    }

    /// The window failures are counted in.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Refuses with 429 when any of `keys` is over the limit.
    pub async fn check(&self, keys: &[String], now: DateTime<Utc>) -> Result<(), ApiError> {
        let counts = self
            .store
            .recent_failures(keys.to_vec(), now, self.window)
            .await?;
        let retry_after = counts
            .iter()
            .filter(|(n, _)| *n >= self.limit)
            .filter_map(|(_, oldest)| *oldest)
            .map(|oldest| ((oldest + self.window - now).num_milliseconds() + 999) / 1000)
            .max()
            .unwrap_or(0);
        if retry_after > 0 {
            return Err(ApiError::RateLimited {
                retry_after: u64::try_from(retry_after).unwrap_or(1).max(1),
            });
        }
        Ok(())
    }

    /// Records one failed attempt against each of `keys`. The attempt's own
    /// answer is what the caller gets: a failure to record it is logged.
    pub async fn record_failure(&self, keys: &[String], now: DateTime<Utc>) {
        if let Err(e) = self
            .store
            .record_failure(keys.to_vec(), now, self.window)
            .await
        {
            tracing::warn!("recording a failed code attempt: {e}");
        }
    }
}
