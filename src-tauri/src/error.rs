//! The one error type of every command: `{ "code": "…", "message": "…" }`.
//! The UI branches on `code` and shows `message`.

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
pub struct CmdError {
    pub code: String,
    pub message: String,
}

pub type CmdResult<T> = Result<T, CmdError>;

impl CmdError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl From<licensedesk_gateways::Error> for CmdError {
    fn from(e: licensedesk_gateways::Error) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl From<licensedesk_client::Error> for CmdError {
    fn from(e: licensedesk_client::Error) -> Self {
        use licensedesk_core::Coded;
        Self {
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<licensedesk_field::Error> for CmdError {
    /// A server refusal keeps the server's own code.
    fn from(e: licensedesk_field::Error) -> Self {
        Self {
            code: e.detail_code().to_owned(),
            message: e.to_string(),
        }
    }
}
