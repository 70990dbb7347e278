//! `ldctl request`: write an offline activation request for this gateway, or
//! add this gateway to an existing request file (one file may carry many
//! gateways to the machine that has a network).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;
use licensedesk_core::activation_code::ActivationCode;
use licensedesk_core::offline::{
    Credential, MAX_REQUEST_LEN, OfflineRequest, RequestEntry, parse_request,
};
use serde_json::json;

use crate::MachineArgs;
use crate::machine::this_fingerprint;
use crate::output::{Failure, Outcome, Report};
use crate::store::{read_capped, write_durably};

#[derive(Args)]
pub struct RequestArgs {
    /// The activation code to activate this gateway with.
    #[arg(long, conflicts_with_all = ["order", "product"], required_unless_present_any = ["order", "product"])]
    pub code: Option<String>,
    /// Or the order number to draw a license from.
    #[arg(long, conflicts_with = "product")]
    pub order: Option<String>,
    /// Or the gateway product (e.g. edge-gateway-pro) a field kit's product
    /// allotment issues licenses of.
    #[arg(long)]
    pub product: Option<String>,
    /// A name for this gateway (shown in LicenseDesk's gateway registry).
    #[arg(long)]
    pub name: Option<String>,
    /// The request file to write.
    #[arg(short, long, value_name = "FILE")]
    pub out: PathBuf,
    /// Add this gateway to the request file instead of replacing it.
    #[arg(long)]
    pub append: bool,
    #[command(flatten)]
    pub machine: MachineArgs,
}

pub fn run(args: &RequestArgs, now: DateTime<Utc>) -> Outcome {
    let credential = match (&args.code, &args.order, &args.product) {
        (Some(code), _, _) => Credential::Code(ActivationCode::parse(code)?),
        (None, Some(order), _) => Credential::Order(order.clone()),
        (None, None, Some(product)) => Credential::Product(product.clone()),
        (None, None, None) => {
            return Err(Failure::new(
                "REQUEST_CREDENTIAL_MISSING",
                "give --code, --order or --product",
            ));
        }
    };
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| Failure::new("RANDOM_UNAVAILABLE", e.to_string()))?;
    let fingerprint = this_fingerprint(&args.machine)?;
    let entry = RequestEntry::new(&fingerprint, credential, nonce, now, args.name.clone())?;

    let mut gateways = Vec::new();
    if args.append && args.out.exists() {
        let existing = parse_request(&read_capped(&args.out, MAX_REQUEST_LEN as u64)?)?;
        // Re-requesting replaces this gateway's earlier entry.
        gateways.extend(
            existing
                .gateways()
                .iter()
                .filter(|g| g.fingerprint != entry.fingerprint)
                .cloned(),
        );
    }
    gateways.push(entry.clone());
    let request = OfflineRequest::new(gateways)?;
    let tmp = args.out.with_extension("tmp");
    write_durably(&tmp, request.to_json().as_bytes())?;
    std::fs::rename(&tmp, &args.out).map_err(|e| Failure::io("replace", &args.out, &e))?;
    let count = request.gateways().len();
    Ok(Report::new(
        json!({ "file": args.out, "fingerprint": fingerprint, "nonce": entry.nonce, "gateways": count }),
        format!(
            "wrote {} ({count} gateway{}); take it to a machine with LicenseDesk and bring back the response",
            args.out.display(),
            if count == 1 { "" } else { "s" }
        ),
    ))
}
