//! Test server and HTTP helpers; the real binary for what only it does.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use licensedesk_server::clock::TestClock;
use licensedesk_server::config::Settings;
use licensedesk_server::{AppState, build_app, serve};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const ADMIN: &str = "test-admin-token";

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

pub struct TestServer {
    pub base: String,
    pub clock: Arc<TestClock>,
    pub state: AppState,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Settings::default(), at("2026-03-31T10:00:00Z")).await
    }

    pub async fn start_with(settings: Settings, start: DateTime<Utc>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(dir, settings, start).await
    }

    /// A server on `dir` (which may already hold a database).
    pub async fn start_in(
        dir: tempfile::TempDir,
        settings: Settings,
        start: DateTime<Utc>,
    ) -> Self {
        let clock = Arc::new(TestClock::new(start));
        let state = AppState::open(dir.path(), clock.clone(), settings, ADMIN).expect("open state");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let app = build_app(state.clone());
        tokio::spawn(async move {
            serve(listener, app, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        Self {
            base,
            clock,
            state,
            client: reqwest::Client::new(),
            dir,
            _stop: tx,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{}", self.base, path);
        let mut req = match method {
            "GET" => self.client.get(url),
            "POST" => self.client.post(url),
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

    /// POST with an `Idempotency-Key`; the status and the raw body text (so
    /// a replay can be compared byte for byte).
    pub async fn post_idem(
        &self,
        token: &str,
        path: &str,
        key: &str,
        body: &Value,
    ) -> (StatusCode, String) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("send");
        (r.status(), r.text().await.expect("text"))
    }

    /// GET that must succeed.
    pub async fn ok(&self, path: &str, token: &str) -> Value {
        let (s, v) = self.get(path, token).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {v}");
        v
    }

    /// POST that must succeed.
    pub async fn post_ok(&self, path: &str, token: &str, body: Value) -> Value {
        let (s, v) = self.post(path, token, body).await;
        assert_eq!(s, StatusCode::OK, "POST {path}: {v}");
        v
    }

    /// Creates an account; returns (id, token).
    pub async fn account(&self, kind: &str, dc: &str) -> (i64, String) {
        let v = self
            .post_ok(
                "/v1/admin/accounts",
                ADMIN,
                json!({"name": format!("{kind} {dc}"), "kind": kind, "data_center": dc}),
            )
            .await;
        (
            v["id"].as_i64().expect("id"),
            v["token"].as_str().expect("token").to_owned(),
        )
    }

    /// Creates a product and credits `codes` codes with `package`.
    pub async fn product(
        &self,
        account: i64,
        token: &str,
        pk: &str,
        package: Value,
        policy: &str,
        codes: u64,
    ) {
        self.post_ok(
            "/v1/products",
            token,
            json!({"pk": pk, "name": format!("Product {pk}"), "overage_policy": policy, "package": package.clone()}),
        )
        .await;
        if codes > 0 {
            self.post_ok(
                "/v1/admin/batches",
                ADMIN,
                json!({"account_id": account, "pk": pk, "count": codes, "package": package}),
            )
            .await;
        }
    }

    pub async fn connect(&self, token: &str, pk: &str, dk: &str) -> (StatusCode, Value) {
        self.post("/v1/devices/connect", token, json!({"pk": pk, "dk": dk}))
            .await
    }

    pub async fn maintenance(&self) -> Value {
        self.post_ok("/v1/admin/maintenance", ADMIN, json!({}))
            .await
    }
}

/// The documents' example package: 5 years, 1500 messages/day, 1 OTA/month
/// with a 5 MB cap, 7-day storage.
pub fn doc_package() -> Value {
    json!({"validity": {"years": 5}, "messages_per_day": 1500, "ota_per_month": 1, "ota_cap_mb": 5, "storage_days": 7})
}

pub fn package(years: u32, months: u32, days: u32) -> Value {
    json!({"validity": {"years": years, "months": months, "days": days}, "messages_per_day": 1500, "ota_per_month": 1, "ota_cap_mb": 5, "storage_days": 7})
}

pub fn fingerprint(n: u32) -> String {
    licensedesk_core::fingerprint::fingerprint(
        format!("machine-{n}").as_bytes(),
        "licensedesk-test",
    )
}

impl TestServer {
    pub fn clock_now(&self) -> DateTime<Utc> {
        use licensedesk_server::clock::Clock;
        self.clock.now()
    }
}

/// The `licensedesk-server` binary (for a subcommand, or [`ServerProc`]).
pub fn server_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_licensedesk-server"))
}

/// The real binary serving `dir` on a loopback port, admin token [`ADMIN`];
/// killed when dropped.
pub struct ServerProc {
    pub child: Child,
    pub base: String,
    stdout: BufReader<ChildStdout>,
}

impl ServerProc {
    /// The command that starts the server binary on `dir`, on a free
    /// loopback port, with the tests' admin token.
    pub fn command(dir: &Path) -> std::process::Command {
        let mut c = server_bin();
        c.args([
            "--listen",
            "127.0.0.1:0",
            "--admin-token",
            ADMIN,
            "--data-dir",
        ])
        .arg(dir);
        c
    }

    pub fn start(dir: &Path) -> Self {
        Self::spawn(Self::command(dir))
    }

    /// Runs `command` (a server binary's), waiting for its first line.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn server");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("first line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self {
            child,
            base,
            stdout,
        }
    }

    /// The next line the server prints (after `listening on …`).
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read a line");
        assert!(!line.is_empty(), "the server closed its stdout");
        line.trim_end().to_owned()
    }

    /// `kill -9`, and reaped.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        // A no-op once reaped (std never signals a reaped child's pid).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = client.get(format!("{base}/health")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "server did not become healthy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// GET `url` as `token`: its JSON, which must be a success.
pub async fn get_json(client: &reqwest::Client, url: String, token: &str) -> Value {
    let r = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.json().await.expect("json")
}

/// POST `body` to `url` as `token`: its JSON, which must be a success.
pub async fn post_json(client: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let r = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.expect("json")
}
