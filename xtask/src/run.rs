//! `cargo xtask run`: install what is missing, start the license server
//! with demo data on 127.0.0.1:8787 (data outside the clone) and, once the
//! desktop app exists, build the UI and open the app against that server.

use std::path::PathBuf;
use std::process::{Child, Command};

use anyhow::{Context, Result};

use crate::{deps, e2e, sh, ui};

pub const LISTEN: &str = "127.0.0.1:8787";
/// The demo enterprise account's token (`licensedesk-server --demo`).
const DEMO_TOKEN: &str = "ld_demo_enterprise_cn_east_0000";

/// Where the demo server keeps its database and keys between runs.
pub fn demo_data_dir() -> PathBuf {
    sh::target_dir()
        .parent()
        .map(|p| p.join("demo-server"))
        .unwrap_or_else(|| "demo-server".into())
}

/// Stops the server when `run` returns, however it returns.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(args: &[String]) -> Result<()> {
    deps::ensure(deps::Purpose::Run)?;
    let data_dir = demo_data_dir();
    std::fs::create_dir_all(&data_dir)?;
    if !sh::root().join("src-tauri").is_dir() || !ui::present() {
        let mut cmd = sh::cargo();
        cmd.args(["run", "--release", "-p", "licensedesk-server", "--"])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--listen", LISTEN, "--demo"])
            .args(args);
        return sh::run(&mut cmd);
    }
    ui::build()?;
    let server_bin = e2e::build_server(true)?;
    let app = e2e::build_app(false)?;
    let mut cmd = Command::new(&server_bin);
    cmd.arg("--data-dir")
        .arg(&data_dir)
        .args(["--listen", LISTEN, "--demo"])
        .args(args);
    eprintln!("$ {}", sh::describe(&cmd));
    let _server = Server(cmd.spawn().context("could not start the license server")?);
    let app_data = data_dir
        .parent()
        .map(|p| p.join("desktop-data"))
        .unwrap_or_else(|| "desktop-data".into());
    let mut open = Command::new(&app);
    open.env("LICENSEDESK_SERVER_URL", format!("http://{LISTEN}"))
        .env("LICENSEDESK_TOKEN", DEMO_TOKEN)
        .env("LICENSEDESK_DATA_DIR", &app_data);
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        eprintln!("xtask: no display; opening the app under xvfb-run");
        deps::ensure_apt(&["xvfb"])?;
        let mut xvfb = Command::new("xvfb-run");
        xvfb.args(["-a", "-s", "-screen 0 1440x900x24"]).arg(&app);
        for (k, v) in open.get_envs() {
            if let Some(v) = v {
                xvfb.env(k, v);
            }
        }
        open = xvfb;
    }
    let status = sh::status(&mut open)?;
    if !status.success() {
        anyhow::bail!("the app exited with {status}");
    }
    Ok(())
}
