//! What the registry returns to the UI: plain serialisable structs with
//! TypeScript bindings (ts-rs). Every number and state is computed here (by
//! core's rules), never in the UI.

use chrono::{DateTime, Utc};
use licensedesk_core::gateway::{LicenseKind, TrialReason, Usage};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The TypeScript face of core's [`LicenseKind`], which the DTOs below hold
/// (`#[ts(as = "GatewayLicenseKind")]`): core knows no ts-rs, so its type
/// is named and declared here, as the union of [`LicenseKind::ALL`]'s
/// names (`GatewayLicenseKind.ts`). No value of it exists.
pub enum GatewayLicenseKind {}

impl TS for GatewayLicenseKind {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;
    const IS_ENUM: bool = true;

    fn docs() -> Option<String> {
        Some("/**\n * How a gateway license came to be (core's `LicenseKind`).\n */\n".into())
    }
    fn ident(_: &ts_rs::Config) -> String {
        "GatewayLicenseKind".into()
    }
    fn name(_: &ts_rs::Config) -> String {
        "GatewayLicenseKind".into()
    }
    fn inline(_: &ts_rs::Config) -> String {
        LicenseKind::ALL
            .map(|k| format!("\"{}\"", k.as_str()))
            .join(" | ")
    }
    fn decl(cfg: &ts_rs::Config) -> String {
        format!("type GatewayLicenseKind = {};", Self::inline(cfg))
    }
    fn decl_concrete(cfg: &ts_rs::Config) -> String {
        Self::decl(cfg)
    }
    fn output_path() -> Option<std::path::PathBuf> {
        Some("GatewayLicenseKind.ts".into())
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
    /// From a usage file (`ldctl usage export`).
    UsageFile,
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
    #[ts(as = "GatewayLicenseKind")]
    pub kind: LicenseKind,
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
    #[ts(as = "GatewayLicenseKind")]
    pub kind: LicenseKind,
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
    #[ts(as = "GatewayLicenseKind")]
    pub kind: LicenseKind,
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
    /// When the figures in use were reported by the gateway's software
    /// (`null`: never; then `connections.in_use` and `tags.in_use` are 0
    /// only because nothing reported them, and the page says so).
    pub usage_reported_at: Option<DateTime<Utc>>,
    /// Running under the trial with more in use than the trial allows.
    pub over_trial: bool,
    /// Offline requests of this gateway answered here, newest first.
    pub answers: Vec<RequestAnswer>,
}

/// A usage file imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UsageImport {
    pub gateway_id: String,
    /// The gateway was not in the registry and was added.
    pub added: bool,
    pub samples: u32,
    /// The newest sample's figures.
    pub connections: u32,
    pub tags: u32,
    pub at: Option<DateTime<Utc>>,
}

/// One gateway's answer to an offline request (`ldctl request`), saved
/// beside the request file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RequestAnswer {
    pub request_file: String,
    pub fingerprint: String,
    /// The registry's gateway (added from the request when new).
    pub gateway_id: Option<String>,
    pub name: Option<String>,
    /// `issued` or `refused`.
    pub result: String,
    /// `server` (online) or `field_kit` (offline, a field allotment).
    pub via: String,
    /// The response bundle (server) or license file (field kit) written.
    pub response_file: Option<String>,
    pub at: DateTime<Utc>,
    pub error: Option<ErrorView>,
}

/// One live lease of a floating pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LeaseView {
    pub fingerprint: String,
    /// The registry's gateway of this hardware, if any.
    pub gateway_id: Option<String>,
    pub gateway_name: Option<String>,
    /// That gateway is this machine (the UI names it in the user's language).
    pub this_machine: bool,
    pub points: u32,
    pub claimed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Whole seconds until the lease lapses without a heartbeat (by the
    /// server's clock).
    pub seconds_left: u32,
    /// What its last heartbeat reported in use, and when.
    pub connections: Option<u32>,
    pub tags: Option<u32>,
    pub usage_at: Option<DateTime<Utc>>,
}

/// A floating pool of the account with its live leases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PoolView {
    pub name: String,
    pub points: u32,
    pub in_use: u32,
    pub ttl_seconds: u32,
    pub plugins: Vec<String>,
    pub leases: Vec<LeaseView>,
}

/// An order looked up with its number and e-mail: the server's answer
/// (`licensedesk_protocol::api::gateways::OrderView`) with each activation's
/// hardware named by the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrderView {
    pub order_no: String,
    pub product: Option<String>,
    pub customer: String,
    pub activation_code: String,
    pub quantity: u32,
    pub used: u32,
    pub remaining: u32,
    pub max_connections: u32,
    pub max_tags: u32,
    pub plugins: Vec<String>,
    pub validity_days: u32,
    pub activations: Vec<OrderActivationView>,
}

/// One activation of an order: the hardware and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrderActivationView {
    pub fingerprint: String,
    /// The registry's gateway of this hardware, if any.
    pub gateway_name: Option<String>,
    /// That gateway is this machine (the UI names it in the user's language).
    pub this_machine: bool,
    pub license_id: String,
    pub issued_at: DateTime<Utc>,
    pub reissued: u32,
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

/// A `{code, message, params}` error kept with an item (`params`: the
/// values its message is made of, for the UI to word it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ErrorView {
    pub code: String,
    pub message: String,
    #[serde(default)]
    #[ts(type = "Record<string, string | number | boolean | null>")]
    pub params: licensedesk_core::error::Params,
}

impl From<&crate::Error> for ErrorView {
    fn from(e: &crate::Error) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
            params: e.params(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `GatewayLicenseKind.ts` declares the union of core's names, and the
    /// DTOs holding a kind refer to it.
    #[test]
    fn license_kind_binding_is_cores_names() {
        let cfg = ts_rs::Config::new();
        let union = LicenseKind::ALL.map(|k| format!("\"{k}\"")).join(" | ");
        assert_eq!(
            GatewayLicenseKind::decl(&cfg),
            format!("type GatewayLicenseKind = {union};")
        );
        assert_eq!(union, r#""trial" | "file" | "activation" | "floating""#);
        for decl in [
            GatewaySummary::decl(&cfg),
            InstalledLicense::decl(&cfg),
            GatewayLicenseView::decl(&cfg),
        ] {
            assert!(decl.contains("kind: GatewayLicenseKind,"), "{decl}");
        }
        let deps = InstalledLicense::dependencies(&cfg);
        assert!(
            deps.iter().any(|d| d.ts_name == "GatewayLicenseKind"
                && d.output_path == std::path::Path::new("GatewayLicenseKind.ts")),
            "{deps:?}"
        );
    }
}
