//! The wire types the license server and its clients share: the change
//! feed's records ([`feed`]), the snapshot's rows ([`snapshot`]), the
//! bodies of the HTTP API that both sides hold ([`api`]: requests, answers,
//! the feed's and the snapshot's pages) and the error body ([`ErrorBody`]).
//! No IO:
//! the server writes feed rows from [`Record`], the desktop client reads
//! them back into the same types.
//!
//! **The JSON is held to what clients already hold.** Until this crate,
//! the server wrote each payload with `serde_json::json!`, whose maps sort
//! their keys; the payload structs therefore declare their fields in that
//! order (and leave out, rather than send `null` for, a field a payload
//! never had), so a record serializes to the very bytes it did before
//! (`tests/wire.rs` holds every shape the server writes).

pub mod api;
mod error;
pub mod feed;
pub mod snapshot;
mod text;

pub use error::ErrorBody;
pub use feed::{Change, Entity, Op, Record};
pub use text::{Text, instant};
