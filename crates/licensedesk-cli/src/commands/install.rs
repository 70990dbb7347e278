//! `ldctl install FILE`: verify completely, then replace the installed
//! license atomically, keeping the previous one as a timestamped backup.
//! A file that fails any check changes nothing.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;
use licensedesk_core::clock::check_clock;
use licensedesk_core::gateway::{Limits, check_new_limits};
use licensedesk_core::license::{check_for_install, verify_license};
use serde_json::json;

use super::{license_json, license_text, load_keys, read_license};
use crate::MachineArgs;
use crate::machine::this_fingerprint;
use crate::output::{Outcome, Report};
use crate::store::Home;

#[derive(Args)]
pub struct InstallArgs {
    /// The license file.
    pub file: PathBuf,
    /// The trusted public key set (default: HOME/keys.json).
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    #[command(flatten)]
    pub machine: MachineArgs,
}

pub fn run(args: &InstallArgs, home: &Home, now: DateTime<Utc>) -> Outcome {
    let keys = load_keys(args.keys.as_deref(), home)?;
    let bytes = read_license(&args.file)?;
    let license = verify_license(&bytes, &keys)?;
    let fingerprint = this_fingerprint(&args.machine)?;
    check_clock(home.clock_mark(), now, Some(license.payload().issued_at))?;
    check_for_install(&license, &fingerprint, now)?;
    // A license below what the gateway has in use is refused (both figures named).
    check_new_limits(
        &Limits {
            max_connections: license.payload().max_connections,
            max_tags: license.payload().max_tags,
        },
        &super::usage::current(home)?,
    )?;
    let backup = home.install(&bytes, now)?;
    home.advance_clock(now)?;
    let mut report = license_json(&license);
    report["installed"] = json!(home.license_path());
    report["backup"] = json!(backup);
    let mut human = format!("installed {}\n", home.license_path().display());
    if let Some(backup) = &backup {
        human.push_str(&format!("previous license kept as {}\n", backup.display()));
    }
    human.push_str(&license_text(license.payload()));
    Ok(Report::new(report, human))
}
