//! Serving a ring: `serve` and `demo` open a data directory, build the
//! store, the engine and the router's state from the configuration, follow
//! the lake for other replicas' commits, and listen.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use vergleichsring_engine::Engine;
use vergleichsring_server::{AppState, HttpConfig};
use vergleichsring_store::Store;

use crate::cli::{DemoArgs, ServeArgs};
use crate::{config, demo, runtime};

/// `serve`: an existing data directory, as configured.
pub fn serve_command(args: ServeArgs) -> anyhow::Result<()> {
    let cfg =
        config::Config::resolve(args.config.as_deref(), std::env::vars(), &flags(&args))?.config;
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

/// What the command line of `serve` overrides in the configuration.
pub fn flags(args: &ServeArgs) -> config::Flags {
    config::Flags {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        log_format: args.log_format,
    }
}

/// `demo`: a generated ring (made once, reused after) with the default
/// configuration; prints a token of each role.
pub fn demo_command(args: DemoArgs) -> anyhow::Result<()> {
    let DemoArgs {
        listen, data_dir, ..
    } = args;
    runtime()?.block_on(async move {
        let cfg = config::Config::default();
        let started = std::time::Instant::now();
        demo::prepare(&data_dir).await?;
        let state = open(&data_dir, &cfg).await?;
        demo::print_summary(&data_dir, &state, listen).await?;
        println!();
        println!(
            "Ready in {:.1} s; serving http://{listen} (ctrl-c stops; the log is in {}, or on the terminal with -v).",
            started.elapsed().as_secs_f64(),
            data_dir.join("demo.log").display()
        );
        serve(listen, state).await
    })
}

/// Opens a data directory and builds the application state.
pub async fn open(data_dir: &Path, cfg: &config::Config) -> anyhow::Result<AppState> {
    let store = open_store(data_dir, cfg).await?;
    let engine = Arc::new(engine(store.clone(), cfg).await?);
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
    Ok(
        AppState::new(engine, store, http_config(cfg)?).with_accounts(
            cfg.public_url.clone(),
            cfg.mailer()?,
            cfg.oidc()?,
        ),
    )
}

/// The store of a data directory with the ring's secrets key and the
/// bounds on accounts.
async fn open_store(data_dir: &Path, cfg: &config::Config) -> anyhow::Result<Arc<Store>> {
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
    store.set_account_limits(vergleichsring_store::AccountLimits {
        personal_tokens: cfg.limits.personal_tokens,
        member_accounts: cfg.limits.member_accounts,
    });
    Ok(store)
}

/// The engine with the configured policy, limits, cache and workers.
async fn engine(store: Arc<Store>, cfg: &config::Config) -> anyhow::Result<Engine> {
    vergleichsring_engine::session::set_memory_limit(
        cfg.limits.memory_limit_mib.saturating_mul(1024 * 1024),
    );
    if !cfg.disclosure.perturbs() {
        tracing::warn!(
            "[disclosure] noise_min = noise_max = 0: statistics are released from true figures, and rule 15 (the protection interval) no longer holds"
        );
    }
    Ok(Engine::new(store, cfg.policy()?)
        .await?
        .with_limits(
            cfg.limits.ingest(),
            std::time::Duration::from_secs(cfg.limits.upload_seconds.max(1)),
        )
        .with_cache_budget(cfg.limits.cache_mib.saturating_mul(1 << 20))
        .with_neighbours(cfg.neighbours.clone())
        .with_workers(vergleichsring_engine::worker::WorkerConfig {
            program: std::env::current_exe().context("finding this program for its workers")?,
            size: cfg.limits.workers,
            memory_mib: cfg.limits.worker_memory_mib,
            jobs_per_worker: 100,
            job_seconds: cfg.limits.upload_seconds.max(10),
        }))
}

/// The HTTP layer's limits from the configuration.
fn http_config(cfg: &config::Config) -> anyhow::Result<HttpConfig> {
    Ok(HttpConfig {
        max_body_bytes: cfg.limits.max_body_bytes,
        uploads_per_minute: cfg.limits.uploads_per_minute,
        queries_per_minute: cfg.limits.queries_per_minute,
        concurrent_queries: cfg.limits.concurrent_queries,
        trusted_proxies: cfg.server.proxies()?,
        reminder_interval: std::time::Duration::from_secs(cfg.limits.reminder_hours * 3600),
        sign_ins: vergleichsring_server::SignInLimits {
            password_check_mib: cfg.limits.password_check_mib,
            ..Default::default()
        },
    })
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

/// Listens on `addr` and serves until the process ends.
async fn serve(addr: SocketAddr, state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    tracing::info!(%addr, "serving");
    vergleichsring_server::serve(listener, state).await?;
    Ok(())
}
