//! The UI (`ui/`): its build (Tauri embeds `ui/dist`) and its test runners
//! (`npm run check`, `lint`, `test` (Vitest), `e2e:mock` (Playwright)).

use std::process::Command;

use anyhow::{Context, Result};

use crate::outcome::{self, Outcome};
use crate::sh;

pub fn present() -> bool {
    sh::root().join("ui/package.json").is_file()
}

fn has_script(name: &str) -> bool {
    std::fs::read_to_string(sh::root().join("ui/package.json"))
        .map(|text| text.contains(&format!("\"{name}\":")))
        .unwrap_or(false)
}

fn npm(script: &str) -> Command {
    let mut cmd = Command::new("npm");
    cmd.args(["run", "--silent", script])
        .current_dir(sh::root().join("ui"));
    cmd
}

/// `npm run build` → `ui/dist`.
pub fn build() -> Result<()> {
    sh::run(&mut npm("build")).context("the UI build failed")
}

/// Every UI test runner the UI has, each with its counts.
pub fn test_runners() -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for (script, label) in [("check", "ui check"), ("lint", "ui lint")] {
        if has_script(script) {
            let ok = sh::status(&mut npm(script))?.success();
            outcomes.push(Outcome::check(label, ok));
        }
    }
    if has_script("test") {
        outcomes.push(outcome::run_counted(
            "ui vitest",
            &mut npm("test"),
            outcome::parse_vitest,
        )?);
    }
    if has_script("e2e:mock") {
        outcomes.push(outcome::run_counted(
            "ui playwright",
            &mut npm("e2e:mock"),
            outcome::parse_plain,
        )?);
    }
    Ok(outcomes)
}
