//! Offline issuance: core's slot rule, then the ledger record committed,
//! then (only then) the license file written.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SubsecRound as _, Utc};
use licensedesk_core::Coded as _;
use licensedesk_core::clock::advance;
use licensedesk_core::delegate::{DelegateScope, delegated_payload};
use licensedesk_core::fingerprint::normalize_fingerprint;
use licensedesk_core::ledger::{ExportEntry, LedgerRecord, NewRecord, append, decide_issuance};
use licensedesk_core::license::sign_delegated_license;
use licensedesk_core::offline::Credential;
use rusqlite::TransactionBehavior;
use serde::Serialize;
use ts_rs::TS;

use crate::files::{read_request_file, write_atomically};
use crate::store::Kit;
use crate::{Error, Result};

/// A license the kit issued (or re-issued) for one gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Issued {
    pub allotment_id: String,
    pub fingerprint: String,
    pub slot: u32,
    pub seq: u64,
    pub license_id: String,
    /// RFC 3339.
    #[ts(type = "string")]
    pub issued_at: DateTime<Utc>,
    /// The gateway already had a license: the same one is returned and
    /// nothing new is recorded.
    pub reissue: bool,
    /// The armoured license text.
    pub license: String,
}

/// A point of [`Kit::issue_requests_with`] a caller may observe (the crash
/// tests abort there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueStage {
    /// The gateway's ledger record is committed; its file is not written yet.
    AfterLedger,
    /// The gateway's license file is written.
    AfterFile,
}

/// What happened to one gateway of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct GatewayOutcome {
    pub fingerprint: String,
    pub name: Option<String>,
    /// The license file written.
    #[ts(type = "string | null")]
    pub file: Option<PathBuf>,
    pub issued: Option<Issued>,
    /// Why it was refused (`code`, `message`, and the values the message
    /// is made of, for the UI to word it).
    pub code: Option<String>,
    pub message: Option<String>,
    #[ts(type = "Record<string, string | number | boolean | null>")]
    pub params: licensedesk_core::error::Params,
}

/// `t` rounded up to a whole second.
fn ceil_to_second(t: DateTime<Utc>) -> DateTime<Utc> {
    let whole = t.trunc_subsecs(0);
    if whole == t {
        whole
    } else {
        whole + chrono::Duration::seconds(1)
    }
}

/// Whether an allotment of `scope` issues for a request entry asking with
/// `credential`: an order allotment for its order or its order's product,
/// a product allotment for its product. An activation code is for the
/// server, never for a field kit.
fn request_in_scope(credential: &Credential, scope: &DelegateScope) -> bool {
    match credential {
        Credential::Order(o) => scope.order.as_deref() == Some(o.trim()),
        Credential::Product(p) => scope.product.as_deref() == Some(p.trim()),
        Credential::Code(_) => false,
    }
}

/// The license file name of a gateway.
pub fn license_file_name(fingerprint: &str) -> String {
    format!("license-{fingerprint}.lic")
}

fn issued_of(e: &ExportEntry, reissue: bool) -> Issued {
    let r: &LedgerRecord = &e.record;
    Issued {
        allotment_id: r.allotment_id.clone(),
        fingerprint: r.fingerprint.clone(),
        slot: r.slot,
        seq: r.seq,
        license_id: r.license_id.clone(),
        issued_at: r.issued_at,
        reissue,
        license: e.license.clone(),
    }
}

