//! The HTTP API's bodies that the server and its clients both hold: what a
//! client sends ([`gateways::ActivateRequest`], [`floating::LeaseRequest`],
//! [`field::CheckoutRequest`], …) and what the server answers with
//! ([`gateways::OrderView`], [`floating::PoolView`], [`field::AllotmentView`],
//! the feed's and the snapshot's pages, …), one area per module. The server
//! answers with these types and reads its requests into them; the desktop
//! client, the gateways crate, the field kit and `ldctl` send and read the
//! same ones, so a shape is declared once.
//!
//! Their JSON is held byte for byte by `tests/wire.rs`; their OpenAPI faces
//! (the `utoipa` feature) are the server's document's components, by these
//! names.

pub mod accounts;
pub mod field;
pub mod floating;
pub mod gateways;
pub mod sync;
