//! Command line and configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use licensedesk_core::package::Package;
use licensedesk_core::validity::Validity;

#[derive(Debug, Parser)]
#[command(
    name = "licensedesk-server",
    version,
    about = "LicenseDesk license server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Add a new current signing key; older keys stay published so licenses
    /// they signed keep verifying.
    RotateKey {
        /// Directory holding the database and the signing keys.
        #[arg(long, default_value = "./licensedesk-data")]
        data_dir: PathBuf,
    },
    /// Write a consistent copy of the database to FILE; safe while the
    /// server runs.
    ///
    /// The copy is the database as of one commit (SQLite `VACUUM INTO` from a
    /// read-only connection). An existing FILE is never overwritten.
    ///
    /// The signing keys are NOT in the database: back up DATA_DIR/keys
    /// separately by copying its files. It holds the private signing keys
    /// (mode 0600): keep the copy as private as the original. Without it, a
    /// restored server signs with new keys, and licenses signed before do not
    /// verify against its key set.
    Backup {
        /// The server's data directory (holding `licensedesk.sqlite3`).
        #[arg(long, default_value = "./licensedesk-data")]
        data_dir: PathBuf,
        /// Where to write the backup; must not exist.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Replace the database with a backup; the server must be stopped.
    ///
    /// FILE must be a sound LicenseDesk database (checked read-only first; if
    /// it is not, nothing changes). The database in place is kept as
    /// `licensedesk.sqlite3.<UTC time>.bak`. The restored database is
    /// migrated to this server's schema and gets a NEW instance id, so every
    /// client's sync cursor is refused and clients sync again from the start.
    ///
    /// The signing keys are not in the database: to restore them, copy the
    /// backed-up keys dir to DATA_DIR/keys (files 0600) while the server is
    /// stopped.
    Restore {
        /// The server's data directory (created if absent).
        #[arg(long, default_value = "./licensedesk-data")]
        data_dir: PathBuf,
        /// The backup to restore (written by `backup`).
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Directory holding the database and the signing keys (created if absent).
    #[arg(
        long,
        default_value = "./licensedesk-data",
        env = "LICENSEDESK_DATA_DIR"
    )]
    pub data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port. The bound address is
    /// printed on the first line of stdout: `listening on http://ADDR`.
    #[arg(long, default_value = "127.0.0.1:8787", env = "LICENSEDESK_LISTEN")]
    pub listen: SocketAddr,
    /// Seed the demo data set (idempotent: a second start adds nothing).
    #[arg(long)]
    pub demo: bool,
    /// Admin token for purchases; default: read or create `DATA_DIR/admin-token`
    /// (with `--demo`: the fixed demo admin token).
    #[arg(long, env = "LICENSEDESK_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Trust the last address of `X-Forwarded-For` as the client address
    /// (only behind a reverse proxy that sets it).
    #[arg(long)]
    pub trust_forwarded_for: bool,
    /// Failed code attempts allowed per token and per client address within
    /// `--fail-window-secs` before answering 429.
    #[arg(long, default_value_t = 10)]
    pub fail_limit: u32,
    #[arg(long, default_value_t = 300)]
    pub fail_window_secs: u64,
    /// The free development package (domain.md §4): the package a product
    /// without one takes when the account assigns it free codes, as JSON,
    /// e.g. `{"validity":{"years":1},"messages_per_day":1500,
    /// "ota_per_month":1,"ota_cap_mb":5,"storage_days":7}` (the default).
    #[arg(long, env = "LICENSEDESK_FREE_PACKAGE", value_parser = parse_package)]
    pub free_package: Option<Package>,
}

fn parse_package(s: &str) -> Result<Package, String> {
    let p: Package = serde_json::from_str(s).map_err(|e| format!("not a package: {e}"))?;
    p.validate().map_err(|e| e.to_string())?;
    Ok(p)
}

/// The default free development package: 1 year, 1500 messages a day, 1
/// OTA upgrade a month of at most 5 MB, 7 days of storage (the consoles'
/// defaults: 1 OTA a month, 7-day storage).
pub fn default_free_package() -> Package {
    Package {
        validity: Validity::years(1),
        messages_per_day: 1500,
        ota_per_month: 1,
        ota_cap_mb: 5,
        storage_days: 7,
    }
}

/// Runtime settings shared by handlers.
#[derive(Debug, Clone)]
pub struct Settings {
    pub trust_forwarded_for: bool,
    pub fail_limit: u32,
    pub fail_window_secs: u64,
    /// What free codes bring to a product without a package.
    pub free_package: Package,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            trust_forwarded_for: false,
            fail_limit: 10,
            fail_window_secs: 300,
            free_package: default_free_package(),
        }
    }
}

impl From<&ServeArgs> for Settings {
    fn from(a: &ServeArgs) -> Self {
        Self {
            trust_forwarded_for: a.trust_forwarded_for,
            fail_limit: a.fail_limit,
            fail_window_secs: a.fail_window_secs,
            free_package: a.free_package.clone().unwrap_or_else(default_free_package),
        }
    }
}
