//! Command line and configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
}

/// Runtime settings shared by handlers.
#[derive(Debug, Clone)]
pub struct Settings {
    pub trust_forwarded_for: bool,
    pub fail_limit: u32,
    pub fail_window_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            trust_forwarded_for: false,
            fail_limit: 10,
            fail_window_secs: 300,
        }
    }
}

impl From<&ServeArgs> for Settings {
    fn from(a: &ServeArgs) -> Self {
        Self {
            trust_forwarded_for: a.trust_forwarded_for,
            fail_limit: a.fail_limit,
            fail_window_secs: a.fail_window_secs,
        }
    }
}
