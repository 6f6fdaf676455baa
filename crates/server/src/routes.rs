//! The handlers, one per endpoint of the API contract.

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

/// `GET /api/v1/members`: admin and analysts see all members, a member
/// itself, a consultant the members that granted it access.
#[utoipa::path(
    get,
    path = "/api/v1/members",
    tag = "members",
    summary = "List members",
    description = "Admin and analysts see every member, a member token only its own member, a consultant the members that granted it access.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The members the caller may see.", body = Vec<vergleichsring_store::Member>),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Member>>, ApiError> {
    let all = state.engine.store().members();
    Ok(Json(match caller.role {
        Role::Admin | Role::Analyst => all,
        Role::Member => all
            .into_iter()
            .filter(|m| Some(&m.member_id) == caller.member_id.as_ref())
            .collect(),
        Role::Consultant => all
            .into_iter()
            .filter(|m| caller.grants.contains(&m.member_id))
            .collect(),
    }))
}

/// `POST /api/v1/members` (admin): register or update members.
#[utoipa::path(
    post,
    path = "/api/v1/members",
    tag = "members",
    summary = "Register or update members",
    description = "Admin only. Registers the members of the array; re-registering an id updates its name and kind. All or none: every entry is checked before anything is stored.",
    request_body(content = Vec<vergleichsring_store::Member>, description = "A JSON array of members; `kind` is `kreisfreie_stadt`, `kreisangehoerige_gemeinde` or `landkreis`."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The registered members.", body = Vec<vergleichsring_store::Member>),
        (status = 400, description = "The body is not a JSON array of members.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::openapi::ErrorBody),
        (status = 422, description = "`invalid_member`: a regional key does not fit its kind, or a name is empty; nothing was stored.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn register_members(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Vec<Member>>), ApiError> {
    caller.require(&[Role::Admin], "register members")?;
    let members: Vec<Member> = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be a JSON array of {{\"member_id\", \"name\", \"kind\"}} with kind one of kreisfreie_stadt, kreisangehoerige_gemeinde, landkreis: {e}"
        ))
    })?;
    let saved = state
        .engine
        .store()
        .upsert_members(members)
        .await
        .map_err(|e| match e {
            vergleichsring_store::StoreError::Invalid(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_member", m)
            }
            other => ApiError::from(vergleichsring_engine::EngineError::from(other)),
        })?;
    Ok((StatusCode::CREATED, Json(saved)))
}

fn parse_year(s: &str) -> Result<i32, ApiError> {
    s.parse::<i32>()
        .map_err(|_| ApiError::bad_request(format!("year '{s}' is not a number")))
}

