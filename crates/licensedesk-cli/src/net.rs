//! HTTP to the license server (`trust --server`, `lease`): the one client
//! of `licensedesk-http` (its timeouts; its retries, which only the key
//! set's GET gets: a lease's POSTs carry no `Idempotency-Key`) on a small
//! tokio runtime. A server's `{code, message}` refusal becomes a
//! [`Failure`] with that code; no answer at all is `SERVER_UNREACHABLE`,
//! one too late `SERVER_TIMEOUT`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::output::Failure;

/// A reply larger than this is refused (a key set, a lease, a pool).
const MAX_REPLY_LEN: usize = 512 * 1024;

pub use licensedesk_http::Url;

pub struct Server {
    http: licensedesk_http::Client,
}

/// The client's error as ldctl reports it: its code, its message.
fn failure(e: licensedesk_http::Error) -> Failure {
    match e {
        licensedesk_http::Error::UrlInvalid {
            ref url,
            ref detail,
        } => Failure::new(
            e.code(),
            format!("--server {url:?} is not valid ({detail}): give it as http://host:port"),
        ),
        e => Failure::new(e.code(), e.to_string()),
    }
}

impl Server {
    pub fn new(base: &str) -> Result<Self, Failure> {
        Ok(Self {
            http: licensedesk_http::Client::new(base).map_err(failure)?,
        })
    }

    pub fn base(&self) -> &str {
        self.http.base()
    }

    /// `path` with each of `segments` appended, percent-encoded.
    pub fn url(&self, path: &str, segments: &[&str]) -> Result<Url, Failure> {
        self.http.url(path, segments).map_err(failure)
    }

    pub async fn get(&self, url: Url) -> Result<Vec<u8>, Failure> {
        self.http
            .get_url(url)
            .max_len(MAX_REPLY_LEN)
            .send()
            .await
            .map_err(failure)
    }

    /// POST `body` as JSON with the pool's `token`; the answer read as `T`
    /// (one of another shape is `SERVER_REPLY_INVALID`).
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        url: Url,
        token: &str,
        body: &B,
    ) -> Result<T, Failure> {
        self.http
            .post_json_to(url, body)
            .bearer(Some(token))
            .max_len(MAX_REPLY_LEN)
            .json()
            .await
            .map_err(failure)
    }
}

/// Runs `f` to completion on a current-thread runtime.
pub fn block_on<T>(f: impl std::future::Future<Output = T>) -> Result<T, Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new("RUNTIME_UNAVAILABLE", e.to_string()))?;
    Ok(rt.block_on(f))
}
