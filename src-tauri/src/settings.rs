//! App settings kept by Rust: language and theme, the background sync's
//! interval, the alerts' thresholds, and what closing the window does.

use std::path::{Path, PathBuf};

use licensedesk_core::Coded;
use licensedesk_core::alert::Thresholds;
use licensedesk_gateways::files::{read_os_file, write_atomic};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{CmdError, CmdResult};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum Language {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::ZhCn => "zh-CN",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Light,
    Dark,
    #[default]
    System,
}

/// The alerts' thresholds (core's `alert::Thresholds`, whose TypeScript
/// face this is) and whether raised alerts are announced by the OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct AlertSettings {
    /// Announce a raised alert with an OS notification.
    pub notify: bool,
    /// A product's Remaining under this % of its Total (default 20).
    pub low_remaining_percent: u32,
    /// …cleared at this % (default 25).
    pub low_remaining_clear_percent: u32,
    /// Remaining runs out within this many days at its recent rate.
    pub runs_out_days: u32,
    /// Devices going offline at a renewal within this many days.
    pub renewal_days: u32,
    /// Gateway licenses expiring within this many days.
    pub gateway_expiry_days: u32,
    /// Floating leases lapsing within this many minutes.
    pub lease_minutes: u32,
    /// A profile not synced for longer than this many minutes.
    pub not_synced_minutes: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self::from_thresholds(true, Thresholds::default())
    }
}

impl AlertSettings {
    fn from_thresholds(notify: bool, t: Thresholds) -> Self {
        Self {
            notify,
            low_remaining_percent: t.low_remaining_percent,
            low_remaining_clear_percent: t.low_remaining_clear_percent,
            runs_out_days: t.runs_out_days,
            renewal_days: t.renewal_days,
            gateway_expiry_days: t.gateway_expiry_days,
            lease_minutes: t.lease_minutes,
            not_synced_minutes: t.not_synced_minutes,
        }
    }

    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            low_remaining_percent: self.low_remaining_percent,
            low_remaining_clear_percent: self.low_remaining_clear_percent,
            runs_out_days: self.runs_out_days,
            renewal_days: self.renewal_days,
            gateway_expiry_days: self.gateway_expiry_days,
            lease_minutes: self.lease_minutes,
            not_synced_minutes: self.not_synced_minutes,
        }
    }
}

/// The background sync's interval, in minutes: its default and range.
pub const SYNC_EVERY_DEFAULT: u32 = 5;
pub const SYNC_EVERY_MAX: u32 = 1440;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct Settings {
    pub language: Language,
    pub theme: Theme,
    /// Every profile is synced in the background this often (minutes).
    pub sync_every_minutes: u32,
    pub alerts: AlertSettings,
    /// Closing the window keeps the app running in the tray (off by
    /// default: closing quits).
    pub close_to_tray: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            language: Language::default(),
            theme: Theme::default(),
            sync_every_minutes: SYNC_EVERY_DEFAULT,
            alerts: AlertSettings::default(),
            close_to_tray: false,
        }
    }
}

impl Settings {
    /// The interval and thresholds in their ranges (core checks the
    /// thresholds): `SETTINGS_INVALID` / core's code, with what to change.
    pub fn validate(&self) -> CmdResult<()> {
        if !(1..=SYNC_EVERY_MAX).contains(&self.sync_every_minutes) {
            return Err(CmdError::with_params(
                "SETTINGS_SYNC_INTERVAL_INVALID",
                format!(
                    "the sync interval must be from 1 to {SYNC_EVERY_MAX} minutes (got {})",
                    self.sync_every_minutes
                ),
                [
                    ("min", 1.into()),
                    ("max", SYNC_EVERY_MAX.into()),
                    ("got", self.sync_every_minutes.into()),
                ],
            ));
        }
        self.alerts
            .thresholds()
            .validate()
            .map_err(|e| CmdError::coded(&e, e.code()))
    }
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("settings.json")
}

/// The saved settings (defaults when none or unreadable; a file of an
/// older version takes the defaults of what it lacks, and values out of
/// range fall back to the defaults).
pub fn load(data_dir: &Path) -> Settings {
    let s: Settings = read_os_file(&path(data_dir), 16 * 1024)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    match s.validate() {
        Ok(()) => s,
        Err(_) => Settings {
            language: s.language,
            theme: s.theme,
            close_to_tray: s.close_to_tray,
            ..Settings::default()
        },
    }
}

/// Saves `s` once it is valid (an invalid one changes nothing).
pub fn save(data_dir: &Path, s: &Settings) -> CmdResult<Settings> {
    s.validate()?;
    let text = serde_json::to_vec_pretty(s).unwrap_or_default();
    write_atomic(&path(data_dir), &text)?;
    Ok(*s)
}
