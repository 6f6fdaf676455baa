//! Statistics: a member's figures, comparisons, time series and the analysts' SQL (tag `statistics`).

use super::*;

/// `GET /api/v1/figures/{domain}/{year}?member_id=ID[&submission_id=S]`.
#[utoipa::path(
    get,
    path = "/api/v1/figures/{domain}/{year}",
    tag = "statistics",
    summary = "A member's figures",
    description = "The member's current basic figures (or those of an earlier submission) and its key figures. A member token reads only its own; admin names any member.",
    params(crate::contract::DomainYearPath, crate::contract::FiguresQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The figures.", body = crate::contract::schema::Figures),
        (status = 400, description = "The year is not a number, or admin named no member.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "Another member's figures, or a role that may not read figures.", body = crate::contract::ErrorBody),
        (status = 404, description = "Unknown domain, or no figures of the member for that year or submission.", body = crate::contract::ErrorBody),
    )
)]
pub async fn figures(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
    ApiQuery(q): ApiQuery<contract::FiguresQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin, Role::Member], "read a member's figures")?;
    let member = caller
        .member_scope(q.member_id.as_deref(), "read the figures")?
        .ok_or_else(|| ApiError::bad_request("name the member with ?member_id=ID"))?;
    let f = state
        .engine
        .figures(&domain, year, &member, q.submission_id.as_deref())
        .await?;
    caller.log_access(&state, "figures", &member, Some(&domain), Some(year));
    Ok(Json(json!(f)))
}

/// `GET /api/v1/comparisons/{domain}/{year}?figure=F&group_by=D[&member_id=ID]`.
#[utoipa::path(
    get,
    path = "/api/v1/comparisons/{domain}/{year}",
    tag = "statistics",
    summary = "Peer comparison of a key figure",
    description = "The disclosed statistics of one key figure in one (domain, year) for each group of a dimension, after disclosure control; for everyone but admin from the latest publication (named in `publication`), for admin from the live data: a withheld statistic is `null`; a suppressed group has `suppressed: true`, a `reason` and `stats: null`. `own` appears only in the group that holds the requested member. With `Accept: text/csv`, `application/vnd.apache.arrow.stream` or `application/vnd.apache.parquet` the same rows come in that format. Every role; a member sees comparisons only for years it has submitted itself (give to get).",
    params(crate::contract::DomainYearPath, crate::contract::ComparisonQuery, crate::contract::ConditionalHeaders),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The comparison, in the format `Accept` asks for.", headers(("etag" = String, description = "Tag of this answer; send it as `If-None-Match` to get 304 while the data is unchanged.")),
            content(
                (crate::contract::schema::Comparison = "application/json"),
                (String = "text/csv"),
                ("application/vnd.apache.arrow.stream"),
                ("application/vnd.apache.parquet"),
            )
        ),
        (status = 304, description = "Not modified: the `If-None-Match` tag is current."),
        (status = 400, description = "A malformed parameter: year, missing `figure`, unknown `group_by`, or an `as_of` that is no publication id, release id or data version.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "`forbidden`: the role may not read this member's position, or a non-admin asked `as_of` a data version; `give_to_get`: the member has not submitted figures for the year itself.", body = crate::contract::ErrorBody),
        (status = 404, description = "Unknown domain, key figure or year.", body = crate::contract::ErrorBody),
        (status = 409, description = "`not_published`: the (domain, year) has no publication yet (everyone but admin reads publications only).", body = crate::contract::ErrorBody),
        (status = 422, description = "`disclosure_refused`: releasing the custom group's statistics would reveal members (`reason` names the rule).", body = crate::contract::ErrorBody),
    )
)]
pub async fn comparison(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
    ApiQuery(q): ApiQuery<contract::ComparisonQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(
        &[Role::Admin, Role::Analyst, Role::Member, Role::Consultant],
        "read comparisons",
    )?;
    let group_by = q.group_by.as_deref().unwrap_or("all");
    let member = caller.member_scope(q.member_id.as_deref(), "read the position")?;
    let of = caller.neighbours_of(q.of.as_deref(), member.as_deref())?;
    let query = StatsQuery {
        domain: &domain,
        figure: &q.figure,
        group_by,
        audience: caller.audience(),
        member: member.as_deref(),
        of: of.as_deref(),
        as_of: q.as_of.as_deref(),
    };
    let answer = state.engine.stats_answer(query).await?;
    let format = answer_format(&headers);
    let tag = statistics_tag(
        &caller,
        &query,
        &answer,
        &["comparison", &year.to_string(), format.content_type()],
    );
    let response = cache::conditional(&state.responses, &headers, tag, || async {
        let c = answer.comparison(year).await?;
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

/// `GET /api/v1/timeseries/{domain}/{figure}?group_by=D[&member_id=ID][&from=Y][&to=Y]`.
#[utoipa::path(
    get,
    path = "/api/v1/timeseries/{domain}/{figure}",
    tag = "statistics",
    summary = "Time series of a key figure",
    description = "Per year the member's own value and its group's disclosed statistics (or, without a member, each group's), after disclosure control; for everyone but admin each year's latest publication (each point names it), years without one left out. Every role; years the member has not submitted for are withheld with `reason: give_to_get`.",
    params(crate::contract::DomainFigurePath, crate::contract::TimeseriesQuery, crate::contract::ConditionalHeaders),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The time series.", body = crate::contract::schema::Timeseries, headers(("etag" = String, description = "Tag of this answer; send it as `If-None-Match` to get 304 while the data is unchanged."))),
        (status = 304, description = "Not modified: the `If-None-Match` tag is current."),
        (status = 400, description = "A malformed parameter: `from`/`to` not a year, unknown `group_by`, or an `as_of` that is no publication id, release id or data version.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "The role may not read this member's values, or a non-admin asked `as_of` a data version.", body = crate::contract::ErrorBody),
        (status = 404, description = "Unknown domain or key figure.", body = crate::contract::ErrorBody),
        (status = 422, description = "`disclosure_refused`: releasing the custom group's statistics would reveal members.", body = crate::contract::ErrorBody),
    )
)]
pub async fn timeseries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainFigurePath { domain, figure }): ApiPath<contract::DomainFigurePath>,
    ApiQuery(q): ApiQuery<contract::TimeseriesQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(
        &[Role::Admin, Role::Analyst, Role::Member, Role::Consultant],
        "read time series",
    )?;
    let group_by = q.group_by.as_deref().unwrap_or("all");
    let member = caller.member_scope(q.member_id.as_deref(), "read the time series")?;
    let of = caller.neighbours_of(q.of.as_deref(), member.as_deref())?;
    let query = StatsQuery {
        domain: &domain,
        figure: &figure,
        group_by,
        audience: caller.audience(),
        member: member.as_deref(),
        of: of.as_deref(),
        as_of: q.as_of.as_deref(),
    };
    let answer = state.engine.stats_answer(query).await?;
    let (from, to) = (q.from, q.to);
    let tag = statistics_tag(
        &caller,
        &query,
        &answer,
        &["timeseries", &format!("{from:?}-{to:?}")],
    );
    let response = cache::conditional(&state.responses, &headers, tag, || async {
        let ts = answer.timeseries(from, to).await?;
        Ok::<_, ApiError>(("application/json", json_bytes(&ts)?))
    })
    .await?;
    if let Some(m) = &member {
        caller.log_access(&state, "timeseries", m, Some(&domain), None);
    }
    Ok(response)
}

