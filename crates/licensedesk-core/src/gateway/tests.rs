use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test instant")
        .with_timezone(&Utc)
}

fn terms(hardware: Option<&str>) -> LicenseTerms {
    LicenseTerms {
        kind: LicenseKind::File,
        issued_at: utc("2026-01-01T00:00:00Z"),
        expire_at: utc("2027-01-01T00:00:00Z"),
        limits: Limits {
            max_connections: 100,
            max_tags: 5000,
        },
        plugins: vec!["modbus-tcp".to_owned(), "opc-ua".to_owned()],
        hardware: hardware.map(str::to_owned),
    }
}

#[test]
fn trial_is_thirty_points() {
    // "a trial license that provides 30 points (30 connections and 30 data tags)"
    assert_eq!(
        TRIAL_LIMITS,
        Limits {
            max_connections: 30,
            max_tags: 30
        }
    );
}

#[test]
fn effective_license_table() {
    let bound = terms(Some("hw-gw1"));
    let unbound = terms(None);
    let licensed = |t: &LicenseTerms| EffectiveLicense::Licensed { terms: t.clone() };
    let trial = |reason| EffectiveLicense::Trial {
        reason,
        limits: TRIAL_LIMITS,
    };
    let cases = [
        (
            None,
            "hw-gw1",
            "2026-06-01T00:00:00Z",
            trial(TrialReason::NoneInstalled),
        ),
        (
            Some(&bound),
            "hw-gw1",
            "2026-06-01T00:00:00Z",
            licensed(&bound),
        ),
        (
            Some(&unbound),
            "hw-any",
            "2026-06-01T00:00:00Z",
            licensed(&unbound),
        ),
        // Valid from the issue instant, up to (not including) the expiry.
        (
            Some(&bound),
            "hw-gw1",
            "2026-01-01T00:00:00Z",
            licensed(&bound),
        ),
        (
            Some(&bound),
            "hw-gw1",
            "2026-12-31T23:59:59Z",
            licensed(&bound),
        ),
        (
            Some(&bound),
            "hw-gw1",
            "2027-01-01T00:00:00Z",
            trial(TrialReason::Expired {
                at: utc("2027-01-01T00:00:00Z"),
            }),
        ),
        // Issued a little ahead of this clock: tolerated skew.
        (
            Some(&bound),
            "hw-gw1",
            "2025-12-31T23:56:00Z",
            licensed(&bound),
        ),
        (
            Some(&bound),
            "hw-gw1",
            "2025-12-31T23:54:59Z",
            trial(TrialReason::NotYetValid {
                from: utc("2026-01-01T00:00:00Z"),
            }),
        ),
        (
            Some(&bound),
            "hw-other",
            "2026-06-01T00:00:00Z",
            trial(TrialReason::HardwareMismatch {
                bound: "hw-gw1".to_owned(),
                actual: "hw-other".to_owned(),
            }),
        ),
    ];
    for (installed, hw, now, expected) in cases {
        let got = effective_license(installed, hw, utc(now));
        assert_eq!(got, expected, "{hw} at {now}");
    }
}

#[test]
fn effective_license_accessors() {
    let t = terms(None);
    let now = utc("2026-06-01T00:00:00Z");
    let licensed = effective_license(Some(&t), "hw", now);
    assert_eq!(licensed.limits(), t.limits);
    assert_eq!(licensed.kind(), LicenseKind::File);
    assert!(licensed.has_plugin("opc-ua"));
    // An expired license falls back to the trial: trial limits, no plugins.
    let expired = effective_license(Some(&t), "hw", utc("2030-01-01T00:00:00Z"));
    assert_eq!(expired.limits(), TRIAL_LIMITS);
    assert_eq!(expired.kind(), LicenseKind::Trial);
    assert!(expired.plugins().is_empty() && !expired.has_plugin("opc-ua"));
    // Extreme clocks do not panic.
    let _ = effective_license(Some(&t), "hw", DateTime::<Utc>::MAX_UTC);
    let _ = effective_license(Some(&t), "hw", DateTime::<Utc>::MIN_UTC);
}

