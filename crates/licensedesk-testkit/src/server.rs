//! The real license server, in-process on a loopback port.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use licensedesk_server::clock::{Clock, TestClock};
use licensedesk_server::config::Settings;
use licensedesk_server::{AppState, build_app, serve};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::ADMIN;

/// An app served on `127.0.0.1:<free port>` by a task of the current
/// runtime until [`Serving::stop`] or until dropped.
pub struct Serving {
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Serving {
    pub async fn start(app: axum::Router) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(listener, app, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        Self {
            base,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops serving and waits until the listener is closed.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task");
        }
    }
}

/// The license server on a data dir, its clock a [`TestClock`], its admin
/// token [`ADMIN`]; stopped when dropped. The data dir is the caller's,
/// so that a test can start a server on it again.
pub struct Server {
    pub base: String,
    pub clock: Arc<TestClock>,
    pub state: AppState,
    pub http: reqwest::Client,
    serving: Serving,
}

impl Server {
    /// A server on `dir` (created or reopened) whose clock reads `now`.
    pub async fn start(dir: &Path, now: DateTime<Utc>) -> Self {
        Self::start_with(dir, Settings::default(), now, |app| app).await
    }

    /// The same with `settings`, its router wrapped by `wrap` (e.g. to
    /// answer as another version of the server would).
    pub async fn start_with(
        dir: &Path,
        settings: Settings,
        now: DateTime<Utc>,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Self {
        let clock = Arc::new(TestClock::new(now));
        let state = AppState::open(dir, clock.clone(), settings, ADMIN).expect("open state");
        let serving = Serving::start(wrap(build_app(state.clone()))).await;
        Self {
            base: serving.base.clone(),
            clock,
            state,
            http: reqwest::Client::new(),
            serving,
        }
    }

    /// Stops the server and waits until its listener is closed.
    pub async fn stop(&mut self) {
        self.serving.stop().await;
    }

    /// What the server's clock reads.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A request to `path`, as `token` if any, with `body` if any: its
    /// status and its body, as JSON if it is JSON, else as a string.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{}", self.base, path);
        let mut req = match method {
            "GET" => self.http.get(url),
            "POST" => self.http.post(url),
            m => panic!("method {m}"),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// GET that must answer 200 OK.
    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        let (s, v) = self.get(path, token).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {v}");
        v
    }

    /// POST that must answer 200 OK.
    pub async fn post_ok(&self, path: &str, token: &str, body: Value) -> Value {
        let (s, v) = self.post(path, token, body).await;
        assert_eq!(s, StatusCode::OK, "POST {path}: {v}");
        v
    }

    /// GET that must succeed (any 2xx): its JSON.
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        crate::get_json(&self.http, format!("{}{path}", self.base), token).await
    }

    /// POST that must succeed (any 2xx): its JSON.
    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> Value {
        crate::post_json(&self.http, format!("{}{path}", self.base), token, body).await
    }

    /// Creates an account named `{kind} {dc}`; returns (id, token).
    pub async fn account(&self, kind: &str, dc: &str) -> (i64, String) {
        self.account_named(&format!("{kind} {dc}"), kind, dc).await
    }

    /// Creates an account named `name`; returns (id, token).
    pub async fn account_named(&self, name: &str, kind: &str, dc: &str) -> (i64, String) {
        let v = self
            .post_ok(
                "/v1/admin/accounts",
                ADMIN,
                json!({"name": name, "kind": kind, "data_center": dc}),
            )
            .await;
        (
            v["id"].as_i64().expect("id"),
            v["token"].as_str().expect("token").to_owned(),
        )
    }

    /// Sets up product `pk` of `account` with `package` (and `policy`,
    /// else the server's default) as the vendor does (`POST
    /// /v1/admin/products`) and, unless `codes` is 0, credits `account` a
    /// batch of `codes` codes with `package`.
    pub async fn product<'a>(
        &self,
        account: i64,
        pk: &str,
        package: Value,
        policy: impl Into<Option<&'a str>>,
        codes: u64,
    ) {
        let mut product = json!({"account_id": account, "pk": pk, "name": format!("Product {pk}"),
            "package": package.clone()});
        if let Some(policy) = policy.into() {
            product["overage_policy"] = json!(policy);
        }
        self.post_ok("/v1/admin/products", ADMIN, product).await;
        if codes > 0 {
            self.post_ok(
                "/v1/admin/batches",
                ADMIN,
                json!({"account_id": account, "pk": pk, "count": codes, "package": package}),
            )
            .await;
        }
    }

    /// Creates floating pool `name` of `points` points for `account` (as the
    /// vendor), with `ttl_seconds` (else the default); returns the pool
    /// token its gateways claim with.
    pub async fn pool(
        &self,
        account: i64,
        name: &str,
        points: u32,
        ttl_seconds: impl Into<Option<u32>>,
    ) -> String {
        let v = self
            .post_ok(
                "/v1/admin/floating/pools",
                ADMIN,
                json!({"account_id": account, "name": name, "points": points,
                       "ttl_seconds": ttl_seconds.into()}),
            )
            .await;
        v["token"].as_str().expect("pool token").to_owned()
    }

    /// Connects device `dk` of product `pk`.
    pub async fn connect(&self, token: &str, pk: &str, dk: &str) -> (StatusCode, Value) {
        self.post("/v1/devices/connect", token, json!({"pk": pk, "dk": dk}))
            .await
    }
}
