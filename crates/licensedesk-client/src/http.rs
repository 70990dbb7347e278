//! The server's HTTP API as the client uses it, over the one client of
//! `licensedesk-http` (its timeouts, its retries of idempotent calls: every
//! GET here, every POST, each carrying an `Idempotency-Key`). No answer
//! becomes `SERVER_UNREACHABLE`; an error answer keeps the server's
//! `{code, message, params}`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::secrets::ApiToken;

#[derive(Clone, Debug)]
pub struct ServerApi {
    token: ApiToken,
    http: licensedesk_http::Client,
}

impl ServerApi {
    pub fn new(base_url: &str, token: ApiToken) -> Result<Self> {
        Ok(Self {
            token,
            http: licensedesk_http::Client::new(base_url)?,
        })
    }

    pub fn base_url(&self) -> &str {
        self.http.base()
    }

    /// The profile's API token, for another client of the same server (the
    /// gateway endpoints); `Debug` of it stays redacted.
    pub fn token(&self) -> &ApiToken {
        &self.token
    }

    /// GET `path` with `query`, as JSON.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        Ok(self
            .http
            .get(path)
            .query(query)
            .bearer(Some(self.token.expose()))
            .json()
            .await?)
    }

    /// POST a JSON body with an `Idempotency-Key`.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: &str,
    ) -> Result<T> {
        Ok(self
            .http
            .post_json(path, body)
            .bearer(Some(self.token.expose()))
            .idempotency_key(idempotency_key)
            .json()
            .await?)
    }

    /// GET `path` with `query`, the body as text (parsed later, by a
    /// caller that borrows from it).
    pub async fn get_text(&self, path: &str, query: &[(&str, String)]) -> Result<String> {
        let bytes = self
            .http
            .get(path)
            .query(query)
            .bearer(Some(self.token.expose()))
            .send()
            .await?;
        String::from_utf8(bytes).map_err(|e| Error::Protocol(e.to_string()))
    }
}
