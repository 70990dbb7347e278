//! Offline field activation (issue 6): a field kit checks out an allotment
//! of an order's gateway licenses (or of a gateway product's orders) for
//! its own delegate key, issues them offline, and reconciles its ledger
//! here; the server consumes each allotment slot exactly once. Every rule
//! (certificate, chain, ledger, slot rule) is licensedesk-core's; the
//! store (`store::field`) stores and counts.

use axum::extract::State;
use licensedesk_core::ledger::verify_export;
use serde::Deserialize;

use crate::AppState;
use crate::api::extract::{Bytes, Json, Path, Query};
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::store::Ctx;
use crate::store::codes::os_entropy;
use licensedesk_protocol::api::field::{
    AllotmentView, AuditPage, CheckoutRequest, ReconcileReport,
};

/// Check out an allotment: reserve `count` licenses of an order, or of a
/// gateway product's orders (oldest order first), for `days` and sign a
/// delegate certificate for the kit's public key.
#[utoipa::path(post, path = "/v1/field/allotments", tag = "field", request_body = CheckoutRequest,
    responses((status = 200, body = AllotmentView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn checkout(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Json(req): Json<CheckoutRequest>,
) -> Result<Json<AllotmentView>> {
    let id = format!("alt-{}", hex::encode(os_entropy()?));
    let view = state
        .store
        .checkout_allotment(&ctx, state.keys.signer.clone(), caller.account_id, req, id)
        .await?;
    Ok(Json(view))
}

/// One allotment of the caller's account.
#[utoipa::path(get, path = "/v1/field/allotments/{id}", tag = "field", params(("id" = String, Path)),
    responses((status = 200, body = AllotmentView), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_allotment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AllotmentView>> {
    Ok(Json(state.store.allotment(caller.account_id, id).await?))
}

/// Return an allotment: its unused reservations go back to the order.
/// Returning again changes nothing.
#[utoipa::path(post, path = "/v1/field/allotments/{id}/return", tag = "field", params(("id" = String, Path)),
    responses((status = 200, body = AllotmentView), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn return_allotment(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<AllotmentView>> {
    Ok(Json(
        state
            .store
            .return_allotment(&ctx, caller.account_id, id)
            .await?,
    ))
}

/// Reconcile a field kit's ledger export (the body): every entry's chain
/// and the ledger are verified; each slot is consumed exactly once however
/// often the same ledger (or a longer one) is uploaded.
#[utoipa::path(post, path = "/v1/field/allotments/{id}/reconcile", tag = "field", params(("id" = String, Path)),
    request_body(content = String, description = "the ledger export JSON", content_type = "application/json"),
    responses((status = 200, body = ReconcileReport), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn reconcile(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Path(id): Path<String>,
    Bytes(body): Bytes,
) -> Result<Json<ReconcileReport>> {
    // Verified before the write: signature checks never hold the writer.
    let ledger = verify_export(&body, state.keys.signer.keyset()).map_err(ApiError::core)?;
    Ok(Json(
        state
            .store
            .reconcile_allotment(&ctx, caller.account_id, id, ledger)
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this allotment's entries.
    pub allotment: Option<String>,
    /// Opaque cursor from the previous page's `next_cursor`: entries older
    /// than that page's last.
    pub cursor: Option<String>,
    /// Page size 1..=500 (default 100).
    pub limit: Option<u32>,
}

/// The field audit log of the caller's account (checkouts, issuances,
/// reconciliations, returns, expiries), newest first, paged by cursor.
#[utoipa::path(get, path = "/v1/field/audit", tag = "field", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("LIMIT_INVALID", "limit must be 1 to 500"));
    }
    let before: i64 = match q.cursor.as_deref() {
        None | Some("") => i64::MAX,
        Some(c) => c.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::invalid(
                "CURSOR_INVALID",
                "the cursor is not one this server returned: start again without it",
            )
        })?,
    };
    Ok(Json(
        state
            .store
            .field_audit(caller.account_id, q.allotment, before, limit)
            .await?,
    ))
}
