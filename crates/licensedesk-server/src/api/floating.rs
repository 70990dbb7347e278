//! Floating licenses: a pool of points per account; a gateway claims a
//! lease of points, keeps it with heartbeats before its time-to-live runs
//! out, and releases it; lapsed leases are culled.

use axum::extract::State;
use chrono::{DateTime, Utc};
use licensedesk_core::fingerprint::normalize_fingerprint;
use licensedesk_core::gateway::{InUse, LicenseKind, Limits, Resource, check_add};
use licensedesk_core::lease;
use licensedesk_core::license::{LicensePayload, sign_license};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::extract::{Json, Path};
use crate::auth::Caller;
use crate::changes::{self, Op};
use crate::db::{parse_ts, ts};
use crate::error::{ApiError, Result};

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPool {
    pub name: String,
    pub points: u32,
    /// Lease time-to-live in seconds (default 300).
    pub ttl_seconds: Option<u32>,
    #[serde(default)]
    pub plugins: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeaseView {
    pub fingerprint: String,
    pub points: u32,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PoolView {
    pub name: String,
    pub points: u32,
    pub in_use: u32,
    pub ttl_seconds: u32,
    pub leases: Vec<LeaseView>,
}

struct PoolRow {
    id: i64,
    account_id: i64,
    name: String,
    points: u32,
    ttl: u32,
    plugins: Vec<String>,
}

fn pool(c: &Connection, account_id: i64, name: &str) -> Result<PoolRow> {
    c.prepare_cached("SELECT id, account_id, name, points, ttl_seconds, plugins FROM floating_pools WHERE account_id = ?1 AND name = ?2")?.query_row(
        params![account_id, name],
        |r| {
            Ok(PoolRow {
                id: r.get(0)?,
                account_id: r.get(1)?,
                name: r.get(2)?,
                points: r.get(3)?,
                ttl: r.get(4)?,
                plugins: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
            })
        },
    )
    .optional()?
    .ok_or(ApiError::NotFound("floating pool"))
}

fn view(c: &Connection, p: &PoolRow, now: DateTime<Utc>) -> Result<PoolView> {
    let leases = c
        .prepare_cached("SELECT fingerprint, points, expires_at FROM floating_leases WHERE pool_id = ?1 AND expires_at > ?2 ORDER BY id")?
        .query_map(params![p.id, ts(now)], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, String>(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|(fingerprint, points, e)| Ok(LeaseView { fingerprint, points, expires_at: parse_ts(&e)? }))
        .collect::<Result<Vec<_>>>()?;
    Ok(PoolView {
        name: p.name.clone(),
        points: p.points,
        in_use: leases.iter().map(|l| l.points).sum(),
        ttl_seconds: p.ttl,
        leases,
    })
}

pub fn insert_pool(
    tx: &Connection,
    account_id: i64,
    req: &NewPool,
    now: DateTime<Utc>,
) -> Result<PoolView> {
    if req.name.trim().is_empty() || req.points == 0 {
        return Err(ApiError::invalid(
            "POOL_INVALID",
            "a pool needs a name and at least 1 point",
        ));
    }
    let ttl = lease::pool_ttl(req.ttl_seconds);
    tx.prepare_cached("INSERT INTO floating_pools (account_id, name, points, ttl_seconds, plugins, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(
        params![account_id, req.name.trim(), req.points, ttl, serde_json::to_string(&req.plugins)?, ts(now)],
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

/// Create a floating pool.
#[utoipa::path(post, path = "/v1/floating/pools", tag = "floating", request_body = NewPool,
    responses((status = 200, body = PoolView)), security(("bearer" = [])))]
pub async fn create_pool(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewPool>,
) -> Result<Json<PoolView>> {
    let now = state.now();
    let id = caller.account_id;
    Ok(Json(
        state
            .db
            .write(move |tx| insert_pool(tx, id, &req, now))
            .await?,
    ))
}

/// A floating pool with its live leases.
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

#[derive(Debug, Deserialize, ToSchema)]
pub struct LeaseRequest {
    pub fingerprint: String,
    /// Points to hold (claim only; also the connections and tags limit).
    pub points: Option<u32>,
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

/// Claim (or resize) a lease of points for a gateway.
#[utoipa::path(post, path = "/v1/floating/pools/{name}/claim", tag = "floating", params(("name" = String, Path)),
    request_body = LeaseRequest, responses((status = 200, body = LeaseResponse), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(req): Json<LeaseRequest>,
) -> Result<Json<LeaseResponse>> {
    let now = state.now();
    let id = caller.account_id;
    let fp = normalize_fingerprint(&req.fingerprint).map_err(ApiError::core)?;
    let points = req.points.unwrap_or(0);
    let st = state.clone();
    let out = state
        .db
        .write(move |tx| {
            let p = pool(tx, id, &name)?;
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
            leased(tx, &st, &p, &fp, points, now, until)
        })
        .await?;
    Ok(Json(out))
}

/// Keep a lease alive: extends it by the pool's time-to-live. A lapsed
/// lease cannot be revived (409 LEASE_LAPSED): claim again.
#[utoipa::path(post, path = "/v1/floating/pools/{name}/heartbeat", tag = "floating", params(("name" = String, Path)),
    request_body = LeaseRequest, responses((status = 200, body = LeaseResponse), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(req): Json<LeaseRequest>,
) -> Result<Json<LeaseResponse>> {
    let now = state.now();
    let id = caller.account_id;
    let fp = normalize_fingerprint(&req.fingerprint).map_err(ApiError::core)?;
    let st = state.clone();
    let out = state
        .db
        .write(move |tx| {
            let p = pool(tx, id, &name)?;
            let lease: Option<(u32, String)> = tx
                .query_row("SELECT points, expires_at FROM floating_leases WHERE pool_id = ?1 AND fingerprint = ?2",
                    params![p.id, fp], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((points, exp)) = lease else { return Err(ApiError::NotFound("lease")) };
            let until = lease::heartbeat(parse_ts(&exp)?, now, p.ttl).map_err(ApiError::core)?;
            tx.prepare_cached("UPDATE floating_leases SET expires_at = ?3 WHERE pool_id = ?1 AND fingerprint = ?2")?.execute( params![p.id, fp, ts(until)])?;
            leased(tx, &st, &p, &fp, points, now, until)
        })
        .await?;
    Ok(Json(out))
}

/// Release a lease; its points return to the pool.
#[utoipa::path(post, path = "/v1/floating/pools/{name}/release", tag = "floating", params(("name" = String, Path)),
    request_body = LeaseRequest, responses((status = 200, body = PoolView)), security(("bearer" = [])))]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(req): Json<LeaseRequest>,
) -> Result<Json<PoolView>> {
    let now = state.now();
    let id = caller.account_id;
    let fp = normalize_fingerprint(&req.fingerprint).map_err(ApiError::core)?;
    let out = state
        .db
        .write(move |tx| {
            let p = pool(tx, id, &name)?;
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
