//! Alerts, the background sync of every profile, and the All accounts view.

use licensedesk_client::AllAccounts;
use tauri::{AppHandle, Runtime, State};

use crate::background;
use crate::error::CmdResult;
use crate::rounds::AlertsView;
use crate::state::AppState;

/// The alerts (raised, then cleared), the notifications asked of the OS,
/// and when they were last checked.
#[tauri::command]
pub fn list_alerts(state: State<'_, AppState>) -> CmdResult<AlertsView> {
    state.background.view()
}

/// Syncs every profile now and evaluates the alerts (what the background
/// does on its interval); waits for the round to end.
#[tauri::command]
pub async fn sync_all<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<AlertsView> {
    background::round(&app, &state).await;
    state.background.view()
}

/// Every profile's overview, cards and data age from its cache (offline
/// too), with its last background sync's failure.
#[tauri::command]
pub fn all_accounts(state: State<'_, AppState>) -> CmdResult<AllAccounts> {
    let mut all = state.sessions.client.all_accounts()?;
    for a in &mut all.accounts {
        a.sync_error =
            state
                .background
                .sync_error(&a.profile.id)
                .map(|e| licensedesk_client::ErrorBody {
                    code: e.code,
                    message: e.message,
                    params: e.params,
                });
    }
    Ok(all)
}