/// `POST /api/v1/submissions/{domain}/{year}`: upload basic figures.
#[utoipa::path(
    post,
    path = "/api/v1/submissions/{domain}/{year}",
    tag = "submissions",
    summary = "Upload basic figures",
    description = "The body is a file of basic figures: one row per member, one column per basic figure id, and a `member_id` column (optional for a member token, which submits for its own member; required for admin bulk uploads). The format is chosen by `Content-Type`. A submission replaces the member's current figures for the (domain, year); earlier versions are kept. Plausibility warnings do not stop an upload: they are stored with it and answered. Admin and member tokens.",
    params(crate::openapi::DomainYearPath),
    request_body(
        description = "The file: Parquet (any common writer), CSV (comma or semicolon separated, decimal point or comma) or XLSX (first sheet, first row = ids).",
        content(
            ("application/vnd.apache.parquet"),
            (String = "text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored; with the warnings of the plausibility rules.", body = vergleichsring_engine::SubmitOutcome),
        (status = 400, description = "The year is not a number.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "The token may not upload (analyst, consultant).", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = crate::openapi::ErrorBody),
        (status = 409, description = "`release_frozen`: the (domain, year) is frozen.", body = crate::openapi::ErrorBody),
        (status = 413, description = "`body_too_large`: the upload is larger than the limit.", body = crate::openapi::ErrorBody),
        (status = 415, description = "`unsupported_format`: the `Content-Type` is none of the three formats.", body = crate::openapi::ErrorBody),
        (status = 422, description = "`validation_failed`: the file breaks checks or rules, listed in `errors` with row, member, column and rule; nothing was stored.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, year)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin, Role::Member], "upload figures")?;
    let year = parse_year(&year)?;
    state.engine.domain(&domain)?;
    let limit = state.config.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the upload is larger than the limit of {limit} bytes"),
        )
    };
    // A declared length over the limit is refused before reading anything.
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|l| l > limit as u64) {
        return Err(too_large());
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    let outcome = state
        .engine
        .submit(SubmitRequest {
            domain,
            year,
            content_type,
            body: bytes,
            token_id: caller.token_id.clone(),
            own_member: if caller.role == Role::Member {
                caller.member_id.clone()
            } else {
                None
            },
        })
        .await?;
    let value = serde_json::to_value(outcome)
        .map_err(|e| ApiError::from(vergleichsring_engine::EngineError::Internal(e.to_string())))?;
    Ok((StatusCode::CREATED, Json(value)))
}

/// `GET /api/v1/submissions/{domain}/{year}`: newest first; a member sees its own.
#[utoipa::path(
    get,
    path = "/api/v1/submissions/{domain}/{year}",
    tag = "submissions",
    summary = "List submissions",
    description = "The submissions of a (domain, year), newest first, with the members whose current figures each holds. Admin sees all, a member token its own.",
    params(crate::openapi::DomainYearPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The submissions, newest first.", body = Vec<vergleichsring_engine::SubmissionInfo>),
        (status = 400, description = "The year is not a number.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "The token may not list submissions (analyst, consultant).", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown domain.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn list_submissions(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, year)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin, Role::Member], "list submissions")?;
    let year = parse_year(&year)?;
    let scope = caller.member_scope(None, "list the submissions")?;
    let list = state
        .engine
        .submissions(&domain, year, scope.as_deref())
        .await?;
    Ok(Json(json!(list)))
}

/// `GET /api/v1/figures/{domain}/{year}?member_id=ID[&submission_id=S]`.
#[utoipa::path(
    get,
    path = "/api/v1/figures/{domain}/{year}",
    tag = "statistics",
    summary = "A member's figures",
    description = "The member's current basic figures (or those of an earlier submission) and its key figures. A member token reads only its own; admin names any member.",
    params(crate::openapi::DomainYearPath, crate::openapi::FiguresQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The figures.", body = vergleichsring_engine::Figures),
        (status = 400, description = "The year is not a number, or admin named no member.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "Another member's figures, or a role that may not read figures.", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown domain, or no figures of the member for that year or submission.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn figures(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, year)): Path<(String, String)>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin, Role::Member], "read a member's figures")?;
    let year = parse_year(&year)?;
    let member = caller
        .member_scope(
            params.get("member_id").map(String::as_str),
            "read the figures",
        )?
        .ok_or_else(|| ApiError::bad_request("name the member with ?member_id=ID"))?;
    let f = state
        .engine
        .figures(
            &domain,
            year,
            &member,
            params.get("submission_id").map(String::as_str),
        )
        .await?;
    caller.log_access(&state, "figures", &member, Some(&domain), Some(year));
    Ok(Json(json!(f)))
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

/// `GET /api/v1/comparisons/{domain}/{year}?figure=F&group_by=D[&member_id=ID]`.
#[utoipa::path(
    get,
    path = "/api/v1/comparisons/{domain}/{year}",
    tag = "statistics",
    summary = "Peer comparison of a key figure",
    description = "The released statistics of one key figure in one (domain, year) for each group of a dimension, after disclosure control; for everyone but admin from the latest publication (named in `publication`), for admin from the live data: a withheld statistic is `null`; a suppressed group has `suppressed: true`, a `reason` and `stats: null`. `own` appears only in the group that holds the requested member. With `Accept: text/csv`, `application/vnd.apache.arrow.stream` or `application/vnd.apache.parquet` the same rows come in that format. Every role; a member sees comparisons only for years it has submitted itself (give to get).",
    params(crate::openapi::DomainYearPath, crate::openapi::ComparisonQuery, crate::openapi::ConditionalHeaders),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The comparison, in the format `Accept` asks for.", headers(("etag" = String, description = "Tag of this answer; send it as `If-None-Match` to get 304 while the data is unchanged.")),
            content(
                (vergleichsring_engine::compare::Comparison = "application/json"),
                (String = "text/csv"),
                ("application/vnd.apache.arrow.stream"),
                ("application/vnd.apache.parquet"),
            )
        ),
        (status = 304, description = "Not modified: the `If-None-Match` tag is current."),
        (status = 400, description = "A malformed parameter: year, missing `figure`, unknown `group_by`, or an `as_of` that is neither a release id nor a data version.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "`forbidden`: the role may not read this member's position, or a non-admin asked `as_of` a data version; `give_to_get`: the member has not submitted figures for the year itself.", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown domain, key figure or year.", body = crate::openapi::ErrorBody),
        (status = 409, description = "`not_published`: the (domain, year) has no publication yet (everyone but admin reads publications only).", body = crate::openapi::ErrorBody),
        (status = 422, description = "`disclosure_refused`: releasing the custom group's statistics would reveal members (`reason` names the rule).", body = crate::openapi::ErrorBody),
    )
)]
pub async fn comparison(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, year)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(
        &[Role::Admin, Role::Analyst, Role::Member, Role::Consultant],
        "read comparisons",
    )?;
    let year = parse_year(&year)?;
    let figure = require_param(&params, "figure")?;
    let group_by = params.get("group_by").map_or("all", String::as_str);
    let member = caller.member_scope(
        params.get("member_id").map(String::as_str),
        "read the position",
    )?;
    let as_of = as_of(&state, &params, Some(&domain)).await?;
    let req = StatsRequest {
        domain: &domain,
        figure,
        group_by,
        audience: caller.audience(),
        member: member.as_deref(),
        as_of: as_of.as_ref(),
    };
    let format = answer_format(&headers);
    let tag = statistics_tag(
        &state,
        &caller,
        &domain,
        group_by,
        as_of.as_ref(),
        &[
            "comparison",
            &year.to_string(),
            figure,
            member.as_deref().unwrap_or(""),
            format.content_type(),
            as_of.as_ref().map_or("", |a| a.label.as_str()),
        ],
    )
    .await?;
    let response = cache::conditional(&state.responses, &headers, tag, || async {
        let c = state.engine.comparison(&req, year).await?;
        Ok::<_, ApiError>(match format {
            TableFormat::Json => ("application/json", json_bytes(&c)?),
            format => {
                let batch = export::comparisons_batch(std::slice::from_ref(&c), true)?;
                (
                    format.content_type(),
                    export::encode(&batch.schema(), &[batch], format)?,
                )
            }
        })
    })
    .await?;
    if let Some(m) = &member {
        caller.log_access(&state, "comparison", m, Some(&domain), Some(year));
    }
    Ok(response)
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

/// `GET /api/v1/timeseries/{domain}/{figure}?group_by=D[&member_id=ID][&from=Y][&to=Y]`.
#[utoipa::path(
    get,
    path = "/api/v1/timeseries/{domain}/{figure}",
    tag = "statistics",
    summary = "Time series of a key figure",
    description = "Per year the member's own value and its group's released statistics (or, without a member, each group's), after disclosure control; for everyone but admin each year's latest publication (each point names it), years without one left out. Every role; years the member has not submitted for are withheld with `reason: give_to_get`.",
    params(crate::openapi::DomainFigurePath, crate::openapi::TimeseriesQuery, crate::openapi::ConditionalHeaders),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The time series.", body = vergleichsring_engine::compare::Timeseries, headers(("etag" = String, description = "Tag of this answer; send it as `If-None-Match` to get 304 while the data is unchanged."))),
        (status = 304, description = "Not modified: the `If-None-Match` tag is current."),
        (status = 400, description = "A malformed parameter: `from`/`to` not a year, unknown `group_by`, or an `as_of` that is neither a release id nor a data version.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "The role may not read this member's values, or a non-admin asked `as_of` a data version.", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown domain or key figure.", body = crate::openapi::ErrorBody),
        (status = 422, description = "`disclosure_refused`: releasing the custom group's statistics would reveal members.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn timeseries(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, figure)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(
        &[Role::Admin, Role::Analyst, Role::Member, Role::Consultant],
        "read time series",
    )?;
    let group_by = params.get("group_by").map_or("all", String::as_str);
    let member = caller.member_scope(
        params.get("member_id").map(String::as_str),
        "read the time series",
    )?;
    let as_of = as_of(&state, &params, Some(&domain)).await?;
    let req = StatsRequest {
        domain: &domain,
        figure: &figure,
        group_by,
        audience: caller.audience(),
        member: member.as_deref(),
        as_of: as_of.as_ref(),
    };
    let (from, to) = (opt_year(&params, "from")?, opt_year(&params, "to")?);
    let tag = statistics_tag(
        &state,
        &caller,
        &domain,
        group_by,
        as_of.as_ref(),
        &[
            "timeseries",
            &figure,
            member.as_deref().unwrap_or(""),
            &format!("{from:?}-{to:?}"),
            as_of.as_ref().map_or("", |a| a.label.as_str()),
        ],
    )
    .await?;
    let response = cache::conditional(&state.responses, &headers, tag, || async {
        let ts = state.engine.timeseries(&req, from, to).await?;
        Ok::<_, ApiError>(("application/json", json_bytes(&ts)?))
    })
    .await?;
    if let Some(m) = &member {
        caller.log_access(&state, "timeseries", m, Some(&domain), None);
    }
    Ok(response)
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
        None => state.engine.store().members_generation().to_string(),
    }
}

