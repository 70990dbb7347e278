//! `ldctl verify FILE`: signature and format, dates at `now`, and (with
//! `--hardware` or `--this-machine`) the hardware binding.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;
use licensedesk_core::license::{check_for_install, verify_license};

use super::{license_json, license_text, load_keys, read_license};
use crate::MachineArgs;
use crate::machine::this_fingerprint;
use crate::output::{Outcome, Report};
use crate::store::Home;

#[derive(Args)]
pub struct VerifyArgs {
    /// The license file.
    pub file: PathBuf,
    /// The trusted public key set (default: HOME/keys.json).
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// Also check the license is bound to this fingerprint (or unbound).
    #[arg(long, value_name = "FINGERPRINT", conflicts_with = "this_machine")]
    pub hardware: Option<String>,
    /// Also check the license is bound to this machine (or unbound).
    #[arg(long)]
    pub this_machine: bool,
    #[command(flatten)]
    pub machine: MachineArgs,
}

pub fn run(args: &VerifyArgs, home: &Home, now: DateTime<Utc>) -> Outcome {
    let keys = load_keys(args.keys.as_deref(), home)?;
    let bytes = read_license(&args.file)?;
    let license = verify_license(&bytes, &keys)?;
    let hardware = match (&args.hardware, args.this_machine) {
        (Some(fp), _) => Some(fp.clone()),
        (None, true) => Some(this_fingerprint(&args.machine)?),
        (None, false) => None,
    };
    match &hardware {
        Some(fp) => check_for_install(&license, fp, now)?,
        // Without a target gateway only the dates are checked: any
        // fingerprint the license is bound to is taken as the target.
        None => {
            let bound = license.payload().hardware.clone().unwrap_or_default();
            check_for_install(&license, &bound, now)?;
        }
    }
    let issuer = match license.delegate() {
        Some(c) => format!(
            "delegate key {}, allotment {} for {}, certified by the server",
            license.kid(),
            c.allotment_id,
            c.scope
                .reference()
                .map_or_else(String::new, |r| r.to_string())
        ),
        None => format!("key {}", license.kid()),
    };
    let human = format!(
        "valid license ({issuer})\n{}",
        license_text(license.payload())
    );
    Ok(Report::new(license_json(&license), human))
}
