//! The handlers, one per endpoint of the API contract, grouped by the
//! OpenAPI tags in submodules; this module has the service endpoints and
//! the helpers they share.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use vergleichsring_catalog::{BUILTIN_CHECKS, GROUP_DIMENSIONS};
use vergleichsring_engine::export::{self, TableFormat};
use vergleichsring_engine::{StatsRequest, SubmitRequest};
use vergleichsring_store::{Member, Role};

use crate::AppState;
use crate::auth::Caller;
use crate::cache;
use crate::error::ApiError;
use crate::negotiate::answer_format;

mod access;
mod groups;
mod members;
mod publications;
mod releases;
mod reports;
mod statistics;
mod submissions;

pub use access::*;
pub use groups::*;
pub use members::*;
pub use publications::*;
pub use releases::*;
pub use reports::*;
pub use statistics::*;
pub use submissions::*;

type Params = Query<HashMap<String, String>>;

/// `GET /health`.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    summary = "Liveness",
    description = "Answers as long as the process serves HTTP; it does not read the lake (that is `/ready`). No token.",
    responses(
        (status = 200, description = "The process is alive.", body = crate::openapi::Health, example = json!({"status": "ok"})),
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

/// Unknown paths answer JSON like every other error.
pub async fn no_route() -> ApiError {
    ApiError::not_found("no such endpoint; the API lives under /api/v1")
}

/// A panicking handler answers 500 without details; the panic is logged.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    tracing::error!(panic = %detail, "handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the server failed to answer this request; the operator can find details in the log",
    )
    .into_response()
}

/// `GET /api/v1/catalog` (no token).
#[utoipa::path(
    get,
    path = "/api/v1/catalog",
    tag = "catalog",
    summary = "The catalogue",
    description = "The domains with their basic figures (what members upload), key figures (what is compared; `direction` is `higher`, `lower` or `neutral`) and plausibility rules, the built-in group dimensions, the KGSt size classes and the checks every upload passes. No token.",
    responses(
        (status = 200, description = "The catalogue.", body = crate::openapi::CatalogBody),
    )
)]
pub async fn catalog(State(state): State<AppState>) -> Json<Value> {
    let c = state.engine.catalog();
    Json(json!({
        "domains": c.domains,
        "group_dimensions": GROUP_DIMENSIONS,
        "size_classes": c.size_classes,
        "checks": BUILTIN_CHECKS,
    }))
}

fn parse_year(s: &str) -> Result<i32, ApiError> {
    s.parse::<i32>()
        .map_err(|_| ApiError::bad_request(format!("year '{s}' is not a number")))
}

/// The `as_of` query parameter, resolved (a release id or a data version).
async fn as_of(
    state: &AppState,
    params: &HashMap<String, String>,
    domain: Option<&str>,
) -> Result<Option<vergleichsring_engine::AsOf>, ApiError> {
    match params.get("as_of").filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Ok(Some(state.engine.resolve_as_of(v, domain).await?)),
    }
}

fn require_param<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("the query parameter '{name}' is required")))
}

/// A value as JSON bytes.
fn json_bytes(value: &impl serde::Serialize) -> Result<bytes::Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(bytes::Bytes::from)
        .map_err(|e| ApiError::from(vergleichsring_engine::EngineError::Internal(e.to_string())))
}

fn opt_year(params: &HashMap<String, String>, name: &str) -> Result<Option<i32>, ApiError> {
    params
        .get(name)
        .map(|s| {
            s.parse::<i32>()
                .map_err(|_| ApiError::bad_request(format!("{name} '{s}' is not a year")))
        })
        .transpose()
}

/// The `ETag` of a statistics answer over built-in dimensions: the
/// domain's data version, the member list's generation, the caller's role
/// and the request's parts (or, `as_of` a past state, that state instead
/// of the version). Custom groups get none, because their release also
/// depends on the release log (rule 6).
async fn statistics_tag(
    state: &AppState,
    caller: &Caller,
    domain: &str,
    group_by: &str,
    as_of: Option<&vergleichsring_engine::AsOf>,
    parts: &[&str],
) -> Result<Option<String>, ApiError> {
    if vergleichsring_engine::compare::Dimension::parse(group_by).is_none() {
        return Ok(None);
    }
    // An answer as of a past state does not change with later uploads, so
    // its tag names that state instead of the current version.
    let version = match as_of {
        Some(a) => format!("asof-{}", a.label),
        None => state.engine.data_version(domain).await?,
    };
    let generation = member_generation(state, as_of);
    // A publication is no commit: answers from publications also name the
    // state of the domain's ledgers.
    let published = state.engine.publication_tag(domain);
    let mut all = vec![
        domain,
        group_by,
        caller.role.as_str(),
        generation.as_str(),
        published.as_str(),
    ];
    all.extend_from_slice(parts);
    Ok(Some(cache::etag(&version, &all)))
}

/// The member list's part of a tag: a release brings its own list, so
/// answers as of it do not change when members change later.
fn member_generation(state: &AppState, as_of: Option<&vergleichsring_engine::AsOf>) -> String {
    match as_of.and_then(|a| a.release()) {
        Some(_) => "release".to_string(),
        None => state.store.members_generation().to_string(),
    }
}

fn own_member_or_admin(caller: &Caller, member_id: &str, what: &str) -> Result<(), ApiError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Member if caller.member_id.as_deref() == Some(member_id) => Ok(()),
        _ => Err(ApiError::forbidden(format!(
            "only member {member_id} itself or admin may {what}"
        ))),
    }
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body must be JSON {shape}: {e}")))
}

/// `html` when the `Accept` header names `text/html` (a browser), else `json`.
fn default_report_format(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept
        .split(',')
        .any(|p| p.split(';').next().unwrap_or("").trim() == "text/html")
    {
        "html"
    } else {
        "json"
    }
}

/// An HTML page with headers that keep it self-contained: no scripts, and
/// nothing loaded from elsewhere.
pub fn html_page(body: String) -> Response {
    let mut r = ([(CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    add_page_headers(r.headers_mut());
    r
}

/// The security headers of every HTML page.
fn add_page_headers(headers: &mut HeaderMap) {
    use axum::http::HeaderValue;
    use axum::http::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // `same-origin` rather than `no-referrer`: with no referrer at all,
    // browsers send `Origin: null` on form posts, and the web page checks
    // the origin.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}
