//! Floating licenses: an account's pools of points (created by the vendor,
//! with a pool token stored hashed), the leases its gateways claim, keep
//! with heartbeats (carrying their usage) and release, each answered with
//! a signed floating license valid until the lease lapses; lapsed leases
//! are culled ([`leases`]). Every rule is core's (`lease`, `check_add`).

pub mod leases;

use chrono::{DateTime, Utc};
use licensedesk_core::bounds;
use licensedesk_core::lease;
use licensedesk_protocol::api::floating::{LeaseUsage, LeaseView, PoolView};
use licensedesk_protocol::feed::FloatingPool;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::hash_token;
use crate::db::{Conn, Row};
use crate::error::{ApiError, Result};
use crate::store::changes::{self, Record};
use crate::store::{Ctx, Store, read, write};
use crate::time::stored;

pub use leases::{LeaseAsk, seed_lease};

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewPool {
    /// The account the pool is sold to.
    #[serde(default)]
    pub account_id: i64,
    pub name: String,
    pub points: u32,
    /// Lease time-to-live in seconds (default 300).
    pub ttl_seconds: Option<u32>,
    #[serde(default)]
    pub plugins: Vec<String>,
}

/// A pool as the vendor created it, with its token (shown once).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PoolCreated {
    pub pool: PoolView,
    /// The gateways' credential for this pool: give it to them; it is
    /// stored hashed and never shown again.
    pub token: String,
}

/// The pool a pool token opens, and its account.
#[derive(Debug, Clone, Copy)]
pub struct TokenPool {
    pub pool_id: i64,
    pub account_id: i64,
}

struct PoolRow {
    id: i64,
    account_id: i64,
    name: String,
    points: u32,
    ttl: u32,
    plugins: Vec<String>,
}

const POOL_COLS: &str = "id, account_id, name, points, ttl_seconds, plugins";

fn pool_row(r: &Row<'_>) -> Result<PoolRow> {
    Ok(PoolRow {
        id: r.i64(0)?,
        account_id: r.i64(1)?,
        name: r.string(2)?,
        points: r.u32(3)?,
        ttl: r.u32(4)?,
        plugins: serde_json::from_str(r.str(5)?).unwrap_or_default(),
    })
}

async fn pool(c: &impl Conn, account_id: i64, name: &str) -> Result<PoolRow> {
    c.opt(
        &format!("SELECT {POOL_COLS} FROM floating_pools WHERE account_id = $1 AND name = $2"),
        &[&account_id, &name],
        pool_row,
    )
    .await?
    .ok_or(ApiError::NotFound("floating pool"))
}

/// The pool named `name` of `account_id`; with a pool token's pool, it
/// must be that one.
async fn pool_for(
    c: &impl Conn,
    account_id: i64,
    token_pool: Option<i64>,
    name: &str,
) -> Result<PoolRow> {
    let p = pool(c, account_id, name).await?;
    if token_pool.is_some_and(|id| id != p.id) {
        return Err(ApiError::NotFound("floating pool"));
    }
    Ok(p)
}

fn opt_u32(r: &Row<'_>, idx: usize) -> Result<Option<u32>> {
    r.opt_i64(idx)?
        .map(|v| {
            u32::try_from(v)
                .map_err(|_| ApiError::Internal(format!("reading column {idx}: {v} is not a u32")))
        })
        .transpose()
}

async fn view(c: &impl Conn, p: &PoolRow, now: DateTime<Utc>) -> Result<PoolView> {
    let leases = c
        .query(
            "SELECT fingerprint, points, expires_at, created_at, connections_in_use, tags_in_use, usage_at
             FROM floating_leases WHERE pool_id = $1 AND expires_at > $2 ORDER BY id",
            &[&p.id, &stored(now)],
            |r| {
                Ok(LeaseView {
                    fingerprint: r.string(0)?,
                    points: r.u32(1)?,
                    expires_at: r.time(2)?,
                    claimed_at: r.time(3)?,
                    usage: opt_u32(r, 4)?
                        .zip(opt_u32(r, 5)?)
                        .map(|(connections, tags)| LeaseUsage { connections, tags }),
                    usage_at: r.opt_time(6)?,
                })
            },
        )
        .await?;
    Ok(PoolView {
        name: p.name.clone(),
        points: p.points,
        in_use: leases.iter().map(|l| l.points).sum(),
        ttl_seconds: p.ttl,
        plugins: p.plugins.clone(),
        leases,
        server_time: now,
    })
}

