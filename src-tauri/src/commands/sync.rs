//! Sync now / cancel / status, with progress events, and the outbox.

use licensedesk_client::{CancelToken, OutboxItem, Staleness, SyncProgress};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Runtime, State};
use ts_rs::TS;

use crate::error::{CmdError, CmdResult};
use crate::session::LastSync;
use crate::state::AppState;

/// Event with a [`SyncProgress`] payload, as a sync goes.
pub const PROGRESS_EVENT: &str = "sync://progress";
/// Event with a [`SyncStatus`] payload, when a sync ends.
pub const STATUS_EVENT: &str = "sync://status";

/// What the status bar shows.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SyncStatus {
    /// `null` until the server was tried.
    pub online: Option<bool>,
    pub syncing: bool,
    pub progress: Option<SyncProgress>,
    pub staleness: Option<Staleness>,
    #[ts(type = "number")]
    pub outbox_pending: u64,
    #[ts(type = "number")]
    pub outbox_rejected: u64,
    /// Gateway activations queued while offline.
    pub gateway_pending: u32,
    /// The last sync's failure, kept until a sync succeeds.
    pub last_error: Option<CmdError>,
    /// The last successful sync of this profile since the app started
    /// (kept in memory only; a failed sync leaves it as it was).
    pub last_sync: Option<LastSync>,
    /// Grows with every change of this status: of two statuses, the one
    /// with the larger `seq` is the newer.
    #[ts(type = "number")]
    pub seq: u64,
}

fn status(state: &AppState) -> CmdResult<SyncStatus> {
    let session = state.sessions.session().ok();
    let (staleness, pending, rejected) = match &session {
        Some(s) => {
            let items = s.outbox().list()?;
            (
                Some(s.staleness()?),
                s.outbox().pending_count()?,
                items.iter().filter(|i| i.state == "rejected").count() as u64,
            )
        }
        None => (None, 0, 0),
    };
    let rt = state.sessions.runtime();
    Ok(SyncStatus {
        online: rt.online,
        syncing: rt.cancel.is_some(),
        progress: rt.progress.clone(),
        staleness,
        outbox_pending: pending,
        outbox_rejected: rejected,
        gateway_pending: state
            .gateways
            .pending()
            .iter()
            .filter(|p| p.error.is_none())
            .count() as u32,
        last_error: rt.last_error.clone(),
        last_sync: rt.last_sync.clone(),
        seq: rt.seq,
    })
}

#[tauri::command]
pub fn sync_status(state: State<'_, AppState>) -> CmdResult<SyncStatus> {
    status(&state)
}

/// Syncs the active profile: `sync://progress` events while it runs, a
/// `sync://status` event and the status when it ends. Queued gateway
/// activations are replayed once the server answers.
#[tauri::command]
pub async fn sync_now<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<SyncStatus> {
    run_sync(&app, &state).await
}

/// One sync of the active profile (the command and the background loop).
/// While a sync runs, asking for another returns its status: the running one
/// reports progress and fresh data as usual.
pub async fn run_sync<R: Runtime>(app: &AppHandle<R>, state: &AppState) -> CmdResult<SyncStatus> {
    let session = state.sessions.session()?;
    let cancel = CancelToken::new();
    {
        let mut rt = state.sessions.runtime();
        if rt.cancel.is_some() {
            drop(rt);
            return status(state);
        }
        rt.cancel = Some(cancel.clone());
        rt.changed();
    }
    let shared = state.sessions.sync.clone();
    let emitter = app.clone();
    let progress = move |p: SyncProgress| {
        {
            let mut rt = shared.lock().unwrap_or_else(|e| e.into_inner());
            rt.progress = Some(p.clone());
            rt.changed();
        }
        let _ = emitter.emit(PROGRESS_EVENT, &p);
    };
    let result = session.sync(&progress, &cancel).await;
    let online = !matches!(
        &result,
        Err(licensedesk_client::Error::ServerUnreachable { .. })
    );
    if online && let Ok(api) = state.gateway_api() {
        // Activations queued offline; each one installed queues its report
        // (the registry's install hook), sent at once rather than on the
        // next sync.
        if let Ok(r) = state.gateways.replay_pending(&api, AppState::now()).await
            && r.activated > 0
        {
            let _ = session.outbox().flush(session.api(), AppState::now()).await;
        }
    }
    {
        let mut rt = state.sessions.runtime();
        rt.cancel = None;
        rt.progress = None;
        rt.online = Some(online);
        rt.changed();
        match result {
            Ok(report) => {
                rt.last_error = None;
                rt.last_sync = Some(LastSync::new(&report, rt.seq));
            }
            Err(e) => rt.last_error = Some(CmdError::from(e)),
        }
    }
    let s = status(state)?;
    let _ = app.emit(STATUS_EVENT, &s);
    Ok(s)
}

/// Cancels a running sync between pages (it resumes next time).
#[tauri::command]
pub fn sync_cancel(state: State<'_, AppState>) {
    if let Some(c) = &state.sessions.runtime().cancel {
        c.cancel();
    }
}

#[tauri::command]
pub fn list_outbox(state: State<'_, AppState>) -> CmdResult<Vec<OutboxItem>> {
    Ok(state.sessions.session()?.outbox().list()?)
}

#[tauri::command]
pub fn retry_outbox_item(state: State<'_, AppState>, id: i64) -> CmdResult<Vec<OutboxItem>> {
    let s = state.sessions.session()?;
    s.outbox().retry(id, s.now())?;
    Ok(s.outbox().list()?)
}

#[tauri::command]
pub fn dismiss_outbox_item(state: State<'_, AppState>, id: i64) -> CmdResult<Vec<OutboxItem>> {
    let s = state.sessions.session()?;
    s.outbox().dismiss(id)?;
    Ok(s.outbox().list()?)
}
