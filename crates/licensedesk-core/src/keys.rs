//! Ed25519 keys, key sets with rotation, and domain-separated signed
//! envelopes shared by every signed object (licenses, offline response
//! bundles, signed server time, …).
//!
//! An [`Envelope`] is `{v:1, alg:"ed25519", kid, payload, sig}` where
//! `payload` is the base64url (no padding) text of the payload bytes and
//! `sig` the base64url Ed25519 signature over
//! `context + kid + "/" + payload` — `payload` as the base64url text exactly as
//! it appears. The context (e.g. [`LICENSE_CONTEXT`]) names the kind of
//! object, so a signature over one kind can never be replayed as another.
//! Verification uses `verify_strict` (no malleable or small-order inputs).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::Coded;

/// The only signature algorithm.
pub const ALG_ED25519: &str = "ed25519";
/// The only envelope version.
pub const ENVELOPE_VERSION: u32 = 1;
/// Context of license files.
pub const LICENSE_CONTEXT: &str = "licensedesk/license/v1/";
/// Context of offline activation response bundles.
pub const OFFLINE_RESPONSE_CONTEXT: &str = "licensedesk/offline-response/v1/";
/// Context of signed server time statements.
pub const SERVER_TIME_CONTEXT: &str = "licensedesk/server-time/v1/";
/// A key set file larger than this is refused before it is parsed.
pub const MAX_KEYSET_LEN: usize = 64 * 1024;
/// Longest key id.
pub const MAX_KID_LEN: usize = 64;

/// A signed object: see the module doc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub v: u32,
    pub alg: String,
    pub kid: String,
    pub payload: String,
    pub sig: String,
}

/// A borrowed view of an [`Envelope`] (zero-copy parsing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeRef<'a> {
    pub v: u32,
    pub alg: &'a str,
    pub kid: &'a str,
    pub payload: &'a str,
    pub sig: &'a str,
}

impl Envelope {
    pub fn as_ref(&self) -> EnvelopeRef<'_> {
        EnvelopeRef {
            v: self.v,
            alg: &self.alg,
            kid: &self.kid,
            payload: &self.payload,
            sig: &self.sig,
        }
    }

    /// Compact JSON with fields in the canonical order `v, alg, kid, payload, sig`.
    pub fn to_json(&self) -> String {
        self.as_ref().to_json()
    }
}

impl EnvelopeRef<'_> {
    /// Compact JSON with fields in the canonical order `v, alg, kid, payload, sig`.
    pub fn to_json(&self) -> String {
        // Only u32 and &str fields: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a signed envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum EnvelopeError {
    #[error("signed format version {v} is not supported (expected 1): update LicenseDesk")]
    VersionUnsupported { v: u32 },
    #[error(
        "signature algorithm '{alg}' is not supported (expected ed25519): ask the issuer for a new file"
    )]
    AlgUnsupported { alg: String },
    #[error(
        "signed with key '{kid}', which this installation does not know: update LicenseDesk's public keys or ask the issuer"
    )]
    KidUnknown { kid: String },
    #[error(
        "the signature is not a valid Ed25519 signature encoding: the file is damaged; ask the issuer for a new one"
    )]
    SignatureMalformed,
    #[error(
        "the signature does not match the content: the file was altered or damaged; ask the issuer for a new one"
    )]
    SignatureInvalid,
    #[error(
        "the signed payload is not valid base64url: the file is damaged; ask the issuer for a new one"
    )]
    PayloadEncoding,
}

impl Coded for EnvelopeError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::VersionUnsupported { .. } => "SIGNED_VERSION_UNSUPPORTED",
            Self::AlgUnsupported { .. } => "SIGNED_ALG_UNSUPPORTED",
            Self::KidUnknown { .. } => "SIGNED_KID_UNKNOWN",
            Self::SignatureMalformed | Self::SignatureInvalid => "SIGNED_SIGNATURE_INVALID",
            Self::PayloadEncoding => "SIGNED_PAYLOAD_INVALID",
        }
    }
}

/// Why a key or key set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum KeyError {
    #[error("key id '{kid}' is invalid: use 1 to {MAX_KID_LEN} characters among A-Z a-z 0-9 . _ -")]
    InvalidKid { kid: String },
    #[error(
        "the key set is too large ({len} bytes; at most {MAX_KEYSET_LEN}): check that the right file was chosen"
    )]
    TooLarge { len: usize },
    #[error(
        "the key set is not valid JSON of the form {{keys:[{{kid,alg,public_key,created_at}}],current}}: {detail}"
    )]
    Malformed { detail: String },
    #[error("the key set has no keys: add at least one public key")]
    Empty,
    #[error("key '{kid}' uses algorithm '{alg}', which is not supported (expected ed25519)")]
    AlgUnsupported { kid: String, alg: String },
    #[error(
        "public key '{kid}' is not a valid Ed25519 public key (32 bytes, base64url): re-export the key set"
    )]
    PublicKeyInvalid { kid: String },
    #[error("key id '{kid}' appears twice in the key set: each key needs its own id")]
    DuplicateKid { kid: String },
    #[error("the current key '{kid}' is not in the key set: add it or pick another current key")]
    CurrentUnknown { kid: String },
}

