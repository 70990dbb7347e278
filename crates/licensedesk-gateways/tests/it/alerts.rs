//! The registry's alerts: a license 29 days from its end alerts, one 31
//! days away does not; an expired one still does; a floating license whose
//! lease lapses within minutes; a gateway over its limits.

use chrono::Duration;
use licensedesk_core::alert::{AlertKind, Level, Thresholds};
use licensedesk_core::gateway::LicenseKind;
use licensedesk_gateways::alerts::observe;

use crate::support::{Local, now, other_fp, payload, signed};

fn level(
    local: &Local,
    gateway: &str,
    kind: AlertKind,
    at: chrono::DateTime<chrono::Utc>,
) -> Level {
    observe(&local.reg, &Thresholds::default(), at)
        .into_iter()
        .find(|o| o.key.kind == kind && o.key.subject == gateway)
        .map(|o| o.level)
        .expect("observed")
}

#[test]
fn expiring_licenses_lapsing_leases_and_limits() {
    let local = Local::trusting();
    local.reg.add("Line 3", &other_fp(3), now()).expect("add");
    // Installed now, ending in 365 days.
    let mut p = payload("lic-a", Some(other_fp(3)));
    p.expire_at = now() + Duration::days(365);
    let path = local.file("a.lic", signed(&p).as_bytes());
    local
        .reg
        .install_license_file(&path, None, now())
        .expect("install");
    let g = other_fp(3);
    let day = |d: i64| now() + Duration::days(365 - d);
    assert_eq!(
        level(&local, &g, AlertKind::GatewayExpiring, day(31)),
        Level::Off
    );
    assert_eq!(
        level(&local, &g, AlertKind::GatewayExpiring, day(29)),
        Level::On
    );
    assert_eq!(
        level(&local, &g, AlertKind::GatewayExpiring, day(-2)),
        Level::On,
        "expired"
    );
    assert_eq!(
        level(&local, &g, AlertKind::LeaseLapsing, day(29)),
        Level::Off
    );
    let o = observe(&local.reg, &Thresholds::default(), day(29))
        .into_iter()
        .find(|o| o.key.kind == AlertKind::GatewayExpiring && o.key.subject == g)
        .expect("observed");
    assert_eq!(o.params["gateway"], "Line 3");
    assert_eq!(o.params["days"], 29);

    // Over limits: 101 connections in use of 100.
    assert_eq!(
        level(&local, &g, AlertKind::GatewayOverLimit, now()),
        Level::Off
    );
    local.reg.set_usage(&g, 101, 10, now()).expect("usage");
    assert_eq!(
        level(&local, &g, AlertKind::GatewayOverLimit, now()),
        Level::On
    );

    // A floating license: its end is the lease's; 9 vs 11 minutes.
    local.reg.add("Line 4", &other_fp(4), now()).expect("add");
    let mut f = payload("lease-1", Some(other_fp(4)));
    f.kind = LicenseKind::Floating;
    f.expire_at = now() + Duration::minutes(30);
    let path = local.file("f.lic", signed(&f).as_bytes());
    local
        .reg
        .install_license_file(&path, None, now())
        .expect("install");
    let g4 = other_fp(4);
    let min = |m: i64| now() + Duration::minutes(30 - m);
    assert_eq!(
        level(&local, &g4, AlertKind::LeaseLapsing, min(11)),
        Level::Off
    );
    assert_eq!(
        level(&local, &g4, AlertKind::LeaseLapsing, min(9)),
        Level::On
    );
    assert_eq!(
        level(&local, &g4, AlertKind::GatewayExpiring, min(9)),
        Level::Off,
        "a lease, not a term"
    );
    // This machine runs the trial: nothing to expire.
    let me = local.reg.this_machine();
    assert_eq!(
        level(&local, &me, AlertKind::GatewayExpiring, now()),
        Level::Off
    );
}
