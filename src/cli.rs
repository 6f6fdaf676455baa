//! The command line's grammar (clap): every command and its arguments.
//! What each command does is in `commands.rs` (maintenance of a data
//! directory) and `app.rs` (serving, the demo).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config;

/// Municipal benchmarking for libraries, museums and music schools.
#[derive(Parser)]
#[command(name = "vergleichsring", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// A worker process of the server (started by `serve`): decodes
    /// uploads and runs analysts' SQL within kernel limits.
    #[command(hide = true)]
    Worker(WorkerArgs),
    /// Create (or reuse) a data directory with a generated ring and serve it.
    Demo(DemoArgs),
    /// Serve an existing data directory.
    Serve(ServeArgs),
    /// Merge the lake's small files into larger ones (Delta OPTIMIZE); the
    /// answers stay the same. Safe while the service runs.
    Compact(DirArgs),
    /// Move the members, tokens, grants, groups, releases, ledger, archived
    /// uploads and access log of a data directory written before version
    /// 0.2 (files beside the lake) into the lake. Idempotent; the files are
    /// left as they were and no longer read.
    Migrate(DirArgs),
    /// Copy the data directory and its lake (local or on object storage)
    /// into a new directory. Safe while the service runs.
    Backup(BackupArgs),
    /// Restore a backup into a new data directory and an empty lake (the
    /// configured one, local or on object storage).
    Restore(RestoreArgs),
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Create an empty data directory (idempotent).
    Init(InitArgs),
    /// Upload a file (.parquet, .csv, .xlsx) of basic figures to a running service.
    Upload(UploadArgs),
    /// Manage tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Reference data of the catalogue.
    Reference {
        #[command(subcommand)]
        command: ReferenceCommand,
    },
    /// Write synthetic members and figures as Parquet files.
    Generate(GenerateArgs),
    /// Compute every comparison of one (domain, year) from the Parquet files
    /// `generate --out` writes, with the service's code, and time it (for
    /// benchmarks against other engines).
    OfflineCompare(OfflineCompareArgs),
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Invite the first admin: prints the invitation link's path (valid 7
    /// days, once), where the person sets a password.
    CreateAdmin(CreateAdminArgs),
    /// Remove the second factor of an account (a lost device without
    /// recovery codes, e.g. of the ring's only admin) and end its sessions;
    /// the person enrols a new one at the next sign-in.
    ResetSecondFactor(ResetSecondFactorArgs),
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file with the `VERGLEICHSRING_*` variables
    /// of the environment, and print the effective configuration with
    /// secrets masked.
    Check(ConfigCheckArgs),
}

#[derive(Subcommand)]
pub enum ReferenceCommand {
    /// Load a newer extract of the municipality register (Destatis GV-ISys,
    /// the bundled file's format) into a data directory's catalogue. It is
    /// checked whole before anything is written; the service reads it at
    /// its next start.
    Import(ReferenceImportArgs),
}

/// An extract of the municipality register and the year it describes.
#[derive(Args)]
pub struct ReferenceImportArgs {
    /// The extract: semicolon-separated, the bundled file's columns.
    pub file: PathBuf,
    /// The year whose 31 December its population describes.
    #[arg(long)]
    pub year: i32,
    /// The data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it alone on stdout.
    Create(TokenCreateArgs),
}

/// The limits a worker process sets on itself.
#[derive(Args)]
pub struct WorkerArgs {
    /// Address space in MiB.
    #[arg(long)]
    pub memory_mib: u64,
    /// CPU seconds over the worker's life.
    #[arg(long)]
    pub cpu_seconds: u64,
}

/// Where the demo listens and keeps its ring.
#[derive(Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Data directory of the demo ring.
    #[arg(long, default_value = "demo-data")]
    pub data_dir: PathBuf,
    /// Log to the terminal rather than to `demo.log` in the data directory.
    #[arg(short, long)]
    pub verbose: bool,
}

