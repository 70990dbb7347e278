use licensedesk_core::Coded;
use licensedesk_core::keys::{self, KeySet, LICENSE_CONTEXT, OFFLINE_RESPONSE_CONTEXT};
use licensedesk_core::license::{MAX_LICENSE_LEN, check_for_install, sign_license, verify_license};
use proptest::prelude::*;

use crate::support::*;

fn code_of(text: &[u8], keys: &KeySet) -> Result<(), &'static str> {
    verify_license(text, keys).map(|_| ()).map_err(|e| e.code())
}

#[test]
fn sign_then_verify_round_trip() {
    let k = key("k2026", 1);
    let keys = keyset(&[&k]);
    let text = sign_license(&payload(), &k);
    assert!(text.starts_with("-----BEGIN LICENSEDESK LICENSE-----\n"));
    assert!(text.ends_with("-----END LICENSEDESK LICENSE-----\n"));
    assert!(
        text.lines()
            .all(|l| l.len() <= 64 || l.starts_with("-----"))
    );
    let verified = verify_license(text.as_bytes(), &keys).expect("valid license");
    assert_eq!(verified.payload(), &payload());
    assert_eq!(verified.kid(), "k2026");
    assert_eq!(
        check_for_install(&verified, &this_machine(), at(2026, 6, 1, 0)),
        Ok(())
    );
}

#[test]
fn every_single_byte_change_is_rejected() {
    let k = key("k2026", 1);
    let keys = keyset(&[&k]);
    let text = sign_license(&payload(), &k).into_bytes();
    assert_eq!(code_of(&text, &keys), Ok(()));
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    let mut tried = 0usize;
    for pos in 0..text.len() {
        let original = text[pos];
        let mut replacements: Vec<u8> = (0..8).map(|bit| original ^ (1 << bit)).collect();
        replacements.extend_from_slice(b"\n\r \t=Aa+/-0");
        replacements.sort_unstable();
        replacements.dedup();
        for replacement in replacements.into_iter().filter(|&r| r != original) {
            let mut mutated = text.clone();
            mutated[pos] = replacement;
            let err = verify_license(&mutated, &keys).err().unwrap_or_else(|| {
                panic!("byte {pos} {original:#04x}->{replacement:#04x} accepted")
            });
            *seen.entry(err.code()).or_default() += 1;
            tried += 1;
        }
    }
    assert!(tried >= text.len() * 8, "{tried}");
    // The mutations reach every stage of verification.
    for stage in [
        "LICENSE_ARMOR_INVALID",
        "LICENSE_BASE64_INVALID",
        "LICENSE_ENVELOPE_INVALID",
        "LICENSE_SIGNATURE_INVALID",
    ] {
        assert!(seen.contains_key(stage), "{stage} never hit: {seen:?}");
    }
}

#[test]
fn each_failure_has_its_own_code() {
    let k = key("k2026", 1);
    let keys = keyset(&[&k]);
    let impostor_same_kid = key("k2026", 2);
    let unknown_kid = key("k-unknown", 1);
    let good = sign_license(&payload(), &k);
    let mut huge = good.clone().into_bytes();
    huge.resize(MAX_LICENSE_LEN + 1, b'\n');
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "other key, same kid",
            sign_license(&payload(), &impostor_same_kid).into_bytes(),
            "LICENSE_SIGNATURE_INVALID",
        ),
        (
            "unknown kid",
            sign_license(&payload(), &unknown_kid).into_bytes(),
            "LICENSE_KID_UNKNOWN",
        ),
        ("over the size cap", huge, "LICENSE_TOO_LARGE"),
        ("empty", Vec::new(), "LICENSE_ARMOR_INVALID"),
        (
            "not armoured",
            b"{\"v\":1}".to_vec(),
            "LICENSE_ARMOR_INVALID",
        ),
        (
            "no body",
            b"-----BEGIN LICENSEDESK LICENSE-----\n-----END LICENSEDESK LICENSE-----\n".to_vec(),
            "LICENSE_ARMOR_INVALID",
        ),
        (
            "trailing space",
            format!("{good} ").into_bytes(),
            "LICENSE_ARMOR_INVALID",
        ),
        (
            "leading blank line",
            format!("\n{good}").into_bytes(),
            "LICENSE_ARMOR_INVALID",
        ),
        (
            "text after END",
            format!("{good}hello\n").into_bytes(),
            "LICENSE_ARMOR_INVALID",
        ),
        (
            "bad base64",
            armor(b"x").replace("eA==", "eA=!").into_bytes(),
            "LICENSE_BASE64_INVALID",
        ),
        (
            "envelope not JSON",
            armor(b"not json").into_bytes(),
            "LICENSE_ENVELOPE_INVALID",
        ),
        (
            "envelope v2",
            armor(br#"{"v":2,"whatever":true}"#).into_bytes(),
            "LICENSE_VERSION_UNSUPPORTED",
        ),
    ];
    for (name, text, want) in cases {
        assert_eq!(code_of(&text, &keys), Err(want), "{name}");
    }
}

