//! Background work: renewals at expiry, lapsed floating leases, log
//! retention, expired field allotments, month close, and old idempotency
//! records, each a store verb run at the state's clock (tests run a pass at
//! a test-clock instant through the admin maintenance endpoint instead of
//! waiting).
//!
//! **Tenants are isolated.** A job runs account by account, each account
//! in its own write transaction: a failure in one account (a row it cannot
//! read, say) rolls back that account's work alone, is logged, counted and
//! reported in [`Report::failures`], and every other account's work still
//! happens in the same pass.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::Result;
use crate::store::Ctx;

/// What one maintenance pass did.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
pub struct Report {
    pub renewed: u64,
    pub taken_offline: u64,
    pub leases_culled: u64,
    pub logs_purged: u64,
    pub idempotency_forgotten: u64,
    /// Failed code attempts that left the rate limit's window.
    #[serde(default)]
    pub failed_attempts_forgotten: u64,
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

/// A per-account job.
#[derive(Debug, Clone, Copy)]
enum Job {
    Renewals,
    Leases,
    Logs,
    Allotments,
    MonthClose,
}

const JOBS: [Job; 5] = [
    Job::Renewals,
    Job::Leases,
    Job::Logs,
    Job::Allotments,
    Job::MonthClose,
];

impl Job {
    fn name(self) -> &'static str {
        match self {
            Self::Renewals => "renewals",
            Self::Leases => "leases",
            Self::Logs => "logs",
            Self::Allotments => "allotments",
            Self::MonthClose => "month_close",
        }
    }

    /// The accounts with work of this job due at `now`.
    async fn due(self, state: &AppState, now: DateTime<Utc>) -> Result<Vec<i64>> {
        let store = &state.store;
        match self {
            Self::Renewals => store.accounts_due_renewal(now).await,
            Self::Leases => store.accounts_with_lapsed_leases(now).await,
            Self::Logs => store.accounts_with_packages().await,
            Self::Allotments => store.accounts_with_expired_allotments(now).await,
            Self::MonthClose => store.accounts_due_close(now).await,
        }
    }

    /// Does one account's work, in one transaction of its own.
    async fn run(self, state: &AppState, ctx: &Ctx, account: i64) -> Result<(u64, u64)> {
        let store = &state.store;
        match self {
            Self::Renewals => store.renew_account(ctx, account).await,
            Self::Leases => Ok((store.cull_leases(ctx, account).await?, 0)),
            Self::Logs => Ok((store.purge_logs(ctx, account).await?, 0)),
            Self::Allotments => Ok((store.expire_allotments(ctx, account).await?, 0)),
            Self::MonthClose => Ok((store.close_months(ctx, account).await?, 0)),
        }
    }

    fn count(self, r: &mut Report, (n, m): (u64, u64)) {
        match self {
            Self::Renewals => {
                r.renewed += n;
                r.taken_offline += m;
            }
            Self::Leases => r.leases_culled += n,
            Self::Logs => r.logs_purged += n,
            Self::Allotments => r.allotments_expired += n,
            Self::MonthClose => r.months_closed += n,
        }
    }
}

/// Runs every job once at the state's current time.
pub async fn run_once(state: &AppState) -> Result<Report> {
    let now = state.now();
    let ctx = Ctx::at(now);
    let mut report = Report::default();
    for job in JOBS {
        let accounts = match job.due(state, now).await {
            Ok(a) => a,
            Err(e) => {
                fail(&mut report, job.name(), None, &e);
                continue;
            }
        };
        for account in accounts {
            match job.run(state, &ctx, account).await {
                Ok(counts) => job.count(&mut report, counts),
                Err(e) => fail(&mut report, job.name(), Some(account), &e),
            }
        }
    }
    report.idempotency_forgotten = state
        .store
        .forget_idempotent(now - chrono::Duration::hours(crate::idempotency::RETENTION_HOURS))
        .await?;
    report.failed_attempts_forgotten = state
        .store
        .forget_failures(now, state.limiter.window())
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
