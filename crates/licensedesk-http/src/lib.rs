//! The one HTTP client of the license server, used by the desktop sync
//! (`licensedesk-client`), the gateway endpoints (`licensedesk-gateways`),
//! the field kit (`licensedesk-field`) and `ldctl`'s leases.
//!
//! Stated once, here:
//! - **Timeouts** ([`CONNECT_TIMEOUT`], [`REQUEST_TIMEOUT`]): a server that
//!   does not accept the connection within 5 s, or a call not answered in
//!   full within 60 s (the largest sync page included), is given up.
//! - **Retries** ([`retry`]): only an idempotent call (a GET, or a POST that
//!   carries an `Idempotency-Key`, which the server answers once and
//!   replays) is sent again, on a connection error or a 502/503/504
//!   (a 503's `Retry-After`, e.g. `DATABASE_BUSY`'s, honoured), at most
//!   [`ATTEMPTS`] times in all with jittered exponential backoff. A POST
//!   without a key is never sent twice; a timeout is not retried (its time
//!   is spent).
//! - **Errors** ([`Error`]): the server's `{code, message, params}` body
//!   keeps its code; a dead server, a timeout, an answer that is not the
//!   server's JSON and one too large each have a code of their own and a
//!   message that says what to do. Each crate maps [`Error`] onto its own
//!   error type, keeping the codes its callers (the UI) know.

mod error;
pub mod retry;

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use error::Error;
pub use reqwest::Url;
pub use retry::{ATTEMPTS, MAX_RETRY_AFTER};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How long a connection to the server may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt of a call may take, from sending the request to
/// the last byte of the answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A client of one license server (its base URL). Cheap to clone: clones
/// share one connection pool.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the server at `base` (`http://` or `https://`; trailing
    /// slashes and surrounding spaces are dropped).
    pub fn new(base: &str) -> Result<Self> {
        let base = base.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::UrlInvalid {
                url: base,
                detail: "it must start with http:// or https://".into(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::Unreachable {
                url: base.clone(),
                detail: e.to_string(),
            })?;
        Ok(Self { base, http })
    }

    /// The server's base URL, as given (normalised).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `path` (from the base URL) with each of `segments` appended as one
    /// percent-encoded path segment (a pool's name, …).
    pub fn url(&self, path: &str, segments: &[&str]) -> Result<Url> {
        let invalid = |detail: String| Error::UrlInvalid {
            url: self.base.clone(),
            detail,
        };
        let mut url =
            Url::parse(&format!("{}{path}", self.base)).map_err(|e| invalid(e.to_string()))?;
        if !segments.is_empty() {
            let mut s = url
                .path_segments_mut()
                .map_err(|()| invalid("it is not a base URL".into()))?;
            s.pop_if_empty();
            for seg in segments {
                s.push(seg);
            }
        }
        Ok(url)
    }

    /// A GET of `path`: idempotent, so retried.
    pub fn get(&self, path: &str) -> Call<'_> {
        self.call(reqwest::Method::GET, self.url(path, &[]))
    }

    /// A GET of `url` (from [`Client::url`]).
    pub fn get_url(&self, url: Url) -> Call<'_> {
        self.call(reqwest::Method::GET, Ok(url))
    }

    /// A POST of `path` with `body` as JSON: retried only with an
    /// [`Call::idempotency_key`].
    pub fn post_json<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> Call<'_> {
        self.post_json_url(self.url(path, &[]), body)
    }

    /// A POST of `url` (from [`Client::url`]) with `body` as JSON.
    pub fn post_json_to<B: Serialize + ?Sized>(&self, url: Url, body: &B) -> Call<'_> {
        self.post_json_url(Ok(url), body)
    }

    fn post_json_url<B: Serialize + ?Sized>(&self, url: Result<Url>, body: &B) -> Call<'_> {
        let url = url.and_then(|u| {
            let bytes = serde_json::to_vec(body).map_err(|e| Error::RequestInvalid {
                url: u.to_string(),
                detail: e.to_string(),
            })?;
            Ok((u, bytes))
        });
        match url {
            Ok((u, bytes)) => self.post_bytes_url(Ok(u), bytes),
            Err(e) => self.call(reqwest::Method::POST, Err(e)),
        }
    }

    /// A POST of `path` with `body` as it is (already JSON).
    pub fn post_bytes(&self, path: &str, body: Vec<u8>) -> Call<'_> {
        self.post_bytes_url(self.url(path, &[]), body)
    }

    fn post_bytes_url(&self, url: Result<Url>, body: Vec<u8>) -> Call<'_> {
        let mut call = self.call(reqwest::Method::POST, url);
        call.body = Some(body);
        call
    }

    fn call(&self, method: reqwest::Method, url: Result<Url>) -> Call<'_> {
        Call {
            client: self,
            idempotent: method == reqwest::Method::GET,
            method,
            url,
            query: Vec::new(),
            bearer: None,
            idempotency_key: None,
            body: None,
            max_len: None,
        }
    }
}

