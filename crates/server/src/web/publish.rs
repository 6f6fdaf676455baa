//! The coordinator's publishing and freezing of a (domain, year), each with
//! a confirmation step: the page shows the collection's state, the
//! publications so far (how many members changed, how many groups the
//! audit withheld) and the releases; a post without `bestaetigt=ja` shows
//! what would happen and asks again, with it the engine publishes or
//! freezes as `POST /api/v1/publications/...` and `POST /api/v1/releases/...`
//! do.

use maud::{Markup, html};
use vergleichsring_catalog::numbers::de_number;
use vergleichsring_engine::collection::Status;
use vergleichsring_engine::publication::Trigger;

use super::*;

/// What the page shows besides the collection.
struct PublishView<'a> {
    notice: Option<String>,
    /// The action to confirm (`veroeffentlichen` or `einfrieren`).
    confirm: Option<&'a str>,
}

async fn page(
    state: &AppState,
    account: &Account,
    domain: &str,
    year: i32,
    view: PublishView<'_>,
) -> Result<Response, WebError> {
    let status = state.engine.collection(domain, year, None).await?;
    let publications = state.engine.publications(Some(domain), Some(year))?;
    let releases: Vec<_> = state
        .engine
        .releases(None)?
        .into_iter()
        .filter(|r| r.domain == domain && r.year == year)
        .collect();
    let label = pages::domain_label(state.engine.catalog(), domain).to_string();
    let count = |s: Status| status.counts.get(&s).copied().unwrap_or(0);
    let with_figures = status
        .members
        .iter()
        .filter(|m| m.submission_id.is_some())
        .count();
    let frozen = releases.iter().any(|r| r.reopened_at.is_none());
    // Before a publication is confirmed, what it would do: the engine
    // prepares it as it would publish, recording nothing.
    let preview = match view.confirm {
        Some("veroeffentlichen") => Some(match state.engine.publish_preview(domain, year).await {
            Ok(p) => Ok(p),
            Err(e) => Err(refusal_notice(&e).ok_or(e)?),
        }),
        _ => None,
    };
    let catalog = state.engine.catalog();
    let content = html! {
        p { a href=(format!("/web/sammlung?bereich={domain}&jahr={year}")) { "Zur Erhebung " (label) " " (year) } }
        h1 { "Veröffentlichen: " (label) " " (year) }
        @if let Some(n) = &view.notice { p class="notice" role="status" { (n) } }
        section aria-labelledby="stand" {
            h2 id="stand" { "Stand" }
            p { (de_number(with_figures as f64, 0)) " von " (de_number(status.members.len() as f64, 0)) " Mitgliedern haben Zahlen; freigegeben: "
                (de_number(count(Status::Approved) as f64, 0)) "; Hinweise offen: " (de_number(count(Status::WarningsOpen) as f64, 0)) "." }
            @if frozen { p class="notice" { "Das Jahr ist eingefroren: Uploads werden abgewiesen, bis es wieder geöffnet wird." } }
        }
        @if let Some(action) = view.confirm {
            (confirmation(account, domain, year, action, with_figures, count(Status::Approved), preview.as_ref(), catalog))
        } @else {
            section aria-labelledby="aktionen" {
                h2 id="aktionen" { "Aktionen" }
                p { "Veröffentlichen prüft alle Gruppen aller Kennzahlen gegen alles bisher Veröffentlichte (Regeln 9 bis 11) und macht den Stand für Mitglieder, Analysen und Beratung sichtbar. Einfrieren hält den Stand als Release fest und weist weitere Uploads ab." }
                (action_form(account, domain, year, "veroeffentlichen", "Veröffentlichen …", false))
                @if !frozen { (action_form(account, domain, year, "einfrieren", "Einfrieren …", false)) }
            }
        }
        (history(&publications, &releases))
    };
    let page = layout::layout(
        &format!("Veröffentlichen {label} {year}"),
        Some((&account.name, &account.csrf)),
        content,
    );
    Ok(html_page(page.into_string()))
}

fn action_form(
    account: &Account,
    domain: &str,
    year: i32,
    action: &str,
    label: &str,
    confirmed: bool,
) -> Markup {
    html! {
        form method="post" action="/web/veroeffentlichen" class="row" {
            input type="hidden" name="csrf" value=(account.csrf);
            input type="hidden" name="bereich" value=(domain);
            input type="hidden" name="jahr" value=(year);
            input type="hidden" name="aktion" value=(action);
            @if confirmed { input type="hidden" name="bestaetigt" value="ja"; }
            button type="submit" { (label) }
        }
    }
}

/// Rule 10's refusals in German, for the page rather than as an error.
fn refusal_notice(e: &EngineError) -> Option<String> {
    match e {
        EngineError::TooFewChanges { changed, threshold, .. } => Some(format!(
            "Noch nicht veröffentlicht: erst {changed} Mitglieder haben seit der letzten Veröffentlichung neue Zahlen, nötig sind mindestens {threshold} (Regel 10: sonst ließe sich eine einzelne Änderung aus dem Unterschied ablesen)."
        )),
        EngineError::NothingChanged { .. } => Some(
            "Seit der letzten Veröffentlichung hat sich nichts geändert; es gibt nichts zu veröffentlichen.".to_string(),
        ),
        EngineError::Conflict(_) => Some("Für dieses Jahr gibt es noch keine Zahlen zu veröffentlichen.".to_string()),
        _ => None,
    }
}

