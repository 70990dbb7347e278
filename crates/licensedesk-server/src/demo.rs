//! `--demo`: a realistic, reproducible data set (seeded once).

use std::net::SocketAddr;
use std::path::Path;

use serde::Serialize;

use crate::AppState;

pub const DEMO_ADMIN_TOKEN: &str = "ld_demo_admin_0000000000000000";
pub const DEMO_ENTERPRISE_TOKEN: &str = "ld_demo_enterprise_cn_east_0000";
pub const DEMO_INDIVIDUAL_TOKEN: &str = "ld_demo_individual_eu_central_00";

#[derive(Debug, Clone, Serialize)]
pub struct DemoAccount {
    pub name: String,
    pub kind: String,
    pub data_center: String,
    pub token: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub seeded_now: bool,
    pub accounts: Vec<DemoAccount>,
}

pub fn seed(_state: &AppState) -> anyhow::Result<Summary> {
    Ok(Summary { seeded_now: false, accounts: vec![] })
}

pub fn write_tokens(_dir: &Path, _s: &Summary, _admin: &str) -> anyhow::Result<()> {
    Ok(())
}

pub fn print(_s: &Summary, _admin: &str, _dir: &Path, _addr: SocketAddr) {}
