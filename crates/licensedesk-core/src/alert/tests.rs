//! Each rule at its boundaries, table-driven; and the life of an alert:
//! raised once, held, cleared, re-armed.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 31, 10, 0, 0).unwrap()
}

fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

#[test]
fn low_remaining_raises_under_20_clears_at_25_holds_between() {
    let t = Thresholds::default();
    // (total, remaining, level)
    let cases: &[(u64, u64, Level)] = &[
        (1000, 199, Level::On),   // 19.9 %: crossed
        (1000, 200, Level::Hold), // exactly 20 %: not under the mark
        (1000, 201, Level::Hold),
        (1000, 249, Level::Hold), // 24.9 %: not yet cleared
        (1000, 250, Level::Off),  // 25 %: cleared
        (1000, 1000, Level::Off),
        (1000, 0, Level::On),
        (1505, 301, Level::Hold), // 301 / 1505 = 20 % exactly
        (1505, 300, Level::On),
        (3, 0, Level::On),
        (0, 0, Level::Off),                   // no code ever: nothing to watch
        (u64::MAX, u64::MAX / 10, Level::On), // no overflow
    ];
    for &(total, remaining, want) in cases {
        assert_eq!(
            low_remaining(total, remaining, &t),
            want,
            "{remaining} of {total}"
        );
    }
}

#[test]
fn percent_of_rounds_down() {
    for (part, total, want) in [
        (199, 1000, 19),
        (200, 1000, 20),
        (0, 0, 0),
        (5, 3, 166),
        (u64::MAX, u64::MAX, 100),
    ] {
        assert_eq!(percent_of(part, total), want, "{part} of {total}");
    }
}

#[test]
fn watermark_crossed_cleared_and_rearmed() {
    let t = Thresholds::default();
    // Remaining of a pool of 1000 over successive syncs, and what happens.
    let timeline: &[(u64, Transition)] = &[
        (300, Transition::Quiet),   // 30 %
        (210, Transition::Quiet),   // 21 %: in the band, never raised
        (199, Transition::Raised),  // crossed: notify once
        (150, Transition::Still),   // still under: nothing again
        (220, Transition::Still),   // back in the band: not cleared yet
        (199, Transition::Still),   // under again: no second notification
        (250, Transition::Cleared), // 25 %: cleared, re-armed
        (240, Transition::Quiet),   // in the band after clearing: quiet
        (190, Transition::Raised),  // crossed again: raised again
    ];
    let mut raised = false;
    for &(remaining, want) in timeline {
        let tr = step(raised, low_remaining(1000, remaining, &t));
        assert_eq!(tr, want, "remaining {remaining}");
        raised = tr.raised();
    }
}

#[test]
fn step_table() {
    use Level::*;
    use Transition::*;
    for (raised, level, want) in [
        (false, On, Raised),
        (false, Hold, Quiet),
        (false, Off, Quiet),
        (true, On, Still),
        (true, Hold, Still),
        (true, Off, Cleared),
    ] {
        assert_eq!(step(raised, level), want, "{raised} {level:?}");
    }
}

#[test]
fn runs_out_within_30_days_29_vs_31() {
    let t = Thresholds::default();
    let now = t0();
    // 90 codes in the last 90 days: one a day; `remaining` days left.
    let cases: &[(u64, u64, Level)] = &[
        (29, 90, Level::On),
        (30, 90, Level::On), // runs out exactly at the window's end
        (31, 90, Level::Off),
        (1, 90, Level::On),
        (0, 90, Level::Off), // already out: the watermark's alert, not a forecast
        (500, 0, Level::Off), // nothing consumed: no rate, no forecast
        (0, 0, Level::Off),
        (58, 180, Level::On),  // two a day: 29 days
        (62, 180, Level::Off), // 31 days
    ];
    for &(remaining, consumed, want) in cases {
        assert_eq!(
            runs_out_soon(remaining, consumed, 90, now, &t),
            want,
            "{remaining} left, {consumed} in 90 d"
        );
    }
    assert_eq!(runs_out_at(29, 90, 90, now), Some(now + days(29)));
    assert_eq!(runs_out_at(1, 0, 90, now), None);
    assert_eq!(
        runs_out_at(u64::MAX, 1, 90, now),
        None,
        "beyond the calendar"
    );
}

