//! The rest of a gateway license's life in the app: files dropped or
//! picked (a license, a batch of request files, usage files: one path
//! each), offline requests answered (by the server when online, else by
//! the field kit), usage over time, the account's floating pools, order
//! lookup, a license exported to a file or copied. Thin adapters over
//! `licensedesk-gateways`, `licensedesk-field` and the client's charts.

use std::path::{Path, PathBuf};

use licensedesk_core::gateway::Resource;
use licensedesk_gateways::dto::{
    ErrorView, InstallOutcome, OfflineImportItem, OrderView, PoolView, RequestAnswer, UsageImport,
};
use licensedesk_gateways::files::{FileKind, read_dropped, write_atomic};
use licensedesk_gateways::{InstallSource, RequestFile, read_request_files};
use serde::Serialize;
use tauri::{Runtime, State, Window};
use ts_rs::TS;

use crate::error::{CmdError, CmdResult};
use crate::state::AppState;
use crate::words::Dialog;

/// What the files dropped on the Gateway License page (or picked) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpenedFiles {
    /// One license file, installed.
    License { outcome: Box<InstallOutcome> },
    /// Request files answered (see [`RequestAnswers`]).
    Requests { answers: RequestAnswers },
    /// Usage files imported.
    Usage { imports: Vec<UsageImport> },
    /// A response bundle, its licenses installed.
    Response { items: Vec<OfflineImportItem> },
}

/// A batch of request files answered, and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RequestAnswers {
    /// `server` (online) or `field_kit` (offline).
    pub via: String,
    /// One per gateway of every request file.
    pub answers: Vec<RequestAnswer>,
}

/// A gateway's usage over time, drawn (plotters, themed SVG).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct UsageCharts {
    /// Reports kept (the charts draw the newest 24).
    pub samples: u32,
    /// `null` when nothing was reported yet.
    pub tags_svg: Option<String>,
    pub connections_svg: Option<String>,
}

/// Opens files dropped on the window (or picked): a license is installed
/// for `gatewayId` (else for the gateway it is bound to), request files are
/// answered, usage files imported, a response bundle installed. All the
/// files must be of one kind.
#[tauri::command]
pub async fn open_files(
    state: State<'_, AppState>,
    gateway_id: Option<String>,
    paths: Vec<PathBuf>,
) -> CmdResult<OpenedFiles> {
    let now = AppState::now();
    let (kind, bytes) = read_dropped(&paths)?;
    Ok(match kind {
        FileKind::License => {
            if bytes.len() != 1 {
                return Err(
                    licensedesk_gateways::Error::TooManyFiles { count: bytes.len() }.into(),
                );
            }
            OpenedFiles::License {
                outcome: Box::new(state.gateways.install_license_bytes(
                    &bytes[0],
                    gateway_id.as_deref(),
                    now,
                    InstallSource::File,
                )?),
            }
        }
        FileKind::Request => OpenedFiles::Requests {
            answers: answer(&state, &paths).await?,
        },
        FileKind::Usage => OpenedFiles::Usage {
            imports: paths
                .iter()
                .map(|p| state.gateways.import_usage_file(p, now))
                .collect::<Result<_, _>>()?,
        },
        FileKind::Response => OpenedFiles::Response {
            items: bytes
                .iter()
                .map(|b| state.gateways.import_response_bytes(b, now))
                .collect::<Result<Vec<_>, _>>()?
                .concat(),
        },
    })
}

/// Answers request files (`ldctl request`) chosen in a dialog (several at
/// once); `null` when cancelled.
#[tauri::command]
pub async fn answer_requests_dialog<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
) -> CmdResult<Option<RequestAnswers>> {
    let Some(paths) = state
        .dialogs
        .pick_many(
            &window,
            state.language(),
            Dialog::AnswerRequests,
            &["ldreq", "json"],
        )
        .await
    else {
        return Ok(None);
    };
    answer(&state, &paths).await.map(Some)
}

/// Imports a usage file (`ldctl usage export`) chosen in a dialog; `null`
/// when cancelled.
#[tauri::command]
pub async fn import_usage_dialog<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
) -> CmdResult<Option<UsageImport>> {
    let Some(path) = state
        .dialogs
        .pick(
            &window,
            state.language(),
            Dialog::ImportUsage,
            &["ldusage", "json"],
        )
        .await
    else {
        return Ok(None);
    };
    Ok(Some(
        state.gateways.import_usage_file(&path, AppState::now())?,
    ))
}

