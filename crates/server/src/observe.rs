//! Observability: a request id on every request and response, and the
//! Prometheus recorder whose metrics `GET /metrics` serves
//! (`routes/service.rs`).
//!
//! Metrics go through the `metrics` facade, so the engine counts uploads and
//! suppressed groups where they happen without knowing about HTTP; the
//! Prometheus recorder is installed once per process.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The header that carries the request id, in and out.
pub const REQUEST_ID: &str = "x-request-id";

/// Latency buckets in seconds: answers from memory take well under a
/// millisecond, uploads up to seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder (once per process) and returns its handle.
/// `None` when another recorder was installed first; metrics are then not
/// served, but nothing else changes.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("vergleichsring_http_request_duration_seconds".into()),
                    &BUCKETS,
                )
                .map_err(|e| tracing::warn!(error = %e, "metrics buckets"))
                .ok()?;
            let handle = builder
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "no metrics recorder"))
                .ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "vergleichsring_http_requests_total",
        "HTTP requests by route template, method and status"
    );
    describe_histogram!(
        "vergleichsring_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route template and method"
    );
    describe_counter!(
        "vergleichsring_uploads_total",
        "Uploads by domain and outcome (accepted, rejected, refused); rejected uploads count once per rule they break"
    );
    describe_counter!(
        "vergleichsring_suppressed_groups_total",
        "Groups suppressed by disclosure control in computed comparisons, time series and reports, by reason"
    );
    describe_counter!(
        "vergleichsring_response_cache_total",
        "Statistics answers by cache result: hit, miss, not_modified (304)"
    );
    describe_gauge!(
        "vergleichsring_lake_version",
        "Data version of each domain's Delta table as this process sees it"
    );
    describe_counter!(
        "vergleichsring_snapshot_refreshes_total",
        "Year-index refreshes by kind: full (index read from the table) or incremental (one commit applied)"
    );
    describe_gauge!(
        "vergleichsring_cache_bytes",
        "The engine's memory cache (years, ledger entries, publication masks): bytes held, the peak since start, and the budget (limits.cache_mib)"
    );
    describe_counter!(
        "vergleichsring_cache_evictions_total",
        "Values dropped from the engine's memory cache to stay within its budget"
    );
    describe_counter!(
        "vergleichsring_cache_loads_total",
        "Values read into the engine's memory cache because they were not held (years from the lake, ledger entries)"
    );
}

/// Middleware: takes the caller's `x-request-id` (if it is short and
/// printable) or makes one, records it in the request's log span, sends it
/// back, and counts the request by route template and status.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(new_id);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().as_str().to_string();
    let span = tracing::info_span!("request", request_id = %id, %method, route = %route);
    let mut response = {
        use tracing::Instrument;
        next.run(request).instrument(span).await
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    let status = response.status().as_u16().to_string();
    metrics::counter!("vergleichsring_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status).increment(1);
    metrics::histogram!("vergleichsring_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A random request id: 16 hex digits.
fn new_id() -> String {
    vergleichsring_store::random_hex(8)
}
