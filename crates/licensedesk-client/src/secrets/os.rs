//! The OS keyring, and the store that prefers it over the 0600 files.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{ApiToken, FileTokenStore, TokenStore, TokenStoreInfo, TokenStoreKind, check_id};
use crate::error::{Error, Result};

/// The keyring service name tokens are stored under (the user name is the
/// profile id).
pub const KEYRING_SERVICE: &str = "LicenseDesk API token";

/// How long a keyring call may take before the keyring counts as absent.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// A keyring call may show an unlock prompt: give the user time.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Tokens in the OS keyring, one entry per profile.
///
/// Every call runs on its own short-lived thread: the Linux backend drives
/// zbus on an internal tokio runtime, which must not be entered from a
/// thread that already runs one (a Tauri async command, a test runtime).
#[derive(Debug, Clone)]
pub struct KeyringTokenStore {
    service: String,
}

impl KeyringTokenStore {
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_owned(),
        }
    }

    /// Whether a keyring answers: a lookup of an entry that never exists
    /// must come back as "no entry" (no D-Bus session, no Secret Service on
    /// it, a timeout → an error saying so).
    pub fn probe(&self) -> Result<()> {
        let service = self.service.clone();
        match call(PROBE_TIMEOUT, move || {
            keyring::Entry::new(&service, "licensedesk-probe")?.get_password()
        })? {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn entry_call<T: Send + 'static>(
        &self,
        profile_id: &str,
        f: impl FnOnce(keyring::Entry) -> keyring::Result<T> + Send + 'static,
    ) -> Result<keyring::Result<T>> {
        check_id(profile_id)?;
        let (service, user) = (self.service.clone(), profile_id.to_owned());
        call(CALL_TIMEOUT, move || {
            f(keyring::Entry::new(&service, &user)?)
        })
    }
}

/// Runs a keyring call on its own thread, waiting at most `timeout`.
fn call<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> keyring::Result<T> + Send + 'static,
) -> Result<keyring::Result<T>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let _ = tx.send(f());
        })?;
    rx.recv_timeout(timeout).map_err(|_| {
        Error::TokenStore(format!(
            "the OS keyring did not answer within {} s",
            timeout.as_secs()
        ))
    })
}

/// A keyring error (its text names the platform failure, never a secret).
fn keyring_error(e: keyring::Error) -> Error {
    Error::TokenStore(e.to_string())
}

