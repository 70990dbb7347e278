use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test instant")
        .with_timezone(&Utc)
}

#[test]
fn message_window_table() {
    #[track_caller]
    fn check(now: &str, tz: Tz, start: &str, end: &str, hours: i64) {
        let w = message_window(utc(now), tz).expect("in range");
        assert_eq!((w.start, w.end), (utc(start), utc(end)), "{now} in {tz}");
        assert_eq!(w.duration(), TimeDelta::hours(hours), "{now} in {tz}");
        assert!(w.contains(utc(now)));
    }
    use chrono_tz::{America, Asia, Australia, Europe, UTC};
    // Asia/Shanghai: UTC+8 all year; 01:00Z is already the next local day.
    check(
        "2026-03-31T10:00:00Z",
        Asia::Shanghai,
        "2026-03-30T16:00:00Z",
        "2026-03-31T16:00:00Z",
        24,
    );
    check(
        "2026-03-31T16:00:00Z",
        Asia::Shanghai,
        "2026-03-31T16:00:00Z",
        "2026-04-01T16:00:00Z",
        24,
    );
    check(
        "2026-03-31T15:59:59Z",
        Asia::Shanghai,
        "2026-03-30T16:00:00Z",
        "2026-03-31T16:00:00Z",
        24,
    );
    // Europe/Berlin spring forward on 2026-03-29: a 23-hour day.
    check(
        "2026-03-29T12:00:00Z",
        Europe::Berlin,
        "2026-03-28T23:00:00Z",
        "2026-03-29T22:00:00Z",
        23,
    );
    // Europe/Berlin fall back on 2026-10-25: a 25-hour day.
    check(
        "2026-10-25T12:00:00Z",
        Europe::Berlin,
        "2026-10-24T22:00:00Z",
        "2026-10-25T23:00:00Z",
        25,
    );
    // US west: spring forward 2026-03-08.
    check(
        "2026-03-08T20:00:00Z",
        America::Los_Angeles,
        "2026-03-08T08:00:00Z",
        "2026-03-09T07:00:00Z",
        23,
    );
    // Midnight skipped: Santiago springs forward at 24:00 on 2026-09-05,
    // so 2026-09-06 starts at 01:00 local (-03) = 04:00Z.
    check(
        "2026-09-06T12:00:00Z",
        America::Santiago,
        "2026-09-06T04:00:00Z",
        "2026-09-07T03:00:00Z",
        23,
    );
    // Havana falls back at 01:00 to 00:00 on 2026-11-01: midnight happens
    // twice and the day starts at the first one (-04), 25 hours long.
    check(
        "2026-11-01T12:00:00Z",
        America::Havana,
        "2026-11-01T04:00:00Z",
        "2026-11-02T05:00:00Z",
        25,
    );
    // Havana springs forward at midnight on 2026-03-08: the day starts at
    // 01:00 local (-04).
    check(
        "2026-03-08T12:00:00Z",
        America::Havana,
        "2026-03-08T05:00:00Z",
        "2026-03-09T04:00:00Z",
        23,
    );
    // Half-hour DST (Lord Howe): a 23.5-hour day.
    let w = message_window(utc("2026-10-04T12:00:00Z"), Australia::Lord_Howe).expect("in range");
    assert_eq!(w.duration(), TimeDelta::minutes(23 * 60 + 30));
    check(
        "2026-03-31T00:00:00Z",
        UTC,
        "2026-03-31T00:00:00Z",
        "2026-04-01T00:00:00Z",
        24,
    );
}

