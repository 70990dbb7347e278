//! `ldctl lease`: a floating license from a pool of the management
//! platform. `claim` takes a lease of points and installs the short-lived
//! signed floating license (bound to this hardware, expiring with the
//! lease); `run` keeps it alive with heartbeats carrying the gateway's
//! usage, installing each renewal, until stopped (SIGTERM, Ctrl-C), then
//! releases it; `release` gives the points back. When heartbeats stop the
//! lease lapses and the license expires with it.
//!
//! The gateway authenticates to its pool with the pool's token (made when
//! the vendor created the pool), never the account's: `--token`,
//! `--token-file` or `$LDCTL_POOL_TOKEN`; `claim` keeps it in
//! `HOME/pool-token` (0600) for `run` and `release`.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use licensedesk_core::clock::check_clock;
use licensedesk_core::gateway::{InUse, Limits, check_new_limits};
use licensedesk_core::license::{check_for_install, verify_license};
use licensedesk_protocol::api::floating::{LeaseRequest, LeaseResponse, LeaseUsageIn, PoolView};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{license_json, load_keys, usage};
use crate::MachineArgs;
use crate::machine::this_fingerprint;
use crate::net;
use crate::output::{Failure, Outcome, Report};
use crate::store::{Home, read_capped};

#[derive(Subcommand)]
pub enum LeaseCommand {
    /// Claim a lease of points and install its floating license.
    Claim(ClaimArgs),
    /// Keep the lease alive by heartbeats (with the usage) until stopped; then release it.
    Run(RunArgs),
    /// Release the lease: its points return to the pool.
    Release(TokenArgs),
}

#[derive(Args)]
pub struct TokenArgs {
    /// The pool token (else `--token-file`, `$LDCTL_POOL_TOKEN`, or the one `claim` kept).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// A file holding the pool token.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    #[command(flatten)]
    pub machine: MachineArgs,
}

#[derive(Args)]
pub struct ClaimArgs {
    /// The license server (management platform) URL.
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// The floating pool's name.
    #[arg(long, value_name = "NAME")]
    pub pool: String,
    /// Points to hold: the license's connections and data tags.
    #[arg(long)]
    pub points: u32,
    #[command(flatten)]
    pub token: TokenArgs,
}

#[derive(Args)]
pub struct RunArgs {
    /// Seconds between heartbeats (default: a third of the lease's time-to-live).
    #[arg(long, value_name = "SECS")]
    pub interval: Option<u64>,
    #[command(flatten)]
    pub token: TokenArgs,
}

/// `HOME/lease.json`: the lease this gateway holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LeaseFile {
    server: String,
    pool: String,
    points: u32,
    fingerprint: String,
    expires_at: DateTime<Utc>,
    ttl_seconds: u64,
}

fn token(args: &TokenArgs, home: &Home) -> Result<String, Failure> {
    let from_file = |path: &std::path::Path| -> Result<String, Failure> {
        Ok(String::from_utf8_lossy(&read_capped(path, 4096)?)
            .trim()
            .to_owned())
    };
    let t = match (&args.token, &args.token_file) {
        (Some(t), _) => t.trim().to_owned(),
        (None, Some(f)) => from_file(f)?,
        (None, None) => match std::env::var("LDCTL_POOL_TOKEN") {
            Ok(t) => t.trim().to_owned(),
            Err(_) if home.pool_token_path().exists() => from_file(&home.pool_token_path())?,
            Err(_) => String::new(),
        },
    };
    if t.is_empty() {
        return Err(Failure::new(
            "POOL_TOKEN_MISSING",
            "no pool token: pass --token, --token-file or set LDCTL_POOL_TOKEN (the token the vendor gave with the pool, not the account's)",
        ));
    }
    Ok(t)
}

fn lease_file(home: &Home) -> Result<LeaseFile, Failure> {
    let path = home.lease_path();
    if !path.exists() {
        return Err(Failure::new(
            "LEASE_NONE",
            "this gateway holds no lease: run `ldctl lease claim --server URL --pool NAME --points N` first",
        ));
    }
    serde_json::from_slice(&read_capped(&path, 64 * 1024)?).map_err(|e| {
        Failure::new(
            "LEASE_FILE_DAMAGED",
            format!("{} is damaged ({e}): claim again", path.display()),
        )
    })
}

