//! The analysts' custom-group builder (`/web/analyse/gruppe`): members
//! filtered by Land, kind, size class (from the official population of the
//! municipality register, public and the same for every member whether it
//! reported or not) and name; the audit's answer for the group in a
//! (domain, year)'s publication before it is saved (rules 6 and 11,
//! nothing recorded; counted like queries, before the work); then saved
//! as `POST /api/v1/groups` does.

use std::collections::BTreeMap;

use maud::{Markup, html};
use vergleichsring_catalog::{LAENDER, MemberKind};
use vergleichsring_store::{CustomGroup, Member as RingMember};

use super::*;

/// The filters, as the query or the form gives them.
#[derive(Deserialize, utoipa::ToSchema, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub(super) struct GroupFilter {
    /// A Land's two digits; empty: every Land.
    #[serde(default)]
    land: String,
    /// `kreisfreie_stadt`, `kreisangehoerige_gemeinde` or `landkreis`;
    /// empty: every kind.
    #[serde(default)]
    art: String,
    /// A part of the name; empty: every name.
    #[serde(default)]
    suche: String,
    /// A size class (`GK1` … `GK7`, `LK1` … `LK3`) from the population of
    /// the official municipality register; empty: every class.
    #[serde(default)]
    klasse: String,
    /// The domain whose publication the audit checks against.
    #[serde(default)]
    bereich: String,
    /// The year of that publication.
    #[serde(default)]
    jahr: String,
}

impl GroupFilter {
    fn matches(&self, m: &RingMember, classes: &BTreeMap<&str, String>) -> bool {
        let needle = self.suche.trim().to_lowercase();
        (self.land.is_empty() || m.member_id.starts_with(&self.land))
            && (self.art.is_empty() || m.kind.as_str() == self.art)
            && (needle.is_empty() || m.name.to_lowercase().contains(&needle))
            && (self.klasse.is_empty() || classes.get(m.member_id.as_str()) == Some(&self.klasse))
    }

    /// The filter with the first domain of the catalogue when none is
    /// given (as the page's selection shows it).
    fn or_first_domain(mut self, catalog: &vergleichsring_catalog::Catalog) -> GroupFilter {
        if self.bereich.trim().is_empty()
            && let Some(d) = catalog.domains.first()
        {
            self.bereich = d.id.clone();
        }
        self
    }

    /// The year of the audit: the one given, else last year.
    fn year(&self) -> i32 {
        self.jahr.trim().parse().unwrap_or(pages::this_year() - 1)
    }
}

/// The members a filter selects, by id. A member's size class follows
/// from its population in the official municipality register (a Kreis:
/// the sum of its municipalities), a public figure (rule 13): published
/// groups would name only the members that reported, so that a filter on
/// them would tell who did.
fn selected(state: &AppState, f: &GroupFilter) -> Result<Vec<RingMember>, WebError> {
    let members = state.store.members_map();
    let mut classes = BTreeMap::new();
    if !f.klasse.is_empty() {
        let register = vergleichsring_catalog::register::Register::bundled();
        let catalog = state.engine.catalog();
        for m in members.values() {
            let class = register
                .propose(&m.member_id)
                .and_then(|p| catalog.size_class(m.kind, p.population as f64))
                .map(|c| c.id.clone());
            if let Some(c) = class {
                classes.insert(m.member_id.as_str(), c);
            }
        }
    }
    Ok(members
        .values()
        .filter(|m| f.matches(m, &classes))
        .cloned()
        .collect())
}

