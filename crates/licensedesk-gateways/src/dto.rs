//! What the registry returns to the UI: plain serialisable structs with
//! TypeScript bindings (ts-rs). Every number and state is computed here (by
//! core's rules), never in the UI.

use chrono::{DateTime, Utc};
use licensedesk_core::gateway::{LicenseKind, TrialReason, Usage};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How a gateway license came to be (core's `LicenseKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum GatewayLicenseKind {
    Trial,
    File,
    Activation,
    Floating,
}

impl From<LicenseKind> for GatewayLicenseKind {
    fn from(k: LicenseKind) -> Self {
        match k {
            LicenseKind::Trial => Self::Trial,
            LicenseKind::File => Self::File,
            LicenseKind::Activation => Self::Activation,
            LicenseKind::Floating => Self::Floating,
        }
    }
}

/// How a gateway entered the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum GatewaySource {
    /// This computer, fingerprint computed locally.
    ThisMachine,
    /// From an offline activation request file.
    RequestFile,
    /// From a fingerprint typed by the user.
    Typed,
}

/// One gateway of the registry, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GatewaySummary {
    /// Stable id (the canonical fingerprint).
    pub id: String,
    pub name: String,
    pub fingerprint: String,
    pub this_machine: bool,
    pub source: GatewaySource,
    pub added_at: DateTime<Utc>,
    /// The kind in force now (`trial` when falling back).
    pub kind: GatewayLicenseKind,
    /// Whether a license (not the trial) applies now.
    pub licensed: bool,
    pub expire_at: Option<DateTime<Utc>>,
}

/// Why a gateway runs under the trial (core's `TrialReason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum TrialFallback {
    NoneInstalled,
    Expired { at: DateTime<Utc> },
    NotYetValid { from: DateTime<Utc> },
    HardwareMismatch { bound: String, actual: String },
}

impl From<TrialReason> for TrialFallback {
    fn from(r: TrialReason) -> Self {
        match r {
            TrialReason::NoneInstalled => Self::NoneInstalled,
            TrialReason::Expired { at } => Self::Expired { at },
            TrialReason::NotYetValid { from } => Self::NotYetValid { from },
            TrialReason::HardwareMismatch { bound, actual } => {
                Self::HardwareMismatch { bound, actual }
            }
        }
    }
}

/// Usage of one resource against its limit (core's `Usage`, with its
/// derived figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UsageView {
    pub in_use: u32,
    pub max: u32,
    /// Whole percent, rounded down; `null` when `max` is 0.
    pub percent: Option<u32>,
    pub over_limit: bool,
}

impl From<Usage> for UsageView {
    fn from(u: Usage) -> Self {
        Self {
            in_use: u.in_use(),
            max: u.max(),
            percent: u.percent(),
            over_limit: u.over_limit(),
        }
    }
}

/// The license installed on a gateway, as last known (it may be expired).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct InstalledLicense {
    pub license_id: String,
    pub customer: String,
    pub kind: GatewayLicenseKind,
    pub issued_at: DateTime<Utc>,
    pub expire_at: DateTime<Utc>,
    pub max_connections: u32,
    pub max_tags: u32,
    pub plugins: Vec<String>,
    /// The hardware it is bound to; `null` when not node-locked.
    pub hardware: Option<String>,
    pub order: Option<String>,
    pub installed_at: DateTime<Utc>,
}

/// The Gateway License page: what is in force now and what is installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GatewayLicenseView {
    pub gateway: GatewaySummary,
    /// The kind in force (`trial` when falling back).
    pub kind: GatewayLicenseKind,
    /// Set when the trial applies: why.
    pub trial: Option<TrialFallback>,
    /// Issued At / Expire At of the license in force (`null` under the trial).
    pub issued_at: Option<DateTime<Utc>>,
    pub expire_at: Option<DateTime<Utc>>,
    /// Whether the installed license has expired (shown as expired).
    pub expired: bool,
    pub connections: UsageView,
    pub tags: UsageView,
    /// Plugins enabled now (none under the trial).
    pub plugins: Vec<String>,
    /// Hardware the license in force is bound to.
    pub bound_hardware: Option<String>,
    /// The installed license, even when it no longer applies.
    pub installed: Option<InstalledLicense>,
    /// How many previous licenses are kept as backups.
    pub backups: u32,
    /// Activations waiting for the server.
    pub pending: Vec<PendingActivation>,
}

/// An activation queued while the server was unreachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PendingActivation {
    /// Idempotency key.
    pub key: String,
    pub gateway_id: String,
    /// The canonical activation code.
    pub code: String,
    pub queued_at: DateTime<Utc>,
    /// The server's refusal, kept for the user to see (never dropped).
    pub error: Option<ErrorView>,
}

/// A `{code, message}` error kept with an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ErrorView {
    pub code: String,
    pub message: String,
}

/// The result of installing a license file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct InstallOutcome {
    pub gateway_id: String,
    /// Whether a previous license was replaced (and kept as a backup).
    pub replaced: bool,
    pub backup: Option<String>,
    pub view: GatewayLicenseView,
}

/// The result of entering an activation code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ActivationOutcome {
    /// Activated online; the license is installed.
    Activated {
        reissued: bool,
        /// Licenses left on the order.
        remaining: u32,
        outcome: Box<InstallOutcome>,
    },
    /// The server was unreachable: queued, replayed when it is back.
    Queued { pending: PendingActivation },
}

/// One gateway's result of importing an offline response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OfflineImportItem {
    pub fingerprint: String,
    pub gateway_id: Option<String>,
    pub name: Option<String>,
    /// `installed`, `refused` (by the server) or `failed` (here).
    pub result: String,
    pub error: Option<ErrorView>,
}

/// An offline activation request, ready to be saved as a `.ldreq` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OfflineRequestFile {
    pub file_name: String,
    pub contents: String,
    pub gateways: u32,
}

/// Replay of queued activations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReplayReport {
    pub activated: u32,
    pub rejected: u32,
    pub still_pending: u32,
}

/// A gateway's floating lease, as the management platform reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FloatingStatus {
    pub pool: String,
    pub pool_points: u32,
    pub pool_in_use: u32,
    pub ttl_seconds: u32,
    /// This gateway's live lease, if any.
    pub lease_points: Option<u32>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// `leased` or `none` (lapsed or never claimed).
    pub state: String,
}
