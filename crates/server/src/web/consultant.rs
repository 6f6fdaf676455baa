//! The consultant's workspace: the members that granted the consultant
//! access, for each its reports of the years it has figures for (page,
//! Excel, CSV), all under the consultant's threshold as the API gives
//! them (`Audience::Consultant`).

use maud::html;

use super::*;

/// The years the workspace looks at: this year back to six before.
fn years() -> Vec<i32> {
    let now = pages::this_year();
    (now - 6..=now).rev().collect()
}

/// `GET /web/beratung`.
#[utoipa::path(
    get,
    path = "/web/beratung",
    operation_id = "web_consultant",
    tag = "web",
    summary = "The consultant's workspace",
    description = "For a consultant's account: every member that granted the consultant access, with links to its peer report of each year it has figures for, as a page, Excel or CSV.",
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not a consultant's account.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn workspace(
    State(state): State<AppState>,
    SignedIn(ConsultantAccount(account)): SignedIn<ConsultantAccount>,
) -> Result<Response, WebError> {
    let members = state.store.members_map();
    let catalog = state.engine.catalog();
    let mut rows = Vec::new();
    for id in &account.caller.grants {
        let mut with_figures = Vec::new();
        for y in years() {
            let mut any = false;
            for d in &catalog.domains {
                any |= state.engine.has_submitted(&d.id, y, id).await?;
            }
            if any {
                with_figures.push(y);
            }
        }
        let name = members.get(id).map_or(id.as_str(), |m| m.name.as_str());
        rows.push((id.clone(), name.to_string(), with_figures));
    }
    let page = layout::layout(
        "Beratung",
        Some((&account.name, &account.csrf)),
        html! {
            p { a href="/web" { "Zurück zur Übersicht" } }
            h1 { "Ihre Mandanten" }
            @if rows.is_empty() {
                p { "Noch hat Ihnen kein Mitglied Zugang gegeben. Ein Mitglied gibt ihn über die Programmierschnittstelle oder den Betrieb des Rings." }
            }
            @for (id, name, ys) in &rows {
                section aria-labelledby=(format!("m-{id}")) {
                    h2 id=(format!("m-{id}")) { (name) span class="muted" { " " (id) } }
                    @if ys.is_empty() {
                        p { "Noch keine Zahlen." }
                    } @else {
                        ul {
                            @for y in ys {
                                li {
                                    a href=(format!("/web/beratung/bericht/{id}/{y}")) { "Vergleichsbericht " (y) }
                                    " · " a href=(format!("/web/beratung/bericht/{id}/{y}?format=xlsx")) { "Excel" }
                                    " · " a href=(format!("/web/beratung/bericht/{id}/{y}?format=csv")) { "CSV" }
                                }
                            }
                        }
                    }
                }
            }
        },
    );
    Ok(html_page(page.into_string()))
}

/// `GET /web/beratung/bericht/{member_id}/{year}[?format=xlsx|csv]`.
#[utoipa::path(
    get,
    path = "/web/beratung/bericht/{member_id}/{year}",
    operation_id = "web_consultant_report",
    tag = "web",
    summary = "A granted member's report (consultant)",
    description = "For a consultant's account: the peer report of a member that granted it access, as `GET /api/v1/reports/{member_id}/{year}` gives it to the consultant (its threshold), as a page or an Excel or CSV download (German number format). Logged in the access log.",
    params(crate::contract::MemberYearPath, crate::contract::WebReportQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The report.",
            content(
                (String = "text/html"),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "text/csv"),
            )
        ),
        (status = 400, description = "The year is not a number.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not a consultant's account, or a member that has not granted it access.", body = String, content_type = "text/html"),
        (status = 404, description = "No such member or year.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn report(
    State(state): State<AppState>,
    path: Result<ApiPath<contract::MemberYearPath>, ApiError>,
    ApiQuery(query): ApiQuery<contract::WebReportQuery>,
    SignedIn(ConsultantAccount(account)): SignedIn<ConsultantAccount>,
) -> Result<Response, WebError> {
    let ApiPath(contract::MemberYearPath { member_id, year }) =
        path.map_err(|_| WebError::bad_request("Das Jahr in der Adresse ist keine Zahl."))?;
    // The grant decides, as for the API.
    let member = account
        .caller
        .member_scope(Some(&member_id), "read the peer report")?
        .unwrap_or(member_id);
    let report = state
        .engine
        .report(&member, year, Audience::Consultant, None)
        .await?;
    account
        .caller
        .log_access(&state, "report", &member, None, Some(year));
    report_response(
        &state,
        &report,
        query.format.as_deref(),
        &member,
        year,
        "/web/beratung",
    )
}
