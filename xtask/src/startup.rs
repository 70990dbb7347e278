//! `cargo xtask bench startup`: cold start of the release app to its first
//! page load (≈ first paint) under Xvfb, and the RSS of the app with its
//! WebKit processes at that moment. Prints figures; never gates CI.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{deps, e2e, ui};

const RUNS: usize = 5;

pub(crate) struct Kill(pub(crate) Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on a free display; returns it and the display name.
pub(crate) fn xvfb() -> Result<(Kill, String)> {
    let n = (99..200)
        .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
        .context("no free X display")?;
    let display = format!(":{n}");
    let child = Command::new("Xvfb")
        .args([&display, "-screen", "0", "1440x900x24", "-nolisten", "tcp"])
        .stderr(Stdio::null())
        .spawn()
        .context("could not start Xvfb")?;
    let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
    let end = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        if Instant::now() > end {
            bail!("Xvfb did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((Kill(child), display))
}

/// One cold start: (milliseconds to the page load, RSS line).
fn once(app: &Path, display: &str, data: &Path) -> Result<(f64, String)> {
    let started = Instant::now();
    let mut child = Command::new(app)
        .env("DISPLAY", display)
        .env("LICENSEDESK_BENCH_STARTUP", "1")
        .env("LICENSEDESK_DATA_DIR", data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("could not start the app")?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut line = String::new();
    for l in BufReader::new(stdout).lines() {
        let l = l?;
        if l.starts_with("startup:") {
            line = l;
            break;
        }
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let _ = child.wait();
    if line.is_empty() {
        bail!("the app exited without reporting its page load");
    }
    Ok((ms, line))
}

pub fn bench() -> Result<()> {
    deps::ensure(deps::Purpose::Test)?;
    ui::build()?;
    let app = e2e::build_app(true)?;
    let (_xvfb, display) = xvfb()?;
    let data = std::env::temp_dir().join(format!("licensedesk-startup-{}", std::process::id()));
    // A first start creates the data folder; not counted.
    once(&app, &display, &data)?;
    let mut times = Vec::new();
    let mut last = String::new();
    for i in 0..RUNS {
        let (ms, line) = once(&app, &display, &data)?;
        println!("run {}: {ms:.0} ms  {line}", i + 1);
        times.push(ms);
        last = line;
    }
    let _ = std::fs::remove_dir_all(&data);
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let figure = |key: &str| -> f64 {
        last.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    println!(
        "startup (release, Xvfb, to page load): median {median:.0} ms, min {:.0} ms, max {:.0} ms over {RUNS} runs (goal ≤ 1000 ms: {:.2}× the goal)",
        times[0],
        times[times.len() - 1],
        median / 1000.0
    );
    println!(
        "memory at page load (goal ≤ 250 MB): main process RSS {:.0} MB; app + WebKit processes RSS {:.0} MB, PSS {:.0} MB (PSS splits shared pages)",
        figure("main_rss_mb="),
        figure("rss_mb="),
        figure("pss_mb=")
    );
    Ok(())
}
