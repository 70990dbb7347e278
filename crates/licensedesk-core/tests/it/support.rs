//! Shared fixtures: deterministic keys, a realistic license, armour helper.

use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use licensedesk_core::fingerprint::fingerprint;
use licensedesk_core::gateway::LicenseKind;
use licensedesk_core::keys::{KeySet, SigningKeyWithKid};
use licensedesk_core::license::LicensePayload;

pub fn at(y: i32, mo: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, 0, 0)
        .single()
        .unwrap_or_default()
}

pub fn key(kid: &str, seed: u8) -> SigningKeyWithKid {
    SigningKeyWithKid::from_seed(kid, [seed; 32]).expect("valid kid")
}

pub fn keyset(keys: &[&SigningKeyWithKid]) -> KeySet {
    let entries = keys
        .iter()
        .map(|k| k.public_entry(at(2026, 1, 1, 0)))
        .collect();
    KeySet::new(entries, keys[0].kid()).expect("valid key set")
}

pub fn this_machine() -> String {
    fingerprint(b"4c4c4544-0043-3010-8052-b4c04f4e3732", "licensedesk")
}

pub fn other_machine() -> String {
    fingerprint(b"9f86d081884c7d659a2feaa0c55ad015", "licensedesk")
}

pub fn payload() -> LicensePayload {
    LicensePayload {
        license_id: "lic-2026-000123".into(),
        kind: LicenseKind::Activation,
        customer: "Acme Water Utilities GmbH".into(),
        issued_at: at(2026, 3, 31, 10),
        expire_at: at(2027, 3, 31, 10),
        max_connections: 200,
        max_tags: 5000,
        plugins: vec!["modbus-tcp".into(), "opc-ua".into(), "mqtt-bridge".into()],
        hardware: Some(this_machine()),
        product: Some("edge-gateway-pro".into()),
        order: Some("SO-2026-04417".into()),
    }
}

/// Armours arbitrary envelope bytes exactly as `sign_license` does.
pub fn armor(body: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(body);
    let mut out = String::from("-----BEGIN LICENSEDESK LICENSE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("ascii"));
        out.push('\n');
    }
    out.push_str("-----END LICENSEDESK LICENSE-----\n");
    out
}
