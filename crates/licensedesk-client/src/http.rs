//! The server's HTTP API as the client uses it. Transport failures become
//! `SERVER_UNREACHABLE`; an error answer keeps the server's `{code, message}`.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::secrets::ApiToken;

#[derive(Clone, Debug)]
pub struct ServerApi {
    base: String,
    token: ApiToken,
    http: reqwest::Client,
}

/// The server's error body; `params` when it sends them (optional: older
/// servers and most codes send none).
#[derive(serde::Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
    #[serde(default)]
    params: Option<licensedesk_core::error::Params>,
}

impl ServerApi {
    pub fn new(base_url: &str, token: ApiToken) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Invalid(format!("HTTP client: {e}")))?;
        Ok(Self {
            base: base_url.trim_end_matches('/').to_owned(),
            token,
            http,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The profile's API token, for another client of the same server (the
    /// gateway endpoints); `Debug` of it stays redacted.
    pub fn token(&self) -> &ApiToken {
        &self.token
    }

    fn unreachable(&self, e: &reqwest::Error) -> Error {
        Error::ServerUnreachable {
            url: self.base.clone(),
            detail: e.to_string(),
        }
    }

    /// GET `path` with `query`, as JSON.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .bearer_auth(self.token.expose());
        self.finish(req).await
    }

    /// POST a JSON body with an `Idempotency-Key`.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: &str,
    ) -> Result<T> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.token.expose())
            .header("Idempotency-Key", idempotency_key)
            .json(body);
        self.finish(req).await
    }

    /// GET `path` with `query`, the body as text (parsed later, by a
    /// caller that borrows from it).
    pub async fn get_text(&self, path: &str, query: &[(&str, String)]) -> Result<String> {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .bearer_auth(self.token.expose());
        let bytes = self.body(req).await?;
        String::from_utf8(bytes).map_err(|e| Error::Protocol(e.to_string()))
    }

    async fn finish<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T> {
        let bytes = self.body(req).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(e.to_string()))
    }

    /// The body of a successful answer; an error answer as [`Error::Server`].
    async fn body(&self, req: reqwest::RequestBuilder) -> Result<Vec<u8>> {
        let resp = req.send().await.map_err(|e| self.unreachable(&e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.unreachable(&e))?;
        if !status.is_success() {
            let (code, message, params) = match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(b) => (b.code, b.message, b.params.unwrap_or_default()),
                Err(_) => (
                    format!("HTTP_{}", status.as_u16()),
                    String::from_utf8_lossy(&bytes).chars().take(300).collect(),
                    Default::default(),
                ),
            };
            return Err(Error::Server {
                status: status.as_u16(),
                code,
                message,
                params,
            });
        }
        Ok(Vec::from(bytes))
    }
}
