//! The license server's gateway endpoints (HTTP, JSON): online activation,
//! the public key set, offline activation, floating pools.

use std::time::Duration;

use chrono::{DateTime, Utc};
use licensedesk_core::keys::{KeySet, MAX_KEYSET_LEN};
use licensedesk_core::offline::MAX_RESPONSE_LEN;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::{Error, Result};

/// A reply larger than this is refused.
const MAX_REPLY_LEN: usize = MAX_RESPONSE_LEN;

/// A client of one license server (base URL, optional API token).
#[derive(Clone)]
pub struct ServerApi {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// `POST /v1/gateway/activate`'s reply.
#[derive(Debug, Clone, Deserialize)]
pub struct ActivateReply {
    pub license: String,
    pub license_id: String,
    pub reissued: bool,
    pub remaining: u32,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct LeaseUsageReply {
    pub connections: u32,
    pub tags: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LeaseReply {
    pub fingerprint: String,
    pub points: u32,
    pub expires_at: DateTime<Utc>,
    pub claimed_at: DateTime<Utc>,
    #[serde(default)]
    pub usage: Option<LeaseUsageReply>,
    #[serde(default)]
    pub usage_at: Option<DateTime<Utc>>,
}

/// `GET /v1/floating/pools/{name}`'s reply.
#[derive(Debug, Clone, Deserialize)]
pub struct PoolReply {
    pub name: String,
    pub points: u32,
    pub in_use: u32,
    pub ttl_seconds: u32,
    #[serde(default)]
    pub plugins: Vec<String>,
    pub leases: Vec<LeaseReply>,
    pub server_time: DateTime<Utc>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

impl ServerApi {
    pub fn new(base: &str, token: Option<String>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Unreachable {
                detail: e.to_string(),
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(&self, req: reqwest::RequestBuilder, cap: usize) -> Result<Vec<u8>> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let unreachable = |e: reqwest::Error| Error::Unreachable {
            detail: e.to_string(),
        };
        let mut resp = req.send().await.map_err(unreachable)?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            body.extend_from_slice(&chunk);
            if body.len() > cap {
                return Err(Error::Server {
                    code: "SERVER_REPLY_TOO_LARGE".into(),
                    message: format!("the server's reply is larger than {cap} bytes"),
                });
            }
        }
        if status.is_success() {
            return Ok(body);
        }
        Err(match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) => Error::Server {
                code: e.code,
                message: e.message,
            },
            Err(_) => Error::Server {
                code: format!("SERVER_HTTP_{}", status.as_u16()),
                message: format!("the license server answered {status}"),
            },
        })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        cap: usize,
    ) -> Result<T> {
        let body = self.send(req, cap).await?;
        serde_json::from_slice(&body).map_err(|e| Error::Server {
            code: "SERVER_REPLY_INVALID".into(),
            message: format!("the license server's reply could not be read: {e}"),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Activates (or re-issues for the same hardware) one license.
    pub async fn activate(&self, code: &str, fingerprint: &str) -> Result<ActivateReply> {
        let req = self
            .http
            .post(self.url("/v1/gateway/activate"))
            .json(&json!({ "code": code, "fingerprint": fingerprint }));
        self.json(req, MAX_REPLY_LEN).await
    }

    /// The server's public key set (as served: a client that pins keys
    /// checks its chain, see `licensedesk_core::trust`).
    pub async fn keyset(&self) -> Result<KeySet> {
        let body = self
            .send(
                self.http.get(self.url("/v1/keys")),
                licensedesk_core::trust::MAX_SIGNED_KEYSET_LEN.max(MAX_KEYSET_LEN),
            )
            .await?;
        Ok(KeySet::from_json(&body)?)
    }

    /// Looks an order up with its number and e-mail (no token needed; the
    /// server limits failed attempts).
    pub async fn lookup_order(&self, order_no: &str, email: &str) -> Result<crate::dto::OrderView> {
        let req = self
            .http
            .post(self.url("/v1/gateway/orders/lookup"))
            .json(&json!({ "order_no": order_no, "email": email }));
        self.json(req, MAX_REPLY_LEN).await
    }

    /// The account's floating pools with their live leases.
    pub async fn pools(&self) -> Result<Vec<PoolReply>> {
        self.json(self.http.get(self.url("/v1/floating/pools")), MAX_REPLY_LEN)
            .await
    }

    /// Releases gateway `fingerprint`'s lease in pool `name` (the
    /// account's token): its points return to the pool.
    pub async fn release_lease(&self, name: &str, fingerprint: &str) -> Result<PoolReply> {
        let url = self.pool_url(name, "release")?;
        let req = self
            .http
            .post(url)
            .json(&json!({ "fingerprint": fingerprint }));
        self.json(req, MAX_REPLY_LEN).await
    }

    fn pool_url(&self, name: &str, action: &str) -> Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(&self.url("/v1/floating/pools/")).map_err(|e| {
            Error::Unreachable {
                detail: e.to_string(),
            }
        })?;
        {
            let mut seg = url.path_segments_mut().map_err(|()| Error::Unreachable {
                detail: "bad server URL".into(),
            })?;
            seg.pop_if_empty().push(name);
            if !action.is_empty() {
                seg.push(action);
            }
        }
        Ok(url)
    }

    /// Answers an offline request bundle with a signed response bundle.
    pub async fn offline_activate(&self, request: &[u8]) -> Result<Vec<u8>> {
        let req = self
            .http
            .post(self.url("/v1/gateway/offline"))
            .header("content-type", "application/json")
            .body(request.to_vec());
        self.send(req, MAX_REPLY_LEN).await
    }

    /// A floating pool with its live leases (needs the account's token).
    pub async fn pool(&self, name: &str) -> Result<PoolReply> {
        let url = self.pool_url(name, "")?;
        self.json(self.http.get(url), MAX_REPLY_LEN).await
    }
}