#[test]
fn ota_window_and_billing_table() {
    use chrono_tz::{Asia, Europe};
    let cases = [
        // Berlin March 2026 contains the spring-forward day.
        (
            "2026-03-15T12:00:00Z",
            Europe::Berlin,
            "2026-02-28T23:00:00Z",
            "2026-03-31T22:00:00Z",
        ),
        // 2026-03-31T22:30Z is already April 1st in Berlin (CEST).
        (
            "2026-03-31T22:30:00Z",
            Europe::Berlin,
            "2026-03-31T22:00:00Z",
            "2026-04-30T22:00:00Z",
        ),
        // Shanghai: the local month starts 8 hours before the UTC one.
        (
            "2026-01-31T16:00:00Z",
            Asia::Shanghai,
            "2026-01-31T16:00:00Z",
            "2026-02-28T16:00:00Z",
        ),
        (
            "2026-12-31T15:00:00Z",
            Asia::Shanghai,
            "2026-11-30T16:00:00Z",
            "2026-12-31T16:00:00Z",
        ),
    ];
    for (now, tz, start, end) in cases {
        let w = ota_window(utc(now), tz).expect("in range");
        assert_eq!((w.start, w.end), (utc(start), utc(end)), "{now} in {tz}");
        assert!(w.contains(utc(now)));
        let billed = overage_billing_instant(utc(now), tz).expect("in range");
        assert_eq!(billed, utc(end), "billing of {now} in {tz}");
    }
}

#[test]
fn windows_at_calendar_edges_do_not_panic() {
    for tz in [chrono_tz::Asia::Shanghai, chrono_tz::America::Los_Angeles] {
        for t in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC] {
            for r in [message_window(t, tz), ota_window(t, tz)] {
                if let Err(e) = r {
                    assert_eq!(e.code(), "TIME_OUT_OF_RANGE");
                }
            }
        }
    }
    let err = message_window(DateTime::<Utc>::MAX_UTC, chrono_tz::Asia::Shanghai);
    assert!(err.is_err());
}

#[test]
fn decide_message_table() {
    let reset = utc("2026-04-01T16:00:00Z");
    use MessageDecision::*;
    use OveragePolicy::*;
    let cases = [
        // (used_today, limit, policy, count, expected)
        (0, 1500, Block, 1, Allowed),
        (1499, 1500, Block, 1, Allowed),
        (
            1500,
            1500,
            Block,
            1,
            Refused {
                until: reset,
                remaining: 0,
            },
        ),
        (
            1499,
            1500,
            Block,
            2,
            Refused {
                until: reset,
                remaining: 1,
            },
        ),
        (
            1600,
            1500,
            Block,
            1,
            Refused {
                until: reset,
                remaining: 0,
            },
        ),
        (1499, 1500, Bill, 1, Allowed),
        (1500, 1500, Bill, 1, AllowedWithOverage { overage: 1 }),
        (1499, 1500, Bill, 3, AllowedWithOverage { overage: 2 }),
        (1600, 1500, Bill, 5, AllowedWithOverage { overage: 5 }),
        (0, 0, Bill, 1, AllowedWithOverage { overage: 1 }),
        (5, 1500, Block, 0, Allowed),
        // Asking for nothing is always allowed, even over the limit.
        (1600, 1500, Block, 0, Allowed),
        (1600, 1500, Bill, 0, Allowed),
        (u64::MAX, 1500, Bill, 1, AllowedWithOverage { overage: 1 }),
    ];
    for (used, limit, policy, count, expected) in cases {
        assert_eq!(
            decide_message(used, limit, policy, count, reset),
            expected,
            "used {used}/{limit}, {policy:?}, +{count}"
        );
    }
}

