//! The server's contract checked from outside: schemathesis (from PyPI, in
//! a virtualenv the xtask makes) generates requests from the running
//! server's `/openapi.json`, as an account and as the vendor, a bounded
//! number per operation, and checks that no answer is a 5xx and that every
//! answer's status, content type and body are the documented ones.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::outcome::{self, Outcome};
use crate::{e2e, sh};

/// Pinned: a new release may generate other cases or change its output.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// Generated cases per operation and phase (a bound, not a time).
const MAX_EXAMPLES: &str = "30";
const CHECKS: &str = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance";

/// The demo's tokens (`licensedesk-server --demo`).
const ACCOUNT_TOKEN: &str = "ld_demo_enterprise_cn_east_0000";
const ADMIN_TOKEN: &str = "ld_demo_admin_0000000000000000";

/// The virtualenv holding schemathesis, made (and the package installed)
/// when missing; returns its `schemathesis` executable.
fn ensure_schemathesis() -> Result<PathBuf> {
    let venv = sh::target_dir().join("schemathesis-venv");
    let bin = venv.join("bin/schemathesis");
    let pinned = venv.join(".pinned");
    if bin.is_file() && std::fs::read_to_string(&pinned).ok().as_deref() == Some(SCHEMATHESIS) {
        return Ok(bin);
    }
    sh::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
        .context("making the schemathesis virtualenv (Debian: apt-get install python3-venv)")?;
    sh::run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(SCHEMATHESIS),
    )?;
    std::fs::write(&pinned, SCHEMATHESIS)?;
    Ok(bin)
}

/// The server binary on a fresh data dir with the demo data, on a free
/// loopback port; killed when dropped.
struct Server {
    child: Child,
    base: String,
    dir: PathBuf,
}

impl Server {
    fn start(bin: &Path) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("licensedesk-contract-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut child = Command::new(bin)
            .args(["--demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting licensedesk-server")?;
        let mut first = String::new();
        let mut out = BufReader::new(child.stdout.take().context("stdout")?);
        out.read_line(&mut first)
            .context("reading the server's first line")?;
        // The rest of what it prints (the demo's tokens) is read and
        // dropped, so the server never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let base = first
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("unexpected first line {first:?}"))?
            .to_owned();
        Ok(Self { child, base, dir })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs schemathesis against a demo server as the account and as the
/// vendor; its closing line is `schemathesis: N passed, N failed`
/// (operations tested without a failure, failures found).
pub fn suite() -> Result<Outcome> {
    let st = ensure_schemathesis()?;
    let bin = e2e::build_server(false)?;
    let server = Server::start(&bin)?;
    // Path parameters that name the demo's own objects, so that requests
    // reach past the 404s.
    std::fs::write(
        server.dir.join("schemathesis.toml"),
        "[parameters]\npk = \"pwm0001\"\ndk = \"PWM-00001\"\nname = \"edge-fleet\"\n",
    )?;
    let mut total = Outcome {
        name: "schemathesis".into(),
        success: true,
        ..Outcome::default()
    };
    for (who, token) in [("account", ACCOUNT_TOKEN), ("vendor", ADMIN_TOKEN)] {
        let mut cmd = Command::new(&st);
        cmd.current_dir(&server.dir)
            .arg("run")
            .arg(format!("{}/openapi.json", server.base))
            .args(["--checks", CHECKS, "--max-examples", MAX_EXAMPLES])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--workers", "1", "--no-color"])
            .args(["-H", &format!("Authorization: Bearer {token}")]);
        let o = outcome::run_counted(&format!("schemathesis ({who})"), &mut cmd, parse)?;
        total.passed += o.passed;
        total.failed += o.failed;
        total.success &= o.success;
        total
            .lines
            .extend(o.lines.into_iter().map(|l| format!("{who}: {l}")));
        if !o.success && o.failed == 0 {
            total.failed += 1;
        }
    }
    Ok(total)
}

/// `Tested: N` counts the operations; `found N unique failures` the
/// failures (`N passed` when there are none).
fn parse(line: &str) -> Option<(u64, u64)> {
    let line = line.trim();
    if let Some(n) = line.strip_prefix("Tested: ") {
        return n.trim().parse().ok().map(|n| (n, 0));
    }
    let (_, rest) = line.split_once(" found ")?;
    let n = rest.split_whitespace().next()?.parse().ok()?;
    rest.contains("unique failure").then_some((0, n))
}

pub fn contract(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask contract` takes no arguments (got `{arg}`)");
    }
    let o = suite()?;
    for line in &o.lines {
        println!("{line}");
    }
    println!("schemathesis: {} passed, {} failed", o.passed, o.failed);
    if !o.ok() {
        bail!("the server's contract check failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_operations_and_failures() {
        assert_eq!(super::parse("  Tested: 44"), Some((44, 0)));
        assert_eq!(
            super::parse("  2870 generated, 52 found 52 unique failures"),
            Some((0, 52))
        );
        assert_eq!(super::parse("  6121 generated, 6121 passed"), None);
    }
}
