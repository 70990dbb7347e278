//! Closing a month (domain.md §1, overage policy: "overage of a month is
//! billed on the 1st of the next month, first offset by top-up packages").
//!
//! At the first local midnight of a month the server closes the previous
//! local month of every product: the month's overage (messages and OTA
//! attempts beyond the allowance, recorded under `bill`) is offset by the
//! product's prepaid top-ups, which that **consumes**, and the rest is
//! billed. A month is closed once; months missed while the server was down
//! are closed in order when it comes back ([`months_to_close`]).

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::quota::{OverageBill, QuotaError, Window, bill_overage, local_date, local_day_start};

/// At most this many months are closed for one product in one pass (a
/// product's first month far in the past is caught up over several).
pub const MAX_MONTHS_PER_PASS: usize = 120;

/// One local calendar month of a data center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Month {
    /// `YYYY-MM`.
    pub label: String,
    /// Its first day.
    pub first: NaiveDate,
    /// Its instants, `[local midnight of the 1st, local midnight of the next 1st)`.
    pub window: Window,
}

impl Month {
    /// The local month of `first` (any day of it) in `tz`.
    pub fn of_date(day: NaiveDate, tz: Tz) -> Option<Self> {
        let first = day.with_day(1)?;
        let next = first.checked_add_months(Months::new(1))?;
        Some(Self {
            label: format!("{:04}-{:02}", first.year(), first.month()),
            first,
            window: Window {
                start: local_day_start(first, tz)?,
                end: local_day_start(next, tz)?,
            },
        })
    }

    /// The local month containing `instant`.
    pub fn containing(instant: DateTime<Utc>, tz: Tz) -> Result<Self, QuotaError> {
        let out = || QuotaError::TimeOutOfRange {
            at: instant.to_rfc3339(),
            tz: tz.name().to_owned(),
        };
        Self::of_date(local_date(instant, tz)?, tz).ok_or_else(out)
    }

    /// The month after this one.
    pub fn next(&self, tz: Tz) -> Option<Self> {
        Self::of_date(self.first.checked_add_months(Months::new(1))?, tz)
    }
}

/// The months to close at `now`: from `first_open` (the first month not
/// closed yet) every month that has ended by `now`, oldest first, at most
/// [`MAX_MONTHS_PER_PASS`]. Empty while `first_open` is still running.
pub fn months_to_close(first_open: &Month, now: DateTime<Utc>, tz: Tz) -> Vec<Month> {
    let mut out = Vec::new();
    let mut m = Some(first_open.clone());
    while let Some(month) = m {
        if month.window.end > now || out.len() == MAX_MONTHS_PER_PASS {
            break;
        }
        m = month.next(tz);
        out.push(month);
    }
    out
}

/// A closed month of one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthClose {
    /// Messages beyond the daily allowances of the month, after top-ups.
    pub messages: OverageBill,
    /// OTA attempts beyond the monthly allowances, after top-ups.
    pub ota: OverageBill,
    /// The product's balances once the offsets are taken.
    pub message_topups_left: u64,
    pub ota_topups_left: u64,
}

/// Closes a month with `message_overage` and `ota_overage` units of
/// overage against the product's `message_topups` and `ota_topups`: each
/// overage is offset by its own top-ups, which are used up by as much.
pub fn close_month(
    message_overage: u64,
    ota_overage: u64,
    message_topups: u64,
    ota_topups: u64,
) -> MonthClose {
    let messages = bill_overage(message_overage, message_topups);
    let ota = bill_overage(ota_overage, ota_topups);
    MonthClose {
        messages,
        ota,
        message_topups_left: message_topups - messages.topups_used,
        ota_topups_left: ota_topups - ota.topups_used,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    const SHANGHAI: Tz = Tz::Asia__Shanghai;

    #[test]
    fn a_month_is_the_data_centers_local_month() {
        // 2027-03-31T16:30Z is already April 1st 00:30 in Shanghai.
        let m = Month::containing(utc("2027-03-31T16:30:00Z"), SHANGHAI).expect("month");
        assert_eq!(m.label, "2027-04");
        assert_eq!(m.window.start, utc("2027-03-31T16:00:00Z"));
        assert_eq!(m.window.end, utc("2027-04-30T16:00:00Z"));
        let berlin =
            Month::containing(utc("2027-03-15T00:00:00Z"), Tz::Europe__Berlin).expect("month");
        // March has the DST change: 31 days minus one hour.
        assert_eq!(
            berlin.window.end - berlin.window.start,
            chrono::TimeDelta::hours(31 * 24 - 1)
        );
    }

    #[test]
    fn months_to_close_are_the_ended_ones_oldest_first() {
        let march = Month::containing(utc("2027-03-10T00:00:00Z"), SHANGHAI).expect("march");
        let labels = |now: &str| {
            months_to_close(&march, utc(now), SHANGHAI)
                .into_iter()
                .map(|m| m.label)
                .collect::<Vec<_>>()
        };
        assert!(
            labels("2027-03-31T15:59:59Z").is_empty(),
            "March still runs"
        );
        assert_eq!(
            labels("2027-03-31T16:00:00Z"),
            ["2027-03"],
            "local midnight"
        );
        // Down from March 20 to June 3: March, April and May close in order.
        assert_eq!(
            labels("2027-06-03T00:00:00Z"),
            ["2027-03", "2027-04", "2027-05"]
        );
        let old = Month::containing(utc("1990-01-01T00:00:00Z"), SHANGHAI).expect("old");
        assert_eq!(
            months_to_close(&old, utc("2027-01-01T00:00:00Z"), SHANGHAI).len(),
            MAX_MONTHS_PER_PASS
        );
    }

    #[test]
    fn closing_uses_up_the_top_ups_it_applies() {
        let cases = [
            // (msg overage, ota overage, msg top-ups, ota top-ups) →
            // (msg billed, msg used, ota billed, ota used, msg left, ota left)
            ((10, 0, 10, 0), (0, 10, 0, 0, 0, 0)),
            ((0, 0, 100, 5), (0, 0, 0, 0, 100, 5)),
            ((105, 3, 100, 5), (5, 100, 0, 3, 0, 2)),
            ((7, 9, 0, 0), (7, 0, 9, 0, 0, 0)),
        ];
        for ((mo, oo, mt, ot), want) in cases {
            let c = close_month(mo, oo, mt, ot);
            assert_eq!(
                (
                    c.messages.billed,
                    c.messages.topups_used,
                    c.ota.billed,
                    c.ota.topups_used,
                    c.message_topups_left,
                    c.ota_topups_left
                ),
                want,
                "{mo} {oo} {mt} {ot}"
            );
        }
    }
}
