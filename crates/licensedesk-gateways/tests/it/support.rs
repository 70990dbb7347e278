//! Fixtures: a registry in a temp dir, a test signing key, a real server.

use std::ops::Deref;
use std::sync::Arc;

use chrono::Duration;
use licensedesk_core::fingerprint::fingerprint;
use licensedesk_core::gateway::LicenseKind;
use licensedesk_core::keys::{KeySet, SigningKeyWithKid};
use licensedesk_core::license::{LicensePayload, sign_license};
use licensedesk_gateways::{APP_ID, Registry};
use serde_json::json;

pub use licensedesk_testkit::{ADMIN, dead_url, t0 as now};

pub fn this_fp() -> String {
    fingerprint(b"machine-a", APP_ID)
}

pub fn other_fp(n: u32) -> String {
    fingerprint(format!("gateway-{n}").as_bytes(), APP_ID)
}

/// The installs a registry tells its install hook: (gateway id, source).
pub type Installs = Arc<std::sync::Mutex<Vec<(String, &'static str)>>>;

/// Records every install `reg` reports (see `Registry::on_install`).
pub fn record_installs(reg: &Registry) -> Installs {
    let seen = Installs::default();
    let s = seen.clone();
    assert!(
        reg.on_install(Box::new(move |outcome, source| {
            s.lock()
                .expect("lock")
                .push((outcome.gateway_id.clone(), source.as_str()));
        }))
        .is_ok(),
        "a second install hook"
    );
    seen
}

pub fn sources(installs: &Installs) -> Vec<&'static str> {
    installs.lock().expect("lock").iter().map(|i| i.1).collect()
}

pub struct Local {
    pub dir: tempfile::TempDir,
    pub reg: Registry,
}

impl Local {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let reg = Registry::open(dir.path(), &this_fp(), now()).expect("open");
        Self { dir, reg }
    }

    /// A registry trusting the test key.
    pub fn trusting() -> Self {
        let local = Self::new();
        local.reg.set_keys(&keyset()).expect("keys");
        local
    }

    pub fn reopen(&self) -> Registry {
        Registry::open(self.dir.path(), &this_fp(), now()).expect("reopen")
    }

    pub fn file(&self, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    pub fn installed_bytes(&self) -> Option<Vec<u8>> {
        self.reg.license_text(&this_fp()).expect("license text")
    }
}

pub fn key() -> SigningKeyWithKid {
    SigningKeyWithKid::from_seed("test-1", [7; 32]).expect("key")
}

pub fn keyset() -> KeySet {
    KeySet::single(key().public_entry(now())).expect("keyset")
}

pub fn payload(id: &str, hardware: Option<String>) -> LicensePayload {
    LicensePayload {
        license_id: id.into(),
        kind: LicenseKind::File,
        customer: "Buyer Ltd".into(),
        issued_at: now() - Duration::days(1),
        expire_at: now() + Duration::days(365),
        max_connections: 100,
        max_tags: 500,
        plugins: vec!["modbus-tcp".into(), "opcua".into()],
        hardware,
        product: None,
        order: None,
    }
}

pub fn signed(p: &LicensePayload) -> String {
    sign_license(p, &key())
}

/// The kit's [`licensedesk_testkit::Server`] on a temp dir of its own.
pub struct TestServer {
    server: licensedesk_testkit::Server,
    _dir: tempfile::TempDir,
}

impl Deref for TestServer {
    type Target = licensedesk_testkit::Server;
    fn deref(&self) -> &Self::Target {
        &self.server
    }
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = licensedesk_testkit::Server::start(dir.path(), now()).await;
        Self { server, _dir: dir }
    }

    /// An account: (id, token).
    pub async fn account(&self) -> (i64, String) {
        self.account_named("Buyer", "enterprise", "cn-east").await
    }

    /// An order of `qty` licenses; returns its activation code.
    pub async fn order(&self, account: i64, no: &str, qty: u32) -> String {
        let v = self
            .post_json(
                "/v1/admin/gateway-orders",
                ADMIN,
                json!({"account_id": account, "order_no": no, "email": "buyer@example.com",
                       "customer": "Buyer Ltd", "quantity": qty, "max_connections": 200,
                       "max_tags": 2000, "plugins": ["mqtt", "opcua"], "validity_days": 365}),
            )
            .await;
        v["activation_code"].as_str().expect("code").to_owned()
    }
}
