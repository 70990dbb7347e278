//! What the commands share: the gateway registry and the server to talk to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use licensedesk_client::Client;
use licensedesk_client::OutboxAction;
use licensedesk_field::Kit;
use licensedesk_gateways::dto::InstallOutcome;
use licensedesk_gateways::{InstallSource, Registry, ServerApi, this_machine_fingerprint};

use crate::dialogs::Dialogs;
use crate::error::CmdResult;
use crate::rounds::Background;
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
    pub dialogs: Dialogs,
    /// Shared with the registry's install hook (see [`report_install`]).
    pub sessions: Arc<Sessions>,
    /// The field kit (`<data dir>/field`: delegate keys, ledger), opened
    /// once; a tokio mutex because checkout and reconcile hold it across
    /// their requests.
    pub field: tokio::sync::Mutex<Kit>,
    /// Where issued field licenses go: `<field_out>/<allotment id>/`
    /// (`~/LicenseDesk/field` in the app, under the data dir in tests).
    pub field_out: PathBuf,
    /// Background sync of every profile, and the alerts.
    pub background: Arc<Background>,
}

/// `~/LicenseDesk/field` (`LICENSEDESK_FIELD_OUT` overrides it), else
/// under the data dir when there is no home.
fn field_out_dir(data_dir: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("LICENSEDESK_FIELD_OUT") {
        return dir.into();
    }
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(|h| PathBuf::from(h).join("LicenseDesk").join("field"))
        .unwrap_or_else(|| data_dir.join("field-out"))
}

impl AppState {
    /// Opens the app's data in `data_dir`. With no profile yet,
    /// `LICENSEDESK_SERVER_URL` + `LICENSEDESK_TOKEN` add a first one (the
    /// demo server of `cargo xtask run`, the end-to-end suite's server).
    pub fn open(data_dir: &Path) -> CmdResult<Self> {
        let bootstrap = std::env::var("LICENSEDESK_SERVER_URL")
            .ok()
            .zip(std::env::var("LICENSEDESK_TOKEN").ok());
        // API tokens in the OS keyring when one answers, else 0600 files;
        // which one (and why not the keyring) goes to stderr, never a token.
        let client = Client::open(&data_dir.join("client"))?;
        eprintln!("licensedesk: API tokens: {}", client.token_store().detail);
        Self::build(
            data_dir,
            &machine_id_file(),
            bootstrap,
            Dialogs::Native,
            client,
            field_out_dir(data_dir),
        )
    }

    /// With an explicit machine id file and first profile (server URL,
    /// token) (tests); API tokens in 0600 files, never the user's keyring.
    pub fn with(
        data_dir: &Path,
        machine_id_file: &Path,
        bootstrap: Option<(String, String)>,
        dialogs: Dialogs,
    ) -> CmdResult<Self> {
        let client = Client::open_with_file_tokens(&data_dir.join("client"))?;
        let field_out = data_dir.join("field-out");
        Self::build(
            data_dir,
            machine_id_file,
            bootstrap,
            dialogs,
            client,
            field_out,
        )
    }

    fn build(
        data_dir: &Path,
        machine_id_file: &Path,
        bootstrap: Option<(String, String)>,
        dialogs: Dialogs,
        client: Client,
        field_out: PathBuf,
    ) -> CmdResult<Self> {
        let fp = this_machine_fingerprint(machine_id_file)?;
        let gateways = Registry::open(&data_dir.join("gateways"), &fp, Self::now())?;
        let field = Kit::open(&data_dir.join("field"))?;
        let background = Arc::new(Background::new(client.alert_store()?, Self::now()));
        let sessions = Arc::new(Sessions::new(client));
        if let Some((url, token)) = &bootstrap {
            sessions.bootstrap(url, token)?;
        }
        let reporter = sessions.clone();
        // A fresh registry: no hook can be set already.
        let _ = gateways.on_install(Box::new(move |outcome, source| {
            report_install(&reporter, outcome, source);
        }));
        // Licenses verify with the active profile's pinned key set only.
        let trusting = sessions.clone();
        let _ = gateways.trust_from(Box::new(move || trusted_keys(&trusting)));
        Ok(Self {
            data_dir: data_dir.to_owned(),
            gateways: Arc::new(gateways),
            dialogs,
            sessions,
            field: tokio::sync::Mutex::new(field),
            field_out,
            background,
        })
    }

    pub fn now() -> DateTime<Utc> {
        Utc::now()
    }

    /// The user's language (the settings'), for what Rust words itself.
    pub fn language(&self) -> crate::settings::Language {
        crate::settings::load(&self.data_dir).language
    }

    /// The active profile's server URL and API token (field checkout and
    /// reconcile). `PROFILE_MISSING` until a profile is added.
    pub fn server_and_token(&self) -> CmdResult<(String, String)> {
        let session = self.sessions.session()?;
        let api = session.api();
        Ok((api.base_url().to_owned(), api.token().expose().to_owned()))
    }

    /// The gateway endpoints of the active profile's server, with that
    /// profile's API token (from the token store): activation, floating
    /// pools. `PROFILE_MISSING` until a profile is added.
    pub fn gateway_api(&self) -> CmdResult<ServerApi> {
        let session = self.sessions.session()?;
        let api = session.api();
        Ok(ServerApi::new(
            api.base_url(),
            Some(api.token().expose().to_owned()),
        )?)
    }
}

/// The active profile's trusted key set (`None`: no profile, or nothing
/// pinned yet).
fn trusted_keys(
    sessions: &Sessions,
) -> licensedesk_gateways::Result<Option<licensedesk_core::keys::KeySet>> {
    let coded = |e: licensedesk_client::Error| licensedesk_gateways::Error::Server {
        code: licensedesk_core::Coded::code(&e).to_owned(),
        message: e.to_string(),
    };
    let Some(profile) = sessions.client.profiles().active().map_err(coded)? else {
        return Ok(None);
    };
    sessions.client.trust(&profile.id).load().map_err(coded)
}

/// ldctl's home on this machine, where this machine's edge software
/// reports its usage (`LICENSEDESK_LDCTL_HOME` overrides it for tests).
pub fn ldctl_home() -> Option<PathBuf> {
    std::env::var_os("LICENSEDESK_LDCTL_HOME")
        .map(PathBuf::from)
        .or_else(licensedesk_gateways::usage::ldctl_home)
}

/// The registry's install hook: queues every install (file, activation,
/// replayed activation, offline response) in the active profile's outbox,
/// to be reported to the server on the next sync (domain.md §2: "the
/// install is recorded for sync with the server"). Best effort: the license
/// is already installed, so no failure here may undo or fail the install.
fn report_install(sessions: &Sessions, outcome: &InstallOutcome, source: InstallSource) {
    let Some(installed) = outcome.view.installed.as_ref() else {
        return;
    };
    // No profile (PROFILE_MISSING) or a session that cannot open: there is
    // no server to report to, so the report is skipped silently.
    let Ok(session) = sessions.session() else {
        return;
    };
    let action = OutboxAction::LicenseInstall {
        license_id: installed.license_id.clone(),
        fingerprint: outcome.view.gateway.fingerprint.clone(),
        installed_at: installed.installed_at,
        license_kind: installed.kind.as_str().into(),
        source: source.as_str().into(),
    };
    if let Err(e) = session.enqueue(&action) {
        // The error's code only: never a token or a path's contents.
        eprintln!(
            "licensedesk: license install not queued for the server: {}",
            licensedesk_core::Coded::code(&e)
        );
    }
}
