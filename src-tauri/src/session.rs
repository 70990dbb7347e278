//! The active profile's session (licensedesk-client) and the sync state the
//! status bar shows.

use std::sync::{Arc, Mutex, MutexGuard};

use licensedesk_client::{CancelToken, Client, NewProfile, Session, SyncProgress, SyncReport};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{CmdError, CmdResult};

/// What the last successful sync did (from licensedesk-client's `SyncReport`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct LastSync {
    /// The server refused the cache's sync position (`CURSOR_INVALID`: its
    /// data was replaced or restored from a backup), so the sync emptied the
    /// mirror, kept the outbox, and synced everything again.
    pub started_over: bool,
    /// A full sync (a fresh or emptied cache), not an incremental one.
    pub full: bool,
    /// Code and device rows received in the snapshot.
    #[ts(type = "number")]
    pub snapshot_rows: u64,
    /// Change-feed changes that touched the cache.
    #[ts(type = "number")]
    pub changes_applied: u64,
    /// The status `seq` at which this sync ended: tells two syncs apart.
    #[ts(type = "number")]
    pub seq: u64,
}

impl LastSync {
    pub(crate) fn new(report: &SyncReport, seq: u64) -> Self {
        Self {
            started_over: report.started_over,
            full: report.full,
            snapshot_rows: report.snapshot_rows,
            changes_applied: report.changes_applied,
            seq,
        }
    }
}

/// What the sync is doing (shared with the progress callback).
#[derive(Default)]
pub struct SyncRuntime {
    pub cancel: Option<CancelToken>,
    pub progress: Option<SyncProgress>,
    pub last_error: Option<CmdError>,
    /// The last successful sync (see [`LastSync`]).
    pub last_sync: Option<LastSync>,
    pub online: Option<bool>,
    /// Bumped on every change (start, progress, end): the UI keeps the
    /// newest status it has seen, whichever way it arrived (an answer to
    /// `sync_status` can be overtaken by the events that follow it).
    pub seq: u64,
}

impl SyncRuntime {
    /// Marks a change of the status (see `seq`).
    pub fn changed(&mut self) {
        self.seq += 1;
    }

    /// A fresh status (another profile's), newer than every earlier one.
    fn restart(&mut self) {
        *self = Self {
            seq: self.seq + 1,
            ..Self::default()
        };
    }
}

pub struct Sessions {
    pub client: Client,
    active: Mutex<Option<Session>>,
    pub sync: Arc<Mutex<SyncRuntime>>,
}

/// The profiles and which one is active.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ProfileList {
    pub profiles: Vec<licensedesk_client::Profile>,
    pub active_id: Option<String>,
}

/// `url`'s key set, fetched on a thread of its own (callers may be inside
/// an async runtime); `None` when the server does not answer.
fn fetch_keys_blocking(url: &str) -> Option<licensedesk_core::keys::KeySet> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        let view = rt
            .block_on(licensedesk_client::trust::fetch_keyset(&url))
            .ok()?;
        licensedesk_client::trust::confirmed(&view.json).ok()
    })
    .join()
    .ok()
    .flatten()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sessions {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            active: Mutex::new(None),
            sync: Arc::default(),
        }
    }

    /// With no profile yet, adds one for `url` + `token` (the demo server
    /// `cargo xtask run` starts, the end-to-end suite's server), trusting
    /// the key set the server serves now; when it does not answer, the
    /// profile's first sync pins it.
    pub fn bootstrap(&self, url: &str, token: &str) -> CmdResult<()> {
        if !self.client.profiles().list()?.is_empty() {
            return Ok(());
        }
        let new = NewProfile {
            name: "Demo".into(),
            server_url: url.into(),
            account_label: "demo".into(),
        };
        let token = licensedesk_client::ApiToken::new(token);
        let p = match fetch_keys_blocking(url) {
            Some(keys) => self.client.add_profile_trusting(new, &token, &keys)?,
            None => self.client.add_profile(new, &token)?,
        };
        self.client.profiles().set_active(&p.id)?;
        Ok(())
    }

    /// The active profile's session (opened once).
    pub fn session(&self) -> CmdResult<Session> {
        let mut active = lock(&self.active);
        if let Some(s) = active.as_ref() {
            return Ok(s.clone());
        }
        let Some(profile) = self.client.profiles().active()? else {
            return Err(CmdError::new(
                "PROFILE_MISSING",
                "no profile yet: add one in Settings (server URL and API token)",
            ));
        };
        let s = self.client.session(&profile.id)?;
        *active = Some(s.clone());
        Ok(s)
    }

    pub fn list(&self) -> CmdResult<ProfileList> {
        Ok(ProfileList {
            profiles: self.client.profiles().list()?,
            active_id: self.client.profiles().active()?.map(|p| p.id),
        })
    }

    pub fn switch(&self, id: &str) -> CmdResult<ProfileList> {
        let s = self.client.switch_profile(id)?;
        *lock(&self.active) = Some(s);
        lock(&self.sync).restart();
        self.list()
    }

    pub fn remove(&self, id: &str) -> CmdResult<ProfileList> {
        let was_active = self.client.profiles().active()?.is_some_and(|p| p.id == id);
        if was_active {
            *lock(&self.active) = None;
        }
        self.client.remove_profile(id)?;
        self.list()
    }

    pub fn runtime(&self) -> MutexGuard<'_, SyncRuntime> {
        lock(&self.sync)
    }
}
