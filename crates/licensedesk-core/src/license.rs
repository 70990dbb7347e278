//! Signed license files.
//!
//! ```text
//! -----BEGIN LICENSEDESK LICENSE-----
//! <base64 of the envelope JSON, 64 characters a line>
//! -----END LICENSEDESK LICENSE-----
//! ```
//!
//! The envelope is `{"v":1,"alg":"ed25519","kid":…,"payload":…,"sig":…}`
//! (see [`crate::keys`]) signed under [`LICENSE_CONTEXT`]; the payload is the
//! JSON of a [`LicensePayload`] with a version field `"v":1`.
//!
//! **Strict layout (Decision).** So that every single-byte change of a file is
//! rejected, the armour must have exactly the layout [`sign_license`]
//! writes: the BEGIN line, body lines of exactly 64 characters (the last one
//! 1 to 64), the END line. Each line may end with LF or CR LF (files survive
//! Windows editors and mail); the final line break is optional. Nothing else
//! is tolerated: no blank lines, no indentation, no trailing spaces, no text
//! around the armour. The base64 must be canonical (padding, zero trailing
//! bits) and the envelope JSON byte-for-byte canonical.
//!
//! Verification order: size cap, armour, base64, envelope, version,
//! algorithm, key id, signature — and only then the payload JSON is parsed.

mod armor;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::issued_in_future;
use crate::delegate::{self, DelegateCert, DelegateError};
use crate::error::Coded;
use crate::fingerprint::same_hardware;
use crate::gateway::LicenseKind;
use crate::keys::{
    self, Envelope, EnvelopeError, EnvelopeRef, KeySet, LICENSE_CONTEXT, SigningKeyWithKid,
};

/// A license file larger than this is refused before anything is parsed.
pub const MAX_LICENSE_LEN: usize = 64 * 1024;
/// Version of the payload JSON.
pub const LICENSE_PAYLOAD_VERSION: u32 = 1;

/// What a license grants (domain.md §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicensePayload {
    pub license_id: String,
    pub kind: LicenseKind,
    pub customer: String,
    pub issued_at: DateTime<Utc>,
    pub expire_at: DateTime<Utc>,
    pub max_connections: u32,
    pub max_tags: u32,
    pub plugins: Vec<String>,
    /// The hardware fingerprint the license is bound to; `None` when the
    /// license is not node-locked.
    pub hardware: Option<String>,
    pub product: Option<String>,
    pub order: Option<String>,
}

/// The payload as signed: the same fields plus the payload version `v`.
#[derive(Serialize)]
struct WireRef<'a> {
    v: u32,
    license_id: &'a str,
    kind: LicenseKind,
    customer: &'a str,
    issued_at: DateTime<Utc>,
    expire_at: DateTime<Utc>,
    max_connections: u32,
    max_tags: u32,
    plugins: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    hardware: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<&'a str>,
}

/// Unknown fields are ignored so that a later minor addition does not break
/// older verifiers; an incompatible change bumps `v`.
#[derive(Deserialize)]
struct Wire {
    v: u32,
    license_id: String,
    kind: LicenseKind,
    customer: String,
    issued_at: DateTime<Utc>,
    expire_at: DateTime<Utc>,
    max_connections: u32,
    max_tags: u32,
    #[serde(default)]
    plugins: Vec<String>,
    #[serde(default)]
    hardware: Option<String>,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    order: Option<String>,
}

#[derive(Deserialize)]
struct VersionOnly {
    v: u32,
}

/// Why a license file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum LicenseError {
    #[error(
        "the license file is too large ({len} bytes; at most {MAX_LICENSE_LEN}): check that you chose a LicenseDesk license file"
    )]
    TooLarge { len: usize },
    #[error(
        "this is not a LicenseDesk license file ({detail}): choose the .lic file you received, unmodified"
    )]
    Armor { detail: String },
    #[error("the license text is damaged (invalid base64): use the original file you received")]
    Base64,
    #[error("the license content is damaged ({detail}): use the original file you received")]
    Envelope { detail: String },
    #[error("license format version {v} is not supported: update LicenseDesk")]
    VersionUnsupported { v: u32 },
    #[error(
        "the license uses signature algorithm '{alg}', which is not supported: ask the issuer for a new license"
    )]
    AlgUnsupported { alg: String },
    #[error(
        "the license was signed with key '{kid}', which this installation does not trust: update LicenseDesk or ask the issuer"
    )]
    KidUnknown { kid: String },
    #[error(
        "the license signature is not valid ({reason}): the file was altered or not issued by LicenseDesk; ask the issuer for a new one"
    )]
    SignatureInvalid { reason: &'static str },
    #[error(
        "the license is signed but its content is invalid ({detail}): ask the issuer for a new license"
    )]
    Payload { detail: String },
    #[error("license content version {v} is not supported: update LicenseDesk")]
    PayloadVersionUnsupported { v: u32 },
    #[error(
        "the license is bound to hardware {bound}, not to this gateway ({actual}): install it on the gateway it was issued for, or request a license for {actual}"
    )]
    HardwareMismatch { bound: String, actual: String },
    /// A delegated license failed its certificate chain (see [`crate::delegate`]).
    #[error(transparent)]
    Delegate(DelegateError),
    #[error("the license expired at {expire_at} (now {now}): renew the license")]
    Expired {
        expire_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error(
        "the license is issued at {issued_at}, later than now ({now}): check this computer's clock"
    )]
    NotYetValid {
        issued_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
}