/// What `serve` takes beside the configuration file.
#[derive(Args)]
pub struct ServeArgs {
    /// The data directory (overrides `data_dir` of the configuration).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on (overrides the configuration).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Configuration file (TOML); `VERGLEICHSRING_*` variables override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Log format (overrides the configuration).
    #[arg(long, value_enum)]
    pub log_format: Option<config::LogFormat>,
}

/// A data directory and the configuration that says where its lake is.
#[derive(Args)]
pub struct DirArgs {
    /// The data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (for the lake's location).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// A data directory and where its backup goes.
#[derive(Args)]
pub struct BackupArgs {
    /// The data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (for the lake's location).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The backup directory (must not exist or be empty).
    #[arg(long)]
    pub to: PathBuf,
}

/// A backup and the data directory it is restored into.
#[derive(Args)]
pub struct RestoreArgs {
    /// The backup directory.
    #[arg(long)]
    pub from: PathBuf,
    /// The new data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (for the lake's location).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// A new data directory.
#[derive(Args)]
pub struct InitArgs {
    /// The data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Configuration file (TOML): its lake and `secrets_key` decide
    /// where the ring's noise secret is kept and whether it is sealed.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// A file to upload and where to.
#[derive(Args)]
pub struct UploadArgs {
    /// Base URL of the service, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub url: String,
    /// Your token.
    #[arg(long)]
    pub token: String,
    /// Domain id, e.g. library.
    #[arg(long)]
    pub domain: String,
    /// Year of the figures.
    #[arg(long)]
    pub year: i32,
    /// The file.
    pub file: PathBuf,
}

/// The size and seed of a synthetic ring.
#[derive(Args)]
pub struct GenerateArgs {
    /// Number of members.
    #[arg(long)]
    pub members: usize,
    /// Years, e.g. 2020-2024.
    #[arg(long)]
    pub years: String,
    /// Seed of the random generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory for the Parquet files (members.csv and one file per
    /// domain and year).
    #[arg(long, required_unless_present = "data_dir")]
    pub out: Option<PathBuf>,
    /// A data directory to import the ring into (created if needed):
    /// members registered, one submission per domain and year.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Parquet files of a ring and what to compute from them.
#[derive(Args)]
pub struct OfflineCompareArgs {
    /// Directory with members.parquet and <domain>_<year>.parquet.
    #[arg(long)]
    pub dir: PathBuf,
    /// Domain id.
    #[arg(long)]
    pub domain: String,
    /// Year.
    #[arg(long)]
    pub year: i32,
    /// Repetitions; the best is reported.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Write the statistics as JSON rows to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The first admin of a ring.
#[derive(Args)]
pub struct CreateAdminArgs {
    /// The data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Configuration file (for the lake's location).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// E-mail address.
    #[arg(long)]
    pub email: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
}

/// The account whose second factor is removed.
#[derive(Args)]
pub struct ResetSecondFactorArgs {
    /// The data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Configuration file (for the lake's location).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The account's e-mail address.
    #[arg(long)]
    pub email: String,
}

/// The configuration file to check.
#[derive(Args)]
pub struct ConfigCheckArgs {
    /// The file.
    pub file: PathBuf,
}

/// A new token of the state log.
#[derive(Args)]
pub struct TokenCreateArgs {
    /// The data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Configuration file (for the lake's location).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// admin, analyst, consultant or member.
    #[arg(long)]
    pub role: String,
    /// The member of a member token.
    #[arg(long)]
    pub member_id: Option<String>,
    /// The consultant of a consultant token.
    #[arg(long)]
    pub consultant_id: Option<String>,
    /// Members that grant the consultant access, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub grants: Vec<String>,
    /// What the token is for (shown in the token list).
    #[arg(long)]
    pub label: Option<String>,
    /// When the token stops working, RFC 3339 (e.g. 2027-12-31T23:59:59Z).
    #[arg(long)]
    pub expires_at: Option<String>,
}
