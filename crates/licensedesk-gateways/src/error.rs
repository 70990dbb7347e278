//! The crate's error type: every failure has a stable `code()` (the UI
//! branches on it) and a message saying what was wrong and what to do.

use licensedesk_core::Coded;
use licensedesk_core::activation_code::ActivationCodeError;
use licensedesk_core::clock::ClockError;
use licensedesk_core::fingerprint::FingerprintError;
use licensedesk_core::gateway::GatewayError;
use licensedesk_core::gateway::usage::UsageError;
use licensedesk_core::keys::KeyError;
use licensedesk_core::license::LicenseError;
use licensedesk_core::offline::OfflineError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path} does not exist: choose the file again")]
    FileNotFound { path: String },
    #[error("{path} could not be read ({detail}): check its permissions")]
    FileUnreadable { path: String, detail: String },
    #[error("{path} is not a file: choose a file, not a folder")]
    NotAFile { path: String },
    #[error(
        "{path} is larger than {cap} bytes: it is not a LicenseDesk file; check you picked the right file"
    )]
    FileTooLarge { path: String, cap: u64 },
    #[error("no file was given: choose or drop exactly one file")]
    NoFile,
    #[error(
        "{path} is not a LicenseDesk file (a license, an activation request or response, or a usage file): check you dropped the right file"
    )]
    FileKindUnknown { path: String },
    #[error(
        "the dropped files are of different kinds: drop license, request or usage files one kind at a time"
    )]
    FileKindsMixed,
    #[error("{count} files were dropped: drop one license file at a time")]
    TooManyFiles { count: usize },
    #[error(transparent)]
    License(#[from] LicenseError),
    #[error(transparent)]
    Clock(#[from] ClockError),
    #[error(transparent)]
    Fingerprint(#[from] FingerprintError),
    #[error(transparent)]
    Code(#[from] ActivationCodeError),
    #[error(transparent)]
    Offline(#[from] OfflineError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Limits(#[from] GatewayError),
    #[error(
        "no trusted signing keys: add a profile in Settings (its server's key set is trusted when it is added), or import the server's key set file there"
    )]
    KeysMissing,
    #[error("gateway {id} is not in the registry: pick a gateway from the list")]
    GatewayNotFound { id: String },
    #[error(
        "the license is bound to gateway {fingerprint}, which is not in the registry: add that gateway first, then install the license again"
    )]
    GatewayUnknown { fingerprint: String },
    #[error("a gateway with fingerprint {fingerprint} is already in the registry (\"{name}\")")]
    GatewayExists { fingerprint: String, name: String },
    #[error("this machine cannot be removed from the registry")]
    ThisMachineFixed,
    #[error("a gateway name must be 1 to 100 characters without control characters")]
    NameInvalid,
    #[error(
        "this machine's id could not be read ({detail}): LicenseDesk needs /etc/machine-id to compute this machine's fingerprint"
    )]
    MachineIdUnavailable { detail: String },
    #[error(
        "this response does not answer any request exported from this computer: import the response to the request you exported here"
    )]
    RequestNotFound,
    #[error(
        "the license server could not be reached ({detail}): check the server URL and the network"
    )]
    Unreachable { detail: String },
    #[error("{message}")]
    Server { code: String, message: String },
    #[error(
        "LicenseDesk could not save its gateway data in {path} ({detail}): check free disk space and permissions"
    )]
    Storage { path: String, detail: String },
}

impl Error {
    pub(crate) fn storage(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Self::Storage {
            path: path.display().to_string(),
            detail: e.to_string(),
        }
    }

    /// The stable code callers branch on.
    pub fn code(&self) -> String {
        match self {
            Self::Server { code, .. } => code.clone(),
            other => other.static_code().to_owned(),
        }
    }