impl Coded for KeyError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::InvalidKid { .. } => "KEY_ID_INVALID",
            Self::TooLarge { .. } => "KEYSET_TOO_LARGE",
            Self::Malformed { .. } => "KEYSET_MALFORMED",
            Self::Empty => "KEYSET_EMPTY",
            Self::AlgUnsupported { .. } => "KEYSET_ALG_UNSUPPORTED",
            Self::PublicKeyInvalid { .. } => "KEYSET_PUBLIC_KEY_INVALID",
            Self::DuplicateKid { .. } => "KEYSET_DUPLICATE_KID",
            Self::CurrentUnknown { .. } => "KEYSET_CURRENT_UNKNOWN",
        }
    }
}

/// Checks a key id: 1..=64 characters among `A-Z a-z 0-9 . _ -`.
pub fn validate_kid(kid: &str) -> Result<(), KeyError> {
    let ok = !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(KeyError::InvalidKid {
            kid: kid.chars().take(MAX_KID_LEN + 1).collect(),
        })
    }
}

/// A private signing key with its key id.
#[derive(Clone)]
pub struct SigningKeyWithKid {
    kid: String,
    key: SigningKey,
}

impl std::fmt::Debug for SigningKeyWithKid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyWithKid")
            .field("kid", &self.kid)
            .field("key", &"<secret>")
            .finish()
    }
}

impl SigningKeyWithKid {
    /// A key pair from 32 seed bytes supplied by the caller's CSPRNG (or
    /// read back from the caller's key store).
    pub fn from_seed(kid: &str, seed: [u8; 32]) -> Result<Self, KeyError> {
        validate_kid(kid)?;
        Ok(Self {
            kid: kid.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The 32 seed bytes, for the caller's key store. Keep them secret.
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public half, as published in a [`KeySet`].
    pub fn public_entry(&self, created_at: DateTime<Utc>) -> PublicKeyEntry {
        PublicKeyEntry {
            kid: self.kid.clone(),
            alg: ALG_ED25519.to_owned(),
            public_key: URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes()),
            created_at,
        }
    }
}

/// The exact bytes that are signed.
fn message(ctx: &str, kid: &str, payload_b64: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(ctx.len() + kid.len() + 1 + payload_b64.len());
    m.extend_from_slice(ctx.as_bytes());
    m.extend_from_slice(kid.as_bytes());
    m.push(b'/');
    m.extend_from_slice(payload_b64.as_bytes());
    m
}

/// Signs `payload` under the domain-separation context `ctx` (one of the
/// `*_CONTEXT` constants; each ends with `/`).
pub fn sign(ctx: &str, key: &SigningKeyWithKid, payload: &[u8]) -> Envelope {
    let payload = URL_SAFE_NO_PAD.encode(payload);
    let sig = key.key.sign(&message(ctx, &key.kid, &payload));
    Envelope {
        v: ENVELOPE_VERSION,
        alg: ALG_ED25519.to_owned(),
        kid: key.kid.clone(),
        payload,
        sig: URL_SAFE_NO_PAD.encode(sig.to_bytes()),
    }
}

/// One published public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyEntry {
    pub kid: String,
    pub alg: String,
    /// base64url (no padding) of the 32-byte Ed25519 public key.
    pub public_key: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct KeySetRepr {
    keys: Vec<PublicKeyEntry>,
    current: String,
}

/// The public keys a verifier trusts, by key id, and the one new objects are
/// signed with (`current`). Serialises as
/// `{"keys":[{"kid","alg","public_key","created_at"}],"current":"kid"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "KeySetRepr", into = "KeySetRepr")]
pub struct KeySet {
    entries: Vec<PublicKeyEntry>,
    verifying: Vec<VerifyingKey>,
    current: String,
}

impl From<KeySet> for KeySetRepr {
    fn from(set: KeySet) -> Self {
        KeySetRepr {
            keys: set.entries,
            current: set.current,
        }
    }
}

impl TryFrom<KeySetRepr> for KeySet {
    type Error = KeyError;
    fn try_from(repr: KeySetRepr) -> Result<Self, KeyError> {
        KeySet::new(repr.keys, &repr.current)
    }
}

fn decode_public_key(entry: &PublicKeyEntry) -> Result<VerifyingKey, KeyError> {
    validate_kid(&entry.kid)?;
    if entry.alg != ALG_ED25519 {
        return Err(KeyError::AlgUnsupported {
            kid: entry.kid.clone(),
            alg: entry.alg.chars().take(32).collect(),
        });
    }
    let invalid = || KeyError::PublicKeyInvalid {
        kid: entry.kid.clone(),
    };
    let mut bytes = [0u8; 32];
    match URL_SAFE_NO_PAD.decode_slice(entry.public_key.as_bytes(), &mut bytes) {
        Ok(32) => {}
        _ => return Err(invalid()),
    }
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| invalid())?;
    if key.is_weak() {
        return Err(invalid());
    }
    Ok(key)
}

impl KeySet {
    /// A key set from published entries; `current` must be one of them.
    pub fn new(entries: Vec<PublicKeyEntry>, current: &str) -> Result<Self, KeyError> {
        if entries.is_empty() {
            return Err(KeyError::Empty);
        }
        let mut verifying = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            if entries[..i].iter().any(|e| e.kid == entry.kid) {
                return Err(KeyError::DuplicateKid {
                    kid: entry.kid.clone(),
                });
            }
            verifying.push(decode_public_key(entry)?);
        }
        if !entries.iter().any(|e| e.kid == current) {
            return Err(KeyError::CurrentUnknown {
                kid: current.chars().take(MAX_KID_LEN + 1).collect(),
            });
        }
        Ok(Self {
            entries,
            verifying,
            current: current.to_owned(),
        })
    }

