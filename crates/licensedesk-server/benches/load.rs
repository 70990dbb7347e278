//! Load generator: one in-process server on a loopback port, N concurrent
//! clients against the activation endpoint (`POST /v1/devices/connect`,
//! first connections, each consuming a code) and against `GET /health`.
//! Prints requests/s, p50/p99 latency and the activation/health ratio.
//!
//! `cargo bench -p licensedesk-server --bench load`
//! Environment: `LOAD_CLIENTS` (default 32), `LOAD_REQUESTS` per endpoint
//! (default 4000). Figures only; nothing is asserted.

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
}

async fn run<F, Fut>(clients: usize, total: usize, f: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let f = Arc::new(f);
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
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    Stats {
        rps: total as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let clients = env_or("LOAD_CLIENTS", 32).max(1);
        let total = env_or("LOAD_REQUESTS", 4000).max(clients);
        let dir = tempfile::tempdir().expect("tempdir");
        let state = AppState::open(dir.path(), Arc::new(SystemClock), Settings::default(), ADMIN).expect("state");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, build_app(state), async {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().expect("client");

        let acct: serde_json::Value = http.post(format!("{base}/v1/admin/accounts")).bearer_auth(ADMIN)
            .json(&json!({"name": "bench", "kind": "enterprise", "data_center": "cn-east"}))
            .send().await.expect("account").json().await.expect("json");
        let token = acct["token"].as_str().expect("token").to_owned();
        let package = json!({"validity": {"years": 5}, "messages_per_day": 1500, "ota_per_month": 1, "ota_cap_mb": 5, "storage_days": 7});
        http.post(format!("{base}/v1/products")).bearer_auth(&token).json(&json!({"pk": "pbench", "name": "Bench", "package": package}))
            .send().await.expect("product");
        // Codes for the warm-up and the measured activations.
        let warmup = total / 2;
        let mut left = total + warmup;
        while left > 0 {
            let n = left.min(100_000);
            let r = http.post(format!("{base}/v1/admin/batches")).bearer_auth(ADMIN)
                .json(&json!({"account_id": acct["id"], "pk": "pbench", "count": n, "package": package}))
                .send().await.expect("batch");
            assert!(r.status().is_success(), "crediting codes failed: {}", r.status());
            left -= n;
        }

        println!("load: {clients} concurrent clients, {total} requests per endpoint (after {warmup} warm-up activations), server in-process on {base}");
        let (h, b) = (http.clone(), base.clone());
        // Warm-up of connections.
        run(clients, clients * 4, move |_| {
            let (h, b) = (h.clone(), b.clone());
            async move { h.get(format!("{b}/health")).send().await.is_ok_and(|r| r.status().is_success()) }
        }).await;
        let (h, b) = (http.clone(), base.clone());
        let health = run(clients, total, move |_| {
            let (h, b) = (h.clone(), b.clone());
            async move { h.get(format!("{b}/health")).send().await.is_ok_and(|r| r.status().is_success()) }
        }).await;
        // Warm-up activations (not measured): the WAL file reaches its
        // steady size, as on a server that has been running for a while.
        let (h, b, t) = (http.clone(), base.clone(), token.clone());
        run(clients, warmup, move |i| {
            let (h, b, t) = (h.clone(), b.clone(), t.clone());
            async move {
                h.post(format!("{b}/v1/devices/connect"))
                    .bearer_auth(t)
                    .json(&json!({"pk": "pbench", "dk": format!("warm-{i}")}))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
        let (h, b, t) = (http.clone(), base.clone(), token.clone());
        let activation = run(clients, total, move |i| {
            let (h, b, t) = (h.clone(), b.clone(), t.clone());
            async move {
                h.post(format!("{b}/v1/devices/connect")).bearer_auth(t)
                    .json(&json!({"pk": "pbench", "dk": format!("dev-{i}")}))
                    .send().await.is_ok_and(|r| r.status().is_success())
            }
        }).await;
        for (name, s) in [("GET /health", &health), ("POST /v1/devices/connect (activation)", &activation)] {
            println!("{name:<40} {:>9.0} req/s   p50 {:>8.2} ms   p99 {:>8.2} ms   errors {}",
                s.rps, s.p50.as_secs_f64() * 1e3, s.p99.as_secs_f64() * 1e3, s.errors);
        }
        let ratio = activation.rps / health.rps;
        println!("ratio activation/health: {ratio:.3} (goal >= 0.3{})", if ratio >= 0.3 { ", met" } else { ", NOT met" });
        let _ = stop.send(());
        let _ = server.await;
    });
}
