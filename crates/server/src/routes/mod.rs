//! The handlers, one per endpoint of the API contract, grouped by the
//! OpenAPI tags in submodules, and [`api`]: the router and the OpenAPI
//! document, both built from each handler's `#[utoipa::path]` annotation.
//! This module also has the helpers the handlers share.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vergleichsring_catalog::{BUILTIN_CHECKS, GROUP_DIMENSIONS};
use vergleichsring_engine::export::{self, TableFormat};
use vergleichsring_engine::{StatsAnswer, StatsQuery, SubmitRequest};
use vergleichsring_store::{Member, Role};

use crate::auth::Caller;
use crate::cache;
use crate::contract;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::html::add_page_headers;
use crate::negotiate::answer_format;
use crate::state::{AppState, HttpConfig};
use crate::web;

mod access;
mod catalog;
mod collections;
mod groups;
mod members;
mod neighbours;
mod publications;
mod releases;
mod reports;
mod service;
mod statistics;
mod submissions;
#[cfg(test)]
mod tests;
mod users;

use access::*;
use catalog::*;
use collections::*;
use groups::*;
use members::*;
use neighbours::*;
use publications::*;
use releases::*;
use reports::*;
use service::*;
use statistics::*;
use submissions::*;
use users::*;

/// Every endpoint: the router and, from the same annotations, the OpenAPI
/// paths. One `routes!` per path (it joins the methods of one path).
pub fn api(config: &HttpConfig) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(contract::ApiDoc::openapi())
        .routes(routes!(root))
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics))
        .routes(routes!(openapi))
        .routes(routes!(catalog))
        .routes(routes!(list_members, register_members))
        .routes(routes!(change_member, remove_member))
        .routes(routes!(submit, list_submissions))
        .routes(routes!(explain))
        .routes(routes!(warnings))
        .routes(routes!(archived_upload))
        .routes(routes!(figures))
        .routes(routes!(comparison))
        .routes(routes!(timeseries))
        .routes(routes!(neighbours))
        .routes(routes!(query))
        .routes(routes!(grant))
        .routes(routes!(revoke_grant))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(invite_user, list_users))
        .routes(routes!(disable_user))
        .routes(routes!(reset_second_factor))
        .routes(routes!(access_log))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(report))
        .routes(routes!(list_releases))
        .routes(routes!(freeze_release))
        .routes(routes!(reopen_release))
        .routes(routes!(list_publications))
        .routes(routes!(publish))
        .routes(routes!(collection, open_collection))
        .routes(routes!(approve))
        .routes(routes!(review))
        .routes(routes!(remind))
        .merge(web::router(config.max_body_bytes))
}

/// The OpenAPI document of [`api`], with what every operation shares.
pub fn document() -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    let (_, mut doc) = api(&HttpConfig::default()).split_for_parts();
    contract::CommonAnswers.modify(&mut doc);
    doc
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

/// A value as JSON bytes.
fn json_bytes(value: &impl serde::Serialize) -> Result<bytes::Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(bytes::Bytes::from)
        .map_err(|e| ApiError::from(vergleichsring_engine::EngineError::Internal(e.to_string())))
}

/// The `ETag` of a statistics answer: the state the engine says the answer
/// depends on (`None` for answers it cannot tag), the request, the
/// caller's role and the handler's own parts (kind, year, format).
fn statistics_tag(
    caller: &Caller,
    query: &StatsQuery<'_>,
    answer: &StatsAnswer<'_, '_>,
    parts: &[&str],
) -> Option<String> {
    let depends_on = answer.state()?;
    let mut all = vec![
        query.domain,
        query.figure,
        query.group_by,
        caller.role.as_str(),
        query.member.unwrap_or(""),
        query.of.unwrap_or(""),
        answer.as_of().map_or("", |a| a.label.as_str()),
    ];
    all.extend_from_slice(parts);
    Some(cache::etag(depends_on, &all))
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

/// The role a body names (`role`), or a 400 naming the field.
fn role_of(name: &str) -> Result<Role, ApiError> {
    Role::parse(name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "role: {name:?} is not one of admin, analyst, consultant, member"
        ))
    })
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body must be JSON {shape}: {e}")))
}
