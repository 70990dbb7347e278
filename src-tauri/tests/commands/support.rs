//! A mock app with the real capabilities and a scripted dialog.

use std::path::PathBuf;

use licensedesk_core::keys::{KeySet, SigningKeyWithKid};
use licensedesk_desktop::AppState;
use licensedesk_desktop::dialogs::Dialogs;
use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow};

pub use licensedesk_testkit::dead_url;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub app: tauri::App<MockRuntime>,
    pub webview: WebviewWindow<MockRuntime>,
}

pub fn key() -> SigningKeyWithKid {
    SigningKeyWithKid::from_seed("test-1", [7; 32]).expect("key")
}

impl Harness {
    /// With a first profile for `server` (a token it never checks) or none.
    pub fn new(server: Option<&str>) -> Self {
        Self::with(server.map(|s| (s.to_owned(), "unchecked-token".to_owned())))
    }

    /// With a first profile (server URL, API token) or none.
    pub fn with(server: Option<(String, String)>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let machine_id = dir.path().join("machine-id");
        std::fs::write(&machine_id, "mock-machine\n").expect("machine id");
        let state = AppState::with(
            &dir.path().join("data"),
            &machine_id,
            server,
            Dialogs::Scripted(Default::default()),
        )
        .expect("state");
        let app = licensedesk_desktop::app(mock_builder(), state)
            .build(tauri::generate_context!())
            .expect("mock app");
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("main window");
        Self { dir, app, webview }
    }

    pub fn state(&self) -> tauri::State<'_, AppState> {
        self.app.state::<AppState>()
    }

    /// The active profile (needed: licenses verify with its pinned key
    /// set) trusts the test signing key too.
    pub fn trust_test_key(&self) {
        let client = &self.state().sessions.client;
        let p = client
            .profiles()
            .active()
            .expect("profiles")
            .expect("a profile: keys are a profile's");
        let entry = key().public_entry(chrono::Utc::now());
        let keys = match client.trust(&p.id).load().expect("trust") {
            Some(set) => set.with_key(entry, false).expect("add the test key"),
            None => KeySet::single(entry).expect("keys"),
        };
        client.trust(&p.id).pin(&keys).expect("pin");
    }

    pub fn this_machine(&self) -> String {
        self.state().gateways.this_machine()
    }

    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    pub fn answer_dialog(&self, path: Option<PathBuf>) {
        self.state().dialogs.push(path);
    }

    /// Invokes `cmd` as the UI would (`tauri://localhost`, pitfall 3).
    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().expect("url"),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().expect("json"))
    }

    /// An error that must be `{code, message, params}`; returns the code.
    pub fn error_code(&self, cmd: &str, args: Value) -> String {
        let err = self.invoke(cmd, args).expect_err(cmd);
        let obj = err
            .as_object()
            .unwrap_or_else(|| panic!("{cmd}: not an object: {err}"));
        assert_eq!(obj.len(), 3, "{cmd}: {err}");
        assert!(obj["params"].is_object(), "{cmd}: {err}");
        assert!(
            obj["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{err}"
        );
        obj["code"].as_str().expect("code").to_owned()
    }
}

/// A real `licensedesk-server` with the demo data set, on its own runtime
/// and the system's clock (the app's own clock is the system's).
pub struct DemoServer {
    pub url: String,
    _serving: licensedesk_testkit::Serving,
    pub dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

impl DemoServer {
    pub fn start() -> Self {
        Self::start_in(tempfile::tempdir().expect("tempdir"))
    }

    /// The demo data set on a new database of `other`'s server: its
    /// signing keys (as when a server's data is replaced).
    pub fn replacing(other: &DemoServer) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (from, to) = (other.dir.path().join("keys"), dir.path().join("keys"));
        std::fs::create_dir_all(&to).expect("keys dir");
        for e in std::fs::read_dir(&from).expect("keys") {
            let e = e.expect("entry");
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy a key file");
        }
        Self::start_in(dir)
    }

    fn start_in(dir: tempfile::TempDir) -> Self {
        use licensedesk_server::{AppState, build_app, clock::SystemClock, config::Settings, demo};
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let state = AppState::open(
            dir.path(),
            std::sync::Arc::new(SystemClock),
            Settings::default(),
            "admin",
        )
        .expect("server state");
        rt.block_on(demo::seed(&state)).expect("demo data");
        let serving = rt.block_on(licensedesk_testkit::Serving::start(build_app(state)));
        Self {
            url: serving.base.clone(),
            _serving: serving,
            dir,
            _rt: rt,
        }
    }

    /// A gateway order of `quantity` licenses for the demo enterprise
    /// account, placed by the admin; returns its activation code.
    pub fn gateway_order(&self, order_no: &str, quantity: u32) -> String {
        use licensedesk_client::ApiToken;
        use licensedesk_client::http::ServerApi;
        use licensedesk_server::demo::DEMO_ENTERPRISE_TOKEN;
        self._rt.block_on(async {
            let account: Value = ServerApi::new(&self.url, ApiToken::new(DEMO_ENTERPRISE_TOKEN))
                .expect("api")
                .get("/v1/account", &[])
                .await
                .expect("account");
            let admin = ServerApi::new(&self.url, ApiToken::new("admin")).expect("admin api");
            let order: Value = admin
                .post(
                    "/v1/admin/gateway-orders",
                    &serde_json::json!({"account_id": account["id"], "order_no": order_no,
                        "email": "field@example.com", "customer": "Demo Customer",
                        "quantity": quantity, "max_connections": 100, "max_tags": 1000,
                        "plugins": ["mqtt"], "validity_days": 365}),
                    order_no,
                )
                .await
                .expect("order");
            order["activation_code"]
                .as_str()
                .expect("activation code")
                .to_owned()
        })
    }

    /// A license of order `order_no` (a new order of 5) activated online
    /// for hardware `fingerprint`: the license file text the server signed.
    pub fn license_for(&self, order_no: &str, fingerprint: &str) -> String {
        let code = self.gateway_order(order_no, 5);
        self._rt.block_on(async {
            let api = licensedesk_gateways::ServerApi::new(&self.url, None).expect("api");
            api.activate(&code, fingerprint)
                .await
                .expect("activate")
                .license
        })
    }

    /// A harness whose profile is the demo enterprise account.
    pub fn harness(&self) -> Harness {
        Harness::with(Some((
            self.url.clone(),
            licensedesk_server::demo::DEMO_ENTERPRISE_TOKEN.to_owned(),
        )))
    }
}
