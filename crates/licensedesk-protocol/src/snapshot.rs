//! The snapshot's rows: a fresh client's codes and devices as they are
//! now, whole (the feed's other entities come as [`crate::Change`]s).
//! Times are RFC 3339 UTC with microseconds, as the server stores them.
//!
//! A row's strings are of type `S`: `String` as the server writes them,
//! [`Text`] as a client reads a page (borrowed from the page's text).

use serde::{Deserialize, Serialize};

use crate::feed::DeviceChange;
use crate::text::Text;

/// A code as it is now. Times are RFC 3339 UTC with microseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SnapshotCode<S = String> {
    pub id: i64,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub code: S,
    pub batch_id: i64,
    /// `null` = unassigned.
    pub product_id: Option<i64>,
    /// The device that consumed it (`null` = unconsumed).
    pub device_id: Option<i64>,
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub consumed_at: Option<S>,
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<S>,
}

/// A device as it is now: the fields of the feed's device rows.
// The feed's row is [`DeviceChange`]; an absent `online` reads as `false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SnapshotDevice<S = String> {
    pub id: i64,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub pk: S,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub dk: S,
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>))]
    pub hardware_id: Option<S>,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub status: S,
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(required = true))]
    pub online: bool,
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>))]
    pub offline_reason: Option<S>,
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub activated_at: Option<S>,
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<S>,
}

impl<'a> From<SnapshotDevice<Text<'a>>> for DeviceChange<'a> {
    /// The same device, as the feed's row of it.
    fn from(d: SnapshotDevice<Text<'a>>) -> Self {
        Self {
            activated_at: d.activated_at,
            dk: d.dk,
            expires_at: d.expires_at,
            hardware_id: d.hardware_id,
            id: d.id,
            offline_reason: d.offline_reason,
            online: d.online,
            pk: d.pk,
            status: d.status,
        }
    }
}
