//! Floating pools: a pool with its live leases (as its account sees it),
//! and the lease a gateway claims, keeps with heartbeats and releases (with
//! the pool's token).
// Doc comments here are the OpenAPI descriptions: a type or field that had
// none in the server's document has a plain comment instead.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a gateway reported in use with its last heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LeaseUsage {
    pub connections: u32,
    pub tags: u32,
}

// One live lease of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LeaseView {
    pub fingerprint: String,
    pub points: u32,
    pub expires_at: DateTime<Utc>,
    /// When the lease was first claimed.
    pub claimed_at: DateTime<Utc>,
    /// The usage of the last heartbeat that carried one, and when.
    pub usage: Option<LeaseUsage>,
    pub usage_at: Option<DateTime<Utc>>,
}

// A pool with its live leases (`GET /v1/floating/pools`, one of them, and
// the answer of a release).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PoolView {
    pub name: String,
    pub points: u32,
    pub in_use: u32,
    pub ttl_seconds: u32,
    pub plugins: Vec<String>,
    pub leases: Vec<LeaseView>,
    /// The server's time of this answer (time left = `expires_at` − this).
    pub server_time: DateTime<Utc>,
}

// The body of a claim, a heartbeat and a release (a release sends only the
// fingerprint: what is `None` is left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LeaseRequest {
    pub fingerprint: String,
    /// Points to hold (claim only; also the connections and tags limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<u32>,
    /// What the gateway has in use now (claim and heartbeat; kept on the
    /// lease for the account to see). Each at most 10,000,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<LeaseUsageIn>,
}

// What a gateway reports in use (read wide, checked by the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LeaseUsageIn {
    pub connections: u64,
    pub tags: u64,
}

// The answer of a claim and a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LeaseResponse {
    pub fingerprint: String,
    pub points: u32,
    pub expires_at: DateTime<Utc>,
    /// Signed floating license valid until the lease lapses.
    pub license: String,
}
