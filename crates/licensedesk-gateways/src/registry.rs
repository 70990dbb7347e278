//! The gateway registry (domain.md §2): this machine (always present, its
//! fingerprint computed locally) and the gateways added from request files
//! or typed fingerprints, each with its installed license as last known.
//!
//! Layout of the registry folder:
//! `registry.json` (gateways, queued activations, exported requests,
//! answered requests, the clock guard's mark), `keys.json` (the trusted
//! public key set when no trust source is set, see [`Registry::trust_from`]),
//! `licenses/<gateway id>/license.lic` and `…/backups/license-<UTC>.lic`,
//! `usage/<gateway id>.json` (the gateway's usage samples, core's usage
//! file format).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use licensedesk_core::fingerprint::{fingerprint, normalize_fingerprint, same_hardware};
use licensedesk_core::gateway::{
    EffectiveLicense, InUse, LicenseTerms, Limits, effective_license, license_usage,
};
use licensedesk_core::keys::{KeySet, MAX_KEYSET_LEN};
use serde::{Deserialize, Serialize};

use crate::dto::{
    GatewayLicenseView, GatewaySource, GatewaySummary, InstalledLicense, PendingActivation,
    RequestAnswer,
};
use crate::error::{Error, Result};
use crate::files::{read_os_file, read_own, write_atomic};

/// How a license came to be installed: core's vocabulary, re-exported.
/// This crate's install paths tell the hook [`InstallSource::File`],
/// [`InstallSource::Activation`] or [`InstallSource::Offline`].
pub use licensedesk_core::gateway::InstallSource;

/// The application id fingerprints are derived for; the same as `ldctl`'s,
/// so this machine has one fingerprint whichever tool computes it.
pub const APP_ID: &str = "licensedesk-edge";
/// A machine id file larger than this is refused.
pub const MAX_MACHINE_ID_LEN: u64 = 4096;
/// The registry's own state file is refused beyond this size.
const MAX_STATE_LEN: u64 = 16 * 1024 * 1024;
const STATE_VERSION: u32 = 1;

/// This machine's fingerprint from its machine id file (`/etc/machine-id`).
pub fn this_machine_fingerprint(machine_id_file: &Path) -> Result<String> {
    let id = read_os_file(machine_id_file, MAX_MACHINE_ID_LEN).map_err(|e| {
        Error::MachineIdUnavailable {
            detail: e.to_string(),
        }
    })?;
    if id.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::MachineIdUnavailable {
            detail: "the machine id is empty".into(),
        });
    }
    Ok(fingerprint(&id, APP_ID))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub id: String,
    pub name: String,
    pub fingerprint: String,
    pub this_machine: bool,
    pub source: GatewaySource,
    pub added_at: DateTime<Utc>,
    #[serde(default)]
    pub in_use: InUse,
    /// When `in_use` was reported (`None`: never; then it is not shown).
    #[serde(default)]
    pub usage_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub installed: Option<InstalledLicense>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredRequest {
    pub created_at: DateTime<Utc>,
    pub contents: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub v: u32,
    pub gateways: Vec<Record>,
    #[serde(default)]
    pub pending: Vec<PendingActivation>,
    #[serde(default)]
    pub requests: Vec<StoredRequest>,
    #[serde(default)]
    pub clock_mark: Option<DateTime<Utc>>,
    /// Offline requests answered here (by the server or the field kit),
    /// newest last.
    #[serde(default)]
    pub answers: Vec<RequestAnswer>,
}

/// Called after every successful install, whatever its path (see
/// [`Registry::on_install`]).
pub type InstallHook = Box<dyn Fn(&crate::dto::InstallOutcome, InstallSource) + Send + Sync>;

/// Where the trusted key set comes from (see [`Registry::trust_from`]):
/// `None` when nothing is trusted yet.
pub type TrustSource = Box<dyn Fn() -> Result<Option<KeySet>> + Send + Sync>;

