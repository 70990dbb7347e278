//! How ldctl prints: human text by default, one JSON document with `--json`.
//! Failures are `{ "error": { "code", "message" } }` and a non-zero exit.

use serde::Serialize;
use serde_json::Value;

use licensedesk_core::Coded;

/// A failure with a stable code, as every LicenseDesk interface reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// An IO failure on `path`, saying what was being done.
    pub fn io(doing: &str, path: &std::path::Path, err: &std::io::Error) -> Self {
        Self::new(
            "IO_ERROR",
            format!("could not {doing} {}: {err}", path.display()),
        )
    }
}

impl<E: Coded + std::fmt::Display> From<E> for Failure {
    fn from(err: E) -> Self {
        Self {
            code: err.code().to_owned(),
            message: err.to_string(),
        }
    }
}

pub type Outcome = Result<Report, Failure>;

/// What a successful command reports: the JSON document and its human form.
pub struct Report {
    pub json: Value,
    pub human: String,
}

impl Report {
    pub fn new(json: Value, human: impl Into<String>) -> Self {
        Self {
            json,
            human: human.into(),
        }
    }
}

/// Prints the outcome and returns the process exit code.
pub fn emit(outcome: Outcome, json: bool) -> i32 {
    match outcome {
        Ok(report) => {
            if json {
                println!("{}", report.json);
            } else {
                println!("{}", report.human.trim_end());
            }
            0
        }
        Err(failure) => {
            if json {
                println!("{}", serde_json::json!({ "error": failure }));
            } else {
                eprintln!("error [{}]: {}", failure.code, failure.message);
            }
            1
        }
    }
}
