//! A real server on loopback (restartable on the same data directory), the
//! real `ldctl` binary, and request files.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use licensedesk_core::gateway::AllotmentSource;
use licensedesk_core::offline::{Credential, OfflineRequest, RequestEntry};
use serde_json::{Value, json};

pub use licensedesk_testkit::{ADMIN, t0};

pub const ORDER: &str = "ORD-F";

/// Check out from order `ORDER`.
pub fn by_order() -> AllotmentSource {
    AllotmentSource::Order(ORDER.into())
}

/// The kit's [`licensedesk_testkit::Server`]; the data dir is the test's,
/// so that it can start a server on it again.
pub struct Server(licensedesk_testkit::Server);

impl Deref for Server {
    type Target = licensedesk_testkit::Server;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Server {
    /// A server on `dir` (created or reopened) whose clock reads `now`.
    pub async fn start(dir: &Path, now: DateTime<Utc>) -> Self {
        Self(licensedesk_testkit::Server::start(dir, now).await)
    }

    /// Stops the server and waits until its listener is closed.
    pub async fn stop(mut self) {
        self.0.stop().await;
    }

    /// An account with order `ORDER` of `quantity` licenses; returns its token.
    pub async fn account_with_order(&self, quantity: u32) -> String {
        self.account_with_order_of(quantity).await.1
    }

    /// The same, returning the account's id too.
    pub async fn account_with_order_of(&self, quantity: u32) -> (Value, String) {
        let (id, token) = self
            .account_named("Field Co", "enterprise", "cn-east")
            .await;
        let id = json!(id);
        self.add_order(&id, ORDER, None, quantity, &["modbus-tcp"])
            .await;
        (id, token)
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
        self.post_json(
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
