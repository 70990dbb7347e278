//! The field kit's errors, each with a stable code.

use licensedesk_core::Coded;
use licensedesk_core::delegate::DelegateError;
use licensedesk_core::fingerprint::FingerprintError;
use licensedesk_core::ledger::LedgerError;
use licensedesk_core::offline::OfflineError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not {action} {path}: {detail}")]
    Io {
        action: &'static str,
        path: String,
        detail: String,
    },
    #[error("{path} is too large ({len} bytes; at most {max}): choose an activation request file")]
    FileTooLarge { path: String, len: u64, max: u64 },
    #[error("the field kit database failed: {0}")]
    Db(String),
    #[error(
        "the field kit's delegate key is unreadable ({0}): restore it from a backup, or check out a new allotment"
    )]
    KeyInvalid(String),
    #[error("this computer has no usable random source: {0}")]
    RandomUnavailable(String),
    #[error("allotment '{0}' is not in this field kit: check one out first")]
    AllotmentNotFound(String),
    #[error("the certificate the server returned is not for this kit's key ({0})")]
    CertNotForThisKit(String),
    #[error(
        "gateway {gateway} of the request asks for {found}, but this allotment is for {expected}: issue it from a matching allotment, or type the fingerprint"
    )]
    OutOfScope {
        gateway: usize,
        found: String,
        expected: String,
    },
    #[error("the server could not be reached ({0}): check the network and retry")]
    Network(String),
    #[error("the server refused ({status} {code}): {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    #[error(transparent)]
    Request(#[from] OfflineError),
    #[error("the fingerprint is not valid: {0}")]
    Fingerprint(#[from] FingerprintError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Delegate(#[from] DelegateError),
}

impl Coded for Error {
    fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "FIELD_IO",
            Self::FileTooLarge { .. } => "FIELD_FILE_TOO_LARGE",
            Self::Db(_) => "FIELD_DB",
            Self::KeyInvalid(_) => "FIELD_KEY_INVALID",
            Self::RandomUnavailable(_) => "RANDOM_UNAVAILABLE",
            Self::AllotmentNotFound(_) => "FIELD_ALLOTMENT_NOT_FOUND",
            Self::CertNotForThisKit(_) => "FIELD_CERT_NOT_FOR_THIS_KIT",
            Self::OutOfScope { .. } => "FIELD_REQUEST_OUT_OF_SCOPE",
            Self::Network(_) => "FIELD_NETWORK",
            Self::Server { .. } => "FIELD_SERVER_REFUSED",
            Self::Request(e) => e.code(),
            Self::Fingerprint(e) => e.code(),
            Self::Ledger(e) => e.code(),
            Self::Delegate(e) => e.code(),
        }
    }

    fn params(&self) -> licensedesk_core::error::Params {
        use licensedesk_core::error::params_of;
        use serde_json::json;
        match self {
            Self::Io {
                action,
                path,
                detail,
            } => params_of(&json!({"action": action, "path": path, "detail": detail})),
            Self::FileTooLarge { path, len, max } => {
                params_of(&json!({"path": path, "len": len, "max": max}))
            }
            Self::Db(d)
            | Self::KeyInvalid(d)
            | Self::RandomUnavailable(d)
            | Self::CertNotForThisKit(d)
            | Self::Network(d) => params_of(&json!({"detail": d})),
            Self::AllotmentNotFound(id) => params_of(&json!({"allotment": id})),
            Self::OutOfScope {
                gateway,
                found,
                expected,
            } => params_of(&json!({"gateway": gateway, "found": found, "expected": expected})),
            Self::Server { status, .. } => params_of(&json!({"status": status})),
            Self::Request(e) => e.params(),
            Self::Fingerprint(e) => e.params(),
            Self::Ledger(e) => e.params(),
            Self::Delegate(e) => e.params(),
        }
    }
}

impl Error {
    /// The server's own code when the server refused, else [`Coded::code`].
    pub fn detail_code(&self) -> &str {
        match self {
            Self::Server { code, .. } => code,
            other => other.code(),
        }
    }

    pub(crate) fn io(action: &'static str, path: &std::path::Path, e: &std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.display().to_string(),
            detail: e.to_string(),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Self::Db(e.to_string())
    }
}

/// The one HTTP client's error as the field kit's: no answer (or an
/// address that is not a URL) is `FIELD_NETWORK`; any answer is
/// `FIELD_SERVER_REFUSED` with its status, keeping its own code (the
/// server's, or `SERVER_REPLY_INVALID` / `SERVER_REPLY_TOO_LARGE`) as
/// [`Error::detail_code`].
impl From<licensedesk_http::Error> for Error {
    fn from(e: licensedesk_http::Error) -> Self {
        use licensedesk_http::Error as Http;
        match e {
            Http::Refused {
                status,
                code,
                message,
                ..
            } => Self::Server {
                status,
                code,
                message,
            },
            Http::ReplyInvalid { status, .. } | Http::ReplyTooLarge { status, .. } => {
                Self::Server {
                    status,
                    code: e.code().to_owned(),
                    message: e.to_string(),
                }
            }
            Http::Unreachable { detail, .. } => Self::Network(detail),
            Http::Timeout { secs, .. } => Self::Network(format!("no answer within {secs} s")),
            other => Self::Network(other.to_string()),
        }
    }
}
