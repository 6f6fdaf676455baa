//! The coordinator's workspace (admin accounts with their second factor):
//! the collection of a (domain, year) with every member's status, its
//! deadline, the export, one member's review with approval, and the
//! review queue. Every change goes through the engine as the API's
//! `collections` endpoints do.

use vergleichsring_engine::collection::{CollectionStatus, ReviewInput, Status};

use super::*;

/// Fixed notices after a change (the query names one; no text of the
/// request is shown back).
fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "frist" => Some("Die Frist ist gespeichert."),
        "akzeptiert" => Some("Der Hinweis ist akzeptiert."),
        "zurueckgefragt" => {
            Some("Die Rückfrage ist gespeichert; das Mitglied sieht sie auf seiner Seite.")
        }
        "freigegeben" => Some("Die Zahlen sind freigegeben."),
        _ => None,
    }
}

/// The years a collection can be opened for: next year back to ten
/// years before this one.
fn years() -> Vec<i32> {
    let now = pages::this_year();
    (now - 10..=now + 1).rev().collect()
}

/// `GET /web/sammlung[?bereich=D&jahr=Y][&status=S][&suche=T][&seite=N]`.
#[utoipa::path(
    get,
    path = "/web/sammlung",
    operation_id = "web_collection",
    tag = "web",
    summary = "A collection (admin)",
    description = "For an admin account: without `bereich` and `jahr` a chooser and the collections opened; with them the collection of the (domain, year): its deadline (a form to open it or move it), the number of members in each status, every member with status, submission, open warnings, reminders and the last change, filtered by `status` and a name or key (`suche`), 200 per page (`seite`), with links to the CSV and XLSX export and to each member's review.",
    params(crate::contract::WebCollectionQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 400, description = "An unknown status.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not an admin account, or one without its second factor yet.", body = String, content_type = "text/html"),
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn collection(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<contract::WebCollectionQuery>,
    SignedIn(Admin(account)): SignedIn<Admin>,
) -> Result<Response, WebError> {
    let catalog = state.engine.catalog();
    let (Some(domain), Some(year)) = (q.bereich.as_deref(), q.jahr) else {
        let all = state.store.collections();
        let mut opened: Vec<_> = all.opened.values().collect();
        opened.sort_by(|a, b| b.year.cmp(&a.year).then(a.domain.cmp(&b.domain)));
        let page = pages::collections_home(&account, catalog, &opened, &years());
        return Ok(html_page(page.into_string()));
    };
    let filter = status_filter(q.status.as_deref())?;
    let status = state.engine.collection(domain, year, None).await?;
    let search = q.suche.as_deref().unwrap_or("").trim();
    let needle = search.to_lowercase();
    let matching: Vec<_> = status
        .members
        .iter()
        .filter(|m| filter.is_none_or(|f| m.status == f))
        .filter(|m| {
            needle.is_empty()
                || m.member_id.starts_with(&needle)
                || m.name.to_lowercase().contains(&needle)
        })
        .collect();
    let pages_total = matching.len().div_ceil(pages::PAGE_ROWS).max(1);
    let page = q.seite.unwrap_or(1).clamp(1, pages_total);
    let from = (page - 1) * pages::PAGE_ROWS;
    let shown = &matching[from..matching.len().min(from + pages::PAGE_ROWS)];
    let view = pages::CollectionView {
        status: &status,
        filter,
        search,
        shown,
        matching: matching.len(),
        page,
        notice: notice(q.erledigt.as_deref()),
    };
    Ok(html_page(
        pages::collection(&account, catalog, &view).into_string(),
    ))
}

/// The year of a form's field.
fn year_of(text: &str) -> Result<i32, WebError> {
    text.trim()
        .parse()
        .map_err(|_| WebError::bad_request("Das Jahr ist keine Zahl."))
}

/// The status a filter names; empty is none.
fn status_filter(id: Option<&str>) -> Result<Option<Status>, WebError> {
    match id.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Status::from_id(s)
            .map(Some)
            .ok_or_else(|| WebError::bad_request("Diesen Status gibt es nicht.")),
    }
}

