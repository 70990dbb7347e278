//! Floating licenses: a pool of points per account, created by the vendor
//! (admin token, `POST /v1/admin/floating/pools`) with a pool token
//! returned once and stored hashed; a
//! gateway claims a lease of points with that pool token (never the
//! account's), keeps it with heartbeats (carrying its usage) before its
//! time-to-live runs out, and releases it; lapsed leases are culled. The
//! account (its API token) reads its pools with their live leases and may
//! release a lease.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use licensedesk_core::bounds;
use licensedesk_core::fingerprint::normalize_fingerprint;
use licensedesk_core::gateway::usage::check_amount;
use licensedesk_core::gateway::{InUse, LicenseKind, Limits, Resource, check_add};
use licensedesk_core::lease;
use licensedesk_core::license::{LicensePayload, sign_license};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::extract::{Json, Path};
use crate::auth::{Admin, Caller, hash_token};
use crate::changes::{self, Op};
use crate::db::{parse_ts, ts};
use crate::error::{ApiError, Result};

/// Pool tokens start with this (account tokens with `ld_`).
pub const POOL_TOKEN_PREFIX: &str = "ld_pool_";

/// A fresh random pool token.
pub fn new_pool_token() -> Result<String> {
    let token = crate::auth::new_token().map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(format!("{POOL_TOKEN_PREFIX}{}", &token[3..]))
}

