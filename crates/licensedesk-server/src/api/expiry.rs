//! Devices whose code expires within N days (default 30), searchable, with
//! whether a replacement code is available for each.

use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::api::extract::{Json, Query};
use crate::auth::Caller;
use crate::error::Result;
use crate::store::views::{NearExpiryList, NearExpiryQuery as StoreQuery};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearExpiryQuery {
    /// Window in days (default 30, at most 3650).
    pub days: Option<u32>,
    /// Free text matched against product name, PK and DK.
    pub q: Option<String>,
    pub product: Option<String>,
    pub pk: Option<String>,
    pub dk: Option<String>,
    /// Local dates (YYYY-MM-DD, data center's calendar), inclusive.
    pub activated_from: Option<NaiveDate>,
    pub activated_to: Option<NaiveDate>,
    pub expires_from: Option<NaiveDate>,
    pub expires_to: Option<NaiveDate>,
}

/// Devices with near-expiry activation codes.
#[utoipa::path(get, path = "/v1/devices/near-expiry", tag = "devices", params(NearExpiryQuery),
    responses((status = 200, body = NearExpiryList)), security(("bearer" = [])))]
pub async fn near_expiry(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<NearExpiryQuery>,
) -> Result<Json<NearExpiryList>> {
    let query = StoreQuery {
        days: q
            .days
            .unwrap_or(licensedesk_core::device::NEAR_EXPIRY_DEFAULT_DAYS)
            .min(3650),
        q: q.q,
        product: q.product,
        pk: q.pk,
        dk: q.dk,
        activated_from: q.activated_from,
        activated_to: q.activated_to,
        expires_from: q.expires_from,
        expires_to: q.expires_to,
    };
    Ok(Json(
        state
            .store
            .near_expiry(caller.account_id, query, state.now())
            .await?,
    ))
}
