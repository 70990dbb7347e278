//! Field allotments: the checkout of licenses for a field kit's delegate
//! key, the allotment as the server keeps it, the reconcile's report and
//! the audit log.
// Doc comments here are the OpenAPI descriptions: a type or field that had
// none in the server's document has a plain comment instead.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

// `POST /v1/field/allotments`'s body (what is `None` is left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CheckoutRequest {
    /// Check out from this order… (exactly one of `order_no` and `product`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    /// …or from the account's orders of this gateway product, oldest first
    /// (licensedesk-core's `plan_allotment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    pub count: u32,
    pub days: u32,
    pub delegate_kid: String,
    /// base64url (no padding) Ed25519 public key; the private key never
    /// leaves the field kit.
    pub delegate_public_key: String,
}

/// Slots `first_slot .. first_slot + count` of an allotment count against
/// order `order_no`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AllotmentOrderView {
    pub order_no: String,
    pub first_slot: u32,
    pub count: u32,
}

// An allotment as the server keeps it (the answer of its checkout, return
// and lookup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AllotmentView {
    pub allotment_id: String,
    /// `order` (checked out from one order) or `product` (from the
    /// product's orders).
    pub scope: String,
    /// The order of an order allotment.
    pub order_no: Option<String>,
    /// The product of a product allotment, or the order's product.
    pub product: Option<String>,
    /// The orders the slots count against, in slot order.
    pub orders: Vec<AllotmentOrderView>,
    pub max_licenses: u32,
    /// Slots reconciled as consumed.
    pub consumed: u32,
    pub conflicts: u32,
    /// Slots still reserved (0 once returned or expired).
    pub reserved: u32,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub state: String,
    /// The signed delegate certificate envelope (JSON text).
    pub certificate: String,
}

// A slot the server did not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SlotConflict {
    pub slot: u32,
    pub fingerprint: String,
    pub license_id: String,
    /// `HARDWARE_ALREADY_ACTIVATED` (the gateway got a license of this order
    /// — of a product allotment: of any order of its product — elsewhere
    /// meanwhile) or `ORDER_EXHAUSTED` (issued after the allotment
    /// was returned or expired, and the order has no license left).
    pub code: String,
}

// The answer of a reconcile (`POST /v1/field/allotments/{id}/reconcile`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReconcileReport {
    pub allotment: AllotmentView,
    /// Records in the uploaded ledger.
    pub entries: u64,
    /// Records this upload stored for the first time.
    pub new_entries: u64,
    /// Slots this upload consumed for the first time.
    pub newly_consumed: u32,
    /// Every conflicting slot of the allotment.
    pub conflicts: Vec<SlotConflict>,
}

// One entry of the field audit log (checkout, issuance, reconcile, return,
// expire).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub allotment_id: String,
    pub at: String,
    pub action: String,
    pub detail: serde_json::Value,
}

/// One page of the field audit log, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where the next (older) page starts; absent on the last page.
    pub next_cursor: Option<String>,
}
