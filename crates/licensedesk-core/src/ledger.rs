//! The issuance ledger of a field kit: one append-only, hash-chained record
//! per license issued offline under a delegate certificate.
//!
//! Each [`LedgerRecord`] holds `seq` (1, 2, …), `prev_hash` (the previous
//! record's `hash`; the first record's is [`genesis_hash`] of the allotment),
//! what was issued, and `hash` = SHA-256 of
//! `licensedesk/ledger/v1/` + the canonical JSON of every other field.
//! [`verify_chain`] detects an edited record (its hash), a deleted, inserted
//! or reordered one (`seq` and `prev_hash`). The export ([`export`]) adds the
//! licenses, the certificate and a head (count + last hash) signed by the
//! delegate key, so a truncated export is detected too.
//!
//! **Slot rule.** Allotment slots are 1..=N. A fingerprint seen before
//! reuses its slot (re-issuing for the same hardware costs nothing); a new
//! fingerprint takes the next slot; beyond N, after the certificate's
//! validity, or with a clock set back, issuing is refused
//! ([`decide_issuance`]).

mod export;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::{ClockError, check_clock};
use crate::delegate::{DelegateCert, DelegateError, sha256_hex};
use crate::error::Coded;
use crate::fingerprint::{normalize_fingerprint, same_hardware};
use crate::license::LicenseError;

pub use export::{ExportEntry, LEDGER_HEAD_CONTEXT, VerifiedLedger, export, verify_export};

/// Prefix of every hashed record (domain separation).
pub const LEDGER_HASH_CONTEXT: &str = "licensedesk/ledger/v1/";
/// An export larger than this is refused before it is parsed.
pub const MAX_EXPORT_LEN: usize = 32 * 1024 * 1024;
/// A ledger holds at most this many records.
pub const MAX_RECORDS: usize = 20_000;

/// One issuance. `hash` covers every other field and `prev_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerRecord {
    pub seq: u64,
    pub prev_hash: String,
    pub issued_at: DateTime<Utc>,
    pub allotment_id: String,
    pub slot: u32,
    pub fingerprint: String,
    pub license_id: String,
    /// Hex SHA-256 of the armoured license text.
    pub license_hash: String,
    pub hash: String,
}

/// The hashed part of a record, in canonical field order.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    prev_hash: &'a str,
    issued_at: DateTime<Utc>,
    allotment_id: &'a str,
    slot: u32,
    fingerprint: &'a str,
    license_id: &'a str,
    license_hash: &'a str,
}

/// Why a ledger or an issuance was refused. `record` is the 1-based
/// position of the offending record in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum LedgerError {
    #[error("the ledger file is too large ({len} bytes; at most {MAX_EXPORT_LEN})")]
    TooLarge { len: usize },
    #[error("the ledger is not a LicenseDesk ledger export ({detail})")]
    Malformed { detail: String },
    #[error(
        "record {record}: sequence number {seq} where {record} was expected (a record was deleted, inserted or moved)"
    )]
    SequenceBroken { record: u64, seq: u64 },
    #[error(
        "record {record}: it does not follow the previous record (a record before it was deleted, inserted or replaced)"
    )]
    ChainBroken { record: u64 },
    #[error("record {record}: its content does not match its hash (the record was edited)")]
    RecordAltered { record: u64 },
    #[error("record {record}: it belongs to allotment '{found}', not '{expected}'")]
    AllotmentMismatch {
        record: u64,
        found: String,
        expected: String,
    },
    #[error(
        "record {record}: slot {slot} breaks the slot rule (a new gateway takes the next slot, the same gateway keeps its slot)"
    )]
    SlotInvalid { record: u64, slot: u32 },
    #[error(
        "record {record}: the allotment of {max} licenses is used up: check out a new allotment"
    )]
    AllotmentExhausted { record: u64, max: u32 },
    #[error("the ledger head is missing or not signed by the delegate key ({detail})")]
    HeadInvalid { detail: String },
    #[error(
        "the ledger ends early: its signed head names {expected} records, the file has {found} (records were deleted)"
    )]
    Truncated { expected: u64, found: u64 },
    #[error("record {record}: the license does not match the record ({detail})")]
    LicenseMismatch { record: u64, detail: String },
    #[error("record {record}: {error}")]
    License { record: u64, error: LicenseError },
    #[error(transparent)]
    Delegate(DelegateError),
    #[error(transparent)]
    Clock(ClockError),
}