impl Coded for LicenseError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "LICENSE_TOO_LARGE",
            Self::Armor { .. } => "LICENSE_ARMOR_INVALID",
            Self::Base64 => "LICENSE_BASE64_INVALID",
            Self::Envelope { .. } => "LICENSE_ENVELOPE_INVALID",
            Self::VersionUnsupported { .. } => "LICENSE_VERSION_UNSUPPORTED",
            Self::AlgUnsupported { .. } => "LICENSE_ALG_UNSUPPORTED",
            Self::KidUnknown { .. } => "LICENSE_KID_UNKNOWN",
            Self::SignatureInvalid { .. } => "LICENSE_SIGNATURE_INVALID",
            Self::Payload { .. } => "LICENSE_PAYLOAD_INVALID",
            Self::PayloadVersionUnsupported { .. } => "LICENSE_PAYLOAD_VERSION_UNSUPPORTED",
            Self::HardwareMismatch { .. } => "LICENSE_HARDWARE_MISMATCH",
            Self::Expired { .. } => "LICENSE_EXPIRED",
            Self::NotYetValid { .. } => "LICENSE_NOT_YET_VALID",
            Self::Delegate(e) => e.code(),
        }
    }
}

impl From<EnvelopeError> for LicenseError {
    fn from(e: EnvelopeError) -> Self {
        match e {
            EnvelopeError::VersionUnsupported { v } => Self::VersionUnsupported { v },
            EnvelopeError::AlgUnsupported { alg } => Self::AlgUnsupported { alg },
            EnvelopeError::KidUnknown { kid } => Self::KidUnknown { kid },
            EnvelopeError::SignatureMalformed => Self::SignatureInvalid {
                reason: "malformed signature",
            },
            EnvelopeError::SignatureInvalid => Self::SignatureInvalid {
                reason: "signature mismatch",
            },
            EnvelopeError::PayloadEncoding => Self::Payload {
                detail: "payload is not base64url".into(),
            },
        }
    }
}

/// A license whose signature and format have been verified. Only
/// [`verify_license`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLicense {
    payload: LicensePayload,
    kid: String,
    delegate: Option<DelegateCert>,
}

impl VerifiedLicense {
    pub fn payload(&self) -> &LicensePayload {
        &self.payload
    }
    pub fn into_payload(self) -> LicensePayload {
        self.payload
    }
    /// The id of the key that signed it.
    pub fn kid(&self) -> &str {
        &self.kid
    }
    /// The verified delegate certificate of a license issued offline by a
    /// field kit; `None` for a license signed by a server key.
    pub fn delegate(&self) -> Option<&DelegateCert> {
        self.delegate.as_ref()
    }
}

/// The armoured body: an envelope, plus the delegate certificate envelope
/// for a delegated license. Field order is the canonical order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body<'a> {
    v: u32,
    alg: &'a str,
    kid: &'a str,
    payload: &'a str,
    sig: &'a str,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    cert: Option<EnvelopeRef<'a>>,
}

impl<'a> Body<'a> {
    fn envelope(&self) -> EnvelopeRef<'a> {
        EnvelopeRef {
            v: self.v,
            alg: self.alg,
            kid: self.kid,
            payload: self.payload,
            sig: self.sig,
        }
    }
}

