//! Accounts: creation and verification (the vendor), the overview (the
//! account itself).

use axum::extract::State;
use licensedesk_protocol::api::accounts::Overview;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::extract::{Json, Path};
use crate::auth::{Admin, Caller, hash_token, new_token};
use crate::error::{ApiError, Result};
use crate::store::Ctx;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAccount {
    pub name: String,
    /// `individual` or `enterprise`.
    pub kind: String,
    /// e.g. `cn-east`, `eu-central`, `us-west`.
    pub data_center: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedAccount {
    pub id: i64,
    /// The account's API token; shown once.
    pub token: String,
}

/// Create an account (admin). Returns its API token once.
#[utoipa::path(post, path = "/v1/admin/accounts", tag = "admin", request_body = NewAccount,
    responses((status = 200, body = CreatedAccount), (status = 400, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Json(req): Json<NewAccount>,
) -> Result<Json<CreatedAccount>> {
    let token = new_token().map_err(|e| ApiError::Internal(e.to_string()))?;
    let id = state
        .store
        .create_account(
            &ctx,
            req.name,
            req.kind,
            req.data_center,
            hash_token(&token),
        )
        .await?;
    Ok(Json(CreatedAccount { id, token }))
}

/// Account overview: Total / Used / Remaining, unassigned and free codes.
#[utoipa::path(get, path = "/v1/account", tag = "account",
    responses((status = 200, body = Overview), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn overview(State(state): State<AppState>, caller: Caller) -> Result<Json<Overview>> {
    Ok(Json(state.store.overview(caller.account_id).await?))
}

/// Verify an individual account as enterprise (vendor): it becomes an
/// enterprise account and receives 5 more free codes, once.
#[utoipa::path(post, path = "/v1/admin/accounts/{id}/verify-enterprise", tag = "admin",
    params(("id" = i64, Path)),
    responses((status = 200, body = Overview), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn verify_enterprise(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Json<Overview>> {
    Ok(Json(state.store.verify_enterprise(&ctx, id).await?))
}

/// Formerly an account verified itself here; verification is the
/// vendor's (`POST /v1/admin/accounts/{id}/verify-enterprise`): always 403
/// `VENDOR_ONLY`.
#[utoipa::path(post, path = "/v1/account/verify-enterprise", tag = "account",
    responses((status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
#[deprecated = "the vendor verifies accounts: POST /v1/admin/accounts/{id}/verify-enterprise"]
pub async fn verify_enterprise_self(_caller: Caller) -> Result<Json<Overview>> {
    Err(ApiError::vendor_only("verifying an account as enterprise"))
}