/// One call to the server, built by [`Client`], sent by [`Call::send`] or
/// [`Call::json`] (each attempt as the retry policy decides).
#[must_use = "a call does nothing until it is sent"]
pub struct Call<'a> {
    client: &'a Client,
    method: reqwest::Method,
    url: Result<Url>,
    idempotent: bool,
    query: Vec<(String, String)>,
    bearer: Option<String>,
    idempotency_key: Option<String>,
    body: Option<Vec<u8>>,
    max_len: Option<usize>,
}

impl Call<'_> {
    /// Adds the query pairs.
    pub fn query(mut self, pairs: &[(&str, String)]) -> Self {
        self.query
            .extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        self
    }

    /// Sends `token` as the bearer (none: an anonymous call).
    pub fn bearer(mut self, token: Option<&str>) -> Self {
        self.bearer = token.map(str::to_owned);
        self
    }

    /// Sends `key` as the `Idempotency-Key`: the server answers the key
    /// once and replays that answer, so the call may be retried.
    pub fn idempotency_key(mut self, key: &str) -> Self {
        self.idempotency_key = Some(key.to_owned());
        self.idempotent = true;
        self
    }

    /// Refuses an answer larger than `cap` bytes (`SERVER_REPLY_TOO_LARGE`).
    pub fn max_len(mut self, cap: usize) -> Self {
        self.max_len = Some(cap);
        self
    }

    /// The answer's body, parsed as JSON (`SERVER_REPLY_INVALID` if it is
    /// not the JSON expected).
    pub async fn json<T: DeserializeOwned>(self) -> Result<T> {
        let url = self.url_text();
        let body = self.send().await?;
        serde_json::from_slice(&body).map_err(|e| Error::ReplyInvalid {
            url,
            status: 200,
            detail: e.to_string(),
        })
    }

    fn url_text(&self) -> String {
        match &self.url {
            Ok(u) => u.to_string(),
            Err(_) => self.client.base.clone(),
        }
    }

    /// The body of the (successful) answer, each attempt as [`retry`]
    /// decides; an error answer as [`Error`].
    pub async fn send(self) -> Result<Vec<u8>> {
        let url = self.url.clone()?;
        let mut attempt = 1;
        loop {
            let (result, outcome) = self.attempt(&url).await;
            let Some(outcome) = outcome else {
                return result;
            };
            match retry::delay(self.idempotent, attempt, &outcome) {
                Some(delay) => {
                    let delay = retry::jitter(delay, &outcome);
                    tracing::debug!(%url, attempt, ?outcome, ?delay, "retrying an idempotent call");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => return result,
            }
        }
    }

    /// One attempt: its result, and what happened if it failed in a way
    /// the retry policy weighs (`None`: success, or an error no policy
    /// retries).
    async fn attempt(&self, url: &Url) -> (Result<Vec<u8>>, Option<retry::Outcome>) {
        let mut req = self.client.http.request(self.method.clone(), url.clone());
        if !self.query.is_empty() {
            req = req.query(&self.query);
        }
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t);
        }
        if let Some(k) = &self.idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = &self.body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.clone());
        }
        let failed = |e: reqwest::Error| {
            let outcome = retry::Outcome::Failed {
                timeout: e.is_timeout(),
            };
            (Err(Error::transport(&self.client.base, &e)), Some(outcome))
        };
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return failed(e),
        };
        let status = resp.status().as_u16();
        let retry_after = retry::retry_after(resp.headers().get(reqwest::header::RETRY_AFTER));
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if let Some(cap) = self.max_len
                        && body.len() > cap
                    {
                        let e = Error::ReplyTooLarge {
                            url: url.to_string(),
                            status,
                            cap,
                        };
                        return (Err(e), None);
                    }
                }
                Ok(None) => break,
                Err(e) => return failed(e),
            }
        }
        if (200..300).contains(&status) {
            return (Ok(body), None);
        }
        let e = Error::answered(url, status, &body);
        (
            Err(e),
            Some(retry::Outcome::Answered {
                status,
                retry_after,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_needs_a_scheme_and_loses_its_trailing_slash() {
        assert_eq!(
            Client::new(" http://h:1/ ").expect("client").base(),
            "http://h:1"
        );
        let e = Client::new("h:1").expect_err("no scheme");
        assert_eq!(e.code(), "SERVER_URL_INVALID");
    }

    #[test]
    fn segments_are_percent_encoded() {
        let c = Client::new("http://h:1").expect("client");
        let url = c
            .url("/v1/floating/pools/", &["a b/c", "release"])
            .expect("url");
        assert_eq!(
            url.as_str(),
            "http://h:1/v1/floating/pools/a%20b%2Fc/release"
        );
    }
}
