//! Admin operations.

use axum::extract::State;

use crate::AppState;
use crate::api::extract::Json;
use crate::auth::Admin;
use crate::error::Result;
use crate::jobs::{self, Report};

/// Run the maintenance jobs now (renewals at expiry, lapsed leases, log
/// retention). They also run every 30 s in the background.
#[utoipa::path(post, path = "/v1/admin/maintenance", tag = "admin",
    responses((status = 200, body = Report)), security(("bearer" = [])))]
pub async fn maintenance(State(state): State<AppState>, _admin: Admin) -> Result<Json<Report>> {
    Ok(Json(jobs::run_once(&state).await?))
}
