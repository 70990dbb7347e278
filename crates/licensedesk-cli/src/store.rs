//! The gateway's license home: the installed license, its backups, the
//! trusted key set and the clock guard's high-water mark.
//!
//! Layout of `--home` (env `LDCTL_HOME`, default `~/.local/share/ldctl`):
//! `license.lic`, `backups/license-<UTC timestamp>.lic`, `keys.json` (the
//! trusted key set, `ldctl trust`), `clock.json`, `usage.json` (what the
//! gateway's software reported in use, `ldctl usage`), `lease.json` and
//! `pool-token` (0600) while a floating lease is held (`ldctl lease`).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::output::Failure;

pub struct Home {
    dir: PathBuf,
}

impl Home {
    /// `--home`, else `$LDCTL_HOME`, else `$XDG_DATA_HOME/ldctl`, else `~/.local/share/ldctl`.
    pub fn resolve(explicit: Option<PathBuf>) -> Self {
        let dir = explicit
            .or_else(|| std::env::var_os("LDCTL_HOME").map(PathBuf::from))
            .or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("ldctl")))
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/ldctl"))
            })
            .unwrap_or_else(|| PathBuf::from(".ldctl"));
        Self { dir }
    }

    pub fn license_path(&self) -> PathBuf {
        self.dir.join("license.lic")
    }

    pub fn keys_path(&self) -> PathBuf {
        self.dir.join("keys.json")
    }

    pub fn usage_path(&self) -> PathBuf {
        self.dir.join("usage.json")
    }

    pub fn lease_path(&self) -> PathBuf {
        self.dir.join("lease.json")
    }

    pub fn pool_token_path(&self) -> PathBuf {
        self.dir.join("pool-token")
    }

    /// Replaces `path` (in the home) with `bytes` atomically, creating the
    /// home first; readable by its owner only when `private`.
    pub fn replace(&self, path: &Path, bytes: &[u8], private: bool) -> Result<(), Failure> {
        fs::create_dir_all(&self.dir).map_err(|e| Failure::io("create", &self.dir, &e))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let _ = fs::remove_file(&tmp);
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let _ = private;
        let mut file = opts
            .open(&tmp)
            .map_err(|e| Failure::io("create", &tmp, &e))?;
        file.write_all(bytes)
            .map_err(|e| Failure::io("write", &tmp, &e))?;
        file.sync_all()
            .map_err(|e| Failure::io("flush", &tmp, &e))?;
        fs::rename(&tmp, path).map_err(|e| Failure::io("replace", path, &e))?;
        sync_dir(&self.dir);
        Ok(())
    }

    fn clock_path(&self) -> PathBuf {
        self.dir.join("clock.json")
    }

    pub fn backups_dir(&self) -> PathBuf {
        self.dir.join("backups")
    }

    /// Replaces the installed license with `bytes` atomically: the previous
    /// file is first copied to `backups/`, the new one is written to a
    /// temporary file in the same folder, flushed to disk, then renamed over
    /// the old one. Returns the backup's path, if there was a license before.
    pub fn install(&self, bytes: &[u8], now: DateTime<Utc>) -> Result<Option<PathBuf>, Failure> {
        fs::create_dir_all(&self.dir).map_err(|e| Failure::io("create", &self.dir, &e))?;
        let target = self.license_path();
        let backup = if target.exists() {
            let dir = self.backups_dir();
            fs::create_dir_all(&dir).map_err(|e| Failure::io("create", &dir, &e))?;
            let stamp = now.format("%Y%m%dT%H%M%S%.6fZ");
            let backup = dir.join(format!("license-{stamp}.lic"));
            let old = fs::read(&target).map_err(|e| Failure::io("read", &target, &e))?;
            write_durably(&backup, &old)?;
            Some(backup)
        } else {
            None
        };
        let tmp = self.dir.join(".license.lic.tmp");
        write_durably(&tmp, bytes)?;
        fs::rename(&tmp, &target).map_err(|e| Failure::io("replace", &target, &e))?;
        sync_dir(&self.dir);
        Ok(backup)
    }

    /// The clock guard's high-water mark: the latest time this gateway has seen.
    pub fn clock_mark(&self) -> Option<DateTime<Utc>> {
        let text = fs::read_to_string(self.clock_path()).ok()?;
        serde_json::from_str::<ClockFile>(&text)
            .ok()
            .map(|c| c.high_water)
    }

    /// Moves the high-water mark forward to `seen` (never backwards).
    pub fn advance_clock(&self, seen: DateTime<Utc>) -> Result<(), Failure> {
        if self.clock_mark().is_some_and(|mark| mark >= seen) {
            return Ok(());
        }
        fs::create_dir_all(&self.dir).map_err(|e| Failure::io("create", &self.dir, &e))?;
        let text = serde_json::json!({ "high_water": seen }).to_string();
        let tmp = self.dir.join(".clock.json.tmp");
        write_durably(&tmp, text.as_bytes())?;
        let path = self.clock_path();
        fs::rename(&tmp, &path).map_err(|e| Failure::io("replace", &path, &e))
    }
}

#[derive(Serialize, Deserialize)]
struct ClockFile {
    high_water: DateTime<Utc>,
}

/// Reads a file that must not be larger than `cap` bytes. The size is checked
/// before reading, and the read itself is bounded (the file may grow).
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, Failure> {
    let file = File::open(path).map_err(|e| Failure::io("open", path, &e))?;
    let len = file
        .metadata()
        .map_err(|e| Failure::io("inspect", path, &e))?
        .len();
    let too_large = || {
        Failure::new(
            "FILE_TOO_LARGE",
            format!(
                "{} is larger than {cap} bytes: it is not a LicenseDesk file; check you picked the right file",
                path.display()
            ),
        )
    };
    if len > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::io("read", path, &e))?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` and flushes them to disk before returning.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut file = File::create(path).map_err(|e| Failure::io("create", path, &e))?;
    file.write_all(bytes)
        .map_err(|e| Failure::io("write", path, &e))?;
    file.sync_all().map_err(|e| Failure::io("flush", path, &e))
}

/// Flushes a folder's entries (the rename) to disk; best effort.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