fn payload_json(payload: &LicensePayload) -> Vec<u8> {
    let wire = WireRef {
        v: LICENSE_PAYLOAD_VERSION,
        license_id: &payload.license_id,
        kind: payload.kind,
        customer: &payload.customer,
        issued_at: payload.issued_at,
        expire_at: payload.expire_at,
        max_connections: payload.max_connections,
        max_tags: payload.max_tags,
        plugins: &payload.plugins,
        hardware: payload.hardware.as_deref(),
        product: payload.product.as_deref(),
        order: payload.order.as_deref(),
    };
    // Strings, integers and RFC 3339 dates only: serialisation cannot fail.
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// Signs a license and returns the armoured file text.
pub fn sign_license(payload: &LicensePayload, key: &SigningKeyWithKid) -> String {
    let envelope = keys::sign(LICENSE_CONTEXT, key, &payload_json(payload));
    armor::encode(envelope.to_json().as_bytes())
}

/// Signs a license with a delegate key; the file carries `cert`, the
/// certificate envelope the server signed for that key.
pub fn sign_delegated_license(
    payload: &LicensePayload,
    cert: &Envelope,
    delegate_key: &SigningKeyWithKid,
) -> String {
    let ctx = delegate::delegated_license_context(cert.as_ref());
    let envelope = keys::sign(&ctx, delegate_key, &payload_json(payload));
    let body = Body {
        cert: Some(cert.as_ref()),
        ..body_of(envelope.as_ref())
    };
    // Integers and strings only: serialisation cannot fail.
    armor::encode(&serde_json::to_vec(&body).unwrap_or_default())
}

fn body_of(e: EnvelopeRef<'_>) -> Body<'_> {
    Body {
        v: e.v,
        alg: e.alg,
        kid: e.kid,
        payload: e.payload,
        sig: e.sig,
        cert: None,
    }
}

fn parse_payload(bytes: &[u8]) -> Result<LicensePayload, LicenseError> {
    let wire: Wire = match serde_json::from_slice(bytes) {
        Ok(wire) => wire,
        Err(e) => {
            return Err(match serde_json::from_slice::<VersionOnly>(bytes) {
                Ok(VersionOnly { v }) if v != LICENSE_PAYLOAD_VERSION => {
                    LicenseError::PayloadVersionUnsupported { v }
                }
                _ => LicenseError::Payload {
                    detail: e.to_string(),
                },
            });
        }
    };
    if wire.v != LICENSE_PAYLOAD_VERSION {
        return Err(LicenseError::PayloadVersionUnsupported { v: wire.v });
    }
    let invalid = |detail: &str| LicenseError::Payload {
        detail: detail.to_owned(),
    };
    if wire.license_id.trim().is_empty() {
        return Err(invalid("empty license_id"));
    }
    if wire.expire_at <= wire.issued_at {
        return Err(invalid("expire_at is not after issued_at"));
    }
    Ok(LicensePayload {
        license_id: wire.license_id,
        kind: wire.kind,
        customer: wire.customer,
        issued_at: wire.issued_at,
        expire_at: wire.expire_at,
        max_connections: wire.max_connections,
        max_tags: wire.max_tags,
        plugins: wire.plugins,
        hardware: wire.hardware,
        product: wire.product,
        order: wire.order,
    })
}

/// Verifies a license file's size, layout, signature and format (not its
/// dates or hardware binding: see [`check_for_install`]).
pub fn verify_license(text: &[u8], keys: &KeySet) -> Result<VerifiedLicense, LicenseError> {
    if text.len() > MAX_LICENSE_LEN {
        return Err(LicenseError::TooLarge { len: text.len() });
    }
    let envelope_json = armor::decode(text)?;
    let body: Body<'_> = match serde_json::from_slice(&envelope_json) {
        Ok(body) => body,
        Err(e) => {
            return Err(
                match serde_json::from_slice::<VersionOnly>(&envelope_json) {
                    Ok(VersionOnly { v }) if v != keys::ENVELOPE_VERSION => {
                        LicenseError::VersionUnsupported { v }
                    }
                    _ => LicenseError::Envelope {
                        detail: e.to_string(),
                    },
                },
            );
        }
    };
    if serde_json::to_vec(&body).ok().as_deref() != Some(envelope_json.as_slice()) {
        return Err(LicenseError::Envelope {
            detail: "envelope JSON is not in canonical form".into(),
        });
    }
    let envelope = body.envelope();
    let delegate = match body.cert {
        None => {
            keys.verify_ref(LICENSE_CONTEXT, envelope)?;
            None
        }
        Some(cert_env) => {
            let cert = delegate::verify_cert(cert_env, keys).map_err(LicenseError::Delegate)?;
            delegate::verify_delegated_signature(&cert, cert_env, envelope)
                .map_err(LicenseError::Delegate)?;
            Some(cert)
        }
    };
    let payload = parse_payload(&keys::decode_payload(envelope.payload)?)?;
    if let Some(cert) = &delegate {
        delegate::check_scope(cert, &payload).map_err(LicenseError::Delegate)?;
    }
    Ok(VerifiedLicense {
        payload,
        kid: envelope.kid.to_owned(),
        delegate,
    })
}

/// The checks made before a verified license replaces the installed one:
/// hardware binding (`hardware` is the target gateway's fingerprint), issue
/// date not more than 5 minutes in the future, not expired at `now`.
pub fn check_for_install(
    license: &VerifiedLicense,
    hardware: &str,
    now: DateTime<Utc>,
) -> Result<(), LicenseError> {
    let payload = &license.payload;
    if let Some(bound) = &payload.hardware
        && !same_hardware(bound, hardware)
    {
        return Err(LicenseError::HardwareMismatch {
            bound: bound.clone(),
            actual: hardware.chars().take(64).collect(),
        });
    }
    if issued_in_future(payload.issued_at, now) {
        return Err(LicenseError::NotYetValid {
            issued_at: payload.issued_at,
            now,
        });
    }
    if now >= payload.expire_at {
        return Err(LicenseError::Expired {
            expire_at: payload.expire_at,
            now,
        });
    }
    Ok(())
}
