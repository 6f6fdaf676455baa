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
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
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

fn require_param<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("the query parameter '{name}' is required")))
}

/// `GET /api/v1/comparisons/{domain}/{year}?figure=F&group_by=D[&member_id=ID]`.
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
    let req = StatsRequest {
        domain: &domain,
        figure,
        group_by,
        audience: caller.audience(),
        member: member.as_deref(),
    };
    let format = answer_format(&headers);
    let tag = statistics_tag(
        &state,
        &caller,
        &domain,
        group_by,
        &[
            "comparison",
            &year.to_string(),
            figure,
            member.as_deref().unwrap_or(""),
            format.content_type(),
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
    let req = StatsRequest {
        domain: &domain,
        figure: &figure,
        group_by,
        audience: caller.audience(),
        member: member.as_deref(),
    };
    let (from, to) = (opt_year(&params, "from")?, opt_year(&params, "to")?);
    let tag = statistics_tag(
        &state,
        &caller,
        &domain,
        group_by,
        &[
            "timeseries",
            &figure,
            member.as_deref().unwrap_or(""),
            &format!("{from:?}-{to:?}"),
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
/// and the request's parts. Custom groups get none, because their release
/// also depends on the release log (rule 6).
async fn statistics_tag(
    state: &AppState,
    caller: &Caller,
    domain: &str,
    group_by: &str,
    parts: &[&str],
) -> Result<Option<String>, ApiError> {
    if vergleichsring_engine::compare::Dimension::parse(group_by).is_none() {
        return Ok(None);
    }
    let version = state.engine.data_version(domain).await?;
    let generation = state.engine.store().members_generation().to_string();
    let mut all = vec![domain, group_by, caller.role.as_str(), generation.as_str()];
    all.extend_from_slice(parts);
    Ok(Some(cache::etag(&version, &all)))
}

/// Body of `POST /api/v1/members/{member_id}/grants`.
#[derive(serde::Deserialize)]
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
#[derive(serde::Deserialize)]
pub struct QueryBody {
    sql: String,
}

/// `POST /api/v1/query` (analyst, admin): SQL over released statistics.
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
    // A report spans every domain: its tag holds all data versions.
    let generation = state.engine.store().members_generation().to_string();
    let tag = cache::etag(
        &state.engine.data_versions().await,
        &[
            "report",
            &member,
            &year.to_string(),
            caller.role.as_str(),
            format,
            &format!("{dialect:?}"),
            &generation,
        ],
    );
    let internal = |e: vergleichsring_report::ReportError| {
        ApiError::from(vergleichsring_engine::EngineError::Internal(e.to_string()))
    };
    let mut response = cache::conditional(&state.responses, &headers, Some(tag), || async {
        let report = state
            .engine
            .report(&member, year, caller.audience())
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
