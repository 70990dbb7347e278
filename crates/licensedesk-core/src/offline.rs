//! Offline activation files (domain.md §3).
//!
//! **Request** (`.ldreq`, JSON, written by a gateway or LicenseDesk on site):
//! `{"v":1,"gateways":[{"fingerprint","code"|"order"|"product","nonce","created_at","name"?}]}`.
//! Each entry names one gateway by its fingerprint, the credential to
//! activate it with (an activation code, an order number, or — for a field
//! kit's product allotment — a gateway product), a fresh random
//! nonce (16 bytes from the caller's CSPRNG, 32 hex digits) and when it was
//! made.
//!
//! **Response** (`.ldresp`, written by the server): a signed [`Envelope`](crate::keys::Envelope)
//! (context [`OFFLINE_RESPONSE_CONTEXT`](crate::keys::OFFLINE_RESPONSE_CONTEXT)) whose payload is
//! `{"v":1,"issued_at","items":[{"nonce","fingerprint","license"|"error"}]}`:
//! one signed license per gateway (or the reason it was refused), each
//! echoing the nonce of its request entry. [`match_response`] pairs them up
//! and refuses a response that does not answer exactly the request.

mod error;
mod response;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use error::OfflineError;
pub use response::{
    MAX_REFUSAL_MESSAGE_LEN, Matched, ResponseItem, ResponseOutcome, ResponsePayload, VerifiedItem,
    VerifiedOutcome, VerifiedResponse, match_response, sign_response, verify_response,
};

use crate::activation_code::ActivationCode;
use crate::fingerprint::normalize_fingerprint;
use crate::gateway::check_product;

/// Version of request and response payloads.
pub const OFFLINE_FORMAT_VERSION: u32 = 1;
/// A request file larger than this is refused before it is parsed.
pub const MAX_REQUEST_LEN: usize = 1024 * 1024;
/// A response file larger than this is refused before it is parsed.
pub const MAX_RESPONSE_LEN: usize = 8 * 1024 * 1024;
/// Most gateways in one request.
pub const MAX_GATEWAYS: usize = 1000;
/// Longest gateway name, in characters.
pub const MAX_NAME_LEN: usize = 100;
/// Longest order number.
pub const MAX_ORDER_LEN: usize = 64;

/// What a gateway is activated with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Code(ActivationCode),
    /// An order number (printable ASCII, 1 to 64 characters).
    Order(String),
    /// A gateway product ([`crate::gateway::check_product`]): only a field
    /// kit's product allotment issues for it.
    Product(String),
}

/// One gateway of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEntry {
    /// Canonical fingerprint.
    pub fingerprint: String,
    pub credential: Credential,
    /// 32 lower-case hex digits.
    pub nonce: String,
    pub created_at: DateTime<Utc>,
    pub name: Option<String>,
}

/// A validated activation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineRequest {
    gateways: Vec<RequestEntry>,
}

#[derive(Serialize, Deserialize)]
struct RequestWire {
    v: u32,
    gateways: Vec<EntryWire>,
}

#[derive(Serialize, Deserialize)]
struct EntryWire {
    fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    product: Option<String>,
    nonce: String,
    created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Deserialize)]
struct VersionOnly {
    v: u32,
}

