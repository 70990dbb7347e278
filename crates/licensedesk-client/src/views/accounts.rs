//! The "All accounts" overview: every profile's Total / Used / Remaining,
//! its product cards and its data age, read from each profile's own cache
//! (so it answers offline), and the sum over the profiles that have data.

use chrono::{DateTime, Utc};
use licensedesk_core::codes::Counters;
use serde::Serialize;

use crate::cache::Cache;
use crate::error::{ErrorBody, Result};
use crate::profiles::{Profile, Profiles};
use crate::views::overview::{AccountOverview, ProductCard, cards, overview};

/// One profile in the All accounts view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct AccountSummary {
    pub profile: Profile,
    /// From its cache (with its data age); `null` when the cache cannot
    /// answer (`error` says why, e.g. `NOT_SYNCED` before the first sync).
    pub overview: Option<AccountOverview>,
    pub cards: Vec<ProductCard>,
    pub error: Option<ErrorBody>,
    /// The last background sync's failure, when the app knows one (kept in
    /// memory by the app; never from the cache).
    pub sync_error: Option<ErrorBody>,
}

/// Every profile, and the sum of those that have data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct AllAccounts {
    pub accounts: Vec<AccountSummary>,
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    /// How many profiles the sums count (those whose cache has data).
    pub counted: u32,
}

/// Reads every profile's cache at `now`.
pub fn all_accounts(profiles: &Profiles, now: DateTime<Utc>) -> Result<AllAccounts> {
    let mut sum = Counters::default();
    let mut counted = 0;
    let mut accounts = Vec::new();
    for profile in profiles.list()? {
        let read = Cache::open(&profiles.cache_path(&profile.id))
            .and_then(|cache| Ok((overview(&cache, now)?, cards(&cache, now)?)));
        let summary = match read {
            Ok((ov, cards)) => {
                let c = Counters::new(ov.used, ov.remaining)
                    .and_then(|c| sum.checked_sum(&c))
                    .map_err(|e| crate::Error::Invalid(e.to_string()))?;
                sum = c;
                counted += 1;
                AccountSummary {
                    profile,
                    overview: Some(ov),
                    cards,
                    error: None,
                    sync_error: None,
                }
            }
            Err(e) => AccountSummary {
                profile,
                overview: None,
                cards: Vec::new(),
                error: Some(e.body()),
                sync_error: None,
            },
        };
        accounts.push(summary);
    }
    Ok(AllAccounts {
        accounts,
        total: sum.total(),
        used: sum.used(),
        remaining: sum.remaining(),
        counted,
    })
}
