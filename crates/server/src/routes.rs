//! The handlers, one per endpoint of the API contract.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use vergleichsring_catalog::{BUILTIN_CHECKS, GROUP_DIMENSIONS};
use vergleichsring_engine::compare::{Comparison, GroupResult};
use vergleichsring_engine::{StatsRequest, SubmitRequest};
use vergleichsring_store::{Member, Role};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::negotiate::{Answer, answer_format, to_csv};

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

/// `GET /api/v1/members`.
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
        Role::Consultant => Vec::new(),
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
    Ok(Json(json!(f)))
}

fn require_param<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("the query parameter '{name}' is required")))
}

fn comparison_csv(c: &Comparison) -> Result<String, csv::Error> {
    let header = [
        "domain",
        "year",
        "figure",
        "group_by",
        "group",
        "n",
        "suppressed",
        "reason",
        "mean",
        "median",
        "p25",
        "p75",
        "p10",
        "p90",
        "std_dev",
        "weighted",
        "own_member_id",
        "own_value",
        "own_rank",
        "own_percentile_rank",
    ];
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let rows: Vec<Vec<String>> = c
        .groups
        .iter()
        .map(|g: &GroupResult| {
            let s = g.stats.as_ref();
            let o = g.own.as_ref();
            vec![
                c.domain.clone(),
                c.year.to_string(),
                c.figure.clone(),
                c.group_by.clone(),
                g.group.clone(),
                g.n.to_string(),
                g.suppressed.to_string(),
                g.reason.unwrap_or("").to_string(),
                num(s.and_then(|s| s.mean)),
                num(s.and_then(|s| s.median)),
                num(s.and_then(|s| s.p25)),
                num(s.and_then(|s| s.p75)),
                num(s.and_then(|s| s.p10)),
                num(s.and_then(|s| s.p90)),
                num(s.and_then(|s| s.std_dev)),
                num(s.and_then(|s| s.weighted)),
                o.map(|o| o.member_id.clone()).unwrap_or_default(),
                num(o.and_then(|o| o.value)),
                o.and_then(|o| o.rank)
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
                num(o.and_then(|o| o.percentile_rank)),
            ]
        })
        .collect();
    to_csv(&header, &rows)
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
        &[Role::Admin, Role::Analyst, Role::Member],
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
    let c = state.engine.comparison(&req, year).await?;
    match answer_format(&headers) {
        Answer::Json => Ok(Json(c).into_response()),
        Answer::Csv => {
            let text = comparison_csv(&c).map_err(|e| {
                ApiError::from(vergleichsring_engine::EngineError::Internal(e.to_string()))
            })?;
            Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response())
        }
    }
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
) -> Result<Json<Value>, ApiError> {
    caller.require(
        &[Role::Admin, Role::Analyst, Role::Member],
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
    let ts = state
        .engine
        .timeseries(&req, opt_year(&params, "from")?, opt_year(&params, "to")?)
        .await?;
    Ok(Json(json!(ts)))
}