/// The usage a claim or heartbeat reports.
fn usage_in(u: InUse) -> Option<LeaseUsageIn> {
    Some(LeaseUsageIn {
        connections: u64::from(u.connections),
        tags: u64::from(u.tags),
    })
}

/// A release's body: the fingerprint alone.
fn release_body(fingerprint: &str) -> LeaseRequest {
    LeaseRequest {
        fingerprint: fingerprint.to_owned(),
        points: None,
        usage: None,
    }
}

/// Verifies a lease's license completely and installs it (a renewal
/// replaces the previous one without a backup).
fn install(
    home: &Home,
    text: &str,
    fp: &str,
    now: DateTime<Utc>,
    backup: bool,
) -> Result<Value, Failure> {
    let keys = load_keys(None, home).map_err(|f| {
        if f.code == "KEYS_MISSING" {
            Failure::new(
                "KEYS_MISSING",
                "no trusted key set: run `ldctl trust --server URL` first, and compare the fingerprints with the server's",
            )
        } else {
            f
        }
    })?;
    let license = verify_license(text.as_bytes(), &keys)?;
    check_clock(home.clock_mark(), now, Some(license.payload().issued_at))?;
    check_for_install(&license, fp, now)?;
    check_new_limits(
        &Limits {
            max_connections: license.payload().max_connections,
            max_tags: license.payload().max_tags,
        },
        &usage::current(home)?,
    )?;
    if backup {
        home.install(text.as_bytes(), now)?;
    } else {
        home.replace(&home.license_path(), text.as_bytes(), false)?;
    }
    home.advance_clock(now)?;
    Ok(license_json(&license))
}

async fn claim_once(
    server: &net::Server,
    pool: &str,
    token: &str,
    fp: &str,
    points: u32,
    in_use: InUse,
) -> Result<LeaseResponse, Failure> {
    let url = server.url("/v1/floating/pools", &[pool, "claim"])?;
    let body = LeaseRequest {
        fingerprint: fp.to_owned(),
        points: Some(points),
        usage: usage_in(in_use),
    };
    server.post(url, token, &body).await
}

fn store_lease(home: &Home, l: &LeaseFile) -> Result<(), Failure> {
    home.replace(
        &home.lease_path(),
        serde_json::to_string_pretty(l)
            .unwrap_or_default()
            .as_bytes(),
        false,
    )
}

pub fn claim(args: &ClaimArgs, home: &Home, now: DateTime<Utc>) -> Outcome {
    let fp = this_fingerprint(&args.token.machine)?;
    let in_use = usage::current(home)?;
    // A license below what is in use is refused before anything is claimed.
    check_new_limits(
        &Limits {
            max_connections: args.points,
            max_tags: args.points,
        },
        &in_use,
    )?;
    load_keys(None, home).map_err(|_| {
        Failure::new(
            "KEYS_MISSING",
            "no trusted key set: run `ldctl trust --server URL` first, and compare the fingerprints with the server's",
        )
    })?;
    let token = token(&args.token, home)?;
    let server = net::Server::new(&args.server)?;
    let reply = net::block_on(claim_once(
        &server,
        &args.pool,
        &token,
        &fp,
        args.points,
        in_use,
    ))??;
    let installed = match install(home, &reply.license, &fp, now, true) {
        Ok(v) => v,
        Err(f) => {
            // Nothing installed: give the points back (best effort).
            let url = server.url("/v1/floating/pools", &[&args.pool, "release"])?;
            let _ = net::block_on(server.post::<_, PoolView>(url, &token, &release_body(&fp)));
            return Err(f);
        }
    };
    let expires_at = reply.expires_at;
    let ttl = (expires_at - now).num_seconds().max(1) as u64;
    home.replace(&home.pool_token_path(), token.as_bytes(), true)?;
    store_lease(
        home,
        &LeaseFile {
            server: server.base().to_owned(),
            pool: args.pool.clone(),
            points: args.points,
            fingerprint: fp.clone(),
            expires_at,
            ttl_seconds: ttl,
        },
    )?;
    Ok(Report::new(
        json!({"pool": args.pool, "points": args.points, "expires_at": expires_at,
               "ttl_seconds": ttl, "license": installed, "installed": home.license_path()}),
        format!(
            "leased {} points from pool {} until {} (renew with `ldctl lease run`)\ninstalled {}",
            args.points,
            args.pool,
            expires_at.to_rfc3339(),
            home.license_path().display()
        ),
    ))
}

