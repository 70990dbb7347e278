//! `cargo xtask test`: everything CI checks, ending with the runners'
//! summary lines and one plain total line (`N passed, N failed`).

use anyhow::{Context, Result, bail};

use crate::outcome::{self, Outcome};
use crate::{contract, deps, e2e, sh, ui};

pub fn test(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask test` takes no arguments (got `{arg}`)");
    }
    deps::ensure(deps::Purpose::Test)?;
    if ui::present() {
        // The desktop crate embeds ui/dist at compile time.
        ui::build()?;
    }

    sh::run(sh::cargo().args(["fmt", "--all", "--check"]))
        .context("formatting differs: run `cargo fmt --all`")?;
    sh::run(sh::cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    // Includes the bindings staleness check and the Tauri mock-runtime
    // tests (src-tauri). Benches are compiled by clippy above but not run:
    // they print figures (`cargo xtask bench`), they are not tests.
    let mut outcomes = vec![outcome::run_counted(
        "rust",
        sh::cargo().args([
            "test",
            "--workspace",
            "--lib",
            "--bins",
            "--tests",
            "--no-fail-fast",
        ]),
        outcome::parse_cargo,
    )?];
    outcomes.push(contract::suite()?);
    if ui::present() {
        outcomes.extend(ui::test_runners()?);
    }
    if e2e::present() {
        outcomes.push(e2e::suite()?);
    }
    summary(&outcomes)
}

fn summary(outcomes: &[Outcome]) -> Result<()> {
    println!();
    println!("== summary");
    for o in outcomes {
        for line in &o.lines {
            println!("{line}");
        }
    }
    let (mut passed, mut failed) = (0, 0);
    for o in outcomes {
        println!("{}: {} passed, {} failed", o.name, o.passed, o.failed);
        passed += o.passed;
        failed += o.failed;
    }
    println!("{passed} passed, {failed} failed");
    let bad: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.ok())
        .map(|o| o.name.as_str())
        .collect();
    if !bad.is_empty() {
        bail!("tests failed: {}", bad.join(", "));
    }
    Ok(())
}
