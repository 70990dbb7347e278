//! Gateway licenses: orders (admin), order lookup (order number + e-mail),
//! online activation with a code + hardware fingerprint, offline activation
//! (request bundle in, signed response bundle out). The store
//! (`store::gateways`) keeps and signs; failed attempts are rate limited.

use axum::extract::State;
use licensedesk_core::activation_code::ActivationCode;
use licensedesk_core::fingerprint::normalize_fingerprint;
use licensedesk_core::offline::parse_request;
use licensedesk_protocol::api::gateways::{
    ActivateRequest, ActivateResponse, OrderLookup, OrderView,
};

use crate::AppState;
use crate::api::extract::{Bytes, Json};
use crate::auth::{Admin, Attempter};
use crate::error::{ApiError, Result};
use crate::store::Ctx;
use crate::store::codes::{code_from_entropy, os_entropy};
use crate::store::gateways::NewOrder;

/// Create a gateway license order with an activation code (admin).
#[utoipa::path(post, path = "/v1/admin/gateway-orders", tag = "gateways", request_body = NewOrder,
    responses((status = 200, body = OrderView)), security(("bearer" = [])))]
pub async fn create_order(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Json(o): Json<NewOrder>,
) -> Result<Json<OrderView>> {
    let code = code_from_entropy(os_entropy()?);
    Ok(Json(state.store.create_order(&ctx, o, code).await?))
}

/// Look up an order with its number and e-mail (rate limited on failure).
#[utoipa::path(post, path = "/v1/gateway/orders/lookup", tag = "gateways", request_body = OrderLookup,
    responses((status = 200, body = OrderView), (status = 404, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn lookup_order(
    State(state): State<AppState>,
    who: Attempter,
    Json(q): Json<OrderLookup>,
) -> Result<Json<OrderView>> {
    let now = state.now();
    state.limiter.check(&who.keys(), now).await?;
    let found = state.store.lookup_order(q.order_no, q.email).await?;
    match found {
        Some(order) => Ok(Json(order)),
        None => {
            state.limiter.record_failure(&who.keys(), now).await;
            Err(ApiError::NotFound("order with this number and e-mail"))
        }
    }
}

/// Activate a gateway online: activation code + hardware fingerprint →
/// signed license. The same hardware again gets its license re-issued
/// without consuming another one. Unknown codes count as failed attempts.
#[utoipa::path(post, path = "/v1/gateway/activate", tag = "gateways", request_body = ActivateRequest,
    responses((status = 200, body = ActivateResponse), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn activate(
    State(state): State<AppState>,
    who: Attempter,
    ctx: Ctx,
    Json(req): Json<ActivateRequest>,
) -> Result<Json<ActivateResponse>> {
    let now = ctx.now;
    state.limiter.check(&who.keys(), now).await?;
    // A mistyped or unknown code counts as a failed attempt.
    let code = match ActivationCode::parse(&req.code) {
        Ok(code) => code.canonical(),
        Err(e) => {
            state.limiter.record_failure(&who.keys(), now).await;
            return Err(ApiError::core(e));
        }
    };
    let fp = normalize_fingerprint(&req.fingerprint).map_err(ApiError::core)?;
    let out = state
        .store
        .activate_gateway(&ctx, state.keys.signer.clone(), code, fp)
        .await;
    if let Err(ApiError::NotFound(_)) = &out {
        state.limiter.record_failure(&who.keys(), now).await;
    }
    Ok(Json(out?))
}

/// Offline activation: a request bundle (`.ldreq` JSON) in, a signed
/// response bundle (`.ldresp`) out, one license or refusal per gateway.
/// Entries naming an order number or a product are refused (an order needs
/// its e-mail: use its activation code; a product is for field kits).
#[utoipa::path(post, path = "/v1/gateway/offline", tag = "gateways",
    request_body(content = String, description = "the request bundle JSON", content_type = "application/json"),
    responses((status = 200, description = "the signed response bundle", body = String),
        (status = 400, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn offline_activate(
    State(state): State<AppState>,
    who: Attempter,
    ctx: Ctx,
    Bytes(body): Bytes,
) -> Result<String> {
    let now = ctx.now;
    state.limiter.check(&who.keys(), now).await?;
    let request = parse_request(&body).map_err(ApiError::core)?;
    let (response, failures) = state
        .store
        .answer_offline(&ctx, state.keys.signer.clone(), request)
        .await?;
    for _ in 0..failures {
        state.limiter.record_failure(&who.keys(), now).await;
    }
    Ok(response)
}
