//! Test server and HTTP helpers (the shared ones from
//! `licensedesk-testkit`); the real binary for what only it does.

use std::io::{BufRead, BufReader};
use std::ops::Deref;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use licensedesk_server::config::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub use licensedesk_testkit::{ADMIN, Database, at, get_json, post_json};

/// The kit's [`licensedesk_testkit::Server`] on a temp dir of its own.
pub struct TestServer {
    server: licensedesk_testkit::Server,
    pub dir: tempfile::TempDir,
}

impl Deref for TestServer {
    type Target = licensedesk_testkit::Server;
    fn deref(&self) -> &Self::Target {
        &self.server
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Settings::default(), licensedesk_testkit::t0()).await
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
        let server =
            licensedesk_testkit::Server::start_with(dir.path(), settings, start, |app| app).await;
        Self { server, dir }
    }

    /// Stops this server and starts another on the same data dir, its
    /// clock at `now` (a restart, with the time it was down).
    pub async fn restart(self, now: DateTime<Utc>) -> Self {
        let Self { mut server, dir } = self;
        server.stop().await;
        let settings = server.state.settings.clone();
        drop(server);
        Self::start_in(dir, settings, now).await
    }

    /// Stops this server; its data dir (and database), to start another
    /// on ([`Self::start_in`]) after changing it.
    pub async fn shut_down(self) -> tempfile::TempDir {
        let Self { mut server, dir } = self;
        server.stop().await;
        drop(server);
        dir
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
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("send");
        (r.status(), r.text().await.expect("text"))
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

/// Whether this run's servers are on PostgreSQL (`LICENSEDESK_TEST_ENGINE`):
/// a test of SQLite's own file (its backup, its query plans) has nothing
/// to check there.
pub fn on_postgres() -> bool {
    licensedesk_testkit::engine() == licensedesk_server::db::Engine::Postgres
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
    /// loopback port, with the tests' admin token (and the dir's
    /// PostgreSQL database when the tests run on one).
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
        if let Database::Postgres(url) = Database::of(dir) {
            c.args(["--database", &url]);
        }
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

    /// Starts the binary on `dir` and waits until it answers `/health`.
    pub async fn healthy(dir: &Path, client: &reqwest::Client) -> Self {
        let p = Self::start(dir);
        wait_healthy(client, &p.base).await;
        p
    }

    /// Creates an enterprise account in cn-east named `name` (as admin):
    /// the server's answer, with its `id` and `token`.
    pub async fn account(&self, client: &reqwest::Client, name: &str) -> Value {
        post_json(
            client,
            format!("{}/v1/admin/accounts", self.base),
            ADMIN,
            serde_json::json!({"name": name, "kind": "enterprise", "data_center": "cn-east"}),
        )
        .await
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

/// The devices a load's activations were acknowledged for, shared by its
/// workers.
pub type Acked = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Load worker `w`: activates devices `w{w}-0`, `w{w}-1`, … (`n` at most)
/// of product `pk` on `base` one after another, recording each acknowledged
/// one in `acked`, until the server stops answering (it was killed).
/// Whether it did stop so; any answer but success fails the test.
pub fn activation_worker(
    client: reqwest::Client,
    base: String,
    token: String,
    pk: &'static str,
    w: usize,
    n: usize,
    acked: Acked,
) -> tokio::task::JoinHandle<bool> {
    tokio::spawn(async move {
        for i in 0..n {
            let dk = format!("w{w}-{i}");
            let sent = client
                .post(format!("{base}/v1/devices/connect"))
                .bearer_auth(&token)
                .json(&json!({"pk": pk, "dk": dk}))
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => acked.lock().expect("lock").push(dk),
                Ok(r) => panic!("unexpected status {}", r.status()),
                Err(_) => return true, // the server is gone
            }
        }
        false
    })
}

/// Waits (60 s at most) until `n` activations of a load were acknowledged.
pub async fn wait_acked(acked: &Acked, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().expect("lock").len() < n {
        assert!(Instant::now() < deadline, "load too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The code counts the store keeps (each product pool's Used / Remaining,
/// each account's unassigned codes) equal a recount of the codes, for
/// every product and account of `db`.
pub async fn assert_counts_equal_recount(db: &Database) {
    let kept = db
        .rows(
            "SELECT product_id, used, remaining FROM pool_counts WHERE used + remaining > 0 ORDER BY product_id",
            &[],
        )
        .await;
    let counted = db
        .rows(
            "SELECT product_id, COUNT(consumed_at), COUNT(*) - COUNT(consumed_at) FROM codes
             WHERE product_id IS NOT NULL GROUP BY product_id ORDER BY product_id",
            &[],
        )
        .await;
    assert_eq!(
        kept, counted,
        "pools (product, used, remaining) kept vs counted"
    );
    let kept = db
        .rows(
            "SELECT account_id, unassigned FROM unassigned_counts WHERE unassigned > 0 ORDER BY account_id",
            &[],
        )
        .await;
    let counted = db
        .rows(
            "SELECT account_id, COUNT(*) FROM codes WHERE product_id IS NULL GROUP BY account_id ORDER BY account_id",
            &[],
        )
        .await;
    assert_eq!(kept, counted, "unassigned (account, codes) kept vs counted");
}
