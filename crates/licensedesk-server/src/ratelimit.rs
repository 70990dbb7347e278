//! Rate limiting of failed code attempts, per token and per client address.
//!
//! Only failures count (an unknown activation code, a wrong order e-mail):
//! once a key has `limit` failures within the window, every further code
//! attempt from it is answered 429 with `Retry-After` until the oldest
//! failure leaves the window. Time comes from the injectable clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::error::ApiError;

#[derive(Debug)]
pub struct FailureLimiter {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl FailureLimiter {
    pub fn new(limit: u32, window_secs: u64) -> Self {
        Self {
            limit: limit.max(1) as usize,
            window: Duration::seconds(i64::try_from(window_secs).unwrap_or(i64::MAX / 2_000)),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Refuses with 429 when any of `keys` is over the limit.
    pub fn check(&self, keys: &[String], now: DateTime<Utc>) -> Result<(), ApiError> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut retry_after = 0i64;
        for key in keys {
            if let Some(q) = map.get_mut(key) {
                prune(q, now, self.window);
                if q.len() >= self.limit
                    && let Some(oldest) = q.front()
                {
                    let wait = (*oldest + self.window - now).num_milliseconds();
                    retry_after = retry_after.max((wait + 999) / 1000);
                }
            }
        }
        if retry_after > 0 {
            return Err(ApiError::RateLimited {
                retry_after: u64::try_from(retry_after).unwrap_or(1).max(1),
            });
        }
        Ok(())
    }

    /// Records one failed attempt against each of `keys`.
    pub fn record_failure(&self, keys: &[String], now: DateTime<Utc>) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            let q = map.entry(key.clone()).or_default();
            prune(q, now, self.window);
            q.push_back(now);
        }
        // Bound memory: forget keys with no recent failure.
        if map.len() > 100_000 {
            map.retain(|_, q| q.back().is_some_and(|t| *t + self.window > now));
        }
    }
}

fn prune(q: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>, window: Duration) {
    while q.front().is_some_and(|t| *t + window <= now) {
        q.pop_front();
    }
}