/// Body of `POST /api/v1/query`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct QueryBody {
    sql: String,
}

/// `POST /api/v1/query` (analyst, admin): SQL over disclosed statistics.
#[utoipa::path(
    post,
    path = "/api/v1/query",
    tag = "statistics",
    summary = "SQL over the disclosed statistics",
    description = "Analysts and admin. Runs one query against the single table `comparisons` (columns `domain`, `year`, `figure`, `group_by`, `group`, `n`, `suppressed`, `mean`, `median`, `p25`, `p75`, `p10`, `p90`, `std_dev`, `weighted`), which holds only disclosed statistics. Results as JSON or, by `Accept`, as CSV, Arrow IPC or Parquet.",
    request_body(content = QueryBody, description = "The query."),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The result, in the format `Accept` asks for.",
            content(
                (crate::contract::QueryResult = "application/json"),
                (String = "text/csv"),
                ("application/vnd.apache.arrow.stream"),
                ("application/vnd.apache.parquet"),
            )
        ),
        (status = 400, description = "Not a single query statement; a function outside the allow-list, string concatenation, a table function, a join without an equality condition or more than 20 KB of text; a query that does not plan (e.g. another table) or fails while it runs (e.g. division by zero). The message names what.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "Neither analyst nor admin.", body = crate::contract::ErrorBody),
        (status = 429, description = "`rate_limited`: this token sent more than `limits.queries_per_minute` queries in the last minute, or `limits.concurrent_queries` queries ran for 5 s; `Retry-After` and `retry_after_seconds` say when to try again.", headers(("retry-after" = u64, description = "Seconds to wait.")), body = crate::contract::ErrorBody),
        (status = 503, description = "`resources_exhausted`: the query needs more memory than the server allows; try a smaller one.", body = crate::contract::ErrorBody),
    )
)]
pub async fn query(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin, Role::Analyst], "run SQL queries")?;
    state.rates.queries.check(caller.rate_key())?;
    let b: QueryBody = json_body(&body, "{\"sql\": \"SELECT ...\"}")?;
    let format = answer_format(&headers);
    let _slot = state.rates.query_slot().await?;
    let bytes = state.engine.query(&b.sql, format).await?;
    Ok(([(CONTENT_TYPE, format.content_type())], bytes).into_response())
}