async fn release_once(
    server: &net::Server,
    l: &LeaseFile,
    token: &str,
) -> Result<PoolView, Failure> {
    let url = server.url("/v1/floating/pools", &[&l.pool, "release"])?;
    server.post(url, token, &release_body(&l.fingerprint)).await
}

pub fn release(args: &TokenArgs, home: &Home) -> Outcome {
    let l = lease_file(home)?;
    let token = token(args, home)?;
    let server = net::Server::new(&l.server)?;
    let pool = net::block_on(release_once(&server, &l, &token))??;
    std::fs::remove_file(home.lease_path())
        .map_err(|e| Failure::io("remove", &home.lease_path(), &e))?;
    Ok(Report::new(
        json!({"released": true, "pool": l.pool, "pool_in_use": pool.in_use}),
        format!(
            "released {} points to pool {}; the floating license expires at {}",
            l.points,
            l.pool,
            l.expires_at.to_rfc3339()
        ),
    ))
}

/// Resolves on SIGTERM or Ctrl-C.
async fn stopped() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

pub fn run(args: &RunArgs, home: &Home, json_output: bool) -> Outcome {
    let mut l = lease_file(home)?;
    let token = token(&args.token, home)?;
    let server = net::Server::new(&l.server)?;
    let interval = Duration::from_secs(args.interval.unwrap_or((l.ttl_seconds / 3).max(1)).max(1));
    let say = |line: String| {
        if !json_output {
            println!("{line}");
        }
    };
    let outcome = net::block_on(async {
        let stop = stopped();
        tokio::pin!(stop);
        let (mut beats, mut reclaims) = (0u64, 0u64);
        say(format!(
            "keeping the lease of {} points in pool {} alive every {} s (stop with Ctrl-C or SIGTERM)",
            l.points,
            l.pool,
            interval.as_secs()
        ));
        loop {
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(interval) => {}
            }
            let in_use = usage::current(home)?;
            let url = server.url("/v1/floating/pools", &[&l.pool, "heartbeat"])?;
            let body = LeaseRequest {
                fingerprint: l.fingerprint.clone(),
                points: None,
                usage: usage_in(in_use),
            };
            let reply: LeaseResponse = match server.post(url, &token, &body).await {
                Ok(r) => r,
                // The lease lapsed (no heartbeat in time): claim it again.
                Err(f) if f.code == "LEASE_LAPSED" || f.code == "NOT_FOUND" => {
                    reclaims += 1;
                    claim_once(&server, &l.pool, &token, &l.fingerprint, l.points, in_use).await?
                }
                Err(f) if f.code == "SERVER_UNREACHABLE" => {
                    eprintln!(
                        "warning [{}]: {} (retrying; the lease lapses at {})",
                        f.code,
                        f.message,
                        l.expires_at.to_rfc3339()
                    );
                    continue;
                }
                Err(f) => return Err(f),
            };
            let now = Utc::now();
            install(home, &reply.license, &l.fingerprint, now, false)?;
            l.expires_at = reply.expires_at;
            store_lease(home, &l)?;
            beats += 1;
            say(format!(
                "heartbeat {beats}: {} connections, {} data tags in use; lease until {}",
                in_use.connections,
                in_use.tags,
                l.expires_at.to_rfc3339()
            ));
        }
        let pool = release_once(&server, &l, &token).await?;
        Ok::<_, Failure>((beats, reclaims, pool))
    })?;
    let (beats, reclaims, pool) = outcome?;
    std::fs::remove_file(home.lease_path())
        .map_err(|e| Failure::io("remove", &home.lease_path(), &e))?;
    Ok(Report::new(
        json!({"heartbeats": beats, "reclaims": reclaims, "released": true, "pool": l.pool,
               "pool_in_use": pool.in_use}),
        format!(
            "stopped after {beats} heartbeats; released the lease to pool {}",
            l.pool
        ),
    ))
}
