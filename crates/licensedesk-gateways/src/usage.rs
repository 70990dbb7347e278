//! What each gateway has in use, over time. The samples come from the
//! gateway's own software only: this machine's `ldctl usage set` (read from
//! ldctl's home), a remote gateway's usage file (`ldctl usage export`,
//! dropped on the window or picked in a dialog) and the usage its floating
//! heartbeats carry. Each gateway keeps its history in
//! `usage/<gateway id>.json` (core's usage file format, newest
//! `licensedesk_core::gateway::usage::MAX_SAMPLES` kept); its latest figures are what the Gateway License
//! page shows in use.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use licensedesk_core::fingerprint::same_hardware;
use licensedesk_core::gateway::InUse;
use licensedesk_core::gateway::usage::{MAX_USAGE_FILE_LEN, UsageFile, UsageSample, merge_samples};

use crate::dto::{GatewaySource, UsageImport};
use crate::error::{Error, Result};
use crate::files::{read_os_file, read_own, write_atomic};
use crate::registry::Registry;

/// ldctl's home on this machine, as ldctl resolves it: `$LDCTL_HOME`, else
/// `$XDG_DATA_HOME/ldctl`, else `~/.local/share/ldctl`.
pub fn ldctl_home() -> Option<PathBuf> {
    std::env::var_os("LDCTL_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("ldctl")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/ldctl")))
}

impl Registry {
    fn usage_file(&self, id: &str) -> PathBuf {
        self.dir().join("usage").join(format!("{id}.json"))
    }

    /// Gateway `id`'s usage samples, oldest first.
    pub fn usage_history(&self, id: &str) -> Result<Vec<UsageSample>> {
        Self::record(&self.lock(), id)?;
        let path = self.usage_file(id);
        Ok(match read_own(&path, MAX_USAGE_FILE_LEN as u64)? {
            Some(bytes) => {
                UsageFile::parse(&bytes)
                    .map_err(|e| Error::storage(&path, e))?
                    .samples
            }
            None => Vec::new(),
        })
    }

    /// Merges `samples` into gateway `id`'s history; what is in use is the
    /// newest sample's.
    pub fn record_usage(&self, id: &str, samples: &[UsageSample]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let history = self.usage_history(id)?;
        let merged = merge_samples(&history, samples);
        let mut state = self.lock();
        let i = Self::record(&state, id)?;
        let fp = state.gateways[i].fingerprint.clone();
        let file = UsageFile::new(&fp, merged)?;
        write_atomic(&self.usage_file(id), file.to_json().as_bytes())?;
        if let Some(latest) = file.latest() {
            state.gateways[i].in_use = latest.in_use();
            state.gateways[i].usage_at = Some(latest.at);
        }
        self.save(&state)
    }

    /// Imports a usage file (`ldctl usage export`) picked or dropped by the
    /// user; its gateway is added when it is not in the registry yet.
    pub fn import_usage_file(&self, path: &Path, now: DateTime<Utc>) -> Result<UsageImport> {
        let bytes = read_os_file(path, MAX_USAGE_FILE_LEN as u64)?;
        let file = UsageFile::parse(&bytes)?;
        let (id, added) = {
            let mut state = self.lock();
            match Self::by_hardware(&state, &file.fingerprint) {
                Some(i) => (state.gateways[i].id.clone(), false),
                None => {
                    let name = format!("Gateway {}", &file.fingerprint[..9]);
                    let r = Self::insert(
                        &mut state,
                        &name,
                        &file.fingerprint,
                        GatewaySource::UsageFile,
                        now,
                    )?;
                    self.save(&state)?;
                    (r.id, true)
                }
            }
        };
        self.record_usage(&id, &file.samples)?;
        let latest = file.latest().copied();
        Ok(UsageImport {
            gateway_id: id,
            added,
            samples: file.samples.len() as u32,
            connections: latest.map_or(0, |s| s.connections),
            tags: latest.map_or(0, |s| s.tags),
            at: latest.map(|s| s.at),
        })
    }

    /// Reads this machine's usage as its edge software reported it
    /// (`ldctl usage set`, kept in `ldctl_home/usage.json` beside ldctl's
    /// license) and merges what is new. Nothing reported: nothing changes.
    pub fn refresh_this_machine_usage(&self, ldctl_home: &Path) -> Result<()> {
        let path = ldctl_home.join("usage.json");
        let Some(bytes) = read_own(&path, MAX_USAGE_FILE_LEN as u64)? else {
            return Ok(());
        };
        let file = UsageFile::parse(&bytes)?;
        let this = self.this_machine();
        if !same_hardware(&file.fingerprint, &this) {
            return Ok(());
        }
        let known = self
            .lock()
            .gateways
            .iter()
            .find(|r| r.this_machine)
            .and_then(|r| r.usage_at);
        let new: Vec<UsageSample> = file
            .samples
            .into_iter()
            .filter(|s| known.is_none_or(|k| s.at > k))
            .collect();
        self.record_usage(&this, &new)
    }

    /// Records the usage carried by floating heartbeats, for the gateways
    /// of the registry among `leases` (fingerprint, usage, reported at).
    pub fn record_heartbeat_usage(&self, leases: &[(String, InUse, DateTime<Utc>)]) -> Result<()> {
        for (fp, in_use, at) in leases {
            let id = {
                let state = self.lock();
                let Some(i) = Self::by_hardware(&state, fp) else {
                    continue;
                };
                if state.gateways[i].usage_at.is_some_and(|k| k >= *at) {
                    continue;
                }
                state.gateways[i].id.clone()
            };
            self.record_usage(
                &id,
                &[UsageSample {
                    at: *at,
                    connections: in_use.connections,
                    tags: in_use.tags,
                }],
            )?;
        }
        Ok(())
    }
}