/// Body of `POST /api/v1/members/{member_id}/grants`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct GrantBody {
    consultant_id: String,
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

/// `POST /api/v1/members/{member_id}/grants`: a member (for itself) or admin
/// grants a consultant access to the member's reports.
#[utoipa::path(
    post,
    path = "/api/v1/members/{member_id}/grants",
    tag = "access",
    summary = "Grant a consultant access",
    description = "A member (for itself) or admin lets a consultant read the member's comparisons, time series and reports.",
    params(crate::openapi::MemberPath),
    request_body(content = GrantBody, description = "The consultant."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Granted.", body = crate::openapi::Grant),
        (status = 400, description = "The body is not `{\"consultant_id\": ID}`.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "Neither the member itself nor admin.", body = crate::openapi::ErrorBody),
        (status = 404, description = "The member is not registered.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(member_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    own_member_or_admin(&caller, &member_id, "grant access to its reports")?;
    let b: GrantBody = json_body(&body, "{\"consultant_id\": ID}")?;
    if state.engine.store().member(&member_id).is_none() {
        return Err(ApiError::not_found(format!(
            "member {member_id} is not registered"
        )));
    }
    state
        .engine
        .store()
        .grant(&member_id, &b.consultant_id)
        .await
        .map_err(vergleichsring_engine::EngineError::from)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"member_id": member_id, "consultant_id": b.consultant_id})),
    ))
}