fn valid_nonce(nonce: &str) -> bool {
    nonce.len() == 32
        && nonce
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn valid_name(name: &str) -> bool {
    let len = name.chars().count();
    (1..=MAX_NAME_LEN).contains(&len) && !name.chars().any(char::is_control)
}

fn valid_order(order: &str) -> bool {
    (1..=MAX_ORDER_LEN).contains(&order.len()) && order.bytes().all(|b| b.is_ascii_graphic())
}

const ORDER_RULE: &str = "the order number must be 1 to 64 printable characters";
const PRODUCT_RULE: &str = "the product must be 1 to 64 printable characters without spaces";

fn check_credential(credential: &Credential, gateway: usize) -> Result<(), OfflineError> {
    match credential {
        Credential::Order(order) if !valid_order(order) => Err(OfflineError::Credential {
            gateway,
            detail: ORDER_RULE,
        }),
        Credential::Product(product) if check_product(product).is_err() => {
            Err(OfflineError::Credential {
                gateway,
                detail: PRODUCT_RULE,
            })
        }
        _ => Ok(()),
    }
}

/// Checks the fields other than the credential; returns the canonical
/// fingerprint.
fn check_common(
    fingerprint: &str,
    nonce: &str,
    name: Option<&str>,
    gateway: usize,
) -> Result<String, OfflineError> {
    let fingerprint = normalize_fingerprint(fingerprint)
        .map_err(|source| OfflineError::Fingerprint { gateway, source })?;
    if !valid_nonce(nonce) {
        return Err(OfflineError::NonceInvalid { gateway });
    }
    if name.is_some_and(|n| !valid_name(n)) {
        return Err(OfflineError::NameInvalid { gateway });
    }
    Ok(fingerprint)
}

impl RequestEntry {
    /// An entry for one gateway; `nonce` comes from the caller's CSPRNG.
    pub fn new(
        fingerprint: &str,
        credential: Credential,
        nonce: [u8; 16],
        created_at: DateTime<Utc>,
        name: Option<String>,
    ) -> Result<Self, OfflineError> {
        let nonce = hex::encode(nonce);
        let fingerprint = check_common(fingerprint, &nonce, name.as_deref(), 1)?;
        check_credential(&credential, 1)?;
        Ok(Self {
            fingerprint,
            credential,
            nonce,
            created_at,
            name,
        })
    }

    fn to_wire(&self) -> EntryWire {
        let (code, order, product) = match &self.credential {
            Credential::Code(code) => (Some(code.to_string()), None, None),
            Credential::Order(order) => (None, Some(order.clone()), None),
            Credential::Product(product) => (None, None, Some(product.clone())),
        };
        EntryWire {
            fingerprint: self.fingerprint.clone(),
            code,
            order,
            product,
            nonce: self.nonce.clone(),
            created_at: self.created_at,
            name: self.name.clone(),
        }
    }

    fn from_wire(wire: EntryWire, gateway: usize) -> Result<Self, OfflineError> {
        let fingerprint = check_common(
            &wire.fingerprint,
            &wire.nonce,
            wire.name.as_deref(),
            gateway,
        )?;
        let credential = match (wire.code, wire.order, wire.product) {
            (Some(code), None, None) => Credential::Code(
                ActivationCode::parse(&code)
                    .map_err(|source| OfflineError::Code { gateway, source })?,
            ),
            (None, Some(order), None) => Credential::Order(order),
            (None, None, Some(product)) => Credential::Product(product),
            (None, None, None) => {
                return Err(OfflineError::Credential {
                    gateway,
                    detail: "give an activation code, an order number or a product",
                });
            }
            _ => {
                return Err(OfflineError::Credential {
                    gateway,
                    detail: "give only one of an activation code, an order number or a product",
                });
            }
        };
        check_credential(&credential, gateway)?;
        Ok(Self {
            fingerprint,
            credential,
            nonce: wire.nonce,
            created_at: wire.created_at,
            name: wire.name,
        })
    }
}

impl OfflineRequest {
    /// A request for one or more gateways: every entry valid (fingerprint in
    /// canonical form), no duplicate nonce or gateway.
    pub fn new(gateways: Vec<RequestEntry>) -> Result<Self, OfflineError> {
        if gateways.is_empty() {
            return Err(OfflineError::NoGateways);
        }
        if gateways.len() > MAX_GATEWAYS {
            return Err(OfflineError::TooManyGateways {
                count: gateways.len(),
            });
        }
        let mut nonces = HashSet::with_capacity(gateways.len());
        let mut fingerprints = HashSet::with_capacity(gateways.len());
        for (i, entry) in gateways.iter().enumerate() {
            let canonical = check_common(
                &entry.fingerprint,
                &entry.nonce,
                entry.name.as_deref(),
                i + 1,
            )?;
            if canonical != entry.fingerprint {
                return Err(OfflineError::Fingerprint {
                    gateway: i + 1,
                    source: crate::fingerprint::FingerprintError::NotCanonical,
                });
            }
            check_credential(&entry.credential, i + 1)?;
            if !nonces.insert(entry.nonce.as_str()) {
                return Err(OfflineError::DuplicateNonce {
                    nonce: entry.nonce.clone(),
                });
            }
            if !fingerprints.insert(entry.fingerprint.as_str()) {
                return Err(OfflineError::DuplicateGateway {
                    fingerprint: entry.fingerprint.clone(),
                });
            }
        }
        Ok(Self { gateways })
    }

    pub fn gateways(&self) -> &[RequestEntry] {
        &self.gateways
    }

    /// The request file text (pretty JSON).
    pub fn to_json(&self) -> String {
        let wire = RequestWire {
            v: OFFLINE_FORMAT_VERSION,
            gateways: self.gateways.iter().map(RequestEntry::to_wire).collect(),
        };
        // Strings and RFC 3339 dates only: serialisation cannot fail.
        serde_json::to_string_pretty(&wire).unwrap_or_default()
    }
}

/// Parses and validates an activation request file.
pub fn parse_request(bytes: &[u8]) -> Result<OfflineRequest, OfflineError> {
    if bytes.len() > MAX_REQUEST_LEN {
        return Err(OfflineError::RequestTooLarge { len: bytes.len() });
    }
    let wire: RequestWire = match serde_json::from_slice(bytes) {
        Ok(wire) => wire,
        Err(e) => {
            return Err(match serde_json::from_slice::<VersionOnly>(bytes) {
                Ok(VersionOnly { v }) if v != OFFLINE_FORMAT_VERSION => {
                    OfflineError::VersionUnsupported { v }
                }
                _ => OfflineError::RequestMalformed {
                    detail: e.to_string(),
                },
            });
        }
    };
    if wire.v != OFFLINE_FORMAT_VERSION {
        return Err(OfflineError::VersionUnsupported { v: wire.v });
    }
    if wire.gateways.len() > MAX_GATEWAYS {
        return Err(OfflineError::TooManyGateways {
            count: wire.gateways.len(),
        });
    }
    let entries = wire
        .gateways
        .into_iter()
        .enumerate()
        .map(|(i, e)| RequestEntry::from_wire(e, i + 1))
        .collect::<Result<Vec<_>, _>>()?;
    OfflineRequest::new(entries)
}
