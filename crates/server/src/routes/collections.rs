//! The coordinator's collections (tag `collections`): the status of every
//! member in a (domain, year), the deadline, reviews of warnings and
//! approvals. Admin runs them; a member reads its own row.

use vergleichsring_engine::collection::{ReviewInput, Status};

use super::*;

/// `GET /api/v1/collections/{domain}/{year}`: every member's status.
#[utoipa::path(
    get,
    path = "/api/v1/collections/{domain}/{year}",
    tag = "collections",
    summary = "A collection's status",
    description = "Every member of the ring in the year with its status in the collection of the (domain, year): `not_started`, `started` (a draft saved in the form), `submitted`, `warnings_open` (a warning neither explained nor accepted, or asked back), `explained` (waiting for the review) or `approved` (the approval names the submission that holds the current figures, so a new upload undoes it); with its warnings, explanations, reviews, reminders and the last change (when and who). `counts` has every status. Admin sees every member, a member token its own row. `status` filters the members (not the counts). CSV with `Accept: text/csv`.",
    params(crate::contract::DomainYearPath, crate::contract::CollectionQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The collection as JSON, or its members as CSV (one row per member) with `Accept: text/csv`.",
            content(
                (crate::contract::schema::CollectionStatus = "application/json"),
                (String = "text/csv"),
            )
        ),
        (status = 400, description = "An unknown `status`, or a year that is not a number.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "Another member's row, or a role other than admin and member.", body = crate::contract::ErrorBody),
        (status = 404, description = "Unknown domain, a year outside 1990 to 2100, or a member not in the ring that year.", body = crate::contract::ErrorBody),
    )
)]
pub async fn collection(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
    ApiQuery(q): ApiQuery<contract::CollectionQuery>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin, Role::Member], "see a collection")?;
    let scope = caller.member_scope(q.member_id.as_deref(), "see the collection")?;
    let only = match q.status.as_deref() {
        None => None,
        Some(s) => Some(Status::from_id(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status: '{s}' is not one of not_started, started, submitted, warnings_open, explained, approved"
            ))
        })?),
    };
    let mut status = state
        .engine
        .collection(&domain, year, scope.as_deref())
        .await?;
    if let Some(s) = only {
        status.members.retain(|m| m.status == s);
    }
    if answer_format(&headers) == TableFormat::Csv {
        let (media, body) = crate::render::table(&crate::render::collection_table(&status), false)?;
        return Ok(([(CONTENT_TYPE, media)], body).into_response());
    }
    Ok(Json(json!(status)).into_response())
}

/// `PUT /api/v1/collections/{domain}/{year}` (admin): opens the collection
/// with a deadline, or moves the deadline.
#[utoipa::path(
    put,
    path = "/api/v1/collections/{domain}/{year}",
    tag = "collections",
    summary = "Open a collection or move its deadline",
    description = "Admin only. Opens the collection of the (domain, year) with a deadline (an ISO date), or sets a new deadline; who and when are recorded. Members see the deadline on their page; reminders name it.",
    params(crate::contract::DomainYearPath),
    request_body(content = crate::contract::DeadlineBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Open, with its deadline.", body = crate::contract::schema::Collection),
        (status = 400, description = "The body is not `{\"deadline\": DATE}`, or the deadline is not a date like `2026-03-31`.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = crate::contract::ErrorBody),
    )
)]
pub async fn open_collection(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin], "open a collection")?;
    let body: contract::DeadlineBody = json_body(&body, "{\"deadline\": \"2026-03-31\"}")?;
    let opened = state
        .engine
        .open_collection(&domain, year, &body.deadline, caller.actor())
        .await?;
    Ok(Json(json!(opened)))
}

