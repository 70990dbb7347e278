//! ldctl integration tests: the real binary on temporary folders.

mod field;
mod install;
mod server;
mod show;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

/// A gateway's world: a license home, a trusted key set and a signing key.
pub struct World {
    pub dir: TempDir,
}

pub const MACHINE: &str = "0123456789abcdef0123456789abcdef";

impl World {
    /// A fresh world whose home trusts the key `k1` from `keygen`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let world = Self {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        world.keygen("k1", "issuer");
        std::fs::create_dir_all(world.home()).expect("home");
        std::fs::copy(
            world.path("issuer/keys.json"),
            world.home().join("keys.json"),
        )
        .expect("trust");
        world
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    pub fn keygen(&self, kid: &str, folder: &str) {
        let out = ldctl(&[
            "keygen",
            "--kid",
            kid,
            "--out",
            self.path(folder).to_str().unwrap_or(""),
        ]);
        assert!(
            out.status.success(),
            "keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs ldctl with this world's home; commands that read the machine id
    /// get this world's.
    pub fn run(&self, args: &[&str]) -> Output {
        let home = self.home();
        let mut full: Vec<&str> = vec!["--home", s(&home)];
        full.extend(args);
        if ["fingerprint", "install", "verify", "request", "show"].contains(&args[0]) {
            full.extend(["--machine-id", MACHINE]);
        }
        ldctl(&full)
    }

    /// This world's fingerprint, as ldctl computes it.
    pub fn fingerprint(&self) -> String {
        json(&self.run(&["fingerprint", "--json"]))["fingerprint"]
            .as_str()
            .expect("fp")
            .to_owned()
    }

    /// Signs a license payload with the key in `folder` and returns the file.
    pub fn sign(&self, name: &str, folder: &str, payload: &Value) -> PathBuf {
        let payload_path = self.path(&format!("{name}.json"));
        std::fs::write(&payload_path, payload.to_string()).expect("payload");
        let out_path = self.path(&format!("{name}.lic"));
        let key = self.path(&format!("{folder}/signing-key.json"));
        let out = ldctl(&[
            "sign",
            payload_path.to_str().unwrap_or(""),
            "--key",
            key.to_str().unwrap_or(""),
            "-o",
            out_path.to_str().unwrap_or(""),
        ]);
        assert!(
            out.status.success(),
            "sign: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out_path
    }
}

/// A license payload bound to `hardware` (or unbound), valid 2026–2031.
pub fn payload(id: &str, hardware: Option<&str>) -> Value {
    serde_json::json!({
        "license_id": id,
        "kind": "file",
        "customer": "ACME Water",
        "issued_at": "2026-01-01T00:00:00Z",
        "expire_at": "2031-01-01T00:00:00Z",
        "max_connections": 100,
        "max_tags": 5000,
        "plugins": ["modbus-tcp", "opcua"],
        "hardware": hardware,
        "product": null,
        "order": "ORD-1001"
    })
}

pub fn ldctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ldctl"))
        .args(args)
        .env_remove("LDCTL_HOME")
        .env_remove("LDCTL_MACHINE_ID")
        .output()
        .expect("run ldctl")
}

/// The JSON document a `--json` run printed.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The error code of a failed `--json` run.
pub fn error_code(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure, got {}",
        String::from_utf8_lossy(&out.stdout)
    );
    json(out)["error"]["code"].as_str().unwrap_or("").to_owned()
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
