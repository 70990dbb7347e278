//! The app's background work while it runs: every profile is synced on the
//! settings' interval (the active one through the status bar's sync, the
//! others quietly), then the alerts are evaluated from every profile's cache
//! and from the gateway registry (licensedesk-client's `AlertStore`, core's
//! rules), and each alert raised now is announced once by the OS.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use licensedesk_client::alerts::observe_profile;
use licensedesk_client::{Alert, AlertStore, CancelToken, NotificationRecord};
use licensedesk_core::alert::GATEWAYS_SCOPE;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use ts_rs::TS;

use crate::error::{CmdError, CmdResult};
use crate::settings;
use crate::state::AppState;

/// Event (no payload) when a round has ended: the alerts and every
/// profile's data may have changed.
pub const ROUND_EVENT: &str = "background://round";

/// Shows a recorded notification (the OS's, through the notification
/// plugin, in the app; nothing in tests, which read the record).
pub type Notifier = Box<dyn Fn(&NotificationRecord) + Send + Sync>;
/// Called after each round with the raised alerts, most urgent first (the
/// tray shows the first).
pub type RoundHook = Box<dyn Fn(&[Alert]) + Send + Sync>;

#[derive(Default)]
struct Rounds {
    count: u64,
    last_at: Option<DateTime<Utc>>,
    /// Each profile's last background sync failure (by profile id).
    sync_errors: HashMap<String, CmdError>,
}

pub struct Background {
    /// When the app started: a profile not synced "while the app runs" is
    /// counted from here at the earliest.
    pub started_at: DateTime<Utc>,
    pub alerts: AlertStore,
    rounds: Mutex<Rounds>,
    /// One round at a time (the loop's and `sync_all`'s).
    running: tokio::sync::Mutex<()>,
    wake: tokio::sync::Notify,
    notifier: OnceLock<Notifier>,
    on_round: OnceLock<RoundHook>,
}

/// The Alerts view.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AlertsView {
    /// Raised first, most urgent first; then the cleared ones (history).
    pub alerts: Vec<Alert>,
    /// Every notification asked of the OS, newest first.
    pub notifications: Vec<NotificationRecord>,
    /// Rounds (sync every profile, evaluate) since the app started.
    #[ts(type = "number")]
    pub rounds: u64,
    pub last_checked_at: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Background {
    pub fn new(alerts: AlertStore, started_at: DateTime<Utc>) -> Self {
        Self {
            started_at,
            alerts,
            rounds: Mutex::default(),
            running: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
            notifier: OnceLock::new(),
            on_round: OnceLock::new(),
        }
    }

    /// Sets how notifications are shown (once).
    pub fn set_notifier(&self, n: Notifier) {
        let _ = self.notifier.set(n);
    }

    /// Sets what runs after each round (once).
    pub fn set_on_round(&self, f: RoundHook) {
        let _ = self.on_round.set(f);
    }

    /// Starts a round now (the loop's next one comes early).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn sync_error(&self, profile_id: &str) -> Option<CmdError> {
        lock(&self.rounds).sync_errors.get(profile_id).cloned()
    }

    pub fn view(&self) -> CmdResult<AlertsView> {
        let mut notifications = self.alerts.notifications()?;
        notifications.reverse();
        let r = lock(&self.rounds);
        Ok(AlertsView {
            alerts: self.alerts.list()?,
            notifications,
            rounds: r.count,
            last_checked_at: r.last_at.map(licensedesk_client::cache::ts),
        })
    }
}

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
                () = state.background.wake.notified() => {}
            }
        }
    });
}

/// One round: sync every profile, then evaluate the alerts. A failure of
/// one profile is kept for the All accounts view and does not stop the
/// others.
pub async fn round<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    let bg = &state.background;
    let _one = bg.running.lock().await;
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
    lock(&bg.rounds).sync_errors = errors;
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
    if let Some(show) = bg.notifier.get() {
        for n in &notices {
            show(n);
        }
    }
    {
        let mut r = lock(&bg.rounds);
        r.count += 1;
        r.last_at = Some(now);
    }
    if let (Some(hook), Ok(alerts)) = (bg.on_round.get(), bg.alerts.list()) {
        let raised: Vec<Alert> = alerts.into_iter().filter(|a| a.raised).collect();
        hook(&raised);
    }
}
