//! A member's peer report (tag `reports`).

use super::*;

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
        (status = 400, description = "The year is not a number, `dialect` is neither `en` nor `de`, or `as_of` is no publication id, release id or data versions.", body = crate::openapi::ErrorBody),
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
