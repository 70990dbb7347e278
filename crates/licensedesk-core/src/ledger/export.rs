//! The ledger export: what a field kit uploads on reconcile and what
//! `ldctl ledger verify` checks.
//!
//! ```text
//! {"v":1,"cert":<certificate envelope>,
//!  "entries":[{"record":<LedgerRecord>,"license":"-----BEGIN LICENSEDESK LICENSE-----…"}],
//!  "head":<envelope signed by the delegate key under licensedesk/ledger-head/v1/,
//!          payload {"v":1,"allotment_id","count","head_hash"}>}
//! ```
//!
//! Verification needs only the server's [`KeySet`]: the certificate, the
//! head's signature by the certified delegate key, the chain, and every
//! license's own chain and its match with its record.

use serde::{Deserialize, Serialize};

use super::{ChainSummary, LedgerError, LedgerRecord, MAX_EXPORT_LEN, MAX_RECORDS, verify_chain};
use crate::delegate::{DelegateCert, sha256_hex, verify_cert};
use crate::fingerprint::same_hardware;
use crate::keys::{self, Envelope, KeySet, PublicKeyEntry, SigningKeyWithKid};
use crate::license::{LicensePayload, verify_license};

/// Context of the signed ledger head.
pub const LEDGER_HEAD_CONTEXT: &str = "licensedesk/ledger-head/v1/";

/// One exported record with the license it records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportEntry {
    pub record: LedgerRecord,
    pub license: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportWire {
    v: u32,
    cert: Envelope,
    entries: Vec<ExportEntry>,
    head: Envelope,
}

#[derive(Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Head {
    v: u32,
    allotment_id: String,
    count: u64,
    head_hash: String,
}

/// A ledger export whose every check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLedger {
    pub cert: DelegateCert,
    pub cert_envelope: Envelope,
    pub entries: Vec<ExportEntry>,
    /// The verified payload of each entry's license, in entry order.
    pub licenses: Vec<LicensePayload>,
    pub summary: ChainSummary,
}

/// Exports `entries` (the whole ledger, in order) with a head signed by the
/// delegate key. Pretty JSON.
pub fn export(
    cert: &Envelope,
    entries: &[ExportEntry],
    delegate_key: &SigningKeyWithKid,
) -> String {
    let (allotment_id, head_hash) = match entries.last() {
        Some(e) => (e.record.allotment_id.clone(), e.record.hash.clone()),
        None => {
            let id = allotment_of(cert).unwrap_or_default();
            let hash = super::genesis_hash(&id);
            (id, hash)
        }
    };
    let head = Head {
        v: 1,
        allotment_id,
        count: entries.len() as u64,
        head_hash,
    };
    // Strings and integers only: serialisation cannot fail.
    let head = keys::sign(
        LEDGER_HEAD_CONTEXT,
        delegate_key,
        &serde_json::to_vec(&head).unwrap_or_default(),
    );
    let wire = ExportWire {
        v: 1,
        cert: cert.clone(),
        entries: entries.to_vec(),
        head,
    };
    serde_json::to_string_pretty(&wire).unwrap_or_default()
}

/// The allotment id in a certificate envelope, unverified (export only).
fn allotment_of(cert: &Envelope) -> Option<String> {
    let bytes = keys::decode_payload(&cert.payload).ok()?;
    serde_json::from_slice::<DelegateCert>(&bytes)
        .ok()
        .map(|c| c.allotment_id)
}

fn malformed(detail: impl Into<String>) -> LedgerError {
    LedgerError::Malformed {
        detail: detail.into(),
    }
}

/// Verifies an export (size-capped) with only the server's key set.
pub fn verify_export(bytes: &[u8], roots: &KeySet) -> Result<VerifiedLedger, LedgerError> {
    if bytes.len() > MAX_EXPORT_LEN {
        return Err(LedgerError::TooLarge { len: bytes.len() });
    }
    let wire: ExportWire = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if wire.v != 1 {
        return Err(malformed(format!("version {} (expected 1)", wire.v)));
    }
    if wire.entries.len() > MAX_RECORDS {
        return Err(malformed(format!("more than {MAX_RECORDS} records")));
    }
    let cert = verify_cert(wire.cert.as_ref(), roots).map_err(LedgerError::Delegate)?;
    let records: Vec<LedgerRecord> = wire.entries.iter().map(|e| e.record.clone()).collect();
    let summary = verify_chain(&cert.allotment_id, cert.max_licenses, &records)?;
    check_head(&cert, &wire.head, &summary)?;
    let mut licenses = Vec::with_capacity(wire.entries.len());
    for (i, entry) in wire.entries.iter().enumerate() {
        licenses.push(check_entry(i as u64 + 1, entry, &cert, roots)?);
    }
    Ok(VerifiedLedger {
        cert,
        cert_envelope: wire.cert,
        entries: wire.entries,
        licenses,
        summary,
    })
}

fn check_head(
    cert: &DelegateCert,
    head: &Envelope,
    summary: &ChainSummary,
) -> Result<(), LedgerError> {
    let head_invalid = |detail: String| LedgerError::HeadInvalid { detail };
    let delegate = KeySet::single(PublicKeyEntry {
        kid: cert.delegate_kid.clone(),
        alg: keys::ALG_ED25519.to_owned(),
        public_key: cert.delegate_public_key.clone(),
        created_at: cert.not_before,
    })
    .map_err(|e| head_invalid(e.to_string()))?;
    let bytes = delegate
        .verify(LEDGER_HEAD_CONTEXT, head)
        .map_err(|e| head_invalid(e.to_string()))?;
    let head: Head = serde_json::from_slice(&bytes).map_err(|e| head_invalid(e.to_string()))?;
    if head.v != 1 || head.allotment_id != cert.allotment_id {
        return Err(head_invalid("version or allotment".into()));
    }
    if head.count != summary.records || head.head_hash != summary.head_hash {
        return Err(LedgerError::Truncated {
            expected: head.count,
            found: summary.records,
        });
    }
    Ok(())
}

/// Entry `n`'s license: its hash, its own chain (same certificate), and its
/// match with the record.
fn check_entry(
    n: u64,
    entry: &ExportEntry,
    cert: &DelegateCert,
    roots: &KeySet,
) -> Result<LicensePayload, LedgerError> {
    let mismatch = |detail: &str| LedgerError::LicenseMismatch {
        record: n,
        detail: detail.to_owned(),
    };
    let r = &entry.record;
    if sha256_hex(entry.license.as_bytes()) != r.license_hash {
        return Err(mismatch("license hash"));
    }
    let verified = verify_license(entry.license.as_bytes(), roots)
        .map_err(|error| LedgerError::License { record: n, error })?;
    if verified.delegate() != Some(cert) {
        return Err(mismatch(
            "the license was not issued under this ledger's certificate",
        ));
    }
    let p = verified.into_payload();
    let same_fp = p
        .hardware
        .as_deref()
        .is_some_and(|h| same_hardware(h, &r.fingerprint));
    if p.license_id != r.license_id || p.issued_at != r.issued_at || !same_fp {
        return Err(mismatch("license id, issue time or hardware"));
    }
    Ok(p)
}
