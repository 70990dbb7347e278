//! LicenseDesk gateway registry (domain.md §2), with no tauri.
//!
//! - [`Registry`]: this machine (always present, fingerprint computed
//!   locally) and gateways added from request files or typed fingerprints;
//!   each gateway's installed license as last known, previous ones kept as
//!   backups.
//! - The install pipeline ([`Registry::install_license_file`]): a path from
//!   the OS is read in one place ([`files::read_os_file`]) with a size cap
//!   before anything parses it, verified completely by `licensedesk-core`,
//!   then replaces the installed license atomically. Every failure has a
//!   stable [`Error::code`].
//! - Activation codes ([`Registry::activate_code`]): check symbol first,
//!   then online, or queued when the server is unreachable.
//! - Offline activation: request export, response import.
//! - Floating pools: the account's pools with their live leases (time
//!   left, the usage their heartbeats carry), releasing a lease.
//! - Usage (`usage`): samples from the gateways' own software only.
//! - Offline requests answered (`offline`): by the server, saved beside
//!   the requests, listed per gateway.
//! - Trust: the key set licenses are verified with comes from the app's
//!   trust source (the active profile's pinned set, [`Registry::trust_from`]).
//! - Alerts ([`alerts::observe`]): core's rules over each gateway's license.
//!
//! Rules live in `licensedesk-core`; this crate stores and orchestrates.

mod activation;
pub mod alerts;
pub mod dto;
mod error;
pub mod files;
mod floating;
mod install;
mod offline;
mod registry;
mod server;
pub mod usage;

pub use error::{Error, Result};
pub use offline::{RequestFile, read_request_files, response_path};
pub use registry::{
    APP_ID, InstallHook, InstallSource, MAX_MACHINE_ID_LEN, Registry, TrustSource,
    this_machine_fingerprint,
};
pub use server::ServerApi;
