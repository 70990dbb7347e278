//! Where API tokens go: the OS keyring when a Secret Service answers, else a
//! 0600 file; never the cache database. `ld-profile` (a child process, so
//! its D-Bus environment is its own) adds a profile and syncs it with the
//! token read back from the chosen store.
//!
//! The keyring case runs a private `dbus-daemon` whose only service is
//! gnome-keyring, started on demand by D-Bus activation with `--unlock`
//! (password from a file on stdin): the bus holds the first call until the
//! keyring owns its name, so nothing polls or sleeps. Both are stopped when
//! the test ends. Needs `dbus-daemon` and `gnome-keyring-daemon` (Debian:
//! dbus-daemon, gnome-keyring).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::{ENT, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_ld-profile");

/// Runs `ld-profile data_dir url` with the token on stdin and `env`.
async fn add_profile(data: &Path, url: &str, env: Vec<(String, String)>) -> Value {
    let (data, url) = (data.to_owned(), url.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .arg(&data)
            .arg(&url)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ld-profile");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), ENT.as_bytes())
            .expect("token to stdin");
        let out = child.wait_with_output().expect("ld-profile");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "ld-profile failed: {stderr}");
        assert!(
            !stdout.contains(ENT) && !stderr.contains(ENT),
            "token in output"
        );
        serde_json::from_str(&stdout).expect("json")
    })
    .await
    .expect("join")
}

/// Every file under `dir` (recursively) except `skip`.
fn files(dir: &Path, skip: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir") {
        let p = e.expect("entry").path();
        if p == skip {
            continue;
        }
        if p.is_dir() {
            out.extend(files(&p, skip));
        } else {
            out.push(p);
        }
    }
    out
}

/// The token appears in no file of the data directory but the secrets dir,
/// and the cache database (with its WAL) is among those checked.
fn assert_token_only_in_secrets(data: &Path, profile_id: &str) {
    let checked = files(data, &data.join("secrets"));
    assert!(
        checked
            .iter()
            .any(|p| p.ends_with(format!("profiles/{profile_id}/cache.sqlite3"))),
        "{checked:?}"
    );
    for p in checked {
        let bytes = std::fs::read(&p).expect("read");
        assert!(
            !bytes.windows(ENT.len()).any(|w| w == ENT.as_bytes()),
            "token found in {}",
            p.display()
        );
    }
}

fn isolated_env(dir: &Path, bus: &str) -> Vec<(String, String)> {
    let home = dir.join("home");
    let run = dir.join("run");
    for d in [&home, &run] {
        std::fs::create_dir_all(d).expect("dir");
    }
    vec![
        ("DBUS_SESSION_BUS_ADDRESS".into(), bus.into()),
        ("HOME".into(), home.display().to_string()),
        ("XDG_RUNTIME_DIR".into(), run.display().to_string()),
        (
            "XDG_DATA_HOME".into(),
            home.join(".local/share").display().to_string(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_service_tokens_go_to_a_0600_file() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let no_bus = format!("unix:path={}", dir.path().join("no-bus").display());
    let out = add_profile(&data, &server.base, isolated_env(dir.path(), &no_bus)).await;

    assert_eq!(out["store"]["kind"], "file", "{out}");
    let detail = out["store"]["detail"].as_str().expect("detail");
    assert!(detail.contains("no OS keyring"), "{detail}");
    let id = out["profile_id"].as_str().expect("id");
    assert!(out["report"]["changes_applied"].as_u64() > Some(0), "{out}");

    let file = data.join("secrets").join(format!("{id}.token"));
    assert_eq!(std::fs::read_to_string(&file).expect("token file"), ENT);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_token_only_in_secrets(&data, id);
}

/// A private session bus whose `org.freedesktop.secrets` is an unlocked
/// gnome-keyring, activated on the first call.
struct PrivateKeyring {
    dir: tempfile::TempDir,
    bus: Child,
    address: String,
}

impl PrivateKeyring {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let services = d.join("services");
        std::fs::create_dir_all(&services).expect("services");
        std::fs::write(d.join("password"), "test keyring password").expect("password");
        let script = d.join("gnome-keyring.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho $$ > '{pid}'\nexec gnome-keyring-daemon --foreground --unlock --components=secrets < '{pw}'\n",
                pid = d.join("gnome-keyring.pid").display(),
                pw = d.join("password").display(),
            ),
        )
        .expect("script");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        std::fs::write(
            services.join("org.freedesktop.secrets.service"),
            format!(
                "[D-BUS Service]\nName=org.freedesktop.secrets\nExec={}\n",
                script.display()
            ),
        )
        .expect("service file");
        let socket = d.join("bus");
        std::fs::write(
            d.join("session.conf"),
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <servicedir>{}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display(),
                services.display()
            ),
        )
        .expect("bus config");
        let bus_env = format!("unix:path={}", socket.display());
        let mut bus = Command::new("dbus-daemon")
            .arg(format!(
                "--config-file={}",
                d.join("session.conf").display()
            ))
            .args(["--nofork", "--print-address=1"])
            .envs(isolated_env(d, &bus_env))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus-daemon) must be installed");
        // The address is printed once the bus listens.
        let mut address = String::new();
        BufReader::new(bus.stdout.take().expect("stdout"))
            .read_line(&mut address)
            .expect("bus address");
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon printed {address:?}"
        );
        assert!(
            Command::new("gnome-keyring-daemon")
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            "gnome-keyring-daemon (Debian package gnome-keyring) must be installed"
        );
        Self {
            dir,
            bus,
            address: address.trim().to_owned(),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        isolated_env(self.dir.path(), &self.address)
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("gnome-keyring.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_secret_service_tokens_go_to_the_keyring() {
    let server = TestServer::demo().await;
    let keyring = PrivateKeyring::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let out = add_profile(&data, &server.base, keyring.env()).await;

    assert_eq!(out["store"]["kind"], "keyring", "{out}");
    let id = out["profile_id"].as_str().expect("id");
    // The sync read the token back from the keyring: no file holds it.
    assert!(out["report"]["changes_applied"].as_u64() > Some(0), "{out}");
    assert!(!data.join("secrets").join(format!("{id}.token")).exists());
    assert_token_only_in_secrets(&data, id);
    // gnome-keyring's own file keeps it encrypted.
    let keyrings = keyring.dir.path().join("home/.local/share/keyrings");
    for p in files(&keyrings, Path::new("")) {
        let bytes = std::fs::read(&p).expect("read");
        assert!(!bytes.windows(ENT.len()).any(|w| w == ENT.as_bytes()));
    }
}
