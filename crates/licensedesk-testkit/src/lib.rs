//! What the integration tests of several crates share: the real license
//! server started in-process on a loopback port with a test clock
//! ([`Server`], or only the listening part, [`Serving`]), JSON over HTTP
//! with a bearer token ([`get_json`], [`post_json`] and [`Server`]'s
//! methods), the admin calls every suite makes, and instants ([`at`],
//! [`t0`]).
//!
//! A dev-dependency only: its helpers panic (with what was asked) instead
//! of returning errors, as a test wants. It never imports tauri.

mod http;
pub mod pg;
mod server;

pub use http::{get_json, post_json};
pub use server::{Server, Serving};

use chrono::{DateTime, Utc};

/// The admin token every test server is started with.
pub const ADMIN: &str = "test-admin-token";

/// The instant an RFC 3339 string names.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

/// Where a test server's clock starts unless told otherwise.
pub fn t0() -> DateTime<Utc> {
    at("2026-03-31T10:00:00Z")
}

/// A URL where nothing listens (a loopback port bound then released).
pub fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    format!("http://{addr}")
}