/// Why a group is withheld, in German, from the reason's code.
fn reason_de(code: &str) -> &str {
    match code {
        "below_threshold" => "zu wenige Mitglieder (Regeln 1 und 2)",
        "all_equal" => "alle Werte gleich (Regel 4)",
        "complement" => "Ergänzung, sonst ließe sich eine verdeckte Gruppe ausrechnen (Regel 5)",
        "audit" => "Prüfung aller Veröffentlichungen zusammen (Regel 11)",
        "protected" => "geschützt (Regel 16)",
        other => other,
    }
}

/// How many withheld groups the confirmation lists one by one.
const LISTED: usize = 200;

/// What a publication would do: members changed, groups released and
/// withheld (by reason, then the first [`LISTED`] one by one).
fn preview_section(
    p: &vergleichsring_engine::publication::PublishPreview,
    domain: &str,
    catalog: &vergleichsring_catalog::Catalog,
) -> Markup {
    let mut by_reason: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, w) in &p.withheld {
        *by_reason.entry(w.reason.as_str()).or_default() += 1;
    }
    let figure = |id: &str| {
        catalog
            .domains
            .iter()
            .find(|d| d.id == domain)
            .and_then(|d| d.key_figures.iter().find(|k| k.id == id))
            .map_or_else(|| id.to_string(), |k| k.label.clone())
    };
    html! {
        section aria-labelledby="vorschau" {
            h3 id="vorschau" { "Was die Veröffentlichung täte" }
            p { (de_number(p.changed_members as f64, 0)) " Mitglieder haben seit der letzten Veröffentlichung neue, geänderte oder zurückgezogene Zahlen. "
                (de_number(p.disclosed as f64, 0)) " Gruppenwerte würden freigegeben, "
                (de_number(p.withheld.len() as f64, 0)) " zurückgehalten, davon "
                (de_number(p.suppressed_by_audit as f64, 0)) " allein wegen der Prüfung aller Veröffentlichungen zusammen (Regel 11)." }
            @if !by_reason.is_empty() {
                ul { @for (reason, n) in &by_reason { li { (de_number(*n as f64, 0)) " × " (reason_de(reason)) } } }
                table {
                    caption { "Zurückgehaltene Gruppen" @if p.withheld.len() > LISTED { " (die ersten " (LISTED) ")" } }
                    thead { tr { th scope="col" { "Kennzahl" } th scope="col" { "Gliederung" } th scope="col" { "Gruppe" } th scope="col" { "Grund" } } }
                    tbody {
                        @for (f, w) in p.withheld.iter().take(LISTED) {
                            tr { td { (figure(f)) } td { (w.dimension) } td { (w.group) } td { (reason_de(&w.reason)) } }
                        }
                    }
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn confirmation(
    account: &Account,
    domain: &str,
    year: i32,
    action: &str,
    with_figures: usize,
    approved: usize,
    preview: Option<&Result<vergleichsring_engine::publication::PublishPreview, String>>,
    catalog: &vergleichsring_catalog::Catalog,
) -> Markup {
    let (what, button) = if action == "einfrieren" {
        (
            "einfrieren: danach weist der Ring Uploads für dieses Jahr ab, bis es wieder geöffnet wird",
            "Ja, einfrieren",
        )
    } else {
        (
            "veröffentlichen: die Statistiken dieses Stands werden für alle Rollen sichtbar",
            "Ja, veröffentlichen",
        )
    };
    html! {
        section class="notice" role="alert" aria-labelledby="bestaetigen" {
            h2 id="bestaetigen" { "Bitte bestätigen" }
            p { "Sie wollen " (domain) " " (year) " " (what) ". " (de_number(with_figures as f64, 0)) " Mitglieder haben Zahlen, "
                (de_number(approved as f64, 0)) " davon freigegeben." }
            @match preview {
                Some(Err(refused)) => { p { (refused) } }
                Some(Ok(p)) => {
                    (preview_section(p, domain, catalog))
                    (action_form(account, domain, year, action, button, true))
                }
                None => { (action_form(account, domain, year, action, button, true)) }
            }
            p { a href=(format!("/web/veroeffentlichen?bereich={domain}&jahr={year}")) { "Abbrechen" } }
        }
    }
}

fn history(
    publications: &[vergleichsring_store::Publication],
    releases: &[vergleichsring_store::DataRelease],
) -> Markup {
    html! {
        section aria-labelledby="bisher" {
            h2 id="bisher" { "Bisherige Veröffentlichungen" }
            @if publications.is_empty() { p { "Noch keine." } } @else {
                table {
                    (layout::table_head(&["Veröffentlichung", "Am", "Anlass", "Geänderte Mitglieder", "Vom Abgleich zurückgehalten"]))
                    tbody {
                        @for p in publications {
                            tr {
                                td { (p.id) }
                                td { (crate::html::german_time(&p.published_at)) }
                                td { (p.trigger) }
                                td class="num" { (de_number(p.changed_members as f64, 0)) }
                                td class="num" { (de_number(p.suppressed_by_audit as f64, 0)) }
                            }
                        }
                    }
                }
            }
            @for r in releases {
                p class="muted" { "Release " (r.id) " eingefroren am " (crate::html::german_time(&r.frozen_at))
                    @if let Some(at) = &r.reopened_at { ", wieder geöffnet am " (crate::html::german_time(at)) } }
            }
        }
    }
}

/// `GET /web/veroeffentlichen?bereich=D&jahr=Y`.
#[utoipa::path(
    get,
    path = "/web/veroeffentlichen",
    operation_id = "web_publish_page",
    tag = "web",
    summary = "Publish and freeze (admin)",
    description = "For an admin account: the state of the (domain, year) (members with figures, approved, warnings open), its publications with the members changed and the groups the audit withheld, its releases, and the buttons to publish or freeze, each followed by a confirmation.",
    params(crate::contract::WebDomainYearQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        crate::contract::responses::NotAdminPage,
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn publish_page(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<contract::WebDomainYearQuery>,
    SignedIn(Admin(account)): SignedIn<Admin>,
) -> Result<Response, WebError> {
    let notice = match q.erledigt.as_deref() {
        Some("veroeffentlicht") => Some("Veröffentlicht.".to_string()),
        Some("eingefroren") => Some("Eingefroren.".to_string()),
        _ => None,
    };
    page(
        &state,
        &account,
        &q.bereich,
        q.jahr,
        PublishView {
            notice,
            confirm: None,
        },
    )
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct PublishForm {
    csrf: String,
    bereich: String,
    /// The year (checked after the CSRF token).
    jahr: String,
    /// `veroeffentlichen` or `einfrieren`.
    aktion: String,
    /// `ja` once confirmed; without it the page asks.
    #[serde(default)]
    bestaetigt: String,
}

impl CsrfField for PublishForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/veroeffentlichen`: asks for confirmation, then publishes or
/// freezes.
#[utoipa::path(
    post,
    path = "/web/veroeffentlichen",
    operation_id = "web_publish",
    tag = "web",
    summary = "Publish or freeze, confirmed (admin)",
    description = "An admin account publishes (`aktion=veroeffentlichen`) or freezes (`aktion=einfrieren`) a (domain, year). Without `bestaetigt=ja` the page shows what would happen and asks again; with it the engine publishes after the audit (as `POST /api/v1/publications/{domain}/{year}`) or freezes (as `POST /api/v1/releases/{domain}/{year}`).",
    request_body(content = inline(PublishForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 200, description = "The confirmation.", body = String, content_type = "text/html"),
        (status = 303, description = "Done: the page again with a notice.", headers(("location" = String, description = "The publishing page"))),
        (status = 400, description = "An unknown action or year.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not an admin account, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = String, content_type = "text/html"),
        (status = 409, description = "Nothing to publish, or already frozen.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn publish(
    State(state): State<AppState>,
    CsrfForm {
        who: Admin(account),
        form,
    }: CsrfForm<Admin, PublishForm>,
) -> Result<Response, WebError> {
    let year: i32 = form
        .jahr
        .trim()
        .parse()
        .map_err(|_| WebError::bad_request("Das Jahr ist keine Zahl."))?;
    let action = match form.aktion.as_str() {
        a @ ("veroeffentlichen" | "einfrieren") => a,
        _ => {
            return Err(WebError::bad_request(
                "Bitte wählen Sie Veröffentlichen oder Einfrieren.",
            ));
        }
    };
    let domain = state.engine.domain(&form.bereich)?.id.clone();
    if form.bestaetigt != "ja" {
        let view = PublishView {
            notice: None,
            confirm: Some(action),
        };
        return page(&state, &account, &domain, year, view).await;
    }
    let done = if action == "einfrieren" {
        state
            .engine
            .freeze(&domain, year, account.caller.actor())
            .await?;
        "eingefroren"
    } else {
        match state
            .engine
            .publish(&domain, year, Trigger::Admin, account.caller.actor())
            .await
        {
            Ok(_) => "veroeffentlicht",
            // Nothing new, or too little (rule 10): said in German on the
            // page, not as an error.
            Err(e @ (EngineError::NothingChanged { .. } | EngineError::TooFewChanges { .. })) => {
                let notice = refusal_notice(&e).unwrap_or_default();
                let view = PublishView {
                    notice: Some(notice),
                    confirm: None,
                };
                let page = page(&state, &account, &domain, year, view).await?;
                return Ok((StatusCode::CONFLICT, page).into_response());
            }
            Err(e) => return Err(e.into()),
        }
    };
    Ok(see_other(&format!(
        "/web/veroeffentlichen?bereich={domain}&jahr={year}&erledigt={done}"
    )))
}
