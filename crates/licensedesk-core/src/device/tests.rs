use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test instant")
        .with_timezone(&Utc)
}

fn period(consumed: &str, expires: &str) -> CodePeriod {
    CodePeriod {
        consumed_at: utc(consumed),
        expires_at: utc(expires),
    }
}

fn active(consumed: &str, expires: &str) -> DeviceCodeState {
    DeviceCodeState::Active {
        consumed_at: utc(consumed),
        expires_at: utc(expires),
    }
}

const FIVE_YEARS: Validity = Validity::years(5);

#[test]
fn decide_connect_table() {
    use ConnectDecision::*;
    #[track_caller]
    fn check(
        state: DeviceCodeState,
        now: &str,
        v: Validity,
        available: u64,
        expected: ConnectDecision,
    ) {
        let got = decide_connect(&state, utc(now), &v, available).expect("decides");
        assert_eq!(got, expected, "{state:?} at {now} with {available} codes");
    }
    let a = active("2026-03-31T10:00:00Z", "2031-03-31T10:00:00Z");
    // First connection consumes a code valid 5 years from now (the documents' example).
    check(
        DeviceCodeState::Inactive,
        "2026-03-31T10:00:00Z",
        FIVE_YEARS,
        3,
        ConsumeFirst {
            period: period("2026-03-31T10:00:00Z", "2031-03-31T10:00:00Z"),
        },
    );
    // Feb 29 + 1 year → Feb 28.
    check(
        DeviceCodeState::Inactive,
        "2028-02-29T12:00:00Z",
        Validity::years(1),
        1,
        ConsumeFirst {
            period: period("2028-02-29T12:00:00Z", "2029-02-28T12:00:00Z"),
        },
    );
    // Reconnecting while active never consumes, whatever the pool holds.
    let still = AlreadyActive {
        expires_at: utc("2031-03-31T10:00:00Z"),
    };
    check(a, "2026-04-01T00:00:00Z", FIVE_YEARS, 3, still.clone());
    check(a, "2031-03-31T09:59:59Z", FIVE_YEARS, 0, still);
    // No assigned code left: refused, stays inactive.
    check(
        DeviceCodeState::Inactive,
        "2026-03-31T10:00:00Z",
        FIVE_YEARS,
        0,
        NoCodes {
            renewed: vec![],
            offline_at: None,
        },
    );
    // Expired and not renewed yet: renewed at the expiry instant, not at `now`.
    check(
        a,
        "2031-04-02T08:00:00Z",
        FIVE_YEARS,
        1,
        Renew {
            periods: vec![period("2031-03-31T10:00:00Z", "2036-03-31T10:00:00Z")],
        },
    );
    // Exactly at expiry the code is expired.
    check(
        a,
        "2031-03-31T10:00:00Z",
        FIVE_YEARS,
        1,
        Renew {
            periods: vec![period("2031-03-31T10:00:00Z", "2036-03-31T10:00:00Z")],
        },
    );
    // Expired, no code: offline since the expiry.
    check(
        a,
        "2031-04-02T08:00:00Z",
        FIVE_YEARS,
        0,
        NoCodes {
            renewed: vec![],
            offline_at: Some(utc("2031-03-31T10:00:00Z")),
        },
    );
}

#[test]
fn decide_renewal_table() {
    use RenewalDecision::*;
    let month = Validity::months(1);
    let a = active("2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z");
    let cases = [
        (DeviceCodeState::Inactive, "2026-03-01T00:00:00Z", 5, NotDue),
        (a, "2026-02-28T09:59:59Z", 5, NotDue),
        // At the expiry instant a new code is consumed; validity from that instant.
        (
            a,
            "2026-02-28T10:00:00Z",
            5,
            Renewed {
                periods: vec![period("2026-02-28T10:00:00Z", "2026-03-28T10:00:00Z")],
            },
        ),
        // Late by two periods: a chain, each from the previous expiry.
        (
            a,
            "2026-04-01T00:00:00Z",
            5,
            Renewed {
                periods: vec![
                    period("2026-02-28T10:00:00Z", "2026-03-28T10:00:00Z"),
                    period("2026-03-28T10:00:00Z", "2026-04-28T10:00:00Z"),
                ],
            },
        ),
        // Only one code for two periods: renewed once, then offline.
        (
            a,
            "2026-04-01T00:00:00Z",
            1,
            WentOffline {
                periods: vec![period("2026-02-28T10:00:00Z", "2026-03-28T10:00:00Z")],
                offline_at: utc("2026-03-28T10:00:00Z"),
            },
        ),
        (
            a,
            "2026-02-28T10:00:00Z",
            0,
            WentOffline {
                periods: vec![],
                offline_at: utc("2026-02-28T10:00:00Z"),
            },
        ),
    ];
    for (state, now, available, expected) in cases {
        let got = decide_renewal(&state, utc(now), &month, available).expect("decides");
        assert_eq!(got, expected, "{state:?} at {now} with {available} codes");
    }
}

