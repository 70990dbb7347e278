//! Accounts: creation (admin), overview, verify-as-enterprise.

use axum::extract::State;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use licensedesk_core::account::{AccountKind, verify_as_enterprise};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::common::{self, os_entropy};
use crate::api::extract::{Json, Path};
use crate::api::pool::{self, Entropy};
use crate::auth::{Admin, Caller, hash_token, new_token};
use crate::changes::{self, Op};
use crate::db::ts;
use crate::error::{ApiError, Result};

/// Time zone of a data center (core's table).
pub fn data_center_tz(dc: &str) -> Result<Tz> {
    licensedesk_core::datacenter::time_zone(dc).map_err(ApiError::core)
}

/// Parses a stored or requested account kind.
pub fn parse_kind(kind: &str) -> Result<AccountKind> {
    serde_json::from_value(serde_json::Value::String(kind.to_owned())).map_err(|_| {
        ApiError::invalid(
            "ACCOUNT_KIND_INVALID",
            format!("account kind {kind:?} is neither \"individual\" nor \"enterprise\""),
        )
    })
}

/// Creates an account with its free codes; returns its id.
pub fn create_account(
    tx: &Connection,
    name: &str,
    kind: &str,
    data_center: &str,
    token_hash: &str,
    now: DateTime<Utc>,
    entropy: Entropy<'_>,
) -> Result<i64> {
    let parsed = parse_kind(kind)?;
    data_center_tz(data_center)?;
    let name = licensedesk_core::bounds::NAME
        .check(name)
        .map_err(ApiError::core)?;
    let id: i64 = tx.prepare_cached("INSERT INTO accounts (name, kind, data_center, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id")?.query_row(
        params![name, kind, data_center, token_hash, ts(now)],
        |r| r.get(0),
    )?;
    changes::record(
        tx,
        id,
        "account",
        id,
        Op::Insert,
        now,
        &json!({"id": id, "name": name, "kind": kind, "data_center": data_center}),
    )?;
    grant_free_codes(tx, id, u64::from(parsed.initial_free_codes()), now, entropy)?;
    Ok(id)
}

fn grant_free_codes(
    tx: &Connection,
    account_id: i64,
    n: u64,
    now: DateTime<Utc>,
    entropy: Entropy<'_>,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let batch: i64 = tx.prepare_cached("INSERT INTO batches (account_id, kind, quantity, created_at) VALUES (?1, 'free', ?2, ?3) RETURNING id")?.query_row(
        params![account_id, n as i64, ts(now)],
        |r| r.get(0),
    )?;
    changes::record(
        tx,
        account_id,
        "batch",
        batch,
        Op::Insert,
        now,
        &json!({"id": batch, "kind": "free", "quantity": n}),
    )?;
    pool::insert_codes(tx, account_id, batch, None, n, now, entropy)
}

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
    Json(req): Json<NewAccount>,
) -> Result<Json<CreatedAccount>> {
    let token = new_token().map_err(|e| ApiError::Internal(e.to_string()))?;
    let hash = hash_token(&token);
    let now = state.now();
    let id = state
        .db
        .write(move |tx| {
            create_account(
                tx,
                &req.name,
                &req.kind,
                &req.data_center,
                &hash,
                now,
                &mut || os_entropy(),
            )
        })
        .await?;
    Ok(Json(CreatedAccount { id, token }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Overview {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub data_center: String,
    pub time_zone: String,
    pub verified_enterprise: bool,
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    /// Unconsumed codes not yet assigned to a product (free codes arrive so).
    pub unassigned: u64,
    /// Free codes granted so far.
    pub free_codes: u64,
}

/// Account overview: Total / Used / Remaining, unassigned and free codes.
#[utoipa::path(get, path = "/v1/account", tag = "account",
    responses((status = 200, body = Overview), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn overview(State(state): State<AppState>, caller: Caller) -> Result<Json<Overview>> {
    let id = caller.account_id;
    let ov = state.db.read(move |c| overview_of(c, id)).await?;
    Ok(Json(ov))
}

pub fn overview_of(c: &rusqlite::Connection, id: i64) -> Result<Overview> {
    let a = common::account(c, id)?;
    let (counters, unassigned) = pool::account_overview(c, id)?;
    let free: i64 = c.prepare_cached("SELECT COALESCE(SUM(quantity), 0) FROM batches WHERE account_id = ?1 AND kind = 'free'")?.query_row(
        [id],
        |r| r.get(0),
    )?;
    Ok(Overview {
        id,
        time_zone: a.tz()?.name().to_owned(),
        name: a.name,
        kind: a.kind,
        data_center: a.data_center,
        verified_enterprise: a.verified_enterprise,
        total: counters.total(),
        used: counters.used(),
        remaining: counters.remaining(),
        unassigned,
        free_codes: free as u64,
    })
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
    Path(id): Path<i64>,
) -> Result<Json<Overview>> {
    let now = state.now();
    let ov = state
        .db
        .write(move |tx| {
            let a = common::account(tx, id)?;
            let grant = verify_as_enterprise(parse_kind(&a.kind)?, a.verified_enterprise)
                .map_err(ApiError::core)?;
            {
                tx.prepare_cached(
                    "UPDATE accounts SET kind = ?2, verified_enterprise = 1 WHERE id = ?1",
                )?
                .execute(params![id, serde_json::to_value(grant.kind)?.as_str()])?;
                changes::record(
                    tx,
                    id,
                    "account",
                    id,
                    Op::Update,
                    now,
                    &json!({"id": id, "kind": "enterprise", "verified_enterprise": true}),
                )?;
            }
            grant_free_codes(tx, id, u64::from(grant.free_codes), now, &mut || {
                os_entropy()
            })?;
            overview_of(tx, id)
        })
        .await?;
    Ok(Json(ov))
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
