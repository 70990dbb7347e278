//! Delegated licenses (issued offline by a field kit) install with only the
//! trusted key set; `ldctl ledger verify` checks a ledger export.

use std::fs;

use chrono::{DateTime, Utc};
use licensedesk_core::delegate::{DelegateCert, DelegateScope, delegated_payload, sign_cert};
use licensedesk_core::gateway::LicenseKind;
use licensedesk_core::keys::{Envelope, SigningKeyWithKid};
use licensedesk_core::ledger::{ExportEntry, NewRecord, append, export};
use licensedesk_core::license::{LicensePayload, sign_delegated_license};

use crate::{World, error_code, json, s};

const NOW: &str = "2026-06-01T00:00:00Z";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("instant")
}

/// The world's trusted server key (`issuer/signing-key.json`).
fn root(world: &World) -> SigningKeyWithKid {
    let file: serde_json::Value =
        serde_json::from_slice(&fs::read(world.path("issuer/signing-key.json")).expect("key"))
            .expect("json");
    let seed: [u8; 32] = hex::decode(file["seed"].as_str().expect("seed"))
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    SigningKeyWithKid::from_seed(file["kid"].as_str().expect("kid"), seed).expect("key")
}

struct Field {
    key: SigningKeyWithKid,
    cert: DelegateCert,
    env: Envelope,
}

fn field(signer: &SigningKeyWithKid) -> Field {
    let key = SigningKeyWithKid::from_seed("laptop-1", [5; 32]).expect("kid");
    let cert = DelegateCert {
        v: 1,
        allotment_id: "alt-cli".into(),
        delegate_kid: key.kid().into(),
        delegate_public_key: DelegateCert::public_key_of(&key),
        scope: DelegateScope {
            kind: LicenseKind::Activation,
            customer: "ACME Water".into(),
            order: Some("ORD-1001".into()),
            product: None,
            plugins: vec!["modbus-tcp".into()],
            max_connections: 100,
            max_tags: 5000,
            max_license_days: 365,
        },
        max_licenses: 3,
        not_before: t("2026-05-01T00:00:00Z"),
        not_after: t("2026-05-08T00:00:00Z"),
    };
    let env = sign_cert(&cert, signer);
    Field { key, cert, env }
}

impl Field {
    fn payload(&self, fp: &str) -> LicensePayload {
        delegated_payload(&self.cert, "lic-f1", fp, t("2026-05-02T00:00:00Z"))
    }
    fn write(&self, world: &World, name: &str, p: &LicensePayload) -> std::path::PathBuf {
        let path = world.path(name);
        fs::write(&path, sign_delegated_license(p, &self.env, &self.key)).expect("write");
        path
    }
}

#[test]
fn a_delegated_license_installs_and_a_broken_chain_changes_nothing() {
    let world = World::new();
    let fp = world.fingerprint();
    let f = field(&root(&world));
    let good = f.write(&world, "good.lic", &f.payload(&fp));
    let out = json(&world.run(&["install", "--json", s(&good), "--now", NOW]));
    assert_eq!(out["delegate"]["allotment_id"], "alt-cli", "{out}");
    let installed = fs::read(world.home().join("license.lic")).expect("installed");

    let mut wide = f.payload(&fp);
    wide.plugins.push("bacnet".into());
    let rogue = field(&SigningKeyWithKid::from_seed("k1", [42; 32]).expect("kid"));
    let cases = [
        (
            f.write(&world, "wide.lic", &wide),
            "DELEGATE_SCOPE_EXCEEDED",
        ),
        (
            rogue.write(&world, "rogue.lic", &rogue.payload(&fp)),
            "DELEGATE_CERT_SIGNATURE_INVALID",
        ),
        (
            f.write(
                &world,
                "other.lic",
                &f.payload("ff00ff00ff00ff00ff00ff00ff00ff00"),
            ),
            "LICENSE_HARDWARE_MISMATCH",
        ),
    ];
    for (file, want) in cases {
        let out = world.run(&["install", "--json", s(&file), "--now", NOW]);
        assert_eq!(error_code(&out), want);
        let now = fs::read(world.home().join("license.lic")).expect("installed");
        assert_eq!(now, installed, "{want}: the installed license must stay");
    }
    let v = world.run(&["verify", s(&good), "--now", NOW]);
    assert!(String::from_utf8_lossy(&v.stdout).contains("allotment alt-cli"));
}

