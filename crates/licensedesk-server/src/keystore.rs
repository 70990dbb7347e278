//! Signing keys on disk: `DATA_DIR/keys/<kid>.key` (0600, one JSON document
//! each: key id, creation time, secret seed) and `DATA_DIR/keys/current`
//! naming the key that signs. Rotation adds a key and moves `current`;
//! old keys stay so licenses they signed keep verifying.
//!
//! Rotation also signs the new public key set with the key current until
//! then and appends that link to `DATA_DIR/keys/chain.json` (core's
//! `trust` format): the published key set (`keyset.json`, `GET /v1/keys`)
//! carries the chain, so a client that trusts an older set accepts the new
//! key, and only it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const ADMIN_TOKEN_FILE: &str = "admin-token";
/// The published public key set (with its chain), next to the private keys.
pub const KEYSET_FILE: &str = "keyset.json";
/// The rotation links (core's `trust::link`), oldest first.
pub const CHAIN_FILE: &str = "chain.json";

/// One stored signing key.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    pub created_at: DateTime<Utc>,
    /// Ed25519 secret seed, hex.
    secret: String,
}

impl StoredKey {
    pub fn seed(&self) -> anyhow::Result<[u8; 32]> {
        let bytes = hex::decode(&self.secret).context("key file: secret is not hex")?;
        bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("key file: secret is not 32 bytes"))
    }
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// All keys of a data dir, the current one last-rotated.
#[derive(Debug)]
pub struct KeyStore {
    pub dir: PathBuf,
    pub keys: Vec<StoredKey>,
    pub current: String,
    pub(crate) signer: crate::signing::Signer,
}

impl KeyStore {
    /// Loads the keys, creating the first one if the directory has none.
    pub fn open_or_create(dir: &Path, now: DateTime<Utc>) -> anyhow::Result<Self> {
        if !dir.join("current").exists() {
            rotate(dir, now)?;
        }
        Self::load(dir)
    }

    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let current = fs::read_to_string(dir.join("current"))
            .with_context(|| format!("reading {}", dir.join("current").display()))?
            .trim()
            .to_owned();
        let mut keys = Vec::new();
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "key") {
                let text = fs::read_to_string(&path)?;
                let key: StoredKey = serde_json::from_str(&text)
                    .with_context(|| format!("parsing {}", path.display()))?;
                keys.push(key);
            }
        }
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.kid.cmp(&b.kid)));
        let cur = keys
            .iter()
            .find(|k| k.kid == current)
            .with_context(|| format!("current key {current} has no key file"))?;
        let chain = read_chain(dir)?;
        let signer = crate::signing::Signer::new(&keys, cur, chain)?;
        if let Err(e) = signer.check_chain() {
            tracing::warn!(
                "the key set's rotations do not chain from the first key ({e}): clients that trust an older key set will refuse it until they import the current one"
            );
        }
        // The public key set, for software to ship and for operators to copy.
        let public = dir.join(KEYSET_FILE);
        let tmp = dir.join("keyset.json.tmp");
        fs::write(&tmp, signer.published())?;
        fs::rename(&tmp, &public)?;
        Ok(Self {
            dir: dir.to_owned(),
            keys,
            current,
            signer,
        })
    }
}

fn read_chain(dir: &Path) -> anyhow::Result<Vec<licensedesk_core::keys::Envelope>> {
    let path = dir.join(CHAIN_FILE);
    match fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Creates a new key and makes it current; returns its key id. The new
/// key set is signed by the key current until now (a link of the chain),
/// before the new key is published or made current.
pub fn rotate(dir: &Path, now: DateTime<Utc>) -> anyhow::Result<String> {
    fs::create_dir_all(dir)?;
    let before = if dir.join("current").exists() {
        Some(KeyStore::load(dir)?)
    } else {
        None
    };
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("OS randomness unavailable: {e}"))?;
    let mut tag = [0u8; 4];
    getrandom::fill(&mut tag).map_err(|e| anyhow::anyhow!("OS randomness unavailable: {e}"))?;
    let kid = format!("ld-{}-{}", now.format("%Y%m%d"), hex::encode(tag));
    let key = StoredKey {
        kid: kid.clone(),
        created_at: now,
        secret: hex::encode(seed),
    };
    // Written under a name `load` skips until the chain names it: a crash
    // never publishes a key no link signed.
    let pending = dir.join(format!("{kid}.key.new"));
    write_private(&pending, serde_json::to_string_pretty(&key)?.as_bytes())?;
    if let Some(before) = before {
        let new_key = licensedesk_core::keys::SigningKeyWithKid::from_seed(&kid, seed)?;
        let next = before
            .signer
            .keyset()
            .clone()
            .with_key(new_key.public_entry(now), true)
            .context("adding the new key to the key set")?;
        let mut chain = read_chain(dir)?;
        chain.push(licensedesk_core::trust::link(&next, before.signer.key()));
        let tmp = dir.join("chain.json.tmp");
        let _ = fs::remove_file(&tmp);
        write_private(&tmp, serde_json::to_string_pretty(&chain)?.as_bytes())?;
        fs::rename(&tmp, dir.join(CHAIN_FILE))?;
    }
    fs::rename(&pending, dir.join(format!("{kid}.key")))?;
    // Atomic switch of the current key.
    let tmp = dir.join("current.tmp");
    fs::write(&tmp, format!("{kid}\n"))?;
    fs::rename(&tmp, dir.join("current"))?;
    // Loading checks the new set and republishes `keyset.json`.
    KeyStore::load(dir)?;
    Ok(kid)
}

/// Reads `DATA_DIR/admin-token`, creating it (0600, random) if absent.
pub fn admin_token(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    if let Ok(t) = fs::read_to_string(&path) {
        return Ok(t.trim().to_owned());
    }
    let token = crate::auth::new_token()?;
    write_private(&path, format!("{token}\n").as_bytes())?;
    Ok(token)
}

/// Writes a new file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
