//! `ldctl`: the headless LicenseDesk tool for gateways and scripts.
//!
//! Every command prints human text, or one JSON document with `--json`;
//! failures exit 1 with `error [CODE]: message` (or `{"error":{code,message}}`).
//! All rules and formats come from `licensedesk-core`; this binary only reads
//! and writes files.

mod commands;
mod machine;
mod net;
mod output;
mod store;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ldctl", version, about = "LicenseDesk gateway license tool")]
struct Cli {
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// The license home (installed license, backups, trusted keys); default
    /// `$LDCTL_HOME` or `~/.local/share/ldctl`.
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Use this time instead of the system clock (RFC 3339; for tests and for
    /// gateways without a real-time clock). The clock guard still applies.
    #[arg(long, global = true, hide = true, value_name = "TIME")]
    now: Option<DateTime<Utc>>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print this gateway's hardware fingerprint.
    Fingerprint(MachineArgs),
    /// Write (or extend) an offline activation request for this gateway.
    Request(commands::request::RequestArgs),
    /// Verify a license file: exit 0 and its fields, or non-zero and the reason.
    Verify(commands::verify::VerifyArgs),
    /// Verify a license fully, then install it atomically (old one backed up).
    Install(commands::install::InstallArgs),
    /// Show the installed license, or the trial and why.
    Show(commands::show::ShowArgs),
    /// Activation code tools.
    #[command(subcommand)]
    Code(CodeCommand),
    /// OTA attempts an upgrade of a firmware image costs.
    OtaCost(commands::misc::OtaCostArgs),
    /// Create a signing key pair (development and tests).
    Keygen(commands::keys::KeygenArgs),
    /// Sign a license payload (JSON) with a signing key (development and tests).
    Sign(commands::keys::SignArgs),
    /// Field kit issuance ledgers.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The key set licenses are verified with: pin it once, then accept only signed rotations.
    Trust(commands::trust::TrustArgs),
    /// What this gateway has in use (connections, data tags): record, show, export.
    #[command(subcommand)]
    Usage(commands::usage::UsageCommand),
    /// Floating licenses: claim a lease from a pool, keep it alive, release it.
    #[command(subcommand)]
    Lease(commands::lease::LeaseCommand),
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Verify a ledger export: exit 0 and a summary, or non-zero, the reason and the record number.
    Verify(commands::ledger::LedgerVerifyArgs),
}

#[derive(Subcommand)]
enum CodeCommand {
    /// Check an activation code's format and check symbol, offline.
    Check {
        /// The code as typed (case, spaces and hyphens do not matter).
        code: String,
    },
}

/// Where the machine id comes from.
#[derive(Args, Clone)]
pub struct MachineArgs {
    /// Use this machine id instead of reading a file (containers, tests).
    /// Also read from `$LDCTL_MACHINE_ID`.
    #[arg(long, value_name = "ID")]
    pub machine_id: Option<String>,
    /// File holding the machine id.
    #[arg(long, value_name = "FILE", default_value = "/etc/machine-id")]
    pub machine_id_file: PathBuf,
}

fn main() {
    let cli = Cli::parse();
    let now = cli.now.unwrap_or_else(Utc::now);
    let home = store::Home::resolve(cli.home);
    let outcome = match cli.command {
        Command::Fingerprint(args) => commands::misc::fingerprint(&args),
        Command::Request(args) => commands::request::run(&args, now),
        Command::Verify(args) => commands::verify::run(&args, &home, now),
        Command::Install(args) => commands::install::run(&args, &home, now),
        Command::Show(args) => commands::show::run(&args, &home, now),
        Command::Code(CodeCommand::Check { code }) => commands::misc::code_check(&code),
        Command::OtaCost(args) => commands::misc::ota_cost(&args),
        Command::Keygen(args) => commands::keys::keygen(&args, now),
        Command::Sign(args) => commands::keys::sign(&args),
        Command::Ledger(LedgerCommand::Verify(args)) => commands::ledger::verify(&args, &home),
        Command::Trust(args) => commands::trust::run(&args, &home),
        Command::Usage(cmd) => commands::usage::run(&cmd, &home, now),
        Command::Lease(commands::lease::LeaseCommand::Claim(args)) => {
            commands::lease::claim(&args, &home, now)
        }
        Command::Lease(commands::lease::LeaseCommand::Run(args)) => {
            commands::lease::run(&args, &home, cli.json)
        }
        Command::Lease(commands::lease::LeaseCommand::Release(args)) => {
            commands::lease::release(&args, &home)
        }
    };
    std::process::exit(output::emit(outcome, cli.json));
}