impl Coded for LedgerError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "LEDGER_TOO_LARGE",
            Self::Malformed { .. } => "LEDGER_MALFORMED",
            Self::SequenceBroken { .. } => "LEDGER_SEQUENCE_BROKEN",
            Self::ChainBroken { .. } => "LEDGER_CHAIN_BROKEN",
            Self::RecordAltered { .. } => "LEDGER_RECORD_ALTERED",
            Self::AllotmentMismatch { .. } => "LEDGER_ALLOTMENT_MISMATCH",
            Self::SlotInvalid { .. } => "LEDGER_SLOT_INVALID",
            Self::AllotmentExhausted { .. } => "LEDGER_ALLOTMENT_EXHAUSTED",
            Self::HeadInvalid { .. } => "LEDGER_HEAD_INVALID",
            Self::Truncated { .. } => "LEDGER_TRUNCATED",
            Self::LicenseMismatch { .. } => "LEDGER_LICENSE_MISMATCH",
            Self::License { error, .. } => error.code(),
            Self::Delegate(e) => e.code(),
            Self::Clock(e) => e.code(),
        }
    }
}

impl LedgerError {
    /// The 1-based record the error is about, if any.
    pub fn record(&self) -> Option<u64> {
        match self {
            Self::SequenceBroken { record, .. }
            | Self::ChainBroken { record }
            | Self::RecordAltered { record }
            | Self::AllotmentMismatch { record, .. }
            | Self::SlotInvalid { record, .. }
            | Self::AllotmentExhausted { record, .. }
            | Self::LicenseMismatch { record, .. }
            | Self::License { record, .. } => Some(*record),
            _ => None,
        }
    }
}

/// The `prev_hash` of an allotment's first record.
pub fn genesis_hash(allotment_id: &str) -> String {
    sha256_hex(format!("{LEDGER_HASH_CONTEXT}genesis/{allotment_id}").as_bytes())
}

/// The hash a record must carry.
pub fn record_hash(r: &LedgerRecord) -> String {
    let hashed = Hashed {
        seq: r.seq,
        prev_hash: &r.prev_hash,
        issued_at: r.issued_at,
        allotment_id: &r.allotment_id,
        slot: r.slot,
        fingerprint: &r.fingerprint,
        license_id: &r.license_id,
        license_hash: &r.license_hash,
    };
    // Strings, integers and RFC 3339 dates only: serialisation cannot fail.
    let mut bytes = LEDGER_HASH_CONTEXT.as_bytes().to_vec();
    bytes.extend(serde_json::to_vec(&hashed).unwrap_or_default());
    sha256_hex(&bytes)
}

/// Where the next license goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issuance {
    pub slot: u32,
    /// The fingerprint already had a slot: a re-issue, no new slot used.
    pub reissue: bool,
}

/// The slot of `fingerprint`, or the next free one.
fn slot_for(records: &[LedgerRecord], fingerprint: &str) -> Issuance {
    match records
        .iter()
        .find(|r| same_hardware(&r.fingerprint, fingerprint))
    {
        Some(r) => Issuance {
            slot: r.slot,
            reissue: true,
        },
        None => Issuance {
            slot: records
                .iter()
                .map(|r| r.slot)
                .max()
                .unwrap_or(0)
                .saturating_add(1),
            reissue: false,
        },
    }
}

