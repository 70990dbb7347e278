//! Offline activation (domain.md §3): export a request bundle for gateways
//! of the registry, import the server's signed response bundle and install
//! each license it carries (through the same install pipeline); and answer
//! gateways' own request files (`ldctl request`), a batch at a time: by the
//! server when online (the verified response bundle saved beside each
//! request as `<request>.ldresp`, which `ldctl install` takes), or by the
//! field kit when offline (the app records those answers here). Every
//! answer is listed under its gateway.

use std::path::Path;

use chrono::{DateTime, Utc};
use licensedesk_core::activation_code::ActivationCode;
use licensedesk_core::offline::{
    Credential, MAX_RESPONSE_LEN, OfflineRequest, RequestEntry, VerifiedOutcome, match_response,
    parse_request, verify_response,
};

use crate::activation::nonce;
use crate::dto::{ErrorView, GatewaySource, OfflineImportItem, OfflineRequestFile, RequestAnswer};
use crate::error::{Error, Result};
use crate::files::{read_os_file, write_atomic};
use crate::registry::{InstallSource, Registry, StoredRequest, valid_name};
use crate::server::ServerApi;

const MAX_STORED_REQUESTS: usize = 50;
/// Most request answers the registry keeps (the oldest go first).
const MAX_ANSWERS: usize = 500;

/// A request file of a batch: its path and what it asks.
pub struct RequestFile {
    pub path: std::path::PathBuf,
    pub request: OfflineRequest,
}

/// Reads and checks every request file of a batch; one that cannot be
/// read or parsed fails the batch before anything is asked.
pub fn read_request_files(paths: &[std::path::PathBuf]) -> Result<Vec<RequestFile>> {
    if paths.is_empty() {
        return Err(Error::NoFile);
    }
    paths
        .iter()
        .map(|p| {
            let bytes = read_os_file(p, licensedesk_core::offline::MAX_REQUEST_LEN as u64)?;
            Ok(RequestFile {
                path: p.clone(),
                request: parse_request(&bytes)?,
            })
        })
        .collect()
}

/// Where the answer to `request` is saved: beside it, `<name>.ldresp`.
pub fn response_path(request: &Path) -> std::path::PathBuf {
    let stem = request
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "request".into());
    request.with_file_name(format!("{stem}.ldresp"))
}

