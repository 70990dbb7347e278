//! Alerts (issue 16): the conditions core's `alert` rules find in each
//! profile's cache, and their state between runs.
//!
//! [`observe_profile`] reads a profile's cache and applies core's rules;
//! [`AlertStore`] (`DATA_DIR/alerts.sqlite3`, numbered migrations in
//! `migrations/alerts/`) keeps which alerts are raised. [`AlertStore::apply`]
//! steps every alert of one scope (a profile, or the gateway registry) in
//! one transaction, and records there the notification of each alert raised
//! now: an alert is announced once, when it is raised, and again only after
//! it has cleared; a restart neither repeats nor forgets one.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use licensedesk_core::alert::{
    self, AlertAction, AlertKey, AlertKind, Level, Observed, Thresholds, Transition,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::cache::{Cache, migrate_with, open_connection, parse_opt, ts};
use crate::error::{Error, Result};
use crate::views::overview::{active_expiries, counters_by_product};

const MIGRATIONS: &[(&str, &str)] = &[(
    "0001_init",
    include_str!("../migrations/alerts/0001_init.sql"),
)];

/// The rate a pool's run-out date is extrapolated from: its consumption
/// over this many past days (as the burn-down chart's).
pub const RATE_DAYS: u32 = 90;

/// An alert as the Alerts view lists it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Alert {
    /// A profile's id, or `gateways`.
    pub scope: String,
    #[ts(as = "AlertKindTs")]
    pub kind: AlertKind,
    /// A product key or gateway id; empty for the profile itself.
    pub subject: String,
    /// Raised now; `false` once it cleared (kept as history).
    pub raised: bool,
    pub raised_at: String,
    pub cleared_at: Option<String>,
    /// The figures it is worded from (product, remaining, days…).
    #[ts(type = "Record<string, string | number | boolean | null>")]
    pub params: Map<String, Value>,
    /// What the user can do about it.
    #[ts(as = "AlertActionTs")]
    pub action: AlertAction,
    /// 0 = most urgent (core's `AlertKind::urgency`).
    pub urgency: u8,
    pub times_raised: u32,
}

impl Alert {
    pub fn key(&self) -> AlertKey {
        AlertKey {
            scope: self.scope.clone(),
            kind: self.kind,
            subject: self.subject.clone(),
        }
    }
}

/// A notification the app asked the OS to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct NotificationRecord {
    #[ts(type = "number")]
    pub id: i64,
    pub scope: String,
    #[ts(as = "AlertKindTs")]
    pub kind: AlertKind,
    pub subject: String,
    pub title: String,
    pub body: String,
    /// The language it was worded in (`en`, `zh-CN`).
    pub language: String,
    pub asked_at: String,
}

/// How a raised alert is announced: title, body and their language; `None`
/// when notifications are off (the alert is raised all the same).
pub type Wording<'a> = dyn Fn(&Alert) -> Option<(String, String, String)> + 'a;

/// The alert state of an app data directory.
pub struct AlertStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for AlertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertStore")
            .field("path", &self.path)
            .finish()
    }
}

fn kind_of(s: &str) -> rusqlite::Result<AlertKind> {
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn alert_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Alert, String)> {
    let kind = kind_of(&r.get::<_, String>(1)?)?;
    let params: String = r.get(6)?;
    Ok((
        Alert {
            scope: r.get(0)?,
            kind,
            subject: r.get(2)?,
            raised: r.get(3)?,
            raised_at: r.get(4)?,
            cleared_at: r.get(5)?,
            params: Map::new(),
            action: kind.action(),
            urgency: kind.urgency(),
            times_raised: r.get(7)?,
        },
        params,
    ))
}

fn with_params((mut a, params): (Alert, String)) -> Result<Alert> {
    a.params = serde_json::from_str(&params)?;
    Ok(a)
}

const ALERT_COLUMNS: &str =
    "scope, kind, subject, raised, raised_at, cleared_at, params, times_raised";

