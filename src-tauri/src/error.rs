//! The one error type of every command:
//! `{ "code": "…", "message": "…", "params": {…} }`. The UI branches on
//! `code` and words the error in the user's language from `params` (the
//! values `message`, Rust's English, is made of).

use licensedesk_core::Coded;
use licensedesk_core::error::Params;
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
pub struct CmdError {
    pub code: String,
    pub message: String,
    #[serde(default)]
    #[ts(type = "Record<string, string | number | boolean | null>")]
    pub params: Params,
}

pub type CmdResult<T> = Result<T, CmdError>;

impl CmdError {
    /// An error whose message has no values to carry.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self::with_params(code, message, [])
    }

    /// An error and the values its message is made of.
    pub fn with_params<'a>(
        code: &str,
        message: impl Into<String>,
        params: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            params: params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }

    /// A core error under `code` (its own, or the caller's).
    pub fn coded<E: Coded + std::fmt::Display>(e: &E, code: &str) -> Self {
        Self {
            code: code.to_owned(),
            message: e.to_string(),
            params: e.params(),
        }
    }
}

impl From<licensedesk_gateways::Error> for CmdError {
    fn from(e: licensedesk_gateways::Error) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
            params: e.params(),
        }
    }
}

impl From<licensedesk_client::Error> for CmdError {
    fn from(e: licensedesk_client::Error) -> Self {
        Self {
            code: e.code().to_owned(),
            message: e.to_string(),
            params: e.params(),
        }
    }
}

impl From<licensedesk_client::ErrorBody> for CmdError {
    fn from(e: licensedesk_client::ErrorBody) -> Self {
        Self {
            code: e.code,
            message: e.message,
            params: e.params,
        }
    }
}

impl From<licensedesk_field::Error> for CmdError {
    /// A server refusal keeps the server's own code.
    fn from(e: licensedesk_field::Error) -> Self {
        Self {
            code: e.detail_code().to_owned(),
            message: e.to_string(),
            params: e.params(),
        }
    }
}