/// `GET /web/sammlung/export?bereich=D&jahr=Y&format=csv|xlsx[&status=S]`.
#[utoipa::path(
    get,
    path = "/web/sammlung/export",
    operation_id = "web_collection_export",
    tag = "web",
    summary = "A collection as CSV or XLSX (admin)",
    description = "For an admin account: the collection's members (optionally of one `status`) as a CSV or XLSX download, the columns of `GET /api/v1/collections/{domain}/{year}` with `Accept: text/csv`.",
    params(crate::contract::WebCollectionExportQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The file.", body = String, content_type = "text/csv"),
        (status = 400, description = "An unknown status or format.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        crate::contract::responses::NotAdminPage,
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn collection_export(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<contract::WebCollectionExportQuery>,
    SignedIn(Admin(_)): SignedIn<Admin>,
) -> Result<Response, WebError> {
    let xlsx = match q.format.as_str() {
        "csv" => false,
        "xlsx" => true,
        _ => return Err(WebError::bad_request("Das Format ist csv oder xlsx.")),
    };
    let filter = status_filter(q.status.as_deref())?;
    let mut status = state.engine.collection(&q.bereich, q.jahr, None).await?;
    if let Some(f) = filter {
        status.members.retain(|m| m.status == f);
    }
    let (media, body) = crate::render::table(&crate::render::collection_table(&status), xlsx)?;
    let file = format!(
        "erhebung-{}-{}.{}",
        status.domain,
        status.year,
        if xlsx { "xlsx" } else { "csv" }
    );
    Ok((
        [
            (CONTENT_TYPE, media.to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// The collection with one member only, which must be in the ring.
async fn one_member(
    state: &AppState,
    domain: &str,
    year: i32,
    member: &str,
) -> Result<CollectionStatus, WebError> {
    Ok(state.engine.collection(domain, year, Some(member)).await?)
}

/// `GET /web/sammlung/mitglied?bereich=D&jahr=Y&mitglied=M`.
#[utoipa::path(
    get,
    path = "/web/sammlung/mitglied",
    operation_id = "web_collection_member",
    tag = "web",
    summary = "A member's review (admin)",
    description = "For an admin account: one member's status in the collection, each warning of its current figures with the member's explanation and forms to accept it or ask back with a comment, and the approval of its figures.",
    params(crate::contract::WebMemberReviewQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        crate::contract::responses::NotAdminPage,
        (status = 404, description = "Unknown domain or year, or a member not in the ring that year.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn member_review(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<contract::WebMemberReviewQuery>,
    SignedIn(Admin(account)): SignedIn<Admin>,
) -> Result<Response, WebError> {
    let status = one_member(&state, &q.bereich, q.jahr, &q.mitglied).await?;
    let Some(m) = status.members.first() else {
        return Err(WebError::new(
            StatusCode::NOT_FOUND,
            "Dieses Mitglied gibt es in diesem Jahr nicht.",
        ));
    };
    let catalog = state.engine.catalog();
    let page = pages::member_review(&account, catalog, &status, m, notice(q.erledigt.as_deref()));
    Ok(html_page(page.into_string()))
}

/// `GET /web/pruefung?bereich=D&jahr=Y`: the review queue.
#[utoipa::path(
    get,
    path = "/web/pruefung",
    operation_id = "web_review_queue",
    tag = "web",
    summary = "The review queue (admin)",
    description = "For an admin account: every explained warning of the (domain, year) that waits for the coordinator (the first 200), each with the member's explanation and forms to accept it or ask back, and how many warnings wait for members.",
    params(crate::contract::WebDomainYearQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        crate::contract::responses::NotAdminPage,
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn review_queue(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<contract::WebDomainYearQuery>,
    SignedIn(Admin(account)): SignedIn<Admin>,
) -> Result<Response, WebError> {
    let status = state.engine.collection(&q.bereich, q.jahr, None).await?;
    let page = pages::review_queue(
        &account,
        state.engine.catalog(),
        &status,
        notice(q.erledigt.as_deref()),
    );
    Ok(html_page(page.into_string()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct DeadlineForm {
    csrf: String,
    bereich: String,
    /// The year (checked after the CSRF token).
    jahr: String,
    /// The deadline, an ISO date (the date field's value).
    frist: String,
}

impl CsrfField for DeadlineForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/sammlung/frist`: opens the collection or moves its deadline.
#[utoipa::path(
    post,
    path = "/web/sammlung/frist",
    operation_id = "web_collection_deadline",
    tag = "web",
    summary = "Open a collection or move its deadline (admin)",
    description = "An admin account opens the collection of a (domain, year) with a deadline or moves it, as `PUT /api/v1/collections/{domain}/{year}` does; then on to the collection.",
    request_body(content = inline(DeadlineForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 303, description = "Saved: on to the collection.", headers(("location" = String, description = "The collection's page"))),
        (status = 400, description = "The deadline is not a date.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not an admin account, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn set_deadline(
    State(state): State<AppState>,
    CsrfForm {
        who: Admin(account),
        form,
    }: CsrfForm<Admin, DeadlineForm>,
) -> Result<Response, WebError> {
    let opened = state
        .engine
        .open_collection(
            &form.bereich,
            year_of(&form.jahr)?,
            &form.frist,
            account.caller.actor(),
        )
        .await?;
    Ok(see_other(&format!(
        "/web/sammlung?bereich={}&jahr={}&erledigt=frist",
        opened.domain, opened.year
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ReviewForm {
    csrf: String,
    bereich: String,
    /// The year (checked after the CSRF token).
    jahr: String,
    mitglied: String,
    regel: String,
    /// `akzeptieren` or `zurueckfragen`.
    entscheidung: String,
    #[serde(default)]
    kommentar: String,
    /// Where to go on: `pruefliste` (the queue) or the member's review.
    #[serde(default)]
    zurueck: String,
    /// The submission whose warning the page showed.
    einreichung: String,
}

impl CsrfField for ReviewForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/sammlung/pruefung`: accepts a warning or asks it back.
#[utoipa::path(
    post,
    path = "/web/sammlung/pruefung",
    operation_id = "web_review_warning",
    tag = "web",
    summary = "Review a warning (admin)",
    description = "An admin account accepts a warning of a member's current figures or asks it back with a comment, as `POST /api/v1/collections/{domain}/{year}/reviews` does; then on to the queue or the member's review.",
    request_body(content = inline(ReviewForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 303, description = "Saved.", headers(("location" = String, description = "The queue or the member's review"))),
        (status = 400, description = "Asked back without a comment, or an unknown decision.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not an admin account, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 404, description = "No such warning on the member's current figures.", body = String, content_type = "text/html"),
        (status = 409, description = "Figures newer than the page showed.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn review_warning(
    State(state): State<AppState>,
    CsrfForm {
        who: Admin(account),
        form,
    }: CsrfForm<Admin, ReviewForm>,
) -> Result<Response, WebError> {
    let accepted = match form.entscheidung.as_str() {
        "akzeptieren" => true,
        "zurueckfragen" => false,
        _ => {
            return Err(WebError::bad_request(
                "Bitte akzeptieren Sie den Hinweis oder fragen Sie zurück.",
            ));
        }
    };
    if !accepted && form.kommentar.trim().is_empty() {
        return Err(WebError::bad_request(
            "Für eine Rückfrage schreiben Sie bitte in den Kommentar, was das Mitglied prüfen soll.",
        ));
    }
    let year = year_of(&form.jahr)?;
    let input = ReviewInput {
        domain: form.bereich.clone(),
        year,
        member_id: form.mitglied.clone(),
        rule: form.regel,
        accepted,
        comment: form.kommentar,
        submission_id: Some(form.einreichung),
    };
    let review = state.engine.review(input, account.caller.actor()).await?;
    if !review.accepted {
        crate::collection_mail::asked_back(&state, &form.bereich, year, &review).await;
    }
    let done = if accepted {
        "akzeptiert"
    } else {
        "zurueckgefragt"
    };
    let domain = url_safe(&form.bereich);
    Ok(see_other(&if form.zurueck == "pruefliste" {
        format!("/web/pruefung?bereich={domain}&jahr={year}&erledigt={done}")
    } else {
        format!(
            "/web/sammlung/mitglied?bereich={domain}&jahr={year}&mitglied={}&erledigt={done}",
            url_safe(&review.member_id)
        )
    }))
}

/// An id for a redirect's query: known ids are plain; anything else is
/// encoded so that it cannot add a parameter or leave the site.
fn url_safe(id: &str) -> String {
    pages::url_encode(id)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ApproveForm {
    csrf: String,
    bereich: String,
    /// The year (checked after the CSRF token).
    jahr: String,
    mitglied: String,
    /// The submission the page showed: refused when newer figures came.
    einreichung: String,
}

impl CsrfField for ApproveForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/sammlung/freigabe`: approves a member's current figures.
#[utoipa::path(
    post,
    path = "/web/sammlung/freigabe",
    operation_id = "web_approve",
    tag = "web",
    summary = "Approve a member's figures (admin)",
    description = "An admin account approves a member's current figures, as `POST /api/v1/collections/{domain}/{year}/approvals` does; then on to the member's review.",
    request_body(content = inline(ApproveForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 303, description = "Approved.", headers(("location" = String, description = "The member's review"))),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not an admin account, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 404, description = "Unknown domain or year, or a member not in the ring.", body = String, content_type = "text/html"),
        (status = 409, description = "No figures, warnings waiting for the member, or figures newer than the page showed.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn approve(
    State(state): State<AppState>,
    CsrfForm {
        who: Admin(account),
        form,
    }: CsrfForm<Admin, ApproveForm>,
) -> Result<Response, WebError> {
    let approval = state
        .engine
        .approve(
            &form.bereich,
            year_of(&form.jahr)?,
            &form.mitglied,
            Some(form.einreichung.as_str()),
            account.caller.actor(),
        )
        .await?;
    Ok(see_other(&format!(
        "/web/sammlung/mitglied?bereich={}&jahr={}&mitglied={}&erledigt=freigegeben",
        url_safe(&approval.domain),
        approval.year,
        url_safe(&approval.member_id)
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct RemindForm {
    csrf: String,
    bereich: String,
    /// The year (checked after the CSRF token).
    jahr: String,
    /// Whom: `offen` (not started and started), or one status id.
    wer: String,
    /// The text with placeholders.
    text: String,
    /// `vorschau` (nothing changes) or `senden`.
    aktion: String,
}

impl CsrfField for RemindForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/sammlung/erinnerung`: previews or sends reminders.
#[utoipa::path(
    post,
    path = "/web/sammlung/erinnerung",
    operation_id = "web_remind",
    tag = "web",
    summary = "Preview or send reminders (admin)",
    description = "An admin account previews (`aktion=vorschau`: the first mail's text and who would get one; nothing changes) or sends (`aktion=senden`) reminders to the members of an open collection in a status, as `POST /api/v1/collections/{domain}/{year}/reminders` does. The page shows what happened, with the form to send after a preview.",
    request_body(content = inline(RemindForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 200, description = "The preview, or what was sent.", body = String, content_type = "text/html"),
        (status = 400, description = "An unknown status or action, or a text over 5,000 characters.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not an admin account, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 409, description = "The collection is not open, or no mail server is configured.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn remind(
    State(state): State<AppState>,
    CsrfForm {
        who: Admin(account),
        form,
    }: CsrfForm<Admin, RemindForm>,
) -> Result<Response, WebError> {
    let year = year_of(&form.jahr)?;
    let send = match form.aktion.as_str() {
        "vorschau" => false,
        "senden" => true,
        _ => {
            return Err(WebError::bad_request(
                "Bitte wählen Sie Vorschau oder Senden.",
            ));
        }
    };
    let statuses = match form.wer.as_str() {
        "offen" => vec!["not_started".to_string(), "started".to_string()],
        one => vec![one.to_string()],
    };
    let status = state.engine.collection(&form.bereich, year, None).await?;
    let chosen = crate::collection_mail::chosen_members(&status, None, Some(statuses))?;
    let outcome = crate::collection_mail::remind(
        &state,
        &status,
        chosen,
        &form.text,
        send,
        account.caller.actor(),
    )
    .await?;
    let asked = pages::ReminderForm {
        who: &form.wer,
        text: &form.text,
    };
    let page = pages::reminders(&account, state.engine.catalog(), &status, &asked, &outcome);
    Ok(html_page(page.into_string()))
}
