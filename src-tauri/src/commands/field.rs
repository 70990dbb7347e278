//! Field Kit commands (issue 6): thin adapters over `licensedesk-field`.
//! Checkout and reconcile talk to the active profile's server with its
//! token; issuing is offline. Issued license files are written into
//! `<field_out>/<allotment id>/` (`~/LicenseDesk/field/<allotment>/`).

use std::path::PathBuf;

use licensedesk_field::{
    AllotmentSummary, AuditPage, GatewayOutcome, IssuedView, ReconcileOutcome, ScopeKind,
};
use serde::Serialize;
use tauri::{Runtime, State, Window};
use ts_rs::TS;

use crate::error::{CmdError, CmdResult};
use crate::state::AppState;
use crate::words::Dialog;

/// What one issue call did: the folder the license files went to and one
/// outcome per gateway (issued, re-issued or refused with code + message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct FieldIssueReport {
    pub out_dir: String,
    pub outcomes: Vec<GatewayOutcome>,
}

fn out_dir(state: &AppState, allotment_id: &str) -> CmdResult<PathBuf> {
    // The id names a folder: only what the server generates may pass.
    if allotment_id.is_empty()
        || !allotment_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(CmdError::with_params(
            "FIELD_ALLOTMENT_NOT_FOUND",
            format!("allotment '{allotment_id}' is not in this field kit"),
            [("allotment", allotment_id.into())],
        ));
    }
    let dir = state.field_out.join(allotment_id);
    std::fs::create_dir_all(&dir).map_err(|e| {
        CmdError::with_params(
            "FIELD_IO",
            format!("could not create {}: {e}", dir.display()),
            [
                ("path", dir.display().to_string().into()),
                ("detail", e.to_string().into()),
            ],
        )
    })?;
    Ok(dir)
}

/// Every allotment of the kit, newest first, with what is left now.
#[tauri::command]
pub async fn field_allotments(state: State<'_, AppState>) -> CmdResult<Vec<AllotmentSummary>> {
    Ok(state.field.lock().await.allotments(AppState::now())?)
}

/// Checks out `count` licenses for `days` days from the active profile's
/// server (online): from order `reference` (`kind` `order`) or from the
/// account's orders of gateway product `reference` (`kind` `product`).
#[tauri::command]
pub async fn field_checkout(
    state: State<'_, AppState>,
    kind: ScopeKind,
    reference: String,
    count: u32,
    days: u32,
) -> CmdResult<AllotmentSummary> {
    let (base, token) = state.server_and_token()?;
    let mut kit = state.field.lock().await;
    Ok(licensedesk_field::checkout(
        &mut kit,
        &base,
        &token,
        &kind.source(&reference),
        count,
        days,
        AppState::now(),
    )
    .await?)
}

fn issue_files(
    state: &AppState,
    kit: &mut licensedesk_field::Kit,
    allotment_id: &str,
    paths: &[PathBuf],
) -> CmdResult<FieldIssueReport> {
    if paths.is_empty() {
        return Err(CmdError::new(
            "FIELD_NO_FILES",
            "no request file: drop or choose one or more activation request files",
        ));
    }
    // The allotment must exist before a folder is made for it.
    kit.summary(allotment_id, AppState::now())?;
    let dir = out_dir(state, allotment_id)?;
    let outcomes = kit.issue_requests(allotment_id, paths, &dir, AppState::now())?;
    Ok(FieldIssueReport {
        out_dir: dir.display().to_string(),
        outcomes,
    })
}

/// Issues one license per gateway of the request files `paths` (dropped
/// on the window), offline.
#[tauri::command]
pub async fn field_issue_files(
    state: State<'_, AppState>,
    allotment_id: String,
    paths: Vec<PathBuf>,
) -> CmdResult<FieldIssueReport> {
    let mut kit = state.field.lock().await;
    issue_files(&state, &mut kit, &allotment_id, &paths)
}

