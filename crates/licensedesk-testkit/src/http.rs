//! JSON over HTTP with a bearer token, to any server at a URL (an
//! in-process [`crate::Server`] or the real binary).

use serde_json::Value;

/// GET `url` as `token`: its JSON, which must be a success.
pub async fn get_json(client: &reqwest::Client, url: String, token: &str) -> Value {
    let r = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    success_json("GET", &url, r).await
}

/// POST `body` to `url` as `token`: its JSON, which must be a success.
pub async fn post_json(client: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let r = client
        .post(&url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send");
    success_json("POST", &url, r).await
}

async fn success_json(method: &str, url: &str, r: reqwest::Response) -> Value {
    let status = r.status();
    let text = r.text().await.expect("body");
    assert!(status.is_success(), "{method} {url}: {status} {text}");
    serde_json::from_str(&text).expect("json")
}