impl AlertStore {
    /// Opens (creating and migrating) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut conn = open_connection(path)?;
        migrate_with(&mut conn, MIGRATIONS)?;
        Ok(Self {
            path: path.to_owned(),
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One evaluation of `scope`: each observed condition steps from its
    /// stored state (core's `step`); a raised alert of the scope that was
    /// not observed (its product or gateway is gone) clears. The
    /// notification of each alert raised now is recorded in the same
    /// transaction (worded by `word`) and returned, for the caller to show.
    pub fn apply(
        &self,
        scope: &str,
        observed: &[Observed],
        now: DateTime<Utc>,
        word: &Wording<'_>,
    ) -> Result<Vec<NotificationRecord>> {
        let now_s = ts(now);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut raised_before: Vec<(String, String)> = tx
            .prepare_cached("SELECT kind, subject FROM alerts WHERE scope = ?1 AND raised = 1")?
            .query_map([scope], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut notices = Vec::new();
        for o in observed.iter().filter(|o| o.key.scope == scope) {
            let kind = o.key.kind.as_str();
            let was = raised_before
                .iter()
                .position(|(k, s)| k == kind && *s == o.key.subject);
            let was_raised = was.is_some();
            if let Some(i) = was {
                raised_before.swap_remove(i);
            }
            let params = serde_json::to_string(&o.params)?;
            match alert::step(was_raised, o.level) {
                Transition::Raised => {
                    tx.prepare_cached(
                        "INSERT INTO alerts (scope, kind, subject, raised, raised_at, cleared_at, seen_at, params, times_raised)
                         VALUES (?1, ?2, ?3, 1, ?4, NULL, ?4, ?5, 1)
                         ON CONFLICT (scope, kind, subject) DO UPDATE SET raised = 1, raised_at = ?4,
                           cleared_at = NULL, seen_at = ?4, params = ?5, times_raised = times_raised + 1",
                    )?
                    .execute(params![scope, kind, o.key.subject, now_s, params])?;
                    let a = tx
                        .prepare_cached(&format!(
                            "SELECT {ALERT_COLUMNS} FROM alerts WHERE scope = ?1 AND kind = ?2 AND subject = ?3"
                        ))?
                        .query_row(params![scope, kind, o.key.subject], alert_from_row)?;
                    let a = with_params(a)?;
                    if let Some((title, body, language)) = word(&a) {
                        let id: i64 = tx
                            .prepare_cached(
                                "INSERT INTO notifications (scope, kind, subject, title, body, language, asked_at)
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                            )?
                            .query_row(
                                params![scope, kind, o.key.subject, title, body, language, now_s],
                                |r| r.get(0),
                            )?;
                        notices.push(NotificationRecord {
                            id,
                            scope: scope.to_owned(),
                            kind: o.key.kind,
                            subject: o.key.subject.clone(),
                            title,
                            body,
                            language,
                            asked_at: now_s.clone(),
                        });
                    }
                }
                Transition::Still => {
                    tx.prepare_cached(
                        "UPDATE alerts SET seen_at = ?4, params = ?5 WHERE scope = ?1 AND kind = ?2 AND subject = ?3",
                    )?
                    .execute(params![scope, kind, o.key.subject, now_s, params])?;
                }
                Transition::Cleared => clear(&tx, scope, kind, &o.key.subject, &now_s)?,
                Transition::Quiet => {}
            }
        }
        // Raised, and no longer observed at all: what it was about is gone.
        for (kind, subject) in raised_before {
            clear(&tx, scope, &kind, &subject, &now_s)?;
        }
        tx.commit()?;
        Ok(notices)
    }

    /// Every alert: raised ones first, most urgent first, then the cleared
    /// ones (history), latest first.
    pub fn list(&self) -> Result<Vec<Alert>> {
        let conn = self.conn();
        let rows = conn
            .prepare_cached(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts ORDER BY raised DESC, COALESCE(cleared_at, raised_at) DESC LIMIT 500"
            ))?
            .query_map([], alert_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut alerts = rows
            .into_iter()
            .map(with_params)
            .collect::<Result<Vec<_>>>()?;
        // Stable: within raised and cleared, latest first is kept.
        alerts.sort_by_key(|a| (!a.raised, if a.raised { a.urgency } else { 0 }));
        Ok(alerts)
    }

    /// The notifications asked of the OS, oldest first.
    pub fn notifications(&self) -> Result<Vec<NotificationRecord>> {
        let conn = self.conn();
        let rows = conn
            .prepare_cached(
                "SELECT id, scope, kind, subject, title, body, language, asked_at FROM notifications ORDER BY id",
            )?
            .query_map([], |r| {
                Ok(NotificationRecord {
                    id: r.get(0)?,
                    scope: r.get(1)?,
                    kind: kind_of(&r.get::<_, String>(2)?)?,
                    subject: r.get(3)?,
                    title: r.get(4)?,
                    body: r.get(5)?,
                    language: r.get(6)?,
                    asked_at: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Forgets the alerts and notifications of every scope but `keep` (the
    /// profiles that exist, and the gateways').
    pub fn retain_scopes(&self, keep: &[&str]) -> Result<()> {
        let scopes: Vec<String> = self
            .conn()
            .prepare_cached(
                "SELECT DISTINCT scope FROM alerts UNION SELECT DISTINCT scope FROM notifications",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for scope in scopes.iter().filter(|s| !keep.contains(&s.as_str())) {
            self.forget_scope(scope)?;
        }
        Ok(())
    }

    /// Forgets a scope's alerts and notifications (a profile was removed).
    pub fn forget_scope(&self, scope: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM alerts WHERE scope = ?1", [scope])?;
        tx.execute("DELETE FROM notifications WHERE scope = ?1", [scope])?;
        tx.commit()?;
        Ok(())
    }
}

fn clear(tx: &Connection, scope: &str, kind: &str, subject: &str, now: &str) -> Result<()> {
    tx.prepare_cached(
        "UPDATE alerts SET raised = 0, cleared_at = ?4, seen_at = ?4 WHERE scope = ?1 AND kind = ?2 AND subject = ?3",
    )?
    .execute(params![scope, kind, subject, now])?;
    Ok(())
}

fn observed(scope: &str, kind: AlertKind, subject: &str, level: Level, params: Value) -> Observed {
    Observed {
        key: AlertKey {
            scope: scope.to_owned(),
            kind,
            subject: subject.to_owned(),
        },
        level,
        params: match params {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    }
}

/// The conditions of one profile, from its cache at `now` (core's rules
/// with the user's thresholds `t`): its last sync (while the app has run
/// since `app_started_at`), and per product its Remaining against the
/// watermark, its run-out date at the recent rate and the devices going
/// offline at a renewal in the window. A cache that never synced has only
/// its last sync to watch.
pub fn observe_profile(
    cache: &Cache,
    profile_id: &str,
    profile_name: &str,
    t: &Thresholds,
    app_started_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<Observed>> {
    cache.read(|c| {
        let last =
            parse_opt(crate::cache::get_meta(c, crate::cache::keys::LAST_SYNCED)?.as_deref())?;
        let mut out = vec![observed(
            profile_id,
            AlertKind::NotSynced,
            "",
            alert::not_synced(last, app_started_at, now, t),
            json!({
                "profile": profile_name,
                "last_synced_at": last.map(ts),
                "minutes": t.not_synced_minutes,
            }),
        )];
        let synced: Option<String> = c
            .query_row("SELECT name FROM account LIMIT 1", [], |r| r.get(0))
            .optional()?;
        let Some(account) = synced else {
            return Ok(out);
        };
        let unassigned = crate::views::overview::counters(c)?.1;
        let since = ts(now - Duration::days(i64::from(RATE_DAYS)));
        let mut recent = c.prepare_cached(
            "SELECT COUNT(*) FROM codes WHERE product_id = ?1 AND consumed_at >= ?2",
        )?;
        for p in counters_by_product(c)? {
            let base = |extra: Value| {
                let mut m = json!({
                    "profile": profile_name,
                    "account": account,
                    "product": p.name,
                    "pk": p.pk,
                    "total": p.counters.total(),
                    "remaining": p.counters.remaining(),
                    "unassigned": unassigned,
                });
                if let (Value::Object(m), Value::Object(e)) = (&mut m, extra) {
                    m.extend(e);
                }
                m
            };
            let (total, remaining) = (p.counters.total(), p.counters.remaining());
            let percent = alert::percent_of(remaining, total);
            out.push(observed(
                profile_id,
                AlertKind::LowRemaining,
                &p.pk,
                alert::low_remaining(total, remaining, t),
                base(json!({
                    "percent": percent,
                    "watermark": t.low_remaining_percent,
                })),
            ));
            let consumed: i64 = recent.query_row(params![p.id, since], |r| r.get(0))?;
            let consumed = consumed as u64;
            let runs_out = alert::runs_out_at(remaining, consumed, RATE_DAYS, now);
            out.push(observed(
                profile_id,
                AlertKind::RunsOutSoon,
                &p.pk,
                alert::runs_out_soon(remaining, consumed, RATE_DAYS, now, t),
                base(json!({
                    "runs_out_at": runs_out.map(ts),
                    "days": runs_out.map(|at| (at - now).num_days()),
                    "consumed_recently": consumed,
                    "rate_days": RATE_DAYS,
                })),
            ));
            let expiring = active_expiries(c, &p.pk, now)?;
            let (level, devices) = alert::offline_at_renewal(&expiring, remaining, now, t);
            out.push(observed(
                profile_id,
                AlertKind::OfflineAtRenewal,
                &p.pk,
                level,
                base(json!({ "devices": devices, "days": t.renewal_days })),
            ));
        }
        Ok(out)
    })
}

/// An error of an alert rule's settings, as a client error.
impl From<alert::AlertError> for Error {
    fn from(e: alert::AlertError) -> Self {
        Self::Invalid(e.to_string())
    }
}

/// The TypeScript face of core's [`AlertKind`] (core knows no ts-rs): the
/// union of its names. No value of it exists.
pub enum AlertKindTs {}
/// The TypeScript face of core's [`AlertAction`].
pub enum AlertActionTs {}

macro_rules! ts_union {
    ($ty:ident, $name:literal, $doc:literal, $values:expr) => {
        impl ts_rs::TS for $ty {
            type WithoutGenerics = Self;
            type OptionInnerType = Self;
            const IS_ENUM: bool = true;

            fn docs() -> Option<String> {
                Some(concat!("/**\n * ", $doc, "\n */\n").into())
            }
            fn ident(_: &ts_rs::Config) -> String {
                $name.into()
            }
            fn name(_: &ts_rs::Config) -> String {
                $name.into()
            }
            fn inline(_: &ts_rs::Config) -> String {
                $values
                    .iter()
                    .map(|v| format!("\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(" | ")
            }
            fn decl(cfg: &ts_rs::Config) -> String {
                format!("type {} = {};", $name, Self::inline(cfg))
            }
            fn decl_concrete(cfg: &ts_rs::Config) -> String {
                Self::decl(cfg)
            }
            fn output_path() -> Option<std::path::PathBuf> {
                Some(concat!($name, ".ts").into())
            }
        }
    };
}

ts_union!(
    AlertKindTs,
    "AlertKind",
    "What an alert is about (core's `AlertKind`), most urgent first.",
    AlertKind::ALL.map(AlertKind::as_str)
);
ts_union!(
    AlertActionTs,
    "AlertAction",
    "What an alert asks its user to do (core's `AlertAction`).",
    AlertAction::ALL.map(AlertAction::as_str)
);
