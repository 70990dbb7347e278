//! `ld-field-issue KIT_DIR ALLOTMENT OUT_DIR NOW REQUEST...`: issue one
//! license per gateway of the request files (used by the crash tests).
//!
//! Prints `issued <index> <fingerprint>` (flushed) after each license file
//! is written, and `done` at the end. With `LD_FIELD_CRASH_AT=after_ledger:N`
//! or `after_file:N` it aborts at that stage of gateway N (0-based), as a
//! `kill -9` would stop it.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use licensedesk_field::{IssueStage, Kit};

fn crash_point() -> Option<(IssueStage, usize)> {
    let spec = std::env::var("LD_FIELD_CRASH_AT").ok()?;
    let (stage, index) = spec.split_once(':')?;
    let stage = match stage {
        "after_ledger" => IssueStage::AfterLedger,
        "after_file" => IssueStage::AfterFile,
        _ => return None,
    };
    Some((stage, index.parse().ok()?))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 5 {
        bail!("usage: ld-field-issue KIT_DIR ALLOTMENT OUT_DIR NOW REQUEST...");
    }
    let now: DateTime<Utc> = args[3].parse().context("NOW (RFC 3339)")?;
    let requests: Vec<PathBuf> = args[4..].iter().map(PathBuf::from).collect();
    let mut kit = Kit::open(args[0].as_ref())?;
    let crash = crash_point();
    let mut stdout = std::io::stdout();
    let outcomes = kit.issue_requests_with(
        &args[1],
        &requests,
        args[2].as_ref(),
        now,
        &mut |stage, index| {
            if crash == Some((stage, index)) {
                std::process::abort();
            }
            if stage == IssueStage::AfterFile {
                let _ = writeln!(stdout, "issued {index}");
                let _ = stdout.flush();
            }
        },
    )?;
    for o in &outcomes {
        if let Some(code) = &o.code {
            println!("refused {} {code}", o.fingerprint);
        }
    }
    println!("done");
    Ok(())
}
