//! The signed response bundle and its matching with the request.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    MAX_GATEWAYS, MAX_RESPONSE_LEN, OFFLINE_FORMAT_VERSION, OfflineError, OfflineRequest,
    RequestEntry, VersionOnly, valid_nonce,
};
use crate::fingerprint::{normalize_fingerprint, same_hardware};
use crate::keys::{self, Envelope, KeySet, OFFLINE_RESPONSE_CONTEXT, SigningKeyWithKid};
use crate::license::{VerifiedLicense, verify_license};

/// Longest refusal message in a response, in characters.
pub const MAX_REFUSAL_MESSAGE_LEN: usize = 1000;

/// The server's answer for one gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseOutcome {
    /// The armoured license file text.
    License(String),
    /// Why no license was issued (an error `code` and its message).
    Refused { code: String, message: String },
}

/// One answered gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseItem {
    pub nonce: String,
    pub fingerprint: String,
    pub outcome: ResponseOutcome,
}

/// What the server signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsePayload {
    pub issued_at: DateTime<Utc>,
    pub items: Vec<ResponseItem>,
}

#[derive(Serialize, Deserialize)]
struct ResponseWire {
    v: u32,
    issued_at: DateTime<Utc>,
    items: Vec<ItemWire>,
}

#[derive(Serialize, Deserialize)]
struct ItemWire {
    nonce: String,
    fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    license: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<RefusalWire>,
}

#[derive(Serialize, Deserialize)]
struct RefusalWire {
    code: String,
    message: String,
}

/// Signs a response bundle; returns the response file text (the envelope
/// JSON and a final line break).
pub fn sign_response(payload: &ResponsePayload, key: &SigningKeyWithKid) -> String {
    let wire = ResponseWire {
        v: OFFLINE_FORMAT_VERSION,
        issued_at: payload.issued_at,
        items: payload
            .items
            .iter()
            .map(|item| {
                let (license, error) = match &item.outcome {
                    ResponseOutcome::License(text) => (Some(text.clone()), None),
                    ResponseOutcome::Refused { code, message } => (
                        None,
                        Some(RefusalWire {
                            code: code.clone(),
                            message: message.clone(),
                        }),
                    ),
                };
                ItemWire {
                    nonce: item.nonce.clone(),
                    fingerprint: item.fingerprint.clone(),
                    license,
                    error,
                }
            })
            .collect(),
    };
    // Strings and RFC 3339 dates only: serialisation cannot fail.
    let bytes = serde_json::to_vec(&wire).unwrap_or_default();
    let mut text = keys::sign(OFFLINE_RESPONSE_CONTEXT, key, &bytes).to_json();
    text.push('\n');
    text
}

/// The verified answer for one gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifiedOutcome {
    /// A verified license (not yet checked for installation) and its file text.
    Issued {
        license: Box<VerifiedLicense>,
        text: String,
    },
    Refused {
        code: String,
        message: String,
    },
}

/// One verified answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedItem {
    pub nonce: String,
    /// Canonical fingerprint.
    pub fingerprint: String,
    pub outcome: VerifiedOutcome,
}

/// A response bundle whose signature and every license in it are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedResponse {
    issued_at: DateTime<Utc>,
    kid: String,
    items: Vec<VerifiedItem>,
}

impl VerifiedResponse {
    pub fn issued_at(&self) -> DateTime<Utc> {
        self.issued_at
    }
    pub fn kid(&self) -> &str {
        &self.kid
    }
    pub fn items(&self) -> &[VerifiedItem] {
        &self.items
    }
}

fn malformed(detail: impl Into<String>) -> OfflineError {
    OfflineError::ResponseMalformed {
        detail: detail.into(),
    }
}

fn valid_refusal(code: &str, message: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && message.chars().count() <= MAX_REFUSAL_MESSAGE_LEN
}

fn verify_item(item: ItemWire, keys: &KeySet) -> Result<VerifiedItem, OfflineError> {
    if !valid_nonce(&item.nonce) {
        return Err(malformed(
            "a nonce is not 32 lower-case hexadecimal characters",
        ));
    }
    let fingerprint = normalize_fingerprint(&item.fingerprint).map_err(|_| {
        malformed(format!(
            "the fingerprint for nonce {} is invalid",
            item.nonce
        ))
    })?;
    let outcome = match (item.license, item.error) {
        (Some(text), None) => {
            let license = verify_license(text.as_bytes(), keys).map_err(|source| {
                OfflineError::ResponseLicense {
                    nonce: item.nonce.clone(),
                    source,
                }
            })?;
            let bound_here = license
                .payload()
                .hardware
                .as_deref()
                .is_some_and(|hw| same_hardware(hw, &fingerprint));
            if !bound_here {
                return Err(OfflineError::ResponseLicenseMismatch { nonce: item.nonce });
            }
            VerifiedOutcome::Issued {
                license: Box::new(license),
                text,
            }
        }
        (None, Some(RefusalWire { code, message })) if valid_refusal(&code, &message) => {
            VerifiedOutcome::Refused { code, message }
        }
        _ => {
            return Err(malformed(format!(
                "the answer for nonce {} must hold either a license or a valid error",
                item.nonce
            )));
        }
    };
    Ok(VerifiedItem {
        nonce: item.nonce,
        fingerprint,
        outcome,
    })
}

