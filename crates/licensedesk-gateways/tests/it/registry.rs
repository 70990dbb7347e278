//! The registry itself: this machine always present, typed gateways, usage.

use licensedesk_core::gateway::LicenseKind;
use licensedesk_gateways::dto::{GatewaySource, TrialFallback};
use licensedesk_gateways::this_machine_fingerprint;

use crate::support::{Local, now, other_fp, this_fp};

#[test]
fn this_machine_is_always_present_and_survives_reopening() {
    let local = Local::new();
    let list = local.reg.list(now());
    assert_eq!(list.len(), 1);
    assert!(list[0].this_machine);
    assert_eq!(list[0].fingerprint, this_fp());
    assert_eq!(list[0].source, GatewaySource::ThisMachine);
    local.reg.add("Line 3", &other_fp(1), now()).expect("add");
    let again = local.reopen().list(now());
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].name, "Line 3");
    assert_eq!(
        local.reg.remove(&this_fp()).expect_err("fixed").code(),
        "GATEWAY_THIS_MACHINE"
    );
}

#[test]
fn machine_id_file_gives_the_same_fingerprint_as_ldctl() {
    let local = Local::new();
    let path = local.file("machine-id", b"machine-a\n");
    assert_eq!(this_machine_fingerprint(&path).expect("fp"), this_fp());
    let empty = local.file("empty", b"  \n");
    assert_eq!(
        this_machine_fingerprint(&empty).expect_err("empty").code(),
        "MACHINE_ID_UNAVAILABLE"
    );
}

#[test]
fn typed_fingerprints_are_checked_and_unique() {
    let local = Local::new();
    let fp = other_fp(2);
    let mut typo: Vec<char> = fp.chars().collect();
    typo[0] = if typo[0] == '0' { '1' } else { '0' };
    let typo: String = typo.into_iter().collect();
    let me = this_fp();
    let cases = [
        ("Gate", typo.as_str(), "FINGERPRINT_CHECK_MISMATCH"),
        ("Gate", "ABCD", "FINGERPRINT_MALFORMED"),
        ("", fp.as_str(), "GATEWAY_NAME_INVALID"),
        ("Me", me.as_str(), "GATEWAY_EXISTS"),
    ];
    for (name, input, want) in cases {
        let err = local.reg.add(name, input, now()).expect_err(input);
        assert_eq!(err.code(), want, "{input}");
    }
    let added = local
        .reg
        .add(" Gate ", &fp.to_lowercase(), now())
        .expect("lower case is fine");
    assert_eq!(
        (added.name.as_str(), added.id.as_str()),
        ("Gate", fp.as_str())
    );
    assert_eq!(
        local.reg.add("Again", &fp, now()).expect_err("dup").code(),
        "GATEWAY_EXISTS"
    );
    assert_eq!(
        local.reg.view("nope", now()).expect_err("unknown").code(),
        "GATEWAY_NOT_FOUND"
    );
}

#[test]
fn no_license_means_the_trial_with_its_usage() {
    let local = Local::new();
    // Nothing reported yet: the view says so (no figure in use claimed).
    let v = local.reg.view(&this_fp(), now()).expect("view");
    assert_eq!((v.usage_reported_at, v.over_trial), (None, false));
    local
        .reg
        .set_usage(&this_fp(), 12, 45, now())
        .expect("usage");
    let v = local.reg.view(&this_fp(), now()).expect("view");
    assert_eq!(v.usage_reported_at, Some(now()));
    assert!(v.over_trial, "45 tags under the trial's 30 points");
    assert_eq!(v.kind, LicenseKind::Trial);
    assert_eq!(v.trial, Some(TrialFallback::NoneInstalled));
    assert_eq!((v.connections.in_use, v.connections.max), (12, 30));
    assert_eq!(v.connections.percent, Some(40));
    assert!(!v.connections.over_limit);
    assert!(v.tags.over_limit, "45 tags are beyond the trial's 30");
    assert!(v.plugins.is_empty() && v.installed.is_none() && v.issued_at.is_none());
}
