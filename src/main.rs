//! The `vergleichsring` command line: demo, serve, init, token create, generate.
//!
//! Everything here is wiring: parse arguments and the configuration, open the
//! store, build the engine and the router. `anyhow` is used only here.

mod config;
mod demo;
mod generate;
mod sandbox;
mod upload;
mod worker;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use vergleichsring_engine::Engine;
use vergleichsring_server::{AppState, HttpConfig};
use vergleichsring_store::{Role, Store};

/// Municipal benchmarking for libraries, museums and music schools.
#[derive(Parser)]
#[command(name = "vergleichsring", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A worker process of the server (started by `serve`): decodes
    /// uploads and runs analysts' SQL within kernel limits.
    #[command(hide = true)]
    Worker {
        /// Address space in MiB.
        #[arg(long)]
        memory_mib: u64,
        /// CPU seconds over the worker's life.
        #[arg(long)]
        cpu_seconds: u64,
    },
    /// Create (or reuse) a data directory with a generated ring and serve it.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Data directory of the demo ring.
        #[arg(long, default_value = "demo-data")]
        data_dir: PathBuf,
    },
    /// Serve an existing data directory.
    Serve {
        /// The data directory (overrides `data_dir` of the configuration).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address to listen on (overrides the configuration).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Configuration file (TOML); `VERGLEICHSRING_*` variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Log format (overrides the configuration).
        #[arg(long, value_enum)]
        log_format: Option<config::LogFormat>,
    },
    /// Merge the lake's small files into larger ones (Delta OPTIMIZE); the
    /// answers stay the same. Safe while the service runs.
    Compact {
        /// The data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Configuration file (for the lake's location).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Move the members, tokens, grants, groups, releases, ledger, archived
    /// uploads and access log of a data directory written before version
    /// 0.2 (files beside the lake) into the lake. Idempotent; the files are
    /// left as they were and no longer read.
    Migrate {
        /// The data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Configuration file (for the lake's location).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Copy the data directory and its lake (local or on object storage)
    /// into a new directory. Safe while the service runs.
    Backup {
        /// The data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Configuration file (for the lake's location).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The backup directory (must not exist or be empty).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into a new data directory and an empty lake (the
    /// configured one, local or on object storage).
    Restore {
        /// The backup directory.
        #[arg(long)]
        from: PathBuf,
        /// The new data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Configuration file (for the lake's location).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Create an empty data directory (idempotent).
    Init {
        /// The data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Configuration file (TOML): its lake and `secrets_key` decide
        /// where the ring's noise secret is kept and whether it is sealed.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Upload a file (.parquet, .csv, .xlsx) of basic figures to a running service.
    Upload {
        /// Base URL of the service, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// Your token.
        #[arg(long)]
        token: String,
        /// Domain id, e.g. library.
        #[arg(long)]
        domain: String,
        /// Year of the figures.
        #[arg(long)]
        year: i32,
        /// The file.
        file: PathBuf,
    },
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
    /// Write synthetic members and figures as Parquet files.
    Generate {
        /// Number of members.
        #[arg(long)]
        members: usize,
        /// Years, e.g. 2020-2024.
        #[arg(long)]
        years: String,
        /// Seed of the random generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Directory for the Parquet files (members.csv and one file per
        /// domain and year).
        #[arg(long, required_unless_present = "data_dir")]
        out: Option<PathBuf>,
        /// A data directory to import the ring into (created if needed):
        /// members registered, one submission per domain and year.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Compute every comparison of one (domain, year) from the Parquet files
    /// `generate --out` writes, with the service's code, and time it (for
    /// benchmarks against other engines).
    OfflineCompare {
        /// Directory with members.parquet and <domain>_<year>.parquet.
        #[arg(long)]
        dir: PathBuf,
        /// Domain id.
        #[arg(long)]
        domain: String,
        /// Year.
        #[arg(long)]
        year: i32,
        /// Repetitions; the best is reported.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Write the statistics as JSON rows to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Invite the first admin: prints the invitation link's path (valid 7
    /// days, once), where the person sets a password.
    CreateAdmin {
        /// The data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Configuration file (for the lake's location).
        #[arg(long)]
        config: Option<PathBuf>,
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Remove the second factor of an account (a lost device without
    /// recovery codes, e.g. of the ring's only admin) and end its sessions;
    /// the person enrols a new one at the next sign-in.
    ResetSecondFactor {
        /// The data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Configuration file (for the lake's location).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file with the `VERGLEICHSRING_*` variables
    /// of the environment, and print the effective configuration with
    /// secrets masked.
    Check {
        /// The file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it alone on stdout.
    Create {
        /// The data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Configuration file (for the lake's location).
        #[arg(long)]
        config: Option<PathBuf>,
        /// admin, analyst, consultant or member.
        #[arg(long)]
        role: String,
        /// The member of a member token.
        #[arg(long)]
        member_id: Option<String>,
        /// The consultant of a consultant token.
        #[arg(long)]
        consultant_id: Option<String>,
        /// Members that grant the consultant access, comma-separated.
        #[arg(long, value_delimiter = ',')]
        grants: Vec<String>,
        /// What the token is for (shown in the token list).
        #[arg(long)]
        label: Option<String>,
        /// When the token stops working, RFC 3339 (e.g. 2027-12-31T23:59:59Z).
        #[arg(long)]
        expires_at: Option<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    // `serve` logs as its configuration says; a configuration that does not
    // load is reported before any logging starts.
    let (format, level) = match &cli.command {
        Command::Serve {
            data_dir,
            listen,
            config,
            log_format,
        } => {
            let flags = config::Flags {
                listen: *listen,
                data_dir: data_dir.clone(),
                log_format: *log_format,
            };
            match config::Config::resolve(config.as_deref(), std::env::vars(), &flags) {
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
        Command::Worker { .. } => (config::LogFormat::Human, "error".to_string()),
        // `generate` shows a progress bar; a log line per commit would tear it.
        Command::Generate { .. } => (
            config::LogFormat::Human,
            "warn,buoyant_kernel=off".to_string(),
        ),
        _ => {
            let log = config::Log::default();
            (log.format, log.level)
        }
    };
    init_logging(format, &level);
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Logs to stderr in the configured format. `RUST_LOG` wins over the
/// configured level. The Delta kernel logs an ERROR for every table that
/// has no commit yet, which is the normal state of a new domain, so the
/// default level silences it; its real failures reach us as errors of
/// deltalake, which are logged where they are handled.
fn init_logging(format: config::LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        config::LogFormat::Human => builder.init(),
        config::LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Worker {
            memory_mib,
            cpu_seconds,
        } => worker::run(memory_mib, cpu_seconds),
        Command::Init { data_dir, config } => {
            Store::init(&data_dir)?;
            // The ring's noise secret (rule 14) is created here, once, in
            // the state log: sealed when a secrets_key is configured.
            let (cfg, dir) = maintenance_config(config.as_deref(), Some(data_dir.clone()))?;
            let lake = cfg.lake_location()?;
            let key = cfg.secrets_key()?;
            if cfg.disclosure.noise_max > 0.0 {
                runtime()?.block_on(async move {
                    let store = Store::open_with_lake(&dir, lake).await?;
                    if let Some(key) = key {
                        store.set_secrets_key(key);
                    }
                    store.noise_secret().await.map(|_| ())
                })?;
            }
            println!("initialised {}", data_dir.display());
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    data_dir,
                    config,
                    role,
                    member_id,
                    consultant_id,
                    grants,
                    label,
                    expires_at,
                },
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role '{role}'; use admin, analyst, consultant or member")
            })?;
            let expires_at = expires_at
                .map(|e| vergleichsring_store::parse_expiry(&e))
                .transpose()
                .map_err(|m| anyhow::anyhow!("--expires-at: {m}"))?;
            let (cfg, dir) = maintenance_config(config.as_deref(), Some(data_dir))?;
            let new = vergleichsring_store::NewToken {
                role,
                member_id,
                consultant_id,
                grants,
                label,
                expires_at,
            };
            let lake = cfg.lake_location()?;
            let (token, _) = runtime()?
                .block_on(async move { Store::create_token_with(&dir, &lake, new).await })?;
            println!("{token}");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::CreateAdmin {
                    data_dir,
                    config,
                    email,
                    name,
                },
        } => {
            let (cfg, dir) = maintenance_config(config.as_deref(), Some(data_dir))?;
            let lake = cfg.lake_location()?;
            let (user, code) = runtime()?.block_on(async move {
                let store = Store::open_with_lake(&dir, lake).await?;
                store
                    .invite_user(
                        "cli",
                        vergleichsring_store::NewUser {
                            email,
                            name,
                            role: Role::Admin,
                            member_id: None,
                            consultant_id: None,
                            lead: false,
                        },
                    )
                    .await
            })?;
            eprintln!(
                "invited {} ({}); open this path on the service within 7 days to set the password:",
                user.email, user.user_id
            );
            println!("/web/einladung/{code}");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::ResetSecondFactor {
                    data_dir,
                    config,
                    email,
                },
        } => {
            let (cfg, dir) = maintenance_config(config.as_deref(), Some(data_dir))?;
            let lake = cfg.lake_location()?;
            let wanted = email.trim().to_lowercase();
            runtime()?.block_on(async move {
                let store = Store::open_with_lake(&dir, lake).await?;
                let user = store
                    .users()
                    .into_iter()
                    .find(|u| u.email == wanted && !u.disabled)
                    .with_context(|| format!("no enabled account has the address {wanted}"))?;
                store.reset_second_factor("cli", &user.user_id).await?;
                eprintln!(
                    "the second factor of {} ({}) is removed and its sessions ended; it enrols a new one at the next sign-in",
                    user.email, user.user_id
                );
                anyhow::Ok(())
            })
        }
        Command::Upload {
            url,
            token,
            domain,
            year,
            file,
        } => match runtime()?.block_on(upload::run(&url, &token, &domain, year, &file))? {
            upload::Outcome::Accepted => Ok(()),
            upload::Outcome::Refused => std::process::exit(2),
        },
        Command::Generate {
            members,
            years,
            seed,
            out,
            data_dir,
        } => generate::generate(members, &years, seed, out.as_deref(), data_dir.as_deref()),
        Command::OfflineCompare {
            dir,
            domain,
            year,
            repeat,
            json,
        } => runtime()?.block_on(generate::offline_compare(
            &dir,
            &domain,
            year,
            repeat,
            json.as_deref(),
        )),
        Command::Migrate { data_dir, config } => {
            let (cfg, dir) = maintenance_config(config.as_deref(), data_dir)?;
            runtime()?.block_on(async move {
                let m = Store::migrate(&dir, &cfg.lake_location()?).await?;
                if m.already {
                    println!("{} was migrated before; nothing to do", dir.display());
                } else {
                    println!(
                        "migrated {}: {} members, {} tokens, {} grants, {} groups, {} explanations, {} releases, {} ledger files, {} uploads, {} access log entries",
                        dir.display(),
                        m.members,
                        m.tokens,
                        m.grants,
                        m.groups,
                        m.explanations,
                        m.releases,
                        m.ledger_objects,
                        m.uploads,
                        m.access_entries
                    );
                    println!(
                        "The files (members.json, tokens.json, ...) are left as they were and no longer read; remove them once a backup is made."
                    );
                }
                anyhow::Ok(())
            })
        }
        Command::Compact { data_dir, config } => {
            let (cfg, dir) = maintenance_config(config.as_deref(), data_dir)?;
            runtime()?.block_on(async move {
                let store = Store::open_with_lake(&dir, cfg.lake_location()?).await?;
                for c in store.compact().await? {
                    println!(
                        "{}: {} files, {} merged into {}, now version {}",
                        c.domain,
                        c.files_before,
                        c.removed,
                        c.added,
                        vergleichsring_store::DataVersion::after(c.version)
                    );
                }
                anyhow::Ok(())
            })
        }
        Command::Backup {
            data_dir,
            config,
            to,
        } => {
            let (cfg, dir) = maintenance_config(config.as_deref(), data_dir)?;
            runtime()?.block_on(async move {
                let store = Store::open_with_lake(&dir, cfg.lake_location()?).await?;
                let m = store.backup(&to).await?;
                println!(
                    "backed up {} to {}: {}",
                    dir.display(),
                    to.display(),
                    serde_json::to_string(&m.versions)?
                );
                anyhow::Ok(())
            })
        }
        Command::Restore {
            from,
            data_dir,
            config,
        } => {
            let (cfg, dir) = maintenance_config(config.as_deref(), data_dir)?;
            runtime()?.block_on(async move {
                let m = Store::restore(&from, &dir, &cfg.lake_location()?).await?;
                println!(
                    "restored the backup of {} into {}",
                    m.made_at,
                    dir.display()
                );
                anyhow::Ok(())
            })
        }
        Command::Config {
            command: ConfigCommand::Check { file },
        } => {
            let r =
                config::Config::resolve(Some(&file), std::env::vars(), &config::Flags::default())?;
            println!("# {} is valid.", file.display());
            if r.from_env.is_empty() {
                println!("# No VERGLEICHSRING_* variable overrides it.");
            } else {
                println!(
                    "# Overridden by the environment: {}.",
                    r.from_env.join(", ")
                );
            }
            println!("# The effective configuration, secrets masked:\n");
            print!("{}", r.config.masked_toml()?);
            Ok(())
        }
        Command::Serve {
            data_dir,
            listen,
            config,
            log_format,
        } => {
            let flags = config::Flags {
                listen,
                data_dir,
                log_format,
            };
            let cfg = config::Config::resolve(config.as_deref(), std::env::vars(), &flags)?.config;
            let Some(data_dir) = cfg.data_dir.clone() else {
                bail!(
                    "no data directory: give --data-dir, data_dir in the configuration or VERGLEICHSRING_DATA_DIR"
                );
            };
            runtime()?.block_on(async move {
                let state = open(&data_dir, &cfg).await?;
                serve(cfg.listen, state).await
            })
        }
        Command::Demo { listen, data_dir } => runtime()?.block_on(async move {
            let cfg = config::Config::default();
            let started = std::time::Instant::now();
            demo::prepare(&data_dir).await?;
            let state = open(&data_dir, &cfg).await?;
            demo::print_tokens(&data_dir, &state, listen).await?;
            eprintln!(
                "demo ready in {:.1} s; serving http://{listen} (ctrl-c stops)",
                started.elapsed().as_secs_f64()
            );
            serve(listen, state).await
        }),
    }
}

/// The configuration and data directory of a maintenance command.
fn maintenance_config(
    config: Option<&Path>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<(config::Config, PathBuf)> {
    let flags = config::Flags {
        data_dir,
        ..config::Flags::default()
    };
    let cfg = config::Config::resolve(config, std::env::vars(), &flags)?.config;
    let Some(dir) = cfg.data_dir.clone() else {
        bail!(
            "no data directory: give --data-dir, data_dir in the configuration or VERGLEICHSRING_DATA_DIR"
        );
    };
    Ok((cfg, dir))
}

/// Opens a data directory and builds the application state.
pub(crate) async fn open(data_dir: &Path, cfg: &config::Config) -> anyhow::Result<AppState> {
    let store = Arc::new(
        Store::open_with_lake(data_dir, cfg.lake_location()?)
            .await
            .with_context(|| format!("opening data directory {}", data_dir.display()))?,
    );
    match cfg.secrets_key()? {
        Some(key) => {
            store.set_secrets_key(key);
        }
        None if store.users().iter().any(|u| u.totp_secret.is_some()) => {
            tracing::warn!(
                "no secrets_key is configured: second factors enrolled now are stored in the clear in the lake (set VERGLEICHSRING_SECRETS_KEY on every replica)"
            );
        }
        None => {}
    }
    vergleichsring_engine::session::set_memory_limit(
        cfg.limits.memory_limit_mib.saturating_mul(1024 * 1024),
    );
    store.set_account_limits(vergleichsring_store::AccountLimits {
        personal_tokens: cfg.limits.personal_tokens,
        member_accounts: cfg.limits.member_accounts,
    });
    if !cfg.disclosure.perturbs() {
        tracing::warn!(
            "[disclosure] noise_min = noise_max = 0: statistics are released from true figures, and rule 15 (the protection interval) no longer holds"
        );
    }
    let engine = Arc::new(
        Engine::new(store.clone(), cfg.policy()?)
            .await?
            .with_limits(
                cfg.limits.ingest(),
                std::time::Duration::from_secs(cfg.limits.upload_seconds.max(1)),
            )
            .with_cache_budget(cfg.limits.cache_mib.saturating_mul(1 << 20))
            .with_workers(vergleichsring_engine::worker::WorkerConfig {
                program: std::env::current_exe().context("finding this program for its workers")?,
                size: cfg.limits.workers,
                memory_mib: cfg.limits.worker_memory_mib,
                jobs_per_worker: 100,
                job_seconds: cfg.limits.upload_seconds.max(10),
            }),
    );
    // The state (tokens, sessions, members) is followed and the access log
    // flushed even when figures are not followed (`refresh_millis = 0`):
    // then every second.
    let figures = cfg.lake.refresh_millis > 0;
    let millis = if figures {
        cfg.lake.refresh_millis
    } else {
        1000
    };
    follow(engine.clone(), store.clone(), millis, figures);
    // Years with figures but no (current) publication, e.g. in a data
    // directory from before publications: published in the background, so
    // that the service answers /health at once.
    let pending = engine.clone();
    tokio::spawn(async move {
        match pending.publish_pending().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(publications = n, "published pending years"),
            Err(e) => tracing::warn!(error = %e, "publishing pending years failed"),
        }
    });
    Ok(AppState::new(
        engine,
        store,
        HttpConfig {
            max_body_bytes: cfg.limits.max_body_bytes,
            uploads_per_minute: cfg.limits.uploads_per_minute,
            queries_per_minute: cfg.limits.queries_per_minute,
            concurrent_queries: cfg.limits.concurrent_queries,
            trusted_proxies: cfg.server.proxies()?,
            sign_ins: vergleichsring_server::SignInLimits {
                password_check_mib: cfg.limits.password_check_mib,
                ..Default::default()
            },
        },
    )
    .with_accounts(cfg.public_url.clone(), cfg.mailer()?, cfg.oidc()?))
}

/// Looks for commits of other processes on the same lake every `millis`
/// (replicas), so that an upload through one is visible through all.
fn follow(engine: Arc<Engine>, store: Arc<Store>, millis: u64, figures: bool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(millis));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            if let Err(e) = store.flush_access_log().await {
                tracing::error!(error = %e, "the access log could not be written; retrying");
            }
            let followed = if figures {
                engine.follow_log().await.map(|_| ())
            } else {
                store
                    .follow_state()
                    .await
                    .map(|_| ())
                    .map_err(vergleichsring_engine::EngineError::from)
            };
            match followed {
                Ok(_) if failing => {
                    tracing::info!("the lake is readable again");
                    failing = false;
                }
                Ok(_) => {}
                // Logged once per outage, not once per tick.
                Err(e) if !failing => {
                    tracing::warn!(error = %e, "following the lake failed; retrying");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    });
}

async fn serve(addr: SocketAddr, state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    tracing::info!(%addr, "serving");
    vergleichsring_server::serve(listener, state).await?;
    Ok(())
}
