//! Errors of offline activation files.

use crate::activation_code::ActivationCodeError;
use crate::error::Coded;
use crate::fingerprint::FingerprintError;
use crate::keys::EnvelopeError;
use crate::license::LicenseError;

use super::{MAX_GATEWAYS, MAX_NAME_LEN, MAX_REQUEST_LEN, MAX_RESPONSE_LEN};

/// Why an offline activation request or response was refused. `gateway` is
/// the 1-based position of the gateway in the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum OfflineError {
    #[error(
        "the activation request is too large ({len} bytes; at most {MAX_REQUEST_LEN}): check that you chose a LicenseDesk activation request file"
    )]
    RequestTooLarge { len: usize },
    #[error(
        "this is not a LicenseDesk activation request ({detail}): choose the .ldreq file the gateway exported"
    )]
    RequestMalformed { detail: String },
    #[error("offline file version {v} is not supported (expected 1): update LicenseDesk")]
    VersionUnsupported { v: u32 },
    #[error("the activation request lists no gateway: export it again from the gateway")]
    NoGateways,
    #[error(
        "the activation request lists {count} gateways (at most {MAX_GATEWAYS}): split it into several requests"
    )]
    TooManyGateways { count: usize },
    #[error("gateway {gateway}: invalid fingerprint: {source}")]
    Fingerprint {
        gateway: usize,
        source: FingerprintError,
    },
    #[error("gateway {gateway}: invalid activation code: {source}")]
    Code {
        gateway: usize,
        source: ActivationCodeError,
    },
    #[error("gateway {gateway}: {detail}")]
    Credential {
        gateway: usize,
        detail: &'static str,
    },
    #[error(
        "gateway {gateway}: the nonce must be 32 lower-case hexadecimal characters: export the request again"
    )]
    NonceInvalid { gateway: usize },
    #[error(
        "gateway {gateway}: the name must be 1 to {MAX_NAME_LEN} characters without control characters: rename the gateway"
    )]
    NameInvalid { gateway: usize },
    #[error(
        "nonce {nonce} appears twice: each gateway entry needs its own nonce; export the request again"
    )]
    DuplicateNonce { nonce: String },
    #[error("gateway {fingerprint} appears twice in the request: list each gateway once")]
    DuplicateGateway { fingerprint: String },
    #[error(
        "the activation response is too large ({len} bytes; at most {MAX_RESPONSE_LEN}): check that you chose a LicenseDesk activation response file"
    )]
    ResponseTooLarge { len: usize },
    #[error(
        "this is not a LicenseDesk activation response ({detail}): choose the .ldresp file the server issued"
    )]
    ResponseMalformed { detail: String },
    #[error("the activation response is not authentic: {source}")]
    ResponseSignature { source: EnvelopeError },
    #[error("the license for nonce {nonce} in the response is invalid: {source}")]
    ResponseLicense { nonce: String, source: LicenseError },
    #[error(
        "the license for nonce {nonce} is not bound to the gateway it answers: ask the server for a new response"
    )]
    ResponseLicenseMismatch { nonce: String },
    #[error(
        "the response has no answer for gateway {fingerprint} (nonce {nonce}): this response belongs to another request; import the matching response"
    )]
    NonceMissing { nonce: String, fingerprint: String },
    #[error(
        "the response answers nonce {nonce}, which is not in this request: import the response that matches this request"
    )]
    NonceUnknown { nonce: String },
    #[error(
        "the response answers nonce {nonce} for another gateway than the request: ask the server for a new response"
    )]
    FingerprintMismatch { nonce: String },
}

impl Coded for OfflineError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::RequestTooLarge { .. } => "OFFLINE_REQUEST_TOO_LARGE",
            Self::RequestMalformed { .. } => "OFFLINE_REQUEST_MALFORMED",
            Self::VersionUnsupported { .. } => "OFFLINE_VERSION_UNSUPPORTED",
            Self::NoGateways => "OFFLINE_REQUEST_EMPTY",
            Self::TooManyGateways { .. } => "OFFLINE_REQUEST_TOO_MANY",
            Self::Fingerprint { .. } => "OFFLINE_FINGERPRINT_INVALID",
            Self::Code { .. } => "OFFLINE_CODE_INVALID",
            Self::Credential { .. } => "OFFLINE_CREDENTIAL_INVALID",
            Self::NonceInvalid { .. } => "OFFLINE_NONCE_INVALID",
            Self::NameInvalid { .. } => "OFFLINE_NAME_INVALID",
            Self::DuplicateNonce { .. } => "OFFLINE_NONCE_DUPLICATE",
            Self::DuplicateGateway { .. } => "OFFLINE_GATEWAY_DUPLICATE",
            Self::ResponseTooLarge { .. } => "OFFLINE_RESPONSE_TOO_LARGE",
            Self::ResponseMalformed { .. } => "OFFLINE_RESPONSE_MALFORMED",
            Self::ResponseSignature { source } => match source {
                EnvelopeError::VersionUnsupported { .. } => "OFFLINE_VERSION_UNSUPPORTED",
                EnvelopeError::AlgUnsupported { .. } => "OFFLINE_RESPONSE_ALG_UNSUPPORTED",
                EnvelopeError::KidUnknown { .. } => "OFFLINE_RESPONSE_KID_UNKNOWN",
                EnvelopeError::SignatureMalformed | EnvelopeError::SignatureInvalid => {
                    "OFFLINE_RESPONSE_SIGNATURE_INVALID"
                }
                EnvelopeError::PayloadEncoding => "OFFLINE_RESPONSE_MALFORMED",
            },
            Self::ResponseLicense { .. } => "OFFLINE_RESPONSE_LICENSE_INVALID",
            Self::ResponseLicenseMismatch { .. } => "OFFLINE_RESPONSE_LICENSE_MISMATCH",
            Self::NonceMissing { .. } => "OFFLINE_NONCE_MISSING",
            Self::NonceUnknown { .. } => "OFFLINE_NONCE_UNKNOWN",
            Self::FingerprintMismatch { .. } => "OFFLINE_FINGERPRINT_MISMATCH",
        }
    }
}
