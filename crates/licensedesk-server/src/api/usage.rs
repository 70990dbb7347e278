//! Usage reports (messages, OTA upgrades) against the product's package in
//! the data center's local day and month, a device's log, a month's
//! overage preview and the closed months' statements.

use axum::extract::State;
use chrono::{DateTime, Utc};
use licensedesk_core::package::image_size_from_i64;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::extract::{Json, Path, Query};
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::store::Ctx;
use crate::store::statements::Statement;
use crate::store::usage::{BillingPreview, LogEntry, UsageResponse};

#[derive(Debug, Deserialize, ToSchema)]
pub struct MessageReport {
    /// Messages to count (uplink and downlink together); default 1.
    pub count: Option<u64>,
    /// `up` (default) or `down`; recorded in the device log.
    pub direction: Option<String>,
}

/// Report messages of a device. Under `block`, messages beyond the daily
/// allowance are refused (403 MESSAGE_QUOTA_EXCEEDED) until local midnight;
/// under `bill` they pass and count as overage.
#[utoipa::path(post, path = "/v1/devices/{pk}/{dk}/messages", tag = "usage",
    params(("pk" = String, Path), ("dk" = String, Path)), request_body = MessageReport,
    responses((status = 200, body = UsageResponse), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Path((pk, dk)): Path<(String, String)>,
    Json(req): Json<MessageReport>,
) -> Result<Json<UsageResponse>> {
    let count = licensedesk_core::bounds::MESSAGE_REPORT
        .check(req.count.unwrap_or(1))
        .map_err(ApiError::core)?;
    let direction = req.direction.unwrap_or_else(|| "up".into());
    if !matches!(direction.as_str(), "up" | "down") {
        return Err(ApiError::invalid(
            "USAGE_INVALID",
            "direction must be \"up\" or \"down\"",
        ));
    }
    Ok(Json(
        state
            .store
            .report_messages(&ctx, caller.account_id, pk, dk, count, direction)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OtaReport {
    /// Firmware image size in bytes (≥ 1).
    #[schema(minimum = 1)]
    pub bytes: i64,
}

/// Report an OTA upgrade: it costs `max(1, ceil(bytes / cap))` attempts.
/// Under `block` it is refused (403 OTA_QUOTA_EXCEEDED) unless this
/// month's attempts plus top-ups cover it; under `bill` the excess is overage.
#[utoipa::path(post, path = "/v1/devices/{pk}/{dk}/ota", tag = "usage",
    params(("pk" = String, Path), ("dk" = String, Path)), request_body = OtaReport,
    responses((status = 200, body = UsageResponse), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn ota(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Path((pk, dk)): Path<(String, String)>,
    Json(req): Json<OtaReport>,
) -> Result<Json<UsageResponse>> {
    let bytes = image_size_from_i64(req.bytes).map_err(ApiError::core)?;
    Ok(Json(
        state
            .store
            .report_ota(&ctx, caller.account_id, pk, dk, bytes)
            .await?,
    ))
}

/// A device's raw log (kept for the package's storage duration).
#[utoipa::path(get, path = "/v1/devices/{pk}/{dk}/logs", tag = "usage",
    params(("pk" = String, Path), ("dk" = String, Path)),
    responses((status = 200, body = Vec<LogEntry>)), security(("bearer" = [])))]
pub async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    Path((pk, dk)): Path<(String, String)>,
) -> Result<Json<Vec<LogEntry>>> {
    Ok(Json(
        state.store.device_logs(caller.account_id, pk, dk).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BillingQuery {
    /// Any instant of the month to bill (default: now, the current month).
    pub at: Option<DateTime<Utc>>,
}

/// Overage of a product's devices in one local month and what would be
/// billed after offsetting the product's top-ups (a preview: top-ups are
/// not deducted by this call; the month's close does that).
#[utoipa::path(get, path = "/v1/products/{pk}/billing", tag = "usage",
    params(("pk" = String, Path), BillingQuery),
    responses((status = 200, body = BillingPreview), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn billing(
    State(state): State<AppState>,
    caller: Caller,
    Path(pk): Path<String>,
    Query(q): Query<BillingQuery>,
) -> Result<Json<BillingPreview>> {
    let at = match q.at {
        Some(at) => licensedesk_core::bounds::instant("at", at).map_err(ApiError::core)?,
        None => state.now(),
    };
    Ok(Json(
        state
            .store
            .billing_preview(caller.account_id, pk, at)
            .await?,
    ))
}

/// A product's statements, newest month first.
#[utoipa::path(get, path = "/v1/products/{pk}/statements", tag = "usage", params(("pk" = String, Path)),
    responses((status = 200, body = Vec<Statement>), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn statements(
    State(state): State<AppState>,
    caller: Caller,
    Path(pk): Path<String>,
) -> Result<Json<Vec<Statement>>> {
    Ok(Json(state.store.statements(caller.account_id, pk).await?))
}