fn page(
    state: &AppState,
    account: &Account,
    f: &GroupFilter,
    members: &[RingMember],
    verdict: Option<Markup>,
) -> Markup {
    let catalog = state.engine.catalog();
    let year = f.year();
    layout::layout(
        "Eigene Vergleichsgruppe",
        Some((&account.name, &account.csrf)),
        html! {
            p { a href="/web/analyse" { "Zur Analyse" } }
            h1 { "Eigene Vergleichsgruppe" }
            form method="get" action="/web/analyse/gruppe" class="row" {
                div { label for="land" { "Land" }
                    select id="land" name="land" { option value="" { "alle" }
                        @for (code, name) in LAENDER { option value=(code) selected[f.land == code] { (name) } } } }
                div { label for="art" { "Art" }
                    select id="art" name="art" { option value="" { "alle" }
                        @for k in [MemberKind::KreisfreieStadt, MemberKind::KreisangehoerigeGemeinde, MemberKind::Landkreis] {
                            option value=(k.as_str()) selected[f.art == k.as_str()] { (k.as_str()) } } } }
                div { label for="klasse" { "Größenklasse" }
                    select id="klasse" name="klasse" { option value="" { "alle" }
                        @for c in &catalog.size_classes { option value=(c.id) selected[f.klasse == c.id] { (c.id) " – " (c.label) } } } }
                div { label for="suche" { "Name enthält" } input id="suche" type="text" name="suche" value=(f.suche); }
                div { label for="bereich" { "Sparte" }
                    select id="bereich" name="bereich" { @for d in &catalog.domains { option value=(d.id) selected[d.id == f.bereich] { (d.label) } } } }
                div { label for="jahr" { "Jahr" } input id="jahr" type="text" inputmode="numeric" name="jahr" value=(year); }
                button type="submit" { "Auswählen" }
            }
            p class="muted" { "Die Größenklasse folgt aus der amtlichen Einwohnerzahl des Gemeindeverzeichnisses (GV-ISys, © Statistisches Bundesamt); Sparte und Jahr bestimmen die Veröffentlichung, gegen die geprüft wird." }
            section aria-labelledby="auswahl" {
                h2 id="auswahl" { (members.len()) " Mitglieder ausgewählt" }
                ul { @for m in members.iter().take(200) { li { (m.name) " " span class="muted" { (m.member_id) } } } }
                @if members.len() > 200 { p class="muted" { "Die ersten 200 sind gezeigt." } }
            }
            @if let Some(v) = verdict { (v) }
            section aria-labelledby="pruefen" {
                h2 id="pruefen" { "Prüfen und speichern" }
                form method="post" action="/web/analyse/gruppe" {
                    input type="hidden" name="csrf" value=(account.csrf);
                    input type="hidden" name="land" value=(f.land);
                    input type="hidden" name="art" value=(f.art);
                    input type="hidden" name="suche" value=(f.suche);
                    input type="hidden" name="klasse" value=(f.klasse);
                    input type="hidden" name="bereich" value=(f.bereich);
                    input type="hidden" name="jahr" value=(year);
                    p { "Geprüft wird gegen die letzte Veröffentlichung von " (pages::domain_label(catalog, &f.bereich)) " " (year) "." }
                    div class="row" {
                        div { label for="gruppe-id" { "Kennung (klein, z. B. ruhr_staedte)" } input id="gruppe-id" type="text" name="id"; }
                        div { label for="gruppe-name" { "Name" } input id="gruppe-name" type="text" name="name"; }
                    }
                    div class="row" {
                        button type="submit" name="aktion" value="pruefen" { "Prüfen" }
                        button type="submit" name="aktion" value="speichern" { "Speichern" }
                    }
                }
            }
        },
    )
}