#[test]
fn effective_license_serde() {
    let json = serde_json::to_value(effective_license(None, "hw", utc("2026-06-01T00:00:00Z")))
        .expect("ser");
    assert_eq!(
        json,
        serde_json::json!({
            "mode": "trial",
            "reason": {"reason": "none_installed"},
            "limits": {"max_connections": 30, "max_tags": 30}
        })
    );
    let t = terms(Some("hw"));
    let licensed = EffectiveLicense::Licensed { terms: t };
    let back: EffectiveLicense =
        serde_json::from_value(serde_json::to_value(&licensed).expect("ser")).expect("de");
    assert_eq!(back, licensed);
}

#[test]
fn usage_table() {
    // (in_use, max, percent, over_limit, available)
    let cases = [
        (0, 30, Some(0), false, 30),
        (12, 30, Some(40), false, 18),
        (29, 30, Some(96), false, 1),
        (30, 30, Some(100), false, 0),
        (45, 30, Some(150), true, 0),
        (0, 0, None, false, 0),
        (3, 0, None, true, 0),
        (u32::MAX, 1, Some(u32::MAX), true, 0),
    ];
    for (in_use, max, percent, over, available) in cases {
        let u = Usage::new(in_use, max);
        assert_eq!(
            (u.percent(), u.over_limit(), u.available()),
            (percent, over, available),
            "{in_use}/{max}"
        );
    }
    let json = serde_json::to_value(Usage::new(12, 30)).expect("ser");
    assert_eq!(
        json,
        serde_json::json!({"in_use": 12, "max": 30, "percent": 40, "over_limit": false})
    );
    let back: Usage = serde_json::from_value(json).expect("de");
    assert_eq!(back, Usage::new(12, 30));
    let usage = license_usage(
        &TRIAL_LIMITS,
        &InUse {
            connections: 31,
            tags: 3,
        },
    );
    assert!(usage.connections.over_limit() && !usage.tags.over_limit());
}

#[test]
fn check_new_limits_table() {
    let in_use = InUse {
        connections: 20,
        tags: 400,
    };
    let limits = |c, t| Limits {
        max_connections: c,
        max_tags: t,
    };
    let below = |resource, limit, in_use| {
        Err(GatewayError::LimitBelowUsage {
            resource,
            limit,
            in_use,
        })
    };
    let cases = [
        (limits(20, 400), Ok(())),
        (limits(100, 5000), Ok(())),
        (limits(19, 400), below(Resource::Connections, 19, 20)),
        (limits(20, 30), below(Resource::Tags, 30, 400)),
        (limits(0, 0), below(Resource::Connections, 0, 20)),
    ];
    for (new, expected) in cases {
        assert_eq!(check_new_limits(&new, &in_use), expected, "{new:?}");
    }
    let err = check_new_limits(&limits(20, 30), &in_use).expect_err("below");
    assert_eq!(err.code(), "LIMIT_BELOW_USAGE");
    let msg = err.to_string();
    assert!(
        msg.contains("data tags to 30") && msg.contains("400 are in use"),
        "{msg}"
    );
}

#[test]
fn check_add_table() {
    let in_use = InUse {
        connections: 29,
        tags: 30,
    };
    let cases = [
        (Resource::Connections, 1, None),
        (Resource::Connections, 2, Some("LIMIT_REACHED")),
        (Resource::Tags, 0, None),
        (Resource::Tags, 1, Some("LIMIT_REACHED")),
        (Resource::Tags, u32::MAX, Some("LIMIT_REACHED")),
    ];
    for (resource, n, code) in cases {
        let got = check_add(&TRIAL_LIMITS, &in_use, resource, n).err();
        assert_eq!(got.as_ref().map(Coded::code), code, "{resource:?} +{n}");
    }
    let msg = check_add(&TRIAL_LIMITS, &in_use, Resource::Tags, 1)
        .expect_err("full")
        .to_string();
    assert!(msg.contains("30 of 30"), "{msg}");
}