/// A license envelope with chosen fields, armoured canonically.
fn forged(alg: &str, ctx: &str, payload_json: &[u8]) -> Vec<u8> {
    let k = key("k2026", 1);
    let mut env = keys::sign(ctx, &k, payload_json);
    env.alg = alg.into();
    armor(env.to_json().as_bytes()).into_bytes()
}

#[test]
fn envelope_and_payload_failures() {
    let keys = keyset(&[&key("k2026", 1)]);
    let good_payload = serde_json::to_value(payload()).expect("json");
    let mut v2 = good_payload.clone();
    v2["v"] = 2.into();
    let mut v1 = good_payload.clone();
    v1["v"] = 1.into();
    let mut backwards = v1.clone();
    backwards["expire_at"] = "2020-01-01T00:00:00Z".into();
    let bytes = |v: &serde_json::Value| serde_json::to_vec(v).expect("json");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "alg",
            forged("rsa", LICENSE_CONTEXT, &bytes(&v1)),
            "LICENSE_ALG_UNSUPPORTED",
        ),
        (
            "other context",
            forged("ed25519", OFFLINE_RESPONSE_CONTEXT, &bytes(&v1)),
            "LICENSE_SIGNATURE_INVALID",
        ),
        (
            "payload v2",
            forged("ed25519", LICENSE_CONTEXT, &bytes(&v2)),
            "LICENSE_PAYLOAD_VERSION_UNSUPPORTED",
        ),
        (
            "payload without v",
            forged("ed25519", LICENSE_CONTEXT, &bytes(&good_payload)),
            "LICENSE_PAYLOAD_INVALID",
        ),
        (
            "expire before issue",
            forged("ed25519", LICENSE_CONTEXT, &bytes(&backwards)),
            "LICENSE_PAYLOAD_INVALID",
        ),
        (
            "payload not JSON",
            forged("ed25519", LICENSE_CONTEXT, b"[1,2"),
            "LICENSE_PAYLOAD_INVALID",
        ),
        (
            "signed payload v1",
            forged("ed25519", LICENSE_CONTEXT, &bytes(&v1)),
            "OK",
        ),
    ];
    for (name, text, want) in cases {
        let got = code_of(&text, &keys).err().unwrap_or("OK");
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn line_endings_tolerated() {
    let k = key("k2026", 1);
    let keys = keyset(&[&k]);
    let good = sign_license(&payload(), &k);
    let crlf = good.replace('\n', "\r\n");
    let no_final_newline = good.trim_end_matches('\n').to_owned();
    let crlf_no_final = crlf.trim_end_matches("\r\n").to_owned();
    let lone_cr = good.replace('\n', "\r");
    assert_eq!(code_of(crlf.as_bytes(), &keys), Ok(()));
    assert_eq!(code_of(no_final_newline.as_bytes(), &keys), Ok(()));
    assert_eq!(code_of(crlf_no_final.as_bytes(), &keys), Ok(()));
    assert_eq!(
        code_of(format!("{crlf_no_final}\r").as_bytes(), &keys),
        Err("LICENSE_ARMOR_INVALID")
    );
    assert_eq!(
        code_of(lone_cr.as_bytes(), &keys),
        Err("LICENSE_ARMOR_INVALID")
    );
}

#[test]
fn install_checks() {
    let k = key("k2026", 1);
    let keys = keyset(&[&k]);
    let verify = |p| verify_license(sign_license(&p, &k).as_bytes(), &keys).expect("valid");
    let bound = verify(payload());
    let unbound = verify(licensedesk_core::license::LicensePayload {
        hardware: None,
        ..payload()
    });
    let now = at(2026, 6, 1, 0);
    let issued = payload().issued_at;
    let expire = payload().expire_at;
    let five_min = chrono::Duration::minutes(5);
    let one_sec = chrono::Duration::seconds(1);
    let cases = [
        ("bound, this machine", &bound, this_machine(), now, None),
        (
            "bound, typed lower case",
            &bound,
            this_machine().to_lowercase(),
            now,
            None,
        ),
        (
            "bound, other machine",
            &bound,
            other_machine(),
            now,
            Some("LICENSE_HARDWARE_MISMATCH"),
        ),
        ("unbound, any machine", &unbound, other_machine(), now, None),
        (
            "expired",
            &bound,
            this_machine(),
            expire,
            Some("LICENSE_EXPIRED"),
        ),
        (
            "last second",
            &bound,
            this_machine(),
            expire - one_sec,
            None,
        ),
        (
            "issued 5 min ahead",
            &bound,
            this_machine(),
            issued - five_min,
            None,
        ),
        (
            "issued 5 min 1 s ahead",
            &bound,
            this_machine(),
            issued - five_min - one_sec,
            Some("LICENSE_NOT_YET_VALID"),
        ),
    ];
    for (name, license, hw, now, want) in cases {
        let got = check_for_install(license, &hw, now).err().map(|e| e.code());
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn rotated_keys_verify_old_and_new_licenses() {
    let old = key("k2025", 1);
    let new = key("k2026", 2);
    let keys = keyset(&[&new, &old]);
    assert_eq!(keys.current(), "k2026");
    let json = keys.to_json();
    let reloaded = KeySet::from_json(json.as_bytes()).expect("round trip");
    assert_eq!(reloaded, keys);
    for k in [&old, &new] {
        assert_eq!(
            code_of(sign_license(&payload(), k).as_bytes(), &reloaded),
            Ok(())
        );
    }
    let only_new = keyset(&[&new]);
    assert_eq!(
        code_of(sign_license(&payload(), &old).as_bytes(), &only_new),
        Err("LICENSE_KID_UNKNOWN")
    );
}

#[test]
fn keyset_errors() {
    let k = key("k1", 1);
    let entry = k.public_entry(at(2026, 1, 1, 0));
    let mut bad_key = entry.clone();
    bad_key.public_key = "AAAA".into();
    let mut bad_alg = entry.clone();
    bad_alg.alg = "rsa".into();
    let cases: Vec<(Vec<_>, &str, &str)> = vec![
        (vec![], "k1", "KEYSET_EMPTY"),
        (
            vec![entry.clone(), entry.clone()],
            "k1",
            "KEYSET_DUPLICATE_KID",
        ),
        (vec![entry.clone()], "k9", "KEYSET_CURRENT_UNKNOWN"),
        (vec![bad_key], "k1", "KEYSET_PUBLIC_KEY_INVALID"),
        (vec![bad_alg], "k1", "KEYSET_ALG_UNSUPPORTED"),
    ];
    for (entries, current, want) in cases {
        assert_eq!(
            KeySet::new(entries, current).err().map(|e| e.code()),
            Some(want)
        );
    }
    let big = vec![b' '; keys::MAX_KEYSET_LEN + 1];
    assert_eq!(
        KeySet::from_json(&big).err().map(|e| e.code()),
        Some("KEYSET_TOO_LARGE")
    );
    assert_eq!(
        KeySet::from_json(b"{").err().map(|e| e.code()),
        Some("KEYSET_MALFORMED")
    );
    assert_eq!(
        licensedesk_core::keys::SigningKeyWithKid::from_seed("a/b", [0; 32])
            .err()
            .map(|e| e.code()),
        Some("KEY_ID_INVALID")
    );
    assert!(!format!("{k:?}").contains(&format!("{:?}", k.seed())));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prop_sign_verify_round_trip(
        id in "[a-zA-Z0-9-]{1,40}",
        customer in "\\PC{0,60}",
        conns in any::<u32>(),
        tags in any::<u32>(),
        plugins in proptest::collection::vec("\\PC{1,20}", 0..6),
        days in 1i64..4000,
        seed in any::<u8>(),
    ) {
        let k = key("kp", seed);
        let keys = keyset(&[&k]);
        let p = licensedesk_core::license::LicensePayload {
            license_id: id, customer, max_connections: conns, max_tags: tags, plugins,
            expire_at: at(2026, 3, 31, 10) + chrono::Duration::days(days),
            ..payload()
        };
        let verified = verify_license(sign_license(&p, &k).as_bytes(), &keys);
        prop_assert_eq!(verified.map(|v| v.into_payload()), Ok(p));
    }

    #[test]
    fn prop_verify_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let keys = keyset(&[&key("k2026", 1)]);
        prop_assert!(verify_license(&bytes, &keys).is_err());
    }

    #[test]
    fn prop_armoured_garbage_is_rejected(body in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let keys = keyset(&[&key("k2026", 1)]);
        prop_assert!(verify_license(armor(&body).as_bytes(), &keys).is_err());
    }

    #[test]
    fn prop_keyset_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = KeySet::from_json(&bytes);
    }
}
