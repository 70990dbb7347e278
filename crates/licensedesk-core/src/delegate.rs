//! Delegate certificates: the server lets a field laptop's own Ed25519 key
//! sign gateway licenses offline, within a scope and up to N licenses.
//!
//! A certificate is an [`Envelope`] signed by a server key under
//! [`DELEGATE_CONTEXT`]; its payload is the JSON of a [`DelegateCert`]
//! (`"v":1`). A delegated license is armoured like any license, but its body
//! is the license envelope plus a `cert` field holding the certificate
//! envelope:
//!
//! ```text
//! {"v":1,"alg":"ed25519","kid":<delegate kid>,"payload":…,"sig":…,"cert":{<certificate envelope>}}
//! ```
//!
//! The delegate signs the license under the context
//! `licensedesk/delegated-license/v1/<sha256 hex of the certificate JSON>/`,
//! so a delegated license is bound to the exact certificate it carries (it
//! cannot be re-wrapped with another certificate of the same key) and can
//! never pass as a server-signed license. Verification with only the
//! server's [`KeySet`]: root key → certificate → license signature → scope
//! at the license's `issued_at` → (at install) hardware binding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::Coded;
use crate::gateway::LicenseKind;
use crate::keys::{
    self, Envelope, EnvelopeError, EnvelopeRef, KeySet, PublicKeyEntry, SigningKeyWithKid,
};
use crate::license::LicensePayload;

/// Context of delegate certificates.
pub const DELEGATE_CONTEXT: &str = "licensedesk/delegate/v1/";
/// Prefix of the context a delegate signs licenses under (see module doc).
pub const DELEGATED_LICENSE_CONTEXT_PREFIX: &str = "licensedesk/delegated-license/v1/";
/// Version of the certificate payload.
pub const DELEGATE_CERT_VERSION: u32 = 1;
/// A certificate may allot at most this many licenses.
pub const MAX_ALLOTMENT: u32 = 10_000;
/// Longest allotment id, plugin list, text field.
const MAX_ID_LEN: usize = 128;
const MAX_PLUGINS: usize = 256;

/// What a delegate may issue.
///
/// The scope is an **order** scope when `order` is set (`product` is then
/// the order's product, if it has one) and a **product** scope when only
/// `product` is (the allotment drew from that product's orders; see
/// [`crate::gateway::plan_allotment`]). A delegated license names exactly
/// its scope's order and product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegateScope {
    pub kind: LicenseKind,
    pub customer: String,
    pub order: Option<String>,
    pub product: Option<String>,
    pub plugins: Vec<String>,
    pub max_connections: u32,
    pub max_tags: u32,
    /// Longest validity of one license, from its `issued_at`.
    pub max_license_days: u32,
}

/// What a scope is for: one order, or a product's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRef<'a> {
    Order(&'a str),
    Product(&'a str),
}

impl std::fmt::Display for ScopeRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Order(o) => write!(f, "order '{o}'"),
            Self::Product(p) => write!(f, "product '{p}'"),
        }
    }
}

impl DelegateScope {
    /// The order the scope is for, else its product; `None` for a scope
    /// naming neither (never valid).
    pub fn reference(&self) -> Option<ScopeRef<'_>> {
        match (&self.order, &self.product) {
            (Some(order), _) => Some(ScopeRef::Order(order)),
            (None, Some(product)) => Some(ScopeRef::Product(product)),
            (None, None) => None,
        }
    }
}

/// How a license's order and product read in a refusal.
fn describe_reference(order: Option<&str>, product: Option<&str>) -> String {
    match (order, product) {
        (Some(o), Some(p)) => format!("order '{o}' (product '{p}')"),
        (Some(o), None) => format!("order '{o}'"),
        (None, Some(p)) => format!("product '{p}'"),
        (None, None) => "no order or product".to_owned(),
    }
}