/// `DELETE /api/v1/members/{member_id}/grants/{consultant_id}`.
#[utoipa::path(
    delete,
    path = "/api/v1/members/{member_id}/grants/{consultant_id}",
    tag = "access",
    summary = "Revoke a consultant's access",
    description = "A member (for itself) or admin revokes a grant; it takes effect at once, also for the consultant's tokens in use.",
    params(crate::openapi::GrantPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "Neither the member itself nor admin.", body = crate::openapi::ErrorBody),
        (status = 404, description = "The consultant has no grant from the member.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path((member_id, consultant_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    own_member_or_admin(&caller, &member_id, "revoke access to its reports")?;
    let removed = state
        .engine
        .store()
        .revoke_grant(&member_id, &consultant_id)
        .await
        .map_err(vergleichsring_engine::EngineError::from)?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "consultant {consultant_id} has no grant from member {member_id}"
        )))
    }
}

/// `POST /api/v1/groups` (analyst, admin): define a custom peer group.
#[utoipa::path(
    post,
    path = "/api/v1/groups",
    tag = "groups",
    summary = "Define a custom peer group",
    description = "Analysts and admin. The group's id is then usable as `group_by` wherever a dimension is; its statistics for a (domain, year) are released only if disclosure control allows it.",
    request_body(content = vergleichsring_store::CustomGroup, description = "The group."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Defined.", body = vergleichsring_store::CustomGroup),
        (status = 400, description = "The body is not a group.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "Neither analyst nor admin.", body = crate::openapi::ErrorBody),
        (status = 409, description = "`conflict`: a group or dimension with that id exists.", body = crate::openapi::ErrorBody),
        (status = 422, description = "`group_refused`: a rule refuses the group (`reason`), e.g. too few members or an unknown member.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin, Role::Analyst], "define peer groups")?;
    let group: vergleichsring_store::CustomGroup =
        json_body(&body, "{\"id\", \"name\", \"member_ids\": [...]}")?;
    let saved = state.engine.create_group(group).await?;
    Ok((StatusCode::CREATED, Json(json!(saved))))
}

/// `GET /api/v1/groups`: analysts and admin see the members of each group;
/// members and consultants only ids and names, because in the default
/// visibility mode members do not learn who else is in the ring.
#[utoipa::path(
    get,
    path = "/api/v1/groups",
    tag = "groups",
    summary = "List custom peer groups",
    description = "Analysts and admin see the members of each group; members and consultants only ids and names, because members do not learn who else is in the ring.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The groups.", body = crate::openapi::GroupListing),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn list_groups(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    let groups = state.engine.store().groups();
    Json(match caller.role {
        Role::Admin | Role::Analyst => json!(groups),
        _ => json!(
            groups
                .iter()
                .map(|g| json!({"id": g.id, "name": g.name}))
                .collect::<Vec<_>>()
        ),
    })
}

/// `DELETE /api/v1/tokens/{token_id}` (admin): revoke a token.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{token_id}",
    tag = "access",
    summary = "Revoke a token",
    description = "Admin only. The token is refused from the next request on, and the web sessions signed in with it end.",
    params(crate::openapi::TokenPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::openapi::ErrorBody),
        (status = 404, description = "No token with that id.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(token_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Admin], "revoke tokens")?;
    let found = state
        .engine
        .store()
        .revoke_token(&token_id)
        .await
        .map_err(vergleichsring_engine::EngineError::from)?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no token with id {token_id}")))
    }
}

