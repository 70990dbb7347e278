//! `ldctl show`: what this gateway runs under — the installed license, or
//! the trial (30 connections, 30 data tags) and why.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;
use licensedesk_core::clock::check_clock;
use licensedesk_core::gateway::{EffectiveLicense, LicenseTerms, TrialReason, effective_license};
use licensedesk_core::license::{VerifiedLicense, verify_license};
use serde_json::json;

use super::{license_json, license_text, load_keys, read_license};
use crate::MachineArgs;
use crate::machine::this_fingerprint;
use crate::output::{Failure, Outcome, Report};
use crate::store::Home;

#[derive(Args)]
pub struct ShowArgs {
    /// The trusted public key set (default: HOME/keys.json).
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    #[command(flatten)]
    pub machine: MachineArgs,
}

/// Why the installed file, if any, cannot be used: it failed verification.
enum Installed {
    None,
    Valid(Box<VerifiedLicense>),
    Invalid(Failure),
}

pub fn run(args: &ShowArgs, home: &Home, now: DateTime<Utc>) -> Outcome {
    let fingerprint = this_fingerprint(&args.machine)?;
    let installed = if home.license_path().exists() {
        match load_keys(args.keys.as_deref(), home)
            .and_then(|keys| Ok(verify_license(&read_license(&home.license_path())?, &keys)?))
        {
            Ok(license) => Installed::Valid(Box::new(license)),
            Err(failure) => Installed::Invalid(failure),
        }
    } else {
        Installed::None
    };
    // A clock set back is not trusted to decide that a license is still valid.
    let clock = check_clock(home.clock_mark(), now, None)
        .err()
        .map(Failure::from);

    let verified = match &installed {
        Installed::Valid(license) => Some(license.as_ref()),
        Installed::None | Installed::Invalid(_) => None,
    };
    // A clock set back is not trusted to say a license is still in force.
    let terms = verified
        .filter(|_| clock.is_none())
        .map(|l| LicenseTerms::from(l.payload()));
    let effective = effective_license(terms.as_ref(), &fingerprint, now);
    if clock.is_none() {
        home.advance_clock(now)?;
    }
    let problem = match &installed {
        Installed::Invalid(failure) => Some(failure.clone()),
        Installed::None | Installed::Valid(_) => clock,
    };

    let mut doc = json!({
        "fingerprint": fingerprint,
        "effective": effective,
        "installed": verified.map(license_json),
    });
    if let Some(problem) = &problem {
        doc["problem"] = json!(problem);
    }
    Ok(Report::new(
        doc,
        human(&effective, verified, problem.as_ref()),
    ))
}

fn human(
    effective: &EffectiveLicense,
    installed: Option<&VerifiedLicense>,
    problem: Option<&Failure>,
) -> String {
    match effective {
        EffectiveLicense::Licensed { .. } => {
            let payload = installed
                .map(|l| license_text(l.payload()))
                .unwrap_or_default();
            format!("licensed\n{payload}")
        }
        EffectiveLicense::Trial { reason, limits } => {
            let why = match (problem, reason) {
                (Some(p), _) => format!("the installed license cannot be used: {}", p.message),
                (None, TrialReason::NoneInstalled) => "no license is installed".to_owned(),
                (None, TrialReason::Expired { at }) => {
                    format!("the installed license expired at {}", at.to_rfc3339())
                }
                (None, TrialReason::NotYetValid { from }) => {
                    format!(
                        "the installed license is valid only from {}",
                        from.to_rfc3339()
                    )
                }
                (None, TrialReason::HardwareMismatch { bound, .. }) => {
                    format!("the installed license is bound to other hardware ({bound})")
                }
            };
            let mut text = format!(
                "trial: {} connections, {} data tags, no plugins\nwhy: {why}\n",
                limits.max_connections, limits.max_tags
            );
            if let Some(license) = installed {
                text.push_str("installed license (shown as expired / not in force):\n");
                text.push_str(&license_text(license.payload()));
            }
            text
        }
    }
}
