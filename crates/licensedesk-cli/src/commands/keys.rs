//! `keygen` and `sign`: a signing key pair and signing, for development and
//! tests. Production licenses are signed by `licensedesk-server`.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;
use licensedesk_core::keys::{KeySet, SigningKeyWithKid};
use licensedesk_core::license::{LicensePayload, sign_license};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::output::{Failure, Outcome, Report};
use crate::store::{read_capped, write_durably};

#[derive(Args)]
pub struct KeygenArgs {
    /// Folder to write `signing-key.json` (secret, 0600) and `keys.json`
    /// (the public key set to give verifiers).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Key id.
    #[arg(long, default_value = "dev-1")]
    pub kid: String,
}

#[derive(Args)]
pub struct SignArgs {
    /// The license payload as JSON (the fields `ldctl verify --json` prints).
    pub payload: PathBuf,
    /// The signing key file written by `ldctl keygen`.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Where to write the license; standard output when absent.
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The secret key file. Its seed is hex; the file is created 0600.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    kid: String,
    alg: String,
    seed: String,
}

pub fn keygen(args: &KeygenArgs, now: DateTime<Utc>) -> Outcome {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Failure::new("RANDOM_UNAVAILABLE", e.to_string()))?;
    let key = SigningKeyWithKid::from_seed(&args.kid, seed)?;
    let keyset = KeySet::single(key.public_entry(now))?;
    std::fs::create_dir_all(&args.out).map_err(|e| Failure::io("create", &args.out, &e))?;
    let secret_path = args.out.join("signing-key.json");
    let secret = KeyFile {
        kid: args.kid.clone(),
        alg: "ed25519".into(),
        seed: hex::encode(seed),
    };
    write_secret(
        &secret_path,
        serde_json::to_string_pretty(&secret)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    let public_path = args.out.join("keys.json");
    write_durably(&public_path, keyset.to_json().as_bytes())?;
    Ok(Report::new(
        json!({ "kid": args.kid, "signing_key": secret_path, "keys": public_path }),
        format!(
            "signing key {} (keep it secret)\npublic key set {}",
            secret_path.display(),
            public_path.display()
        ),
    ))
}

fn write_secret(path: &std::path::Path, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .map_err(|e| Failure::io("create", path, &e))?;
    file.write_all(bytes)
        .map_err(|e| Failure::io("write", path, &e))?;
    file.sync_all().map_err(|e| Failure::io("flush", path, &e))
}

fn load_key(path: &std::path::Path) -> Result<SigningKeyWithKid, Failure> {
    let bad = |why: &str| {
        Failure::new(
            "SIGNING_KEY_INVALID",
            format!("{} is not a signing key file: {why}", path.display()),
        )
    };
    let file: KeyFile =
        serde_json::from_slice(&read_capped(path, 4096)?).map_err(|e| bad(&e.to_string()))?;
    let seed: [u8; 32] = hex::decode(&file.seed)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("the seed is not 32 bytes of hex"))?;
    Ok(SigningKeyWithKid::from_seed(&file.kid, seed)?)
}

pub fn sign(args: &SignArgs) -> Outcome {
    let key = load_key(&args.key)?;
    let payload: LicensePayload = serde_json::from_slice(&read_capped(&args.payload, 64 * 1024)?)
        .map_err(|e| {
        Failure::new(
            "PAYLOAD_INVALID",
            format!("{} is not a license payload: {e}", args.payload.display()),
        )
    })?;
    licensedesk_core::bounds::license_payload(&payload)?;
    let text = sign_license(&payload, &key);
    match &args.out {
        Some(out) => {
            write_durably(out, text.as_bytes())?;
            Ok(Report::new(
                json!({ "license": out, "kid": key.kid() }),
                format!("signed {} with key {}", out.display(), key.kid()),
            ))
        }
        None => Ok(Report::new(
            json!({ "license": text, "kid": key.kid() }),
            text,
        )),
    }
}