#[test]
fn a_license_out_of_its_product_scope_is_refused_with_its_code() {
    let world = World::new();
    let fp = world.fingerprint();
    let server = root(&world);
    let mut f = field(&server);
    f.cert.scope.order = None;
    f.cert.scope.product = Some("edge-gateway-pro".into());
    f.env = sign_cert(&f.cert, &server);
    let good = f.write(&world, "pro.lic", &f.payload(&fp));
    let out = json(&world.run(&["install", "--json", s(&good), "--now", NOW]));
    assert_eq!(out["product"], "edge-gateway-pro", "{out}");
    assert_eq!(
        out["delegate"]["scope"],
        serde_json::json!({"order": null, "product": "edge-gateway-pro"})
    );
    let installed = fs::read(world.home().join("license.lic")).expect("installed");

    let mut lite = f.payload(&fp);
    lite.product = Some("edge-gateway-lite".into());
    let mut one_order = f.payload(&fp);
    one_order.order = Some("ORD-1001".into());
    for (name, p) in [("lite.lic", &lite), ("order.lic", &one_order)] {
        let file = f.write(&world, name, p);
        for command in ["verify", "install"] {
            let out = world.run(&[command, "--json", s(&file), "--now", NOW]);
            assert_eq!(
                error_code(&out),
                "DELEGATE_SCOPE_EXCEEDED",
                "{command} {name}"
            );
        }
        let now = fs::read(world.home().join("license.lic")).expect("installed");
        assert_eq!(now, installed, "{name}: the installed license must stay");
    }
    let v = world.run(&["verify", s(&good), "--now", NOW]);
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(
        text.contains("allotment alt-cli for product 'edge-gateway-pro'"),
        "{text}"
    );
}

fn ledger(f: &Field, n: u32) -> (Vec<ExportEntry>, String) {
    let mut entries: Vec<ExportEntry> = Vec::new();
    for i in 1..=n {
        let fp = format!("{i:032x}");
        let mut p = f.payload(&fp);
        p.license_id = format!("lic-{i}");
        let license = sign_delegated_license(&p, &f.env, &f.key);
        let records: Vec<_> = entries.iter().map(|e| e.record.clone()).collect();
        let record = append(
            &records,
            NewRecord {
                allotment_id: "alt-cli",
                slot: i,
                fingerprint: &fp,
                license_id: &p.license_id,
                license_text: &license,
                issued_at: p.issued_at,
            },
        );
        entries.push(ExportEntry { record, license });
    }
    let text = export(&f.env, &entries, &f.key);
    (entries, text)
}

#[test]
fn ledger_verify_summarises_or_names_the_broken_record() {
    let world = World::new();
    let f = field(&root(&world));
    let (entries, text) = ledger(&f, 3);
    let file = world.path("ledger.json");
    fs::write(&file, &text).expect("write");
    let out = json(&world.run(&["ledger", "verify", "--json", s(&file)]));
    assert_eq!(
        (out["records"].as_u64(), out["slots_used"].as_u64()),
        (Some(3), Some(3))
    );
    let human = world.run(&["ledger", "verify", s(&file)]);
    assert!(human.status.success());
    assert!(String::from_utf8_lossy(&human.stdout).contains("3 records, 3 of 3"));

    let tampered = text.replacen(&entries[1].record.fingerprint, &format!("{:032x}", 9), 1);
    fs::write(&file, tampered).expect("write");
    let out = world.run(&["ledger", "verify", "--json", s(&file)]);
    assert_eq!(error_code(&out), "LEDGER_RECORD_ALTERED");
    let message = json(&out)["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(message.contains("record 2"), "{message}");
}
