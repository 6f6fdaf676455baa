//! The axum HTTP layer: routes, authentication, content negotiation and
//! errors, and the member web page (`web`).
//!
//! Handlers only translate between HTTP and [`vergleichsring_engine::Engine`]:
//! they check the caller's role and member scope ([`auth::Caller`]) and hand
//! every statistic request to the engine, which applies disclosure control.

pub mod auth;
pub mod cache;
pub mod client;
mod collection_mail;
pub mod contract;
pub mod error;
pub mod extract;
mod html;
pub mod mail;
mod negotiate;
pub mod observe;
pub mod oidc;
pub mod rate;
mod render;
mod routes;
mod secrets;
mod state;
pub mod throttle;
pub mod web;

use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use client::TrustedProxies;
pub use routes::document;
pub use state::{AppState, HttpConfig};
pub use throttle::SignInLimits;

/// The service's routes.
pub fn router(state: AppState) -> Router {
    let (api, _) = routes::api(&state.config).split_for_parts();
    api.fallback(routes::no_route)
        .layer(axum::middleware::from_fn(error::log_failures))
        .layer(CatchPanicLayer::custom(routes::panic_response))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(observe::track))
        .with_state(state)
}

/// Serves the router on a bound listener until ctrl-c or SIGTERM. Then it
/// stops accepting connections and finishes the requests in flight (an
/// upload that has started is committed and answered) before it returns.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let store = state.store.clone();
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    // The reads of the last moments reach the access log before the end.
    if let Err(e) = store.flush_access_log().await {
        tracing::error!(error = %e, "the access log's last entries could not be written");
    }
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