    fn static_code(&self) -> &'static str {
        match self {
            Self::FileNotFound { .. } => "FILE_NOT_FOUND",
            Self::FileUnreadable { .. } => "FILE_UNREADABLE",
            Self::NotAFile { .. } => "FILE_NOT_A_FILE",
            Self::FileTooLarge { .. } => "FILE_TOO_LARGE",
            Self::NoFile => "FILE_NONE",
            Self::FileKindUnknown { .. } => "FILE_KIND_UNKNOWN",
            Self::FileKindsMixed => "FILE_KINDS_MIXED",
            Self::TooManyFiles { .. } => "FILE_TOO_MANY",
            Self::License(e) => e.code(),
            Self::Clock(e) => e.code(),
            Self::Fingerprint(e) => e.code(),
            Self::Code(e) => e.code(),
            Self::Offline(e) => e.code(),
            Self::Keys(e) => e.code(),
            Self::Usage(e) => e.code(),
            Self::Limits(e) => e.code(),
            Self::KeysMissing => "KEYS_MISSING",
            Self::GatewayNotFound { .. } => "GATEWAY_NOT_FOUND",
            Self::GatewayUnknown { .. } => "GATEWAY_UNKNOWN",
            Self::GatewayExists { .. } => "GATEWAY_EXISTS",
            Self::ThisMachineFixed => "GATEWAY_THIS_MACHINE",
            Self::NameInvalid => "GATEWAY_NAME_INVALID",
            Self::MachineIdUnavailable { .. } => "MACHINE_ID_UNAVAILABLE",
            Self::RequestNotFound => "OFFLINE_REQUEST_NOT_FOUND",
            Self::Unreachable { .. } => "SERVER_UNREACHABLE",
            Self::Server { .. } => "SERVER_ERROR",
            Self::Storage { .. } => "STORAGE_IO",
        }
    }

    /// The values the message is made of, for the UI to word it in the
    /// user's language (core's `Coded::params` for a wrapped core error).
    pub fn params(&self) -> licensedesk_core::error::Params {
        use licensedesk_core::error::params_of;
        use serde_json::json;
        match self {
            Self::FileNotFound { path } | Self::NotAFile { path } => {
                params_of(&json!({"path": path}))
            }
            Self::FileUnreadable { path, detail } | Self::Storage { path, detail } => {
                params_of(&json!({"path": path, "detail": detail}))
            }
            Self::FileTooLarge { path, cap } => params_of(&json!({"path": path, "cap": cap})),
            Self::TooManyFiles { count } => params_of(&json!({"count": count})),
            Self::License(e) => e.params(),
            Self::Clock(e) => e.params(),
            Self::Fingerprint(e) => e.params(),
            Self::Code(e) => e.params(),
            Self::Offline(e) => e.params(),
            Self::Keys(e) => e.params(),
            Self::Usage(e) => e.params(),
            Self::Limits(e) => e.params(),
            Self::FileKindUnknown { path } => params_of(&json!({"path": path})),
            Self::GatewayNotFound { id } => params_of(&json!({"gateway": id})),
            Self::GatewayUnknown { fingerprint } => params_of(&json!({"fingerprint": fingerprint})),
            Self::GatewayExists { fingerprint, name } => {
                params_of(&json!({"fingerprint": fingerprint, "name": name}))
            }
            Self::MachineIdUnavailable { detail } | Self::Unreachable { detail } => {
                params_of(&json!({"detail": detail}))
            }
            Self::NoFile
            | Self::FileKindsMixed
            | Self::KeysMissing
            | Self::ThisMachineFixed
            | Self::NameInvalid
            | Self::RequestNotFound
            | Self::Server { .. } => Default::default(),
        }
    }

    /// Whether the server could not be reached (the action may be queued).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }
}

/// The one HTTP client's error as the gateways': no answer (or an address
/// that is not a URL) is `SERVER_UNREACHABLE`, which lets an activation be
/// queued; any answer keeps its code (the server's own, or
/// `SERVER_REPLY_INVALID` / `SERVER_REPLY_TOO_LARGE`) and its message.
impl From<licensedesk_http::Error> for Error {
    fn from(e: licensedesk_http::Error) -> Self {
        use licensedesk_http::Error as Http;
        match e {
            Http::Unreachable { detail, .. } | Http::UrlInvalid { detail, .. } => {
                Self::Unreachable { detail }
            }
            Http::Timeout { secs, .. } => Self::Unreachable {
                detail: format!("no answer within {secs} s"),
            },
            Http::Refused { code, message, .. } => Self::Server { code, message },
            other => Self::Server {
                code: other.code().to_owned(),
                message: other.to_string(),
            },
        }
    }
}
