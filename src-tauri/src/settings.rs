//! App settings kept by Rust: language and theme.

use std::path::{Path, PathBuf};

use licensedesk_gateways::files::{read_os_file, write_atomic};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::CmdResult;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum Language {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Light,
    Dark,
    #[default]
    System,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Settings {
    pub language: Language,
    pub theme: Theme,
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("settings.json")
}

/// The saved settings (defaults when none or unreadable).
pub fn load(data_dir: &Path) -> Settings {
    read_os_file(&path(data_dir), 4096)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

pub fn save(data_dir: &Path, s: &Settings) -> CmdResult<Settings> {
    let text = serde_json::to_vec_pretty(s).unwrap_or_default();
    write_atomic(&path(data_dir), &text)?;
    Ok(*s)
}
