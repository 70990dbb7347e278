//! Floating licenses: a pool of points per account, created by the vendor
//! (admin token, `POST /v1/admin/floating/pools`) with a pool token
//! returned once and stored hashed; a
//! gateway claims a lease of points with that pool token (never the
//! account's), keeps it with heartbeats (carrying its usage) before its
//! time-to-live runs out, and releases it; lapsed leases are culled. The
//! account (its API token) reads its pools with their live leases and may
//! release a lease. The store (`store::floating`) keeps pools and leases.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use licensedesk_core::fingerprint::normalize_fingerprint;
use licensedesk_core::gateway::usage::check_amount;
use licensedesk_protocol::api::floating::{LeaseRequest, LeaseResponse, LeaseUsage, PoolView};

use crate::AppState;
use crate::api::extract::{Json, Path};
use crate::auth::{Admin, Caller, hash_token};
use crate::error::{ApiError, Result};
use crate::store::Ctx;
use crate::store::floating::{LeaseAsk, NewPool, PoolCreated, TokenPool};

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
    ctx: Ctx,
    Json(req): Json<NewPool>,
) -> Result<Json<PoolCreated>> {
    let token = new_pool_token()?;
    Ok(Json(state.store.create_pool(&ctx, req, token).await?))
}

/// Issue a new token for a pool (the vendor): the old one stops working.
/// For a lost token, or a pool created before pools had tokens.
#[utoipa::path(post, path = "/v1/admin/floating/pools/{account_id}/{name}/token", tag = "floating",
    params(("account_id" = i64, Path), ("name" = String, Path)),
    responses((status = 200, body = PoolCreated), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn reissue_token(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Path((account_id, name)): Path<(i64, String)>,
) -> Result<Json<PoolCreated>> {
    let token = new_pool_token()?;
    Ok(Json(
        state
            .store
            .reissue_pool_token(&ctx, account_id, name, token)
            .await?,
    ))
}

/// The account's floating pools with their live leases.
#[utoipa::path(get, path = "/v1/floating/pools", tag = "floating",
    responses((status = 200, body = Vec<PoolView>)), security(("bearer" = [])))]
pub async fn list_pools(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<PoolView>>> {
    Ok(Json(
        state.store.pools(caller.account_id, state.now()).await?,
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
    Ok(Json(
        state
            .store
            .pool(caller.account_id, name, state.now())
            .await?,
    ))
}

/// A gateway of a pool, authenticated by the pool's token.
#[derive(Debug, Clone)]
pub struct PoolGateway(TokenPool);

async fn pool_of_token(parts: &Parts, state: &AppState) -> Result<Option<TokenPool>> {
    let Some(token) = crate::auth::bearer_token(parts) else {
        return Err(ApiError::Unauthorized);
    };
    if !token.starts_with(POOL_TOKEN_PREFIX) {
        return Ok(None);
    }
    let found = state.store.pool_of_token(hash_token(token)).await?;
    found.map(Some).ok_or(ApiError::Unauthorized)
}

impl FromRequestParts<AppState> for PoolGateway {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        match pool_of_token(parts, state).await? {
            Some(g) => Ok(Self(g)),
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
    Gateway(TokenPool),
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

/// The lease a request asks for: its fingerprint normalised, its usage
/// within bounds.
fn lease_ask(req: LeaseRequest) -> Result<LeaseAsk> {
    let fingerprint = normalize_fingerprint(&req.fingerprint).map_err(ApiError::core)?;
    let usage = req
        .usage
        .map(|u| {
            Ok::<_, ApiError>(LeaseUsage {
                connections: check_amount("connections", u.connections).map_err(ApiError::core)?,
                tags: check_amount("tags", u.tags).map_err(ApiError::core)?,
            })
        })
        .transpose()?;
    Ok(LeaseAsk {
        fingerprint,
        points: req.points.unwrap_or(0),
        usage,
    })
}

/// Claim (or resize) a lease of points for a gateway (the pool's token).
#[utoipa::path(post, path = "/v1/floating/pools/{name}/claim", tag = "floating", params(("name" = String, Path)),
    request_body = LeaseRequest, responses((status = 200, body = LeaseResponse), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn claim(
    State(state): State<AppState>,
    PoolGateway(gateway): PoolGateway,
    ctx: Ctx,
    Path(name): Path<String>,
    Json(req): Json<LeaseRequest>,
) -> Result<Json<LeaseResponse>> {
    let ask = lease_ask(req)?;
    Ok(Json(
        state
            .store
            .claim_lease(&ctx, state.keys.signer.clone(), gateway, name, ask)
            .await?,
    ))
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
    PoolGateway(gateway): PoolGateway,
    ctx: Ctx,
    Path(name): Path<String>,
    Json(req): Json<LeaseRequest>,
) -> Result<Json<LeaseResponse>> {
    let ask = lease_ask(req)?;
    Ok(Json(
        state
            .store
            .heartbeat_lease(&ctx, state.keys.signer.clone(), gateway, name, ask)
            .await?,
    ))
}

/// Release a lease; its points return to the pool. By the gateway (the
/// pool's token) or by the account (its API token).
#[utoipa::path(post, path = "/v1/floating/pools/{name}/release", tag = "floating", params(("name" = String, Path)),
    request_body = LeaseRequest, responses((status = 200, body = PoolView)), security(("bearer" = [])))]
pub async fn release(
    State(state): State<AppState>,
    who: Releaser,
    ctx: Ctx,
    Path(name): Path<String>,
    Json(req): Json<LeaseRequest>,
) -> Result<Json<PoolView>> {
    let fp = normalize_fingerprint(&req.fingerprint).map_err(ApiError::core)?;
    let (account, token_pool) = match who {
        Releaser::Gateway(g) => (g.account_id, Some(g.pool_id)),
        Releaser::Account(id) => (id, None),
    };
    Ok(Json(
        state
            .store
            .release_lease(&ctx, account, token_pool, name, fp)
            .await?,
    ))
}