/// The signed statement "key `delegate_kid` may issue up to `max_licenses`
/// licenses within `scope` between `not_before` and `not_after`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegateCert {
    pub v: u32,
    pub allotment_id: String,
    pub delegate_kid: String,
    /// base64url (no padding) of the 32-byte Ed25519 public key.
    pub delegate_public_key: String,
    pub scope: DelegateScope,
    pub max_licenses: u32,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// Why a certificate, or a license signed under one, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum DelegateError {
    #[error(
        "the delegate certificate is not signed by a trusted LicenseDesk server key ({detail}): the license did not come from an allotment of your server"
    )]
    CertSignatureInvalid { detail: String },
    #[error("the delegate certificate is invalid ({detail}): check out a new allotment")]
    CertInvalid { detail: String },
    #[error(
        "the license was signed by key '{kid}', not by the delegate key '{expected}' its certificate names"
    )]
    KidMismatch { kid: String, expected: String },
    #[error(
        "the delegated license signature does not match (the file was altered, or signed for another certificate): ask the field engineer for a new license"
    )]
    LicenseSignatureInvalid,
    #[error(
        "the delegate certificate was not valid at {at} (valid {not_before} to {not_after}): check out a new allotment"
    )]
    CertExpired {
        at: DateTime<Utc>,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    },
    #[error("the license exceeds its delegate certificate's scope: {detail}")]
    ScopeExceeded { detail: String },
    #[error("a delegated license must be bound to a gateway's hardware fingerprint")]
    Unbound,
}

impl Coded for DelegateError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::CertSignatureInvalid { .. } => "DELEGATE_CERT_SIGNATURE_INVALID",
            Self::CertInvalid { .. } => "DELEGATE_CERT_INVALID",
            Self::KidMismatch { .. } => "DELEGATE_KID_MISMATCH",
            Self::LicenseSignatureInvalid => "DELEGATE_LICENSE_SIGNATURE_INVALID",
            Self::CertExpired { .. } => "DELEGATE_CERT_EXPIRED",
            Self::ScopeExceeded { .. } => "DELEGATE_SCOPE_EXCEEDED",
            Self::Unbound => "DELEGATE_LICENSE_UNBOUND",
        }
    }
}

