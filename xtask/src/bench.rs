//! `cargo xtask bench <name>`: benchmarks print figures and ratios; they
//! never gate CI on an absolute time.

use anyhow::{Result, bail};

use crate::{deps, sh};

const BENCHES: &[(&str, &str, &str)] = &[
    ("verify", "licensedesk-core", "verify"),
    ("server", "licensedesk-server", "load"),
    ("sync", "licensedesk-client", "sync"),
];

pub fn bench(args: &[String]) -> Result<()> {
    let names: Vec<&str> = BENCHES.iter().map(|(name, _, _)| *name).collect();
    match args.first().map(String::as_str) {
        Some("startup") => return crate::startup::bench(),
        Some("ui") => return crate::ui_bench::bench(),
        _ => {}
    }
    let Some(name) = args.first() else {
        bail!("usage: cargo xtask bench <{}|startup|ui>", names.join("|"));
    };
    let Some((_, package, mut bench)) = BENCHES.iter().find(|(n, _, _)| n == name).copied() else {
        bail!(
            "unknown benchmark `{name}`; known: {}, startup, ui",
            names.join(", ")
        );
    };
    // `bench server --engine postgres [--nodes 1|2]`: SQLite next to
    // PostgreSQL with one and two nodes (a throwaway cluster).
    if name == "server" && args.iter().any(|a| a == "--engine") {
        bench = "engines";
        deps::ensure_apt(&["postgresql"])?;
    }
    deps::ensure(deps::Purpose::Run)?;
    sh::run(
        sh::cargo()
            .args(["bench", "-p", package, "--bench", bench, "--"])
            .args(&args[1..]),
    )
}
