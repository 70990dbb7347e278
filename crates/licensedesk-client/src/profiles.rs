//! Profiles: one per (server URL, account). The registry is
//! `DATA_DIR/profiles.json` (written atomically); each profile's cache is
//! `DATA_DIR/profiles/<id>/cache.sqlite3`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Profile {
    pub id: String,
    /// What the user calls it ("Hangzhou · cn-east").
    pub name: String,
    pub server_url: String,
    /// Account label as the user knows it (account name or e-mail).
    pub account_label: String,
    /// Filled in by the first sync.
    pub data_center: Option<String>,
}

/// What the user enters to add a profile.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct NewProfile {
    pub name: String,
    pub server_url: String,
    pub account_label: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Registry {
    active: Option<String>,
    profiles: Vec<Profile>,
}

/// The profiles registry of a data directory.
#[derive(Debug, Clone)]
pub struct Profiles {
    dir: PathBuf,
}

impl Profiles {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.to_owned(),
        }
    }

    fn file(&self) -> PathBuf {
        self.dir.join("profiles.json")
    }

    fn load(&self) -> Result<Registry> {
        match std::fs::read(self.file()) {
            Ok(b) => Ok(serde_json::from_slice(&b)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Registry::default()),
            Err(e) => Err(e.into()),
        }
    }

    fn save(&self, r: &Registry) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join("profiles.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(r)?)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(tmp, self.file())?;
        Ok(())
    }

    pub fn list(&self) -> Result<Vec<Profile>> {
        Ok(self.load()?.profiles)
    }

    pub fn get(&self, id: &str) -> Result<Profile> {
        self.load()?
            .profiles
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::ProfileNotFound(id.to_owned()))
    }

    /// Adds a profile (the first one becomes active).
    pub fn add(&self, new: NewProfile) -> Result<Profile> {
        let url = new.server_url.trim().trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Invalid(format!(
                "server URL {url:?} must start with http:// or https://"
            )));
        }
        let mut entropy = [0u8; 8];
        getrandom::fill(&mut entropy).map_err(|e| Error::Invalid(e.to_string()))?;
        let p = Profile {
            id: hex::encode(entropy),
            name: new.name.trim().to_owned(),
            server_url: url,
            account_label: new.account_label.trim().to_owned(),
            data_center: None,
        };
        let mut r = self.load()?;
        r.profiles.push(p.clone());
        r.active.get_or_insert_with(|| p.id.clone());
        self.save(&r)?;
        Ok(p)
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        let mut r = self.load()?;
        r.profiles.retain(|p| p.id != id);
        if r.active.as_deref() == Some(id) {
            r.active = r.profiles.first().map(|p| p.id.clone());
        }
        self.save(&r)
    }

    /// Switches the active profile.
    pub fn set_active(&self, id: &str) -> Result<Profile> {
        let mut r = self.load()?;
        let p = r
            .profiles
            .iter()
            .find(|p| p.id == id)
            .cloned()
            .ok_or_else(|| Error::ProfileNotFound(id.to_owned()))?;
        r.active = Some(p.id.clone());
        self.save(&r)?;
        Ok(p)
    }

    pub fn active(&self) -> Result<Option<Profile>> {
        let r = self.load()?;
        Ok(r.active
            .and_then(|id| r.profiles.into_iter().find(|p| p.id == id)))
    }

    /// Records the data center learnt by a sync.
    pub fn set_data_center(&self, id: &str, dc: &str) -> Result<()> {
        let mut r = self.load()?;
        match r.profiles.iter_mut().find(|p| p.id == id) {
            Some(p) if p.data_center.as_deref() != Some(dc) => {
                p.data_center = Some(dc.to_owned());
                self.save(&r)
            }
            Some(_) => Ok(()),
            None => Err(Error::ProfileNotFound(id.to_owned())),
        }
    }

    pub fn cache_path(&self, id: &str) -> PathBuf {
        self.dir.join("profiles").join(id).join("cache.sqlite3")
    }
}
