//! Profiles (server URL, token, account) and settings.

use licensedesk_client::{ApiToken, NewProfile, Profile};
use tauri::State;

use crate::error::CmdResult;
use crate::session::ProfileList;
use crate::settings::{self, Settings};
use crate::state::AppState;

#[tauri::command]
pub fn list_profiles(state: State<'_, AppState>) -> CmdResult<ProfileList> {
    state.sessions.list()
}

#[tauri::command]
pub fn switch_profile(state: State<'_, AppState>, id: String) -> CmdResult<ProfileList> {
    state.sessions.switch(&id)
}

/// Adds a profile; the token goes to the token store and is never read back.
#[tauri::command]
pub fn add_profile(
    state: State<'_, AppState>,
    profile: NewProfile,
    token: String,
) -> CmdResult<Profile> {
    Ok(state
        .sessions
        .client
        .add_profile(profile, &ApiToken::new(token))?)
}

#[tauri::command]
pub fn remove_profile(state: State<'_, AppState>, id: String) -> CmdResult<ProfileList> {
    let list = state.sessions.remove(&id)?;
    state.background.alerts.forget_scope(&id)?;
    Ok(list)
}

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    settings::load(&state.data_dir)
}

/// Saves the settings (refused, changing nothing, when a value is out of
/// range); the background's next round comes at once, with the new
/// interval and thresholds.
#[tauri::command]
pub fn save_settings(state: State<'_, AppState>, settings: Settings) -> CmdResult<Settings> {
    let before = settings::load(&state.data_dir);
    let saved = settings::save(&state.data_dir, &settings)?;
    if (before.sync_every_minutes, before.alerts, before.language)
        != (saved.sync_every_minutes, saved.alerts, saved.language)
    {
        state.background.wake();
    }
    Ok(saved)
}
