//! The license server's gateway endpoints (HTTP, JSON): online activation,
//! the public key set, offline activation, floating pools; over the one
//! client of `licensedesk-http` (its timeouts; its retries, which only the
//! GETs here get: the POSTs carry no `Idempotency-Key`).

use licensedesk_core::keys::{KeySet, MAX_KEYSET_LEN};
use licensedesk_core::offline::MAX_RESPONSE_LEN;
use licensedesk_protocol::api::floating::{LeaseRequest, PoolView};
use licensedesk_protocol::api::gateways::{
    ActivateRequest, ActivateResponse, OrderLookup, OrderView,
};

use crate::error::Result;

/// A reply larger than this is refused.
const MAX_REPLY_LEN: usize = MAX_RESPONSE_LEN;

/// A client of one license server (base URL, optional API token).
#[derive(Clone)]
pub struct ServerApi {
    token: Option<String>,
    http: licensedesk_http::Client,
}

impl ServerApi {
    pub fn new(base: &str, token: Option<String>) -> Result<Self> {
        Ok(Self {
            token,
            http: licensedesk_http::Client::new(base)?,
        })
    }

    pub fn base(&self) -> &str {
        self.http.base()
    }

    fn bearer(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Activates (or re-issues for the same hardware) one license.
    pub async fn activate(&self, code: &str, fingerprint: &str) -> Result<ActivateResponse> {
        let body = ActivateRequest {
            code: code.to_owned(),
            fingerprint: fingerprint.to_owned(),
        };
        Ok(self
            .http
            .post_json("/v1/gateway/activate", &body)
            .bearer(self.bearer())
            .max_len(MAX_REPLY_LEN)
            .json()
            .await?)
    }

    /// The server's public key set (as served: a client that pins keys
    /// checks its chain, see `licensedesk_core::trust`).
    pub async fn keyset(&self) -> Result<KeySet> {
        let body = self
            .http
            .get("/v1/keys")
            .bearer(self.bearer())
            .max_len(licensedesk_core::trust::MAX_SIGNED_KEYSET_LEN.max(MAX_KEYSET_LEN))
            .send()
            .await?;
        Ok(KeySet::from_json(&body)?)
    }

    /// Looks an order up with its number and e-mail (no token needed; the
    /// server limits failed attempts).
    pub async fn lookup_order(&self, order_no: &str, email: &str) -> Result<OrderView> {
        let body = OrderLookup {
            order_no: order_no.to_owned(),
            email: email.to_owned(),
        };
        Ok(self
            .http
            .post_json("/v1/gateway/orders/lookup", &body)
            .bearer(self.bearer())
            .max_len(MAX_REPLY_LEN)
            .json()
            .await?)
    }

    /// The account's floating pools with their live leases.
    pub async fn pools(&self) -> Result<Vec<PoolView>> {
        Ok(self
            .http
            .get("/v1/floating/pools")
            .bearer(self.bearer())
            .max_len(MAX_REPLY_LEN)
            .json()
            .await?)
    }

    /// Releases gateway `fingerprint`'s lease in pool `name` (the
    /// account's token): its points return to the pool.
    pub async fn release_lease(&self, name: &str, fingerprint: &str) -> Result<PoolView> {
        let url = self.http.url("/v1/floating/pools", &[name, "release"])?;
        Ok(self
            .http
            .post_json_to(
                url,
                &LeaseRequest {
                    fingerprint: fingerprint.to_owned(),
                    points: None,
                    usage: None,
                },
            )
            .bearer(self.bearer())
            .max_len(MAX_REPLY_LEN)
            .json()
            .await?)
    }

    /// Answers an offline request bundle with a signed response bundle.
    pub async fn offline_activate(&self, request: &[u8]) -> Result<Vec<u8>> {
        Ok(self
            .http
            .post_bytes("/v1/gateway/offline", request.to_vec())
            .bearer(self.bearer())
            .max_len(MAX_REPLY_LEN)
            .send()
            .await?)
    }

    /// A floating pool with its live leases (needs the account's token).
    pub async fn pool(&self, name: &str) -> Result<PoolView> {
        let url = self.http.url("/v1/floating/pools", &[name])?;
        Ok(self
            .http
            .get_url(url)
            .bearer(self.bearer())
            .max_len(MAX_REPLY_LEN)
            .json()
            .await?)
    }
}
