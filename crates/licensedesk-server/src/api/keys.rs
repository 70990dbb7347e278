//! Public key set and signed server time.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::extract::Json;

/// The public key set: every key that ever signed, the current one, and
/// the chain of rotations (each new set signed by the key current before
/// it; core's `trust` format), by which a client that trusts an older set
/// accepts a new key.
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, description = "`{keys:[{kid,alg,public_key,created_at}], current, chain:[envelope]}` (`chain` absent before the first rotation)", body = Object)))]
pub async fn keyset(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.keys.signer.published(),
    )
}

#[derive(Serialize, ToSchema)]
pub struct TimeResponse {
    /// Signed server time statement (an envelope).
    #[schema(value_type = Object)]
    pub server_time: serde_json::Value,
}

/// The server's time, signed, for a client's clock guard.
#[utoipa::path(get, path = "/v1/time", tag = "keys", responses((status = 200, body = TimeResponse)))]
pub async fn time(State(state): State<AppState>) -> Json<TimeResponse> {
    Json(TimeResponse {
        server_time: signed_time(&state),
    })
}

/// The current server time as a signed envelope (core's server-time
/// statement, verified by clients with `verify_server_time`).
pub fn signed_time(state: &AppState) -> serde_json::Value {
    let env = licensedesk_core::clock::sign_server_time(state.now(), state.keys.signer.key());
    serde_json::to_value(env).unwrap_or(serde_json::Value::Null)
}
