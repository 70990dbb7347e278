//! One module per group of ldctl commands.

pub mod install;
pub mod keys;
pub mod lease;
pub mod ledger;
pub mod misc;
pub mod request;
pub mod show;
pub mod trust;
pub mod usage;
pub mod verify;

use std::path::{Path, PathBuf};

use licensedesk_core::keys::KeySet;
use licensedesk_core::license::{LicenseError, LicensePayload, MAX_LICENSE_LEN, VerifiedLicense};
use serde_json::{Value, json};

use crate::output::Failure;
use crate::store::{Home, read_capped};

/// Loads the trusted public key set: `--keys FILE`, else `HOME/keys.json`.
pub fn load_keys(explicit: Option<&Path>, home: &Home) -> Result<KeySet, Failure> {
    let path: PathBuf = explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| home.keys_path());
    if !path.exists() {
        return Err(Failure::new(
            "KEYS_MISSING",
            format!(
                "no trusted key set at {}: run `ldctl trust --server URL` (or --file FILE), or pass --keys FILE",
                path.display()
            ),
        ));
    }
    let bytes = read_capped(&path, licensedesk_core::keys::MAX_KEYSET_LEN as u64)?;
    Ok(KeySet::from_json(&bytes)?)
}

/// Reads a license file, refusing one over the size cap before reading it.
pub fn read_license(path: &Path) -> Result<Vec<u8>, Failure> {
    read_capped(path, MAX_LICENSE_LEN as u64).map_err(|f| {
        if f.code == "FILE_TOO_LARGE" {
            let len = path.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
            LicenseError::TooLarge {
                len: usize::try_from(len).unwrap_or(usize::MAX),
            }
            .into()
        } else {
            f
        }
    })
}

/// A license's fields as ldctl prints them.
pub fn license_json(license: &VerifiedLicense) -> Value {
    let mut value = serde_json::to_value(license.payload()).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("kid".into(), json!(license.kid()));
        if let Some(c) = license.delegate() {
            map.insert(
                "delegate".into(),
                json!({"allotment_id": c.allotment_id, "delegate_kid": c.delegate_kid,
                       "max_licenses": c.max_licenses, "not_after": c.not_after,
                       "scope": {"order": c.scope.order, "product": c.scope.product}}),
            );
        }
    }
    value
}

/// The human form of a license's fields.
pub fn license_text(p: &LicensePayload) -> String {
    let plugins = if p.plugins.is_empty() {
        "(none)".to_owned()
    } else {
        p.plugins.join(", ")
    };
    format!(
        "License ID:       {}\nKind:             {}\nCustomer:         {}\nIssued At:        {}\nExpire At:        {}\nMax connections:  {}\nMax data tags:    {}\nEnabled plugins:  {}\nBound hardware:   {}\n",
        p.license_id,
        p.kind,
        p.customer,
        p.issued_at.to_rfc3339(),
        p.expire_at.to_rfc3339(),
        p.max_connections,
        p.max_tags,
        plugins,
        p.hardware.as_deref().unwrap_or("(not node-locked)"),
    )
}
