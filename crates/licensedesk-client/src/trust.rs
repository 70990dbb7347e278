//! A profile's trusted key set: `profiles/<id>/trust.json`, beside its
//! cache and never in it (emptying the mirror after `CURSOR_INVALID` must
//! not forget what is trusted).
//!
//! It is pinned when the profile is created (the server's `GET /v1/keys`,
//! whose fingerprints the user saw, or a key set file); every sync then
//! fetches the served set and keeps it only if it chains to what is
//! trusted (core's `trust::accept`). A profile with nothing pinned (made
//! before pinning existed) pins its first served set.

use std::path::{Path, PathBuf};

use licensedesk_core::Coded;
use licensedesk_core::keys::{KeySet, MAX_KEYSET_LEN};
use licensedesk_core::trust::{
    KeyInfo, MAX_SIGNED_KEYSET_LEN, SignedKeySet, TrustError, accept, key_infos,
};
use serde::Serialize;

use crate::error::{Error, Result};

/// What a profile trusts, or a key set offered to be trusted, as the user
/// checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct KeySetView {
    /// Every key with its fingerprint (8 groups of 4 hex digits).
    #[ts(
        type = "Array<{ kid: string, fingerprint: string, created_at: string, current: boolean }>"
    )]
    pub keys: Vec<KeyInfo>,
    /// The key set itself (JSON), to be pinned exactly as shown.
    pub json: String,
}

impl KeySetView {
    pub fn of(set: &KeySet) -> Self {
        Self {
            keys: key_infos(set),
            json: set.to_json(),
        }
    }
}

impl From<TrustError> for Error {
    fn from(e: TrustError) -> Self {
        Error::Trust {
            code: e.code(),
            message: e.to_string(),
            params: e.params(),
        }
    }
}

fn damaged(path: &Path) -> licensedesk_core::error::Params {
    let mut p = licensedesk_core::error::Params::new();
    p.insert("path".into(), path.display().to_string().into());
    p
}

/// The trust file of one profile.
#[derive(Debug, Clone)]
pub struct TrustStore {
    path: PathBuf,
}

impl TrustStore {
    /// The trust file beside the cache file `cache_path`.
    pub fn beside(cache_path: &Path) -> Self {
        Self {
            path: cache_path.with_file_name("trust.json"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The trusted key set, if one is pinned.
    pub fn load(&self) -> Result<Option<KeySet>> {
        match std::fs::read(&self.path) {
            Ok(b) if b.len() <= MAX_KEYSET_LEN => Ok(Some(KeySet::from_json(&b).map_err(|e| {
                Error::Trust {
                    code: "TRUST_DAMAGED",
                    message: format!(
                        "the trusted key set {} is damaged ({e}): remove the profile and add it again",
                        self.path.display()
                    ),
                    params: damaged(&self.path),
                }
            })?)),
            Ok(_) => Err(Error::Trust {
                code: "TRUST_DAMAGED",
                message: format!("the trusted key set {} is too large", self.path.display()),
                params: damaged(&self.path),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Trusts `set` (replacing what was trusted): the profile's pin.
    pub fn pin(&self, set: &KeySet) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, set.to_json())?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(tmp, &self.path)?;
        Ok(())
    }

    /// Takes the served key set if it chains to what is trusted (pins it
    /// when nothing is); refuses it otherwise, changing nothing. Returns
    /// what is trusted now.
    pub fn refresh(&self, served: &[u8]) -> Result<KeySet> {
        let served = SignedKeySet::from_json(served)?;
        match self.load()? {
            None => {
                self.pin(served.keyset())?;
                Ok(served.keyset().clone())
            }
            Some(before) => {
                let up = accept(&before, &served)?;
                if up.changed(&before) {
                    self.pin(&up.set)?;
                }
                Ok(up.set)
            }
        }
    }
}

/// A key set file chosen by the user (the server operator's
/// `keys/keyset.json`), parsed to be shown before it is pinned.
pub fn parse_keyset_file(bytes: &[u8]) -> Result<KeySetView> {
    Ok(KeySetView::of(SignedKeySet::from_json(bytes)?.keyset()))
}

/// Fetches `server_url`'s key set (no token needed) to be shown before
/// it is pinned.
pub async fn fetch_keyset(server_url: &str) -> Result<KeySetView> {
    let http = licensedesk_http::Client::new(server_url).map_err(|_| {
        Error::Invalid(format!(
            "server URL {:?} must start with http:// or https://",
            server_url.trim().trim_end_matches('/')
        ))
    })?;
    let bytes = match http.get("/v1/keys").send().await {
        Ok(bytes) => bytes,
        Err(e) => match e.status() {
            Some(status) => {
                return Err(Error::Protocol(format!(
                    "{}/v1/keys answered {status}: is this a LicenseDesk license server?",
                    http.base()
                )));
            }
            None => return Err(e.into()),
        },
    };
    if bytes.len() > MAX_SIGNED_KEYSET_LEN {
        return Err(TrustError::TooLarge { len: bytes.len() }.into());
    }
    parse_keyset_file(&bytes)
}

/// Parses the key set JSON a user confirmed (a [`KeySetView::json`]).
pub fn confirmed(json: &str) -> Result<KeySet> {
    Ok(SignedKeySet::from_json(json.as_bytes())?.keyset().clone())
}
