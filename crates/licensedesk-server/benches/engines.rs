//! Activation throughput by engine: the shipped `licensedesk-server`
//! binary on SQLite (one node, its data dir), then on PostgreSQL with one
//! node and with two nodes sharing one database (a throwaway cluster
//! started here, as the tests start theirs), in one run, on this machine.
//!
//! Each configuration gets a fresh database, one account and product with
//! enough codes, a warm-up, then `ENGINES_REQUESTS` first connections
//! (each consumes a code) from each client count of `ENGINES_CLIENTS`,
//! the clients spread over the nodes. Prints requests/s, p50/p99 latency,
//! and errors (a 503 DATABASE_BUSY would count: a write that lost its
//! conflicts too often).
//!
//! `cargo xtask bench server --engine postgres [--nodes 1|2]`: `--nodes 1`
//! leaves out the two-node run. Environment: `ENGINES_CLIENTS` (default
//! `32,256`), `ENGINES_REQUESTS` per run (default 10000). Figures only;
//! nothing is asserted.
//!
//! On a machine with few cores the server processes, PostgreSQL and the
//! load generator share them: the two-node figure there shows that two
//! nodes stay correct under contention more than what a second machine
//! would add.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADMIN: &str = "bench-admin";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A server binary serving `dir` (and `database`, when given).
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(dir: &Path, database: Option<&str>) -> Self {
        let mut c = Command::new(env!("CARGO_BIN_EXE_licensedesk-server"));
        c.args([
            "--listen",
            "127.0.0.1:0",
            "--admin-token",
            ADMIN,
            "--data-dir",
        ])
        .arg(dir);
        if let Some(url) = database {
            c.args(["--database", url]);
        }
        let mut child = c
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("licensedesk-server");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening line")
            .to_owned();
        Self { child, base }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Stats {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

/// `total` first connections of devices `{prefix}-{i}` from `clients`
/// concurrent clients, client `c` on node `c % nodes`.
async fn activations(
    http: &reqwest::Client,
    bases: &[String],
    token: &str,
    clients: usize,
    total: usize,
    prefix: &str,
) -> Stats {
    let auth: Arc<str> = format!("Bearer {token}").into();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let url: reqwest::Url = format!("{}/v1/devices/connect", bases[c % bases.len()])
            .parse()
            .expect("url");
        let (http, auth, prefix) = (http.clone(), auth.clone(), prefix.to_owned());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0);
            let mut i = c;
            while i < total {
                let t = Instant::now();
                let ok = http
                    .post(url.clone())
                    .header(reqwest::header::AUTHORIZATION, &*auth)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(format!(r#"{{"pk":"pbench","dk":"{prefix}-{i}"}}"#))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                lat.push(t.elapsed());
                errors += usize::from(!ok);
                i += clients;
            }
            (lat, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::with_capacity(total), 0);
    for t in tasks {
        let (l, e) = t.await.expect("client");
        lat.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    Stats {
        rps: total as f64 / elapsed.as_secs_f64(),
        p50: pct(0.5),
        p99: pct(0.99),
        errors,
    }
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    let r = http
        .post(&url)
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.expect("json")
}

/// One configuration: its nodes started, set up, warmed up, measured.
async fn measure(label: &str, nodes: &[Node], sweep: &[usize], total: usize) {
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let most = sweep.iter().copied().max().unwrap_or(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(most)
        .build()
        .expect("client");
    let base = &bases[0];
    let acct = post(
        &http,
        format!("{base}/v1/admin/accounts"),
        json!({"name": "bench", "kind": "enterprise", "data_center": "cn-east"}),
    )
    .await;
    let token = acct["token"].as_str().expect("token").to_owned();
    let package = json!({"validity": {"years": 5}, "messages_per_day": 1500, "ota_per_month": 1, "ota_cap_mb": 5, "storage_days": 7});
    post(
        &http,
        format!("{base}/v1/admin/products"),
        json!({"account_id": acct["id"], "pk": "pbench", "name": "Bench", "package": package}),
    )
    .await;
    let warmup = total / 4;
    let mut left = warmup + total * sweep.len();
    while left > 0 {
        let n = left.min(100_000);
        post(
            &http,
            format!("{base}/v1/admin/batches"),
            json!({"account_id": acct["id"], "pk": "pbench", "count": n, "package": package}),
        )
        .await;
        left -= n;
    }
    activations(&http, &bases, &token, most.min(64), warmup, "warm").await;
    for &clients in sweep {
        let s = activations(
            &http,
            &bases,
            &token,
            clients,
            total,
            &format!("c{clients}"),
        )
        .await;
        println!(
            "{label:<24} {clients:>8} {:>12.0} {:>10.2} {:>10.2} {:>8}",
            s.rps,
            s.p50.as_secs_f64() * 1e3,
            s.p99.as_secs_f64() * 1e3,
            s.errors
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let engine = flag("--engine").unwrap_or_else(|| "postgres".into());
    assert!(
        engine == "postgres",
        "--engine: only `postgres` is compared with SQLite"
    );
    let max_nodes: usize = flag("--nodes")
        .and_then(|n| n.parse().ok())
        .unwrap_or(2)
        .clamp(1, 2);
    let sweep: Vec<usize> = std::env::var("ENGINES_CLIENTS")
        .unwrap_or_else(|_| "32,256".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .filter(|&n| n > 0)
        .collect();
    let total = env_or("ENGINES_REQUESTS", 10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "activation (first connections, each consuming a code), {total} per run, on {cores} cores; every node is the licensedesk-server binary"
    );
    println!(
        "{:<24} {:>8} {:>12} {:>10} {:>10} {:>8}",
        "engine", "clients", "req/s", "p50 ms", "p99 ms", "errors"
    );
    rt.block_on(async {
        {
            let dir = tempfile::tempdir().expect("tempdir");
            let node = Node::start(dir.path(), None);
            measure("SQLite, 1 node", &[node], &sweep, total).await;
        }
        let cluster = licensedesk_testkit::pg::Cluster::start();
        for nodes in 1..=max_nodes {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = cluster.database();
            // The first node makes the keys and the schema; the others are
            // given the same keys dir.
            let mut started = vec![Node::start(dir.path(), Some(&url))];
            for _ in 1..nodes {
                started.push(Node::start(dir.path(), Some(&url)));
            }
            let label = format!(
                "PostgreSQL, {nodes} node{}",
                if nodes > 1 { "s" } else { "" }
            );
            measure(&label, &started, &sweep, total).await;
        }
        cluster.stop();
    });
}