/// The same from a request file picked in an open dialog; `null` when
/// cancelled.
#[tauri::command]
pub async fn field_issue_dialog<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
    allotment_id: String,
) -> CmdResult<Option<FieldIssueReport>> {
    let Some(path) = state
        .dialogs
        .pick(
            &window,
            state.language(),
            Dialog::IssueLicenses,
            &["ldreq", "json"],
        )
        .await
    else {
        return Ok(None);
    };
    let mut kit = state.field.lock().await;
    issue_files(&state, &mut kit, &allotment_id, &[path]).map(Some)
}

/// Issues the license of a typed fingerprint, offline; a refusal is an
/// error (`LEDGER_ALLOTMENT_EXHAUSTED`, `DELEGATE_CERT_EXPIRED`, …).
#[tauri::command]
pub async fn field_issue_fingerprint(
    state: State<'_, AppState>,
    allotment_id: String,
    fingerprint: String,
) -> CmdResult<FieldIssueReport> {
    let mut kit = state.field.lock().await;
    kit.summary(&allotment_id, AppState::now())?;
    let dir = out_dir(&state, &allotment_id)?;
    let (issued, file) =
        kit.issue_to_file(&allotment_id, fingerprint.trim(), &dir, AppState::now())?;
    Ok(FieldIssueReport {
        out_dir: dir.display().to_string(),
        outcomes: vec![GatewayOutcome {
            fingerprint: issued.fingerprint.clone(),
            name: None,
            file: Some(file),
            issued: Some(issued),
            code: None,
            message: None,
            params: Default::default(),
        }],
    })
}

/// The licenses issued under `allotmentId` with their sync state.
#[tauri::command]
pub async fn field_issued(
    state: State<'_, AppState>,
    allotment_id: String,
) -> CmdResult<Vec<IssuedView>> {
    let kit = state.field.lock().await;
    kit.summary(&allotment_id, AppState::now())?;
    Ok(kit.issued(&allotment_id)?)
}

/// Uploads the allotment's ledger to the active profile's server (online;
/// safe to repeat).
#[tauri::command]
pub async fn field_reconcile(
    state: State<'_, AppState>,
    allotment_id: String,
) -> CmdResult<ReconcileOutcome> {
    let (base, token) = state.server_and_token()?;
    let mut kit = state.field.lock().await;
    Ok(
        licensedesk_field::reconcile(&mut kit, &base, &token, &allotment_id, AppState::now())
            .await?,
    )
}

/// A page of the server's audit log of `allotmentId` (checkout,
/// issuances, reconciliations, return or expiry), newest first, from
/// `cursor` (a previous page's `next_cursor`; none for the newest) (online).
#[tauri::command]
pub async fn field_audit(
    state: State<'_, AppState>,
    allotment_id: String,
    cursor: Option<String>,
) -> CmdResult<AuditPage> {
    let (base, token) = state.server_and_token()?;
    state
        .field
        .lock()
        .await
        .summary(&allotment_id, AppState::now())?;
    Ok(
        licensedesk_field::audit(&base, &token, &allotment_id, cursor.as_deref(), AUDIT_PAGE)
            .await?,
    )
}

/// Entries of the audit log a page shows.
pub const AUDIT_PAGE: u32 = 50;

/// Exports the allotment's issuance ledger (hash-chained, its head signed
/// by the delegate key; what `ldctl ledger verify` checks) through a save
/// dialog; the written path, `null` when cancelled.
#[tauri::command]
pub async fn field_export_ledger<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
    allotment_id: String,
) -> CmdResult<Option<String>> {
    let text = {
        let kit = state.field.lock().await;
        kit.summary(&allotment_id, AppState::now())?;
        kit.export(&allotment_id)?
    };
    let Some(path) = state
        .dialogs
        .save(
            &window,
            state.language(),
            Dialog::ExportLedger,
            &format!("ledger-{allotment_id}.json"),
        )
        .await
    else {
        return Ok(None);
    };
    licensedesk_gateways::files::write_atomic(&path, text.as_bytes())?;
    Ok(Some(path.display().to_string()))
}
