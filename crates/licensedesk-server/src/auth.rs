//! Bearer-token authentication and the two roles of domain.md §4: the
//! customer (one API token per account: [`Caller`]) and the vendor (the
//! admin token: [`Admin`]). A token of the other role is refused with 403
//! and a stable code; an unknown token with 401. Tokens are stored hashed
//! (SHA-256).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use rusqlite::OptionalExtension;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// Hex SHA-256 of a token, as stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random API token (`ld_` + 32 random bytes, hex).
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS randomness unavailable: {e}"))?;
    Ok(format!("ld_{}", hex::encode(bytes)))
}

/// The request's bearer token, if any.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    bearer(parts)
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The authenticated account of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: i64,
    pub token_hash: String,
}

/// The account whose token hashes to `token_hash`, if any.
async fn account_of(state: &AppState, token_hash: &str) -> Result<Option<i64>, ApiError> {
    if let Some(id) = state.cached_account(token_hash) {
        return Ok(Some(id));
    }
    let h = token_hash.to_owned();
    let id = state
        .db
        .read(move |c| {
            Ok(
                c.query_row("SELECT id FROM accounts WHERE token_hash = ?1", [&h], |r| {
                    r.get::<_, i64>(0)
                })
                .optional()?,
            )
        })
        .await?;
    if let Some(id) = id {
        state.cache_account(token_hash, id);
    }
    Ok(id)
}

/// A customer's route (domain.md §4): an account's token. The admin token
/// is refused with 403 `CUSTOMER_ONLY` (it belongs to no account), any
/// other token with 401.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let token_hash = hash_token(token);
        match account_of(state, &token_hash).await? {
            Some(account_id) => Ok(Self {
                account_id,
                token_hash,
            }),
            None if token_hash == state.admin_token_hash => Err(ApiError::Forbidden {
                code: "CUSTOMER_ONLY",
                message: "this route reads or acts for one account: use that account's API token, not the admin token".into(),
            }),
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// The vendor (domain.md §4: sells and verifies): the admin token. An
/// account's token is refused with 403 `VENDOR_ONLY`, any other with 401.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let token_hash = hash_token(token);
        if token_hash == state.admin_token_hash {
            Ok(Self)
        } else if account_of(state, &token_hash).await?.is_some() {
            Err(ApiError::vendor_only(&format!(
                "{} {}",
                parts.method,
                parts.uri.path()
            )))
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// Who is attempting something, for rate limiting: the token (if any) and
/// the client address.
#[derive(Debug, Clone)]
pub struct Attempter {
    pub token_hash: Option<String>,
    pub addr: IpAddr,
}

impl Attempter {
    /// Rate-limit keys of this attempter.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = vec![format!("addr:{}", self.addr)];
        if let Some(t) = &self.token_hash {
            keys.push(format!("token:{t}"));
        }
        keys
    }
}

impl FromRequestParts<AppState> for Attempter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token_hash = bearer(parts).map(hash_token);
        Ok(Self {
            token_hash,
            addr: client_addr(
                &parts.headers,
                &parts.extensions,
                state.settings.trust_forwarded_for,
            ),
        })
    }
}

/// The client's address, as rate limiting and the idempotency keys of
/// callers without a token see it: the last `X-Forwarded-For` hop when the
/// server is configured to trust it (behind a proxy), else the peer.
pub fn client_addr(
    headers: &HeaderMap,
    extensions: &Extensions,
    trust_forwarded_for: bool,
) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let forwarded = trust_forwarded_for
        .then(|| {
            headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .rsplit(',')
                .next()?
                .trim()
                .parse::<IpAddr>()
                .ok()
        })
        .flatten();
    forwarded.unwrap_or(peer)
}
