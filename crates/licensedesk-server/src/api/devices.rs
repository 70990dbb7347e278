//! Devices: connect (consumption, reconnect, renewal, offline for want of
//! codes) and detail.

use axum::extract::State;
use licensedesk_core::bounds;

use crate::AppState;
use crate::api::extract::{Json, Path};
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::store::Ctx;
use crate::store::devices::{ConnectRequest, ConnectResponse, Connected};
use crate::store::usage::DeviceDetail;

/// A device connects: the first connection consumes a code of its product;
/// reconnecting consumes nothing; an expired code is renewed from the pool;
/// an empty pool leaves the device offline and inactive (409 NO_CODES_AVAILABLE).
#[utoipa::path(post, path = "/v1/devices/connect", tag = "devices", request_body = ConnectRequest,
    responses((status = 200, body = ConnectResponse), (status = 409, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn connect(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Json(req): Json<ConnectRequest>,
) -> Result<Json<ConnectResponse>> {
    bounds::DEVICE_KEY.check(&req.dk).map_err(ApiError::core)?;
    if let Some(hw) = &req.hardware_id {
        bounds::HARDWARE_ID.check(hw).map_err(ApiError::core)?;
    }
    if let Some(via) = &req.via {
        licensedesk_core::datacenter::time_zone(via).map_err(ApiError::core)?;
    }
    match state
        .store
        .connect_device(&ctx, caller.account_id, req)
        .await?
    {
        Connected::Connected(r) => Ok(Json(r)),
        Connected::NoCodes { pk, unassigned } => Err(ApiError::NoCodesAvailable { pk, unassigned }),
    }
}

/// Device detail, with today's and this month's usage.
#[utoipa::path(get, path = "/v1/devices/{pk}/{dk}", tag = "devices",
    params(("pk" = String, Path), ("dk" = String, Path)),
    responses((status = 200, body = DeviceDetail), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path((pk, dk)): Path<(String, String)>,
) -> Result<Json<DeviceDetail>> {
    Ok(Json(
        state
            .store
            .device_detail(caller.account_id, pk, dk, state.now())
            .await?,
    ))
}