#[test]
fn decision_errors() {
    let a = active("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
    let now = utc("2026-06-01T00:00:00Z");
    let cases = [
        (
            DeviceCodeState::Inactive,
            Validity::default(),
            1,
            "VALIDITY_EMPTY",
        ),
        (a, Validity::default(), 1, "VALIDITY_EMPTY"),
        (a, Validity::days(u32::MAX), 1, "VALIDITY_OUT_OF_RANGE"),
    ];
    for (state, v, available, code) in cases {
        let err = decide_connect(&state, now, &v, available).expect_err("refused");
        assert_eq!(err.code(), code, "{state:?} with {v}");
    }
    // A one-day validity lapsed 100 years ago: too long a chain to compute.
    let old = active("1926-01-01T00:00:00Z", "1926-01-02T00:00:00Z");
    let err = decide_renewal(&old, now, &Validity::days(1), u64::MAX).expect_err("backlog");
    assert_eq!(err.code(), "RENEWAL_BACKLOG_TOO_LONG");
    // ... but with few codes it simply goes offline.
    let ok = decide_renewal(&old, now, &Validity::days(1), 3).expect("decides");
    assert!(matches!(ok, RenewalDecision::WentOffline { ref periods, .. } if periods.len() == 3));
}

/// The whole story of domain.md §1 replayed: first connection, reconnects,
/// renewal at expiry, going offline, and consuming again once codes exist.
#[test]
fn lifecycle_story() {
    let v = Validity::years(1);
    let mut state = DeviceCodeState::Inactive;
    let mut pool = 2u64;
    let apply = |state: &mut DeviceCodeState, periods: &[CodePeriod], pool: &mut u64| {
        if let Some(last) = periods.last() {
            *state = DeviceCodeState::Active {
                consumed_at: last.consumed_at,
                expires_at: last.expires_at,
            };
        }
        *pool -= periods.len() as u64;
    };
    // 1. First connection consumes one code.
    match decide_connect(&state, utc("2026-03-31T10:00:00Z"), &v, pool).expect("ok") {
        ConnectDecision::ConsumeFirst { period } => apply(&mut state, &[period], &mut pool),
        other => panic!("{other:?}"),
    }
    assert_eq!(pool, 1);
    // 2. Reconnecting the next day consumes nothing.
    let d = decide_connect(&state, utc("2026-04-01T10:00:00Z"), &v, pool).expect("ok");
    assert!(matches!(d, ConnectDecision::AlreadyActive { .. }));
    // 3. At expiry the job renews from the last code in the pool.
    match decide_renewal(&state, utc("2027-03-31T10:00:00Z"), &v, pool).expect("ok") {
        RenewalDecision::Renewed { periods } => apply(&mut state, &periods, &mut pool),
        other => panic!("{other:?}"),
    }
    assert_eq!(pool, 0);
    // 4. At the next expiry there is none: offline and inactive.
    match decide_renewal(&state, utc("2028-03-31T10:00:00Z"), &v, pool).expect("ok") {
        RenewalDecision::WentOffline {
            periods,
            offline_at,
        } => {
            assert!(periods.is_empty());
            assert_eq!(offline_at, utc("2028-03-31T10:00:00Z"));
            state = DeviceCodeState::Inactive;
        }
        other => panic!("{other:?}"),
    }
    // 5. It cannot connect until codes exist...
    let d = decide_connect(&state, utc("2028-04-05T00:00:00Z"), &v, pool).expect("ok");
    assert!(matches!(d, ConnectDecision::NoCodes { .. }));
    // 6. ...then consumes one at its next connection, valid from then.
    pool += 10;
    match decide_connect(&state, utc("2028-04-06T00:00:00Z"), &v, pool).expect("ok") {
        ConnectDecision::ConsumeFirst { period: p } => {
            assert_eq!(p, period("2028-04-06T00:00:00Z", "2029-04-06T00:00:00Z"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rebased_on_package_upgrade() {
    let a = active("2026-03-31T10:00:00Z", "2027-03-31T10:00:00Z");
    let cases = [
        (
            a,
            Validity::years(5),
            active("2026-03-31T10:00:00Z", "2031-03-31T10:00:00Z"),
        ),
        (
            DeviceCodeState::Inactive,
            Validity::years(5),
            DeviceCodeState::Inactive,
        ),
    ];
    for (state, v, expected) in cases {
        assert_eq!(state.rebased(&v).expect("in range"), expected);
    }
    assert!(a.rebased(&Validity::default()).is_err());
}

#[test]
fn near_expiry_table() {
    let now = "2026-03-01T00:00:00Z";
    let cases = [
        ("2026-03-31T00:00:00Z", NEAR_EXPIRY_DEFAULT_DAYS, true),
        ("2026-03-31T00:00:01Z", NEAR_EXPIRY_DEFAULT_DAYS, false),
        ("2026-03-01T00:00:01Z", NEAR_EXPIRY_DEFAULT_DAYS, true),
        ("2026-03-01T00:00:00Z", NEAR_EXPIRY_DEFAULT_DAYS, false),
        ("2026-02-01T00:00:00Z", NEAR_EXPIRY_DEFAULT_DAYS, false),
        ("2026-03-10T00:00:00Z", 7, false),
        ("2026-03-10T00:00:00Z", 9, true),
        ("9999-12-31T00:00:00Z", u32::MAX, true),
    ];
    for (expires, window, expected) in cases {
        assert_eq!(
            is_near_expiry(utc(expires), utc(now), window),
            expected,
            "{expires} within {window} d"
        );
    }
}

#[test]
fn allocate_renewals_table() {
    let expiring = [
        ("dk-c", utc("2026-05-03T00:00:00Z")),
        ("dk-a", utc("2026-05-01T00:00:00Z")),
        ("dk-b", utc("2026-05-02T00:00:00Z")),
        ("dk-d", utc("2026-05-01T00:00:00Z")),
    ];
    let cases: [(u64, &[&str], &[&str]); 4] = [
        (0, &[], &["dk-a", "dk-d", "dk-b", "dk-c"]),
        (2, &["dk-a", "dk-d"], &["dk-b", "dk-c"]),
        (4, &["dk-a", "dk-d", "dk-b", "dk-c"], &[]),
        (u64::MAX, &["dk-a", "dk-d", "dk-b", "dk-c"], &[]),
    ];
    for (codes, renew, offline) in cases {
        let got = allocate_renewals(&expiring, codes);
        assert_eq!(
            (got.renew.as_slice(), got.offline.as_slice()),
            (renew, offline),
            "{codes} codes"
        );
    }
}

#[test]
fn forecast_offline_table() {
    let f = |expiring, renewed, offline, codes_left| MonthForecast {
        expiring,
        renewed,
        offline,
        codes_left,
    };
    let cases: [(&[u64], u64, Vec<MonthForecast>); 4] = [
        (&[], 10, vec![]),
        (
            &[3, 4, 5],
            20,
            vec![f(3, 3, 0, 17), f(4, 4, 0, 13), f(5, 5, 0, 8)],
        ),
        (
            &[3, 4, 5],
            5,
            vec![f(3, 3, 0, 2), f(4, 2, 2, 0), f(5, 0, 5, 0)],
        ),
        (&[0, 7], 0, vec![f(0, 0, 0, 0), f(7, 0, 7, 0)]),
    ];
    for (months, codes, expected) in cases {
        assert_eq!(
            forecast_offline(months, codes),
            expected,
            "{months:?} with {codes}"
        );
    }
}

#[test]
fn serde_shapes() {
    let a = active("2026-03-31T10:00:00Z", "2031-03-31T10:00:00Z");
    let json = serde_json::to_value(a).expect("ser");
    assert_eq!(
        json,
        serde_json::json!({
            "status": "active",
            "consumed_at": "2026-03-31T10:00:00Z",
            "expires_at": "2031-03-31T10:00:00Z"
        })
    );
    assert_eq!(
        serde_json::from_value::<DeviceCodeState>(json).expect("de"),
        a
    );
    let inactive = serde_json::to_value(DeviceCodeState::Inactive).expect("ser");
    assert_eq!(inactive, serde_json::json!({"status": "inactive"}));
}

proptest::proptest! {
    #[test]
    fn allocation_partitions_and_forecast_conserves(
        counts in proptest::collection::vec(0u64..50, 0..24), codes in 0u64..500,
    ) {
        let months = forecast_offline(&counts, codes);
        let expiring: u64 = counts.iter().sum();
        let renewed: u64 = months.iter().map(|m| m.renewed).sum();
        let offline: u64 = months.iter().map(|m| m.offline).sum();
        proptest::prop_assert_eq!(renewed + offline, expiring);
        proptest::prop_assert_eq!(renewed, expiring.min(codes));
        // Nobody goes offline while codes are left.
        for m in &months {
            proptest::prop_assert!(m.offline == 0 || m.codes_left == 0);
        }
        let devices: Vec<(usize, DateTime<Utc>)> = counts
            .iter()
            .enumerate()
            .map(|(i, c)| (i, DateTime::<Utc>::from_timestamp(*c as i64 * 86_400, 0).expect("ok")))
            .collect();
        let alloc = allocate_renewals(&devices, codes);
        proptest::prop_assert_eq!(alloc.renew.len() + alloc.offline.len(), devices.len());
        proptest::prop_assert_eq!(alloc.renew.len() as u64, (devices.len() as u64).min(codes));
    }
}
