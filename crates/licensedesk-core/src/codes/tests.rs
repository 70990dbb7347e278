use super::*;
use crate::validity::Validity;

fn reference_package() -> Package {
    Package {
        validity: Validity::years(5),
        messages_per_day: 1500,
        ota_per_month: 1,
        ota_cap_mb: 5,
        storage_days: 7,
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test instant")
        .with_timezone(&Utc)
}

/// (total, used, remaining)
type Triple = (u64, u64, u64);
/// Expected outcome: a value or an error code.
type Outcome<T> = Result<T, &'static str>;

fn triple(c: &Counters) -> Triple {
    (c.total(), c.used(), c.remaining())
}

#[test]
fn counters_constructors_table() {
    let new_cases: [(u64, u64, Outcome<Triple>); 4] = [
        (0, 0, Ok((0, 0, 0))),
        (3, 7, Ok((10, 3, 7))),
        (u64::MAX, 0, Ok((u64::MAX, u64::MAX, 0))),
        (u64::MAX, 1, Err("COUNTERS_OVERFLOW")),
    ];
    for (used, remaining, expected) in new_cases {
        let got = Counters::new(used, remaining).map(|c| triple(&c));
        assert_eq!(
            got.map_err(|e| e.code()),
            expected,
            "new({used}, {remaining})"
        );
    }
    let parts_cases: [(Triple, Option<&str>); 4] = [
        ((10, 3, 7), None),
        ((0, 0, 0), None),
        ((10, 3, 6), Some("COUNTERS_INCONSISTENT")),
        ((0, u64::MAX, 1), Some("COUNTERS_INCONSISTENT")),
    ];
    for ((t, u, r), err) in parts_cases {
        let got = Counters::from_parts(t, u, r);
        assert_eq!(
            got.err().map(|e| e.code()),
            err,
            "from_parts({t}, {u}, {r})"
        );
    }
}

#[test]
fn counters_operations_table() {
    // (start used, start remaining, operation, expected triple or error)
    enum Op {
        Consume,
        Credit(u64),
    }
    let cases = [
        ((0, 1), Op::Consume, Ok((1, 1, 0))),
        ((4, 6), Op::Consume, Ok((10, 5, 5))),
        ((5, 0), Op::Consume, Err("NO_CODES_AVAILABLE")),
        ((0, 0), Op::Credit(10), Ok((10, 0, 10))),
        ((5, 0), Op::Credit(5), Ok((10, 5, 5))),
        ((5, 0), Op::Credit(0), Ok((5, 5, 0))),
        ((1, 0), Op::Credit(u64::MAX), Err("COUNTERS_OVERFLOW")),
    ];
    for ((used, remaining), op, expected) in cases {
        let mut c = Counters::new(used, remaining).expect("valid start");
        let before = c;
        let result = match op {
            Op::Consume => c.consume(),
            Op::Credit(n) => c.credit(n),
        };
        match (result, expected) {
            (Ok(()), Ok(t)) => assert_eq!(triple(&c), t),
            (Err(e), Err(code)) => {
                assert_eq!(e.code(), code);
                assert_eq!(c, before, "a failed operation changes nothing");
            }
            (got, want) => panic!("({used}, {remaining}): got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn counters_serde_refuses_broken_invariant() {
    let c = Counters::new(3, 7).expect("valid");
    let json = serde_json::to_value(c).expect("ser");
    assert_eq!(
        json,
        serde_json::json!({"total": 10, "used": 3, "remaining": 7})
    );
    assert_eq!(serde_json::from_value::<Counters>(json).expect("de"), c);
    let bad = serde_json::json!({"total": 11, "used": 3, "remaining": 7});
    let err = serde_json::from_value::<Counters>(bad).expect_err("inconsistent");
    assert!(err.to_string().contains("total 11"), "{err}");
}

#[test]
fn account_and_product_remaining() {
    // Enterprise account: 10 free codes, 4 assigned to product A (1 consumed),
    // plus a batch of 100 bought for product B (30 consumed).
    let a = Counters::new(1, 3).expect("valid");
    let b = Counters::new(30, 70).expect("valid");
    let cases: [(u64, Vec<Counters>, Triple); 4] = [
        (10, vec![], (10, 0, 10)),
        (6, vec![a], (10, 1, 9)),
        (6, vec![a, b], (110, 31, 79)),
        (0, vec![b], (100, 30, 70)),
    ];
    for (unassigned, products, expected) in cases {
        let got = account_counters(unassigned, &products).expect("fits");
        assert_eq!(triple(&got), expected, "unassigned {unassigned}");
    }
    // A product card's Remaining is its assigned-but-unconsumed codes.
    assert_eq!(a.remaining(), 3);
    let huge = Counters::new(0, u64::MAX).expect("valid");
    let err = account_counters(1, [&huge]).expect_err("overflow");
    assert_eq!(err.code(), "COUNTERS_OVERFLOW");
}

#[test]
fn counter_labels_and_synonyms() {
    let c = Counters::new(3, 7).expect("valid");
    let cases = [
        ("Total", Some((CounterField::Total, 10))),
        ("used", Some((CounterField::Used, 3))),
        (" Consumed ", Some((CounterField::Used, 3))),
        ("REMAINING", Some((CounterField::Remaining, 7))),
        ("Available", Some((CounterField::Remaining, 7))),
        ("free", None),
        ("", None),
    ];
    for (label, expected) in cases {
        let got = CounterField::from_label(label).map(|f| (f, f.of(&c)));
        assert_eq!(got, expected, "{label:?}");
    }
    for f in [
        CounterField::Total,
        CounterField::Used,
        CounterField::Remaining,
    ] {
        assert_eq!(CounterField::from_label(f.label()), Some(f));
    }
}

#[test]
fn status_filter_words_and_synonyms() {
    use CodeStatus::{Active, Expired, Unused};
    let consumed = Some(StatusFilter::Consumed);
    let cases = [
        ("unused", Some(StatusFilter::Is(Unused))),
        (" Active ", Some(StatusFilter::Is(Active))),
        ("EXPIRED", Some(StatusFilter::Is(Expired))),
        ("remaining", Some(StatusFilter::Is(Unused))),
        ("Available", Some(StatusFilter::Is(Unused))),
        ("used", consumed),
        ("CONSUMED", consumed),
        ("total", None),
        ("weird", None),
        ("", None),
    ];
    for (label, expected) in cases {
        assert_eq!(StatusFilter::parse(label).ok(), expected, "{label:?}");
    }
    // The words the refusal lists are exactly those taken.
    let words: Vec<_> = StatusFilter::words().collect();
    assert_eq!(
        words,
        [
            "unused",
            "active",
            "expired",
            "used",
            "consumed",
            "remaining",
            "available"
        ]
    );
    let refused = StatusFilter::parse("Total").expect_err("no filter");
    assert_eq!(
        refused.to_string(),
        "status \"Total\": use one of unused, active, expired, used, consumed, remaining, available (any case)"
    );
}

#[test]
fn check_assign_table() {
    let cases: [(u64, u64, Result<u64, &str>); 5] = [
        (1, 5, Ok(1)),
        (5, 5, Ok(5)),
        (0, 5, Err("ASSIGN_COUNT_INVALID")),
        (6, 5, Err("ASSIGN_COUNT_EXCEEDS_AVAILABLE")),
        (1, 0, Err("ASSIGN_COUNT_EXCEEDS_AVAILABLE")),
    ];
    for (requested, available, expected) in cases {
        let got = check_assign(requested, available).map_err(|e| e.code());
        assert_eq!(got, expected, "assign {requested} of {available}");
    }
    let msg = check_assign(6, 5).expect_err("too many").to_string();
    assert!(msg.contains('6') && msg.contains("only 5"), "{msg}");
}

#[test]
fn check_batch_table() {
    let product = reference_package();
    let mut same_by_meaning = product.clone();
    same_by_meaning.validity = Validity::months(60);
    let mut bigger = product.clone();
    bigger.messages_per_day = 3000;
    let mut broken = product.clone();
    broken.ota_cap_mb = 0;
    let cases: [(Option<&Package>, &Package, u64, Outcome<BatchEffect>); 7] = [
        (None, &product, 100, Ok(BatchEffect::SetsProductPackage)),
        (
            Some(&product),
            &product,
            100,
            Ok(BatchEffect::MatchesProductPackage),
        ),
        (
            Some(&product),
            &same_by_meaning,
            1,
            Ok(BatchEffect::MatchesProductPackage),
        ),
        (Some(&product), &bigger, 100, Err("PACKAGE_MISMATCH")),
        (Some(&product), &product, 0, Err("BATCH_COUNT_INVALID")),
        (None, &broken, 10, Err("OTA_CAP_OUT_OF_RANGE")),
        (None, &product, 1_000_001, Err("BATCH_COUNT_INVALID")),
    ];
    for (current, batch, count, expected) in cases {
        let got = check_batch(current, batch, count).map_err(|e| e.code());
        assert_eq!(got, expected, "{current:?} ← {}", batch.summary());
    }
}

#[test]
fn package_mismatch_names_both_packages() {
    let product = reference_package();
    let mut batch = product.clone();
    batch.validity = Validity::years(3);
    let err = check_batch(Some(&product), &batch, 10).expect_err("mismatch");
    assert_eq!(
        err,
        CodesError::PackageMismatch {
            product: "5 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d".to_owned(),
            batch: "3 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d".to_owned(),
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("(5 y · 1500") && msg.contains("(3 y · 1500"),
        "{msg}"
    );
}

#[test]
fn code_status_table() {
    let consumed = Some(utc("2026-03-31T10:00:00Z"));
    let expiry = Some(utc("2031-03-31T10:00:00Z"));
    let cases = [
        (None, None, "2026-04-01T00:00:00Z", CodeStatus::Unused),
        (consumed, expiry, "2026-04-01T00:00:00Z", CodeStatus::Active),
        (consumed, expiry, "2031-03-31T09:59:59Z", CodeStatus::Active),
        (
            consumed,
            expiry,
            "2031-03-31T10:00:00Z",
            CodeStatus::Expired,
        ),
        (consumed, None, "2040-01-01T00:00:00Z", CodeStatus::Active),
    ];
    for (c, e, now, expected) in cases {
        assert_eq!(code_status(c, e, utc(now)), expected, "at {now}");
    }
    let json = serde_json::to_string(&CodeStatus::Expired).expect("ser");
    assert_eq!(json, r#""expired""#);
}

#[derive(Debug, Clone)]
enum Step {
    Consume,
    Credit(u64),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![Just(Step::Consume), (0u64..20).prop_map(Step::Credit)]
}

proptest::proptest! {
    #[test]
    fn counters_invariant_holds(
        used in 0u64..100, remaining in 0u64..100,
        steps in proptest::collection::vec(step(), 0..200),
    ) {
        let mut c = Counters::new(used, remaining).expect("valid");
        let (mut credited, mut consumed) = (0u64, 0u64);
        for s in steps {
            let before = c;
            let ok = match s {
                Step::Consume => c.consume().is_ok(),
                Step::Credit(n) => c.credit(n).map(|()| credited += n).is_ok(),
            };
            if matches!(s, Step::Consume) {
                proptest::prop_assert_eq!(ok, before.remaining() > 0);
                if ok { consumed += 1; }
            }
            proptest::prop_assert_eq!(c.total(), c.used() + c.remaining());
            proptest::prop_assert!(c.used() >= before.used());
            proptest::prop_assert!(c.total() >= before.total());
        }
        proptest::prop_assert_eq!(c.total(), used + remaining + credited);
        proptest::prop_assert_eq!(c.used(), used + consumed);
        let round: Counters = serde_json::from_value(serde_json::to_value(c).expect("ser")).expect("de");
        proptest::prop_assert_eq!(round, c);
    }
}
