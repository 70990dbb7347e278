//! Runs a test runner, streaming its output, and reads its pass/fail
//! counts from its closing lines.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::sh;

/// Totals of one test runner's run.
#[derive(Default)]
pub struct Outcome {
    pub name: String,
    pub passed: u64,
    pub failed: u64,
    pub success: bool,
    pub lines: Vec<String>,
}

impl Outcome {
    /// A check without counts (a linter, a type checker): 1 passed or 1 failed.
    pub fn check(name: &str, success: bool) -> Self {
        Self {
            name: name.into(),
            passed: u64::from(success),
            failed: u64::from(!success),
            success,
            lines: Vec::new(),
        }
    }

    pub fn ok(&self) -> bool {
        self.success && self.failed == 0
    }
}

/// Runs `cmd`, echoing its stdout, and sums the counts `parse` finds.
pub fn run_counted(
    name: &str,
    cmd: &mut Command,
    parse: fn(&str) -> Option<(u64, u64)>,
) -> Result<Outcome> {
    cmd.stdout(Stdio::piped());
    eprintln!("$ {}", sh::describe(cmd));
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start {name}"))?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut outcome = Outcome {
        name: name.into(),
        ..Outcome::default()
    };
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading test output")?;
        println!("{line}");
        if let Some((passed, failed)) = parse(&strip_ansi(&line)) {
            outcome.passed += passed;
            outcome.failed += failed;
            if passed + failed > 0 {
                outcome.lines.push(strip_ansi(line.trim()));
            }
        }
    }
    outcome.success = child.wait().context("waiting for the runner")?.success();
    Ok(outcome)
}

/// Drops ANSI colour sequences.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn number_before(text: &str, word: &str) -> Option<u64> {
    let idx = text.find(word)?;
    text[..idx]
        .split([' ', ';', '.', '|', '(', ':'])
        .rfind(|s| !s.is_empty())?
        .parse()
        .ok()
}

/// `test result: ok. 12 passed; 0 failed; …` (cargo test).
pub fn parse_cargo(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    Some((
        number_before(rest, " passed")?,
        number_before(rest, " failed")?,
    ))
}

/// A plain `[label:] N passed, N failed` closing line (our node runners).
pub fn parse_plain(line: &str) -> Option<(u64, u64)> {
    let line = line.trim();
    if !line.contains(" passed, ") || !line.contains(" failed") {
        return None;
    }
    Some((
        number_before(line, " passed")?,
        number_before(line, " failed")?,
    ))
}

/// Vitest's `Tests  3 failed | 9 passed (12)`.
pub fn parse_vitest(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("Tests ")?;
    let passed = number_before(rest, " passed").unwrap_or(0);
    let failed = number_before(rest, " failed").unwrap_or(0);
    (passed + failed > 0).then_some((passed, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parser = fn(&str) -> Option<(u64, u64)>;
    type Counts = Option<(u64, u64)>;
    type Case = (Parser, &'static str, Counts);

    #[test]
    fn parses_closing_lines() {
        let cases: [Case; 8] = [
            (
                parse_cargo,
                "test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s",
                Some((12, 0)),
            ),
            (
                parse_cargo,
                "test result: FAILED. 3 passed; 2 failed; 0 ignored",
                Some((3, 2)),
            ),
            (parse_cargo, "test result: garbage", None),
            (
                parse_plain,
                "e2e:mock: 7 passed, 1 failed (3.2 s)",
                Some((7, 1)),
            ),
            (parse_plain, "running 3 tests", None),
            (parse_vitest, "      Tests  12 passed (12)", Some((12, 0))),
            (
                parse_vitest,
                "      Tests  3 failed | 9 passed (12)",
                Some((9, 3)),
            ),
            (parse_vitest, " Test Files  2 passed (2)", None),
        ];
        for (parse, line, want) in cases {
            assert_eq!(parse(&strip_ansi(line)), want, "{line}");
        }
        assert_eq!(strip_ansi("\u{1b}[32m5 passed\u{1b}[39m"), "5 passed");
    }
}
