//! The app's background work while it runs: every profile is synced on the
//! settings' interval (the active one through the status bar's sync, the
//! others quietly), then the alerts are evaluated from every profile's cache
//! and from the gateway registry (licensedesk-client's `AlertStore`, core's
//! rules), and each alert raised now is announced once by the OS.

use std::collections::HashMap;
use std::time::Duration;

use licensedesk_client::alerts::observe_profile;
use licensedesk_client::{Alert, CancelToken};
use licensedesk_core::alert::GATEWAYS_SCOPE;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::error::CmdError;
use crate::settings;
use crate::state::AppState;

/// Event (no payload) when a round has ended: the alerts and every
/// profile's data may have changed.
pub const ROUND_EVENT: &str = "background://round";

/// The interval between rounds: the settings' minutes
/// (`LICENSEDESK_SYNC_EVERY_SECS` overrides it in seconds, for the
/// end-to-end suite).
fn interval(state: &AppState) -> Duration {
    if let Some(secs) = std::env::var("LICENSEDESK_SYNC_EVERY_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
    {
        return Duration::from_secs(secs);
    }
    Duration::from_secs(u64::from(settings::load(&state.data_dir).sync_every_minutes) * 60)
}

/// Rounds at start-up, then every interval (or when woken), for as long as
/// the app runs.
pub fn spawn<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        loop {
            let state = app.state::<AppState>();
            round(&app, &state).await;
            let every = interval(&state);
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = state.background.woken() => {}
            }
        }
    });
}

/// One round: sync every profile, then evaluate the alerts. A failure of
/// one profile is kept for the All accounts view and does not stop the
/// others.
pub async fn round<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    let bg = &state.background;
    let _one = bg.one_round().await;
    let profiles = state.sessions.client.profiles();
    let list = profiles.list().unwrap_or_default();
    let active = profiles.active().ok().flatten().map(|p| p.id);
    let mut errors = HashMap::new();
    for p in &list {
        let result = if active.as_deref() == Some(p.id.as_str()) {
            crate::commands::sync::run_sync(app, state)
                .await
                .and_then(|s| s.last_error.map_or(Ok(()), Err))
        } else {
            match state.sessions.client.session(&p.id) {
                Ok(s) => s
                    .sync(&|_| {}, &CancelToken::new())
                    .await
                    .map(|_| ())
                    .map_err(CmdError::from),
                Err(e) => Err(CmdError::from(e)),
            }
        };
        if let Err(e) = result {
            errors.insert(p.id.clone(), e);
        }
    }
    bg.set_sync_errors(errors);
    evaluate(state);
    let _ = app.emit(ROUND_EVENT, ());
}

/// Evaluates every profile's and the gateways' alerts now; shows the
/// notification of each alert raised.
pub fn evaluate(state: &AppState) {
    let bg = &state.background;
    let s = settings::load(&state.data_dir);
    let t = s.alerts.thresholds();
    let now = AppState::now();
    let word = |a: &Alert| {
        s.alerts.notify.then(|| {
            let (title, body) = crate::words::notification(s.language, a);
            (title, body, s.language.as_str().to_owned())
        })
    };
    let client = &state.sessions.client;
    let list = client.profiles().list().unwrap_or_default();
    let mut notices = Vec::new();
    for p in &list {
        let observed = client
            .cache(&p.id)
            .and_then(|cache| observe_profile(&cache, &p.id, &p.name, &t, bg.started_at, now));
        match observed.and_then(|o| bg.alerts.apply(&p.id, &o, now, &word)) {
            Ok(n) => notices.extend(n),
            Err(e) => eprintln!(
                "licensedesk: alerts of profile {} not evaluated: {}",
                p.id,
                licensedesk_core::Coded::code(&e)
            ),
        }
    }
    let gateways = licensedesk_gateways::alerts::observe(&state.gateways, &t, now);
    match bg.alerts.apply(GATEWAYS_SCOPE, &gateways, now, &word) {
        Ok(n) => notices.extend(n),
        Err(e) => eprintln!(
            "licensedesk: gateway alerts not evaluated: {}",
            licensedesk_core::Coded::code(&e)
        ),
    }
    let mut keep: Vec<&str> = list.iter().map(|p| p.id.as_str()).collect();
    keep.push(GATEWAYS_SCOPE);
    let _ = bg.alerts.retain_scopes(&keep);
    bg.evaluated(&notices, now);
}
