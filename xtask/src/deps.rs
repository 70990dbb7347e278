//! Installs what a fresh Debian/Ubuntu machine lacks: apt packages (as root
//! or through `sudo -n`), rustup components, npm packages, cargo tools.
//!
//! Only what the current tree needs is installed: the desktop packages once
//! `src-tauri/` exists, the browser and WebDriver once `ui/` exists.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::sh;

/// What the task about to run needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Build and run the server and (once present) the desktop app.
    Run,
    /// Everything `cargo xtask test` runs.
    Test,
}

const BUILD: &[&str] = &["build-essential", "pkg-config"];
/// The webkit/soup headers, the tray's appindicator library (Tauri's tray
/// icon loads it), and a CJK font so 简体中文 renders (a bare Debian has
/// none: the UI would show empty boxes).
const DESKTOP: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "libsoup-3.0-dev",
    "libayatana-appindicator3-dev",
    "fonts-wqy-microhei",
];
/// Xvfb, the WebDriver and browser of the UI suites, xdotool for the native
/// dialog journeys, Python's GTK bindings for their drag source (a real
/// drop of files on the window: `tests/e2e/drag.py`), and a private D-Bus
/// + gnome-keyring for the keyring test.
const DESKTOP_TEST: &[&str] = &[
    "xvfb",
    "webkit2gtk-driver",
    "chromium",
    "xdotool",
    "python3-gi",
    "gir1.2-gtk-3.0",
    "dbus-daemon",
    "gnome-keyring",
];

/// Python's venv module, for schemathesis (`cargo xtask contract`): a bare
/// Debian's python3 cannot make a virtualenv without it.
const SERVER_TEST: &[&str] = &["python3", "python3-venv"];

/// Installs everything `purpose` needs for the tree as it is.
pub fn ensure(purpose: Purpose) -> Result<()> {
    let root = sh::root();
    let mut apt: Vec<&str> = BUILD.to_vec();
    let has_desktop = root.join("src-tauri").is_dir();
    let has_ui = root.join("ui/package.json").is_file();
    if has_desktop {
        apt.extend_from_slice(DESKTOP);
    }
    if has_ui && !sh::on_path("npm") {
        apt.extend_from_slice(&["nodejs", "npm"]);
    }
    if purpose == Purpose::Test {
        apt.extend_from_slice(SERVER_TEST);
    }
    if purpose == Purpose::Test && has_desktop {
        apt.extend_from_slice(DESKTOP_TEST);
    }
    ensure_apt(&apt)?;
    if purpose == Purpose::Test {
        ensure_rustup_components(&["rustfmt", "clippy"])?;
    }
    if has_ui {
        ensure_npm(&root.join("ui"))?;
    }
    if purpose == Purpose::Test && has_desktop {
        ensure_cargo_tool("tauri-driver", "2.1.0", "tauri-driver")?;
    }
    Ok(())
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `apt-get update` once, then `apt-get install` of the missing packages.
pub fn ensure_apt(packages: &[&str]) -> Result<()> {
    if !sh::on_path("dpkg-query") {
        eprintln!(
            "xtask: not a Debian/Ubuntu machine; make sure these are installed: {}",
            packages.join(" ")
        );
        return Ok(());
    }
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask: installing missing system packages: {}",
        missing.join(" ")
    );
    let apt = |args: &[&str]| -> Command {
        let mut cmd = if is_root() {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    sh::run(&mut apt(&["update", "-q"])).context(
        "apt-get update failed: run as root or give this user passwordless sudo, or install the packages by hand",
    )?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    install.args(&missing);
    sh::run(&mut install).with_context(|| format!("could not install {}", missing.join(" ")))
}

fn ensure_rustup_components(components: &[&str]) -> Result<()> {
    if !sh::on_path("rustup") {
        return Ok(());
    }
    let out = Command::new("rustup")
        .args(["component", "list", "--installed"])
        .output()
        .context("rustup component list")?;
    let have = String::from_utf8_lossy(&out.stdout).into_owned();
    for component in components {
        if !have.lines().any(|line| line.starts_with(component)) {
            sh::run(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    Ok(())
}

/// `npm install` when `node_modules` is missing or older than the manifest.
/// (`npm ci` cannot work here: the registry mirror lacks other platforms'
/// optional packages that the lock file names.)
pub fn ensure_npm(dir: &std::path::Path) -> Result<()> {
    let modified = |p: std::path::PathBuf| p.metadata().and_then(|m| m.modified()).ok();
    let manifest = modified(dir.join("package.json"));
    let stamp = modified(dir.join("node_modules/.package-lock.json"));
    if stamp.is_some() && stamp >= manifest {
        return Ok(());
    }
    let mut npm = Command::new("npm");
    npm.args(["install", "--no-audit", "--no-fund"])
        .current_dir(dir);
    sh::run(&mut npm)
}

/// `cargo install --locked NAME --version VERSION` unless `bin` is on PATH.
pub fn ensure_cargo_tool(name: &str, version: &str, bin: &str) -> Result<()> {
    let cargo_bin =
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo/bin").join(bin));
    if sh::on_path(bin) || cargo_bin.is_some_and(|p| p.is_file()) {
        return Ok(());
    }
    let status = sh::status(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())).args([
            "install",
            "--locked",
            name,
            "--version",
            version,
        ]),
    )?;
    if !status.success() {
        bail!("could not install {name} {version}");
    }
    Ok(())
}