/// Creates a pool of `account_id` whose gateways authenticate with
/// `token` (stored hashed).
pub async fn insert_pool(
    c: &impl Conn,
    account_id: i64,
    req: &NewPool,
    token: &str,
    now: DateTime<Utc>,
) -> Result<PoolView> {
    // A pool's name is a name; its points are a license's limits (a lease's
    // floating license has them as connections and data tags).
    bounds::NAME.check(&req.name).map_err(ApiError::core)?;
    bounds::license_terms(req.points, req.points, &req.plugins).map_err(ApiError::core)?;
    let ttl = lease::pool_ttl(req.ttl_seconds);
    let exists = c
        .one(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)",
            &[&account_id],
            |r| r.bool(0),
        )
        .await?;
    if !exists {
        return Err(ApiError::NotFound("account"));
    }
    let name = req.name.trim();
    let token_hash = hash_token(token);
    // A pool's name is unique in its account, its token everywhere.
    let taken = c
        .opt(
            "SELECT 1 FROM floating_pools WHERE (account_id = $1 AND name = $2) OR token_hash = $3",
            &[&account_id, &name, &token_hash],
            |_| Ok(()),
        )
        .await?;
    if taken.is_some() {
        return Err(ApiError::conflict(
            "POOL_EXISTS",
            format!("a pool named {name} already exists"),
        ));
    }
    c.exec(
        "INSERT INTO floating_pools (account_id, name, points, ttl_seconds, plugins, created_at, token_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &account_id,
            &name,
            &i64::from(req.points),
            &i64::from(ttl),
            &serde_json::to_string(&req.plugins)?,
            &stored(now),
            &token_hash,
        ],
    )
    .await?;
    changes::record(
        c,
        account_id,
        now,
        &Record::FloatingPoolCreated(FloatingPool {
            name: name.to_owned(),
            plugins: req.plugins.clone(),
            points: req.points,
            ttl_seconds: ttl,
        }),
    )
    .await?;
    view(c, &pool(c, account_id, name).await?, now).await
}

/// The vendor creates a pool: the answer carries its token (so that a
/// replayed answer carries the token stored).
async fn create_pool(
    c: &impl Conn,
    req: &NewPool,
    token: &str,
    now: DateTime<Utc>,
) -> Result<PoolCreated> {
    Ok(PoolCreated {
        pool: insert_pool(c, req.account_id, req, token, now).await?,
        token: token.to_owned(),
    })
}

/// Gives a pool a new token (the old one stops working).
async fn reissue_token(
    c: &impl Conn,
    account_id: i64,
    name: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<PoolCreated> {
    let p = pool(c, account_id, name).await?;
    c.exec(
        "UPDATE floating_pools SET token_hash = $2 WHERE id = $1",
        &[&p.id, &hash_token(token)],
    )
    .await?;
    Ok(PoolCreated {
        pool: view(c, &p, now).await?,
        token: token.to_owned(),
    })
}

async fn pools(c: &impl Conn, account_id: i64, now: DateTime<Utc>) -> Result<Vec<PoolView>> {
    let pools = c
        .query(
            &format!("SELECT {POOL_COLS} FROM floating_pools WHERE account_id = $1 ORDER BY name"),
            &[&account_id],
            pool_row,
        )
        .await?;
    let mut out = Vec::with_capacity(pools.len());
    for p in &pools {
        out.push(view(c, p, now).await?);
    }
    Ok(out)
}

async fn pool_status(
    c: &impl Conn,
    account_id: i64,
    name: &str,
    now: DateTime<Utc>,
) -> Result<PoolView> {
    view(c, &pool(c, account_id, name).await?, now).await
}

async fn pool_of_token(c: &impl Conn, token_hash: &str) -> Result<Option<TokenPool>> {
    c.opt(
        "SELECT id, account_id FROM floating_pools WHERE token_hash = $1",
        &[&token_hash],
        |r| {
            Ok(TokenPool {
                pool_id: r.i64(0)?,
                account_id: r.i64(1)?,
            })
        },
    )
    .await
}

impl Store {
    /// Creates a pool whose gateways claim with `token` (the vendor's);
    /// the answer carries the token.
    pub async fn create_pool(&self, ctx: &Ctx, req: NewPool, token: String) -> Result<PoolCreated> {
        let now = ctx.now;
        write!(self, ctx, [req, token], |c| create_pool(
            c, &req, &token, now
        ))
        .await
    }

    /// Gives a pool the new token `token`; the answer carries it.
    pub async fn reissue_pool_token(
        &self,
        ctx: &Ctx,
        account: i64,
        name: String,
        token: String,
    ) -> Result<PoolCreated> {
        let now = ctx.now;
        write!(self, ctx, [name, token], |c| reissue_token(
            c, account, &name, &token, now
        ))
        .await
    }

    /// The account's pools with their live leases.
    pub async fn pools(&self, account: i64, now: DateTime<Utc>) -> Result<Vec<PoolView>> {
        read!(self, [], |c| pools(c, account, now)).await
    }

    /// One pool of the account with its live leases.
    pub async fn pool(&self, account: i64, name: String, now: DateTime<Utc>) -> Result<PoolView> {
        read!(self, [name], |c| pool_status(c, account, &name, now)).await
    }

    /// The pool whose token hashes to `token_hash`, if any.
    pub async fn pool_of_token(&self, token_hash: String) -> Result<Option<TokenPool>> {
        read!(self, [token_hash], |c| pool_of_token(c, &token_hash)).await
    }
}