/// The registry. Cheap to share (`Arc`); methods lock its state briefly and
/// never across an await.
pub struct Registry {
    dir: PathBuf,
    state: Mutex<State>,
    on_install: std::sync::OnceLock<InstallHook>,
    trust: std::sync::OnceLock<TrustSource>,
}

fn terms(i: &InstalledLicense) -> LicenseTerms {
    LicenseTerms {
        kind: i.kind,
        issued_at: i.issued_at,
        expire_at: i.expire_at,
        limits: Limits {
            max_connections: i.max_connections,
            max_tags: i.max_tags,
        },
        plugins: i.plugins.clone(),
        hardware: i.hardware.clone(),
    }
}

pub(crate) fn valid_name(name: &str) -> bool {
    let len = name.chars().count();
    (1..=100).contains(&len) && !name.chars().any(char::is_control)
}

impl Registry {
    /// Sets what runs after every successful install (file, activation,
    /// replayed activation, offline response), outside the registry's
    /// lock: the app reports installs to the server through it. Set once;
    /// a second hook is refused (returned).
    pub fn on_install(&self, hook: InstallHook) -> std::result::Result<(), InstallHook> {
        self.on_install.set(hook)
    }

    pub(crate) fn installed(&self, outcome: &crate::dto::InstallOutcome, source: InstallSource) {
        if let Some(hook) = self.on_install.get() {
            hook(outcome, source);
        }
    }

    /// Sets where the trusted key set comes from (the app: the active
    /// profile's pinned set); then `keys.json` is not used and nothing
    /// here fetches keys from a server. Set once; a second source is
    /// refused (returned).
    pub fn trust_from(&self, source: TrustSource) -> std::result::Result<(), TrustSource> {
        self.trust.set(source)
    }

    pub(crate) fn has_trust_source(&self) -> bool {
        self.trust.get().is_some()
    }
}

impl Registry {
    /// Opens (or creates) the registry in `dir`; `this_fingerprint` is this
    /// machine's (see [`this_machine_fingerprint`]), added when missing.
    pub fn open(dir: &Path, this_fingerprint: &str, now: DateTime<Utc>) -> Result<Self> {
        let this_fp = normalize_fingerprint(this_fingerprint)?;
        let path = dir.join("registry.json");
        let mut state = match read_own(&path, MAX_STATE_LEN)? {
            Some(bytes) => serde_json::from_slice::<State>(&bytes)
                .map_err(|e| Error::storage(&path, format!("damaged registry file: {e}")))?,
            None => State {
                v: STATE_VERSION,
                gateways: Vec::new(),
                pending: Vec::new(),
                requests: Vec::new(),
                clock_mark: None,
                answers: Vec::new(),
            },
        };
        let mut changed = false;
        for r in &mut state.gateways {
            if r.this_machine && r.fingerprint != this_fp {
                // The machine id changed: the old entry is a gateway now.
                r.this_machine = false;
                r.source = GatewaySource::Typed;
                changed = true;
            }
        }
        if !state.gateways.iter().any(|r| r.this_machine) {
            state.gateways.retain(|r| r.fingerprint != this_fp);
            state.gateways.insert(
                0,
                Record {
                    id: this_fp.clone(),
                    name: "This machine".into(),
                    fingerprint: this_fp.clone(),
                    this_machine: true,
                    source: GatewaySource::ThisMachine,
                    added_at: now,
                    in_use: InUse::default(),
                    usage_at: None,
                    installed: None,
                },
            );
            changed = true;
        }
        let registry = Self {
            dir: dir.to_owned(),
            state: Mutex::new(state),
            on_install: std::sync::OnceLock::new(),
            trust: std::sync::OnceLock::new(),
        };
        if changed {
            let guard = registry.lock();
            registry.save(&guard)?;
        }
        Ok(registry)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn save(&self, state: &State) -> Result<()> {
        let path = self.dir.join("registry.json");
        let text = serde_json::to_vec_pretty(state).map_err(|e| Error::storage(&path, e))?;
        write_atomic(&path, &text)
    }

    pub(crate) fn license_dir(&self, id: &str) -> PathBuf {
        self.dir.join("licenses").join(id)
    }

    /// The trusted key set (from the trust source when one is set, else
    /// `keys.json`), or [`Error::KeysMissing`].
    pub fn keys(&self) -> Result<KeySet> {
        if let Some(source) = self.trust.get() {
            return source()?.ok_or(Error::KeysMissing);
        }
        let path = self.dir.join("keys.json");
        match read_own(&path, MAX_KEYSET_LEN as u64)? {
            Some(bytes) => Ok(KeySet::from_json(&bytes)?),
            None => Err(Error::KeysMissing),
        }
    }

    pub fn has_keys(&self) -> bool {
        match self.trust.get() {
            Some(source) => matches!(source(), Ok(Some(_))),
            None => self.dir.join("keys.json").is_file(),
        }
    }

    /// Trusts `keys` (the server's key set: every key that ever signed).
    pub fn set_keys(&self, keys: &KeySet) -> Result<()> {
        write_atomic(&self.dir.join("keys.json"), keys.to_json().as_bytes())
    }

    /// This machine's fingerprint.
    pub fn this_machine(&self) -> String {
        let state = self.lock();
        state
            .gateways
            .iter()
            .find(|r| r.this_machine)
            .map(|r| r.fingerprint.clone())
            .unwrap_or_default()
    }

    pub(crate) fn record(state: &State, id: &str) -> Result<usize> {
        state
            .gateways
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| Error::GatewayNotFound { id: id.to_owned() })
    }

