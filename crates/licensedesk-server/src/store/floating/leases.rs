//! Leases: a gateway of a pool (its token) claims points, keeps them with
//! heartbeats carrying its usage, and releases them (or the account does);
//! each claim and heartbeat is answered with a floating license signed
//! until the lease lapses, and lapsed leases are culled.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use licensedesk_core::gateway::{InUse, LicenseKind, Limits, Resource, check_add};
use licensedesk_core::lease;
use licensedesk_core::license::{LicensePayload, sign_license};
use licensedesk_protocol::api::floating::{LeaseResponse, LeaseUsage, PoolView};
use licensedesk_protocol::feed::{LeaseChange, LeaseEnd, LeaseEndReason};

use super::{PoolRow, TokenPool, pool, pool_for, view};
use crate::db::Conn;
use crate::error::{ApiError, Result};
use crate::signing::Signer;
use crate::store::changes::{self, Record};
use crate::store::{Ctx, Store, read, write};
use crate::time::stored;

/// A lease asked for by a gateway: its (normalised) fingerprint, the
/// points to hold (a claim's) and the usage it reports (checked).
#[derive(Debug, Clone)]
pub struct LeaseAsk {
    pub fingerprint: String,
    pub points: u32,
    pub usage: Option<LeaseUsage>,
}

async fn store_usage(
    c: &impl Conn,
    pool_id: i64,
    fp: &str,
    u: Option<LeaseUsage>,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(u) = u {
        c.exec(
            "UPDATE floating_leases SET connections_in_use = $3, tags_in_use = $4, usage_at = $5
             WHERE pool_id = $1 AND fingerprint = $2",
            &[
                &pool_id,
                &fp,
                &i64::from(u.connections),
                &i64::from(u.tags),
                &stored(now),
            ],
        )
        .await?;
    }
    Ok(())
}

