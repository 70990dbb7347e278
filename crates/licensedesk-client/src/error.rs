//! The client's error: a stable `code()` (see [`licensedesk_core::Coded`])
//! and a message that says what to do. Across IPC it becomes
//! `{ "code": "…", "message": "…", "params": {…} }` ([`ErrorBody`]): the
//! values the message is made of, for the UI to word it in the user's
//! language.

use licensedesk_core::Coded;
use licensedesk_core::error::{Params, params_of};
use serde::Serialize;
use serde_json::{Value, json};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server could not be reached (connection refused, DNS, timeout).
    #[error(
        "the server at {url} cannot be reached ({detail}); the data shown is from the last sync"
    )]
    ServerUnreachable { url: String, detail: String },
    /// The server answered with an error body (its `params`, when it sent
    /// them: e.g. `NO_CODES_AVAILABLE`'s unassigned count).
    #[error("{message}")]
    Server {
        status: u16,
        code: String,
        message: String,
        params: Params,
    },
    /// The server answered something this client does not understand.
    #[error("the server sent an unexpected answer: {0}")]
    Protocol(String),
    /// The signed server time did not verify against the server's keys.
    #[error("the server's signed time did not verify ({0}); sync refused")]
    ServerTimeInvalid(String),
    #[error("the sync was cancelled; it resumes where it stopped next time")]
    Cancelled,
    #[error("no profile {0:?}: pick one from the profile list")]
    ProfileNotFound(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("no {0} in the local cache: sync first or check the name")]
    NotFound(String),
    /// The cache of this profile has never completed a sync.
    #[error(
        "nothing is synced yet: LicenseDesk fetches the account as soon as the server answers, or press Sync now"
    )]
    NotSynced,
    #[error("no API token stored for profile {0:?}: sign in again")]
    TokenMissing(String),
    #[error("the OS keyring failed: {0}")]
    TokenStore(String),
    #[error("outbox item {0} not found")]
    OutboxItemNotFound(i64),
    #[error("the local cache failed: {0}")]
    Cache(#[from] rusqlite::Error),
    #[error(
        "the local cache has schema version {found}, newer than this app ({known}): update the app"
    )]
    CacheTooNew { found: i64, known: i64 },
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored data is unreadable: {0}")]
    Json(#[from] serde_json::Error),
    #[error("chart rendering failed: {0}")]
    Chart(String),
    #[error("clock check failed: {message}")]
    Clock { code: &'static str, message: String },
    /// A key set was refused (it does not chain to the trusted one, or is
    /// damaged): core's `trust` codes.
    #[error("{message}")]
    Trust {
        code: &'static str,
        message: String,
        params: Params,
    },
}

impl Coded for Error {
    fn code(&self) -> &'static str {
        match self {
            Self::ServerUnreachable { .. } => "SERVER_UNREACHABLE",
            Self::Server { .. } => "SERVER_REJECTED",
            Self::Protocol(_) => "SERVER_PROTOCOL",
            Self::ServerTimeInvalid(_) => "SERVER_TIME_INVALID",
            Self::Cancelled => "SYNC_CANCELLED",
            Self::ProfileNotFound(_) => "PROFILE_NOT_FOUND",
            Self::Invalid(_) => "INVALID_INPUT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::NotSynced => "NOT_SYNCED",
            Self::TokenMissing(_) => "TOKEN_MISSING",
            Self::TokenStore(_) => "TOKEN_STORE_FAILED",
            Self::OutboxItemNotFound(_) => "OUTBOX_ITEM_NOT_FOUND",
            Self::Cache(_) => "CACHE_ERROR",
            Self::CacheTooNew { .. } => "CACHE_TOO_NEW",
            Self::Io(_) => "IO_ERROR",
            Self::Json(_) => "DATA_CORRUPT",
            Self::Chart(_) => "CHART_ERROR",
            Self::Clock { code, .. } | Self::Trust { code, .. } => code,
        }
    }

    fn params(&self) -> Params {
        let one = |k: &str, v: Value| {
            let mut p = Params::new();
            p.insert(k.into(), v);
            p
        };
        match self {
            Self::ServerUnreachable { url, detail } => {
                params_of(&json!({"url": url, "detail": detail}))
            }
            Self::Server { status, params, .. } => {
                let mut p = params.clone();
                p.entry("status").or_insert(json!(status));
                p
            }
            Self::ProfileNotFound(id) | Self::TokenMissing(id) => one("profile", json!(id)),
            Self::NotFound(what) => one("what", json!(what)),
            Self::OutboxItemNotFound(id) => one("id", json!(id)),
            Self::CacheTooNew { found, known } => {
                params_of(&json!({"found": found, "known": known}))
            }
            Self::Protocol(d)
            | Self::ServerTimeInvalid(d)
            | Self::Invalid(d)
            | Self::TokenStore(d)
            | Self::Chart(d)
            | Self::Clock { message: d, .. } => one("detail", json!(d)),
            Self::Trust { params, .. } => params.clone(),
            Self::Cache(e) => one("detail", json!(e.to_string())),
            Self::Io(e) => one("detail", json!(e.to_string())),
            Self::Json(e) => one("detail", json!(e.to_string())),
            Self::Cancelled | Self::NotSynced => Params::new(),
        }
    }
}