/// Body of `POST /api/v1/query`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct QueryBody {
    sql: String,
}

/// `POST /api/v1/query` (analyst, admin): SQL over released statistics.
#[utoipa::path(
    post,
    path = "/api/v1/query",
    tag = "statistics",
    summary = "SQL over the released statistics",
    description = "Analysts and admin. Runs one query against the single table `comparisons` (columns `domain`, `year`, `figure`, `group_by`, `group`, `n`, `suppressed`, `mean`, `median`, `p25`, `p75`, `p10`, `p90`, `std_dev`, `weighted`), which holds only released statistics. Results as JSON or, by `Accept`, as CSV, Arrow IPC or Parquet.",
    request_body(content = QueryBody, description = "The query."),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The result, in the format `Accept` asks for.",
            content(
                (crate::openapi::QueryResult = "application/json"),
                (String = "text/csv"),
                ("application/vnd.apache.arrow.stream"),
                ("application/vnd.apache.parquet"),
            )
        ),
        (status = 400, description = "Not a single query statement, or the query does not plan (e.g. another table).", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "Neither analyst nor admin.", body = crate::openapi::ErrorBody),
        (status = 503, description = "`resources_exhausted`: the query needs more memory than the server allows; try a smaller one.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn query(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin, Role::Analyst], "run SQL queries")?;
    let b: QueryBody = json_body(&body, "{\"sql\": \"SELECT ...\"}")?;
    let format = answer_format(&headers);
    let bytes = state.engine.query(&b.sql, format).await?;
    Ok(([(CONTENT_TYPE, format.content_type())], bytes).into_response())
}

/// `GET /api/v1/access-log` (admin): who read which member's data.
#[utoipa::path(
    get,
    path = "/api/v1/access-log",
    tag = "access",
    summary = "The access log",
    description = "Admin only. Who read which member's figures, comparisons, time series and reports, oldest first.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The log.", body = Vec<vergleichsring_store::AccessEntry>),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn access_log(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin], "read the access log")?;
    let log = state
        .engine
        .store()
        .access_log()
        .map_err(vergleichsring_engine::EngineError::from)?;
    Ok(Json(json!(log)))
}

/// `POST /api/v1/submissions/{submission_id}/explanations`: a member explains
/// warnings of its submission (admin may explain for any member). The body
/// is one `{"rule", "text"[, "member_id"]}` or an array of them.
#[utoipa::path(
    post,
    path = "/api/v1/submissions/{submission_id}/explanations",
    tag = "submissions",
    summary = "Explain warnings of a submission",
    description = "A member explains the plausibility warnings on its rows of a submission (admin may explain for any member, naming `member_id`). An explanation replaces an earlier one of the same warning.",
    params(crate::openapi::SubmissionPath),
    request_body(content = crate::openapi::ExplanationRequest, description = "One `{\"rule\", \"text\"[, \"member_id\"]}` or an array of them."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The stored explanations.", body = Vec<vergleichsring_store::Explanation>),
        (status = 400, description = "Malformed body, an empty text, or no such warning on the submission.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "The token may not explain warnings (analyst, consultant).", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such submission, or none of the member's rows in it.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn explain(
    State(state): State<AppState>,
    caller: Caller,
    Path(submission_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin, Role::Member], "explain warnings")?;
    let value: Value = json_body(&body, "{\"rule\", \"text\"} or an array of them")?;
    let items = match value {
        Value::Array(a) => a,
        other => vec![other],
    };
    let inputs: Vec<vergleichsring_engine::workflow::ExplanationInput> = items
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            ApiError::bad_request(format!("each explanation needs \"rule\" and \"text\": {e}"))
        })?;
    let scope = if caller.role == Role::Member {
        caller.member_id.clone()
    } else {
        None
    };
    let saved = state
        .engine
        .explain(&submission_id, scope.as_deref(), &caller.token_id, inputs)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(saved))))
}