    /// The gateway whose hardware is `hardware`, if registered.
    pub(crate) fn by_hardware(state: &State, hardware: &str) -> Option<usize> {
        state
            .gateways
            .iter()
            .position(|r| same_hardware(&r.fingerprint, hardware))
    }

    fn summary(r: &Record, now: DateTime<Utc>) -> GatewaySummary {
        let eff = effective_license(
            r.installed.as_ref().map(terms).as_ref(),
            &r.fingerprint,
            now,
        );
        let (licensed, expire_at) = match &eff {
            EffectiveLicense::Licensed { terms } => (true, Some(terms.expire_at)),
            EffectiveLicense::Trial { .. } => (false, None),
        };
        GatewaySummary {
            id: r.id.clone(),
            name: r.name.clone(),
            fingerprint: r.fingerprint.clone(),
            this_machine: r.this_machine,
            source: r.source,
            added_at: r.added_at,
            kind: eff.kind(),
            licensed,
            expire_at,
        }
    }

    /// Every gateway, this machine first.
    pub fn list(&self, now: DateTime<Utc>) -> Vec<GatewaySummary> {
        self.lock()
            .gateways
            .iter()
            .map(|r| Self::summary(r, now))
            .collect()
    }

    /// Adds a gateway by its typed fingerprint.
    pub fn add(&self, name: &str, fingerprint: &str, now: DateTime<Utc>) -> Result<GatewaySummary> {
        let fp = normalize_fingerprint(fingerprint)?;
        let mut state = self.lock();
        let r = Self::insert(&mut state, name.trim(), &fp, GatewaySource::Typed, now)?;
        let summary = Self::summary(&r, now);
        self.save(&state)?;
        Ok(summary)
    }

    pub(crate) fn insert(
        state: &mut State,
        name: &str,
        fp: &str,
        source: GatewaySource,
        now: DateTime<Utc>,
    ) -> Result<Record> {
        if !valid_name(name) {
            return Err(Error::NameInvalid);
        }
        if let Some(i) = Self::by_hardware(state, fp) {
            return Err(Error::GatewayExists {
                fingerprint: fp.to_owned(),
                name: state.gateways[i].name.clone(),
            });
        }
        let record = Record {
            id: fp.to_owned(),
            name: name.to_owned(),
            fingerprint: fp.to_owned(),
            this_machine: false,
            source,
            added_at: now,
            in_use: InUse::default(),
            usage_at: None,
            installed: None,
        };
        state.gateways.push(record.clone());
        Ok(record)
    }

