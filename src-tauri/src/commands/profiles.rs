//! Profiles (server URL, token, account) and settings.

use licensedesk_client::{ApiToken, KeySetView, NewProfile, Profile, trust};
use licensedesk_core::trust::MAX_SIGNED_KEYSET_LEN;
use licensedesk_gateways::files::read_os_file;
use tauri::{Runtime, State, Window};

use crate::error::CmdResult;
use crate::session::ProfileList;
use crate::settings::{self, Settings};
use crate::state::AppState;
use crate::words::Dialog;

#[tauri::command]
pub fn list_profiles(state: State<'_, AppState>) -> CmdResult<ProfileList> {
    state.sessions.list()
}

#[tauri::command]
pub fn switch_profile(state: State<'_, AppState>, id: String) -> CmdResult<ProfileList> {
    state.sessions.switch(&id)
}

/// Adds a profile; the token goes to the token store and is never read
/// back. `trustedKeys` is the key set the user checked (a `KeySetView`'s
/// `json`, from `fetch_server_keys` or `import_keyset_dialog`): it is
/// pinned, so licenses verify at once, offline too. Without it the
/// profile's first sync pins what its server serves.
#[tauri::command]
pub fn add_profile(
    state: State<'_, AppState>,
    profile: NewProfile,
    token: String,
    trusted_keys: Option<String>,
) -> CmdResult<Profile> {
    let client = &state.sessions.client;
    let token = ApiToken::new(token);
    Ok(match trusted_keys {
        Some(json) => client.add_profile_trusting(profile, &token, &trust::confirmed(&json)?)?,
        None => client.add_profile(profile, &token)?,
    })
}

/// The key set `serverUrl` serves (`GET /v1/keys`), with fingerprints, for
/// the user to check before the profile trusts it.
#[tauri::command]
pub async fn fetch_server_keys(server_url: String) -> CmdResult<KeySetView> {
    Ok(trust::fetch_keyset(&server_url).await?)
}

/// A key set file (the server operator's `keys/keyset.json`) picked in a
/// dialog, with fingerprints, for a machine that has never been online;
/// `null` when cancelled.
#[tauri::command]
pub async fn import_keyset_dialog<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
) -> CmdResult<Option<KeySetView>> {
    let Some(path) = state
        .dialogs
        .pick(&window, state.language(), Dialog::ImportKeySet, &["json"])
        .await
    else {
        return Ok(None);
    };
    let bytes = read_os_file(&path, MAX_SIGNED_KEYSET_LEN as u64)?;
    Ok(Some(trust::parse_keyset_file(&bytes)?))
}

/// What the active profile trusts (`null`: no profile, or nothing pinned
/// yet).
#[tauri::command]
pub fn trusted_keys(state: State<'_, AppState>) -> CmdResult<Option<KeySetView>> {
    let Some(p) = state.sessions.client.profiles().active()? else {
        return Ok(None);
    };
    Ok(state
        .sessions
        .client
        .trust(&p.id)
        .load()?
        .map(|k| KeySetView::of(&k)))
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
