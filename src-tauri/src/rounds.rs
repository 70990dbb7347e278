//! What the background work keeps while the app runs, beside the state
//! that holds it: the alert store, the rounds run (their count, time and
//! each profile's last sync failure), how a notification is shown and what
//! runs after a round. The loop that runs the rounds is `background`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

use chrono::{DateTime, Utc};
use licensedesk_client::{Alert, AlertStore, NotificationRecord};
use serde::Serialize;
use ts_rs::TS;

use crate::error::{CmdError, CmdResult};

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

    /// Holds the one round that runs at a time.
    pub async fn one_round(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.running.lock().await
    }

    /// Resolves when a round is asked for ([`Self::wake`]).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Each profile's failure of the last round (by profile id).
    pub fn set_sync_errors(&self, errors: HashMap<String, CmdError>) {
        lock(&self.rounds).sync_errors = errors;
    }

    /// A round's evaluation ended at `now`: each alert raised shown, the
    /// round counted, the hook told of the raised alerts.
    pub fn evaluated(&self, notices: &[NotificationRecord], now: DateTime<Utc>) {
        if let Some(show) = self.notifier.get() {
            for n in notices {
                show(n);
            }
        }
        {
            let mut r = lock(&self.rounds);
            r.count += 1;
            r.last_at = Some(now);
        }
        if let (Some(hook), Ok(alerts)) = (self.on_round.get(), self.alerts.list()) {
            let raised: Vec<Alert> = alerts.into_iter().filter(|a| a.raised).collect();
            hook(&raised);
        }
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
