//! The install pipeline: read (capped) → verify completely with core →
//! pick the gateway the license is for → clock guard and install checks →
//! atomic replace, the previous license kept as a timestamped backup.
//! A file that fails any step changes nothing.

use std::fs;
use std::path::Path;

use chrono::{DateTime, Utc};
use licensedesk_core::clock::{advance, check_clock};
use licensedesk_core::fingerprint::same_hardware;
use licensedesk_core::gateway::{Limits, check_new_limits};
use licensedesk_core::license::{MAX_LICENSE_LEN, check_for_install, verify_license};

use crate::dto::{InstallOutcome, InstalledLicense};
use crate::error::{Error, Result};
use crate::files::{read_os_file, write_atomic};
use crate::registry::{InstallSource, Registry, State};

impl Registry {
    /// Installs the license file at `path` (picked in a dialog or dropped on
    /// the window). `target` names the gateway; `None` installs it for the
    /// gateway it is bound to (this machine when unbound).
    pub fn install_license_file(
        &self,
        path: &Path,
        target: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<InstallOutcome> {
        let bytes = read_os_file(path, MAX_LICENSE_LEN as u64)?;
        self.install_license_bytes(&bytes, target, now, InstallSource::File)
    }

    /// Installs license file text (from a file, the server or an offline
    /// response: `source`) after verifying it completely, then tells the
    /// install hook (see [`Registry::on_install`]).
    pub fn install_license_bytes(
        &self,
        bytes: &[u8],
        target: Option<&str>,
        now: DateTime<Utc>,
        source: InstallSource,
    ) -> Result<InstallOutcome> {
        let keys = self.keys()?;
        let license = verify_license(bytes, &keys)?;
        let payload = license.payload();
        let mut state = self.lock();
        let i = Self::target(&state, target, payload.hardware.as_deref())?;
        let id = state.gateways[i].id.clone();
        check_clock(state.clock_mark, now, Some(payload.issued_at))?;
        check_for_install(&license, &state.gateways[i].fingerprint, now)?;
        // Below what the gateway's software reports in use: refused, both
        // figures named (nothing reported: nothing to compare with).
        if state.gateways[i].usage_at.is_some() {
            check_new_limits(
                &Limits {
                    max_connections: payload.max_connections,
                    max_tags: payload.max_tags,
                },
                &state.gateways[i].in_use,
            )?;
        }

        let dir = self.license_dir(&id);
        let current = dir.join("license.lic");
        let backup = if current.is_file() {
            let old = fs::read(&current).map_err(|e| Error::storage(&current, e))?;
            let stamp = now.format("%Y%m%dT%H%M%S%.6fZ");
            let backup = dir.join("backups").join(format!("license-{stamp}.lic"));
            write_atomic(&backup, &old)?;
            Some(backup.display().to_string())
        } else {
            None
        };
        write_atomic(&current, bytes)?;

        state.gateways[i].installed = Some(InstalledLicense {
            license_id: payload.license_id.clone(),
            customer: payload.customer.clone(),
            kind: payload.kind,
            issued_at: payload.issued_at,
            expire_at: payload.expire_at,
            max_connections: payload.max_connections,
            max_tags: payload.max_tags,
            plugins: payload.plugins.clone(),
            hardware: payload.hardware.clone(),
            order: payload.order.clone(),
            installed_at: now,
        });
        state.clock_mark = Some(advance(state.clock_mark, now));
        self.save(&state)?;
        drop(state);
        let outcome = InstallOutcome {
            gateway_id: id.clone(),
            replaced: backup.is_some(),
            backup,
            view: self.view(&id, now)?,
        };
        self.installed(&outcome, source);
        Ok(outcome)
    }

    /// The gateway a license is installed for: the named one, else the one
    /// its hardware binding names (this machine when unbound).
    fn target(state: &State, target: Option<&str>, bound: Option<&str>) -> Result<usize> {
        if let Some(id) = target {
            return Self::record(state, id);
        }
        let this = state
            .gateways
            .iter()
            .position(|r| r.this_machine)
            .ok_or(Error::ThisMachineFixed)?;
        match bound {
            None => Ok(this),
            Some(hw) if same_hardware(hw, &state.gateways[this].fingerprint) => Ok(this),
            Some(hw) => Self::by_hardware(state, hw).ok_or_else(|| Error::GatewayUnknown {
                fingerprint: hw.chars().take(64).collect(),
            }),
        }
    }
}
