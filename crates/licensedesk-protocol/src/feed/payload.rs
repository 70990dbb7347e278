//! The payload of each record: the entity after the change, or what the
//! change set of it. Fields are declared in sorted order, as the `json!`
//! maps these replaced wrote them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::text::Text;

/// Reads a field that is present (`null` included) as `Some`: with
/// `#[serde(default)]`, an absent one stays `None`.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// An account: created (`data_center`, `kind`, `name`) or verified as an
/// enterprise (`kind`, `verified_enterprise`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_center: Option<String>,
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_enterprise: Option<bool>,
}

/// A product (entity id: its PK): created (`id`, `name`, `package`,
/// `overage_policy`), or what an update changed: its package and/or
/// policy, or its top-up balances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_topups: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ota_topups: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overage_policy: Option<String>,
    /// Core's `Package` as JSON: absent = unchanged, `null` = none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub package: Option<Option<Value>>,
    pub pk: String,
}

impl ProductChange {
    /// An update of `pk` that changes nothing yet.
    pub fn of(pk: impl Into<String>) -> Self {
        Self {
            id: None,
            message_topups: None,
            name: None,
            ota_topups: None,
            overage_policy: None,
            package: None,
            pk: pk.into(),
        }
    }
}

/// A batch of codes: `free` (granted), or `purchase` (with the product's
/// PK, its package and the purchase reference, `null` when none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchChange {
    pub id: i64,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pk: Option<String>,
    pub quantity: u64,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub reference: Option<Option<String>>,
}

/// A code as created (`product_id` `null` = unassigned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeInsert<'a> {
    pub batch_id: i64,
    #[serde(borrow)]
    pub code: Text<'a>,
    pub id: i64,
    #[serde(default)]
    pub product_id: Option<i64>,
}

/// A code's assignment to a product (`id`, `product_id`), or its
/// consumption by a device (`code`, `consumed_at`, `device_id`, `dk`,
/// `expires_at`, `pk`). Times are RFC 3339.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CodeUpdate<'a> {
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Text<'a>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub consumed_at: Option<Text<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<i64>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub dk: Option<Text<'a>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Text<'a>>,
    pub id: i64,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub pk: Option<Text<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<i64>,
}

/// A device as it is after the change. Times are RFC 3339; an absent
/// `online` reads as `false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceChange<'a> {
    #[serde(borrow)]
    pub activated_at: Option<Text<'a>>,
    #[serde(borrow)]
    pub dk: Text<'a>,
    #[serde(borrow)]
    pub expires_at: Option<Text<'a>>,
    #[serde(borrow)]
    pub hardware_id: Option<Text<'a>>,
    pub id: i64,
    #[serde(borrow)]
    pub offline_reason: Option<Text<'a>>,
    #[serde(default)]
    pub online: bool,
    #[serde(borrow)]
    pub pk: Text<'a>,
    #[serde(borrow)]
    pub status: Text<'a>,
}

/// A device's usage now (the server's `UsageNow` as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageChange {
    pub dk: String,
    pub pk: String,
    pub usage: Value,
}

/// A product's closed month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Statement {
    pub id: i64,
    pub pk: String,
    /// The local month, `YYYY-MM`.
    pub month: String,
    pub month_start: DateTime<Utc>,
    pub month_end: DateTime<Utc>,
    /// `block` or `bill`, as the product had it at the close.
    pub overage_policy: String,
    /// Messages beyond the daily allowances (recorded under `bill`).
    pub message_overage: u64,
    /// Message top-ups the close used up to offset them.
    pub message_topups_applied: u64,
    pub messages_billed: u64,
    /// OTA attempts beyond the monthly allowances (recorded under `bill`).
    pub ota_overage: u64,
    pub ota_topups_applied: u64,
    pub ota_billed: u64,
    /// Prepaid OTA attempts upgrades took during the month (under `block`).
    pub ota_topups_used_in_month: u64,
    /// The product's top-up balances after the close.
    pub message_topups_left: u64,
    pub ota_topups_left: u64,
    pub closed_at: DateTime<Utc>,
}

/// A product's device logs purged before `before` (entity id: the PK).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogsPurged {
    pub before: DateTime<Utc>,
    pub pk: String,
    pub purged: u64,
}

/// A floating pool as sold (entity id: its name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloatingPool {
    pub name: String,
    pub plugins: Vec<String>,
    pub points: u32,
    pub ttl_seconds: u32,
}

/// A lease claimed or extended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseChange {
    pub expires_at: DateTime<Utc>,
    pub fingerprint: String,
    pub points: u32,
    pub pool: String,
}

/// Why a lease ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseEndReason {
    /// The gateway gave it back.
    Released,
    /// Its time ran out (the maintenance culled it).
    Lapsed,
}

/// A lease that ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseEnd {
    pub fingerprint: String,
    pub pool: String,
    pub reason: LeaseEndReason,
}

/// A gateway order as sold (entity id: its order number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayOrder {
    pub activation_code: String,
    pub customer: String,
    pub id: i64,
    pub max_connections: u32,
    pub max_tags: u32,
    pub order_no: String,
    pub plugins: Vec<String>,
    pub product: Option<String>,
    pub quantity: u32,
    pub validity_days: u32,
}

/// A gateway license of an order: issued online (`issued_at`), by a
/// field kit (`issued_at`, `allotment_id`), or re-issued to hardware that
/// held one (`reissued`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allotment_id: Option<String>,
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<DateTime<Utc>>,
    pub license_id: String,
    pub order_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reissued: Option<bool>,
}

/// A gateway license installed on a gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayInstall {
    pub fingerprint: String,
    pub id: i64,
    pub installed_at: DateTime<Utc>,
    /// Core's `LicenseKind` (`trial`, `file`, `activation`, `floating`).
    pub kind: String,
    pub license_id: String,
    /// Core's `InstallSource` (`file`, `activation`, `offline`, `field`).
    pub source: String,
}
