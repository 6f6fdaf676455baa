//! The axum HTTP layer: routes, authentication, content negotiation and
//! errors, and the member web page (`web`).
//!
//! Handlers only translate between HTTP and [`vergleichsring_engine::Engine`]:
//! they check the caller's role and member scope ([`auth::Caller`]) and hand
//! every statistic request to the engine, which applies disclosure control.

pub mod auth;
pub mod cache;
pub mod error;
mod negotiate;
pub mod observe;
pub mod openapi;
mod routes;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use vergleichsring_engine::Engine;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest accepted upload body in bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body_bytes: 20 * 1024 * 1024,
        }
    }
}

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    /// The engine: the only door to figures and statistics.
    pub engine: Arc<Engine>,
    /// The store, for what is not figures: tokens, members, grants,
    /// custom groups, the access log and the lake's health.
    pub store: Arc<vergleichsring_store::Store>,
    /// HTTP settings.
    pub config: Arc<HttpConfig>,
    /// Signed-in sessions of the member web page.
    pub sessions: Arc<web::Sessions>,
    /// Materialised statistics responses by `ETag`.
    pub responses: Arc<cache::ResponseCache>,
}

impl AppState {
    /// The state of a server over an engine and its store.
    pub fn new(
        engine: Arc<Engine>,
        store: Arc<vergleichsring_store::Store>,
        config: HttpConfig,
    ) -> AppState {
        // Counters recorded before the recorder exists would be lost.
        observe::prometheus();
        AppState {
            engine,
            store,
            config: Arc::new(config),
            sessions: Arc::default(),
            responses: Arc::default(),
        }
    }
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/catalog", get(routes::catalog))
        .route("/openapi.json", get(openapi::openapi))
        .route(
            "/members",
            get(routes::list_members).post(routes::register_members),
        )
        .route(
            "/submissions/{domain}/{year}",
            post(routes::submit).get(routes::list_submissions),
        )
        .route("/figures/{domain}/{year}", get(routes::figures))
        .route("/comparisons/{domain}/{year}", get(routes::comparison))
        .route("/timeseries/{domain}/{figure}", get(routes::timeseries))
        .route("/members/{member_id}/grants", post(routes::grant))
        .route(
            "/members/{member_id}/grants/{consultant_id}",
            delete(routes::revoke_grant),
        )
        .route(
            "/groups",
            get(routes::list_groups).post(routes::create_group),
        )
        .route("/tokens/{token_id}", delete(routes::revoke_token))
        .route("/query", post(routes::query))
        .route("/access-log", get(routes::access_log))
        .route("/submissions/{domain}/explanations", post(routes::explain))
        .route("/warnings", get(routes::warnings))
        .route("/uploads/{sha256}", get(routes::archived_upload))
        .route("/reports/{member_id}/{year}", get(routes::report))
        .route("/publications", get(routes::list_publications))
        .route("/publications/{domain}/{year}", post(routes::publish))
        .route("/releases", get(routes::list_releases))
        .route("/releases/{domain}/{year}", post(routes::freeze_release))
        .route(
            "/releases/{domain}/{year}/reopen",
            post(routes::reopen_release),
        );
    Router::new()
        .route("/health", get(routes::health))
        .route("/ready", get(observe::ready))
        .route("/metrics", get(observe::metrics))
        .route("/", get(routes::root))
        .merge(web::router(state.config.max_body_bytes))
        .nest("/api/v1", api)
        .fallback(routes::no_route)
        .layer(CatchPanicLayer::custom(routes::panic_response))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(observe::track))
        .with_state(state)
}

/// Serves the router on a bound listener until ctrl-c or SIGTERM. Then it
/// stops accepting connections and finishes the requests in flight (an
/// upload that has started is committed and answered) before it returns.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        // SIGHUP after log rotation: the access log is opened again.
        let store = state.store.clone();
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    store.reopen_access_log();
                    tracing::info!("SIGHUP: the access log is opened again on its next entry");
                }
            });
        }
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped; every request in flight was answered");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM (what orchestrators send before they stop
/// a replica).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: no new connections, finishing requests in flight");
}