#[test]
fn terms_from_license_payload() {
    let payload = LicensePayload {
        license_id: "lic-1".to_owned(),
        kind: LicenseKind::Activation,
        customer: "ACME".to_owned(),
        issued_at: utc("2026-01-01T00:00:00Z"),
        expire_at: utc("2027-01-01T00:00:00Z"),
        max_connections: 100,
        max_tags: 5000,
        plugins: vec!["modbus-tcp".to_owned(), "opc-ua".to_owned()],
        hardware: Some("hw-gw1".to_owned()),
        product: None,
        order: Some("ORD-1".to_owned()),
    };
    let mut expected = terms(Some("hw-gw1"));
    expected.kind = LicenseKind::Activation;
    assert_eq!(LicenseTerms::from(&payload), expected);
}

#[test]
fn install_source_round_trips_every_name() {
    let names = ["file", "activation", "offline", "field"];
    assert_eq!(InstallSource::ALL.map(InstallSource::as_str), names);
    for source in InstallSource::ALL {
        let name = source.as_str();
        assert_eq!(InstallSource::parse(name), Ok(source), "{name}");
        assert_eq!(name.parse::<InstallSource>(), Ok(source), "{name}");
        assert_eq!(source.to_string(), name);
        // The wire form is the same string, in JSON both ways.
        let json = serde_json::to_string(&source).expect("serialise");
        assert_eq!(json, format!("\"{name}\""));
        let back: InstallSource = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, source);
    }
}

#[test]
fn install_source_rejects_unknown_names() {
    for name in [
        "", "pigeon", "File", "FIELD", " file", "file ", "floating", "trial",
    ] {
        let err = InstallSource::parse(name).expect_err(name);
        assert_eq!(err.code(), "INSTALL_SOURCE_UNKNOWN", "{name:?}");
        assert_eq!(err.found, name);
        assert!(
            err.to_string()
                .contains("use one of file, activation, offline, field"),
            "{err}"
        );
        assert!(
            serde_json::from_str::<InstallSource>(&format!("{name:?}")).is_err(),
            "{name:?}"
        );
    }
    let long = "x".repeat(1000);
    assert_eq!(
        InstallSource::parse(&long).expect_err("long").found.len(),
        64
    );
}

#[test]
fn license_kind_round_trips_every_name() {
    let names = ["trial", "file", "activation", "floating"];
    assert_eq!(LicenseKind::ALL.map(LicenseKind::as_str), names);
    for kind in LicenseKind::ALL {
        let name = kind.as_str();
        assert_eq!(LicenseKind::parse(name), Ok(kind), "{name}");
        assert_eq!(name.parse::<LicenseKind>(), Ok(kind), "{name}");
        assert_eq!(kind.to_string(), name);
        // The wire form is the same string, in JSON both ways.
        let json = serde_json::to_string(&kind).expect("serialise");
        assert_eq!(json, format!("\"{name}\""));
        let back: LicenseKind = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, kind);
    }
}

#[test]
fn license_kind_rejects_unknown_names() {
    for name in [
        "", "paper", "Trial", "FLOATING", " file", "file ", "offline", "field",
    ] {
        let err = LicenseKind::parse(name).expect_err(name);
        assert_eq!(err.code(), "LICENSE_KIND_UNKNOWN", "{name:?}");
        assert_eq!(err.found, name);
        assert!(
            err.to_string()
                .contains("use one of trial, file, activation, floating"),
            "{err}"
        );
        assert!(
            serde_json::from_str::<LicenseKind>(&format!("{name:?}")).is_err(),
            "{name:?}"
        );
    }
    let long = "x".repeat(1000);
    assert_eq!(LicenseKind::parse(&long).expect_err("long").found.len(), 64);
}
