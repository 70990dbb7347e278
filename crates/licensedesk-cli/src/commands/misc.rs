//! `fingerprint`, `code check`, `ota-cost`.

use clap::Args;
use licensedesk_core::activation_code::ActivationCode;
use licensedesk_core::package::{image_size_from_i64, ota_cost as core_ota_cost};
use serde_json::json;

use crate::MachineArgs;
use crate::machine::{APP_ID, this_fingerprint};
use crate::output::{Outcome, Report};

pub fn fingerprint(args: &MachineArgs) -> Outcome {
    let fp = this_fingerprint(args)?;
    Ok(Report::new(
        json!({ "fingerprint": fp, "app_id": APP_ID }),
        fp,
    ))
}

pub fn code_check(code: &str) -> Outcome {
    let parsed = ActivationCode::parse(code)?;
    let canonical = parsed.canonical();
    Ok(Report::new(
        json!({ "valid": true, "canonical": canonical }),
        format!("ok: {canonical}"),
    ))
}

#[derive(Args)]
pub struct OtaCostArgs {
    /// Size of the firmware image in bytes.
    #[arg(long, allow_negative_numbers = true)]
    pub bytes: i64,
    /// The package's cap per upgrade, in MB (1 MB = 1,048,576 bytes).
    #[arg(long)]
    pub cap_mb: u32,
}

pub fn ota_cost(args: &OtaCostArgs) -> Outcome {
    let bytes = image_size_from_i64(args.bytes)?;
    let attempts = core_ota_cost(bytes, args.cap_mb)?;
    Ok(Report::new(
        json!({ "bytes": bytes, "cap_mb": args.cap_mb, "attempts": attempts }),
        format!(
            "{attempts} OTA attempt{} ({bytes} bytes, cap {} MB)",
            if attempts == 1 { "" } else { "s" },
            args.cap_mb
        ),
    ))
}