/// Answers a batch: by the active profile's server when it answers (each
/// response bundle saved beside its request), else by the field kit's
/// first allotment that covers each request (the license files written
/// beside the request). Every answer is listed under its gateway.
async fn answer(state: &AppState, paths: &[PathBuf]) -> CmdResult<RequestAnswers> {
    let now = AppState::now();
    let files = read_request_files(paths)?;
    match state.gateway_api() {
        Ok(api) => match state
            .gateways
            .answer_requests_online(&api, &files, now)
            .await
        {
            Ok(answers) => {
                return Ok(RequestAnswers {
                    via: "server".into(),
                    answers,
                });
            }
            Err(e) if e.is_unreachable() => {}
            Err(e) => return Err(e.into()),
        },
        Err(e) if e.code == "PROFILE_MISSING" => {}
        Err(e) => return Err(e),
    }
    let mut answers = Vec::new();
    for f in &files {
        answers.extend(answer_offline(state, f, now).await?);
    }
    Ok(RequestAnswers {
        via: "field_kit".into(),
        answers,
    })
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

async fn answer_offline(
    state: &AppState,
    file: &RequestFile,
    now: chrono::DateTime<chrono::Utc>,
) -> CmdResult<Vec<RequestAnswer>> {
    let mut kit = state.field.lock().await;
    let usable: Vec<String> = kit
        .allotments(now)?
        .into_iter()
        .filter(|a| !a.expired)
        .map(|a| a.allotment_id)
        .collect();
    for id in usable {
        match kit.issue_requests(
            &id,
            std::slice::from_ref(&file.path),
            &folder_of(&file.path),
            now,
        ) {
            Ok(outcomes) => {
                let outcomes: Vec<_> = outcomes
                    .into_iter()
                    .map(|o| {
                        let error = o.code.map(|code| ErrorView {
                            code,
                            message: o.message.unwrap_or_default(),
                            params: Default::default(),
                        });
                        (o.fingerprint, o.file, error)
                    })
                    .collect();
                return Ok(state.gateways.record_field_answers(file, &outcomes, now)?);
            }
            Err(e) if licensedesk_core::Coded::code(&e) == "FIELD_REQUEST_OUT_OF_SCOPE" => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(CmdError::new(
        "REQUEST_UNANSWERED_OFFLINE",
        format!(
            "the license server cannot be reached, and no field kit allotment covers {}: answer it when online, or check out an allotment of its order or product in Field Kit first",
            file.path.display()
        ),
    ))
}

/// Gateway `gatewayId`'s usage over time (tags and connections against
/// the limits in force). This machine's usage is read from ldctl's home
/// first.
#[tauri::command]
pub fn gateway_usage_charts(
    state: State<'_, AppState>,
    gateway_id: String,
) -> CmdResult<UsageCharts> {
    let now = AppState::now();
    let view = state.gateways.view(&gateway_id, now)?;
    let samples = state.gateways.usage_history(&gateway_id)?;
    if samples.is_empty() {
        return Ok(UsageCharts {
            samples: 0,
            tags_svg: None,
            connections_svg: None,
        });
    }
    let chart = |r: Resource, max: u32| {
        licensedesk_client::charts::gateway_usage(&samples, r, max).map_err(CmdError::from)
    };
    Ok(UsageCharts {
        samples: samples.len() as u32,
        tags_svg: Some(chart(Resource::Tags, view.tags.max)?),
        connections_svg: Some(chart(Resource::Connections, view.connections.max)?),
    })
}

/// The active profile's floating pools with their live leases (online).
#[tauri::command]
pub async fn floating_pools(state: State<'_, AppState>) -> CmdResult<Vec<PoolView>> {
    let api = state.gateway_api()?;
    Ok(state.gateways.pools(&api).await?)
}

/// Releases a gateway's lease in pool `pool` (online).
#[tauri::command]
pub async fn release_lease(
    state: State<'_, AppState>,
    pool: String,
    fingerprint: String,
) -> CmdResult<PoolView> {
    let api = state.gateway_api()?;
    Ok(state
        .gateways
        .release_lease(&api, &pool, &fingerprint)
        .await?)
}

/// Looks an order up with its number and e-mail (online).
#[tauri::command]
pub async fn lookup_order(
    state: State<'_, AppState>,
    order_no: String,
    email: String,
) -> CmdResult<OrderView> {
    let api = state.gateway_api()?;
    Ok(state.gateways.lookup_order(&api, &order_no, &email).await?)
}

/// The installed license file text of `gatewayId` (to copy it).
#[tauri::command]
pub fn license_file_text(state: State<'_, AppState>, gateway_id: String) -> CmdResult<String> {
    let bytes = state
        .gateways
        .license_text(&gateway_id)?
        .ok_or_else(no_license)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn no_license() -> CmdError {
    CmdError::new(
        "LICENSE_NONE_INSTALLED",
        "this gateway has no license installed: install or activate one first",
    )
}

/// Exports `gatewayId`'s installed license through a save dialog (for a
/// remote gateway, where `ldctl install` installs it); the written path,
/// `null` when cancelled.
#[tauri::command]
pub async fn export_license_dialog<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
    gateway_id: String,
) -> CmdResult<Option<String>> {
    let bytes = state
        .gateways
        .license_text(&gateway_id)?
        .ok_or_else(no_license)?;
    let name = state
        .gateways
        .view(&gateway_id, AppState::now())?
        .gateway
        .name;
    let file_name = format!("{}.lic", sanitize(&name));
    let Some(path) = state
        .dialogs
        .save(&window, state.language(), Dialog::ExportLicense, &file_name)
        .await
    else {
        return Ok(None);
    };
    write_atomic(&path, &bytes)?;
    Ok(Some(path.display().to_string()))
}

/// A file name from a gateway's name: letters, digits, `-` and `_`.
fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() { "license".into() } else { s }
}
