//! Gateway License commands: the registry, each gateway's license view,
//! license upload (dialog or drop: one path), activation codes, offline
//! bundles (the rest of the lifecycle: `lifecycle.rs`).

use std::path::PathBuf;

use licensedesk_core::activation_code::{ActivationCode, ActivationCodeError, format_partial};
use licensedesk_core::license::MAX_LICENSE_LEN;
use licensedesk_gateways::dto::{
    ActivationOutcome, GatewayLicenseView, GatewaySummary, InstallOutcome, OfflineImportItem,
    ReplayReport,
};
use licensedesk_gateways::files::{single_path, write_atomic};
use serde::{Deserialize, Serialize};
use tauri::{Runtime, State, Window};
use ts_rs::TS;

use crate::error::{CmdError, CmdResult};
use crate::state::AppState;
use crate::words::Dialog;

/// What the activation code field shows as the user types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CodeCheck {
    /// The input regrouped (`XXXX-XXXX-XXXX-XXXX-XXXXC`) as far as it goes.
    pub formatted: String,
    /// A whole code whose check symbol matches.
    pub complete: bool,
    /// Set when the input can no longer become a valid code (a wrong check
    /// symbol, a character codes never use, too many symbols).
    pub error: Option<CmdError>,
}

#[tauri::command]
pub fn list_gateways(state: State<'_, AppState>) -> Vec<GatewaySummary> {
    state.gateways.list(AppState::now())
}

/// Gateway `gatewayId`'s license page. This machine's usage is read from
/// ldctl's home first (what its edge software reported with `ldctl usage
/// set`); a damaged usage file there is reported, the page still shown.
#[tauri::command]
pub fn gateway_license(
    state: State<'_, AppState>,
    gateway_id: String,
) -> CmdResult<GatewayLicenseView> {
    if gateway_id == state.gateways.this_machine()
        && let Some(home) = crate::state::ldctl_home()
        && let Err(e) = state.gateways.refresh_this_machine_usage(&home)
    {
        eprintln!("licensedesk: this machine's usage not read: {}", e.code());
    }
    Ok(state.gateways.view(&gateway_id, AppState::now())?)
}

#[tauri::command]
pub fn add_gateway(
    state: State<'_, AppState>,
    name: String,
    fingerprint: String,
) -> CmdResult<GatewaySummary> {
    Ok(state.gateways.add(&name, &fingerprint, AppState::now())?)
}

#[tauri::command]
pub fn remove_gateway(
    state: State<'_, AppState>,
    gateway_id: String,
) -> CmdResult<Vec<GatewaySummary>> {
    state.gateways.remove(&gateway_id)?;
    Ok(state.gateways.list(AppState::now()))
}

/// Adds the gateways of an activation request file picked in a dialog;
/// `null` when cancelled.
#[tauri::command]
pub async fn add_gateways_from_request<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
) -> CmdResult<Option<Vec<GatewaySummary>>> {
    let Some(path) = state
        .dialogs
        .pick(
            &window,
            state.language(),
            Dialog::AddGateways,
            &["ldreq", "json"],
        )
        .await
    else {
        return Ok(None);
    };
    Ok(Some(
        state
            .gateways
            .add_from_request_file(&path, AppState::now())?,
    ))
}

/// The one path every license upload takes (dialog and drop alike).
fn install(
    state: &AppState,
    gateway_id: Option<&str>,
    paths: &[PathBuf],
) -> CmdResult<InstallOutcome> {
    let path = single_path(paths)?;
    // The install hook queues its report for the server (see `state.rs`).
    Ok(state
        .gateways
        .install_license_file(path, gateway_id, AppState::now())?)
}

/// Upload License: a native open dialog, then the install pipeline;
/// `null` when cancelled. Without `gatewayId` the license goes to the
/// gateway it is bound to.
#[tauri::command]
pub async fn upload_license_dialog<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
    gateway_id: Option<String>,
) -> CmdResult<Option<InstallOutcome>> {
    let Some(path) = state
        .dialogs
        .pick(
            &window,
            state.language(),
            Dialog::UploadLicense,
            &["lic", "txt"],
        )
        .await
    else {
        return Ok(None);
    };
    install(&state, gateway_id.as_deref(), &[path]).map(Some)
}

/// Paths dropped on the window (tauri's drag-drop event): the same install
/// pipeline as the dialog. Exactly one file.
#[tauri::command]
pub fn install_license_files(
    state: State<'_, AppState>,
    gateway_id: Option<String>,
    paths: Vec<PathBuf>,
) -> CmdResult<InstallOutcome> {
    install(&state, gateway_id.as_deref(), &paths)
}

/// Checks a typed activation code offline (core's parser and check symbol).
#[tauri::command]
pub fn check_activation_code(input: String) -> CodeCheck {
    let formatted = format_partial(&input);
    match ActivationCode::parse(&input) {
        Ok(code) => CodeCheck {
            formatted: code.canonical(),
            complete: true,
            error: None,
        },
        Err(ActivationCodeError::Empty) => CodeCheck {
            formatted,
            complete: false,
            error: None,
        },
        Err(ActivationCodeError::WrongLength { found }) if found < 21 => CodeCheck {
            formatted,
            complete: false,
            error: None,
        },
        Err(e) => CodeCheck {
            formatted,
            complete: false,
            error: Some(CmdError::from(licensedesk_gateways::Error::from(e))),
        },
    }
}

/// Enters an activation code for a gateway: validated offline first, then
/// activated online, or queued when the server is unreachable.
#[tauri::command]
pub async fn activate_gateway(
    state: State<'_, AppState>,
    gateway_id: String,
    code: String,
) -> CmdResult<ActivationOutcome> {
    ActivationCode::parse(&code).map_err(licensedesk_gateways::Error::from)?;
    let api = state.gateway_api()?;
    Ok(state
        .gateways
        .activate_code(&api, &gateway_id, &code, AppState::now())
        .await?)
}

/// Replays activations queued while offline.
#[tauri::command]
pub async fn replay_gateway_activations(state: State<'_, AppState>) -> CmdResult<ReplayReport> {
    let api = state.gateway_api()?;
    Ok(state.gateways.replay_pending(&api, AppState::now()).await?)
}

/// Offline activation: writes a request bundle for the gateway through a
/// save dialog; returns the written path, `null` when cancelled.
#[tauri::command]
pub async fn export_offline_request<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
    gateway_id: String,
    code: String,
) -> CmdResult<Option<String>> {
    ActivationCode::parse(&code).map_err(licensedesk_gateways::Error::from)?;
    let file = state
        .gateways
        .export_request(&[gateway_id], &code, AppState::now())?;
    let Some(path) = state
        .dialogs
        .save(
            &window,
            state.language(),
            Dialog::ExportRequest,
            &file.file_name,
        )
        .await
    else {
        return Ok(None);
    };
    write_atomic(&path, file.contents.as_bytes())?;
    Ok(Some(path.display().to_string()))
}

/// Offline activation: imports a response bundle picked in a dialog and
/// installs every license in it; `null` when cancelled.
#[tauri::command]
pub async fn import_offline_response<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
) -> CmdResult<Option<Vec<OfflineImportItem>>> {
    let Some(path) = state
        .dialogs
        .pick(
            &window,
            state.language(),
            Dialog::ImportResponse,
            &["ldresp", "json"],
        )
        .await
    else {
        return Ok(None);
    };
    Ok(Some(
        state
            .gateways
            .import_response_file(&path, AppState::now())?,
    ))
}

/// The largest license file accepted (for the UI's hint).
pub const MAX_LICENSE_FILE: usize = MAX_LICENSE_LEN;
