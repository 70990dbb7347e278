use super::*;

#[test]
fn integer_bounds_take_their_ends_and_refuse_beyond() {
    for b in INT_BOUNDS {
        assert_eq!(b.check(b.min), Ok(b.min), "{}", b.field);
        assert_eq!(b.check(b.max), Ok(b.max), "{}", b.field);
        let over = b.check(b.max + 1).expect_err("over");
        assert_eq!((over.code(), over.field), (b.code, b.field));
        assert!(
            over.to_string()
                .contains(&format!("{} to {}", b.min, b.max)),
            "{over}"
        );
        if b.min > 0 {
            assert!(b.check(b.min - 1).is_err(), "{}", b.field);
        }
        assert!(b.check(u64::MAX).is_err());
        assert!(b.check_i64(-1).is_err());
        assert!(b.check_i64(i64::MIN).is_err());
        assert!(b.max <= u64::from(u32::MAX), "{} fits a u32", b.field);
    }
}

#[test]
fn the_domain_ranges() {
    let cases = [
        (MESSAGES_PER_DAY, 0, 10_000_000),
        (OTA_PER_MONTH, 0, 1_000),
        (OTA_CAP_MB, 1, 10_240),
        (STORAGE_DAYS, 1, 3_650),
        (BATCH_COUNT, 1, 1_000_000),
        (TOPUP, 0, 1_000_000),
    ];
    for (b, min, max) in cases {
        assert_eq!((b.min, b.max), (min, max), "{}", b.field);
    }
}

#[test]
fn validity_is_one_day_to_thirty_years() {
    let cases = [
        (Validity::days(1), true),
        (Validity::years(30), true),
        (Validity::months(360), true),
        (Validity::new(29, 11, 30), true),
        (Validity::days(10_957), true),
        (Validity::years(5), true),
        (Validity::default(), false),
        (Validity::new(30, 0, 1), false),
        (Validity::new(29, 12, 1), false),
        (Validity::days(10_958), false),
        (Validity::months(361), false),
        (Validity::years(10_000), false),
        (Validity::new(u32::MAX, u32::MAX, u32::MAX), false),
    ];
    for (v, ok) in cases {
        let got = validity(&v);
        assert_eq!(got.is_ok(), ok, "{v}");
        if let Err(e) = got {
            assert_eq!(e.code(), "VALIDITY_OUT_OF_RANGE");
            assert!(e.to_string().contains("1 day to 30 years"), "{e}");
        }
    }
}

/// Every validity in bounds ends, from any instant of the years 1970 to
/// 9999 minus 30, inside the years a store reads back.
#[test]
fn a_bounded_validity_always_has_an_expiry() {
    let start = DateTime::parse_from_rfc3339("9969-12-31T23:59:59Z")
        .expect("instant")
        .with_timezone(&Utc);
    for v in [
        Validity::years(30),
        Validity::new(29, 11, 30),
        Validity::days(10_957),
    ] {
        let end = v.expiry_from(start).expect("in range");
        assert!(instant("expires_at", end).is_ok(), "{v}: {end}");
    }
}

#[test]
fn keys_take_a_safe_character_set() {
    let ok = ["p1a2b3", "A-Z_a.z:09", &"k".repeat(64)];
    for s in ok {
        assert_eq!(PRODUCT_KEY.check(s), Ok(s));
    }
    let bad = [
        "",
        "../../etc/passwd",
        "\u{0}",
        "a b",
        "p\u{1F600}",
        "p\u{e9}",
        "p/1",
        &"k".repeat(65),
    ];
    for s in bad {
        let e = PRODUCT_KEY.check(s).expect_err(s);
        assert_eq!(e.code(), "PRODUCT_KEY_INVALID", "{s:?}");
    }
    assert!(DEVICE_KEY.check(&"d".repeat(128)).is_ok());
    assert!(DEVICE_KEY.check(&"d".repeat(129)).is_err());
}

#[test]
fn names_are_one_to_two_hundred_printable_characters() {
    let ok = [
        "Smart meter",
        "  padded  ",
        "\u{1F600} emoji",
        "مرحبا بالعالم",
        "\u{202E}reversed",
        "智能电表",
        &"名".repeat(200),
    ];
    for s in ok {
        assert_eq!(NAME.check(s), Ok(s.trim()), "{s:?}");
    }
    let bad = ["", "   ", "a\u{0}b", "line\nbreak", &"n".repeat(201)];
    for s in bad {
        let e = NAME.check(s).expect_err(s);
        assert_eq!(e.code(), "NAME_INVALID");
        assert!(e.to_string().contains("1 to 200"), "{e}");
    }
    // 100 KB is refused without counting all of it, and shown shortened.
    let huge = "x".repeat(100 * 1024);
    let e = NAME.check(&huge).expect_err("huge");
    assert!(e.to_string().len() < 200, "{e}");
    assert_eq!(
        NAME.named("customer").check("").expect_err("empty").field,
        "customer"
    );
}

#[test]
fn emails_and_instants() {
    assert!(email("b@example.com").is_ok());
    for bad in ["", "no-at", "@x", "x@", "a b@c", "a\u{0}@b"] {
        assert_eq!(
            email(bad).map_err(|e| e.code()),
            Err("EMAIL_INVALID"),
            "{bad:?}"
        );
    }
    let t = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    };
    assert!(instant("at", t("9999-12-31T23:59:59Z")).is_ok());
    assert!(instant("at", t("1970-01-01T00:00:00Z")).is_ok());
    assert_eq!(
        instant("at", t("1969-12-31T23:59:59Z")).map_err(|e| e.code()),
        Err("TIME_OUT_OF_RANGE")
    );
    let far = DateTime::<Utc>::MAX_UTC;
    assert!(instant("at", far).is_err());
}

#[test]
fn top_ups_take_one_of_either() {
    assert!(topup(1, 0).is_ok());
    assert!(topup(0, 1_000_000).is_ok());
    assert!(topup(1_000_000, 1_000_000).is_ok());
    for (o, m) in [(0, 0), (1_000_001, 0), (0, u32::MAX)] {
        assert_eq!(topup(o, m).map_err(|e| e.code()), Err("TOPUP_OUT_OF_RANGE"));
    }
}

#[test]
fn license_terms_are_bounded() {
    let plugins = |n: usize| (0..n).map(|i| format!("plugin-{i}")).collect::<Vec<_>>();
    assert!(license_terms(1, 1_000_000, &plugins(64)).is_ok());
    let code = |c, t, p: &[String]| license_terms(c, t, p).map_err(|e| e.code());
    assert_eq!(code(0, 1, &[]), Err("LICENSE_LIMIT_OUT_OF_RANGE"));
    assert_eq!(code(1, u32::MAX, &[]), Err("LICENSE_LIMIT_OUT_OF_RANGE"));
    assert_eq!(code(1, 1, &plugins(65)), Err("PLUGINS_OUT_OF_RANGE"));
    assert_eq!(
        code(1, 1, &["modbus tcp".to_owned()]),
        Err("PLUGIN_NAME_INVALID")
    );
}