/// `GET /api/v1/warnings?[domain=D][&year=Y][&status=open|all]`: warnings of
/// current figures with their explanations; admin sees every member, a
/// member its own.
#[utoipa::path(
    get,
    path = "/api/v1/warnings",
    tag = "submissions",
    summary = "Warnings of current figures",
    description = "The plausibility warnings of the current figures with their explanations: open (unexplained) ones by default, or all. Admin sees every member, a member token its own.",
    params(crate::openapi::WarningsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The warnings.", body = Vec<vergleichsring_engine::workflow::WarningStatus>),
        (status = 400, description = "`status` is neither `open` nor `all`, or `year` is not a year.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "Another member's warnings, or a role that may not list them.", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown domain.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn warnings(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin, Role::Member], "list warnings")?;
    let scope = caller.member_scope(
        params.get("member_id").map(String::as_str),
        "list the warnings",
    )?;
    let only_open = match params.get("status").map(String::as_str) {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "status '{other}' must be open or all"
            )));
        }
    };
    let list = state
        .engine
        .warnings(
            params.get("domain").map(String::as_str),
            opt_year(&params, "year")?,
            scope.as_deref(),
            only_open,
        )
        .await?;
    Ok(Json(json!(list)))
}

/// `GET /api/v1/uploads/{sha256}` (admin): the exact bytes of an accepted
/// upload, checked against their hash.
#[utoipa::path(
    get,
    path = "/api/v1/uploads/{sha256}",
    tag = "submissions",
    summary = "An archived upload",
    description = "Admin only. The exact bytes of an accepted upload, checked against their hash before they are sent.",
    params(crate::openapi::UploadPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The uploaded bytes.", content(("application/octet-stream"))),
        (status = 400, description = "The archived bytes no longer match their hash.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::openapi::ErrorBody),
        (status = 404, description = "No archived upload with that hash.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn archived_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin], "read archived uploads")?;
    let bytes = state
        .engine
        .store()
        .archived_upload(&hash)
        .map_err(vergleichsring_engine::EngineError::from)?
        .ok_or_else(|| ApiError::not_found(format!("no archived upload {hash}")))?;
    Ok(([(CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// `GET /api/v1/reports/{member_id}/{year}?format=json|csv|xlsx[&dialect=de]`:
/// the member's peer report; the member itself, a consultant it granted
/// access, or admin.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{member_id}/{year}",
    tag = "reports",
    summary = "A member's peer report",
    description = "Every domain the member submitted for the year, every key figure, its own value against its size class and against all members (after disclosure control; for everyone but admin from each domain's latest publication, named in `publications`), a five-year time series and the method. As a self-contained HTML page with charts, JSON, CSV or XLSX. The member itself, a consultant it granted access, or admin.",
    params(crate::openapi::MemberYearPath, crate::openapi::ReportQuery, crate::openapi::ConditionalHeaders),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report; CSV and XLSX come as a download (`Content-Disposition: attachment`).", headers(("etag" = String, description = "Tag of this answer; send it as `If-None-Match` to get 304 while the data is unchanged.")),
            content(
                (vergleichsring_engine::report::Report = "application/json"),
                (String = "text/html"),
                (String = "text/csv"),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )
        ),
        (status = 304, description = "Not modified: the `If-None-Match` tag is current."),
        (status = 400, description = "The year is not a number, `dialect` is neither `en` nor `de`, or `as_of` is neither a release id nor data versions.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "`forbidden`: neither the member, a consultant it granted access, nor admin, or a non-admin asked `as_of` data versions; `give_to_get`: the member has not submitted for the year.", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown member, or a year without figures.", body = crate::openapi::ErrorBody),
        (status = 409, description = "`not_published`: the member's figures for the year are in no publication yet.", body = crate::openapi::ErrorBody),
        (status = 406, description = "`unsupported_report_format`: `format` is none of html, json, csv, xlsx.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path((member_id, year)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(
        &[Role::Admin, Role::Member, Role::Consultant],
        "read peer reports",
    )?;
    let year = parse_year(&year)?;
    let member = caller
        .member_scope(Some(&member_id), "read the peer report")?
        .unwrap_or(member_id);
    // Without `format`, a browser (which asks for text/html) gets the page
    // and every other client JSON.
    let format = params
        .get("format")
        .map_or_else(|| default_report_format(&headers), String::as_str);
    let dialect = match params.get("dialect").map(String::as_str) {
        None | Some("en") => vergleichsring_report::Dialect::En,
        Some("de") => vergleichsring_report::Dialect::De,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "dialect '{other}' must be en or de"
            )));
        }
    };
    if !matches!(format, "html" | "json" | "csv" | "xlsx") {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "unsupported_report_format",
            format!("format '{format}' is not available; use html, json, csv or xlsx"),
        ));
    }
    let as_of = as_of(&state, &params, None).await?;
    // A report spans every domain: its tag holds all data versions (a
    // freeze or reopen, which changes the releases it lists, is a commit
    // and so moves a data version too).
    let generation = member_generation(&state, as_of.as_ref());
    let versions = match &as_of {
        Some(a) => format!("asof-{}", a.label),
        None => state.engine.data_versions().await,
    };
    let published: String = state
        .engine
        .catalog()
        .domains
        .iter()
        .map(|d| state.engine.publication_tag(&d.id))
        .collect::<Vec<_>>()
        .join(";");
    let tag = cache::etag(
        &versions,
        &[
            &published,
            "report",
            &member,
            &year.to_string(),
            caller.role.as_str(),
            format,
            &format!("{dialect:?}"),
            &generation,
            as_of.as_ref().map_or("", |a| a.label.as_str()),
        ],
    );
    let internal = |e: vergleichsring_report::ReportError| {
        ApiError::from(vergleichsring_engine::EngineError::Internal(e.to_string()))
    };
    let mut response = cache::conditional(&state.responses, &headers, Some(tag), || async {
        let report = state
            .engine
            .report(&member, year, caller.audience(), as_of.as_ref())
            .await?;
        Ok::<_, ApiError>(match format {
            "csv" => (
                "text/csv; charset=utf-8",
                vergleichsring_report::to_csv(&report, dialect)
                    .map_err(internal)?
                    .into(),
            ),
            "xlsx" => (
                vergleichsring_ingest::XLSX_TYPE,
                vergleichsring_report::to_xlsx(&report)
                    .map_err(internal)?
                    .into(),
            ),
            "html" => (
                "text/html; charset=utf-8",
                vergleichsring_report::to_html(
                    &report,
                    &vergleichsring_report::HtmlOptions::default(),
                )
                .into(),
            ),
            _ => ("application/json", json_bytes(&report)?),
        })
    })
    .await?;
    caller.log_access(&state, "report", &member, None, Some(year));
    let file = format!("vergleichsring_{member}_{year}");
    let headers = response.headers_mut();
    match format {
        "csv" | "xlsx" => {
            if let Ok(v) = format!("attachment; filename=\"{file}.{format}\"").parse() {
                headers.insert(CONTENT_DISPOSITION, v);
            }
        }
        "html" => add_page_headers(headers),
        _ => {}
    }
    Ok(response)
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

