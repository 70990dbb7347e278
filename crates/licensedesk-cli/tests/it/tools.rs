//! fingerprint, code check, ota-cost, keygen.

use licensedesk_core::activation_code::ActivationCode;

use crate::{MACHINE, World, error_code, json, ldctl};

#[test]
fn fingerprint_is_stable_per_machine_and_differs_between_machines() {
    let a1 = json(&ldctl(&["fingerprint", "--json", "--machine-id", MACHINE]));
    let a2 = json(&ldctl(&["fingerprint", "--json", "--machine-id", MACHINE]));
    let b = json(&ldctl(&[
        "fingerprint",
        "--json",
        "--machine-id",
        "another-machine",
    ]));
    assert_eq!(a1, a2);
    assert_ne!(a1["fingerprint"], b["fingerprint"]);
    let fp = a1["fingerprint"].as_str().expect("fingerprint");
    assert!(
        !fp.contains(MACHINE),
        "the machine id must not leak into the fingerprint"
    );
}

#[test]
fn fingerprint_reads_the_machine_id_file_or_says_what_to_do() {
    let world = World::new();
    let file = world.path("machine-id");
    std::fs::write(&file, format!("{MACHINE}\n")).expect("write");
    let from_file = json(&ldctl(&[
        "fingerprint",
        "--json",
        "--machine-id-file",
        crate::s(&file),
    ]));
    let from_flag = json(&ldctl(&["fingerprint", "--json", "--machine-id", MACHINE]));
    assert_eq!(
        from_file, from_flag,
        "a trailing newline in /etc/machine-id does not matter"
    );

    let missing = world.path("nope");
    let out = ldctl(&[
        "fingerprint",
        "--json",
        "--machine-id-file",
        crate::s(&missing),
    ]);
    assert_eq!(error_code(&out), "MACHINE_ID_UNAVAILABLE");
    assert!(
        json(&out)["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("--machine-id")
    );
}

#[test]
fn code_check_tells_a_typo_from_a_malformed_code() {
    let code = ActivationCode::from_entropy([7; 16]).canonical();
    let ok = json(&ldctl(&["code", "check", "--json", &code.to_lowercase()]));
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["canonical"], code.as_str());

    // Change one data symbol to another valid symbol: a typo.
    let mut typo: Vec<char> = code.chars().collect();
    typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    assert_eq!(
        error_code(&ldctl(&["code", "check", "--json", &typo])),
        "CODE_CHECK_MISMATCH"
    );

    for malformed in ["ABCD-EFGH", "!!!!-!!!!-!!!!-!!!!-!!!!!"] {
        let out = ldctl(&["code", "check", "--json", malformed]);
        assert_eq!(error_code(&out), "CODE_MALFORMED", "{malformed}");
    }
}

#[test]
fn ota_cost_follows_the_documents_examples() {
    const MB: i64 = 1_048_576;
    let cases = [
        (5 * MB, 1),
        (6 * MB, 2),
        (10 * MB, 2),
        (10 * MB + 1, 3),
        (1, 1),
    ];
    for (bytes, attempts) in cases {
        let out = json(&ldctl(&[
            "ota-cost",
            "--json",
            "--bytes",
            &bytes.to_string(),
            "--cap-mb",
            "5",
        ]));
        assert_eq!(out["attempts"], attempts, "{bytes} bytes");
    }
    for bad in ["0", "-5"] {
        let out = ldctl(&["ota-cost", "--json", "--bytes", bad, "--cap-mb", "5"]);
        assert_eq!(error_code(&out), "OTA_SIZE_INVALID", "{bad}");
    }
    let out = ldctl(&["ota-cost", "--json", "--bytes", "100", "--cap-mb", "0"]);
    assert_eq!(error_code(&out), "OTA_CAP_INVALID");
}

#[cfg(unix)]
#[test]
fn keygen_writes_the_secret_key_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let world = World::new();
    let mode = std::fs::metadata(world.path("issuer/signing-key.json"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// `ldctl sign` holds a payload to core's bounds, like the server's routes.
#[test]
fn sign_refuses_a_payload_out_of_bounds() {
    let world = World::new();
    let key = world.path("issuer/signing-key.json");
    for (field, value, code) in [
        (
            "max_tags",
            serde_json::json!(0),
            "LICENSE_LIMIT_OUT_OF_RANGE",
        ),
        ("customer", serde_json::json!(""), "NAME_INVALID"),
        (
            "plugins",
            serde_json::json!(["opc ua"]),
            "PLUGIN_NAME_INVALID",
        ),
        (
            "expire_at",
            serde_json::json!("+10000-01-01T00:00:00Z"),
            "TIME_OUT_OF_RANGE",
        ),
    ] {
        let mut p = crate::payload("LIC-B", None);
        p[field] = value;
        let path = world.path(&format!("bad-{field}.json"));
        std::fs::write(&path, p.to_string()).expect("payload");
        let out = ldctl(&[
            "sign",
            "--json",
            path.to_str().unwrap_or(""),
            "--key",
            key.to_str().unwrap_or(""),
        ]);
        assert!(!out.status.success(), "{field}");
        assert_eq!(error_code(&out), code, "{field}");
    }
}
