//! Load generator: one server on a loopback port, N concurrent clients
//! against the activation endpoint (`POST /v1/devices/connect`, first
//! connections, each consuming a code) and against `GET /health`.
//!
//! The server is the shipped `licensedesk-server` binary in a process of
//! its own, as deployed: its runtime, its threads. With
//! `LOAD_SERVER=in-process` it runs instead on this process's runtime,
//! beside the load generator, with two bench-only routes (below); the two
//! then share one scheduler, which favours the health endpoint (client and
//! server tasks wake each other on the same worker, while an activation
//! always crosses to the writer thread and back; here health ran at about
//! 93k/s in-process against 78k/s from another process, and activation at
//! 22–24k/s either way).
//!
//! Prints requests/s, p50/p99 latency, the CPU time spent per request (load
//! generator and server together; the server's writer thread's share apart)
//! and the activation/health ratio. In-process, two bench-only routes
//! take an activation apart: the same request and answer through the same HTTP,
//! auth and JSON without the database, and then with an empty write
//! through the writer thread (the hand-over, without SQL or fsync).
//!
//! The two endpoints are measured in alternating rounds (health, then
//! activation, `LOAD_ROUNDS` times) and the ratio is given per round and as
//! the median of the rounds, so that a burst of other work on the machine
//! during one phase shows as one odd round instead of one odd result.
//!
//! Throughput is what a server sustains when it is kept busy, so the
//! headline rounds run both endpoints at the same client count, by default
//! 256, where both are saturated on a 2-core machine. Health is CPU-bound
//! from a few clients on. An activation is answered only after its group's
//! commit (an fsync): one client waits for it alone, many share it, so the
//! activation's throughput grows with the number of clients until the CPU
//! is spent. Below that point the figure measures the fsync's latency, not
//! the server's capacity: at 32 clients the ratio is about 0.3, at 256 about
//! 0.4, and more clients only add latency (the sweep shows both).
//!
//! Then that concurrency sweep: one round of each endpoint at every client
//! count of `LOAD_SWEEP`.
//!
//! `cargo bench -p licensedesk-server --bench load`
//! Environment: `LOAD_CLIENTS` (default 256), `LOAD_REQUESTS` per endpoint
//! and round (default 20000), `LOAD_ROUNDS` (default 5), `LOAD_SERVER`
//! (`in-process`, or by default the binary), `LOAD_SWEEP` (client counts,
//! default `8,16,32,64,128,256,512`; empty for none). Figures only; nothing
//! is asserted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use licensedesk_server::clock::SystemClock;
use licensedesk_server::config::Settings;
use licensedesk_server::{AppState, build_app, serve};
use serde_json::json;
use tokio::net::TcpListener;

const ADMIN: &str = "bench-admin";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Stats {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
    /// CPU time per request: the load generator's and the server's
    /// together, the generator's alone (both the same in-process), and
    /// the server's writer thread's.
    cpu: Duration,
    client_cpu: Duration,
    writer_cpu: Duration,
}

/// The server process's id, when the server is a process of its own.
static SERVER_PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// CPU time run so far by the threads of this process and of the server
/// process if there is one (all of them, this process's, and the database
/// writer thread's), from `/proc/<pid>/task/*/schedstat` (Linux).
fn cpu_times() -> (Duration, Duration, Duration) {
    let (mut all, mut writer, mut own) = (0u64, 0u64, 0u64);
    let mut procs = vec!["self".to_owned()];
    procs.extend(SERVER_PID.get().map(u32::to_string));
    for p in procs {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let ns = std::fs::read_to_string(t.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0);
            all += ns;
            if p == "self" {
                own += ns;
            }
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            if comm.starts_with("licensedesk-wri") {
                writer += ns;
            }
        }
    }
    (
        Duration::from_nanos(all),
        Duration::from_nanos(writer),
        Duration::from_nanos(own),
    )
}

