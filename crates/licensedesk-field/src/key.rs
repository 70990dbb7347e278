//! The kit's delegate key: 32 bytes from OS randomness, kept in a 0600 file
//! (`delegate-key`, hex seed) in the kit's data directory. The private key
//! never leaves the machine and is never logged ([`DelegateKey`]'s `Debug`
//! shows only the key id).

use std::io::Write as _;
use std::path::Path;

use licensedesk_core::delegate::{DelegateCert, sha256_hex};
use licensedesk_core::keys::SigningKeyWithKid;

use crate::files::{read_capped, sync_dir};
use crate::{Error, Result};

const KEY_FILE: &str = "delegate-key";

/// The kit's Ed25519 delegate key.
#[derive(Debug, Clone)]
pub struct DelegateKey {
    key: SigningKeyWithKid,
}

impl DelegateKey {
    /// Loads the key of `dir`, creating it (from OS randomness) on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self> {
        let path = dir.join(KEY_FILE);
        if path.exists() {
            let text = read_capped(&path, 256)?;
            let text = String::from_utf8_lossy(&text);
            let seed: [u8; 32] = hex::decode(text.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| Error::KeyInvalid("not a 32-byte hex seed".into()))?;
            return Self::from_seed(seed);
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::RandomUnavailable(e.to_string()))?;
        let tmp = dir.join(format!(".{KEY_FILE}.tmp"));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(&tmp).map_err(|e| Error::io("create", &tmp, &e))?;
        file.write_all(hex::encode(seed).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("write", &tmp, &e))?;
        drop(file);
        // A key that already exists (a concurrent first run) is never replaced.
        std::fs::hard_link(&tmp, &path)
            .or_else(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(|e| Error::io("store", &path, &e))?;
        let _ = std::fs::remove_file(&tmp);
        sync_dir(dir)?;
        Self::load_or_create(dir)
    }

    fn from_seed(seed: [u8; 32]) -> Result<Self> {
        let probe = SigningKeyWithKid::from_seed("probe", seed)
            .map_err(|e| Error::KeyInvalid(e.to_string()))?;
        let public = DelegateCert::public_key_of(&probe);
        let kid = format!("field-{}", &sha256_hex(public.as_bytes())[..16]);
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
