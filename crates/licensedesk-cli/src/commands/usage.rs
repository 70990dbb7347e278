//! `ldctl usage`: what this gateway's software has in use (connections,
//! data tags), reported by the software (`usage set`), kept beside the
//! license (`HOME/usage.json`, a history of samples in core's usage file
//! format), and exported for LicenseDesk to import (`usage export`).
//! `install` and `lease claim` refuse a license below the latest figures.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use licensedesk_core::gateway::InUse;
use licensedesk_core::gateway::usage::{
    MAX_USAGE_FILE_LEN, UsageFile, UsageSample, check_amount, merge_samples,
};
use serde_json::json;

use crate::MachineArgs;
use crate::machine::this_fingerprint;
use crate::output::{Failure, Outcome, Report};
use crate::store::{Home, read_capped, write_durably};

#[derive(Subcommand)]
pub enum UsageCommand {
    /// Record what is in use now.
    Set(SetArgs),
    /// Print the latest figures.
    Show(MachineArgs),
    /// Write the samples to a usage file for LicenseDesk (drop it on the window).
    Export(ExportArgs),
}

#[derive(Args)]
pub struct SetArgs {
    /// Data tags in use.
    #[arg(long)]
    pub tags: u64,
    /// Connections in use.
    #[arg(long)]
    pub connections: u64,
    #[command(flatten)]
    pub machine: MachineArgs,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The usage file to write.
    #[arg(short, long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub machine: MachineArgs,
}

/// The recorded usage of this home, if any.
pub fn load(home: &Home) -> Result<Option<UsageFile>, Failure> {
    let path = home.usage_path();
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(UsageFile::parse(&read_capped(
        &path,
        MAX_USAGE_FILE_LEN as u64,
    )?)?))
}

/// What is in use now (nothing recorded: nothing in use).
pub fn current(home: &Home) -> Result<InUse, Failure> {
    Ok(load(home)?
        .and_then(|f| f.latest().map(UsageSample::in_use))
        .unwrap_or_default())
}

/// Appends a sample of what is in use at `now`.
pub fn record(
    home: &Home,
    fingerprint: &str,
    in_use: InUse,
    now: DateTime<Utc>,
) -> Result<UsageFile, Failure> {
    let history = load(home)?
        .filter(|f| f.fingerprint == fingerprint)
        .map(|f| f.samples)
        .unwrap_or_default();
    let sample = UsageSample {
        at: now,
        connections: in_use.connections,
        tags: in_use.tags,
    };
    let file = UsageFile::new(fingerprint, merge_samples(&history, &[sample]))?;
    home.replace(&home.usage_path(), file.to_json().as_bytes(), false)?;
    Ok(file)
}

fn figures(s: &UsageSample) -> serde_json::Value {
    json!({"at": s.at, "connections": s.connections, "tags": s.tags})
}

pub fn run(cmd: &UsageCommand, home: &Home, now: DateTime<Utc>) -> Outcome {
    match cmd {
        UsageCommand::Set(args) => {
            let in_use = InUse {
                connections: check_amount("connections", args.connections)?,
                tags: check_amount("tags", args.tags)?,
            };
            let fp = this_fingerprint(&args.machine)?;
            let file = record(home, &fp, in_use, now)?;
            Ok(Report::new(
                json!({"fingerprint": fp, "usage": figures(&file.samples[file.samples.len() - 1]),
                       "samples": file.samples.len(), "path": home.usage_path()}),
                format!(
                    "in use: {} connections, {} data tags ({} samples kept in {})",
                    in_use.connections,
                    in_use.tags,
                    file.samples.len(),
                    home.usage_path().display()
                ),
            ))
        }
        UsageCommand::Show(machine) => {
            let fp = this_fingerprint(machine)?;
            let file = load(home)?.filter(|f| f.fingerprint == fp);
            let latest = file.as_ref().and_then(|f| f.latest().copied());
            let human = match &latest {
                Some(s) => format!(
                    "in use: {} connections, {} data tags (reported {})",
                    s.connections,
                    s.tags,
                    s.at.to_rfc3339()
                ),
                None => {
                    "no usage reported yet: run `ldctl usage set --tags N --connections M`".into()
                }
            };
            Ok(Report::new(
                json!({"fingerprint": fp, "usage": latest.as_ref().map(figures),
                       "samples": file.map_or(0, |f| f.samples.len())}),
                human,
            ))
        }
        UsageCommand::Export(args) => {
            let fp = this_fingerprint(&args.machine)?;
            let file = load(home)?.filter(|f| f.fingerprint == fp).ok_or_else(|| {
                Failure::new(
                    "USAGE_FILE_EMPTY",
                    "no usage reported yet on this gateway: run `ldctl usage set --tags N --connections M` first",
                )
            })?;
            write_durably(&args.out, file.to_json().as_bytes())?;
            Ok(Report::new(
                json!({"fingerprint": fp, "file": args.out, "samples": file.samples.len()}),
                format!(
                    "wrote {} ({} samples): drop it on LicenseDesk's window",
                    args.out.display(),
                    file.samples.len()
                ),
            ))
        }
    }
}
