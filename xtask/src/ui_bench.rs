//! `cargo xtask bench ui`: the release app under Xvfb on a 1,000,000-record
//! cache, driven by WebDriver (tauri-driver + WebKitWebDriver,
//! `tests/e2e/bench-ui.mjs`): time to the first rows of License Management,
//! time to paint after a jump to row 900,000, the table's DOM row count
//! before and after, and the memory of the app and its WebKit processes.
//! The server is the sync bench's (`LD_BENCH_SERVE_ONLY=1`: seeded with the
//! records in SQL, then serving); the app fills its cache by its own first
//! sync. Prints figures; never gates CI.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::startup::{Kill, xvfb};
use crate::{deps, e2e, sh, ui};

/// Builds the sync bench without running it; returns its executable.
fn sync_bench() -> Result<PathBuf> {
    let mut cmd = sh::cargo();
    cmd.args([
        "bench",
        "-p",
        "licensedesk-client",
        "--bench",
        "sync",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ])
    .stdout(Stdio::piped());
    eprintln!("$ {}", sh::describe(&cmd));
    let out = cmd.output().context("could not run cargo bench --no-run")?;
    if !out.status.success() {
        bail!("building the sync bench failed: {}", out.status);
    }
    // The artifact line of the bench target carries its executable.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(r#""kind":["bench"]"#) && l.contains(r#""name":"sync""#))
        .find_map(|l| {
            let rest = l.split(r#""executable":""#).nth(1)?;
            Some(PathBuf::from(rest.split('"').next()?))
        })
        .context("cargo did not name the sync bench's executable")
}

pub fn bench() -> Result<()> {
    deps::ensure(deps::Purpose::Test)?;
    deps::ensure_cargo_tool("tauri-driver", "2.1.0", "tauri-driver")?;
    ui::build()?;
    let app = e2e::build_app(true)?;
    let bench = sync_bench()?;

    // The seeded server, serving until this task ends.
    eprintln!("seeding the server (the sync bench's data set)…");
    let mut child = Command::new(&bench)
        .env("LD_BENCH_SERVE_ONLY", "1")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {}", bench.display()))?;
    let stdout = child.stdout.take().context("stdout")?;
    let _server = Kill(child);
    let mut serving = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(rest) = line.strip_prefix("SERVE ") {
            serving = rest
                .split_once(' ')
                .map(|(url, token)| (url.to_owned(), token.to_owned()));
            break;
        }
        println!("{line}");
    }
    let (url, token) = serving.context("the sync bench's server did not start")?;

    let (_xvfb, display) = xvfb()?;
    let mut driver = Command::new("node");
    driver
        .arg("tests/e2e/bench-ui.mjs")
        .current_dir(sh::root())
        .env("DISPLAY", &display)
        .env("LICENSEDESK_APP", &app)
        .env("LICENSEDESK_SERVER_URL", url)
        .env("LICENSEDESK_TOKEN", token)
        .env("PATH", e2e::path_with_cargo_bin());
    if let Ok(n) = std::env::var("LD_BENCH_RECORDS") {
        driver.env("LICENSEDESK_BENCH_ROWS", n);
    }
    sh::run(&mut driver)
}
