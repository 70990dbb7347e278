//! A real server on loopback (restartable on the same data directory), the
//! real `ldctl` binary, and request files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use licensedesk_core::gateway::AllotmentSource;
use licensedesk_core::offline::{Credential, OfflineRequest, RequestEntry};
use licensedesk_server::clock::TestClock;
use licensedesk_server::config::Settings;
use licensedesk_server::{AppState, build_app, serve};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const ADMIN: &str = "test-admin-token";
pub const ORDER: &str = "ORD-F";

/// Check out from order `ORDER`.
pub fn by_order() -> AllotmentSource {
    AllotmentSource::Order(ORDER.into())
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

pub fn t0() -> DateTime<Utc> {
    at("2026-03-31T10:00:00Z")
}

pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// A server on `dir` (created or reopened) whose clock reads `now`.
    pub async fn start(dir: &Path, now: DateTime<Utc>) -> Self {
        let clock = Arc::new(TestClock::new(now));
        let state = AppState::open(dir, clock, Settings::default(), ADMIN).expect("open");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let app = build_app(state);
        let task = tokio::spawn(async move {
            serve(listener, app, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        Self {
            base,
            http: reqwest::Client::new(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server and waits until its listener is closed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task");
        }
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("send");
        assert!(resp.status().is_success(), "POST {path}: {}", resp.status());
        resp.json().await.expect("json")
    }

    pub async fn get(&self, path: &str, token: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("send");
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("json")
    }

    /// An account with order `ORDER` of `quantity` licenses; returns its token.
    pub async fn account_with_order(&self, quantity: u32) -> String {
        self.account_with_order_of(quantity).await.1
    }

    /// The same, returning the account's id too.
    pub async fn account_with_order_of(&self, quantity: u32) -> (Value, String) {
        let v = self
            .post(
                "/v1/admin/accounts",
                ADMIN,
                json!({"name": "Field Co", "kind": "enterprise", "data_center": "cn-east"}),
            )
            .await;
        let token = v["token"].as_str().expect("token").to_owned();
        self.add_order(&v["id"], ORDER, None, quantity, &["modbus-tcp"])
            .await;
        (v["id"].clone(), token)
    }

    /// Adds order `order_no` of `quantity` licenses (of `product`, if any)
    /// to account `account_id`.
    pub async fn add_order(
        &self,
        account_id: &Value,
        order_no: &str,
        product: Option<&str>,
        quantity: u32,
        plugins: &[&str],
    ) {
        self.post(
            "/v1/admin/gateway-orders",
            ADMIN,
            json!({"account_id": account_id, "order_no": order_no, "email": "b@example.com",
            "customer": "Buyer Ltd", "quantity": quantity, "max_connections": 100, "max_tags": 500,
            "plugins": plugins, "validity_days": 365, "product": product}),
        )
        .await;
    }

    /// The order's licenses neither activated nor reserved.
    pub async fn order_remaining(&self) -> u64 {
        self.remaining_of(ORDER).await
    }

    /// Order `order_no`'s licenses neither activated nor reserved.
    pub async fn remaining_of(&self, order_no: &str) -> u64 {
        let v = self
            .http
            .post(format!("{}/v1/gateway/orders/lookup", self.base))
            .json(&json!({"order_no": order_no, "email": "b@example.com"}))
            .send()
            .await
            .expect("send")
            .json::<Value>()
            .await
            .expect("json");
        v["remaining"].as_u64().expect("remaining")
    }
}

/// The fingerprint `ldctl` computes for `--machine-id machine-<n>`.
pub fn fingerprint(n: u32) -> String {
    licensedesk_core::fingerprint::fingerprint(
        format!("machine-{n}").as_bytes(),
        "licensedesk-edge",
    )
}

/// A request file for gateways `ns` of order `order`, made with core (the
/// flow test uses the real `ldctl request` instead).
pub fn request_file(dir: &Path, name: &str, ns: &[u32], order: &str) -> PathBuf {
    request_file_for(dir, name, ns, &Credential::Order(order.to_owned()))
}

/// A request file for gateways `ns`, each asking with `credential`.
pub fn request_file_for(dir: &Path, name: &str, ns: &[u32], credential: &Credential) -> PathBuf {
    let entries = ns
        .iter()
        .map(|&n| {
            let mut nonce = [0u8; 16];
            nonce[..4].copy_from_slice(&n.to_be_bytes());
            RequestEntry::new(
                &fingerprint(n),
                credential.clone(),
                nonce,
                t0(),
                Some(format!("gw-{n}")),
            )
            .expect("entry")
        })
        .collect();
    let path = dir.join(name);
    let request = OfflineRequest::new(entries).expect("request");
    std::fs::write(&path, request.to_json()).expect("write request");
    path
}

/// The real `ldctl` binary of this workspace, built once per test run with
/// the same cargo, profile and target directory as this test binary
/// (`CARGO_BIN_EXE_ldctl` exists only inside licensedesk-cli's own tests).
pub fn ldctl_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("test exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let target_dir = profile_dir.parent().expect("target dir");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        let mut cmd = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "licensedesk-cli",
            "--bin",
            "ldctl",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build for ldctl");
        assert!(status.success(), "building ldctl failed");
        let path = profile_dir.join(format!("ldctl{}", std::env::consts::EXE_SUFFIX));
        assert!(path.exists(), "{} missing", path.display());
        path
    })
}

/// Runs `ldctl` with `args`, isolated from the caller's environment.
pub fn ldctl(args: &[&str]) -> Output {
    Command::new(ldctl_path())
        .args(args)
        .env_remove("LDCTL_HOME")
        .env_remove("LDCTL_MACHINE_ID")
        .output()
        .expect("run ldctl")
}

/// The JSON document of a successful `--json` run.
pub fn ldctl_ok(args: &[&str]) -> Value {
    let out = ldctl(args);
    assert!(
        out.status.success(),
        "ldctl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
