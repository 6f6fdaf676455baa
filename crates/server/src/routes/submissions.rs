//! Submissions: uploads, their list, warnings and explanations, archived bytes (tag `submissions`).

use super::*;

/// `POST /api/v1/submissions/{domain}/{year}`: upload basic figures.
#[utoipa::path(
    post,
    path = "/api/v1/submissions/{domain}/{year}",
    tag = "submissions",
    summary = "Upload basic figures",
    description = "The body is a file of basic figures: one row per member, one column per basic figure id, and a `member_id` column (optional for a member token, which submits for its own member; required for admin bulk uploads). The format is chosen by `Content-Type`. A submission replaces the member's current figures for the (domain, year); earlier versions are kept. Plausibility warnings do not stop an upload: they are stored with it and answered. Admin and member tokens.",
    params(crate::contract::DomainYearPath),
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
        (status = 201, description = "Stored; with the warnings of the plausibility rules.", body = crate::contract::schema::SubmitOutcome),
        (status = 400, description = "The year is not a number.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "The token may not upload (analyst, consultant).", body = crate::contract::ErrorBody),
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = crate::contract::ErrorBody),
        (status = 409, description = "`release_frozen`: the (domain, year) is frozen.", body = crate::contract::ErrorBody),
        (status = 413, description = "`body_too_large`: the upload is larger than the limit.", body = crate::contract::ErrorBody),
        (status = 415, description = "`unsupported_format`: the `Content-Type` is none of the three formats.", body = crate::contract::ErrorBody),
        (status = 422, description = "`validation_failed`: the file breaks checks or rules, listed in `errors` with row, member, column and rule; nothing was stored.", body = crate::contract::ErrorBody),
        (status = 429, description = "`rate_limited`: this token uploaded more than `limits.uploads_per_minute` files in the last minute (admin is not limited); `Retry-After` and `retry_after_seconds` say when to try again.", headers(("retry-after" = u64, description = "Seconds to wait.")), body = crate::contract::ErrorBody),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin, Role::Member], "upload figures")?;
    state.engine.domain(&domain)?;
    if caller.role != Role::Admin {
        state.rates.uploads.check(caller.rate_key())?;
    }
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
            token_id: caller.actor().to_string(),
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
    params(crate::contract::DomainYearPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The submissions, newest first.", body = Vec<crate::contract::schema::SubmissionInfo>),
        (status = 400, description = "The year is not a number.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "The token may not list submissions (analyst, consultant).", body = crate::contract::ErrorBody),
        (status = 404, description = "Unknown domain.", body = crate::contract::ErrorBody),
    )
)]
pub async fn list_submissions(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin, Role::Member], "list submissions")?;
    let scope = caller.member_scope(None, "list the submissions")?;
    let list = state
        .engine
        .submissions(&domain, year, scope.as_deref())
        .await?;
    Ok(Json(json!(list)))
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
    params(crate::contract::SubmissionPath),
    request_body(content = crate::contract::ExplanationRequest, description = "One `{\"rule\", \"text\"[, \"member_id\"]}` or an array of them."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The stored explanations.", body = Vec<crate::contract::schema::Explanation>),
        (status = 400, description = "Malformed body, an empty text, or no such warning on the submission.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "The token may not explain warnings (analyst, consultant).", body = crate::contract::ErrorBody),
        (status = 404, description = "No such submission, or none of the member's rows in it.", body = crate::contract::ErrorBody),
    )
)]
pub async fn explain(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::SubmissionPath { submission_id }): ApiPath<contract::SubmissionPath>,
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
        .explain(&submission_id, scope.as_deref(), caller.actor(), inputs)
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
    params(crate::contract::WarningsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The warnings.", body = Vec<crate::contract::schema::WarningStatus>),
        (status = 400, description = "`status` is neither `open` nor `all`, or `year` is not a year.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "Another member's warnings, or a role that may not list them.", body = crate::contract::ErrorBody),
        (status = 404, description = "Unknown domain.", body = crate::contract::ErrorBody),
    )
)]
pub async fn warnings(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<contract::WarningsQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin, Role::Member], "list warnings")?;
    let scope = caller.member_scope(q.member_id.as_deref(), "list the warnings")?;
    let only_open = q.status.unwrap_or_default() == contract::WarningFilter::Open;
    let list = state
        .engine
        .warnings(q.domain.as_deref(), q.year, scope.as_deref(), only_open)
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
    params(crate::contract::UploadPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The uploaded bytes.", content(("application/octet-stream"))),
        (status = 400, description = "The archived bytes no longer match their hash.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "No archived upload with that hash.", body = crate::contract::ErrorBody),
    )
)]
pub async fn archived_upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::UploadPath { sha256: hash }): ApiPath<contract::UploadPath>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin], "read archived uploads")?;
    let bytes = state
        .store
        .archived_upload(&hash)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no archived upload {hash}")))?;
    Ok(([(CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
