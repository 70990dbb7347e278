//! `cargo xtask <task>`: the project's developer and CI entry points.
//!
//! Every task installs what a fresh Debian/Ubuntu machine lacks before it
//! runs (see `deps.rs`), so `cargo xtask run` and `cargo xtask test` are the
//! only two commands a new developer or CI needs.

mod bench;
mod contract;
mod deps;
mod desktop;
mod e2e;
mod fuzz;
mod outcome;
mod run;
mod sh;
mod startup;
mod test;
mod ui;
mod ui_bench;

use anyhow::{Result, bail};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  run                 install what is missing, start the license server with demo data
                      and open the desktop app against it
  test                everything CI checks: fmt, clippy -D warnings, all tests (Rust,
                      bindings, Tauri mock runtime, the server's contract by
                      schemathesis, UI, end to end under Xvfb)
  bindings            regenerate ui/src/bindings/ from the Rust types
  e2e                 the end-to-end suite alone (real app + real server under Xvfb)
  contract            schemathesis against the server's OpenAPI document, as an account
                      and as the vendor (part of `test`)
  bundle              build the .deb
  bench <name>        print benchmark figures: verify | server | sync | startup | ui
  fuzz [seconds]      run every cargo-fuzz target for a bounded time (default 30 s each)
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or(&[]);
    match args.first().map(String::as_str) {
        Some("run") => run::run(rest),
        Some("test") => test::test(rest),
        Some("bench") => bench::bench(rest),
        Some("bindings") => desktop::bindings(rest),
        Some("bundle") => desktop::bundle(rest),
        Some("e2e") => e2e::e2e(rest),
        Some("contract") => contract::contract(rest),
        Some("fuzz") => fuzz::fuzz(rest),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}
