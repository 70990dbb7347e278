//! `cargo xtask test`: everything CI checks, ending with the runners'
//! summary lines and one plain total line (`N passed, N failed`).

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use anyhow::{Context, Result, bail};

use crate::{deps, sh};

pub fn test(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask test` takes no arguments (got `{arg}`)");
    }
    deps::ensure(deps::Purpose::Test)?;

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

    let rust = cargo_test()?;
    println!();
    println!("== summary");
    for line in &rust.lines {
        println!("{line}");
    }
    println!("rust: {} passed, {} failed", rust.passed, rust.failed);
    println!("{} passed, {} failed", rust.passed, rust.failed);
    if rust.failed > 0 || !rust.success {
        bail!("tests failed");
    }
    Ok(())
}

/// Totals of one test runner's run.
struct Outcome {
    passed: u64,
    failed: u64,
    success: bool,
    lines: Vec<String>,
}

/// `cargo test --workspace`, streamed, with its `test result:` lines summed.
fn cargo_test() -> Result<Outcome> {
    let mut cmd = sh::cargo();
    cmd.args(["test", "--workspace", "--all-targets", "--no-fail-fast"])
        .stdout(Stdio::piped());
    eprintln!("$ {}", sh::describe(&cmd));
    let mut child = cmd.spawn().context("could not start cargo test")?;
    let stdout = child.stdout.take().context("cargo test stdout")?;
    let mut outcome = Outcome {
        passed: 0,
        failed: 0,
        success: false,
        lines: Vec::new(),
    };
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test output")?;
        println!("{line}");
        if let Some((passed, failed)) = parse_result_line(&line) {
            outcome.passed += passed;
            outcome.failed += failed;
            if passed + failed > 0 {
                outcome.lines.push(line.trim().to_owned());
            }
        }
    }
    outcome.success = child.wait().context("waiting for cargo test")?.success();
    Ok(outcome)
}

/// Parses `test result: ok. 12 passed; 0 failed; …` into (passed, failed).
fn parse_result_line(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let number_before = |word: &str| -> Option<u64> {
        let idx = rest.find(word)?;
        rest[..idx]
            .split([' ', ';', '.'])
            .rfind(|s| !s.is_empty())?
            .parse()
            .ok()
    };
    Some((number_before(" passed")?, number_before(" failed")?))
}

#[cfg(test)]
mod tests {
    use super::parse_result_line;

    #[test]
    fn parses_cargo_test_result_lines() {
        let cases = [
            (
                "test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s",
                Some((12, 0)),
            ),
            (
                "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
                Some((3, 2)),
            ),
            ("running 3 tests", None),
            ("test result: garbage", None),
        ];
        for (line, want) in cases {
            assert_eq!(parse_result_line(line), want, "{line}");
        }
    }
}
