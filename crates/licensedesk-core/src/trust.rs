//! Key trust: the key set a server publishes, signed along its rotations,
//! and the check a client makes before it trusts a new key.
//!
//! A client pins its server's key set once (when its profile is created,
//! or from a key set file); after that a key is trusted only when the
//! served set chains to what is already trusted. The server publishes
//! a [`SignedKeySet`]: its key set (`keys`, `current`, as [`KeySet`]) and
//! `chain`, one link per rotation. A link is an [`Envelope`] under
//! [`KEYSET_CONTEXT`] whose payload is the key set right after the rotation
//! (compact JSON, `{keys, current}`), signed by the key that was current
//! before it (`rotate-key` signs the new set with the current key).
//!
//! [`accept`] walks the chain from the trusted set: a link signed by a
//! trusted key adds the keys of its set; a link signed by a key not (yet)
//! trusted adds nothing. Every key of the served set must then be trusted,
//! with exactly the entry trusted (id, algorithm, public key, creation
//! time), or the whole set is refused and nothing changes: an impostor
//! server cannot slip a key in, and a key id cannot be re-bound to another
//! public key. A plain key set file (no `chain`) parses as a set with an
//! empty chain, so it can be pinned, and accepted when it adds nothing.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Coded;
use crate::keys::{
    self, Envelope, EnvelopeError, KeyError, KeySet, PublicKeyEntry, SigningKeyWithKid,
};

/// Context of key set rotation links.
pub const KEYSET_CONTEXT: &str = "licensedesk/keyset/v1/";
/// A signed key set document larger than this is refused before it is parsed.
pub const MAX_SIGNED_KEYSET_LEN: usize = 256 * 1024;
/// Most rotation links a document may carry.
pub const MAX_CHAIN_LINKS: usize = 256;

/// Why a key set was not trusted. Nothing trusted changes on any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(untagged)]
pub enum TrustError {
    #[error(
        "the key set is too large ({len} bytes; at most {MAX_SIGNED_KEYSET_LEN}): check that the right file was chosen"
    )]
    TooLarge { len: usize },
    #[error(
        "the key set is not valid JSON of the form {{keys, current, chain}}: {detail}; ask the server's operator for its key set file"
    )]
    Malformed { detail: String },
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(
        "the key set's rotation {index} (signed with key '{kid}') does not verify, or is not the set served: the key set was altered; nothing was changed"
    )]
    LinkInvalid { index: usize, kid: String },
    #[error(
        "the key set gives key '{kid}' another public key than the one trusted (fingerprint {trusted}): this may not be your license server; nothing was changed"
    )]
    Conflict { kid: String, trusted: String },
    #[error(
        "key '{kid}' (fingerprint {fingerprint}) is not signed by any key trusted here: this may not be your license server; check the server address, or import the key set from the server's operator; nothing was changed"
    )]
    Untrusted { kid: String, fingerprint: String },
}

impl Coded for TrustError {
    fn params(&self) -> crate::error::Params {
        match self {
            Self::Keys(e) => e.params(),
            other => crate::error::params_of(other),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "KEYSET_TOO_LARGE",
            Self::Malformed { .. } => "KEYSET_MALFORMED",
            Self::Keys(e) => e.code(),
            Self::LinkInvalid { .. } => "KEYSET_CHAIN_INVALID",
            Self::Conflict { .. } => "KEYSET_KEY_CONFLICT",
            Self::Untrusted { .. } => "KEYSET_UNTRUSTED",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    keys: Vec<PublicKeyEntry>,
    current: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    chain: Vec<Envelope>,
}

#[derive(Serialize)]
struct SetRepr<'a> {
    keys: &'a [PublicKeyEntry],
    current: &'a str,
}

/// The key set a server publishes (`GET /v1/keys`, `keys/keyset.json`):
/// its keys and the chain of rotations that signed them. Serialises as
/// `{"keys":[…],"current":"kid","chain":[envelope, …]}` (`chain` omitted
/// when empty); a client without chain support reads it as a [`KeySet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedKeySet {
    set: KeySet,
    chain: Vec<Envelope>,
}