/// An account's (or the vendor's) token on a gateway's lease route
/// (domain.md §4): 403 `POOL_TOKEN_ONLY`.
fn pool_token_only() -> ApiError {
    ApiError::Forbidden {
        code: "POOL_TOKEN_ONLY",
        message: "a gateway claims and renews a lease with its pool's token (made when the vendor created the pool), not an account's or the admin token".into(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
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

/// What a gateway reported in use with its last heartbeat.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct LeaseUsage {
    pub connections: u32,
    pub tags: u32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeaseView {
    pub fingerprint: String,
    pub points: u32,
    pub expires_at: DateTime<Utc>,
    /// When the lease was first claimed.
    pub claimed_at: DateTime<Utc>,
    /// The usage of the last heartbeat that carried one, and when.
    pub usage: Option<LeaseUsage>,
    pub usage_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PoolView {
    pub name: String,
    pub points: u32,
    pub in_use: u32,
    pub ttl_seconds: u32,
    pub plugins: Vec<String>,
    pub leases: Vec<LeaseView>,
    /// The server's time of this answer (time left = `expires_at` − this).
    pub server_time: DateTime<Utc>,
}

/// A pool as the vendor created it, with its token (shown once).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PoolCreated {
    pub pool: PoolView,
    /// The gateways' credential for this pool: give it to them; it is
    /// stored hashed and never shown again.
    pub token: String,
}

struct PoolRow {
    id: i64,
    account_id: i64,
    name: String,
    points: u32,
    ttl: u32,
    plugins: Vec<String>,
}

fn pool_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PoolRow> {
    Ok(PoolRow {
        id: r.get(0)?,
        account_id: r.get(1)?,
        name: r.get(2)?,
        points: r.get(3)?,
        ttl: r.get(4)?,
        plugins: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
    })
}

fn pool(c: &Connection, account_id: i64, name: &str) -> Result<PoolRow> {
    c.prepare_cached("SELECT id, account_id, name, points, ttl_seconds, plugins FROM floating_pools WHERE account_id = ?1 AND name = ?2")?
        .query_row(params![account_id, name], pool_row)
        .optional()?
        .ok_or(ApiError::NotFound("floating pool"))
}

type LeaseRow = (
    String,
    u32,
    String,
    String,
    Option<u32>,
    Option<u32>,
    Option<String>,
);

fn view(c: &Connection, p: &PoolRow, now: DateTime<Utc>) -> Result<PoolView> {
    let leases = c
        .prepare_cached("SELECT fingerprint, points, expires_at, created_at, connections_in_use, tags_in_use, usage_at FROM floating_leases WHERE pool_id = ?1 AND expires_at > ?2 ORDER BY id")?
        .query_map(params![p.id, ts(now)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?
        .collect::<rusqlite::Result<Vec<LeaseRow>>>()?
        .into_iter()
        .map(|(fingerprint, points, e, c, conns, tags, at)| {
            Ok(LeaseView {
                fingerprint,
                points,
                expires_at: parse_ts(&e)?,
                claimed_at: parse_ts(&c)?,
                usage: conns.zip(tags).map(|(connections, tags)| LeaseUsage { connections, tags }),
                usage_at: at.as_deref().map(parse_ts).transpose()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
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
pub fn insert_pool(
    tx: &Connection,
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
    let exists: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?1)")?
        .query_row([account_id], |r| r.get(0))?;
    if !exists {
        return Err(ApiError::NotFound("account"));
    }
    tx.prepare_cached("INSERT INTO floating_pools (account_id, name, points, ttl_seconds, plugins, created_at, token_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?.execute(
        params![account_id, req.name.trim(), req.points, ttl, serde_json::to_string(&req.plugins)?, ts(now), hash_token(token)],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            ApiError::conflict("POOL_EXISTS", format!("a pool named {} already exists", req.name.trim()))
        }
        e => e.into(),
    })?;
    changes::record(
        tx,
        account_id,
        "floating_pool",
        req.name.trim(),
        Op::Insert,
        now,
        &json!({"name": req.name.trim(), "points": req.points, "ttl_seconds": ttl, "plugins": req.plugins}),
    )?;
    view(tx, &pool(tx, account_id, req.name.trim())?, now)
}

/// Create a floating pool for an account (the vendor: admin token). The
/// answer carries the pool token the account's gateways claim with; it is
/// stored hashed and never shown again. An account's own token is refused
/// (403 `VENDOR_ONLY`).
#[utoipa::path(post, path = "/v1/admin/floating/pools", tag = "floating", request_body = NewPool,
    responses((status = 200, body = PoolCreated), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create_pool(
    State(state): State<AppState>,
    _vendor: Admin,
    Json(req): Json<NewPool>,
) -> Result<Json<PoolCreated>> {
    let now = state.now();
    let token = new_pool_token()?;
    let t = token.clone();
    let pool = state
        .db
        .write(move |tx| insert_pool(tx, req.account_id, &req, &t, now))
        .await?;
    Ok(Json(PoolCreated { pool, token }))
}

/// Issue a new token for a pool (the vendor): the old one stops working.
/// For a lost token, or a pool created before pools had tokens.
#[utoipa::path(post, path = "/v1/admin/floating/pools/{account_id}/{name}/token", tag = "floating",
    params(("account_id" = i64, Path), ("name" = String, Path)),
    responses((status = 200, body = PoolCreated), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn reissue_token(
    State(state): State<AppState>,
    _admin: Admin,
    Path((account_id, name)): Path<(i64, String)>,
) -> Result<Json<PoolCreated>> {
    let now = state.now();
    let token = new_pool_token()?;
    let t = token.clone();
    let pool = state
        .db
        .write(move |tx| {
            let p = pool(tx, account_id, &name)?;
            tx.prepare_cached("UPDATE floating_pools SET token_hash = ?2 WHERE id = ?1")?
                .execute(params![p.id, hash_token(&t)])?;
            view(tx, &p, now)
        })
        .await?;
    Ok(Json(PoolCreated { pool, token }))
}

/// The account's floating pools with their live leases.
#[utoipa::path(get, path = "/v1/floating/pools", tag = "floating",
    responses((status = 200, body = Vec<PoolView>)), security(("bearer" = [])))]
pub async fn list_pools(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<PoolView>>> {
    let now = state.now();
    let id = caller.account_id;
    Ok(Json(
        state
            .db
            .read(move |c| {
                let pools = c
                    .prepare_cached("SELECT id, account_id, name, points, ttl_seconds, plugins FROM floating_pools WHERE account_id = ?1 ORDER BY name")?
                    .query_map([id], pool_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                pools.iter().map(|p| view(c, p, now)).collect()
            })
            .await?,
    ))
}

/// A floating pool with its live leases (the account's token).
#[utoipa::path(get, path = "/v1/floating/pools/{name}", tag = "floating", params(("name" = String, Path)),
    responses((status = 200, body = PoolView), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn pool_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<PoolView>> {
    let now = state.now();
    let id = caller.account_id;
    Ok(Json(
        state
            .db
            .read(move |c| view(c, &pool(c, id, &name)?, now))
            .await?,
    ))
}

/// A gateway of a pool, authenticated by the pool's token.
#[derive(Debug, Clone)]
pub struct PoolGateway {
    pool_id: i64,
    account_id: i64,
}

async fn pool_of_token(parts: &Parts, state: &AppState) -> Result<Option<PoolGateway>> {
    let Some(token) = crate::auth::bearer_token(parts) else {
        return Err(ApiError::Unauthorized);
    };
    if !token.starts_with(POOL_TOKEN_PREFIX) {
        return Ok(None);
    }
    let h = hash_token(token);
    let found =
        state
            .db
            .read(move |c| {
                Ok(c.prepare_cached(
                    "SELECT id, account_id FROM floating_pools WHERE token_hash = ?1",
                )?
                .query_row([&h], |r| {
                    Ok(PoolGateway {
                        pool_id: r.get(0)?,
                        account_id: r.get(1)?,
                    })
                })
                .optional()?)
            })
            .await?;
    found.map(Some).ok_or(ApiError::Unauthorized)
}

impl FromRequestParts<AppState> for PoolGateway {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        match pool_of_token(parts, state).await? {
            Some(g) => Ok(g),
            None => {
                // An account's or the vendor's token: the wrong role.
                let token = crate::auth::bearer_token(parts).unwrap_or_default();
                if hash_token(token) == state.admin_token_hash {
                    return Err(pool_token_only());
                }
                Caller::from_request_parts(parts, state).await?;
                Err(pool_token_only())
            }
        }
    }
}

/// Who may release a lease: a gateway of the pool (its token) or the account.
#[derive(Debug, Clone)]
pub enum Releaser {
    Gateway(PoolGateway),
    Account(i64),
}

impl FromRequestParts<AppState> for Releaser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        match pool_of_token(parts, state).await? {
            Some(g) => Ok(Self::Gateway(g)),
            None => Ok(Self::Account(
                Caller::from_request_parts(parts, state).await?.account_id,
            )),
        }
    }
}

/// The pool named in the path, which must be the token's.
fn gateway_pool(c: &Connection, g: &PoolGateway, name: &str) -> Result<PoolRow> {
    let p = pool(c, g.account_id, name)?;
    if p.id != g.pool_id {
        return Err(ApiError::NotFound("floating pool"));
    }
    Ok(p)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LeaseRequest {
    pub fingerprint: String,
    /// Points to hold (claim only; also the connections and tags limit).
    pub points: Option<u32>,
    /// What the gateway has in use now (claim and heartbeat; kept on the
    /// lease for the account to see). Each at most 10,000,000.
    pub usage: Option<LeaseUsageIn>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub struct LeaseUsageIn {
    pub connections: u64,
    pub tags: u64,
}

fn checked_usage(u: Option<LeaseUsageIn>) -> Result<Option<LeaseUsage>> {
    u.map(|u| {
        Ok(LeaseUsage {
            connections: check_amount("connections", u.connections).map_err(ApiError::core)?,
            tags: check_amount("tags", u.tags).map_err(ApiError::core)?,
        })
    })
    .transpose()
}

fn store_usage(
    tx: &Connection,
    pool_id: i64,
    fp: &str,
    u: Option<LeaseUsage>,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(u) = u {
        tx.prepare_cached("UPDATE floating_leases SET connections_in_use = ?3, tags_in_use = ?4, usage_at = ?5 WHERE pool_id = ?1 AND fingerprint = ?2")?
            .execute(params![pool_id, fp, u.connections, u.tags, ts(now)])?;
    }
    Ok(())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeaseResponse {
    pub fingerprint: String,
    pub points: u32,
    pub expires_at: DateTime<Utc>,
    /// Signed floating license valid until the lease lapses.
    pub license: String,
}

fn lease_license(
    state: &AppState,
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
    sign_license(&payload, state.keys.signer.key())
}

/// Records a claimed or extended lease in the change feed and answers with
/// its signed floating license.
fn leased(
    tx: &rusqlite::Connection,
    state: &AppState,
    p: &PoolRow,
    fp: &str,
    points: u32,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<LeaseResponse> {
    changes::record(
        tx,
        p.account_id,
        "floating_lease",
        format!("{}/{fp}", p.name),
        Op::Update,
        now,
        &json!({"pool": p.name, "fingerprint": fp, "points": points, "expires_at": until}),
    )?;
    Ok(LeaseResponse {
        license: lease_license(state, p, fp, points, now, until),
        fingerprint: fp.to_owned(),
        points,
        expires_at: until,
    })
}

/// Claim (or resize) a lease of points for a gateway (the pool's token).
#[utoipa::path(post, path = "/v1/floating/pools/{name}/claim", tag = "floating", params(("name" = String, Path)),
    request_body = LeaseRequest, responses((status = 200, body = LeaseResponse), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn claim(
    State(state): State<AppState>,
    gateway: PoolGateway,
    Path(name): Path<String>,
    Json(req): Json<LeaseRequest>,
) -> Result<Json<LeaseResponse>> {
    let now = state.now();
    let fp = normalize_fingerprint(&req.fingerprint).map_err(ApiError::core)?;
    let points = req.points.unwrap_or(0);
    let usage = checked_usage(req.usage)?;
    let st = state.clone();
    let out = state
        .db
        .write(move |tx| {
            let p = gateway_pool(tx, &gateway, &name)?;
            let others: u32 = tx.prepare_cached("SELECT COALESCE(SUM(points), 0) FROM floating_leases WHERE pool_id = ?1 AND expires_at > ?2 AND fingerprint <> ?3")?.query_row(
                params![p.id, ts(now), fp],
                |r| r.get(0),
            )?;
            let limits = Limits { max_connections: p.points, max_tags: p.points };
            check_add(&limits, &InUse { connections: others, tags: others }, Resource::Tags, points)
                .map_err(|e| ApiError::conflict("POOL_EXHAUSTED", e.to_string()))?;
            let until = lease::claim(points, now, p.ttl).map_err(ApiError::core)?;
            tx.prepare_cached("INSERT INTO floating_leases (pool_id, fingerprint, points, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (pool_id, fingerprint) DO UPDATE SET points = ?3, expires_at = ?4")?.execute(
                params![p.id, fp, points, ts(until), ts(now)],
            )?;
            store_usage(tx, p.id, &fp, usage, now)?;
            leased(tx, &st, &p, &fp, points, now, until)
        })
        .await?;
    Ok(Json(out))
}

/// Keep a lease alive (the pool's token): extends it by the pool's
/// time-to-live and records the usage it carries. A lapsed lease cannot be
/// revived (409 LEASE_LAPSED, or 404 once culled): claim again.
#[utoipa::path(post, path = "/v1/floating/pools/{name}/heartbeat", tag = "floating", params(("name" = String, Path)),
    request_body = LeaseRequest, responses((status = 200, body = LeaseResponse), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn heartbeat(
    State(state): State<AppState>,
    gateway: PoolGateway,
    Path(name): Path<String>,
    Json(req): Json<LeaseRequest>,
) -> Result<Json<LeaseResponse>> {
    let now = state.now();
    let fp = normalize_fingerprint(&req.fingerprint).map_err(ApiError::core)?;
    let usage = checked_usage(req.usage)?;
    let st = state.clone();
    let out = state
        .db
        .write(move |tx| {
            let p = gateway_pool(tx, &gateway, &name)?;
            let lease: Option<(u32, String)> = tx
                .query_row("SELECT points, expires_at FROM floating_leases WHERE pool_id = ?1 AND fingerprint = ?2",
                    params![p.id, fp], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((points, exp)) = lease else { return Err(ApiError::NotFound("lease")) };
            let until = lease::heartbeat(parse_ts(&exp)?, now, p.ttl).map_err(ApiError::core)?;
            tx.prepare_cached("UPDATE floating_leases SET expires_at = ?3 WHERE pool_id = ?1 AND fingerprint = ?2")?.execute( params![p.id, fp, ts(until)])?;
            store_usage(tx, p.id, &fp, usage, now)?;
            leased(tx, &st, &p, &fp, points, now, until)
        })
        .await?;
    Ok(Json(out))
}

/// Release a lease; its points return to the pool. By the gateway (the
/// pool's token) or by the account (its API token).
#[utoipa::path(post, path = "/v1/floating/pools/{name}/release", tag = "floating", params(("name" = String, Path)),
    request_body = LeaseRequest, responses((status = 200, body = PoolView)), security(("bearer" = [])))]
pub async fn release(
    State(state): State<AppState>,
    who: Releaser,
    Path(name): Path<String>,
    Json(req): Json<LeaseRequest>,
) -> Result<Json<PoolView>> {
    let now = state.now();
    let fp = normalize_fingerprint(&req.fingerprint).map_err(ApiError::core)?;
    let out = state
        .db
        .write(move |tx| {
            let p = match &who {
                Releaser::Gateway(g) => gateway_pool(tx, g, &name)?,
                Releaser::Account(id) => pool(tx, *id, &name)?,
            };
            let n = tx
                .prepare_cached(
                    "DELETE FROM floating_leases WHERE pool_id = ?1 AND fingerprint = ?2",
                )?
                .execute(params![p.id, fp])?;
            if n > 0 {
                changes::record(
                    tx,
                    p.account_id,
                    "floating_lease",
                    format!("{}/{fp}", p.name),
                    Op::Delete,
                    now,
                    &json!({"pool": p.name, "fingerprint": fp, "reason": "released"}),
                )?;
            }
            view(tx, &p, now)
        })
        .await?;
    Ok(Json(out))
}

/// The accounts with a lapsed lease at `now` (maintenance).
pub fn accounts_with_lapsed_leases(c: &Connection, now: DateTime<Utc>) -> Result<Vec<i64>> {
    Ok(c.prepare_cached(
        "SELECT DISTINCT p.account_id FROM floating_leases l JOIN floating_pools p ON p.id = l.pool_id
         WHERE l.expires_at <= ?1",
    )?
    .query_map([ts(now)], |r| r.get(0))?
    .collect::<rusqlite::Result<_>>()?)
}

/// Deletes the lapsed leases of `account_id` (recorded as deletions in the
/// change feed); returns how many.
pub fn cull_account(tx: &Connection, account_id: i64, now: DateTime<Utc>) -> Result<u64> {
    let lapsed: Vec<(String, String)> = tx
        .prepare_cached(
            "DELETE FROM floating_leases WHERE expires_at <= ?1
               AND pool_id IN (SELECT id FROM floating_pools WHERE account_id = ?2)
             RETURNING (SELECT name FROM floating_pools WHERE id = pool_id), fingerprint",
        )?
        .query_map(params![ts(now), account_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (pool, fp) in &lapsed {
        changes::record(
            tx,
            account_id,
            "floating_lease",
            format!("{pool}/{fp}"),
            Op::Delete,
            now,
            &json!({"pool": pool, "fingerprint": fp, "reason": "lapsed"}),
        )?;
    }
    Ok(lapsed.len() as u64)
}
