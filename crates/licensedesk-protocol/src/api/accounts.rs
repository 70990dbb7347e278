//! An account as its owner sees it, and assigning its codes to a product.

use serde::{Deserialize, Serialize};

// `GET /v1/account`'s answer: the account, its data center and time zone
// (which the feed does not carry) and its code counters. (No doc comment:
// it would be the schema's description, which the document never had.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Overview {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub data_center: String,
    pub time_zone: String,
    pub verified_enterprise: bool,
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    /// Unconsumed codes not yet assigned to a product (free codes arrive so).
    pub unassigned: u64,
    /// Free codes granted so far.
    pub free_codes: u64,
}

// `POST /v1/products/{pk}/assign`'s body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AssignRequest {
    /// 1 to 1,000,000, at most the account's unassigned codes.
    #[cfg_attr(feature = "utoipa", schema(minimum = 1, maximum = 1_000_000))]
    pub count: u64,
}