impl SignedKeySet {
    pub fn new(set: KeySet, chain: Vec<Envelope>) -> Self {
        Self { set, chain }
    }

    /// Parses a published key set (size-capped); a plain key set file
    /// has an empty chain. The links are checked by [`accept`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, TrustError> {
        if bytes.len() > MAX_SIGNED_KEYSET_LEN {
            return Err(TrustError::TooLarge { len: bytes.len() });
        }
        let repr: Repr = serde_json::from_slice(bytes).map_err(|e| TrustError::Malformed {
            detail: e.to_string(),
        })?;
        if repr.chain.len() > MAX_CHAIN_LINKS {
            return Err(TrustError::Malformed {
                detail: format!("more than {MAX_CHAIN_LINKS} rotations"),
            });
        }
        Ok(Self {
            set: KeySet::new(repr.keys, &repr.current)?,
            chain: repr.chain,
        })
    }

    /// Compact JSON, fields in the order `keys, current, chain`.
    pub fn to_json(&self) -> String {
        let repr = Repr {
            keys: self.set.entries().to_vec(),
            current: self.set.current().to_owned(),
            chain: self.chain.clone(),
        };
        // Strings, numbers and RFC 3339 dates only: cannot fail.
        serde_json::to_string(&repr).unwrap_or_default()
    }

    pub fn keyset(&self) -> &KeySet {
        &self.set
    }

    pub fn chain(&self) -> &[Envelope] {
        &self.chain
    }

    /// The document after a rotation to `next` (which must keep every key
    /// of this set): its link is `next` signed by `signer`, the key
    /// current until now.
    pub fn rotated(&self, next: KeySet, signer: &SigningKeyWithKid) -> Self {
        let mut chain = self.chain.clone();
        chain.push(link(&next, signer));
        Self { set: next, chain }
    }
}

/// The canonical bytes a rotation link signs: `{keys, current}`, compact.
fn set_bytes(set: &KeySet) -> Vec<u8> {
    serde_json::to_vec(&SetRepr {
        keys: set.entries(),
        current: set.current(),
    })
    .unwrap_or_default()
}

/// A rotation link: `next` signed by `signer` under [`KEYSET_CONTEXT`].
pub fn link(next: &KeySet, signer: &SigningKeyWithKid) -> Envelope {
    keys::sign(KEYSET_CONTEXT, signer, &set_bytes(next))
}

/// A public key's fingerprint as people compare it: the first 16 bytes of
/// the SHA-256 of its 32 raw bytes, in 8 groups of 4 hex digits.
pub fn key_fingerprint(key: &ed25519_dalek::VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest[..16]
        .chunks(2)
        .map(hex::encode)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One key of a set, as a person checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub kid: String,
    pub fingerprint: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The key the server signs new licenses with.
    pub current: bool,
}

/// Every key of `set`, with its fingerprint, oldest first as published.
pub fn key_infos(set: &KeySet) -> Vec<KeyInfo> {
    set.entries()
        .iter()
        .filter_map(|e| {
            Some(KeyInfo {
                kid: e.kid.clone(),
                fingerprint: key_fingerprint(set.get(&e.kid)?),
                created_at: e.created_at,
                current: e.kid == set.current(),
            })
        })
        .collect()
}

/// What [`accept`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustUpdate {
    /// Everything trusted now: the trusted keys (none is ever dropped) and
    /// the new ones, current as served.
    pub set: KeySet,
    /// Keys trusted by this update, in the served order.
    pub added: Vec<String>,
}

impl TrustUpdate {
    /// Whether anything differs from what was trusted.
    pub fn changed(&self, before: &KeySet) -> bool {
        !self.added.is_empty() || self.set.current() != before.current()
    }
}

