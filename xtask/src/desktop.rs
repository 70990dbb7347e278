//! Desktop tasks: `bindings` (regenerate `ui/src/bindings/`) and `bundle`
//! (a `.deb` through the Tauri CLI, which ships inside its npm package).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{deps, e2e, sh, ui};

pub const TAURI_CLI: &str = "@tauri-apps/cli@2.12.5";

/// `cargo xtask bindings`: rewrites `ui/src/bindings/` from the Rust types.
pub fn bindings(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask bindings` takes no arguments (got `{arg}`)");
    }
    deps::ensure(deps::Purpose::Run)?;
    if ui::present() && !sh::root().join("ui/dist/index.html").is_file() {
        ui::build()?;
    }
    sh::run(
        sh::cargo()
            .args([
                "test",
                "-p",
                "licensedesk-desktop",
                "--lib",
                "bindings::tests::bindings_are_current",
            ])
            .env("LICENSEDESK_UPDATE_BINDINGS", "1"),
    )?;
    println!("ui/src/bindings/ regenerated");
    Ok(())
}

/// The Tauri CLI, installed once into the cache next to the target dir.
fn tauri_cli() -> Result<PathBuf> {
    let dir = sh::target_dir()
        .parent()
        .map(|p| p.join("tauri-cli"))
        .unwrap_or_else(|| "tauri-cli".into());
    let bin = dir.join("node_modules/.bin/tauri");
    if bin.is_file() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&dir)?;
    let manifest = dir.join("package.json");
    if !manifest.is_file() {
        std::fs::write(&manifest, "{\"private\":true}\n")?;
    }
    sh::run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", TAURI_CLI])
            .current_dir(&dir),
    )
    .context("could not install the Tauri CLI")?;
    Ok(bin)
}

/// `cargo xtask bundle`: a release `.deb` of the app.
pub fn bundle(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask bundle` takes no arguments (got `{arg}`)");
    }
    deps::ensure(deps::Purpose::Run)?;
    ui::build()?;
    let cli = tauri_cli()?;
    sh::run(
        Command::new(cli)
            .args(["build", "--bundles", "deb", "--ci"])
            .current_dir(sh::root().join("src-tauri"))
            .env("CARGO_TARGET_DIR", sh::target_dir())
            .env("PATH", e2e::path_with_cargo_bin()),
    )?;
    let dir = sh::target_dir().join("release/bundle/deb");
    let debs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("no bundle folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    for deb in &debs {
        let size = deb.metadata().map(|m| m.len()).unwrap_or(0);
        println!("{} ({:.1} MB)", deb.display(), size as f64 / 1_048_576.0);
    }
    if debs.is_empty() {
        bail!("the Tauri CLI made no .deb in {}", dir.display());
    }
    Ok(())
}
