//! Signing with the current key, through `licensedesk_core::keys`.

use anyhow::Context;
use licensedesk_core::keys::{Envelope, KeySet, SigningKeyWithKid, sign};

use crate::keystore::StoredKey;

/// The current signing key and the published key set (every stored key).
pub struct Signer {
    key: SigningKeyWithKid,
    keyset: KeySet,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.key.kid())
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(keys: &[StoredKey], current: &StoredKey) -> anyhow::Result<Self> {
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
        Ok(Self { key, keyset })
    }

    pub fn keyset(&self) -> &KeySet {
        &self.keyset
    }

    pub fn key(&self) -> &SigningKeyWithKid {
        &self.key
    }

    /// Signs `payload` under the context `ctx` with the current key.
    pub fn sign(&self, ctx: &str, payload: &[u8]) -> Envelope {
        sign(ctx, &self.key, payload)
    }
}
