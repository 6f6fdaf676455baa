//! The member's data entry without a spreadsheet: the form of a (domain,
//! year) with last year's values beside the fields, saving a draft,
//! submitting through the same checks as an upload (the entered values
//! become a CSV file for `Engine::submit`, so nothing is checked twice or
//! differently), and the XLSX template pre-filled with the member's
//! values that uploads back unchanged.

use std::collections::BTreeMap;

use vergleichsring_catalog::Domain;
use vergleichsring_catalog::numbers::de_exact;
use vergleichsring_engine::Figures;
use vergleichsring_engine::collection::later;

use super::*;

/// The years a member enters: this year back to five years before.
fn entry_years() -> Vec<i32> {
    let now = pages::this_year();
    (now - 5..=now).rev().collect()
}

/// A member's figures of a year, if it has any.
async fn figures_of(
    state: &AppState,
    domain: &str,
    year: i32,
    member: &str,
) -> Result<Option<Figures>, WebError> {
    match state.engine.figures(domain, year, member, None).await {
        Ok(f) => Ok(Some(f)),
        Err(EngineError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What the form shows for a (domain, year): the stored or drafted
/// values, whichever is newer, and last year's.
async fn entry_page<'a>(
    state: &AppState,
    member: &Member,
    domain: &'a Domain,
    year: i32,
) -> Result<pages::EntryPage<'a>, WebError> {
    let current = figures_of(state, &domain.id, year, &member.member_id).await?;
    let last = figures_of(state, &domain.id, year - 1, &member.member_id).await?;
    let collections = state.store.collections();
    let draft = collections
        .draft(&domain.id, year, &member.member_id)
        .filter(|d| {
            current
                .as_ref()
                .is_none_or(|c| later(&d.at, &c.submitted_at))
        });
    let (values, source): (BTreeMap<String, Option<f64>>, Option<String>) = match (draft, &current)
    {
        (Some(d), _) => (
            d.values
                .iter()
                .map(|(k, v)| (k.clone(), Some(*v)))
                .collect(),
            Some(format!(
                "Ihr Entwurf vom {}; noch nicht eingereicht.",
                crate::html::german_time(&d.at)
            )),
        ),
        (None, Some(c)) => (
            c.basic.clone(),
            Some(format!(
                "Ihre eingereichten Zahlen vom {}.",
                crate::html::german_time(&c.submitted_at)
            )),
        ),
        (None, None) => (BTreeMap::new(), None),
    };
    let fields = domain
        .basic_figures
        .iter()
        .map(|f| pages::EntryField {
            figure: f,
            value: values
                .get(&f.id)
                .copied()
                .flatten()
                .map(de_exact)
                .unwrap_or_default(),
            last_year: last
                .as_ref()
                .and_then(|l| l.basic.get(&f.id).copied().flatten()),
            errors: Vec::new(),
        })
        .collect();
    Ok(pages::EntryPage {
        domain,
        year,
        fields,
        source,
        errors: Vec::new(),
        notice: None,
        deadline: None,
    })
}

/// The domain and year of a query or form, checked.
fn domain_year(state: &AppState, domain: &str, year: &str) -> Result<(Domain, i32), WebError> {
    let d = state.engine.domain(domain)?;
    let year: i32 = year
        .trim()
        .parse()
        .ok()
        .filter(|y| vergleichsring_engine::YEARS.contains(y))
        .ok_or_else(|| {
            WebError::bad_request("Bitte wählen Sie ein Berichtsjahr zwischen 1990 und 2100.")
        })?;
    // The catalogue of the year: the figures asked then, with their
    // definitions then.
    Ok((d.in_year(year), year))
}

/// `GET /web/erfassung[?bereich=D&jahr=Y]`: the chooser or the form.
#[utoipa::path(
    get,
    path = "/web/erfassung",
    operation_id = "web_entry",
    tag = "web",
    summary = "Enter figures (member)",
    description = "For a member: without `bereich` and `jahr` the choice of domain and year; with them a form with every basic figure of the domain (label, unit, required ones marked, last year's value beside the field), filled with the member's draft or its current figures, whichever is newer, and the collection's deadline when open.",
    params(crate::contract::WebEntryQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 400, description = "A year that is not one from 1990 to 2100.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not a member's session.", body = String, content_type = "text/html"),
        (status = 404, description = "Unknown domain.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn entry(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<contract::WebEntryQuery>,
    SignedIn(member): SignedIn<Member>,
) -> Result<Response, WebError> {
    let (Some(domain), Some(year)) = (q.bereich.as_deref(), q.jahr.as_deref()) else {
        let page = pages::entry_chooser(&member, state.engine.catalog(), &entry_years());
        return Ok(html_page(page.into_string()));
    };
    let (domain, year) = domain_year(&state, domain, year)?;
    let domain = &domain;
    let mut page = entry_page(&state, &member, domain, year).await?;
    let collections = state.store.collections();
    page.deadline = collections
        .collection(&domain.id, year)
        .map(|c| c.deadline.as_str());
    if q.gespeichert.is_some() {
        page.notice = Some(
            "Der Entwurf ist gespeichert. Eingereicht ist er erst mit „Prüfen und einreichen“.",
        );
    }
    Ok(html_page(pages::entry(&member, &page).into_string()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct EntryForm {
    csrf: String,
    bereich: String,
    /// The year (checked after the CSRF token).
    jahr: String,
    /// `entwurf` (save a draft) or `einreichen` (check and submit).
    aktion: String,
    /// The values, one field `f_<figure id>` per basic figure, as typed
    /// (`1.234,5`); empty: not reported.
    #[serde(flatten)]
    values: BTreeMap<String, String>,
}

impl CsrfField for EntryForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The entered values, parsed: by figure id, and the fields that are not
/// numbers with their message.
type Parsed = (BTreeMap<String, Option<f64>>, BTreeMap<String, String>);

fn parse_values(domain: &Domain, form: &EntryForm) -> Parsed {
    let mut values = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for f in &domain.basic_figures {
        let typed = form
            .values
            .get(&pages::field_name(&f.id))
            .map(|s| s.trim())
            .unwrap_or("");
        if typed.is_empty() || vergleichsring_ingest::is_unknown(typed) {
            values.insert(f.id.clone(), None);
            continue;
        }
        match vergleichsring_ingest::parse_typed(typed) {
            Some(v) => {
                values.insert(f.id.clone(), Some(v));
            }
            None => {
                errors.insert(
                    f.id.clone(),
                    "Das ist keine Zahl. Schreiben Sie Zahlen wie 1.234,5.".to_string(),
                );
            }
        }
    }
    (values, errors)
}

/// The entered values as the CSV file an upload of them would be: the
/// member's row with every basic figure, numbers with a decimal point.
fn as_csv(member_id: &str, domain: &Domain, values: &BTreeMap<String, Option<f64>>) -> Vec<u8> {
    let mut header = vec!["member_id".to_string()];
    let mut row = vec![member_id.to_string()];
    for f in &domain.basic_figures {
        header.push(f.id.clone());
        row.push(
            values
                .get(&f.id)
                .copied()
                .flatten()
                .map(|v| format!("{v}"))
                .unwrap_or_default(),
        );
    }
    format!("{}\n{}\n", header.join(","), row.join(",")).into_bytes()
}

/// `POST /web/erfassung`: saves a draft, or checks and submits.
#[utoipa::path(
    post,
    path = "/web/erfassung",
    operation_id = "web_submit_entry",
    tag = "web",
    summary = "Save or submit entered figures (member)",
    description = "The member's form: `aktion=entwurf` saves the values as a draft (the collection shows the member as started); `aktion=einreichen` submits them through exactly the checks of an upload (the values become the member's row of a CSV file). Errors come back in place, beside their fields, and nothing is stored; a stored submission shows its warnings with a field to explain each. Counted like uploads (`limits.uploads_per_minute`), drafts included, before any work.",
    request_body(content = inline(EntryForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 201, description = "Submitted; the page lists the warnings to explain.", body = String, content_type = "text/html"),
        (status = 303, description = "Draft saved: the form again.", headers(("location" = String, description = "The form"))),
        (status = 400, description = "An unknown action or year.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not a member's session, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 409, description = "The (domain, year) is frozen.", body = String, content_type = "text/html"),
        (status = 422, description = "Refused: the form with every error beside its field; nothing was stored.", body = String, content_type = "text/html"),
        (status = 429, description = "Too many uploads and drafts in the last minute.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn submit_entry(
    State(state): State<AppState>,
    CsrfForm { who: member, form }: CsrfForm<Member, EntryForm>,
) -> Result<Response, WebError> {
    let (domain, year) = domain_year(&state, &form.bereich, &form.jahr)?;
    let domain = &domain;
    let draft = match form.aktion.as_str() {
        "entwurf" => true,
        "einreichen" => false,
        _ => {
            return Err(WebError::bad_request(
                "Bitte speichern Sie einen Entwurf oder reichen Sie ein.",
            ));
        }
    };
    // Counted before any work, drafts too: each is a change of the state.
    if let Err(wait) = state.rates.uploads.take(member.caller.rate_key()) {
        return Err(WebError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Sie haben in kurzer Zeit sehr oft gespeichert. Bitte warten Sie {} Sekunden und versuchen Sie es dann erneut.",
                wait.as_secs().max(1)
            ),
        ));
    }
    let (values, bad) = parse_values(domain, &form);
    if !bad.is_empty() {
        return refused_entry(&state, &member, domain, year, &form, bad, Vec::new()).await;
    }
    if draft {
        let entered: BTreeMap<String, f64> = values
            .iter()
            .filter_map(|(k, v)| v.map(|v| (k.clone(), v)))
            .collect();
        state
            .engine
            .save_draft(
                &domain.id,
                year,
                &member.member_id,
                entered,
                member.caller.actor(),
            )
            .await?;
        return Ok(see_other(&format!(
            "/web/erfassung?bereich={}&jahr={year}&gespeichert=1",
            domain.id
        )));
    }
    let outcome = state
        .engine
        .submit(SubmitRequest {
            domain: domain.id.clone(),
            year,
            content_type: Format::Csv.content_type().to_string(),
            body: as_csv(&member.member_id, domain, &values).into(),
            token_id: member.caller.actor().to_string(),
            own_member: Some(member.member_id.clone()),
        })
        .await;
    let catalog = state.engine.catalog();
    match outcome {
        Ok(o) => {
            let page = pages::upload_saved(catalog, &member, &domain.id, year, "Formular", &o);
            Ok((StatusCode::CREATED, html_page(page.into_string())).into_response())
        }
        Err(EngineError::Rejected(errors)) => {
            let mut by_field = BTreeMap::new();
            let mut general = Vec::new();
            for e in &errors {
                let text = pages::rule_message_de(catalog, &domain.id, e);
                match e
                    .column
                    .as_deref()
                    .filter(|c| domain.basic_figure(c).is_some())
                {
                    Some(c) => {
                        by_field.insert(c.to_string(), text);
                    }
                    None => general.push(text),
                }
            }
            refused_entry(&state, &member, domain, year, &form, by_field, general).await
        }
        Err(EngineError::Store(vergleichsring_store::StoreError::Frozen { release, .. })) => {
            let page = pages::upload_frozen(catalog, &member, &domain.id, year, &release);
            Ok((StatusCode::CONFLICT, html_page(page.into_string())).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// The form again with the values as typed and the errors in place (422).
async fn refused_entry(
    state: &AppState,
    member: &Member,
    domain: &Domain,
    year: i32,
    form: &EntryForm,
    by_field: BTreeMap<String, String>,
    general: Vec<String>,
) -> Result<Response, WebError> {
    let mut page = entry_page(state, member, domain, year).await?;
    page.source = None;
    page.errors = general;
    for f in &mut page.fields {
        f.value = form
            .values
            .get(&pages::field_name(&f.figure.id))
            .cloned()
            .unwrap_or_default();
        if let Some(e) = by_field.get(&f.figure.id) {
            f.errors.push(e.clone());
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        html_page(pages::entry(member, &page).into_string()),
    )
        .into_response())
}

/// `GET /web/erfassung/vorlage?bereich=D&jahr=Y`: the XLSX template.
#[utoipa::path(
    get,
    path = "/web/erfassung/vorlage",
    operation_id = "web_entry_template",
    tag = "web",
    summary = "The XLSX template (member)",
    description = "For a member: an XLSX workbook whose first sheet is the upload of the (domain, year): a header of figure ids and the member's row, filled with its current figures of the year, else of the year before; a second sheet names every figure with label, unit, whether it is required, its definition and its source in the national statistics. Uploaded back unchanged, it stores the same figures.",
    params(crate::contract::WebEntryQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The workbook.", body = String, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "No domain or year, or a year outside 1990 to 2100.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not a member's session.", body = String, content_type = "text/html"),
        (status = 404, description = "Unknown domain.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn entry_template(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<contract::WebEntryQuery>,
    SignedIn(member): SignedIn<Member>,
) -> Result<Response, WebError> {
    let (Some(domain), Some(year)) = (q.bereich.as_deref(), q.jahr.as_deref()) else {
        return Err(WebError::bad_request("Bitte wählen Sie Sparte und Jahr."));
    };
    let (domain, year) = domain_year(&state, domain, year)?;
    let domain = &domain;
    let current = figures_of(&state, &domain.id, year, &member.member_id).await?;
    let values = match current {
        Some(c) => c.basic,
        None => figures_of(&state, &domain.id, year - 1, &member.member_id)
            .await?
            .map(|f| f.basic)
            .unwrap_or_default(),
    };
    let bytes = crate::render::entry_template(&member.member_id, domain, year, &values)?;
    Ok((
        [
            (CONTENT_TYPE, vergleichsring_ingest::XLSX_TYPE.to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"vorlage-{}-{year}.xlsx\"", domain.id),
            ),
        ],
        bytes,
    )
        .into_response())
}