fn invalid(detail: &str) -> DelegateError {
    DelegateError::CertInvalid {
        detail: detail.to_owned(),
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The context a delegate signs licenses under, bound to the certificate.
pub fn delegated_license_context(cert: EnvelopeRef<'_>) -> String {
    let hash = sha256_hex(cert.to_json().as_bytes());
    format!("{DELEGATED_LICENSE_CONTEXT_PREFIX}{hash}/")
}

impl DelegateCert {
    /// Checks the fields a signer could get wrong (also run on verification).
    pub fn validate(&self) -> Result<(), DelegateError> {
        if self.v != DELEGATE_CERT_VERSION {
            return Err(invalid("unsupported certificate version"));
        }
        keys::validate_kid(&self.delegate_kid).map_err(|_| invalid("delegate key id"))?;
        let id_ok = |s: &str| !s.trim().is_empty() && s.len() <= MAX_ID_LEN;
        if !id_ok(&self.allotment_id) || self.scope.customer.len() > MAX_ID_LEN {
            return Err(invalid("allotment id or customer"));
        }
        if self.max_licenses == 0 || self.max_licenses > MAX_ALLOTMENT {
            return Err(invalid("max_licenses must be 1 to 10000"));
        }
        if self.not_after <= self.not_before {
            return Err(invalid("not_after is not after not_before"));
        }
        if self.scope.plugins.len() > MAX_PLUGINS || self.scope.max_license_days == 0 {
            return Err(invalid("scope plugins or license days"));
        }
        let long = |s: &Option<String>| s.as_ref().is_some_and(|s| !id_ok(s));
        if self.scope.reference().is_none() || long(&self.scope.order) || long(&self.scope.product)
        {
            return Err(invalid("the scope must name an order or a product"));
        }
        self.public_key_entry().map(|_| ())
    }

    /// The delegate key as a one-key [`KeySet`] entry.
    fn public_key_entry(&self) -> Result<KeySet, DelegateError> {
        KeySet::single(PublicKeyEntry {
            kid: self.delegate_kid.clone(),
            alg: keys::ALG_ED25519.to_owned(),
            public_key: self.delegate_public_key.clone(),
            created_at: self.not_before,
        })
        .map_err(|_| invalid("delegate public key"))
    }

    /// The delegate public key of `key`, base64url, as certificates carry it.
    pub fn public_key_of(key: &SigningKeyWithKid) -> String {
        URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())
    }
}

/// Signs a certificate with a server key.
pub fn sign_cert(cert: &DelegateCert, server_key: &SigningKeyWithKid) -> Envelope {
    // Strings, integers and RFC 3339 dates only: serialisation cannot fail.
    let json = serde_json::to_vec(cert).unwrap_or_default();
    keys::sign(DELEGATE_CONTEXT, server_key, &json)
}

/// Verifies a certificate envelope with the server's key set and returns it.
pub fn verify_cert(env: EnvelopeRef<'_>, roots: &KeySet) -> Result<DelegateCert, DelegateError> {
    roots
        .verify_ref(DELEGATE_CONTEXT, env)
        .map_err(|e| DelegateError::CertSignatureInvalid {
            detail: e.to_string(),
        })?;
    let bytes = keys::decode_payload(env.payload).map_err(|_| invalid("payload encoding"))?;
    let cert: DelegateCert =
        serde_json::from_slice(&bytes).map_err(|e| DelegateError::CertInvalid {
            detail: e.to_string(),
        })?;
    cert.validate()?;
    Ok(cert)
}

/// Checks the delegated license envelope `license` against `cert` (already
/// verified): key id and signature under the certificate-bound context.
pub fn verify_delegated_signature(
    cert: &DelegateCert,
    cert_env: EnvelopeRef<'_>,
    license: EnvelopeRef<'_>,
) -> Result<(), DelegateError> {
    if license.kid != cert.delegate_kid {
        return Err(DelegateError::KidMismatch {
            kid: license.kid.chars().take(keys::MAX_KID_LEN + 1).collect(),
            expected: cert.delegate_kid.clone(),
        });
    }
    let delegate = cert.public_key_entry()?;
    match delegate.verify_ref(&delegated_license_context(cert_env), license) {
        Ok(()) => Ok(()),
        Err(EnvelopeError::VersionUnsupported { .. } | EnvelopeError::AlgUnsupported { .. }) => {
            Err(invalid("license envelope version or algorithm"))
        }
        Err(_) => Err(DelegateError::LicenseSignatureInvalid),
    }
}

fn exceeded(detail: String) -> DelegateError {
    DelegateError::ScopeExceeded { detail }
}

/// The scope rules: valid at `issued_at`, kind, customer, order, product,
/// plugins ⊆ scope, limits ≤ scope, validity ≤ scope, node-locked.
pub fn check_scope(cert: &DelegateCert, p: &LicensePayload) -> Result<(), DelegateError> {
    if p.issued_at < cert.not_before || p.issued_at >= cert.not_after {
        return Err(DelegateError::CertExpired {
            at: p.issued_at,
            not_before: cert.not_before,
            not_after: cert.not_after,
        });
    }
    let s = &cert.scope;
    if p.kind != s.kind {
        return Err(exceeded(format!(
            "kind {:?}, scope allows {:?}",
            p.kind, s.kind
        )));
    }
    if p.customer != s.customer {
        return Err(exceeded(format!(
            "customer '{}' is not the scope's '{}'",
            p.customer, s.customer
        )));
    }
    if p.order != s.order || p.product != s.product {
        let scope = s
            .reference()
            .map_or_else(|| "none".to_owned(), |r| r.to_string());
        return Err(exceeded(format!(
            "{} is outside the scope ({scope})",
            describe_reference(p.order.as_deref(), p.product.as_deref())
        )));
    }
    if let Some(extra) = p.plugins.iter().find(|x| !s.plugins.contains(x)) {
        return Err(exceeded(format!("plugin '{extra}' is not in the scope")));
    }
    if p.max_connections > s.max_connections || p.max_tags > s.max_tags {
        return Err(exceeded(format!(
            "limits {}/{} (connections/tags) exceed the scope's {}/{}",
            p.max_connections, p.max_tags, s.max_connections, s.max_tags
        )));
    }
    let longest = p
        .issued_at
        .checked_add_signed(Duration::days(i64::from(s.max_license_days)));
    if longest.is_none_or(|limit| p.expire_at > limit) {
        return Err(exceeded(format!(
            "validity longer than the scope's {} days",
            s.max_license_days
        )));
    }
    if p.hardware.is_none() {
        return Err(DelegateError::Unbound);
    }
    Ok(())
}

/// The license a delegate issues for `fingerprint` at `now`: the scope's
/// full grant, valid for the scope's longest validity.
pub fn delegated_payload(
    cert: &DelegateCert,
    license_id: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> LicensePayload {
    let s = &cert.scope;
    let days = Duration::days(i64::from(s.max_license_days));
    LicensePayload {
        license_id: license_id.to_owned(),
        kind: s.kind,
        customer: s.customer.clone(),
        issued_at: now,
        expire_at: now.checked_add_signed(days).unwrap_or(now),
        max_connections: s.max_connections,
        max_tags: s.max_tags,
        plugins: s.plugins.clone(),
        hardware: Some(fingerprint.to_owned()),
        product: s.product.clone(),
        order: s.order.clone(),
    }
}
