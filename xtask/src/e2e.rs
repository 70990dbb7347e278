//! `cargo xtask e2e`: the end-to-end suite — the real debug app (built with
//! `tauri/custom-protocol` so it loads `ui/dist`, pitfall 2) driven by
//! tauri-driver + WebKitWebDriver under Xvfb, against a real
//! `licensedesk-server --demo` on loopback (started by the suite).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::outcome::{self, Outcome};
use crate::{deps, sh, ui};

pub fn present() -> bool {
    sh::root().join("tests/e2e/run.mjs").is_file()
}

/// Builds the app with the UI embedded; returns the binary.
pub fn build_app(release: bool) -> Result<PathBuf> {
    let mut cmd = sh::cargo();
    cmd.args([
        "build",
        "-p",
        "licensedesk-desktop",
        "--features",
        "tauri/custom-protocol",
    ]);
    if release {
        cmd.arg("--release");
    }
    sh::run(&mut cmd)?;
    let profile = if release { "release" } else { "debug" };
    let built = sh::target_dir().join(profile).join("licensedesk");
    // The target dir is shared (between clones, and with `cargo test`, which
    // rebuilds this binary without `custom-protocol`, so that it would load
    // the Vite dev URL): run a copy that only this build writes.
    let own = sh::target_dir()
        .join(profile)
        .join(format!("licensedesk-ui-{:016x}", clone_id()));
    std::fs::copy(&built, &own)
        .with_context(|| format!("could not copy {} to {}", built.display(), own.display()))?;
    Ok(own)
}

/// A stable id of this clone (its path), so clones sharing a target dir do
/// not run each other's app (each embeds its own `ui/dist`).
fn clone_id() -> u64 {
    // FNV-1a: stable across runs and Rust versions, unlike `DefaultHasher`.
    sh::root()
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// A copy of a binary of the shared target dir that only this clone
/// writes (another clone may rebuild the original from other sources
/// while this suite runs).
fn own_copy(built: PathBuf) -> Result<PathBuf> {
    let name = built
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let own = built.with_file_name(format!("{name}-e2e-{:016x}", clone_id()));
    std::fs::copy(&built, &own)
        .with_context(|| format!("could not copy {} to {}", built.display(), own.display()))?;
    Ok(own)
}

/// Builds the license server; returns the binary.
pub fn build_server(release: bool) -> Result<PathBuf> {
    let mut cmd = sh::cargo();
    cmd.args(["build", "-p", "licensedesk-server"]);
    if release {
        cmd.arg("--release");
    }
    sh::run(&mut cmd)?;
    let profile = if release { "release" } else { "debug" };
    Ok(sh::target_dir().join(profile).join("licensedesk-server"))
}

/// Builds `ldctl` (the journeys run it as a gateway would: fingerprints,
/// trust, usage, leases, requests, ledger checks); returns the binary.
pub fn build_ldctl() -> Result<PathBuf> {
    sh::run(sh::cargo().args(["build", "-p", "licensedesk-cli", "--bin", "ldctl"]))?;
    Ok(sh::target_dir().join("debug").join("ldctl"))
}

/// Runs the suite; its closing line is `e2e: N passed, N failed`.
pub fn suite() -> Result<Outcome> {
    deps::ensure_cargo_tool("tauri-driver", "2.1.0", "tauri-driver")?;
    ui::build()?;
    let app = build_app(false)?;
    let server = own_copy(build_server(false)?)?;
    let ldctl = own_copy(build_ldctl()?)?;
    let mut cmd = Command::new("xvfb-run");
    cmd.args([
        "-a",
        "-s",
        "-screen 0 1440x900x24",
        "node",
        "tests/e2e/run.mjs",
    ])
    .current_dir(sh::root())
    .env("LICENSEDESK_APP", &app)
    .env("LICENSEDESK_SERVER_BIN", &server)
    .env("LICENSEDESK_LDCTL", &ldctl)
    .env(
        "LICENSEDESK_SCREENSHOTS",
        sh::root().join("docs/screenshots"),
    )
    .env("PATH", path_with_cargo_bin());
    outcome::run_counted("e2e", &mut cmd, outcome::parse_plain)
}

/// PATH with `~/.cargo/bin` (where `cargo install` puts tauri-driver).
pub fn path_with_cargo_bin() -> std::ffi::OsString {
    let mut paths: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME").or_else(|| {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo").into_os_string())
    }) {
        paths.push(PathBuf::from(home).join("bin"));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

pub fn e2e(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask e2e` takes no arguments (got `{arg}`)");
    }
    deps::ensure(deps::Purpose::Test)?;
    if !present() {
        bail!("no end-to-end suite yet (tests/e2e/run.mjs)");
    }
    let o = suite()?;
    println!("{} passed, {} failed", o.passed, o.failed);
    if !o.ok() {
        bail!("end-to-end tests failed");
    }
    Ok(())
}
