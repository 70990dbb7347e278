//! verify and install: a bad file is refused with its own code and the
//! installed license stays byte-identical.

use std::fs;

use crate::{World, error_code, json, payload, s};

/// Installs a first valid license and returns its bytes.
fn with_installed(world: &World) -> Vec<u8> {
    let fp = world.fingerprint();
    let first = world.sign("first", "issuer", &payload("LIC-1", Some(&fp)));
    let out = world.run(&[
        "install",
        "--json",
        s(&first),
        "--now",
        "2026-06-01T00:00:00Z",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    fs::read(world.home().join("license.lic")).expect("installed")
}

fn assert_untouched(world: &World, before: &[u8]) {
    let now = fs::read(world.home().join("license.lic")).expect("installed");
    assert_eq!(
        now, before,
        "the installed license must stay byte-identical"
    );
    let backups = fs::read_dir(world.home().join("backups"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(
        backups, 0,
        "a refused install must not even create a backup"
    );
}

#[test]
fn verify_prints_the_fields_of_a_valid_license() {
    let world = World::new();
    let lic = world.sign("ok", "issuer", &payload("LIC-7", None));
    let out = json(&world.run(&["verify", "--json", s(&lic), "--now", "2026-06-01T00:00:00Z"]));
    assert_eq!(out["license_id"], "LIC-7");
    assert_eq!(out["max_tags"], 5000);
    assert_eq!(out["plugins"], serde_json::json!(["modbus-tcp", "opcua"]));
    assert_eq!(out["kid"], "k1");
    assert_eq!(out["kind"], "file");
    // The human form names the kind as core writes it.
    let text = world.run(&["verify", s(&lic), "--now", "2026-06-01T00:00:00Z"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("\nKind:             file\n"), "{text}");
}

#[test]
fn install_keeps_a_backup_of_the_previous_license() {
    let world = World::new();
    let first = with_installed(&world);
    let second = world.sign("second", "issuer", &payload("LIC-2", None));
    let out = json(&world.run(&[
        "install",
        "--json",
        s(&second),
        "--now",
        "2026-06-02T00:00:00Z",
    ]));
    assert_eq!(out["license_id"], "LIC-2");
    let backup = out["backup"].as_str().expect("a backup path");
    assert_eq!(fs::read(backup).expect("backup"), first);
    assert_eq!(
        fs::read(world.home().join("license.lic")).expect("new"),
        fs::read(&second).expect("src")
    );
}

#[test]
fn each_bad_file_is_refused_with_its_own_code_and_changes_nothing() {
    let world = World::new();
    let before = with_installed(&world);
    let now = "2026-06-01T00:00:00Z";

    // Signed by another key that uses the same key id.
    world.keygen("k1", "impostor");
    let forged = world.sign("forged", "impostor", &payload("LIC-F", None));
    // Signed by a key id the gateway does not trust.
    world.keygen("k9", "stranger");
    let unknown = world.sign("unknown", "stranger", &payload("LIC-U", None));
    // Bound to another gateway.
    let other_fp = json(&crate::ldctl(&[
        "fingerprint",
        "--json",
        "--machine-id",
        "other-gateway",
    ]))["fingerprint"]
        .as_str()
        .expect("fp")
        .to_owned();
    let elsewhere = world.sign("elsewhere", "issuer", &payload("LIC-E", Some(&other_fp)));
    // Expired.
    let mut old = payload("LIC-X", None);
    old["issued_at"] = "2020-01-01T00:00:00Z".into();
    old["expire_at"] = "2021-01-01T00:00:00Z".into();
    let expired = world.sign("expired", "issuer", &old);
    // Over the size cap (a 2 MB file), and not a license at all.
    let huge = world.path("huge.lic");
    fs::write(&huge, vec![b'A'; 2 * 1024 * 1024]).expect("huge");
    let foreign = world.path("foreign.lic");
    fs::write(&foreign, b"%PDF-1.7 this is not a license").expect("foreign");
    // One byte changed in the middle of a valid file.
    let mut bytes = fs::read(world.sign("good", "issuer", &payload("LIC-G", None))).expect("good");
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let corrupt = world.path("corrupt.lic");
    fs::write(&corrupt, &bytes).expect("corrupt");

    let cases = [
        (&forged, "LICENSE_SIGNATURE_INVALID"),
        (&unknown, "LICENSE_KID_UNKNOWN"),
        (&elsewhere, "LICENSE_HARDWARE_MISMATCH"),
        (&expired, "LICENSE_EXPIRED"),
        (&huge, "LICENSE_TOO_LARGE"),
        (&foreign, "LICENSE_ARMOR_INVALID"),
    ];
    for (file, code) in cases {
        let out = world.run(&["install", "--json", s(file), "--now", now]);
        assert_eq!(error_code(&out), code, "{}", file.display());
        assert_untouched(&world, &before);
    }
    let out = world.run(&["install", "--json", s(&corrupt), "--now", now]);
    assert!(!out.status.success(), "a corrupted file must be refused");
    assert_untouched(&world, &before);
}

#[test]
fn a_clock_set_back_is_refused() {
    let world = World::new();
    let before = with_installed(&world); // at 2026-06-01
    let next = world.sign("next", "issuer", &payload("LIC-N", None));
    let out = world.run(&[
        "install",
        "--json",
        s(&next),
        "--now",
        "2026-05-31T22:00:00Z",
    ]);
    assert_eq!(error_code(&out), "CLOCK_SET_BACK");
    assert_untouched(&world, &before);
    // Within the hour of tolerance it is accepted.
    let out = world.run(&[
        "install",
        "--json",
        s(&next),
        "--now",
        "2026-05-31T23:30:00Z",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_missing_key_set_says_where_to_put_it() {
    let world = World::new();
    fs::remove_file(world.home().join("keys.json")).expect("rm");
    let lic = world.sign("ok", "issuer", &payload("LIC-7", None));
    let out = world.run(&["verify", "--json", s(&lic)]);
    assert_eq!(error_code(&out), "KEYS_MISSING");
}
