//! LicenseDesk domain core.
//!
//! Every rule of `shared/docs/domain.md` lives here exactly once, as functions
//! and methods over plain types. The crate does no IO and never reads the
//! clock: every function that depends on time takes `now: DateTime<Utc>`.
//! Randomness is passed in as bytes for the same reason.
//!
//! Errors crossing a process boundary carry a stable `code()` (see [`Coded`]).

pub mod error;
// The bounds of every value that enters the system (domain.md §5).
pub mod bounds;

// Device activation codes (domain.md §1).
pub mod account;
pub mod codes;
pub mod datacenter;
pub mod device;
pub mod package;
pub mod validity;

// What the app watches for its user (issue 16).
pub mod alert;

// Gateway licenses (domain.md §2).
pub mod gateway;
pub mod lease;

// File formats and their verification.
pub mod activation_code;
pub mod clock;
pub mod delegate;
pub mod fingerprint;
pub mod keys;
pub mod ledger;
pub mod license;
pub mod offline;
pub mod trust;

pub use error::Coded;
