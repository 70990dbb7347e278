//! Delegate keys: one Ed25519 key per allotment (the server certifies a key
//! once), 32 bytes from OS randomness, each kept in a 0600 file
//! `keys/<kid>.key` (hex seed) in the kit's data directory. A private key
//! never leaves the machine and is never logged ([`DelegateKey`]'s `Debug`
//! shows only the key id).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use licensedesk_core::delegate::{DelegateCert, sha256_hex};
use licensedesk_core::keys::{SigningKeyWithKid, validate_kid};

use crate::files::{read_capped, sync_dir};
use crate::{Error, Result};

/// An Ed25519 delegate key of this kit.
#[derive(Debug, Clone)]
pub struct DelegateKey {
    key: SigningKeyWithKid,
}

fn keys_dir(dir: &Path) -> PathBuf {
    dir.join("keys")
}

fn key_path(dir: &Path, kid: &str) -> PathBuf {
    keys_dir(dir).join(format!("{kid}.key"))
}

impl DelegateKey {
    /// A new key from OS randomness, stored (0600, flushed) in `dir/keys/`.
    pub fn generate(dir: &Path) -> Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::RandomUnavailable(e.to_string()))?;
        let key = Self::from_seed(seed)?;
        let keys = keys_dir(dir);
        std::fs::create_dir_all(&keys).map_err(|e| Error::io("create", &keys, &e))?;
        let path = key_path(dir, key.kid());
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts
            .open(&path)
            .map_err(|e| Error::io("create", &path, &e))?;
        file.write_all(hex::encode(seed).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("write", &path, &e))?;
        sync_dir(&keys)?;
        Ok(key)
    }

    /// The stored key `kid`.
    pub fn load(dir: &Path, kid: &str) -> Result<Self> {
        validate_kid(kid).map_err(|e| Error::KeyInvalid(e.to_string()))?;
        let text = read_capped(&key_path(dir, kid), 256)?;
        let seed: [u8; 32] = hex::decode(String::from_utf8_lossy(&text).trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::KeyInvalid("not a 32-byte hex seed".into()))?;
        let key = Self::from_seed(seed)?;
        if key.kid() != kid {
            return Err(Error::KeyInvalid(format!(
                "the file of '{kid}' holds another key"
            )));
        }
        Ok(key)
    }

    /// Removes a key no certificate was issued for (a failed checkout).
    pub(crate) fn discard(self, dir: &Path) {
        let _ = std::fs::remove_file(key_path(dir, self.kid()));
    }

    fn from_seed(seed: [u8; 32]) -> Result<Self> {
        let probe = SigningKeyWithKid::from_seed("probe", seed)
            .map_err(|e| Error::KeyInvalid(e.to_string()))?;
        let public = DelegateCert::public_key_of(&probe);
        let kid = format!("field-{}", &sha256_hex(public.as_bytes())[..24]);
        let key = SigningKeyWithKid::from_seed(&kid, seed)
            .map_err(|e| Error::KeyInvalid(e.to_string()))?;
        Ok(Self { key })
    }

    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// base64url public key, as the checkout request and the certificate carry it.
    pub fn public_key(&self) -> String {
        DelegateCert::public_key_of(&self.key)
    }

    pub(crate) fn signing(&self) -> &SigningKeyWithKid {
        &self.key
    }
}
