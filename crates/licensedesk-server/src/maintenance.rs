//! Background upkeep: renewals at expiry, lapsed floating leases, log
//! retention, expired field allotments, month close, and old idempotency
//! records. Each job is a plain function of `(connection, account, now)`
//! so tests can run it at a test-clock instant through the admin
//! maintenance endpoint instead of waiting.
//!
//! **Tenants are isolated.** A job runs account by account, each account
//! in its own write transaction: a failure in one account (a row it cannot
//! read, say) rolls back that account's work alone, is logged, counted and
//! reported in [`Report::failures`], and every other account's work still
//! happens in the same pass.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::{devices, field, floating, statements, usage};
use crate::error::Result;

/// What one maintenance pass did.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
pub struct Report {
    pub renewed: u64,
    pub taken_offline: u64,
    pub leases_culled: u64,
    pub logs_purged: u64,
    pub idempotency_forgotten: u64,
    #[serde(default)]
    pub allotments_expired: u64,
    /// Product months closed (statements written).
    #[serde(default)]
    pub months_closed: u64,
    /// The accounts whose work failed in this pass; the others' went on.
    #[serde(default)]
    pub failures: Vec<Failure>,
}

/// One account's job that failed (and was rolled back) in a pass.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Failure {
    /// The account; absent when the job could not even list its accounts.
    pub account_id: Option<i64>,
    /// `renewals`, `leases`, `logs`, `allotments` or `month_close`.
    pub job: String,
    pub code: String,
    pub message: String,
}

type Due = fn(&Connection, DateTime<Utc>) -> Result<Vec<i64>>;
type Run = fn(&Connection, i64, DateTime<Utc>) -> Result<(u64, u64)>;

/// One per-account job: which accounts have work due, the work for one
/// account, and where its counts go in the report.
struct Job {
    name: &'static str,
    due: Due,
    run: Run,
    count: fn(&mut Report, (u64, u64)),
}

const JOBS: &[Job] = &[
    Job {
        name: "renewals",
        due: devices::accounts_due_renewal,
        run: devices::renew_account,
        count: |r, (renewed, offline)| {
            r.renewed += renewed;
            r.taken_offline += offline;
        },
    },
    Job {
        name: "leases",
        due: floating::accounts_with_lapsed_leases,
        run: |tx, a, now| Ok((floating::cull_account(tx, a, now)?, 0)),
        count: |r, (n, _)| r.leases_culled += n,
    },
    Job {
        name: "logs",
        due: usage::accounts_with_packages,
        run: |tx, a, now| Ok((usage::purge_account_logs(tx, a, now)?, 0)),
        count: |r, (n, _)| r.logs_purged += n,
    },
    Job {
        name: "allotments",
        due: field::accounts_with_expired_allotments,
        run: |tx, a, now| Ok((field::expire_account_allotments(tx, a, now)?, 0)),
        count: |r, (n, _)| r.allotments_expired += n,
    },
    Job {
        name: "month_close",
        due: statements::accounts_due_close,
        run: |tx, a, now| Ok((statements::close_account(tx, a, now)?, 0)),
        count: |r, (n, _)| r.months_closed += n,
    },
];

/// Runs every job once at the state's current time.
pub async fn run_once(state: &AppState) -> Result<Report> {
    let now = state.now();
    let mut report = Report::default();
    for job in JOBS {
        let due = job.due;
        let accounts = match state.db.read(move |c| due(c, now)).await {
            Ok(a) => a,
            Err(e) => {
                fail(&mut report, job.name, None, &e);
                continue;
            }
        };
        for account in accounts {
            let run = job.run;
            match state.db.write(move |tx| run(tx, account, now)).await {
                Ok(counts) => (job.count)(&mut report, counts),
                Err(e) => fail(&mut report, job.name, Some(account), &e),
            }
        }
    }
    let cutoff = crate::db::ts(now - chrono::Duration::hours(crate::idempotency::RETENTION_HOURS));
    report.idempotency_forgotten = state
        .db
        .write(move |tx| {
            Ok(tx.execute("DELETE FROM idempotency WHERE created_at < ?1", [&cutoff])? as u64)
        })
        .await?;
    Ok(report)
}

fn fail(report: &mut Report, job: &str, account_id: Option<i64>, e: &crate::error::ApiError) {
    tracing::warn!(job, account_id, error = %e, "maintenance job failed for this account; the others went on");
    report.failures.push(Failure {
        account_id,
        job: job.to_owned(),
        code: e.code().to_owned(),
        message: e.to_string(),
    });
}

/// Runs [`run_once`] every 30 seconds in the background.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            match run_once(&state).await {
                Ok(r) if !r.failures.is_empty() => {
                    tracing::warn!(failures = r.failures.len(), "maintenance pass had failures");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "maintenance pass failed"),
            }
        }
    });
}