impl TokenStore for KeyringTokenStore {
    fn get(&self, profile_id: &str) -> Result<Option<ApiToken>> {
        match self.entry_call(profile_id, |e| e.get_password())? {
            Ok(t) => Ok(Some(ApiToken::new(t))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn set(&self, profile_id: &str, token: &ApiToken) -> Result<()> {
        let t = token.clone();
        self.entry_call(profile_id, move |e| e.set_password(t.expose()))?
            .map_err(keyring_error)
    }

    fn delete(&self, profile_id: &str) -> Result<()> {
        match self.entry_call(profile_id, |e| e.delete_credential())? {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn describe(&self) -> TokenStoreInfo {
        TokenStoreInfo {
            kind: TokenStoreKind::Keyring,
            detail: format!("OS keyring, service {:?}", self.service),
        }
    }
}

/// The keyring when one answered at startup, otherwise the 0600 files.
///
/// With the keyring chosen, a token still in a file (stored while no keyring
/// was reachable) is moved into the keyring the first time it is read, and
/// `set`/`delete` clear any file copy, so a token lives in one place.
pub struct OsTokenStore {
    keyring: Option<Arc<dyn TokenStore>>,
    file: FileTokenStore,
    info: TokenStoreInfo,
}

impl OsTokenStore {
    /// Probes the OS keyring; falls back to 0600 files in `file_dir`. Logs
    /// which store is used and why (never a token).
    pub fn open(file_dir: &Path) -> Self {
        let keyring = KeyringTokenStore::new(KEYRING_SERVICE);
        let s = match keyring.probe() {
            Ok(()) => Self::new(Some(Arc::new(keyring)), FileTokenStore::new(file_dir), None),
            Err(e) => Self::new(None, FileTokenStore::new(file_dir), Some(&e.to_string())),
        };
        match s.info.kind {
            TokenStoreKind::Keyring => tracing::info!("API tokens: {}", s.info.detail),
            TokenStoreKind::File => tracing::warn!("API tokens: {}", s.info.detail),
        }
        s
    }

    /// With an explicit keyring (`None`: files only, `why_not` says why).
    pub fn new(
        keyring: Option<Arc<dyn TokenStore>>,
        file: FileTokenStore,
        why_not: Option<&str>,
    ) -> Self {
        let info = match &keyring {
            Some(k) => k.describe(),
            None => {
                let f = file.describe();
                TokenStoreInfo {
                    kind: TokenStoreKind::File,
                    detail: match why_not {
                        Some(why) => format!("{} (no OS keyring: {why})", f.detail),
                        None => f.detail,
                    },
                }
            }
        };
        Self {
            keyring,
            file,
            info,
        }
    }
}

impl TokenStore for OsTokenStore {
    fn get(&self, profile_id: &str) -> Result<Option<ApiToken>> {
        let Some(k) = &self.keyring else {
            return self.file.get(profile_id);
        };
        if let Some(t) = k.get(profile_id)? {
            return Ok(Some(t));
        }
        let Some(t) = self.file.get(profile_id)? else {
            return Ok(None);
        };
        match k.set(profile_id, &t) {
            Ok(()) => self.file.delete(profile_id)?,
            Err(e) => tracing::warn!("API token of profile {profile_id} left in its file: {e}"),
        }
        Ok(Some(t))
    }

    fn set(&self, profile_id: &str, token: &ApiToken) -> Result<()> {
        match &self.keyring {
            Some(k) => {
                k.set(profile_id, token)?;
                self.file.delete(profile_id)
            }
            None => self.file.set(profile_id, token),
        }
    }

    fn delete(&self, profile_id: &str) -> Result<()> {
        if let Some(k) = &self.keyring {
            k.delete(profile_id)?;
        }
        self.file.delete(profile_id)
    }

    fn describe(&self) -> TokenStoreInfo {
        self.info.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// A keyring that keeps entries in memory (the logic around the real
    /// one; the real one is tested against gnome-keyring in tests/it).
    #[derive(Default)]
    struct FakeKeyring(Mutex<HashMap<String, String>>);

    impl TokenStore for FakeKeyring {
        fn get(&self, id: &str) -> Result<Option<ApiToken>> {
            Ok(self.0.lock().expect("lock").get(id).map(ApiToken::new))
        }
        fn set(&self, id: &str, t: &ApiToken) -> Result<()> {
            self.0
                .lock()
                .expect("lock")
                .insert(id.into(), t.expose().into());
            Ok(())
        }
        fn delete(&self, id: &str) -> Result<()> {
            self.0.lock().expect("lock").remove(id);
            Ok(())
        }
        fn describe(&self) -> TokenStoreInfo {
            TokenStoreInfo {
                kind: TokenStoreKind::Keyring,
                detail: "fake".into(),
            }
        }
    }

    #[test]
    fn keyring_is_preferred_and_file_tokens_move_into_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = FileTokenStore::new(dir.path());
        file.set("old", &ApiToken::new("t-old")).expect("file set");
        let fake = Arc::new(FakeKeyring::default());
        let s = OsTokenStore::new(Some(fake.clone()), file.clone(), None);
        assert_eq!(s.describe().kind, TokenStoreKind::Keyring);

        s.set("new", &ApiToken::new("t-new")).expect("set");
        assert_eq!(file.get("new").expect("file get"), None);
        assert_eq!(fake.get("new").expect("get"), Some(ApiToken::new("t-new")));

        // Read once: moved from the file into the keyring.
        assert_eq!(s.get("old").expect("get"), Some(ApiToken::new("t-old")));
        assert_eq!(file.get("old").expect("file get"), None);
        assert_eq!(fake.get("old").expect("get"), Some(ApiToken::new("t-old")));

        s.delete("old").expect("delete");
        assert_eq!(s.get("old").expect("get"), None);
    }

    #[test]
    fn without_keyring_the_file_is_used_and_says_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = OsTokenStore::new(None, FileTokenStore::new(dir.path()), Some("no D-Bus"));
        let info = s.describe();
        assert_eq!(info.kind, TokenStoreKind::File);
        assert!(info.detail.contains("no OS keyring: no D-Bus"), "{info:?}");
        s.set("p1", &ApiToken::new("secret-1")).expect("set");
        assert_eq!(s.get("p1").expect("get"), Some(ApiToken::new("secret-1")));
    }
}
