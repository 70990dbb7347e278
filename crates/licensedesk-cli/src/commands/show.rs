//! `ldctl show` (wired to the core's effective-license rule next).

use crate::output::{Failure, Outcome};
use crate::store::Home;
use chrono::{DateTime, Utc};
use clap::Args;

#[derive(Args)]
pub struct ShowArgs {}

pub fn run(_args: &ShowArgs, _home: &Home, _now: DateTime<Utc>) -> Outcome {
    Err(Failure::new("UNAVAILABLE", "in progress"))
}
