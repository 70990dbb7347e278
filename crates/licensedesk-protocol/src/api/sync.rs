//! The pages a client syncs with: the change feed's and the snapshot's.
//!
//! The signed server time `T` is a `serde_json::Value` as the server writes
//! it; a client reads it as raw JSON (`&RawValue`), to verify the envelope
//! it is. The snapshot's strings `S` are `String` on the server and
//! borrowed [`Text`](crate::Text) in the client, as in [`crate::snapshot`].
// No doc comment on the types: it would be the schema's description, which
// the document never had.

use serde::{Deserialize, Serialize};

use crate::feed::Change;
use crate::snapshot::{SnapshotCode, SnapshotDevice};

// `GET /v1/changes`'s answer: a page of the feed after a cursor.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(bound = ""))]
pub struct ChangesPage<T = serde_json::Value> {
    pub changes: Vec<Change>,
    /// Opaque cursor to pass as `since` next time (even when empty).
    pub next: String,
    pub has_more: bool,
    /// The server's time, signed (for the client's clock guard).
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub server_time: T,
}

// `GET /v1/snapshot`'s answer: a page of the account as it is now.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(bound = ""))]
pub struct SnapshotPage<S = String, T = serde_json::Value> {
    /// Feed changes up to `upto` about neither a code nor a device, in
    /// `seq` order (first section).
    pub changes: Vec<Change>,
    /// Codes by id (second section).
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<SnapshotCode>))]
    pub codes: Vec<SnapshotCode<S>>,
    /// Devices by id (third section).
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<SnapshotDevice>))]
    pub devices: Vec<SnapshotDevice<S>>,
    /// Opaque cursor of the next page (pass as `cursor`).
    pub next: String,
    /// `false` on the last page: continue with the change feed from `upto`.
    pub has_more: bool,
    /// The change-feed cursor the snapshot is complete up to (`since` of
    /// the feed once the last page is applied).
    pub upto: String,
    /// Rows of the whole snapshot, counted when its first page was read
    /// (first page only; rows written since may make it a bit more).
    pub total: Option<u64>,
    /// The server's time, signed (for the client's clock guard).
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub server_time: T,
}
