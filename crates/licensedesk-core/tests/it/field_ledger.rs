//! The issuance ledger: slot rule, tamper detection, export, no panics.

use chrono::Duration;
use licensedesk_core::Coded;
use licensedesk_core::delegate::delegated_payload;
use licensedesk_core::fingerprint::fingerprint;
use licensedesk_core::ledger::{
    ExportEntry, LedgerRecord, NewRecord, append, decide_issuance, export, verify_chain,
    verify_export,
};
use proptest::prelude::*;

use crate::field_delegate::{Kit, kit};
use crate::support::*;

fn gateway(i: u32) -> String {
    fingerprint(format!("gateway-{i}").as_bytes(), "licensedesk")
}

/// Issues for each fingerprint in turn, as a field kit does.
fn issue_all(k: &Kit, fps: &[String]) -> Vec<ExportEntry> {
    let mut entries: Vec<ExportEntry> = Vec::new();
    for (i, fp) in fps.iter().enumerate() {
        let now = at(2026, 4, 1, 8) + Duration::minutes(i as i64);
        let records: Vec<LedgerRecord> = entries.iter().map(|e| e.record.clone()).collect();
        let issuance = decide_issuance(&records, &k.cert, fp, now, None).expect("issuable");
        let license_id = format!("lic-f-{}", i + 1);
        let license = k.license(&delegated_payload(&k.cert, &license_id, fp, now));
        let record = append(
            &records,
            NewRecord {
                allotment_id: &k.cert.allotment_id,
                slot: issuance.slot,
                fingerprint: fp,
                license_id: &license_id,
                license_text: &license,
                issued_at: now,
            },
        );
        entries.push(ExportEntry { record, license });
    }
    entries
}

fn records(entries: &[ExportEntry]) -> Vec<LedgerRecord> {
    entries.iter().map(|e| e.record.clone()).collect()
}

fn chain_code(records: &[LedgerRecord]) -> Result<(), (&'static str, Option<u64>)> {
    verify_chain("alt-0001", 5, records)
        .map(|_| ())
        .map_err(|e| (e.code(), e.record()))
}

#[test]
fn slots_are_reused_for_the_same_hardware_and_refused_beyond_n() {
    let k = kit();
    let fps: Vec<String> = [1, 2, 1, 3, 4, 5, 2].map(gateway).to_vec();
    let entries = issue_all(&k, &fps);
    let slots: Vec<u32> = entries.iter().map(|e| e.record.slot).collect();
    assert_eq!(slots, [1, 2, 1, 3, 4, 5, 2]);
    let recs = records(&entries);
    let summary = verify_chain("alt-0001", 5, &recs).expect("valid chain");
    assert_eq!((summary.records, summary.slots_used), (7, 5));
    let now = at(2026, 4, 2, 0);
    let sixth = decide_issuance(&recs, &k.cert, &gateway(6), now, None);
    assert_eq!(
        sixth.map_err(|e| e.code()),
        Err("LEDGER_ALLOTMENT_EXHAUSTED")
    );
    let again = decide_issuance(&recs, &k.cert, &gateway(3), now, None).expect("re-issue");
    assert_eq!((again.slot, again.reissue), (3, true));
    let late = decide_issuance(&recs, &k.cert, &gateway(3), at(2026, 4, 30, 0), None);
    assert_eq!(late.map_err(|e| e.code()), Err("DELEGATE_CERT_EXPIRED"));
    let set_back = decide_issuance(
        &recs,
        &k.cert,
        &gateway(3),
        now,
        Some(now + Duration::minutes(61)),
    );
    assert_eq!(set_back.map_err(|e| e.code()), Err("CLOCK_SET_BACK"));
}

