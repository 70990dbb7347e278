//! What the commands share: the gateway registry and the server to talk to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use licensedesk_client::Client;
use licensedesk_gateways::{Registry, ServerApi, this_machine_fingerprint};

use crate::dialogs::Dialogs;
use crate::error::{CmdError, CmdResult};
use crate::session::Sessions;

/// The machine id file this machine's fingerprint is derived from
/// (`LICENSEDESK_MACHINE_ID_FILE` overrides it for tests).
fn machine_id_file() -> PathBuf {
    std::env::var_os("LICENSEDESK_MACHINE_ID_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/etc/machine-id".into())
}

pub struct AppState {
    pub data_dir: PathBuf,
    pub gateways: Arc<Registry>,
    /// The license server (`LICENSEDESK_SERVER_URL`, `LICENSEDESK_TOKEN`),
    /// until profiles choose it.
    server: Option<(String, Option<String>)>,
    pub dialogs: Dialogs,
    pub sessions: Sessions,
}

impl AppState {
    /// Opens the app's data in `data_dir`.
    pub fn open(data_dir: &Path) -> CmdResult<Self> {
        let server = std::env::var("LICENSEDESK_SERVER_URL")
            .ok()
            .map(|url| (url, std::env::var("LICENSEDESK_TOKEN").ok()));
        // API tokens in the OS keyring when one answers, else 0600 files;
        // which one (and why not the keyring) goes to stderr, never a token.
        let client = Client::open(&data_dir.join("client"))?;
        eprintln!("licensedesk: API tokens: {}", client.token_store().detail);
        Self::build(
            data_dir,
            &machine_id_file(),
            server,
            Dialogs::Native,
            client,
        )
    }

    /// With an explicit machine id file and server (tests); API tokens in
    /// 0600 files, never the user's keyring.
    pub fn with(
        data_dir: &Path,
        machine_id_file: &Path,
        server: Option<(String, Option<String>)>,
        dialogs: Dialogs,
    ) -> CmdResult<Self> {
        let client = Client::open_with_file_tokens(&data_dir.join("client"))?;
        Self::build(data_dir, machine_id_file, server, dialogs, client)
    }

    fn build(
        data_dir: &Path,
        machine_id_file: &Path,
        server: Option<(String, Option<String>)>,
        dialogs: Dialogs,
        client: Client,
    ) -> CmdResult<Self> {
        let fp = this_machine_fingerprint(machine_id_file)?;
        let gateways = Registry::open(&data_dir.join("gateways"), &fp, Self::now())?;
        let sessions = Sessions::new(client);
        if let Some((url, Some(token))) = &server {
            sessions.bootstrap(url, token)?;
        }
        Ok(Self {
            data_dir: data_dir.to_owned(),
            gateways: Arc::new(gateways),
            server,
            dialogs,
            sessions,
        })
    }

    pub fn now() -> DateTime<Utc> {
        Utc::now()
    }

    /// The gateway endpoints of the license server: the configured one, or
    /// the active profile's.
    pub fn gateway_api(&self) -> CmdResult<ServerApi> {
        if self.server.is_none()
            && let Some(p) = self.sessions.client.profiles().active()?
        {
            return Ok(ServerApi::new(&p.server_url, None)?);
        }
        let Some((url, token)) = &self.server else {
            return Err(CmdError::new(
                "PROFILE_MISSING",
                "no license server is configured: add a profile in Settings",
            ));
        };
        Ok(ServerApi::new(url, token.clone())?)
    }
}
