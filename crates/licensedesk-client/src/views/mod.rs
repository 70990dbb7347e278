//! Views computed from the cache: the DTOs the desktop commands return.
//! Every rule comes from `licensedesk-core`; `now` is always a parameter.

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