impl Registry {
    /// A request bundle activating gateways `ids` with activation code
    /// `code`; remembered so that its response can be matched later.
    pub fn export_request(
        &self,
        ids: &[String],
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<OfflineRequestFile> {
        let code = ActivationCode::parse(code)?;
        let mut state = self.lock();
        let mut entries = Vec::new();
        for id in ids {
            let r = &state.gateways[Self::record(&state, id)?];
            entries.push(RequestEntry::new(
                &r.fingerprint,
                Credential::Code(code),
                nonce()?,
                now,
                Some(r.name.clone()),
            )?);
        }
        let request = OfflineRequest::new(entries)?;
        let contents = request.to_json();
        state.requests.push(StoredRequest {
            created_at: now,
            contents: contents.clone(),
        });
        let excess = state.requests.len().saturating_sub(MAX_STORED_REQUESTS);
        state.requests.drain(..excess);
        self.save(&state)?;
        Ok(OfflineRequestFile {
            file_name: format!("licensedesk-{}.ldreq", now.format("%Y%m%d-%H%M%S")),
            contents,
            gateways: request.gateways().len() as u32,
        })
    }

    /// Imports a response file picked or dropped by the user.
    pub fn import_response_file(
        &self,
        path: &Path,
        now: DateTime<Utc>,
    ) -> Result<Vec<OfflineImportItem>> {
        let bytes = read_os_file(path, MAX_RESPONSE_LEN as u64)?;
        self.import_response_bytes(&bytes, now)
    }

    /// Verifies a response bundle, matches it with the request exported
    /// here, and installs every license it carries.
    pub fn import_response_bytes(
        &self,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<OfflineImportItem>> {
        let keys = self.keys()?;
        let response = verify_response(bytes, &keys)?;
        let matched = {
            let state = self.lock();
            state
                .requests
                .iter()
                .rev()
                .filter_map(|s| parse_request(s.contents.as_bytes()).ok())
                .find_map(|req| match_response(&req, &response).ok())
                .ok_or(Error::RequestNotFound)?
        };
        let mut items = Vec::new();
        for m in matched {
            let (gateway_id, name) = {
                let state = self.lock();
                match Self::by_hardware(&state, &m.entry.fingerprint) {
                    Some(i) => (
                        Some(state.gateways[i].id.clone()),
                        Some(state.gateways[i].name.clone()),
                    ),
                    None => (None, m.entry.name.clone()),
                }
            };
            let (result, error) = match (&m.outcome, &gateway_id) {
                (VerifiedOutcome::Issued { text, .. }, Some(id)) => {
                    match self.install_license_bytes(
                        text.as_bytes(),
                        Some(id),
                        now,
                        InstallSource::Offline,
                    ) {
                        Ok(_) => ("installed", None),
                        Err(e) => ("failed", Some(ErrorView::from(&e))),
                    }
                }
                (VerifiedOutcome::Issued { .. }, None) => {
                    let e = Error::GatewayUnknown {
                        fingerprint: m.entry.fingerprint.clone(),
                    };
                    ("failed", Some(ErrorView::from(&e)))
                }
                (VerifiedOutcome::Refused { code, message }, _) => (
                    "refused",
                    Some(ErrorView {
                        code: code.clone(),
                        message: message.clone(),
                        params: Default::default(),
                    }),
                ),
            };
            items.push(OfflineImportItem {
                fingerprint: m.entry.fingerprint.clone(),
                gateway_id,
                name,
                result: result.into(),
                error,
            });
        }
        Ok(items)
    }
}

impl Registry {
    /// Adds the gateways a request names (those not registered yet);
    /// returns each entry's gateway id and name, and whether it was added.
    pub(crate) fn register_request_gateways(
        &self,
        request: &OfflineRequest,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String, bool)>> {
        let mut state = self.lock();
        let mut out = Vec::new();
        for entry in request.gateways() {
            let (i, added) = match Self::by_hardware(&state, &entry.fingerprint) {
                Some(i) => (i, false),
                None => {
                    let name = entry
                        .name
                        .clone()
                        .filter(|n| valid_name(n))
                        .unwrap_or_else(|| format!("Gateway {}", &entry.fingerprint[..9]));
                    Self::insert(
                        &mut state,
                        &name,
                        &entry.fingerprint,
                        GatewaySource::RequestFile,
                        now,
                    )?;
                    (state.gateways.len() - 1, true)
                }
            };
            out.push((
                state.gateways[i].id.clone(),
                state.gateways[i].name.clone(),
                added,
            ));
        }
        self.save(&state)?;
        Ok(out)
    }

    /// Keeps `answers` (listed under their gateways).
    pub fn record_answers(&self, answers: &[RequestAnswer]) -> Result<()> {
        let mut state = self.lock();
        state.answers.extend(answers.iter().cloned());
        let excess = state.answers.len().saturating_sub(MAX_ANSWERS);
        state.answers.drain(..excess);
        self.save(&state)
    }

    /// Answers request files by the server (online): each file's verified
    /// response bundle is saved beside it; every gateway is registered and
    /// its answer listed. An unreachable server fails before the first
    /// answer is saved ([`Error::is_unreachable`]: the caller may ask the
    /// field kit instead).
    pub async fn answer_requests_online(
        &self,
        api: &ServerApi,
        files: &[RequestFile],
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestAnswer>> {
        let keys = self.keys()?;
        let mut all = Vec::new();
        for f in files {
            let bytes = api.offline_activate(f.request.to_json().as_bytes()).await?;
            let response = verify_response(&bytes, &keys)?;
            let matched = match_response(&f.request, &response)?;
            let out = response_path(&f.path);
            write_atomic(&out, &bytes)?;
            let gateways = self.register_request_gateways(&f.request, now)?;
            let answers: Vec<RequestAnswer> = matched
                .into_iter()
                .zip(gateways)
                .map(|(m, (id, name, _))| {
                    let (result, error) = match m.outcome {
                        VerifiedOutcome::Issued { .. } => ("issued", None),
                        VerifiedOutcome::Refused { code, message } => (
                            "refused",
                            Some(ErrorView {
                                code,
                                message,
                                params: Default::default(),
                            }),
                        ),
                    };
                    RequestAnswer {
                        request_file: f.path.display().to_string(),
                        fingerprint: m.entry.fingerprint.clone(),
                        gateway_id: Some(id),
                        name: Some(name),
                        result: result.into(),
                        via: "server".into(),
                        response_file: Some(out.display().to_string()),
                        at: now,
                        error,
                    }
                })
                .collect();
            self.record_answers(&answers)?;
            all.extend(answers);
        }
        Ok(all)
    }

    /// Records answers the field kit gave offline to `file`: one per
    /// gateway (its license file, or its refusal); the gateways are
    /// registered.
    pub fn record_field_answers(
        &self,
        file: &RequestFile,
        outcomes: &[(String, Option<std::path::PathBuf>, Option<ErrorView>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestAnswer>> {
        let gateways = self.register_request_gateways(&file.request, now)?;
        let answers: Vec<RequestAnswer> = file
            .request
            .gateways()
            .iter()
            .zip(gateways)
            .filter_map(|(entry, (id, name, _))| {
                let (_, lic, error) = outcomes.iter().find(|o| {
                    licensedesk_core::fingerprint::same_hardware(&o.0, &entry.fingerprint)
                })?;
                Some(RequestAnswer {
                    request_file: file.path.display().to_string(),
                    fingerprint: entry.fingerprint.clone(),
                    gateway_id: Some(id),
                    name: Some(name),
                    result: if lic.is_some() { "issued" } else { "refused" }.into(),
                    via: "field_kit".into(),
                    response_file: lic.as_ref().map(|p| p.display().to_string()),
                    at: now,
                    error: error.clone(),
                })
            })
            .collect();
        self.record_answers(&answers)?;
        Ok(answers)
    }
}