/// Verifies a response file: size cap, envelope signature (before the
/// payload is parsed), format, and every license in it (signature, format,
/// bound to the gateway it answers).
pub fn verify_response(bytes: &[u8], keys: &KeySet) -> Result<VerifiedResponse, OfflineError> {
    if bytes.len() > MAX_RESPONSE_LEN {
        return Err(OfflineError::ResponseTooLarge { len: bytes.len() });
    }
    let envelope: Envelope = match serde_json::from_slice(bytes) {
        Ok(envelope) => envelope,
        Err(e) => {
            return Err(match serde_json::from_slice::<VersionOnly>(bytes) {
                Ok(VersionOnly { v }) if v != keys::ENVELOPE_VERSION => {
                    OfflineError::VersionUnsupported { v }
                }
                _ => malformed(e.to_string()),
            });
        }
    };
    let payload = keys
        .verify(OFFLINE_RESPONSE_CONTEXT, &envelope)
        .map_err(|source| OfflineError::ResponseSignature { source })?;
    let wire: ResponseWire = match serde_json::from_slice(&payload) {
        Ok(wire) => wire,
        Err(e) => {
            return Err(match serde_json::from_slice::<VersionOnly>(&payload) {
                Ok(VersionOnly { v }) if v != OFFLINE_FORMAT_VERSION => {
                    OfflineError::VersionUnsupported { v }
                }
                _ => malformed(e.to_string()),
            });
        }
    };
    if wire.v != OFFLINE_FORMAT_VERSION {
        return Err(OfflineError::VersionUnsupported { v: wire.v });
    }
    if wire.items.len() > MAX_GATEWAYS {
        return Err(malformed(format!(
            "{} answers (at most {MAX_GATEWAYS})",
            wire.items.len()
        )));
    }
    let mut nonces = HashSet::with_capacity(wire.items.len());
    let mut items = Vec::with_capacity(wire.items.len());
    for item in wire.items {
        let item = verify_item(item, keys)?;
        if !nonces.insert(item.nonce.clone()) {
            return Err(OfflineError::DuplicateNonce { nonce: item.nonce });
        }
        items.push(item);
    }
    Ok(VerifiedResponse {
        issued_at: wire.issued_at,
        kid: envelope.kid,
        items,
    })
}

/// A request entry with the verified answer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub entry: RequestEntry,
    pub outcome: VerifiedOutcome,
}

/// Pairs every request entry with the answer echoing its nonce, in request
/// order. The response must answer exactly the request: an answer with an
/// unknown nonce ([`OfflineError::NonceUnknown`]), for another gateway
/// ([`OfflineError::FingerprintMismatch`]), or an entry left unanswered
/// ([`OfflineError::NonceMissing`]) refuses the whole response.
pub fn match_response(
    request: &OfflineRequest,
    response: &VerifiedResponse,
) -> Result<Vec<Matched>, OfflineError> {
    let by_nonce: HashMap<&str, &VerifiedItem> = response
        .items
        .iter()
        .map(|item| (item.nonce.as_str(), item))
        .collect();
    for item in &response.items {
        match request.gateways().iter().find(|e| e.nonce == item.nonce) {
            None => {
                return Err(OfflineError::NonceUnknown {
                    nonce: item.nonce.clone(),
                });
            }
            Some(entry) if entry.fingerprint != item.fingerprint => {
                return Err(OfflineError::FingerprintMismatch {
                    nonce: item.nonce.clone(),
                });
            }
            Some(_) => {}
        }
    }
    request
        .gateways()
        .iter()
        .map(|entry| match by_nonce.get(entry.nonce.as_str()) {
            Some(item) => Ok(Matched {
                entry: entry.clone(),
                outcome: item.outcome.clone(),
            }),
            None => Err(OfflineError::NonceMissing {
                nonce: entry.nonce.clone(),
                fingerprint: entry.fingerprint.clone(),
            }),
        })
        .collect()
}