#[test]
fn offline_at_renewal_29_vs_31_days() {
    let t = Thresholds::default();
    let now = t0();
    // (expiries in days from now, remaining codes, level, devices offline)
    let cases: &[(&[i64], u64, Level, u64)] = &[
        (&[29], 0, Level::On, 1),
        (&[31], 0, Level::Off, 0), // outside the 30-day window
        (&[30], 0, Level::On, 1),
        (&[29], 1, Level::Off, 0), // the pool renews it
        (&[5, 29, 29], 1, Level::On, 2),
        (&[-1], 0, Level::Off, 0), // already expired: not a renewal to come
        (&[], 0, Level::Off, 0),
    ];
    for &(at, remaining, level, n) in cases {
        let expiring: Vec<(usize, DateTime<Utc>)> = at
            .iter()
            .enumerate()
            .map(|(i, d)| (i, now + days(*d)))
            .collect();
        assert_eq!(
            offline_at_renewal(&expiring, remaining, now, &t),
            (level, n),
            "{at:?} with {remaining}"
        );
    }
}

#[test]
fn gateway_license_expiring_29_vs_31_days_and_over_limits() {
    let t = Thresholds::default();
    let now = t0();
    for (in_days, want) in [
        (29, Level::On),
        (30, Level::On),
        (31, Level::Off),
        (-3, Level::On), // expired: still to be renewed
        (365, Level::Off),
    ] {
        assert_eq!(
            gateway_expiring(now + days(in_days), now, &t),
            want,
            "{in_days} d"
        );
    }
    assert_eq!(gateway_over_limit(true), Level::On);
    assert_eq!(gateway_over_limit(false), Level::Off);
}

#[test]
fn lease_lapsing_within_10_minutes() {
    let t = Thresholds::default();
    let now = t0();
    for (mins, want) in [
        (9, Level::On),
        (10, Level::On),
        (11, Level::Off),
        (-1, Level::On),
    ] {
        assert_eq!(
            lease_lapsing(now + TimeDelta::minutes(mins), now, &t),
            want,
            "{mins} min"
        );
    }
}

#[test]
fn not_synced_for_more_than_an_hour_while_the_app_runs() {
    let t = Thresholds::default();
    let now = t0();
    let m = TimeDelta::minutes;
    // (last sync minutes ago, app started minutes ago, level)
    let cases: &[(Option<i64>, i64, Level)] = &[
        (Some(59), 600, Level::Off),
        (Some(60), 600, Level::Off), // exactly an hour: not more
        (Some(61), 600, Level::On),
        (Some(3 * 24 * 60), 5, Level::Off), // away for days, app just opened
        (Some(3 * 24 * 60), 61, Level::On),
        (None, 59, Level::Off), // never synced: counted from the start
        (None, 61, Level::On),
    ];
    for &(ago, started, want) in cases {
        assert_eq!(
            not_synced(ago.map(|a| now - m(a)), now - m(started), now, &t),
            want,
            "synced {ago:?} min ago, started {started} min ago"
        );
    }
}

#[test]
fn thresholds_are_checked() {
    assert_eq!(Thresholds::default().validate(), Ok(()));
    let bad = |f: fn(&mut Thresholds)| {
        let mut t = Thresholds::default();
        f(&mut t);
        t.validate().map_err(|e| e.code())
    };
    assert_eq!(
        bad(|t| t.low_remaining_clear_percent = 20),
        Err("ALERT_WATERMARK_ORDER")
    );
    assert_eq!(
        bad(|t| t.low_remaining_percent = 0),
        Err("ALERT_THRESHOLD_INVALID")
    );
    assert_eq!(
        bad(|t| t.runs_out_days = 366),
        Err("ALERT_THRESHOLD_INVALID")
    );
    assert_eq!(
        bad(|t| t.not_synced_minutes = 4),
        Err("ALERT_THRESHOLD_INVALID")
    );
    assert_eq!(bad(|t| t.lease_minutes = 30), Ok(()));
    // A partial settings file takes the defaults for what it lacks.
    let t: Thresholds = serde_json::from_str(r#"{"runs_out_days": 14}"#).unwrap();
    assert_eq!(t.runs_out_days, 14);
    assert_eq!(t.low_remaining_percent, 20);
}

#[test]
fn kinds_round_trip_and_are_ordered_by_urgency() {
    for (i, k) in AlertKind::ALL.into_iter().enumerate() {
        assert_eq!(k.as_str().parse::<AlertKind>(), Ok(k));
        assert_eq!(usize::from(k.urgency()), i);
        assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
    }
    for a in AlertAction::ALL {
        assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
    }
    assert_eq!(
        "nope".parse::<AlertKind>().map_err(|e| e.code()),
        Err("ALERT_KIND_UNKNOWN")
    );
}
