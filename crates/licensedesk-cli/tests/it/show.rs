//! show and request.

use licensedesk_core::activation_code::ActivationCode;
use licensedesk_core::offline::parse_request;

use crate::{World, error_code, json, ldctl, payload, s};

#[test]
fn show_falls_back_to_the_trial_and_says_why() {
    let world = World::new();
    let none = json(&world.run(&["show", "--json", "--now", "2026-06-01T00:00:00Z"]));
    assert_eq!(none["effective"]["mode"], "trial");
    assert_eq!(none["effective"]["reason"]["reason"], "none_installed");
    assert_eq!(none["effective"]["limits"]["max_connections"], 30);
    assert_eq!(none["effective"]["limits"]["max_tags"], 30);

    let lic = world.sign(
        "ok",
        "issuer",
        &payload("LIC-1", Some(&world.fingerprint())),
    );
    let out = world.run(&[
        "install",
        "--json",
        s(&lic),
        "--now",
        "2026-06-01T00:00:00Z",
    ]);
    assert!(out.status.success());
    let licensed = json(&world.run(&["show", "--json", "--now", "2026-06-02T00:00:00Z"]));
    assert_eq!(licensed["effective"]["mode"], "licensed");
    assert_eq!(licensed["effective"]["terms"]["limits"]["max_tags"], 5000);

    // After its expiry the license is still shown, as expired, under the trial.
    let expired = json(&world.run(&["show", "--json", "--now", "2031-01-01T00:00:00Z"]));
    assert_eq!(expired["effective"]["mode"], "trial");
    assert_eq!(expired["effective"]["reason"]["reason"], "expired");
    assert_eq!(expired["installed"]["license_id"], "LIC-1");
    let text = world.run(&["show", "--now", "2031-01-02T00:00:00Z"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("expired at 2031-01-01"), "{text}");
}

#[test]
fn show_does_not_trust_a_clock_set_back() {
    let world = World::new();
    let lic = world.sign("ok", "issuer", &payload("LIC-1", None));
    assert!(
        world
            .run(&["install", s(&lic), "--now", "2026-06-01T00:00:00Z"])
            .status
            .success()
    );
    let back = json(&world.run(&["show", "--json", "--now", "2026-05-01T00:00:00Z"]));
    assert_eq!(back["effective"]["mode"], "trial");
    assert_eq!(back["problem"]["code"], "CLOCK_SET_BACK");
}

#[test]
fn show_reports_a_damaged_installed_file() {
    let world = World::new();
    let lic = world.sign("ok", "issuer", &payload("LIC-1", None));
    assert!(
        world
            .run(&["install", s(&lic), "--now", "2026-06-01T00:00:00Z"])
            .status
            .success()
    );
    std::fs::write(world.home().join("license.lic"), b"garbage").expect("damage");
    let out = json(&world.run(&["show", "--json", "--now", "2026-06-02T00:00:00Z"]));
    assert_eq!(out["effective"]["mode"], "trial");
    assert_eq!(out["problem"]["code"], "LICENSE_ARMOR_INVALID");
}

#[test]
fn request_collects_many_gateways_in_one_file() {
    let world = World::new();
    let file = world.path("req.json");
    let code = ActivationCode::from_entropy([9; 16]).canonical();
    let first = json(&world.run(&[
        "request",
        "--json",
        "--code",
        &code,
        "--name",
        "pump-1",
        "-o",
        s(&file),
    ]));
    assert_eq!(first["gateways"], 1);
    // A second gateway appends itself to the same file.
    let second = ldctl(&[
        "request",
        "--json",
        "--order",
        "ORD-1001",
        "--append",
        "-o",
        s(&file),
        "--machine-id",
        "gateway-two",
    ]);
    assert_eq!(json(&second)["gateways"], 2);
    // The first gateway asking again replaces its own entry.
    let again = json(&world.run(&[
        "request",
        "--json",
        "--code",
        &code,
        "--append",
        "-o",
        s(&file),
    ]));
    assert_eq!(again["gateways"], 2);

    let request =
        parse_request(&std::fs::read(&file).expect("read")).expect("a valid request file");
    let fps: Vec<&str> = request
        .gateways()
        .iter()
        .map(|g| g.fingerprint.as_str())
        .collect();
    assert!(fps.contains(&world.fingerprint().as_str()));
    assert_eq!(request.gateways().len(), 2);
    assert_ne!(request.gateways()[0].nonce, request.gateways()[1].nonce);
}

#[test]
fn request_for_a_product_names_it_and_a_bad_one_is_refused() {
    let world = World::new();
    let file = world.path("req.json");
    let out = json(&world.run(&[
        "request",
        "--json",
        "--product",
        "edge-gateway-pro",
        "-o",
        s(&file),
    ]));
    assert_eq!(out["gateways"], 1);
    let request =
        parse_request(&std::fs::read(&file).expect("read")).expect("a valid request file");
    assert_eq!(
        request.gateways()[0].credential,
        licensedesk_core::offline::Credential::Product("edge-gateway-pro".into())
    );
    let bad = world.run(&[
        "request",
        "--json",
        "--product",
        "edge gateway",
        "-o",
        s(&world.path("bad.json")),
    ]);
    assert_eq!(error_code(&bad), "OFFLINE_CREDENTIAL_INVALID");
}

#[test]
fn request_refuses_a_mistyped_code() {
    let world = World::new();
    let code = ActivationCode::from_entropy([9; 16]).canonical();
    let typo = code.replacen(&code[..1], if code.starts_with('Z') { "Y" } else { "Z" }, 1);
    let out = world.run(&[
        "request",
        "--json",
        "--code",
        &typo,
        "-o",
        s(&world.path("r.json")),
    ]);
    assert_eq!(error_code(&out), "CODE_CHECK_MISMATCH");
    assert!(!world.path("r.json").exists());
}