fn fingerprint_of(entry: &PublicKeyEntry) -> String {
    KeySet::single(entry.clone())
        .ok()
        .and_then(|s| s.get(&entry.kid).map(key_fingerprint))
        .unwrap_or_else(|| "(invalid key)".into())
}

/// Adds `entries` to `trusted` (kept in order), refusing a known id bound
/// to another entry.
fn merge(trusted: &mut Vec<PublicKeyEntry>, entries: &[PublicKeyEntry]) -> Result<(), TrustError> {
    for e in entries {
        match trusted.iter().find(|t| t.kid == e.kid) {
            Some(t) if t == e => {}
            Some(t) => {
                return Err(TrustError::Conflict {
                    kid: e.kid.clone(),
                    trusted: fingerprint_of(t),
                });
            }
            None => trusted.push(e.clone()),
        }
    }
    Ok(())
}

/// The same keys (each entry exactly) and the same current key, in any order.
fn same_keys(a: &KeySet, b: &KeySet) -> bool {
    a.current() == b.current()
        && a.entries().len() == b.entries().len()
        && a.entries().iter().all(|e| b.entries().contains(e))
}

/// Decides whether the served key set may be trusted by a client that
/// trusts `trusted` (see the module doc). Pure: the caller stores
/// [`TrustUpdate::set`] only on `Ok`.
pub fn accept(trusted: &KeySet, served: &SignedKeySet) -> Result<TrustUpdate, TrustError> {
    let mut known: Vec<PublicKeyEntry> = trusted.entries().to_vec();
    // The set the last link signed, if that link was signed by a trusted key.
    let mut last: Option<KeySet> = None;
    for (index, env) in served.chain.iter().enumerate() {
        last = None;
        let verifier = KeySet::new(known.clone(), trusted.current())?;
        let payload = match verifier.verify(KEYSET_CONTEXT, env) {
            Ok(p) => p,
            // Signed by a key not trusted (yet): it adds nothing.
            Err(EnvelopeError::KidUnknown { .. }) => continue,
            Err(_) => {
                return Err(TrustError::LinkInvalid {
                    index: index + 1,
                    kid: env.kid.chars().take(keys::MAX_KID_LEN + 1).collect(),
                });
            }
        };
        let next = KeySet::from_json(&payload).map_err(|_| TrustError::LinkInvalid {
            index: index + 1,
            kid: env.kid.clone(),
        })?;
        merge(&mut known, next.entries())?;
        last = Some(next);
    }
    let mut added = Vec::new();
    for e in served.set.entries() {
        match known.iter().find(|t| t.kid == e.kid) {
            Some(t) if t == e => {
                if !trusted.entries().iter().any(|k| k.kid == e.kid) {
                    added.push(e.kid.clone());
                }
            }
            Some(t) => {
                return Err(TrustError::Conflict {
                    kid: e.kid.clone(),
                    trusted: fingerprint_of(t),
                });
            }
            None => {
                return Err(TrustError::Untrusted {
                    kid: e.kid.clone(),
                    fingerprint: fingerprint_of(e),
                });
            }
        }
    }
    // The served set is what the latest rotation signed (so its current
    // key is the signed one too), in whatever order it lists its keys.
    if !served.chain.is_empty() && !last.as_ref().is_some_and(|l| same_keys(l, &served.set)) {
        return Err(TrustError::LinkInvalid {
            index: served.chain.len(),
            kid: served
                .chain
                .last()
                .map(|e| e.kid.chars().take(keys::MAX_KID_LEN + 1).collect())
                .unwrap_or_default(),
        });
    }
    // Keep what was trusted and what the served set adds, nothing else
    // (a link may name keys the served set no longer lists: not kept).
    let mut kept: Vec<PublicKeyEntry> = trusted.entries().to_vec();
    merge(
        &mut kept,
        &served
            .set
            .entries()
            .iter()
            .filter(|e| added.contains(&e.kid))
            .cloned()
            .collect::<Vec<_>>(),
    )?;
    Ok(TrustUpdate {
        set: KeySet::new(kept, served.set.current())?,
        added,
    })
}
