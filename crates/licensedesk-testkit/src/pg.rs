//! A throwaway PostgreSQL cluster for the tests and the benchmark
//! (platform-notes.md, measured here): Debian's `postgresql` binaries,
//! `initdb` into a temp dir as a non-root user, a free loopback port, and a
//! watchdog that stops the cluster and removes its directory when the
//! process that started it ends, however it ends. Never a system service.
//!
//! [`shared`] is one cluster per test process (started on first use, a
//! fresh database per test with [`Cluster::database`]); a test that needs
//! its own (to stop it, say) starts one with [`Cluster::start`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// A running cluster: its port, the directory it lives in, and the user
/// its server runs as.
pub struct Cluster {
    pub port: u16,
    pub dir: PathBuf,
    bin: PathBuf,
    user: Option<String>,
}

/// The superuser role the clusters are made with.
pub const ROLE: &str = "ld";

/// The newest installed PostgreSQL's `bin` directory.
fn bin_dir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    dirs.retain(|d| d.join("initdb").is_file());
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().unwrap_or_else(|| {
        panic!("PostgreSQL is not installed (Debian: apt-get install postgresql; cargo xtask test installs it)")
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl Cluster {
    /// `initdb`, then start the server on a free loopback port; panics with
    /// the server's log when it does not come up.
    pub fn start() -> Self {
        let bin = bin_dir();
        let dir = std::env::temp_dir().join(format!(
            "licensedesk-pg-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cluster dir");
        // initdb refuses to run as root: the cluster is postgres's then.
        let user = is_root().then(|| "postgres".to_owned());
        if user.is_some() {
            run(Command::new("chown").arg("postgres").arg(&dir));
        }
        let mut cluster = Self {
            port: 0,
            dir,
            bin,
            user,
        };
        let data = cluster.dir.join("data");
        run(cluster
            .as_user(&cluster.bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", ROLE, "--no-sync"]));
        for attempt in 0..5 {
            cluster.port = free_port();
            let opts = format!(
                "-k {} -p {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200",
                cluster.dir.display(),
                cluster.port
            );
            let status = cluster
                .as_user(&cluster.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .args(["-o", &opts, "-l"])
                .arg(cluster.dir.join("log"))
                .args(["-w", "-t", "60", "start"])
                .stdout(Stdio::null())
                .status()
                .expect("pg_ctl");
            if status.success() {
                cluster.watchdog();
                return cluster;
            }
            if attempt == 4 {
                let log = std::fs::read_to_string(cluster.dir.join("log")).unwrap_or_default();
                panic!("PostgreSQL did not start: {log}");
            }
        }
        unreachable!("returned or panicked in the loop")
    }

    /// `program` as the cluster's user.
    fn as_user(&self, program: &Path) -> Command {
        match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    /// A shell that waits for this process to end, then stops the cluster
    /// and removes its directory.
    // Never waited for on purpose: it outlives this process.
    #[allow(clippy::zombie_processes)]
    fn watchdog(&self) {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop}; rm -rf '{dir}'",
            pid = std::process::id(),
            stop = self.stop_command(),
            dir = self.dir.display(),
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("watchdog");
        // Reaped if it ends first (it outlives this process otherwise).
        std::thread::spawn(move || child.wait());
    }

    fn stop_command(&self) -> String {
        let pg_ctl = format!(
            "{} -D '{}' -m fast -w stop",
            self.bin.join("pg_ctl").display(),
            self.dir.join("data").display()
        );
        match &self.user {
            Some(u) => format!("runuser -u {u} -- {pg_ctl} >/dev/null 2>&1"),
            None => format!("{pg_ctl} >/dev/null 2>&1"),
        }
    }

    /// Stops the cluster now (fast shutdown) and removes its directory.
    pub fn stop(&self) {
        let _ = Command::new("sh")
            .args(["-c", &self.stop_command()])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// The URL of database `db` (as the superuser role, over TCP).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{db}", self.port)
    }

    /// `psql` of the cluster's version (Debian's client wrapper otherwise).
    fn psql(&self) -> PathBuf {
        let own = self.bin.join("psql");
        if own.is_file() {
            own
        } else {
            PathBuf::from("psql")
        }
    }

    /// Runs `sql` in database `db`; psql's output (unaligned, tuples only).
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.psql())
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", ROLE])
            .args(["-d", db, "-X", "-A", "-t", "-q", "-c", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A fresh, empty database; its URL.
    pub fn database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        run(Command::new(self.psql())
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", ROLE])
            .args(["-d", "postgres", "-q", "-c"])
            .arg(format!("CREATE DATABASE {name}")));
        self.url(&name)
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The test process's cluster, started on first use.
pub fn shared() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_throwaway_cluster_serves_fresh_databases_and_goes_when_stopped() {
        let c = super::Cluster::start();
        let url = c.database();
        let db = url.rsplit('/').next().expect("db").to_owned();
        assert_eq!(c.psql_in(&db, "SELECT 40 + 2"), "42");
        assert_ne!(c.database(), url, "each database is new");
        c.stop();
        assert!(!c.dir.exists());
        assert!(std::net::TcpStream::connect(("127.0.0.1", c.port)).is_err());
    }
}