#[test]
fn edited_deleted_reordered_and_inserted_records_are_detected() {
    let k = kit();
    let recs = records(&issue_all(&k, &[1, 2, 3, 4].map(gateway)));
    assert_eq!(chain_code(&recs), Ok(()));
    let mut edited = recs.clone();
    edited[1].fingerprint = gateway(9);
    let mut deleted = recs.clone();
    deleted.remove(1);
    let mut renumbered = deleted.clone();
    for (i, r) in renumbered.iter_mut().enumerate() {
        r.seq = i as u64 + 1;
    }
    let mut reordered = recs.clone();
    reordered.swap(1, 2);
    let mut inserted = recs.clone();
    inserted.insert(2, recs[1].clone());
    let mut other_slot = recs.clone();
    other_slot[3].slot = 1;
    let cases = [
        (edited, ("LEDGER_RECORD_ALTERED", Some(2))),
        (deleted, ("LEDGER_SEQUENCE_BROKEN", Some(2))),
        (renumbered, ("LEDGER_CHAIN_BROKEN", Some(2))),
        (reordered, ("LEDGER_SEQUENCE_BROKEN", Some(2))),
        (inserted, ("LEDGER_SEQUENCE_BROKEN", Some(3))),
        (other_slot, ("LEDGER_RECORD_ALTERED", Some(4))),
    ];
    for (i, (recs, want)) in cases.into_iter().enumerate() {
        assert_eq!(chain_code(&recs), Err(want), "case {i}");
    }
}

#[test]
fn export_round_trip_and_tampering() {
    let k = kit();
    let entries = issue_all(&k, &[1, 2, 3].map(gateway));
    let text = export(&k.cert_env, &entries, &k.delegate);
    let v = verify_export(text.as_bytes(), &k.roots).expect("valid export");
    assert_eq!((v.summary.records, v.licenses.len()), (3, 3));
    let code = |e: &[ExportEntry], signer| {
        verify_export(export(&k.cert_env, e, signer).as_bytes(), &k.roots)
            .map(|_| ())
            .map_err(|e| e.code())
    };
    let truncated = &entries[..2];
    let stranger = key("field-laptop-1", 9);
    // A truncation re-signed by someone else's key.
    assert_eq!(code(truncated, &stranger), Err("LEDGER_HEAD_INVALID"));
    let mut swapped = entries.clone();
    swapped[0].license = entries[1].license.clone();
    assert_eq!(code(&swapped, &k.delegate), Err("LEDGER_LICENSE_MISMATCH"));
    // Truncated with the original head.
    let mut wire: serde_json::Value = serde_json::from_str(&text).expect("json");
    wire["entries"].as_array_mut().expect("entries").pop();
    let cut = serde_json::to_vec(&wire).expect("json");
    let got = verify_export(&cut, &k.roots)
        .map(|_| ())
        .map_err(|e| e.code());
    assert_eq!(got, Err("LEDGER_TRUNCATED"));
    let too_big = vec![b' '; licensedesk_core::ledger::MAX_EXPORT_LEN + 1];
    let got = verify_export(&too_big, &k.roots)
        .map(|_| ())
        .map_err(|e| e.code());
    assert_eq!(got, Err("LEDGER_TOO_LARGE"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let k = kit();
        prop_assert!(verify_export(&bytes, &k.roots).is_err());
    }

    #[test]
    fn any_single_field_edit_breaks_the_chain(which in 0usize..3, field in 0u8..6, n in 1u64..1000) {
        let k = kit();
        let mut recs = records(&issue_all(&k, &[1, 2, 3].map(gateway)));
        let r = &mut recs[which];
        match field {
            0 => r.seq = r.seq.wrapping_add(n),
            1 => r.issued_at += Duration::seconds(n as i64),
            2 => r.slot = r.slot.wrapping_add(n as u32),
            3 => r.license_id.push_str(&n.to_string()),
            4 => r.license_hash = format!("{n:064x}"),
            _ => r.prev_hash = format!("{n:064x}"),
        }
        prop_assert!(chain_code(&recs).is_err());
    }
}
