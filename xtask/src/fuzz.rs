//! `cargo xtask fuzz [seconds]`: every cargo-fuzz target for a bounded time.
//! Not part of CI. Needs the nightly toolchain (installed by rustup here).

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{deps, sh};

pub fn fuzz(args: &[String]) -> Result<()> {
    let seconds: u64 = match args.first() {
        Some(s) => s
            .parse()
            .with_context(|| format!("`{s}` is not a number of seconds"))?,
        None => 30,
    };
    deps::ensure(deps::Purpose::Run)?;
    if sh::on_path("rustup") {
        sh::run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    deps::ensure_cargo_tool("cargo-fuzz", "0.13.2", "cargo-fuzz")?;
    let dir = sh::root().join("fuzz");
    let mut targets: Vec<String> = std::fs::read_dir(dir.join("fuzz_targets"))
        .context("no fuzz/fuzz_targets folder")?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .collect();
    targets.sort();
    if targets.is_empty() {
        bail!("no fuzz targets in fuzz/fuzz_targets");
    }
    let fuzz_target_dir = sh::target_dir().with_file_name("fuzz-target");
    for target in &targets {
        let mut cmd = Command::new("cargo");
        cmd.current_dir(&dir)
            .env("CARGO_TARGET_DIR", &fuzz_target_dir)
            .args([
                "+nightly",
                "fuzz",
                "run",
                target,
                "--",
                &format!("-max_total_time={seconds}"),
            ]);
        sh::run(&mut cmd).with_context(|| format!("fuzz target `{target}` found a crash"))?;
        println!("fuzz {target}: {seconds} s, no crash");
    }
    Ok(())
}