/// `GET /web/analyse/gruppe`: the builder.
#[utoipa::path(
    get,
    path = "/web/analyse/gruppe",
    operation_id = "web_group_builder",
    tag = "web",
    summary = "Build a custom group (analyst)",
    description = "For an analyst's or admin's account: members filtered by Land, kind, size class (from the official population of the municipality register) and a part of the name, with the form to check the group against a publication's audit and to save it.",
    params(GroupFilter),
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        crate::contract::responses::NotAnalystPage,
    )
)]
pub(super) async fn builder(
    State(state): State<AppState>,
    ApiQuery(f): ApiQuery<GroupFilter>,
    SignedIn(AnalystAccount(account)): SignedIn<AnalystAccount>,
) -> Result<Response, WebError> {
    let f = f.or_first_domain(state.engine.catalog());
    state.engine.domain(&f.bereich)?;
    let members = selected(&state, &f)?;
    Ok(html_page(
        page(&state, &account, &f, &members, None).into_string(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct GroupForm {
    csrf: String,
    /// The filter's Land (see the page's query).
    #[serde(default)]
    land: String,
    /// The filter's kind.
    #[serde(default)]
    art: String,
    /// The filter's part of a name.
    #[serde(default)]
    suche: String,
    /// The filter's size class.
    #[serde(default)]
    klasse: String,
    /// The domain of the audit.
    #[serde(default)]
    bereich: String,
    /// The year of the audit.
    #[serde(default)]
    jahr: String,
    /// `pruefen` (the audit's answer, nothing saved) or `speichern`.
    aktion: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

impl CsrfField for GroupForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/analyse/gruppe`: checks or saves the group.
#[utoipa::path(
    post,
    path = "/web/analyse/gruppe",
    operation_id = "web_save_group",
    tag = "web",
    summary = "Check or save a custom group (analyst)",
    description = "`aktion=pruefen` shows what the audit of the (domain, year)'s publication would answer for the selected members (rules 6 and 11; nothing is recorded; counted against `limits.queries_per_minute` before the work); `aktion=speichern` saves the group as `POST /api/v1/groups` does and goes on to the explorer with it.",
    request_body(content = inline(GroupForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 200, description = "The audit's answer.", body = String, content_type = "text/html"),
        (status = 303, description = "Saved: on to the explorer.", headers(("location" = String, description = "The explorer with the group"))),
        (status = 400, description = "An unknown action or year.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Neither an analyst's nor an admin's account, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 409, description = "A group with that id exists.", body = String, content_type = "text/html"),
        (status = 422, description = "The group is refused (an id, name or size the rules do not allow).", body = String, content_type = "text/html"),
        (status = 429, description = "Too many checks and queries in the last minute.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn save_group(
    State(state): State<AppState>,
    CsrfForm {
        who: AnalystAccount(account),
        form,
    }: CsrfForm<AnalystAccount, GroupForm>,
) -> Result<Response, WebError> {
    let filter = GroupFilter {
        land: form.land,
        art: form.art,
        suche: form.suche,
        klasse: form.klasse,
        bereich: form.bereich,
        jahr: form.jahr,
    }
    .or_first_domain(state.engine.catalog());
    state.engine.domain(&filter.bereich)?;
    let members = selected(&state, &filter)?;
    let group = CustomGroup {
        id: if form.id.trim().is_empty() {
            "vorschau".into()
        } else {
            form.id.trim().to_string()
        },
        name: form.name.trim().to_string(),
        member_ids: members.iter().map(|m| m.member_id.clone()).collect(),
    };
    match form.aktion.as_str() {
        "pruefen" => {
            // The audit is work: counted like a query, before it.
            state.rates.queries.check(account.caller.rate_key())?;
            let year: i32 = filter
                .jahr
                .trim()
                .parse()
                .map_err(|_| WebError::bad_request("Das Jahr ist keine Zahl."))?;
            let answer = state
                .engine
                .preview_group(&filter.bereich, year, &group)
                .await?;
            let verdict = html! {
                section class=(if matches!(answer, Some(Ok(()))) { "ok" } else { "notice" }) role="status" aria-labelledby="antwort" {
                    h2 id="antwort" { "Antwort der Prüfung" }
                    @match &answer {
                        None => p { "Für dieses Jahr gibt es noch keine Veröffentlichung; geprüft wird, sobald es eine gibt." },
                        Some(Ok(())) => p { "Die Gruppe würde in der Veröffentlichung freigegeben (Regeln 6 und 11)." },
                        Some(Err(r)) => p { "Die Gruppe würde zurückgehalten: " (r.message) " (" (r.reason) ")" },
                    }
                }
            };
            Ok(html_page(
                page(&state, &account, &filter, &members, Some(verdict)).into_string(),
            ))
        }
        "speichern" => {
            let saved = state.engine.create_group(group).await?;
            Ok(see_other(&format!(
                "/web/analyse?bereich={}&jahr={}&gruppierung={}",
                pages::url_encode(&filter.bereich),
                pages::url_encode(&filter.jahr),
                pages::url_encode(&saved.id)
            )))
        }
        _ => Err(WebError::bad_request(
            "Bitte prüfen oder speichern Sie die Gruppe.",
        )),
    }
}
