//! What a call to the server can end in: one error type with a stable
//! [`Error::code`] (the server's own for a refusal) and a message that
//! says what to do.

use licensedesk_core::error::{Params, params_of};
use serde_json::json;

use licensedesk_protocol::ErrorBody;

/// How much of an answer that is not the server's JSON a message quotes.
const EXCERPT: usize = 200;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The server's address is not an http(s) URL.
    #[error("the server address {url:?} is not valid ({detail}): enter it as http://host:port")]
    UrlInvalid { url: String, detail: String },
    /// No answer: connection refused, DNS, connection lost.
    #[error(
        "the license server at {url} could not be reached ({detail}): check the server address and the network, then try again"
    )]
    Unreachable { url: String, detail: String },
    /// The server accepted the connection but did not answer in time.
    #[error(
        "the license server at {url} did not answer within {secs} s: it may be overloaded; try again later, and if it persists ask its operator"
    )]
    Timeout { url: String, secs: u64 },
    /// The server refused with its `{code, message, params}` body.
    #[error("{message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
        params: Params,
    },
    /// An answer that is not the server's JSON (a proxy's error page,
    /// another program on that port, a body this version cannot read).
    #[error(
        "{url} answered {status} with something LicenseDesk cannot read ({detail}): check the address is a LicenseDesk license server, or update LicenseDesk"
    )]
    ReplyInvalid {
        url: String,
        status: u16,
        detail: String,
    },
    /// An answer larger than the call accepts.
    #[error(
        "{url} answered with more than {cap} bytes, more than any answer of a LicenseDesk license server: check the server address"
    )]
    ReplyTooLarge {
        url: String,
        status: u16,
        cap: usize,
    },
    /// The request's body could not be written (a bug of the caller).
    #[error("the request to {url} could not be written: {detail}")]
    RequestInvalid { url: String, detail: String },
}

impl Error {
    /// The stable code: the server's own for [`Error::Refused`]
    /// (`NOT_FOUND`, `DATABASE_BUSY`, …), else this error's.
    pub fn code(&self) -> &str {
        match self {
            Self::UrlInvalid { .. } => "SERVER_URL_INVALID",
            Self::Unreachable { .. } => "SERVER_UNREACHABLE",
            Self::Timeout { .. } => "SERVER_TIMEOUT",
            Self::Refused { code, .. } => code,
            Self::ReplyInvalid { .. } => "SERVER_REPLY_INVALID",
            Self::ReplyTooLarge { .. } => "SERVER_REPLY_TOO_LARGE",
            Self::RequestInvalid { .. } => "INVALID_INPUT",
        }
    }

    /// The HTTP status of the answer, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Refused { status, .. }
            | Self::ReplyInvalid { status, .. }
            | Self::ReplyTooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// No answer came (unreachable or timed out): the caller may work
    /// offline, queue the action, or try again later.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Timeout { .. })
    }

    /// The values the message is made of (the server's `params` for a
    /// refusal, with its `status`).
    pub fn params(&self) -> Params {
        match self {
            Self::Refused { status, params, .. } => {
                let mut p = params.clone();
                p.entry("status").or_insert(json!(status));
                p
            }
            Self::UrlInvalid { url, detail }
            | Self::Unreachable { url, detail }
            | Self::RequestInvalid { url, detail } => {
                params_of(&json!({"url": url, "detail": detail}))
            }
            Self::Timeout { url, secs } => params_of(&json!({"url": url, "secs": secs})),
            Self::ReplyInvalid {
                url,
                status,
                detail,
            } => params_of(&json!({"url": url, "status": status, "detail": detail})),
            Self::ReplyTooLarge { url, status, cap } => {
                params_of(&json!({"url": url, "status": status, "cap": cap}))
            }
        }
    }

    /// A failure before or while reading an answer.
    pub(crate) fn transport(base: &str, e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            return Self::Timeout {
                url: base.to_owned(),
                secs: crate::REQUEST_TIMEOUT.as_secs(),
            };
        }
        Self::Unreachable {
            url: base.to_owned(),
            detail: source_chain(e),
        }
    }

    /// An error answer (`status` not 2xx) with `body`.
    pub fn answered(url: &reqwest::Url, status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(b) => Self::Refused {
                status,
                code: b.code,
                message: b.message,
                params: b.params.unwrap_or_default(),
            },
            Err(_) => {
                let text: String = String::from_utf8_lossy(body)
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(EXCERPT)
                    .collect();
                Self::ReplyInvalid {
                    url: url.to_string(),
                    status,
                    detail: if text.trim().is_empty() {
                        "no error body".into()
                    } else {
                        format!("not an error body: {}", text.trim())
                    },
                }
            }
        }
    }
}

/// reqwest's error with its causes ("error sending request: connection
/// refused"), which its `Display` alone leaves out.
fn source_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> reqwest::Url {
        reqwest::Url::parse("http://h:1/v1/x").expect("url")
    }

    #[test]
    fn the_servers_body_keeps_its_code_message_and_params() {
        let e = Error::answered(
            &url(),
            409,
            br#"{"code":"NO_CODES_AVAILABLE","message":"only 2 left","params":{"unassigned":2}}"#,
        );
        assert_eq!(e.code(), "NO_CODES_AVAILABLE");
        assert_eq!(e.to_string(), "only 2 left");
        assert_eq!(e.status(), Some(409));
        assert_eq!(e.params()["unassigned"], 2);
        assert_eq!(e.params()["status"], 409);
        assert!(!e.is_unreachable());
    }

    #[test]
    fn a_body_without_params_has_only_the_status() {
        let e = Error::answered(&url(), 503, br#"{"code":"DATABASE_BUSY","message":"busy"}"#);
        assert_eq!(e.code(), "DATABASE_BUSY");
        assert_eq!(e.params().len(), 1);
    }

    #[test]
    fn an_answer_that_is_not_the_servers_json_is_reply_invalid_with_an_excerpt() {
        let e = Error::answered(&url(), 502, b"<html>\n<h1>Bad Gateway</h1></html>");
        assert_eq!(e.code(), "SERVER_REPLY_INVALID");
        assert_eq!(e.status(), Some(502));
        let text = e.to_string();
        assert!(text.contains("answered 502"), "{text}");
        assert!(text.contains("Bad Gateway"), "{text}");
        assert!(text.contains("LicenseDesk license server"), "{text}");
        // JSON, but not an error body.
        let e = Error::answered(&url(), 500, br#"{"error":"x"}"#);
        assert_eq!(e.code(), "SERVER_REPLY_INVALID");
        let e = Error::answered(&url(), 500, b"");
        assert!(e.to_string().contains("no error body"), "{e}");
        let long = vec![b'x'; 10_000];
        assert!(Error::answered(&url(), 500, &long).to_string().len() < 600);
    }

    #[test]
    fn no_answer_and_a_late_one_have_codes_of_their_own() {
        let dead = Error::Unreachable {
            url: "http://h:1".into(),
            detail: "connection refused".into(),
        };
        assert_eq!(dead.code(), "SERVER_UNREACHABLE");
        assert!(dead.is_unreachable());
        assert!(dead.to_string().contains("check the server address"));
        assert_eq!(dead.status(), None);
        let late = Error::Timeout {
            url: "http://h:1".into(),
            secs: 60,
        };
        assert_eq!(late.code(), "SERVER_TIMEOUT");
        assert!(late.is_unreachable());
        assert!(late.to_string().contains("within 60 s"));
        assert_eq!(late.params()["secs"], 60);
    }
}
