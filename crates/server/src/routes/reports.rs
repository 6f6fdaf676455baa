//! A member's peer report (tag `reports`).

use super::*;
use crate::contract::ReportFormat;
use crate::render;

/// `GET /api/v1/reports/{member_id}/{year}?format=json|csv|xlsx[&dialect=de]`:
/// the member's peer report; the member itself, a consultant it granted
/// access, or admin.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{member_id}/{year}",
    tag = "reports",
    summary = "A member's peer report",
    description = "Every domain the member submitted for the year, every key figure, its own value against its size class and against all members (after disclosure control; for everyone but admin from each domain's latest publication, named in `publications`), a five-year time series and the method. As a self-contained HTML page with charts, JSON, CSV or XLSX. The member itself, a consultant it granted access, or admin.",
    params(crate::contract::MemberYearPath, crate::contract::ReportQuery, crate::contract::ConditionalHeaders),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report; CSV and XLSX come as a download (`Content-Disposition: attachment`).", headers(("etag" = String, description = "Tag of this answer; send it as `If-None-Match` to get 304 while the data is unchanged.")),
            content(
                (crate::contract::schema::Report = "application/json"),
                (String = "text/html"),
                (String = "text/csv"),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )
        ),
        (status = 304, description = "Not modified: the `If-None-Match` tag is current."),
        (status = 400, description = "The year is not a number, `dialect` is neither `en` nor `de`, or `as_of` is no publication id, release id or data versions.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "`forbidden`: neither the member, a consultant it granted access, nor admin, or a non-admin asked `as_of` data versions; `give_to_get`: the member has not submitted for the year.", body = crate::contract::ErrorBody),
        (status = 404, description = "Unknown member, or a year without figures.", body = crate::contract::ErrorBody),
        (status = 409, description = "`not_published`: the member's figures for the year are in no publication yet.", body = crate::contract::ErrorBody),
        (status = 406, description = "`unsupported_report_format`: `format` is none of html, json, csv, xlsx.", body = crate::contract::ErrorBody),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::MemberYearPath { member_id, year }): ApiPath<contract::MemberYearPath>,
    ApiQuery(q): ApiQuery<contract::ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(
        &[Role::Admin, Role::Member, Role::Consultant],
        "read peer reports",
    )?;
    let member = caller
        .member_scope(Some(&member_id), "read the peer report")?
        .unwrap_or(member_id);
    // Without `format`, a browser (which asks for text/html) gets the page
    // and every other client JSON.
    let format = match q.format.as_deref() {
        None => crate::negotiate::default_report_format(&headers),
        Some(f) => ReportFormat::parse(f).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "unsupported_report_format",
                format!("format '{f}' is not available; use html, json, csv or xlsx"),
            )
        })?,
    };
    let dialect = match q.dialect.unwrap_or_default() {
        contract::CsvDialect::En => vergleichsring_report::Dialect::En,
        contract::CsvDialect::De => vergleichsring_report::Dialect::De,
    };
    let answer = state.engine.report_answer(q.as_of.as_deref()).await?;
    let tag = cache::etag(
        answer.state(),
        &[
            "report",
            &member,
            &year.to_string(),
            caller.role.as_str(),
            format.as_str(),
            &format!("{dialect:?}"),
            answer.as_of().map_or("", |a| a.label.as_str()),
        ],
    );
    let mut response = cache::conditional(&state.responses, &headers, Some(tag), || async {
        let report = answer.report(&member, year, caller.audience()).await?;
        Ok::<_, ApiError>(render::report(
            &report,
            state.engine.catalog(),
            format,
            dialect,
            None,
        )?)
    })
    .await?;
    caller.log_access(&state, "report", &member, None, Some(year));
    let file = format!("vergleichsring_{member}_{year}");
    let headers = response.headers_mut();
    match format {
        ReportFormat::Csv | ReportFormat::Xlsx => {
            let extension = format.as_str();
            if let Ok(v) = format!("attachment; filename=\"{file}.{extension}\"").parse() {
                headers.insert(CONTENT_DISPOSITION, v);
            }
        }
        ReportFormat::Html => add_page_headers(headers),
        ReportFormat::Json => {}
    }
    Ok(response)
}