#[test]
fn decide_ota_table() {
    use OtaDecision::*;
    use OveragePolicy::*;
    let cases = [
        // (cost, used, per_month, topups, policy, expected)
        // The documents' 6 MB image with a 5 MB cap costs 2 attempts:
        // 1 from the allowance, 1 top-up needed.
        (2, 0, 1, 0, Block, Refused { needs_topups: 1 }),
        (
            2,
            0,
            1,
            1,
            Block,
            Allowed {
                from_allowance: 1,
                topups_used: 1,
            },
        ),
        (
            2,
            0,
            1,
            5,
            Block,
            Allowed {
                from_allowance: 1,
                topups_used: 1,
            },
        ),
        (
            1,
            0,
            1,
            0,
            Block,
            Allowed {
                from_allowance: 1,
                topups_used: 0,
            },
        ),
        (1, 1, 1, 0, Block, Refused { needs_topups: 1 }),
        (3, 1, 1, 1, Block, Refused { needs_topups: 2 }),
        (
            3,
            5,
            1,
            3,
            Block,
            Allowed {
                from_allowance: 0,
                topups_used: 3,
            },
        ),
        (
            2,
            0,
            1,
            0,
            Bill,
            AllowedWithOverage {
                from_allowance: 1,
                overage: 1,
            },
        ),
        (
            2,
            0,
            1,
            9,
            Bill,
            AllowedWithOverage {
                from_allowance: 1,
                overage: 1,
            },
        ),
        (
            1,
            0,
            2,
            0,
            Bill,
            Allowed {
                from_allowance: 1,
                topups_used: 0,
            },
        ),
        (
            u32::MAX,
            0,
            0,
            0,
            Bill,
            AllowedWithOverage {
                from_allowance: 0,
                overage: u32::MAX,
            },
        ),
    ];
    for (cost, used, per_month, topups, policy, expected) in cases {
        assert_eq!(
            decide_ota(cost, used, per_month, topups, policy),
            expected,
            "cost {cost}, used {used}/{per_month}, topups {topups}, {policy:?}"
        );
    }
}

#[test]
fn bill_overage_table() {
    let cases = [
        (0, 0, 0, 0),
        (10, 0, 10, 0),
        (10, 4, 6, 4),
        (10, 10, 0, 10),
        (10, 25, 0, 10),
        (0, 25, 0, 0),
    ];
    for (overage, topups, billed, topups_used) in cases {
        assert_eq!(
            bill_overage(overage, topups),
            OverageBill {
                billed,
                topups_used
            },
            "overage {overage}, topups {topups}"
        );
    }
}

#[test]
fn overage_policy_serde() {
    assert_eq!(OveragePolicy::default(), OveragePolicy::Block);
    let json = serde_json::to_string(&[OveragePolicy::Block, OveragePolicy::Bill]).expect("ser");
    assert_eq!(json, r#"["block","bill"]"#);
    assert!(serde_json::from_str::<OveragePolicy>(r#""Block""#).is_err());
    let d = serde_json::to_value(MessageDecision::AllowedWithOverage { overage: 2 }).expect("ser");
    assert_eq!(
        d,
        serde_json::json!({"decision": "allowed_with_overage", "overage": 2})
    );
}

proptest::proptest! {
    #[test]
    fn windows_contain_now_and_are_contiguous(secs in 0i64..4_102_444_800, tz_ix in 0usize..5) {
        let tzs = [
            chrono_tz::Europe::Berlin, chrono_tz::Asia::Shanghai,
            chrono_tz::America::Santiago, chrono_tz::Australia::Lord_Howe,
            chrono_tz::America::Los_Angeles,
        ];
        let tz = tzs[tz_ix];
        let now = DateTime::<Utc>::from_timestamp(secs, 0).expect("in range");
        let day = message_window(now, tz).expect("in range");
        proptest::prop_assert!(day.contains(now));
        proptest::prop_assert!(day.duration() >= TimeDelta::hours(22));
        proptest::prop_assert!(day.duration() <= TimeDelta::hours(26));
        let next = message_window(day.end, tz).expect("in range");
        proptest::prop_assert_eq!(next.start, day.end);
        let month = ota_window(now, tz).expect("in range");
        proptest::prop_assert!(month.contains(now));
        proptest::prop_assert!(month.start <= day.start && day.end <= month.end);
    }

    #[test]
    fn message_overage_never_exceeds_count(used in 0u64..5000, limit in 0u32..3000, count in 0u64..100) {
        let reset = DateTime::<Utc>::MIN_UTC;
        match decide_message(used, limit, OveragePolicy::Bill, count, reset) {
            MessageDecision::Allowed => {
                proptest::prop_assert!(count == 0 || used + count <= u64::from(limit));
            }
            MessageDecision::AllowedWithOverage { overage } => {
                proptest::prop_assert!(overage >= 1 && overage <= count);
                proptest::prop_assert_eq!(used + count - overage, (used).max(u64::from(limit)).min(used + count));
            }
            MessageDecision::Refused { .. } => proptest::prop_assert!(false, "bill never refuses"),
        }
    }
}