async fn run<F, Fut>(clients: usize, total: usize, f: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let f = Arc::new(f);
    let cpu_before = cpu_times();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            let mut i = c;
            while i < total {
                let t = Instant::now();
                if !f(i).await {
                    errors += 1;
                }
                lat.push(t.elapsed());
                i += clients;
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::with_capacity(total);
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("client task");
        lat.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    let cpu_after = cpu_times();
    let per_request = |a: Duration, b: Duration| a.saturating_sub(b) / total as u32;
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    Stats {
        rps: total as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
        cpu: per_request(cpu_after.0, cpu_before.0),
        writer_cpu: per_request(cpu_after.1, cpu_before.1),
        client_cpu: per_request(cpu_after.2, cpu_before.2),
    }
}

/// The load generator's requests, with what they share made once (the
/// parsed URLs, the authorization header), so that what it spends per
/// request is the HTTP exchange itself, the same for every endpoint.
#[derive(Clone)]
struct Requests {
    http: reqwest::Client,
    health: reqwest::Url,
    base: String,
    auth: reqwest::header::HeaderValue,
}

impl Requests {
    /// `GET /health`; whether it succeeded.
    async fn health(&self) -> bool {
        self.http
            .get(self.health.clone())
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// POSTs a connect request for device `dk` of the bench product to
    /// `url`; whether it succeeded.
    async fn connect(&self, url: reqwest::Url, dk: String) -> bool {
        // The device keys here are `[a-z0-9-]`: nothing to escape.
        let body = format!(r#"{{"pk":"pbench","dk":"{dk}"}}"#);
        self.http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, self.auth.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    fn url(&self, path: &str) -> reqwest::Url {
        format!("{}{path}", self.base).parse().expect("url")
    }

    /// `total` health requests from `clients` concurrent clients.
    async fn health_load(&self, clients: usize, total: usize) -> Stats {
        let r = self.clone();
        run(clients, total, move |_| {
            let r = r.clone();
            async move { r.health().await }
        })
        .await
    }

    /// `total` connect requests to `path` from `clients` concurrent
    /// clients, for devices `{prefix}-{i}`.
    async fn connect_load(&self, clients: usize, total: usize, path: &str, prefix: &str) -> Stats {
        let (r, url, prefix) = (self.clone(), self.url(path), prefix.to_owned());
        run(clients, total, move |i| {
            let (r, url, dk) = (r.clone(), url.clone(), format!("{prefix}-{i}"));
            async move { r.connect(url, dk).await }
        })
        .await
    }
}

/// Bench-only routes that take an activation apart (see the round loop).
mod parts {
    use axum::extract::State;
    use axum::routing::post;
    use licensedesk_server::AppState;
    use licensedesk_server::api::devices::{ConnectRequest, ConnectResponse};
    use licensedesk_server::api::extract::Json;
    use licensedesk_server::auth::Caller;
    use licensedesk_server::error::Result;

    pub const ROUTES: [(&str, &str); 2] = [
        ("  its HTTP + auth + JSON alone", "/bench/echo"),
        ("  + an empty write via the writer", "/bench/empty-write"),
    ];

    /// An answer of the activation's shape and size.
    fn answer(req: ConnectRequest) -> ConnectResponse {
        let t = chrono::Utc::now();
        ConnectResponse {
            pk: req.pk,
            dk: req.dk,
            status: "active".into(),
            online: true,
            consumed: true,
            code: Some("BENCH-0000-0000-0000-0000".into()),
            activated_at: Some(t),
            expires_at: Some(t),
        }
    }

    async fn echo(_: Caller, Json(req): Json<ConnectRequest>) -> Json<ConnectResponse> {
        Json(answer(req))
    }

    async fn empty_write(
        State(state): State<AppState>,
        _: Caller,
        Json(req): Json<ConnectRequest>,
    ) -> Result<Json<ConnectResponse>> {
        state.db.write(|_| Ok(())).await?;
        Ok(Json(answer(req)))
    }

    pub fn routes() -> axum::Router<AppState> {
        axum::Router::new()
            .route(ROUTES[0].1, post(echo))
            .route(ROUTES[1].1, post(empty_write))
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let clients = env_or("LOAD_CLIENTS", 256).max(1);
        let total = env_or("LOAD_REQUESTS", 20_000).max(clients);
        let rounds = env_or("LOAD_ROUNDS", 5).max(1);
        let sweep: Vec<usize> = std::env::var("LOAD_SWEEP")
            .unwrap_or_else(|_| "8,16,32,64,128,256,512".into())
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .filter(|&n| n > 0)
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        // The shipped server binary in a process of its own, unless asked
        // for the server in this process (with the bench-only routes).
        let in_process = std::env::var("LOAD_SERVER").is_ok_and(|v| v == "in-process");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (base, server, mut child) = if in_process {
            let state = AppState::open(dir.path(), Arc::new(SystemClock), Settings::default(), ADMIN).expect("state");
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let base = format!("http://{}", listener.local_addr().expect("addr"));
            let app = build_app(state.clone()).merge(parts::routes().with_state(state));
            let server = tokio::spawn(serve(listener, app, async {
                let _ = stopped.await;
            }));
            (base, Some(server), None)
        } else {
            use std::io::BufRead;
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_licensedesk-server"))
                .args(["--listen", "127.0.0.1:0", "--admin-token", ADMIN, "--data-dir"])
                .arg(dir.path())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("licensedesk-server");
            let _ = SERVER_PID.set(c.id());
            // Its first line: `listening on http://ADDR`.
            let mut line = String::new();
            std::io::BufReader::new(c.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
            let base = line.trim().strip_prefix("listening on ").expect("listening line").to_owned();
            (base, None, Some(c))
        };
        let most = sweep.iter().copied().chain([clients]).max().unwrap_or(clients);
        let http = reqwest::Client::builder().pool_max_idle_per_host(most).build().expect("client");

        let acct: serde_json::Value = http.post(format!("{base}/v1/admin/accounts")).bearer_auth(ADMIN)
            .json(&json!({"name": "bench", "kind": "enterprise", "data_center": "cn-east"}))
            .send().await.expect("account").json().await.expect("json");
        let token = acct["token"].as_str().expect("token").to_owned();
        let package = json!({"validity": {"years": 5}, "messages_per_day": 1500, "ota_per_month": 1, "ota_cap_mb": 5, "storage_days": 7});
        // The vendor sets the product up with its package (an account may not).
        let r = http.post(format!("{base}/v1/admin/products")).bearer_auth(ADMIN)
            .json(&json!({"account_id": acct["id"], "pk": "pbench", "name": "Bench", "package": package}))
            .send().await.expect("product");
        assert!(r.status().is_success(), "setting up the product failed: {}", r.status());
        // Codes for the warm-up and the measured activations.
        let warmup = total / 2;
        let mut left = total * rounds + warmup + sweep.iter().map(|&n| total.max(n)).sum::<usize>();
        while left > 0 {
            let n = left.min(100_000);
            let r = http.post(format!("{base}/v1/admin/batches")).bearer_auth(ADMIN)
                .json(&json!({"account_id": acct["id"], "pk": "pbench", "count": n, "package": package}))
                .send().await.expect("batch");
            assert!(r.status().is_success(), "crediting codes failed: {}", r.status());
            left -= n;
        }

        let mode = if in_process { "in this process (LOAD_SERVER=in-process)" } else { "the licensedesk-server binary, a process of its own" };
        println!("load: {clients} concurrent clients, {rounds} rounds of {total} requests per endpoint (after {warmup} warm-up activations); server: {mode}, on {base}");
        let requests = Requests {
            health: format!("{base}/health").parse().expect("url"),
            http: http.clone(),
            base: base.clone(),
            auth: format!("Bearer {token}").parse().expect("header"),
        };
        // Warm-up of connections.
        requests.health_load(clients, clients * 4).await;
        // Warm-up activations (not measured): the WAL file reaches its
        // steady size, as on a server that has been running for a while.
        requests.connect_load(clients, warmup, "/v1/devices/connect", "warm").await;
        let mut ratios = Vec::new();
        for round in 0..rounds {
            let health = requests.health_load(clients, total).await;
            let activation = requests.connect_load(clients, total, "/v1/devices/connect", &format!("dev-{round}")).await;
            // Where an activation's cost goes: the same request through
            // the same HTTP, auth and JSON, without the database, then with
            // an empty write through the writer thread.
            let mut parts = Vec::new();
            for (name, path) in if in_process { &parts::ROUTES[..] } else { &parts::ROUTES[..0] } {
                parts.push((*name, requests.connect_load(clients, total, path, "part").await));
            }
            for (name, s) in [("GET /health", &health), ("POST /v1/devices/connect (activation)", &activation)]
                .into_iter()
                .chain(parts.iter().map(|(n, s)| (*n, s)))
            {
                // In-process, the generator's share is the whole.
                let generator = if in_process { String::new() } else { format!("load generator {:>4.1} µs, ", s.client_cpu.as_secs_f64() * 1e6) };
                println!("round {}  {name:<38} {:>7.0} req/s   p50 {:>5.2} ms   p99 {:>5.2} ms   CPU/request {:>5.1} µs ({generator}writer thread {:>4.1} µs)   errors {}",
                    round + 1, s.rps, s.p50.as_secs_f64() * 1e3, s.p99.as_secs_f64() * 1e3,
                    s.cpu.as_secs_f64() * 1e6, s.writer_cpu.as_secs_f64() * 1e6, s.errors);
            }
            let ratio = activation.rps / health.rps;
            println!("round {}  ratio activation/health: {ratio:.3}", round + 1);
            ratios.push(ratio);
        }
        ratios.sort_by(f64::total_cmp);
        let ratio = ratios[ratios.len() / 2];
        println!("ratio activation/health at {clients} clients, median of {rounds} rounds: {ratio:.3} (goal >= 0.3{})", if ratio >= 0.3 { ", met" } else { ", NOT met" });
        if !sweep.is_empty() {
            println!("concurrency sweep, one round of each endpoint per client count:");
            println!("{:>8} {:>14} {:>18} {:>22} {:>7}", "clients", "health req/s", "activation req/s", "activation p50 / p99", "ratio");
        }
        for &n in &sweep {
            let total = total.max(n);
            // New connections are opened here, not in the measured rounds.
            requests.health_load(n, n * 4).await;
            let health = requests.health_load(n, total).await;
            let activation = requests.connect_load(n, total, "/v1/devices/connect", &format!("sweep-{n}")).await;
            println!("{n:>8} {:>14.0} {:>18.0} {:>13.2} / {:>5.2} ms {:>7.3}{}",
                health.rps, activation.rps, activation.p50.as_secs_f64() * 1e3, activation.p99.as_secs_f64() * 1e3,
                activation.rps / health.rps,
                if health.errors + activation.errors > 0 { format!("   errors {}", health.errors + activation.errors) } else { String::new() });
        }
        let _ = stop.send(());
        if let Some(server) = server {
            let _ = server.await;
        }
        if let Some(c) = child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    });
}