    /// A key set holding one key, which is current.
    pub fn single(entry: PublicKeyEntry) -> Result<Self, KeyError> {
        let current = entry.kid.clone();
        Self::new(vec![entry], &current)
    }

    /// Adds a key (rotation); it becomes current if `make_current`.
    pub fn with_key(mut self, entry: PublicKeyEntry, make_current: bool) -> Result<Self, KeyError> {
        let current = if make_current {
            entry.kid.clone()
        } else {
            self.current.clone()
        };
        self.entries.push(entry);
        Self::new(self.entries, &current)
    }

    /// Parses a key set file (size-capped).
    pub fn from_json(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() > MAX_KEYSET_LEN {
            return Err(KeyError::TooLarge { len: bytes.len() });
        }
        let repr: KeySetRepr = serde_json::from_slice(bytes).map_err(|e| KeyError::Malformed {
            detail: e.to_string(),
        })?;
        Self::try_from(repr)
    }

    /// Pretty JSON, as shipped with the software.
    pub fn to_json(&self) -> String {
        let repr = KeySetRepr {
            keys: self.entries.clone(),
            current: self.current.clone(),
        };
        // Strings and RFC 3339 dates only: serialisation cannot fail.
        serde_json::to_string_pretty(&repr).unwrap_or_default()
    }

    pub fn current(&self) -> &str {
        &self.current
    }

    pub fn entries(&self) -> &[PublicKeyEntry] {
        &self.entries
    }

    /// The verifying key with this id.
    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.entries
            .iter()
            .position(|e| e.kid == kid)
            .map(|i| &self.verifying[i])
    }

    /// Checks the envelope's version, algorithm, key id and signature (in
    /// that order) under context `ctx`, without decoding the payload.
    pub fn verify_ref(&self, ctx: &str, env: EnvelopeRef<'_>) -> Result<(), EnvelopeError> {
        if env.v != ENVELOPE_VERSION {
            return Err(EnvelopeError::VersionUnsupported { v: env.v });
        }
        if env.alg != ALG_ED25519 {
            return Err(EnvelopeError::AlgUnsupported {
                alg: env.alg.chars().take(32).collect(),
            });
        }
        let key = self.get(env.kid).ok_or_else(|| EnvelopeError::KidUnknown {
            kid: env.kid.chars().take(MAX_KID_LEN + 1).collect(),
        })?;
        let mut sig = [0u8; 64];
        match URL_SAFE_NO_PAD.decode_slice(env.sig.as_bytes(), &mut sig) {
            Ok(64) => {}
            _ => return Err(EnvelopeError::SignatureMalformed),
        }
        let sig = Signature::from_bytes(&sig);
        key.verify_strict(&message(ctx, env.kid, env.payload), &sig)
            .map_err(|_| EnvelopeError::SignatureInvalid)
    }

    /// Verifies the envelope (see [`KeySet::verify_ref`]) and returns the
    /// payload bytes.
    pub fn verify(&self, ctx: &str, env: &Envelope) -> Result<Vec<u8>, EnvelopeError> {
        self.verify_ref(ctx, env.as_ref())?;
        decode_payload(&env.payload)
    }
}

/// Decodes the base64url payload text of a verified envelope.
pub fn decode_payload(payload_b64: &str) -> Result<Vec<u8>, EnvelopeError> {
    URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| EnvelopeError::PayloadEncoding)
}
