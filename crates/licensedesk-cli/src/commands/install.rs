//! `ldctl install FILE`: verify completely, then replace the installed
//! license atomically, keeping the previous one as a timestamped backup.
//! A file that fails any check changes nothing. FILE is a license file, or
//! an offline response bundle (`.ldresp`), from which this gateway's
//! license is taken once the bundle's signature is verified.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;
use licensedesk_core::clock::check_clock;
use licensedesk_core::fingerprint::same_hardware;
use licensedesk_core::gateway::{Limits, check_new_limits};
use licensedesk_core::keys::KeySet;
use licensedesk_core::license::{check_for_install, verify_license};
use licensedesk_core::offline::{MAX_RESPONSE_LEN, VerifiedOutcome, verify_response};
use serde_json::json;

use super::{license_json, license_text, load_keys, read_license};
use crate::MachineArgs;
use crate::machine::this_fingerprint;
use crate::output::{Failure, Outcome, Report};
use crate::store::{Home, read_capped};

#[derive(Args)]
pub struct InstallArgs {
    /// The license file, or an offline response bundle (`.ldresp`).
    pub file: PathBuf,
    /// The trusted public key set (default: HOME/keys.json).
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    #[command(flatten)]
    pub machine: MachineArgs,
}

/// This gateway's license out of an offline response bundle (the
/// `.ldresp` LicenseDesk saved beside the request): the bundle's signature
/// is verified, then the license answering this hardware is taken.
fn from_response(bytes: &[u8], keys: &KeySet, fingerprint: &str) -> Result<Vec<u8>, Failure> {
    let response = verify_response(bytes, keys)?;
    let item = response
        .items()
        .iter()
        .find(|i| same_hardware(&i.fingerprint, fingerprint))
        .ok_or_else(|| {
            Failure::new(
                "OFFLINE_GATEWAY_NOT_ANSWERED",
                format!("this response answers no request of this gateway ({fingerprint}): install the response to this gateway's own request"),
            )
        })?;
    match &item.outcome {
        VerifiedOutcome::Issued { text, .. } => Ok(text.clone().into_bytes()),
        VerifiedOutcome::Refused { code, message } => Err(Failure::new(code, message.clone())),
    }
}

pub fn run(args: &InstallArgs, home: &Home, now: DateTime<Utc>) -> Outcome {
    let keys = load_keys(args.keys.as_deref(), home)?;
    let fingerprint = this_fingerprint(&args.machine)?;
    let mut bytes = if args.file.extension().is_some_and(|e| e == "ldresp") {
        read_capped(&args.file, MAX_RESPONSE_LEN as u64)?
    } else {
        read_license(&args.file)?
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        bytes = from_response(&bytes, &keys, &fingerprint)?;
    }
    let license = verify_license(&bytes, &keys)?;
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
