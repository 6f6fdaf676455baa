//! The `vergleichsring` command line: demo, serve, init, token create, generate.
//!
//! Everything here is wiring: parse arguments and the configuration, open the
//! store, build the engine and the router. `anyhow` is used only here. The
//! grammar is in `cli.rs`; each command is one function, in `app.rs`
//! (serving) or `commands.rs` (maintenance) or a module of its own.

mod app;
mod cli;
mod commands;
mod config;
mod demo;
mod demo_people;
mod generate;
mod sandbox;
mod upload;
mod worker;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Command, ConfigCommand, ReferenceCommand, TokenCommand, UserCommand};

fn main() {
    let cli = Cli::parse();
    let (format, level) = logging_of(&cli.command);
    init_logging(format, &level, demo_log(&cli.command));
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// How a command logs. `serve` logs as its configuration says; a
/// configuration that does not load is reported before any logging starts.
fn logging_of(command: &Command) -> (config::LogFormat, String) {
    match command {
        Command::Serve(args) => {
            match config::Config::resolve(
                args.config.as_deref(),
                std::env::vars(),
                &app::flags(args),
            ) {
                Ok(r) => (r.config.log.format, r.config.log.level),
                Err(e) => {
                    eprintln!("error: {e:#}");
                    std::process::exit(1);
                }
            }
        }
        // A worker decodes hostile files: the decoders' warnings about them
        // (calamine logs one per damaged part) would flood the server's
        // log, so a worker logs errors only.
        Command::Worker(_) => (config::LogFormat::Human, "error".to_string()),
        // `generate` shows a progress bar; a log line per commit would tear it.
        Command::Generate(_) => (
            config::LogFormat::Human,
            "warn,buoyant_kernel=off".to_string(),
        ),
        _ => {
            let log = config::Log::default();
            (log.format, log.level)
        }
    }
}

/// Logs to stderr in the configured format. `RUST_LOG` wins over the
/// configured level. The Delta kernel logs an ERROR for every table that
/// has no commit yet, which is the normal state of a new domain, so the
/// default level silences it; its real failures reach us as errors of
/// deltalake, which are logged where they are handled.
fn init_logging(format: config::LogFormat, level: &str, file: Option<std::fs::File>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if let Some(file) = file {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init();
        return;
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        config::LogFormat::Human => builder.init(),
        config::LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// The demo logs to `demo.log` in its data directory unless `-v`: its
/// terminal shows the short summary a newcomer needs. Without a writable
/// directory it logs to the terminal.
fn demo_log(command: &Command) -> Option<std::fs::File> {
    let Command::Demo(args) = command else {
        return None;
    };
    if args.verbose {
        return None;
    }
    std::fs::create_dir_all(&args.data_dir).ok()?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(args.data_dir.join("demo.log"))
        .ok()
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Runs one command.
fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Worker(a) => worker::run(a.memory_mib, a.cpu_seconds),
        Command::Demo(a) => app::demo_command(a),
        Command::Serve(a) => app::serve_command(a),
        Command::Init(a) => commands::init(a),
        Command::Token {
            command: TokenCommand::Create(a),
        } => commands::token_create(a),
        Command::User {
            command: UserCommand::CreateAdmin(a),
        } => commands::user_create_admin(a),
        Command::User {
            command: UserCommand::ResetSecondFactor(a),
        } => commands::user_reset_second_factor(a),
        Command::Config {
            command: ConfigCommand::Check(a),
        } => commands::config_check(a),
        Command::Reference {
            command: ReferenceCommand::Import(a),
        } => commands::reference_import(a),
        Command::Migrate(a) => commands::migrate(a),
        Command::Compact(a) => commands::compact(a),
        Command::Backup(a) => commands::backup(a),
        Command::Restore(a) => commands::restore(a),
        Command::Upload(a) => {
            match runtime()?.block_on(upload::run(&a.url, &a.token, &a.domain, a.year, &a.file))? {
                upload::Outcome::Accepted => Ok(()),
                upload::Outcome::Refused => std::process::exit(2),
            }
        }
        Command::Generate(a) => generate::generate(
            a.members,
            &a.years,
            a.seed,
            a.out.as_deref(),
            a.data_dir.as_deref(),
        ),
        Command::OfflineCompare(a) => runtime()?.block_on(generate::offline_compare(
            &a.dir,
            &a.domain,
            a.year,
            a.repeat,
            a.json.as_deref(),
        )),
    }
}