/// Decides whether the kit may issue a license for `fingerprint` at `now`
/// (`clock_mark`: the latest time it has trusted; see [`crate::clock`]).
pub fn decide_issuance(
    records: &[LedgerRecord],
    cert: &DelegateCert,
    fingerprint: &str,
    now: DateTime<Utc>,
    clock_mark: Option<DateTime<Utc>>,
) -> Result<Issuance, LedgerError> {
    check_clock(clock_mark, now, None).map_err(LedgerError::Clock)?;
    if now < cert.not_before || now >= cert.not_after {
        return Err(LedgerError::Delegate(DelegateError::CertExpired {
            at: now,
            not_before: cert.not_before,
            not_after: cert.not_after,
        }));
    }
    let issuance = slot_for(records, fingerprint);
    if issuance.slot > cert.max_licenses {
        return Err(LedgerError::AllotmentExhausted {
            record: records.len() as u64 + 1,
            max: cert.max_licenses,
        });
    }
    Ok(issuance)
}

/// What [`append`] records.
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    pub allotment_id: &'a str,
    pub slot: u32,
    pub fingerprint: &'a str,
    pub license_id: &'a str,
    pub license_text: &'a str,
    pub issued_at: DateTime<Utc>,
}

/// The record that follows `records` (the whole ledger so far).
pub fn append(records: &[LedgerRecord], new: NewRecord<'_>) -> LedgerRecord {
    let (seq, prev_hash) = match records.last() {
        Some(last) => (last.seq.saturating_add(1), last.hash.clone()),
        None => (1, genesis_hash(new.allotment_id)),
    };
    let mut record = LedgerRecord {
        seq,
        prev_hash,
        issued_at: new.issued_at,
        allotment_id: new.allotment_id.to_owned(),
        slot: new.slot,
        fingerprint: new.fingerprint.to_owned(),
        license_id: new.license_id.to_owned(),
        license_hash: sha256_hex(new.license_text.as_bytes()),
        hash: String::new(),
    };
    record.hash = record_hash(&record);
    record
}

/// What a verified chain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    pub records: u64,
    /// Distinct slots (gateways) used.
    pub slots_used: u32,
    /// The last record's hash (the genesis hash when empty).
    pub head_hash: String,
}

fn hardware_key(fingerprint: &str) -> String {
    normalize_fingerprint(fingerprint).unwrap_or_else(|_| fingerprint.to_owned())
}

/// Record `n`'s sequence number, link to `prev`, own hash and allotment.
fn check_link(allotment_id: &str, prev: &str, n: u64, r: &LedgerRecord) -> Result<(), LedgerError> {
    if r.seq != n {
        return Err(LedgerError::SequenceBroken {
            record: n,
            seq: r.seq,
        });
    }
    if r.prev_hash != prev {
        return Err(LedgerError::ChainBroken { record: n });
    }
    if record_hash(r) != r.hash {
        return Err(LedgerError::RecordAltered { record: n });
    }
    if r.allotment_id != allotment_id {
        return Err(LedgerError::AllotmentMismatch {
            record: n,
            found: r.allotment_id.chars().take(128).collect(),
            expected: allotment_id.to_owned(),
        });
    }
    Ok(())
}

/// Verifies the hash chain of an allotment's records and the slot rule
/// (slots never beyond `max_licenses`).
pub fn verify_chain(
    allotment_id: &str,
    max_licenses: u32,
    records: &[LedgerRecord],
) -> Result<ChainSummary, LedgerError> {
    let mut prev = genesis_hash(allotment_id);
    let mut slots = std::collections::HashMap::<String, u32>::new();
    for (i, r) in records.iter().enumerate() {
        let n = i as u64 + 1;
        check_link(allotment_id, &prev, n, r)?;
        let next = u32::try_from(slots.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let expected = *slots.entry(hardware_key(&r.fingerprint)).or_insert(next);
        if r.slot > max_licenses {
            return Err(LedgerError::AllotmentExhausted {
                record: n,
                max: max_licenses,
            });
        }
        if r.slot != expected {
            return Err(LedgerError::SlotInvalid {
                record: n,
                slot: r.slot,
            });
        }
        prev.clone_from(&r.hash);
    }
    Ok(ChainSummary {
        records: records.len() as u64,
        slots_used: records.iter().map(|r| r.slot).max().unwrap_or(0),
        head_hash: prev,
    })
}
