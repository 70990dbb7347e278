//! The install pipeline: verified completely before anything is replaced.

use chrono::Duration;
use licensedesk_core::gateway::LicenseKind;
use licensedesk_core::keys::SigningKeyWithKid;
use licensedesk_core::license::sign_license;
use licensedesk_gateways::Registry;
use licensedesk_gateways::dto::TrialFallback;

use crate::support::{Local, now, other_fp, payload, record_installs, signed, sources, this_fp};

#[test]
fn installs_for_this_machine_and_keeps_the_previous_as_backup() {
    let local = Local::trusting();
    let first = local.file("a.lic", signed(&payload("lic-a", None)).as_bytes());
    let out = local
        .reg
        .install_license_file(&first, None, now())
        .expect("install");
    assert_eq!(
        (out.gateway_id.as_str(), out.replaced),
        (this_fp().as_str(), false)
    );
    let v = &out.view;
    assert_eq!(v.kind, LicenseKind::File);
    assert_eq!(v.expire_at, Some(now() + Duration::days(365)));
    assert_eq!(v.plugins, ["modbus-tcp", "opcua"]);
    assert_eq!((v.connections.max, v.tags.max), (100, 500));
    assert_eq!(v.trial, None);

    let text = signed(&payload("lic-b", Some(this_fp().to_lowercase())));
    let second = local.file("b.lic", text.as_bytes());
    let out = local
        .reg
        .install_license_file(&second, None, now())
        .expect("replace");
    assert!(out.replaced);
    let backup = out.backup.expect("backup path");
    assert!(
        std::fs::read_to_string(&backup)
            .expect("backup")
            .contains("BEGIN")
    );
    assert_eq!(out.view.backups, 1);
    assert_eq!(out.view.bound_hardware, Some(this_fp().to_lowercase()));
    assert_eq!(local.installed_bytes(), Some(text.into_bytes()));
    let reopened = local.reopen().view(&this_fp(), now()).expect("view");
    assert_eq!(reopened.installed.expect("installed").license_id, "lic-b");
}

#[test]
fn a_license_bound_to_a_registered_gateway_is_installed_for_it() {
    let local = Local::trusting();
    local.reg.add("Line 3", &other_fp(3), now()).expect("add");
    let text = signed(&payload("lic-g", Some(other_fp(3))));
    let path = local.file("g.lic", text.as_bytes());
    let out = local
        .reg
        .install_license_file(&path, None, now())
        .expect("install");
    assert_eq!(out.gateway_id, other_fp(3));
    assert!(local.installed_bytes().is_none(), "this machine untouched");
    let later = local
        .reg
        .view(&other_fp(3), now() + Duration::days(400))
        .expect("view");
    assert!(later.expired);
    assert_eq!(later.kind, LicenseKind::Trial);
    assert!(matches!(later.trial, Some(TrialFallback::Expired { .. })));
    assert_eq!(later.connections.max, 30);
}

/// Every way an upload can fail, each with its code; the installed license
/// stays byte for byte what it was.
#[test]
fn every_failure_has_a_code_and_changes_nothing() {
    let local = Local::trusting();
    let installs = record_installs(&local.reg);
    local.reg.add("Line 3", &other_fp(3), now()).expect("add");
    let good = signed(&payload("lic-good", None));
    let path = local.file("good.lic", good.as_bytes());
    local
        .reg
        .install_license_file(&path, None, now())
        .expect("install");
    assert_eq!(sources(&installs), ["file"]);

    let mut flipped = good.clone().into_bytes();
    flipped[60] = if flipped[60] == b'A' { b'B' } else { b'A' };
    let mut expired = payload("lic-old", None);
    expired.issued_at = now() - Duration::days(400);
    expired.expire_at = now() - Duration::days(1);
    let mut future = payload("lic-future", None);
    future.issued_at = now() + Duration::hours(1);
    let stranger = SigningKeyWithKid::from_seed("other", [9; 32]).expect("key");
    let cases: Vec<(&str, Vec<u8>, Option<String>, &str)> = vec![
        ("corrupted", flipped, None, "LICENSE_"),
        ("huge", vec![b'A'; 70 * 1024], None, "FILE_TOO_LARGE"),
        ("empty", Vec::new(), None, "LICENSE_ARMOR_INVALID"),
        (
            "expired",
            signed(&expired).into_bytes(),
            None,
            "LICENSE_EXPIRED",
        ),
        (
            "future",
            signed(&future).into_bytes(),
            None,
            "CLOCK_ISSUED_IN_FUTURE",
        ),
        (
            "untrusted",
            sign_license(&payload("x", None), &stranger).into_bytes(),
            None,
            "LICENSE_KID_UNKNOWN",
        ),
        (
            "unknown-gw",
            signed(&payload("x", Some(other_fp(9)))).into_bytes(),
            None,
            "GATEWAY_UNKNOWN",
        ),
        (
            "wrong-gw",
            signed(&payload("x", Some(other_fp(3)))).into_bytes(),
            Some(this_fp()),
            "LICENSE_HARDWARE_MISMATCH",
        ),
        (
            "no-such-target",
            good.clone().into_bytes(),
            Some("nope".into()),
            "GATEWAY_NOT_FOUND",
        ),
    ];
    for (name, bytes, target, want) in cases {
        let path = local.file(&format!("{name}.lic"), &bytes);
        let err = local
            .reg
            .install_license_file(&path, target.as_deref(), now())
            .expect_err(name);
        assert!(err.code().starts_with(want), "{name}: {} {err}", err.code());
        assert!(!err.to_string().is_empty());
        assert_eq!(
            local.installed_bytes(),
            Some(good.clone().into_bytes()),
            "{name}"
        );
    }
    let missing = local.dir.path().join("missing.lic");
    let err = local
        .reg
        .install_license_file(&missing, None, now())
        .expect_err("missing");
    assert_eq!(err.code(), "FILE_NOT_FOUND");

    // The clock guard: after an install at `now`, a clock 2 h earlier is set back.
    let err = local
        .reg
        .install_license_file(&path, None, now() - Duration::hours(2))
        .expect_err("set back");
    assert_eq!(err.code(), "CLOCK_SET_BACK");
    let v = local.reg.view(&this_fp(), now()).expect("view");
    assert_eq!(v.installed.expect("installed").license_id, "lic-good");
    assert_eq!(v.backups, 0);
    // No failed install reaches the install hook.
    assert_eq!(sources(&installs), ["file"]);
}

#[test]
fn without_trusted_keys_nothing_is_installed() {
    let local = Local::new();
    let path = local.file("a.lic", signed(&payload("lic-a", None)).as_bytes());
    let err = local
        .reg
        .install_license_file(&path, None, now())
        .expect_err("no keys");
    assert_eq!(err.code(), "KEYS_MISSING");
    let _: &Registry = &local.reg;
    assert!(local.installed_bytes().is_none());
}
