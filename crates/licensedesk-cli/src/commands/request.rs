//! `ldctl request` (wired to the core's offline request format next).

use crate::output::{Failure, Outcome};
use chrono::{DateTime, Utc};
use clap::Args;

#[derive(Args)]
pub struct RequestArgs {}

pub fn run(_args: &RequestArgs, _now: DateTime<Utc>) -> Outcome {
    Err(Failure::new("UNAVAILABLE", "in progress"))
}
