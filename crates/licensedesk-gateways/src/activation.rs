//! Activation codes for gateways: the check symbol is validated offline
//! first; then the code is activated online, or queued durably when the
//! server is unreachable and replayed when it is back.
//!
//! Exactly once: the server binds one license per (order, hardware) and
//! re-issues it, without consuming another, when the same hardware asks
//! again (domain.md §2). A replay interrupted after the server answered
//! therefore never consumes a second license.

use chrono::{DateTime, Utc};
use licensedesk_core::activation_code::ActivationCode;
use licensedesk_core::offline::{MAX_REQUEST_LEN, parse_request};

use crate::dto::{ActivationOutcome, ErrorView, GatewaySummary, PendingActivation, ReplayReport};
use crate::error::{Error, Result};
use crate::files::read_os_file;
use crate::registry::{InstallSource, Registry};
use crate::server::ServerApi;

fn random_key() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::Storage {
        path: "OS randomness".into(),
        detail: e.to_string(),
    })?;
    Ok(hex::encode(b))
}

pub(crate) fn nonce() -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::Storage {
        path: "OS randomness".into(),
        detail: e.to_string(),
    })?;
    Ok(b)
}

impl Registry {
    /// Fetches and trusts the server's key set.
    pub async fn refresh_keys(&self, api: &ServerApi) -> Result<()> {
        let keys = api.keyset().await?;
        self.set_keys(&keys)
    }

    /// Enters activation code `code` for gateway `id`.
    pub async fn activate_code(
        &self,
        api: &ServerApi,
        id: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<ActivationOutcome> {
        let code = ActivationCode::parse(code)?.canonical();
        let fingerprint = {
            let state = self.lock();
            state.gateways[Self::record(&state, id)?]
                .fingerprint
                .clone()
        };
        let reply = match self.activate_online(api, &code, &fingerprint).await {
            Ok(reply) => reply,
            // Offline, or no key set trusted yet to verify the answer with
            // (the profile's first sync pins one): queued, replayed later.
            Err(e) if e.is_unreachable() || matches!(e, Error::KeysMissing) => {
                return Ok(ActivationOutcome::Queued {
                    pending: self.queue(id, &code, now)?,
                });
            }
            Err(e) => return Err(e),
        };
        let outcome = self.install_license_bytes(
            reply.license.as_bytes(),
            Some(id),
            now,
            InstallSource::Activation,
        )?;
        Ok(ActivationOutcome::Activated {
            reissued: reply.reissued,
            remaining: reply.remaining,
            outcome: Box::new(outcome),
        })
    }

    async fn activate_online(
        &self,
        api: &ServerApi,
        code: &str,
        fingerprint: &str,
    ) -> Result<licensedesk_protocol::api::gateways::ActivateResponse> {
        if self.has_trust_source() {
            // Only pinned keys verify what comes back: none, no activation.
            self.keys()?;
        } else if !self.has_keys() {
            self.refresh_keys(api).await?;
        }
        api.activate(code, fingerprint).await
    }

    fn queue(&self, id: &str, code: &str, now: DateTime<Utc>) -> Result<PendingActivation> {
        let mut state = self.lock();
        if let Some(p) = state
            .pending
            .iter()
            .find(|p| p.gateway_id == id && p.code == code)
        {
            return Ok(p.clone());
        }
        let pending = PendingActivation {
            key: random_key()?,
            gateway_id: id.to_owned(),
            code: code.to_owned(),
            queued_at: now,
            error: None,
        };
        state.pending.push(pending.clone());
        self.save(&state)?;
        Ok(pending)
    }

    /// Queued activations (with the server's refusal for rejected ones).
    pub fn pending(&self) -> Vec<PendingActivation> {
        self.lock().pending.clone()
    }

    /// Drops a queued (usually rejected) activation the user dismissed.
    pub fn dismiss_pending(&self, key: &str) -> Result<()> {
        let mut state = self.lock();
        state.pending.retain(|p| p.key != key);
        self.save(&state)
    }

    /// Replays queued activations in order. An activated one is installed
    /// and removed; a refused one is kept with its error; when the server is
    /// still unreachable the replay stops.
    pub async fn replay_pending(
        &self,
        api: &ServerApi,
        now: DateTime<Utc>,
    ) -> Result<ReplayReport> {
        let mut report = ReplayReport {
            activated: 0,
            rejected: 0,
            still_pending: 0,
        };
        let queued: Vec<PendingActivation> = self
            .pending()
            .into_iter()
            .filter(|p| p.error.is_none())
            .collect();
        for p in queued {
            let fingerprint = {
                let state = self.lock();
                match Self::record(&state, &p.gateway_id) {
                    Ok(i) => state.gateways[i].fingerprint.clone(),
                    Err(_) => continue,
                }
            };
            let result = match self.activate_online(api, &p.code, &fingerprint).await {
                Ok(reply) => self
                    .install_license_bytes(
                        reply.license.as_bytes(),
                        Some(&p.gateway_id),
                        now,
                        InstallSource::Activation,
                    )
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            let mut state = self.lock();
            match result {
                Ok(()) => {
                    state.pending.retain(|q| q.key != p.key);
                    report.activated += 1;
                }
                Err(e) if e.is_unreachable() || matches!(e, Error::KeysMissing) => {
                    report.still_pending =
                        state.pending.iter().filter(|q| q.error.is_none()).count() as u32;
                    return Ok(report);
                }
                Err(e) => {
                    if let Some(q) = state.pending.iter_mut().find(|q| q.key == p.key) {
                        q.error = Some(ErrorView::from(&e));
                    }
                    report.rejected += 1;
                }
            }
            self.save(&state)?;
        }
        Ok(report)
    }

    /// Adds the gateways named in an offline activation request file.
    /// Gateways already registered are left as they are.
    pub fn add_from_request_file(
        &self,
        path: &std::path::Path,
        now: DateTime<Utc>,
    ) -> Result<Vec<GatewaySummary>> {
        let bytes = read_os_file(path, MAX_REQUEST_LEN as u64)?;
        let added: Vec<String> = self
            .register_request_gateways(&parse_request(&bytes)?, now)?
            .into_iter()
            .filter(|g| g.2)
            .map(|g| g.0)
            .collect();
        Ok(self
            .list(now)
            .into_iter()
            .filter(|g| added.contains(&g.id))
            .collect())
    }
}
