//! The laptop side of offline field activation (issue 6), without tauri.
//!
//! A [`Kit`] lives in one data directory: its delegate keys (one per
//! allotment, `keys/<kid>.key`, 0600, generated from OS randomness; a
//! private key never leaves the machine) and `field.sqlite3` (allotments,
//! the hash-chained issuance ledger, the clock guard's high-water mark).
//!
//! - [`checkout`] (online): reserve N licenses of an order, or of a gateway
//!   product's orders, for D days; the server signs a delegate certificate
//!   for this kit's public key.
//! - [`Kit::issue`] / [`Kit::issue_requests`] (offline): one delegated
//!   license per gateway under core's slot rule ([`decide_issuance`]); the
//!   ledger record is committed (`synchronous=FULL`) **before** any license
//!   file is written (temp + fsync + rename).
//! - [`reconcile`] (online): upload the ledger export with an
//!   `Idempotency-Key`; store each record's result. Safe to repeat.
//!
//! Every rule is licensedesk-core's; this crate stores, signs and moves
//! files.
//!
//! [`decide_issuance`]: licensedesk_core::ledger::decide_issuance

mod error;
mod files;
mod issue;
mod key;
mod online;
mod store;

pub use error::{Error, Result};
pub use files::{read_request_file, write_atomically};
pub use issue::{GatewayOutcome, IssueStage, Issued};
pub use key::DelegateKey;
pub use online::{AuditEntry, AuditPage, ReconcileOutcome, audit, checkout, reconcile};
pub use store::{AllotmentScope, AllotmentSummary, IssuedView, Kit, ScopeKind, SyncState};
