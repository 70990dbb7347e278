//! Resource Management → License Management: the account's data center
//! counters and every code's consumption details, keyset-paged.

use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use licensedesk_core::codes::StatusFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::extract::{Json, Query};
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::store::views::{CodeDetail, ConsumptionQuery as StoreQuery, Sort};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsumptionQuery {
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size 1..=500 (default 100).
    pub limit: Option<u32>,
    /// Filter by product key.
    pub pk: Option<String>,
    /// `unused`, `active` or `expired`; or `used` / `consumed` (active and
    /// expired) or `remaining` / `available` (unused); any case.
    pub status: Option<String>,
    /// Only codes expiring within this many days from now.
    pub expiring_within_days: Option<u32>,
    /// Search a device key or a code (substring).
    pub q: Option<String>,
    /// `id` (default), `consumed_at` or `expires_at`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsumptionPage {
    pub data_center: String,
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    pub items: Vec<CodeDetail>,
    pub next_cursor: Option<String>,
}

/// Where a page ends, as the client carries it (opaque).
#[derive(Serialize, Deserialize)]
struct Cursor {
    k: String,
    id: i64,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::invalid("QUERY_INVALID", msg)
}

/// License Management consumption details (the account's data center only).
#[utoipa::path(get, path = "/v1/licenses", tag = "licenses", params(ConsumptionQuery),
    responses((status = 200, body = ConsumptionPage), (status = 400, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn consumption(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ConsumptionQuery>,
) -> Result<Json<ConsumptionPage>> {
    let sort = match q.sort.as_deref().unwrap_or("id") {
        "id" => Sort::Id,
        "consumed_at" => Sort::ConsumedAt,
        "expires_at" => Sort::ExpiresAt,
        other => {
            return Err(bad(format!(
                "sort {other:?}: use id, consumed_at or expires_at"
            )));
        }
    };
    let desc = match q.order.as_deref().unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        other => return Err(bad(format!("order {other:?}: use asc or desc"))),
    };
    let status = q
        .status
        .as_deref()
        .map(|s| StatusFilter::parse(s).map_err(|e| bad(e.to_string())))
        .transpose()?;
    let after = q
        .cursor
        .as_deref()
        .map(|c| {
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| serde_json::from_slice::<Cursor>(&b).ok())
                .map(|c| (c.k, c.id))
                .ok_or_else(|| {
                    bad("cursor is not one this server returned; start again without it")
                })
        })
        .transpose()?;
    let query = StoreQuery {
        limit: q.limit.unwrap_or(100).clamp(1, 500),
        pk: q.pk,
        status,
        expiring_within_days: q.expiring_within_days,
        q: q.q,
        sort,
        desc,
        after,
    };
    let page = state
        .store
        .consumption(caller.account_id, query, state.now())
        .await?;
    Ok(Json(ConsumptionPage {
        data_center: page.data_center,
        total: page.total,
        used: page.used,
        remaining: page.remaining,
        items: page.items,
        next_cursor: page.next.map(|(k, id)| {
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&Cursor { k, id }).unwrap_or_default())
        }),
    }))
}