impl Kit {
    /// Issues (or re-issues) the license of `fingerprint` under
    /// `allotment_id` at `now`. A new license's ledger record is committed
    /// (durable) before this returns; nothing is written on refusal
    /// (`LEDGER_ALLOTMENT_EXHAUSTED`, `DELEGATE_CERT_EXPIRED`,
    /// `CLOCK_SET_BACK`, …).
    pub fn issue(
        &mut self,
        allotment_id: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Issued> {
        let fingerprint = normalize_fingerprint(fingerprint)?;
        // Licenses carry whole seconds. Rounded up, never down: a license
        // issued in the very second of its checkout must not predate the
        // certificate's (sub-second) `not_before`.
        let now = ceil_to_second(now);
        let dir = self.dir().to_owned();
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let a = Kit::allotment_in(&tx, allotment_id)?;
        let key = crate::DelegateKey::load(&dir, &a.cert.delegate_kid)?;
        let entries = Kit::entries_in(&tx, allotment_id)?;
        let records: Vec<LedgerRecord> = entries.iter().map(|e| e.record.clone()).collect();
        let mark = Kit::clock_mark_in(&tx)?;
        let decision = decide_issuance(&records, &a.cert, &fingerprint, now, mark)?;
        Kit::set_clock_mark_in(&tx, advance(mark, now))?;
        if decision.reissue {
            let existing = entries
                .iter()
                .find(|e| e.record.slot == decision.slot)
                .ok_or_else(|| Error::Db("a re-issued slot has no record".into()))?;
            let issued = issued_of(existing, true);
            tx.commit()?;
            return Ok(issued);
        }
        let license_id = format!("{}-{}", a.cert.allotment_id, decision.slot);
        let payload = delegated_payload(&a.cert, &license_id, &fingerprint, now);
        let license = sign_delegated_license(&payload, &a.cert_env, key.signing());
        let record = append(
            &records,
            NewRecord {
                allotment_id: &a.cert.allotment_id,
                slot: decision.slot,
                fingerprint: &fingerprint,
                license_id: &license_id,
                license_text: &license,
                issued_at: payload.issued_at,
            },
        );
        let entry = ExportEntry { record, license };
        Kit::insert_record(&tx, &entry)?;
        tx.commit()?;
        Ok(issued_of(&entry, false))
    }

    /// Issues the license of `fingerprint` and writes it into `out_dir`
    /// (after the ledger commit). Returns the license and its file.
    pub fn issue_to_file(
        &mut self,
        allotment_id: &str,
        fingerprint: &str,
        out_dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<(Issued, PathBuf)> {
        let issued = self.issue(allotment_id, fingerprint, now)?;
        let file = out_dir.join(license_file_name(&issued.fingerprint));
        write_atomically(&file, issued.license.as_bytes())?;
        Ok((issued, file))
    }

    /// Issues one license per gateway of the request files `requests`, each
    /// written into `out_dir`. A file that cannot be read or parsed fails
    /// the whole call before anything is issued; a gateway that is refused
    /// is reported in its outcome and the others go on.
    pub fn issue_requests(
        &mut self,
        allotment_id: &str,
        requests: &[PathBuf],
        out_dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<Vec<GatewayOutcome>> {
        self.issue_requests_with(allotment_id, requests, out_dir, now, &mut |_, _| {})
    }

    /// [`Kit::issue_requests`], calling `observe(stage, gateway index)` at
    /// each [`IssueStage`].
    pub fn issue_requests_with(
        &mut self,
        allotment_id: &str,
        requests: &[PathBuf],
        out_dir: &Path,
        now: DateTime<Utc>,
        observe: &mut dyn FnMut(IssueStage, usize),
    ) -> Result<Vec<GatewayOutcome>> {
        let scope = Kit::allotment_in(&self.db, allotment_id)?.cert.scope;
        let mut gateways = Vec::new();
        for path in requests {
            let request = read_request_file(path)?;
            for (i, g) in request.gateways().iter().enumerate() {
                if request_in_scope(&g.credential, &scope) {
                    gateways.push((g.fingerprint.clone(), g.name.clone()));
                    continue;
                }
                let found = match &g.credential {
                    Credential::Order(o) => format!("order '{o}'"),
                    Credential::Product(p) => format!("product '{p}'"),
                    Credential::Code(_) => "an activation code".to_owned(),
                };
                return Err(Error::OutOfScope {
                    gateway: i + 1,
                    found,
                    expected: scope
                        .reference()
                        .map_or_else(String::new, |r| r.to_string()),
                });
            }
        }
        let mut outcomes = Vec::with_capacity(gateways.len());
        for (index, (fingerprint, name)) in gateways.into_iter().enumerate() {
            let mut outcome = GatewayOutcome {
                fingerprint: fingerprint.clone(),
                name,
                file: None,
                issued: None,
                code: None,
                message: None,
                params: Default::default(),
            };
            match self.issue(allotment_id, &fingerprint, now) {
                Ok(issued) => {
                    observe(IssueStage::AfterLedger, index);
                    let file = out_dir.join(license_file_name(&issued.fingerprint));
                    write_atomically(&file, issued.license.as_bytes())?;
                    observe(IssueStage::AfterFile, index);
                    outcome.file = Some(file);
                    outcome.issued = Some(issued);
                }
                Err(e) => {
                    outcome.code = Some(e.code().to_owned());
                    outcome.message = Some(e.to_string());
                    outcome.params = licensedesk_core::Coded::params(&e);
                }
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}