/// `POST /api/v1/collections/{domain}/{year}/approvals` (admin).
#[utoipa::path(
    post,
    path = "/api/v1/collections/{domain}/{year}/approvals",
    tag = "collections",
    summary = "Approve a member's figures",
    description = "Admin only. Approves the member's current figures of the (domain, year): the approval names the submission that holds them, so a new upload undoes it. Refused (409) while the member has no figures or a warning waits for its explanation, and when `submission_id` (the submission the coordinator looked at; recommended) is no longer current. A warning asked back after the approval undoes it.",
    params(crate::contract::DomainYearPath),
    request_body(content = crate::contract::ApprovalBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Approved.", body = crate::contract::schema::Approval),
        (status = 400, description = "The body is not `{\"member_id\": ID}`.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "Unknown domain, a year outside 1990 to 2100, or a member not in the ring that year.", body = crate::contract::ErrorBody),
        (status = 409, description = "`conflict`: no figures, open warnings, or `submission_id` names figures that are no longer current.", body = crate::contract::ErrorBody),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin], "approve figures")?;
    let body: contract::ApprovalBody = json_body(&body, "{\"member_id\": ID}")?;
    let approval = state
        .engine
        .approve(
            &domain,
            year,
            &body.member_id,
            body.submission_id.as_deref(),
            caller.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!(approval))))
}

/// `POST /api/v1/collections/{domain}/{year}/reviews` (admin).
#[utoipa::path(
    post,
    path = "/api/v1/collections/{domain}/{year}/reviews",
    tag = "collections",
    summary = "Review a warning",
    description = "Admin only. Accepts a warning of a member's current figures, or asks it back with a comment (required, at most 2,000 characters) that the member sees on its page; asked back, the warning is open again until the member explains it anew.",
    params(crate::contract::DomainYearPath),
    request_body(content = crate::contract::ReviewBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Reviewed.", body = crate::contract::schema::Review),
        (status = 400, description = "A body of another shape, asked back without a comment, or a comment over 2,000 characters.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "Unknown domain or year, a member not in the ring, or no such warning on its current figures.", body = crate::contract::ErrorBody),
        (status = 409, description = "`conflict`: `submission_id` names figures that are no longer current.", body = crate::contract::ErrorBody),
    )
)]
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin], "review warnings")?;
    let body: contract::ReviewBody = json_body(
        &body,
        "{\"member_id\": ID, \"rule\": RULE, \"accepted\": true|false, \"comment\": TEXT}",
    )?;
    let input = ReviewInput {
        domain,
        year,
        member_id: body.member_id,
        rule: body.rule,
        accepted: body.accepted,
        comment: body.comment,
        submission_id: body.submission_id,
    };
    let review = state.engine.review(input, caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(json!(review))))
}

/// `POST /api/v1/collections/{domain}/{year}/reminders` (admin).
#[utoipa::path(
    post,
    path = "/api/v1/collections/{domain}/{year}/reminders",
    tag = "collections",
    summary = "Preview or send reminders",
    description = "Admin only. Reminds members of an open collection by e-mail to each member's accounts that were taken up: the members named in `member_ids`, else those in `statuses` (default `not_started` and `started`). `template` (at most 5,000 characters; default a German text) may use `{name}` (the person), `{kommune}`, `{bereich}`, `{jahr}`, `{frist}` (the deadline, German date) and `{link}`. Without `send: true` it is a preview: the text of the first mail and who would get one, nothing changes. Sending records every reminder in one commit before any mail goes out; a member reminded of this collection within `limits.reminder_hours` (default 168) is passed over, across replicas and parallel requests.",
    params(crate::contract::DomainYearPath),
    request_body(content = crate::contract::RemindersBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A preview, or the reminders sent.", body = crate::collection_mail::RemindersOutcome),
        (status = 400, description = "A body of another shape, an unknown status, a member not in the ring, or a template over 5,000 characters.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = crate::contract::ErrorBody),
        (status = 409, description = "`conflict`: the collection is not open, or (sending) no mail server is configured.", body = crate::contract::ErrorBody),
    )
)]
pub async fn remind(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin], "send reminders")?;
    let body: contract::RemindersBody = json_body(
        &body,
        "{\"statuses\": [...], \"member_ids\": [...], \"template\": TEXT, \"send\": true|false}",
    )?;
    let status = state.engine.collection(&domain, year, None).await?;
    let chosen = crate::collection_mail::chosen_members(&status, body.member_ids, body.statuses)?;
    let template = body
        .template
        .unwrap_or_else(|| crate::collection_mail::REMINDER_TEMPLATE.to_string());
    let outcome = crate::collection_mail::remind(
        &state,
        &status,
        chosen,
        &template,
        body.send,
        caller.actor(),
    )
    .await?;
    Ok(Json(json!(outcome)))
}
