//! Background upkeep: renewals at expiry, lapsed floating leases, log
//! retention, old idempotency records, expired field allotments. Each job is a plain function of
//! `(state, now)` so tests can run it at a test-clock instant through the
//! admin maintenance endpoint instead of waiting.

use std::time::Duration;

use crate::AppState;
use crate::error::Result;

/// What one maintenance pass did.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub renewed: u64,
    pub taken_offline: u64,
    pub leases_culled: u64,
    pub logs_purged: u64,
    pub idempotency_forgotten: u64,
    #[serde(default)]
    pub allotments_expired: u64,
}

/// Runs every job once at the state's current time.
pub async fn run_once(state: &AppState) -> Result<Report> {
    let now = state.now();
    let mut report = Report::default();
    let (renewed, offline) = crate::api::devices::renew_expired(state, now).await?;
    report.renewed = renewed;
    report.taken_offline = offline;
    report.leases_culled = crate::api::floating::cull_lapsed(state, now).await?;
    report.logs_purged = crate::api::usage::purge_logs(state, now).await?;
    report.allotments_expired = crate::api::field::expire_allotments(state, now).await?;
    let cutoff = crate::db::ts(now - chrono::Duration::hours(crate::idempotency::RETENTION_HOURS));
    report.idempotency_forgotten = state
        .db
        .write(move |tx| {
            Ok(tx.execute("DELETE FROM idempotency WHERE created_at < ?1", [&cutoff])? as u64)
        })
        .await?;
    Ok(report)
}

/// Runs [`run_once`] every 30 seconds in the background.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            if let Err(e) = run_once(&state).await {
                tracing::warn!(error = %e, "maintenance pass failed");
            }
        }
    });
}
