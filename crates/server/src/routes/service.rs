//! The service itself: liveness, readiness, metrics, this document and the
//! front door (tag `service`).

use std::sync::OnceLock;

use super::*;
use crate::observe::prometheus;

/// `GET /health`.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    summary = "Liveness",
    description = "Answers as long as the process serves HTTP; it does not read the lake (that is `/ready`). No token.",
    responses(
        (status = 200, description = "The process is alive.", body = crate::contract::Health, example = json!({"status": "ok"})),
    )
)]
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /`: the member web page lives at `/web`.
#[utoipa::path(
    get,
    path = "/",
    tag = "web",
    summary = "Redirect to the member web page",
    description = "The service's front door: a browser is sent on to the member web page at `/web`.",
    responses(
        (status = 303, description = "See Other: the web page.", headers(("location" = String, description = "`/web`"))),
    )
)]
pub async fn root() -> axum::response::Redirect {
    axum::response::Redirect::to("/web")
}

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    summary = "This OpenAPI document",
    description = "The OpenAPI 3.1 document of every endpoint, generated from the code. No token.",
    responses(
        (status = 200, description = "The document.", body = Object, content_type = "application/json"),
    )
)]
pub async fn openapi() -> Response {
    static DOC: OnceLock<Option<bytes::Bytes>> = OnceLock::new();
    match DOC.get_or_init(|| serde_json::to_vec(&document()).ok().map(bytes::Bytes::from)) {
        Some(body) => ([(CONTENT_TYPE, "application/json")], body.clone()).into_response(),
        None => ApiError::from(vergleichsring_engine::EngineError::Internal(
            "the OpenAPI document does not serialise".into(),
        ))
        .into_response(),
    }
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    summary = "Prometheus metrics",
    description = "Requests by route template, method and status with their latency, uploads by outcome, suppressed groups by reason, response cache results, snapshot refreshes and each domain's lake version, in the Prometheus text format. No token.",
    responses(
        (status = 200, description = "The metrics.", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 503, description = "No metrics recorder in this process.", body = String, content_type = "text/plain"),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let Some(handle) = prometheus() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not available in this process\n",
        )
            .into_response();
    };
    for d in &state.engine.catalog().domains {
        if let Ok(v) = state.engine.data_version(&d.id).await
            && let Ok(v) = v.parse::<f64>()
        {
            metrics::gauge!("vergleichsring_lake_version", "domain" => d.id.clone()).set(v);
        }
    }
    let counters = state.engine.refresh_counters();
    for (kind, n) in [
        ("full", &counters.full_loads),
        ("incremental", &counters.incremental),
    ] {
        metrics::counter!("vergleichsring_snapshot_refreshes_total", "kind" => kind)
            .absolute(n.load(std::sync::atomic::Ordering::Relaxed));
    }
    let cache = state.engine.cache_stats();
    metrics::gauge!("vergleichsring_cache_bytes", "what" => "held").set(cache.bytes as f64);
    metrics::gauge!("vergleichsring_cache_bytes", "what" => "peak").set(cache.peak as f64);
    metrics::gauge!("vergleichsring_cache_bytes", "what" => "budget").set(cache.limit as f64);
    metrics::counter!("vergleichsring_cache_evictions_total").absolute(cache.evictions);
    metrics::counter!("vergleichsring_cache_loads_total").absolute(cache.misses);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response()
}

/// `GET /ready`: 200 when every domain's table can be read from the lake,
/// else 503 naming the domain that cannot.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "service",
    summary = "Readiness",
    description = "200 when every domain's Delta table can be read from the lake, else 503 naming the table that cannot. No token.",
    responses(
        (status = 200, description = "Ready; with each domain's table version.", body = crate::contract::Readiness, example = json!({"status": "ready", "lake": {"library": 3}})),
        (status = 503, description = "Not ready: `lake_unreadable`.", body = crate::contract::Readiness),
    )
)]
pub async fn ready(State(state): State<AppState>) -> Response {
    match state.store.check_lake().await {
        Ok(versions) => {
            axum::Json(serde_json::json!({"status": "ready", "lake": versions})).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "not_ready", "error": "lake_unreadable", "message": e.to_string()})),
            )
                .into_response()
        }
    }
}
