//! The API error: `{ "code": "…", "message": "…" }` with the right HTTP status.

use axum::http::StatusCode;

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

pub use licensedesk_protocol::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The caller's role may not use this route (domain.md §4):
    /// `VENDOR_ONLY` for an account token on a vendor route,
    /// `CUSTOMER_ONLY` for the admin token on an account's route.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// The product has no assigned code left; the message says how many
    /// unassigned codes the account has (domain.md §1: the UI says so and
    /// offers to assign some).
    #[error("product {pk} has no assigned activation code left; {}", unassigned_hint(*.unassigned))]
    NoCodesAvailable { pk: String, unassigned: i64 },
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("too many failed attempts; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// An error with its own status and stable code: a rule of
    /// licensedesk-core refused ([`ApiError::core`]), or a request was
    /// refused before a handler ran (a body, query string or path that does
    /// not parse, an unknown route, a wrong method: [`crate::api::extract`]).
    #[error("{message}")]
    Coded {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
    /// A write the engine refused as conflicting with a concurrent one
    /// (PostgreSQL's serialization failure): the engine runs it again; it
    /// only escapes after many tries.
    /// The string is the engine's reason, for the log (never sent).
    #[error("the database is busy with conflicting writes; try again in a moment")]
    Retry(String),
    /// A row a `UNIQUE` constraint refused (the store maps the ones it
    /// expects to their own codes).
    #[error("a unique value already exists: {0}")]
    Constraint(String),
    /// The request's `Idempotency-Key` was answered meanwhile (by another
    /// node): its recorded response is replayed.
    #[error("this request was answered meanwhile; its answer is replayed")]
    Replay,
}

/// Marks a response whose request's recorded answer must be replayed
/// instead ([`ApiError::Replay`]; the idempotency middleware does it).
#[derive(Debug, Clone, Copy)]
pub struct ReplayRecorded;

fn unassigned_hint(unassigned: i64) -> String {
    match unassigned {
        ..=0 => "the account has no unassigned code either: credit a batch to the product".into(),
        1 => {
            "the account has 1 unassigned code: assign it to the product (or credit a batch)".into()
        }
        n => format!(
            "the account has {n} unassigned codes: assign some to the product (or credit a batch)"
        ),
    }
}

impl ApiError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    /// An account token on a vendor route (domain.md §4).
    pub fn vendor_only(what: &str) -> Self {
        Self::Forbidden {
            code: "VENDOR_ONLY",
            message: format!(
                "{what} is the vendor's to do (the admin token), not an account's: ask your vendor"
            ),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// Wraps a core error, choosing the status from its stable code.
    pub fn core<E: licensedesk_core::Coded + std::fmt::Display>(e: E) -> Self {
        let code = e.code();
        Self::Coded {
            status: status_for_core_code(code),
            code,
            message: e.to_string(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "UNAUTHORIZED",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Invalid { code, .. }
            | Self::Conflict { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Coded { code, .. } => code,
            Self::NoCodesAvailable { .. } => "NO_CODES_AVAILABLE",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Internal(_) => "INTERNAL",
            Self::Retry(_) => "DATABASE_BUSY",
            Self::Constraint(_) => "CONFLICT",
            Self::Replay => "IDEMPOTENT_REPLAY",
        }
    }

    /// The values of the message a client may word itself ([`ErrorBody::params`]).
    pub fn params(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        let v = match self {
            Self::NoCodesAvailable { pk, unassigned } => {
                serde_json::json!({"pk": pk, "unassigned": unassigned})
            }
            Self::RateLimited { retry_after } => serde_json::json!({"retry_after": retry_after}),
            _ => return None,
        };
        v.as_object().cloned()
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid { .. } => StatusCode::BAD_REQUEST,
            Self::Conflict { .. } | Self::NoCodesAvailable { .. } => StatusCode::CONFLICT,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Coded { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Retry(_) | Self::Replay => StatusCode::SERVICE_UNAVAILABLE,
            Self::Constraint(_) => StatusCode::CONFLICT,
        }
    }
}

/// Status of a core error code: refusals that depend on the current state
/// are 409, quota refusals 403, bad signatures 422, malformed input 400.
fn status_for_core_code(code: &str) -> StatusCode {
    const CONFLICT: &[&str] = &[
        "NO_CODES_AVAILABLE",
        "PACKAGE_MISMATCH",
        "ALREADY_VERIFIED",
        "ALREADY_ENTERPRISE",
        "LEASE_LAPSED",
        "ASSIGN_COUNT_EXCEEDS_AVAILABLE",
        "COUNTERS_INCONSISTENT",
        "HARDWARE_ALREADY_ACTIVATED",
        "PRODUCT_KEY_TAKEN",
    ];
    if CONFLICT.contains(&code) || code.contains("EXHAUSTED") || code.contains("MISMATCH") {
        StatusCode::CONFLICT
    } else if code.contains("QUOTA") || code.contains("EXCEEDED") {
        StatusCode::FORBIDDEN
    } else if code.contains("SIGNATURE") || code.contains("KID") || code.contains("EXPIRED") {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::BAD_REQUEST
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        {
            return Self::Constraint(e.to_string());
        }
        tracing::error!(error = %e, "database error");
        Self::Internal(format!("database: {e}"))
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("json: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::ApiError;

    #[test]
    fn no_codes_available_says_how_many_unassigned_codes_are_left() {
        let msg = |unassigned| {
            ApiError::NoCodesAvailable {
                pk: "p1".into(),
                unassigned,
            }
            .to_string()
        };
        for (unassigned, expected) in [
            (
                0,
                "the account has no unassigned code either: credit a batch",
            ),
            (
                1,
                "the account has 1 unassigned code: assign it to the product",
            ),
            (
                7,
                "the account has 7 unassigned codes: assign some to the product",
            ),
        ] {
            let m = msg(unassigned);
            assert!(
                m.starts_with("product p1 has no assigned activation code left; ")
                    && m.contains(expected),
                "{m}"
            );
        }
    }
}