    /// Renames a gateway.
    pub fn rename(&self, id: &str, name: &str) -> Result<()> {
        let name = name.trim();
        if !valid_name(name) {
            return Err(Error::NameInvalid);
        }
        let mut state = self.lock();
        let i = Self::record(&state, id)?;
        state.gateways[i].name = name.to_owned();
        self.save(&state)
    }

    /// Removes a gateway (not this machine); its license files stay on disk.
    pub fn remove(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        let i = Self::record(&state, id)?;
        if state.gateways[i].this_machine {
            return Err(Error::ThisMachineFixed);
        }
        state.gateways.remove(i);
        state.pending.retain(|p| p.gateway_id != id);
        self.save(&state)
    }

    /// Records what a gateway has in use (connections, data tags) at `at`.
    pub fn set_usage(
        &self,
        id: &str,
        connections: u32,
        tags: u32,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.record_usage(
            id,
            &[licensedesk_core::gateway::usage::UsageSample {
                at,
                connections,
                tags,
            }],
        )
    }

    fn backups(&self, id: &str) -> u32 {
        std::fs::read_dir(self.license_dir(id).join("backups"))
            .map(|d| d.filter_map(|e| e.ok()).count() as u32)
            .unwrap_or(0)
    }

    /// The Gateway License page of gateway `id` at `now`.
    pub fn view(&self, id: &str, now: DateTime<Utc>) -> Result<GatewayLicenseView> {
        let state = self.lock();
        let r = &state.gateways[Self::record(&state, id)?];
        let installed_terms = r.installed.as_ref().map(terms);
        let eff = effective_license(installed_terms.as_ref(), &r.fingerprint, now);
        let usage = license_usage(&eff.limits(), &r.in_use);
        let (trial, issued_at, expire_at, bound) = match &eff {
            EffectiveLicense::Licensed { terms } => (
                None,
                Some(terms.issued_at),
                Some(terms.expire_at),
                terms.hardware.clone(),
            ),
            EffectiveLicense::Trial { reason, .. } => {
                (Some(reason.clone().into()), None, None, None)
            }
        };
        let usage_at = r.usage_at;
        Ok(GatewayLicenseView {
            gateway: Self::summary(r, now),
            usage_reported_at: usage_at,
            over_trial: matches!(eff, EffectiveLicense::Trial { .. })
                && usage_at.is_some()
                && (usage.tags.over_limit() || usage.connections.over_limit()),
            answers: state
                .answers
                .iter()
                .rev()
                .filter(|a| a.gateway_id.as_deref() == Some(id))
                .cloned()
                .collect(),
            kind: eff.kind(),
            trial,
            issued_at,
            expire_at,
            expired: r.installed.as_ref().is_some_and(|i| now >= i.expire_at),
            connections: usage.connections.into(),
            tags: usage.tags.into(),
            plugins: eff.plugins().to_vec(),
            bound_hardware: bound,
            installed: r.installed.clone(),
            backups: self.backups(id),
            pending: state
                .pending
                .iter()
                .filter(|p| p.gateway_id == id)
                .cloned()
                .collect(),
        })
    }

    /// The installed license file text of gateway `id` (to export it for a
    /// remote gateway, where `ldctl install` installs it).
    pub fn license_text(&self, id: &str) -> Result<Option<Vec<u8>>> {
        Self::record(&self.lock(), id)?;
        read_own(
            &self.license_dir(id).join("license.lic"),
            licensedesk_core::license::MAX_LICENSE_LEN as u64,
        )
    }
}
