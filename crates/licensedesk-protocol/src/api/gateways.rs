//! Gateway licenses: an order as its owner looks it up, online activation.
// Doc comments here are the OpenAPI descriptions: a type or field that had
// none in the server's document has a plain comment instead.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

// `POST /v1/gateway/orders/lookup`'s body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OrderLookup {
    pub order_no: String,
    pub email: String,
}

// An order: its code, how many licenses it sells and how many are used,
// and each activation (the answer of the order lookup and of the vendor's
// order creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub order_no: String,
    pub product: Option<String>,
    pub customer: String,
    pub activation_code: String,
    pub quantity: u32,
    pub used: u32,
    pub remaining: u32,
    pub max_connections: u32,
    pub max_tags: u32,
    pub plugins: Vec<String>,
    pub validity_days: u32,
    pub activations: Vec<ActivationView>,
}

// One activation of an order: the hardware, its license and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ActivationView {
    pub fingerprint: String,
    pub license_id: String,
    pub issued_at: DateTime<Utc>,
    pub reissued: u32,
}

// `POST /v1/gateway/activate`'s body: an order's activation code and the
// gateway's hardware fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ActivateRequest {
    pub code: String,
    pub fingerprint: String,
}

// `POST /v1/gateway/activate`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ActivateResponse {
    /// The armoured, signed license file text.
    pub license: String,
    pub license_id: String,
    /// `true` when this hardware already had a license from this order.
    pub reissued: bool,
    pub remaining: u32,
}