/// `GET /api/v1/releases`: every frozen release, oldest first (any role).
#[utoipa::path(
    get,
    path = "/api/v1/releases",
    tag = "releases",
    summary = "List frozen releases",
    description = "Every frozen release, oldest first, with the data versions it froze; a release id is usable as `as_of` of comparisons, time series and reports. Every role.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The releases, oldest first.", body = Vec<vergleichsring_store::DataRelease>),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn list_releases(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(
        &[Role::Admin, Role::Analyst, Role::Member, Role::Consultant],
        "list releases",
    )?;
    Ok(Json(json!(state.engine.releases(None)?)))
}

/// `POST /api/v1/releases/{domain}/{year}` (admin): freezes the (domain,
/// year) at the current data versions; uploads for it then get 409 until
/// it is reopened. Answers 201 with the release.
#[utoipa::path(
    post,
    path = "/api/v1/releases/{domain}/{year}",
    tag = "releases",
    summary = "Freeze a (domain, year)",
    description = "Admin only. Records every domain's current data version as a release; uploads for the (domain, year) then get 409 until it is reopened, and `as_of` the release reads the data as it is now.",
    params(crate::openapi::DomainYearPath),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Frozen.", body = vergleichsring_store::DataRelease),
        (status = 400, description = "The year is not a number.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = crate::openapi::ErrorBody),
        (status = 409, description = "`conflict`: the (domain, year) is frozen already.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn freeze_release(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, year)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin], "freeze a release")?;
    let year = parse_year(&year)?;
    let release = state.engine.freeze(&domain, year, &caller.token_id).await?;
    Ok((StatusCode::CREATED, Json(json!(release))))
}

/// `POST /api/v1/releases/{domain}/{year}/reopen` (admin): allows uploads
/// again; the release stays available for `as_of`.
#[utoipa::path(
    post,
    path = "/api/v1/releases/{domain}/{year}/reopen",
    tag = "releases",
    summary = "Reopen a frozen (domain, year)",
    description = "Admin only. Allows uploads for the (domain, year) again; the release stays in the log and available as `as_of`.",
    params(crate::openapi::DomainYearPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reopened: the release with `reopened_at` and `reopened_by`.", body = vergleichsring_store::DataRelease),
        (status = 400, description = "The year is not a number.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = crate::openapi::ErrorBody),
        (status = 409, description = "`conflict`: the (domain, year) is not frozen.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn reopen_release(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, year)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin], "reopen a release")?;
    let year = parse_year(&year)?;
    let release = state.engine.reopen(&domain, year, &caller.token_id).await?;
    Ok(Json(json!(release)))
}

/// `GET /api/v1/publications[?domain=&year=]`: the publications, newest
/// first (any role).
#[utoipa::path(
    get,
    path = "/api/v1/publications",
    tag = "publications",
    summary = "List publications",
    description = "Every publication, newest first, optionally of one domain and year. A publication is the audited state of a (domain, year) that comparisons, time series, reports and the analysts' table show to everyone but admin; its id is usable as `as_of`. Every role.",
    params(crate::openapi::PublicationsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The publications, newest first.", body = Vec<vergleichsring_store::Publication>),
        (status = 400, description = "`year` is not a number.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown domain.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn list_publications(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    caller.require(
        &[Role::Admin, Role::Analyst, Role::Member, Role::Consultant],
        "list publications",
    )?;
    let domain = params.get("domain").filter(|d| !d.is_empty());
    if let Some(d) = domain {
        state.engine.domain(d)?;
    }
    let year = opt_year(&params, "year")?;
    Ok(Json(json!(
        state
            .engine
            .publications(domain.map(String::as_str), year)?
    )))
}

/// `POST /api/v1/publications/{domain}/{year}` (admin): publishes the
/// (domain, year) at its current data version after the audit.
#[utoipa::path(
    post,
    path = "/api/v1/publications/{domain}/{year}",
    tag = "publications",
    summary = "Publish a (domain, year)",
    description = "Admin only. Computes every group statistic of the (domain, year) at the current data version, audits it together with everything published before (rule 11; further groups are withheld, smallest first, until no member's value and no withheld group's total can be computed from the published ones) and records it as the state every non-admin caller reads. Refused while fewer than the threshold of members changed their figures since the last publication (rule 10); when nothing changed, the answer is 409 naming the current publication.",
    params(crate::openapi::DomainYearPath),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Published.", body = vergleichsring_store::Publication),
        (status = 400, description = "The year is not a number.", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::openapi::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = crate::openapi::ErrorBody),
        (status = 409, description = "`nothing_changed`: no member's figures differ from the last publication (`publication` names it); `conflict`: the year has no figures.", body = crate::openapi::ErrorBody),
        (status = 422, description = "`too_few_changes`: fewer than the threshold of members changed since the last publication (`changed_members`, `threshold`).", body = crate::openapi::ErrorBody),
    )
)]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, year)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin], "publish")?;
    let year = parse_year(&year)?;
    let publication = state
        .engine
        .publish(
            &domain,
            year,
            vergleichsring_engine::publication::Trigger::Admin,
            &caller.token_id,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!(publication))))
}
