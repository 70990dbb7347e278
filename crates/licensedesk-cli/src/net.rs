//! HTTP to the license server (`trust --server`, `lease`): JSON over
//! reqwest on a small tokio runtime. A server's `{code, message}` refusal
//! becomes a [`Failure`] with that code; no answer at all is
//! `SERVER_UNREACHABLE`.

use std::time::Duration;

use serde_json::Value;

use crate::output::Failure;

/// A reply larger than this is refused (a key set, a lease, a pool).
const MAX_REPLY_LEN: usize = 512 * 1024;

pub struct Server {
    base: String,
    http: reqwest::Client,
}

fn unreachable(base: &str, e: impl std::fmt::Display) -> Failure {
    Failure::new(
        "SERVER_UNREACHABLE",
        format!(
            "the license server at {base} could not be reached ({e}): check --server and the network"
        ),
    )
}

impl Server {
    pub fn new(base: &str) -> Result<Self, Failure> {
        let base = base.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::new(
                "SERVER_URL_INVALID",
                format!("--server {base:?} must start with http:// or https://"),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| unreachable(&base, e))?;
        Ok(Self { base, http })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `path` with each of `segments` appended, percent-encoded.
    pub fn url(&self, path: &str, segments: &[&str]) -> Result<reqwest::Url, Failure> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| unreachable(&self.base, e))?;
        if !segments.is_empty() {
            let mut s = url
                .path_segments_mut()
                .map_err(|()| unreachable(&self.base, "not a base URL"))?;
            s.pop_if_empty();
            for seg in segments {
                s.push(seg);
            }
        }
        Ok(url)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Vec<u8>, Failure> {
        let mut resp = req.send().await.map_err(|e| unreachable(&self.base, e))?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| unreachable(&self.base, e))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_REPLY_LEN {
                return Err(Failure::new(
                    "SERVER_REPLY_TOO_LARGE",
                    format!("the server's reply is larger than {MAX_REPLY_LEN} bytes"),
                ));
            }
        }
        if status.is_success() {
            return Ok(body);
        }
        let e: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Err(match (e["code"].as_str(), e["message"].as_str()) {
            (Some(code), Some(message)) => Failure::new(code, message),
            _ => Failure::new(
                &format!("SERVER_HTTP_{}", status.as_u16()),
                format!("the license server answered {status}"),
            ),
        })
    }

    pub async fn get(&self, url: reqwest::Url) -> Result<Vec<u8>, Failure> {
        self.send(self.http.get(url)).await
    }

    pub async fn post(
        &self,
        url: reqwest::Url,
        token: &str,
        body: &Value,
    ) -> Result<Value, Failure> {
        let bytes = self
            .send(self.http.post(url).bearer_auth(token).json(body))
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Failure::new(
                "SERVER_REPLY_INVALID",
                format!("the license server's reply could not be read: {e}"),
            )
        })
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
