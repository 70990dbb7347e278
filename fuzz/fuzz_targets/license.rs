//! License verification never panics on arbitrary bytes, and never accepts a
//! valid license file with one byte changed.
#![no_main]

use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use licensedesk_core::gateway::LicenseKind;
use licensedesk_core::keys::{KeySet, SigningKeyWithKid};
use licensedesk_core::license::{LicensePayload, check_for_install, sign_license, verify_license};

struct Fixture {
    keys: KeySet,
    valid: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let at = |y| {
            Utc.with_ymd_and_hms(y, 3, 31, 10, 0, 0)
                .single()
                .expect("date")
        };
        let key = SigningKeyWithKid::from_seed("k2026", [1; 32]).expect("kid");
        let keys = KeySet::single(key.public_entry(at(2026))).expect("key set");
        let payload = LicensePayload {
            license_id: "lic-1".into(),
            kind: LicenseKind::File,
            customer: "Acme".into(),
            issued_at: at(2026),
            expire_at: at(2027),
            max_connections: 30,
            max_tags: 300,
            plugins: vec!["modbus-tcp".into()],
            hardware: None,
            product: None,
            order: None,
        };
        Fixture {
            keys,
            valid: sign_license(&payload, &key).into_bytes(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    match data {
        // Mode 0: one byte of the valid file changed.
        [0, hi, lo, value, ..] => {
            let pos = usize::from(u16::from_be_bytes([*hi, *lo])) % f.valid.len();
            let mut mutated = f.valid.clone();
            mutated[pos] = *value;
            let result = verify_license(&mutated, &f.keys);
            if mutated == f.valid {
                assert!(result.is_ok());
            } else {
                assert!(result.is_err(), "byte {pos} -> {value:#04x} accepted");
            }
        }
        // Otherwise: arbitrary bytes.
        _ => {
            if let Ok(license) = verify_license(data, &f.keys) {
                let now = license.payload().issued_at;
                let _ = check_for_install(&license, "ABCD", now);
            }
        }
    }
});
