//! Signing with the current key, through `licensedesk_core::keys`.

use anyhow::Context;
use licensedesk_core::keys::{Envelope, KeySet, SigningKeyWithKid, sign};
use licensedesk_core::trust::{SignedKeySet, TrustError, accept};

use crate::keystore::StoredKey;

/// The current signing key and the published key set (every stored key,
/// with the chain of its rotations).
pub struct Signer {
    key: SigningKeyWithKid,
    keyset: KeySet,
    published: SignedKeySet,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.key.kid())
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(
        keys: &[StoredKey],
        current: &StoredKey,
        chain: Vec<Envelope>,
    ) -> anyhow::Result<Self> {
        let mut entries = Vec::with_capacity(keys.len());
        let mut key = None;
        for k in keys {
            let sk = SigningKeyWithKid::from_seed(&k.kid, k.seed()?)
                .with_context(|| format!("signing key {}", k.kid))?;
            entries.push(sk.public_entry(k.created_at));
            if k.kid == current.kid {
                key = Some(sk);
            }
        }
        let key = key.context("current key missing")?;
        let keyset = KeySet::new(entries, &current.kid).context("building the key set")?;
        let published = SignedKeySet::new(keyset.clone(), chain);
        Ok(Self {
            key,
            keyset,
            published,
        })
    }

    pub fn keyset(&self) -> &KeySet {
        &self.keyset
    }

    /// The published key set document (`GET /v1/keys`, `keyset.json`).
    pub fn published(&self) -> String {
        self.published.to_json()
    }

    /// Whether a client that trusts only the first key accepts the
    /// published set (every rotation signed).
    pub fn check_chain(&self) -> Result<(), TrustError> {
        let first = self.keyset.entries()[0].clone();
        let root = KeySet::single(first)?;
        accept(&root, &self.published).map(|_| ())
    }

    pub fn key(&self) -> &SigningKeyWithKid {
        &self.key
    }

    /// Signs `payload` under the context `ctx` with the current key.
    pub fn sign(&self, ctx: &str, payload: &[u8]) -> Envelope {
        sign(ctx, &self.key, payload)
    }
}
