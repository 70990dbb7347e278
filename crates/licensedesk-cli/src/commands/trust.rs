//! `ldctl trust`: the key set this gateway verifies licenses with.
//!
//! With nothing trusted yet, `--server URL` (its `GET /v1/keys`) or
//! `--file FILE` (a key set file from the server's operator) pins that
//! set; the fingerprints are printed to compare with the server's. Once a
//! set is trusted, a new one is taken only when it chains to it (core's
//! `trust::accept`: each rotation signed by a key already trusted);
//! anything else is refused and changes nothing. Without either, prints
//! what is trusted.

use std::path::PathBuf;

use clap::Args;
use licensedesk_core::keys::{KeySet, MAX_KEYSET_LEN};
use licensedesk_core::trust::{SignedKeySet, accept, key_infos};
use serde_json::json;

use crate::net;
use crate::output::{Outcome, Report};
use crate::store::{Home, read_capped};

#[derive(Args)]
pub struct TrustArgs {
    /// Fetch the key set from this license server (`GET /v1/keys`).
    #[arg(long, value_name = "URL", conflicts_with = "file")]
    pub server: Option<String>,
    /// Or read it from this key set file.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

fn trusted(home: &Home) -> Result<Option<KeySet>, crate::output::Failure> {
    let path = home.keys_path();
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(KeySet::from_json(&read_capped(
        &path,
        MAX_KEYSET_LEN as u64,
    )?)?))
}

fn keys_json(set: &KeySet) -> serde_json::Value {
    json!(key_infos(set))
}

fn keys_text(set: &KeySet) -> String {
    key_infos(set)
        .iter()
        .map(|k| {
            format!(
                "  {}  {}  {}{}\n",
                k.kid,
                k.fingerprint,
                k.created_at.format("%Y-%m-%d"),
                if k.current { "  (current)" } else { "" }
            )
        })
        .collect()
}

pub fn run(args: &TrustArgs, home: &Home) -> Outcome {
    let (bytes, source) = match (&args.server, &args.file) {
        (Some(url), _) => {
            let server = net::Server::new(url)?;
            let url = server.url("/v1/keys", &[])?;
            (net::block_on(server.get(url))??, server.base().to_owned())
        }
        (None, Some(file)) => (
            read_capped(file, licensedesk_core::trust::MAX_SIGNED_KEYSET_LEN as u64)?,
            file.display().to_string(),
        ),
        (None, None) => {
            let set = trusted(home)?;
            let human = match &set {
                Some(s) => format!(
                    "trusted keys ({}):\n{}",
                    home.keys_path().display(),
                    keys_text(s)
                ),
                None => {
                    "no trusted keys yet: run `ldctl trust --server URL` (or --file FILE)".into()
                }
            };
            return Ok(Report::new(
                json!({"keys": set.as_ref().map(keys_json), "path": home.keys_path()}),
                human,
            ));
        }
    };
    let served = SignedKeySet::from_json(&bytes)?;
    let (set, added, pinned) = match trusted(home)? {
        None => {
            let set = served.keyset().clone();
            let added = set.entries().iter().map(|e| e.kid.clone()).collect();
            (set, added, true)
        }
        Some(before) => {
            let up = accept(&before, &served)?;
            (up.set, up.added, false)
        }
    };
    home.replace(&home.keys_path(), set.to_json().as_bytes(), false)?;
    let human = format!(
        "{} {}\n{}",
        if pinned {
            "now trusting the key set of"
        } else if added.is_empty() {
            "key set unchanged (nothing new) from"
        } else {
            "key set extended through its signed rotations from"
        },
        source,
        keys_text(&set)
    );
    Ok(Report::new(
        json!({"source": source, "pinned": pinned, "added": added, "keys": keys_json(&set), "path": home.keys_path()}),
        human,
    ))
}
