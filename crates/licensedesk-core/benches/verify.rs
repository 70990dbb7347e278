//! License verification throughput: the full `verify_license` +
//! `check_for_install` path next to a raw `verify_strict` of the same signed
//! message, measured in alternating rounds so both see the same machine load.
//!
//! Run: `cargo bench -p licensedesk-core --bench verify`. Prints figures; it
//! never fails on an absolute time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use ed25519_dalek::Signature;
use licensedesk_core::fingerprint::fingerprint;
use licensedesk_core::gateway::LicenseKind;
use licensedesk_core::keys::{self, KeySet, LICENSE_CONTEXT, SigningKeyWithKid};
use licensedesk_core::license::{LicensePayload, check_for_install, sign_license, verify_license};

const ROUNDS: u32 = 6;
const ROUND: Duration = Duration::from_millis(400);

/// Runs `f` repeatedly for about `budget`; returns calls per second.
fn throughput(budget: Duration, mut f: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            assert!(f());
        }
        calls += 64;
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let at = |y, m, d| {
        Utc.with_ymd_and_hms(y, m, d, 10, 0, 0)
            .single()
            .expect("valid date")
    };
    let key = SigningKeyWithKid::from_seed("k2026", [7; 32]).expect("valid kid");
    let old = SigningKeyWithKid::from_seed("k2025", [8; 32]).expect("valid kid");
    let keys = KeySet::new(
        vec![
            old.public_entry(at(2025, 1, 1)),
            key.public_entry(at(2026, 1, 1)),
        ],
        "k2026",
    )
    .expect("valid key set");
    let hardware = fingerprint(b"4c4c4544-0043-3010-8052-b4c04f4e3732", "licensedesk");
    let payload = LicensePayload {
        license_id: "lic-2026-000123".into(),
        kind: LicenseKind::Activation,
        customer: "Acme Water Utilities GmbH".into(),
        issued_at: at(2026, 3, 31),
        expire_at: at(2027, 3, 31),
        max_connections: 200,
        max_tags: 5000,
        plugins: vec![
            "modbus-tcp".into(),
            "opc-ua".into(),
            "mqtt-bridge".into(),
            "iec-104".into(),
        ],
        hardware: Some(hardware.clone()),
        product: Some("edge-gateway-pro".into()),
        order: Some("SO-2026-04417".into()),
    };
    let text = sign_license(&payload, &key);
    let now = at(2026, 6, 1);

    // The same signed message and signature, for the raw baseline.
    let envelope = keys::sign(LICENSE_CONTEXT, &key, &license_payload_bytes(&text, &keys));
    let message = format!("{LICENSE_CONTEXT}{}/{}", envelope.kid, envelope.payload);
    let sig_bytes = base64_url_decode(&envelope.sig);
    let signature = Signature::from_slice(&sig_bytes).expect("64 bytes");
    let verifying = *keys.get("k2026").expect("known kid");

    let full = || {
        let license = verify_license(black_box(text.as_bytes()), &keys);
        license.is_ok_and(|l| check_for_install(&l, black_box(&hardware), now).is_ok())
    };
    let raw = || {
        verifying
            .verify_strict(black_box(message.as_bytes()), black_box(&signature))
            .is_ok()
    };

    // Warm-up.
    throughput(Duration::from_millis(300), full);
    throughput(Duration::from_millis(300), raw);

    let (mut fulls, mut raws) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        fulls.push(throughput(ROUND, full));
        raws.push(throughput(ROUND, raw));
    }
    let (full_rate, raw_rate) = (median(fulls), median(raws));
    println!(
        "license file: {} bytes, signed message: {} bytes",
        text.len(),
        message.len()
    );
    println!("full verify: {full_rate:.0}/s (verify_license + check_for_install)");
    println!("raw verify_strict: {raw_rate:.0}/s");
    println!("ratio: {:.2} (goal >= 0.80)", full_rate / raw_rate);
}

/// The exact payload bytes inside a verified license file (so the baseline
/// signs and verifies the very same message).
fn license_payload_bytes(text: &str, keys: &KeySet) -> Vec<u8> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let envelope_json = base64_std_decode(&body);
    let envelope: keys::Envelope = serde_json::from_slice(&envelope_json).expect("envelope");
    keys.verify(LICENSE_CONTEXT, &envelope).expect("verified")
}

fn base64_std_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("base64url")
}
