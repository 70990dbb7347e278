//! `cargo xtask run`: install what is missing, then start the license server
//! with demo data on 127.0.0.1:8787 (the desktop app joins it in issue 5).

use std::path::PathBuf;

use anyhow::Result;

use crate::{deps, sh};

pub const LISTEN: &str = "127.0.0.1:8787";

/// Where the demo server keeps its database and keys between runs.
pub fn demo_data_dir() -> PathBuf {
    sh::target_dir()
        .parent()
        .map(|p| p.join("demo-server"))
        .unwrap_or_else(|| "demo-server".into())
}

pub fn run(args: &[String]) -> Result<()> {
    deps::ensure(deps::Purpose::Run)?;
    let data_dir = demo_data_dir();
    std::fs::create_dir_all(&data_dir)?;
    let mut cmd = sh::cargo();
    cmd.args(["run", "--release", "-p", "licensedesk-server", "--"])
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--listen", LISTEN, "--demo"])
        .args(args);
    sh::run(&mut cmd)
}
