//! Offline activation (domain.md §3): export a request bundle for gateways
//! of the registry, import the server's signed response bundle and install
//! each license it carries (through the same install pipeline).

use std::path::Path;

use chrono::{DateTime, Utc};
use licensedesk_core::activation_code::ActivationCode;
use licensedesk_core::offline::{
    Credential, MAX_RESPONSE_LEN, OfflineRequest, RequestEntry, VerifiedOutcome, match_response,
    parse_request, verify_response,
};

use crate::activation::nonce;
use crate::dto::{ErrorView, OfflineImportItem, OfflineRequestFile};
use crate::error::{Error, Result};
use crate::files::read_os_file;
use crate::registry::{InstallSource, Registry, StoredRequest};

const MAX_STORED_REQUESTS: usize = 50;

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
