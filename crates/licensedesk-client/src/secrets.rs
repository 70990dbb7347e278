//! API tokens: never in the cache database, never in logs (`Debug` of
//! [`ApiToken`] prints `ApiToken(***)`).
//!
//! Storage is a [`TokenStore`]:
//! - [`KeyringTokenStore`]: the OS keyring (`keyring` crate: macOS Keychain,
//!   Windows Credential Manager, the Secret Service over D-Bus on Linux —
//!   pure-Rust zbus, no libdbus);
//! - [`FileTokenStore`]: one file per profile, mode 0600, in
//!   `DATA_DIR/secrets/`;
//! - [`OsTokenStore`]: what [`crate::Client::open`] uses — the keyring when
//!   one answers at startup, otherwise the 0600 files; [`TokenStore::describe`]
//!   says which and why (logged once, never with a token).

mod os;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

pub use os::{KEYRING_SERVICE, KeyringTokenStore, OsTokenStore};

/// A bearer token. Not `Display`; `Debug` redacts.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
    /// The secret itself: only for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

/// Where a profile's token lives.
pub trait TokenStore: Send + Sync {
    fn get(&self, profile_id: &str) -> Result<Option<ApiToken>>;
    fn set(&self, profile_id: &str, token: &ApiToken) -> Result<()>;
    fn delete(&self, profile_id: &str) -> Result<()>;
    /// Which kind of store this is and where (for logs and status).
    fn describe(&self) -> TokenStoreInfo;
}

/// The kind of store holding the API tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStoreKind {
    /// The OS keyring (Keychain, Credential Manager, Secret Service).
    Keyring,
    /// 0600 files in the data directory.
    File,
}

/// Which store holds the tokens, and why (e.g. why not the keyring).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenStoreInfo {
    pub kind: TokenStoreKind,
    pub detail: String,
}

/// One 0600 file per profile under `dir`.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    dir: PathBuf,
}

impl FileTokenStore {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    fn path(&self, profile_id: &str) -> Result<PathBuf> {
        check_id(profile_id)?;
        Ok(self.dir.join(format!("{profile_id}.token")))
    }
}

/// A profile id as every store accepts it: `[A-Za-z0-9_-]+`.
fn check_id(profile_id: &str) -> Result<()> {
    if profile_id.is_empty()
        || !profile_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::Invalid(format!("profile id {profile_id:?}")));
    }
    Ok(())
}

impl TokenStore for FileTokenStore {
    fn get(&self, profile_id: &str) -> Result<Option<ApiToken>> {
        match std::fs::read_to_string(self.path(profile_id)?) {
            Ok(s) => Ok(Some(ApiToken::new(s.trim()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn set(&self, profile_id: &str, token: &ApiToken) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(profile_id)?;
        let tmp = path.with_extension("token.tmp");
        write_private(&tmp, token.expose().as_bytes())?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    fn delete(&self, profile_id: &str) -> Result<()> {
        match std::fs::remove_file(self.path(profile_id)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn describe(&self) -> TokenStoreInfo {
        TokenStoreInfo {
            kind: TokenStoreKind::File,
            detail: format!("0600 files in {}", self.dir.display()),
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes)?;
    Ok(())
}
