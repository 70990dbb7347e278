//! Public key set and signed server time.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::extract::Json;

/// The public key set: every key that ever signed, and the current one.
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, description = "`{keys:[{kid,alg,public_key,created_at}], current}`", body = Object)))]
pub async fn keyset(State(state): State<AppState>) -> Json<licensedesk_core::keys::KeySet> {
    Json(state.keys.signer.keyset().clone())
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