impl Error {
    /// The server's own code for a rejected request (e.g.
    /// `NO_CODES_AVAILABLE`), else this error's code.
    pub fn server_code(&self) -> &str {
        match self {
            Self::Server { code, .. } => code,
            other => other.code(),
        }
    }

    /// `{code, message, params}` for IPC; a server rejection keeps the
    /// server's code (and its params).
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.server_code().to_owned(),
            message: self.to_string(),
            params: self.params(),
        }
    }

    /// Whether retrying later may succeed (network trouble, 5xx, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::ServerUnreachable { .. } => true,
            Self::Server { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// An error as it crosses IPC: the UI branches on `code`, and words it in
/// the user's language from `params` (`message` is Rust's English).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default)]
    #[ts(type = "Record<string, string | number | boolean | null>")]
    pub params: Params,
}

impl ErrorBody {
    /// An error without params.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            params: Params::new(),
        }
    }
}

impl From<licensedesk_core::clock::ClockError> for Error {
    fn from(e: licensedesk_core::clock::ClockError) -> Self {
        Self::Clock {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// The one HTTP client's error as the client's: no answer (unreachable or
/// timed out) is `SERVER_UNREACHABLE` (the app works offline from its
/// cache); an error answer keeps the server's code, and one that is not
/// the server's JSON is `SERVER_REPLY_INVALID` (still an answer with its
/// status, so a 502 from a proxy stays transient); a success the client
/// cannot read is `SERVER_PROTOCOL`.
impl From<licensedesk_http::Error> for Error {
    fn from(e: licensedesk_http::Error) -> Self {
        use licensedesk_http::Error as Http;
        match e {
            Http::Unreachable { url, detail } => Self::ServerUnreachable { url, detail },
            Http::Timeout { ref url, secs } => Self::ServerUnreachable {
                url: url.clone(),
                detail: format!("no answer within {secs} s"),
            },
            Http::Refused {
                status,
                code,
                message,
                params,
            } => Self::Server {
                status,
                code,
                message,
                params,
            },
            Http::ReplyInvalid { status, detail, .. } if status < 300 => Self::Protocol(detail),
            Http::ReplyInvalid { status, .. } => Self::Server {
                status,
                code: e.code().to_owned(),
                message: e.to_string(),
                params: e.params(),
            },
            Http::ReplyTooLarge { .. } => Self::Protocol(e.to_string()),
            Http::UrlInvalid { .. } | Http::RequestInvalid { .. } => Self::Invalid(e.to_string()),
        }
    }
}
