//! Overage billing of a product for one local month (domain.md §1: billed on
//! the 1st of the next month, first offset by top-up packages).

use axum::extract::State;
use chrono::{DateTime, Utc};
use licensedesk_core::package::quota::{
    OverageBill, bill_overage, ota_window, overage_billing_instant,
};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::common;
use crate::api::extract::{Json, Path, Query};
use crate::auth::Caller;
use crate::db::ts;
use crate::error::{ApiError, Result};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BillingQuery {
    /// Any instant of the month to bill (default: now, the current month).
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Bill {
    /// Units beyond the allowance still to bill after the top-ups.
    pub billed: u64,
    /// Top-up units that offset the overage.
    pub topups_used: u64,
}

impl From<OverageBill> for Bill {
    fn from(b: OverageBill) -> Self {
        Self {
            billed: b.billed,
            topups_used: b.topups_used,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BillingPreview {
    pub pk: String,
    /// The local month, as a UTC interval.
    pub month_start: DateTime<Utc>,
    pub month_end: DateTime<Utc>,
    /// When this month's overage is billed: the 1st of the next local month.
    pub billed_at: DateTime<Utc>,
    pub message_overage: u64,
    pub messages: Bill,
    pub ota_overage: u64,
    pub ota: Bill,
}

/// Overage of a product's devices in one local month and what would be
/// billed after offsetting the product's top-ups (a preview: top-ups are
/// not deducted by this call).
#[utoipa::path(get, path = "/v1/products/{pk}/billing", tag = "usage",
    params(("pk" = String, Path), BillingQuery),
    responses((status = 200, body = BillingPreview), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(pk): Path<String>,
    Query(q): Query<BillingQuery>,
) -> Result<Json<BillingPreview>> {
    let id = caller.account_id;
    let at = match q.at {
        Some(at) => licensedesk_core::bounds::instant("at", at).map_err(ApiError::core)?,
        None => state.now(),
    };
    let out = state
        .db
        .read(move |c| {
            let tz = common::account(c, id)?.tz()?;
            let p = common::product_by_pk(c, id, &pk)?;
            let month = ota_window(at, tz).map_err(ApiError::core)?;
            let billed_at = overage_billing_instant(at, tz).map_err(ApiError::core)?;
            let (start, end) = (ts(month.start), ts(month.end));
            let msgs: i64 = c
                .prepare_cached(
                    "SELECT COALESCE(SUM(u.overage), 0) FROM usage_days u JOIN devices d ON d.id = u.device_id
                     WHERE d.product_id = ?1 AND u.day >= ?2 AND u.day < ?3",
                )?
                .query_row(params![p.id, start, end], |r| r.get(0))?;
            let ota: i64 = c
                .prepare_cached(
                    "SELECT COALESCE(SUM(u.ota_overage), 0) FROM usage_months u JOIN devices d ON d.id = u.device_id
                     WHERE d.product_id = ?1 AND u.month = ?2",
                )?
                .query_row(params![p.id, start], |r| r.get(0))?;
            let (msgs, ota) = (msgs.max(0) as u64, ota.max(0) as u64);
            Ok(BillingPreview {
                month_start: month.start,
                month_end: month.end,
                billed_at,
                message_overage: msgs,
                messages: bill_overage(msgs, p.message_topups.max(0) as u64).into(),
                ota_overage: ota,
                ota: bill_overage(ota, p.ota_topups.max(0) as u64).into(),
                pk: p.pk,
            })
        })
        .await?;
    Ok(Json(out))
}