fn lease_license(
    signer: &Signer,
    p: &PoolRow,
    fp: &str,
    points: u32,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> String {
    let payload = LicensePayload {
        license_id: format!("float-{}-{}-{}", p.id, fp, now.timestamp()),
        kind: LicenseKind::Floating,
        customer: p.name.clone(),
        issued_at: now,
        expire_at: until,
        max_connections: points,
        max_tags: points,
        plugins: p.plugins.clone(),
        hardware: Some(fp.to_owned()),
        product: None,
        order: None,
    };
    sign_license(&payload, signer.key())
}

/// Records a claimed or extended lease in the change feed and answers with
/// its signed floating license.
async fn leased(
    c: &impl Conn,
    signer: &Signer,
    p: &PoolRow,
    fp: &str,
    points: u32,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<LeaseResponse> {
    changes::record(
        c,
        p.account_id,
        now,
        &Record::LeaseUpdated(LeaseChange {
            expires_at: until,
            fingerprint: fp.to_owned(),
            points,
            pool: p.name.clone(),
        }),
    )
    .await?;
    Ok(LeaseResponse {
        license: lease_license(signer, p, fp, points, now, until),
        fingerprint: fp.to_owned(),
        points,
        expires_at: until,
    })
}

/// Claims (or resizes) the lease of `ask.fingerprint` in the token's pool.
async fn claim(
    c: &impl Conn,
    signer: &Signer,
    gateway: TokenPool,
    name: &str,
    ask: &LeaseAsk,
    now: DateTime<Utc>,
) -> Result<LeaseResponse> {
    let (fp, points) = (ask.fingerprint.as_str(), ask.points);
    let p = pool_for(c, gateway.account_id, Some(gateway.pool_id), name).await?;
    let others = c
        .one(
            "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM floating_leases
             WHERE pool_id = $1 AND expires_at > $2 AND fingerprint <> $3",
            &[&p.id, &stored(now), &fp],
            |r| r.u32(0),
        )
        .await?;
    let limits = Limits {
        max_connections: p.points,
        max_tags: p.points,
    };
    let in_use = InUse {
        connections: others,
        tags: others,
    };
    check_add(&limits, &in_use, Resource::Tags, points)
        .map_err(|e| ApiError::conflict("POOL_EXHAUSTED", e.to_string()))?;
    let until = lease::claim(points, now, p.ttl).map_err(ApiError::core)?;
    c.exec(
        "INSERT INTO floating_leases (pool_id, fingerprint, points, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (pool_id, fingerprint) DO UPDATE SET points = $3, expires_at = $4",
        &[&p.id, &fp, &i64::from(points), &stored(until), &stored(now)],
    )
    .await?;
    store_usage(c, p.id, fp, ask.usage, now).await?;
    leased(c, signer, &p, fp, points, now, until).await
}

/// Extends a live lease by the pool's time-to-live; a lapsed one cannot
/// be revived (core's `lease::heartbeat`), a culled one is 404.
async fn heartbeat(
    c: &impl Conn,
    signer: &Signer,
    gateway: TokenPool,
    name: &str,
    ask: &LeaseAsk,
    now: DateTime<Utc>,
) -> Result<LeaseResponse> {
    let fp = ask.fingerprint.as_str();
    let p = pool_for(c, gateway.account_id, Some(gateway.pool_id), name).await?;
    let lease = c
        .opt(
            "SELECT points, expires_at FROM floating_leases WHERE pool_id = $1 AND fingerprint = $2",
            &[&p.id, &fp],
            |r| Ok((r.u32(0)?, r.time(1)?)),
        )
        .await?;
    let Some((points, expires_at)) = lease else {
        return Err(ApiError::NotFound("lease"));
    };
    let until = lease::heartbeat(expires_at, now, p.ttl).map_err(ApiError::core)?;
    c.exec(
        "UPDATE floating_leases SET expires_at = $3 WHERE pool_id = $1 AND fingerprint = $2",
        &[&p.id, &fp, &stored(until)],
    )
    .await?;
    store_usage(c, p.id, fp, ask.usage, now).await?;
    leased(c, signer, &p, fp, points, now, until).await
}

/// Releases the lease of `fp`; its points return to the pool.
async fn release(
    c: &impl Conn,
    account_id: i64,
    token_pool: Option<i64>,
    name: &str,
    fp: &str,
    now: DateTime<Utc>,
) -> Result<PoolView> {
    let p = pool_for(c, account_id, token_pool, name).await?;
    let n = c
        .exec(
            "DELETE FROM floating_leases WHERE pool_id = $1 AND fingerprint = $2",
            &[&p.id, &fp],
        )
        .await?;
    if n > 0 {
        changes::record(
            c,
            p.account_id,
            now,
            &Record::LeaseEnded(LeaseEnd {
                fingerprint: fp.to_owned(),
                pool: p.name.clone(),
                reason: LeaseEndReason::Released,
            }),
        )
        .await?;
    }
    view(c, &p, now).await
}

/// Writes a lease of `points` held by `fp` until `expires_at` in pool
/// `name` as it is, with no change recorded and no license signed (the
/// demo's leases, seeded with their pool).
pub async fn seed_lease(
    c: &impl Conn,
    account_id: i64,
    name: &str,
    fp: &str,
    points: u32,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    let p = pool(c, account_id, name).await?;
    c.exec(
        "INSERT INTO floating_leases (pool_id, fingerprint, points, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&p.id, &fp, &i64::from(points), &stored(expires_at), &stored(now)],
    )
    .await?;
    Ok(())
}

/// The accounts with a lapsed lease at `now` (maintenance).
async fn accounts_with_lapsed_leases(c: &impl Conn, now: DateTime<Utc>) -> Result<Vec<i64>> {
    c.query(
        "SELECT DISTINCT p.account_id FROM floating_leases l JOIN floating_pools p ON p.id = l.pool_id
         WHERE l.expires_at <= $1",
        &[&stored(now)],
        |r| r.i64(0),
    )
    .await
}

/// Deletes the lapsed leases of `account_id` (recorded as deletions in the
/// change feed); returns how many.
async fn cull_account(c: &impl Conn, account_id: i64, now: DateTime<Utc>) -> Result<u64> {
    let lapsed = c
        .query(
            "DELETE FROM floating_leases WHERE expires_at <= $1
               AND pool_id IN (SELECT id FROM floating_pools WHERE account_id = $2)
             RETURNING (SELECT name FROM floating_pools WHERE id = pool_id), fingerprint",
            &[&stored(now), &account_id],
            |r| Ok((r.string(0)?, r.string(1)?)),
        )
        .await?;
    for (pool, fp) in &lapsed {
        changes::record(
            c,
            account_id,
            now,
            &Record::LeaseEnded(LeaseEnd {
                fingerprint: fp.to_owned(),
                pool: pool.to_owned(),
                reason: LeaseEndReason::Lapsed,
            }),
        )
        .await?;
    }
    Ok(lapsed.len() as u64)
}

impl Store {
    /// A gateway of the token's pool claims (or resizes) its lease.
    pub async fn claim_lease(
        &self,
        ctx: &Ctx,
        signer: Arc<Signer>,
        gateway: TokenPool,
        name: String,
        ask: LeaseAsk,
    ) -> Result<LeaseResponse> {
        let now = ctx.now;
        write!(self, ctx, [signer, name, ask], |c| claim(
            c, &signer, gateway, &name, &ask, now
        ))
        .await
    }

    /// A gateway of the token's pool keeps its lease alive.
    pub async fn heartbeat_lease(
        &self,
        ctx: &Ctx,
        signer: Arc<Signer>,
        gateway: TokenPool,
        name: String,
        ask: LeaseAsk,
    ) -> Result<LeaseResponse> {
        let now = ctx.now;
        write!(self, ctx, [signer, name, ask], |c| heartbeat(
            c, &signer, gateway, &name, &ask, now
        ))
        .await
    }

    /// Releases the lease of `fp` in the account's pool `name` (with a pool
    /// token's pool, that pool only).
    pub async fn release_lease(
        &self,
        ctx: &Ctx,
        account: i64,
        token_pool: Option<i64>,
        name: String,
        fp: String,
    ) -> Result<PoolView> {
        let now = ctx.now;
        write!(self, ctx, [name, fp], |c| release(
            c, account, token_pool, &name, &fp, now
        ))
        .await
    }

    /// The accounts with a lapsed lease at `now`.
    pub async fn accounts_with_lapsed_leases(&self, now: DateTime<Utc>) -> Result<Vec<i64>> {
        read!(self, [], |c| accounts_with_lapsed_leases(c, now)).await
    }

    /// Culls one account's lapsed leases.
    pub async fn cull_leases(&self, ctx: &Ctx, account: i64) -> Result<u64> {
        let now = ctx.now;
        write!(self, ctx, [], |c| cull_account(c, account, now)).await
    }
}
