//! Views computed from the cache: the DTOs the desktop commands return.
//! Every rule comes from `licensedesk-core`; `now` is always a parameter.

pub mod accounts;
pub mod billing;
pub mod devices;
pub mod licenses;
pub mod overview;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use licensedesk_core::package::quota::local_date;
use rusqlite::Connection;

use crate::cache::{get_meta, keys};
use crate::error::Result;

/// The data center's time zone, as the last sync learnt it (UTC before).
pub(crate) fn time_zone(c: &Connection) -> Result<Tz> {
    Ok(get_meta(c, keys::TIME_ZONE)?
        .and_then(|s| s.parse::<Tz>().ok())
        .unwrap_or(Tz::UTC))
}

/// Local month index (year * 12 + month0) of an instant in the data center.
pub(crate) fn month_index(t: DateTime<Utc>, tz: Tz) -> i64 {
    let d = local_date(t, tz).unwrap_or_else(|_| t.date_naive());
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

/// "YYYY-MM" of a month index.
pub(crate) fn month_label(idx: i64) -> String {
    format!("{:04}-{:02}", idx.div_euclid(12), idx.rem_euclid(12) + 1)
}

/// A product's package allowance (core's `Package`, serialised the same),
/// which the UI words in the user's language: "5 y · 1500 msg/day · …".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct PackageTerms {
    pub validity: ValidityTerms,
    pub messages_per_day: u32,
    pub ota_per_month: u32,
    pub ota_cap_mb: u32,
    pub storage_days: u32,
}

/// A validity period: years, months and days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct ValidityTerms {
    pub years: u32,
    pub months: u32,
    pub days: u32,
}

impl From<&licensedesk_core::package::Package> for PackageTerms {
    fn from(p: &licensedesk_core::package::Package) -> Self {
        Self {
            validity: ValidityTerms {
                years: p.validity.years,
                months: p.validity.months,
                days: p.validity.days,
            },
            messages_per_day: p.messages_per_day,
            ota_per_month: p.ota_per_month,
            ota_cap_mb: p.ota_cap_mb,
            storage_days: p.storage_days,
        }
    }
}
