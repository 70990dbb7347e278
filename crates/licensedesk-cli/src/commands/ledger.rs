//! `ldctl ledger verify FILE`: checks a field kit's ledger export with only
//! the trusted key set (certificate, signed head, hash chain, slot rule,
//! every license's chain). Exit 0 with a summary, or non-zero with the
//! reason and the record number.

use std::path::PathBuf;

use clap::Args;
use licensedesk_core::Coded as _;
use licensedesk_core::ledger::{MAX_EXPORT_LEN, verify_export};
use serde_json::json;

use super::load_keys;
use crate::output::{Failure, Outcome, Report};
use crate::store::{Home, read_capped};

#[derive(Args)]
pub struct LedgerVerifyArgs {
    /// The ledger export (JSON) of a field kit.
    pub file: PathBuf,
    /// The trusted public key set (default: HOME/keys.json).
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
}

pub fn verify(args: &LedgerVerifyArgs, home: &Home) -> Outcome {
    let keys = load_keys(args.keys.as_deref(), home)?;
    let bytes = read_capped(&args.file, MAX_EXPORT_LEN as u64)?;
    let ledger = verify_export(&bytes, &keys).map_err(|e| {
        let message = match e.record() {
            Some(n) => format!("{e} (record {n})"),
            None => e.to_string(),
        };
        Failure::new(e.code(), message)
    })?;
    let c = &ledger.cert;
    let s = &ledger.summary;
    let human = format!(
        "valid ledger: {} records, {} of {} allotment slots used\nAllotment:        {}\nDelegate key:     {}\nValid until:      {}\nHead hash:        {}\n",
        s.records,
        s.slots_used,
        c.max_licenses,
        c.allotment_id,
        c.delegate_kid,
        c.not_after.to_rfc3339(),
        s.head_hash
    );
    let json = json!({"records": s.records, "slots_used": s.slots_used, "max_licenses": c.max_licenses,
        "allotment_id": c.allotment_id, "delegate_kid": c.delegate_kid, "not_after": c.not_after,
        "head_hash": s.head_hash});
    Ok(Report::new(json, human))
}
