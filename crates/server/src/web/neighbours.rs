//! "Warum ist X mein Nachbar": a member's structural neighbours for a
//! (domain, year) as a page, from the same answer as
//! `GET /api/v1/neighbours/{domain}/{year}`: each neighbour's distance and
//! the share each variable contributes to it where the caller may see
//! names, else the group's structural profile.

use maud::{Markup, html};
use vergleichsring_catalog::numbers::de_number;
use vergleichsring_engine::Neighbours;

use super::*;

/// Query of the neighbours page.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NeighboursPageQuery {
    /// The member whose neighbours to show (analysts, admin, consultants;
    /// a member sees its own).
    pub von: Option<String>,
}

/// A variable's German name.
fn label(state: &AppState, domain: &str, variable: &str) -> String {
    match variable {
        "log_population" => "Einwohner".into(),
        "log_density" => "Einwohner je km²".into(),
        "log_area" => "Fläche in km²".into(),
        "degurba" => "Verstädterungsgrad (1 dicht – 3 gering besiedelt)".into(),
        other => state
            .engine
            .catalog()
            .domain(domain)
            .and_then(|d| d.basic_figures.iter().find(|f| f.id == other))
            .map_or_else(|| other.to_string(), |f| f.label.clone()),
    }
}

/// A value as people read it: whole numbers for inhabitants and areas,
/// one decimal for the degree of urbanisation.
fn value(variable: &str, x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    de_number(x, if variable == "degurba" { 1 } else { 0 })
}

/// A share as a percentage with a bar.
fn share(x: f64) -> Markup {
    let pct = (x * 100.0).clamp(0.0, 100.0);
    html! {
        span class="bar" style=(format!("display:inline-block;width:{:.0}px;height:0.8em;background:#4a6fa5;margin-right:0.3em", pct)) {}
        (de_number(pct, 0)) " %"
    }
}

/// `GET /web/nachbarn/{domain}/{year}[?von=ID]`.
#[utoipa::path(
    get,
    path = "/web/nachbarn/{domain}/{year}",
    operation_id = "web_neighbours",
    tag = "web",
    summary = "Why these are a member's structural neighbours",
    description = "A member's structural neighbours in a (domain, year) as a page: for admin, analysts and members of a ring in `named` mode each neighbour with its distance and each variable's share of it; for everyone the group's structural profile. A member sees its own, a consultant a granting member's (`von`), analysts and admin any member's.",
    params(crate::contract::DomainYearPath, NeighboursPageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 400, description = "No member named.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Another member's neighbours, or give to get.", body = String, content_type = "text/html"),
        (status = 404, description = "Unknown domain, year or member.", body = String, content_type = "text/html"),
        (status = 409, description = "Not published yet.", body = String, content_type = "text/html"),
        (status = 422, description = "The member has no figures or no structure.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn neighbours_page(
    State(state): State<AppState>,
    path: Result<ApiPath<contract::DomainYearPath>, ApiError>,
    ApiQuery(q): ApiQuery<NeighboursPageQuery>,
    SignedIn(account): SignedIn<Account>,
) -> Result<Response, WebError> {
    let ApiPath(contract::DomainYearPath { domain, year }) =
        path.map_err(|_| WebError::bad_request("Sparte oder Jahr in der Adresse passen nicht."))?;
    let of = account
        .caller
        .neighbours_of(q.von.as_deref(), None)?
        .ok_or_else(|| {
            WebError::bad_request("Bitte nennen Sie das Mitglied mit ?von=Gemeindeschlüssel.")
        })?;
    let n = state
        .engine
        .neighbours(&domain, year, &of, account.caller.audience())
        .await?;
    account
        .caller
        .log_access(&state, "neighbours", &of, Some(&domain), Some(year));
    let name = state
        .store
        .members_map()
        .get(&of)
        .map_or_else(|| of.clone(), |m| m.name.clone());
    let domain_label = state
        .engine
        .catalog()
        .domain(&domain)
        .map_or_else(|| domain.clone(), |d| d.label.clone());
    let page = layout::layout(
        "Strukturnachbarn",
        Some((&account.name, &account.csrf)),
        body(&state, &n, &name, &domain_label),
    );
    Ok(html_page(page.into_string()))
}

/// The page's content.
fn body(state: &AppState, n: &Neighbours, name: &str, domain_label: &str) -> Markup {
    let labels: Vec<String> = n
        .variables
        .iter()
        .map(|v| label(state, &n.domain, v))
        .collect();
    html! {
        p { a href="/web" { "Zurück zur Übersicht" } }
        h1 { "Strukturnachbarn von " (name) }
        p {
            (domain_label) " " (n.year) ": Mitglieder mit Zahlen, deren Struktur der von "
            (name) " am nächsten ist (Landkreise unter Landkreisen), nach dem euklidischen Abstand der standardisierten Merkmale. "
            "Im Vergleich mit der Gruppierung „Strukturnachbarn“ stehen sie mit " (name) " in einer Gruppe."
        }
        @if n.stand_in {
            p class="notice" {
                "Die Gruppe ist nicht genau die der " (n.k) " nächsten Mitglieder: eine schon veröffentlichte Gruppe"
                @if let Some(other) = &n.shared_with { " (" (other) ")" }
                " unterscheidet sich von ihnen um weniger Mitglieder als die Schwelle und wird an ihrer Stelle verwendet, "
                "denn zwei so ähnliche Gruppen ließen sich gegeneinander verrechnen."
            }
        } @else {
            p { "Es sind die " (n.k) " nächsten Mitglieder." }
        }
        @if let Some(rows) = &n.neighbours {
            table {
                thead { tr {
                    th { "Rang" } th { "Mitglied" } th { "Abstand" }
                    @for l in &labels { th { "Anteil " (l) } }
                    @for l in &labels { th { (l) } }
                } }
                tbody {
                    @for (i, r) in rows.iter().enumerate() {
                        tr {
                            td { (i + 1) }
                            td { (r.name) " " span class="muted" { (r.member_id) } }
                            td { (de_number(r.distance, 2)) }
                            @for s in &r.shares { td { (share(*s)) } }
                            @for (v, x) in n.variables.iter().zip(&r.values) { td { (value(v, *x)) } }
                        }
                    }
                }
            }
        } @else {
            p { "Der Ring zeigt Vergleichspartner nicht mit Namen; hier das Profil der Gruppe." }
        }
        h2 { "Profil der Gruppe" }
        table {
            thead { tr { th { "Merkmal" } th { "eigener Wert" } th { "Spanne der Nachbarn" } th { "mittlerer Anteil am Abstand" } } }
            tbody {
                @for (v, l) in n.profile.variables.iter().zip(&labels) {
                    tr {
                        td { (l) }
                        td { (value(&v.variable, v.own)) }
                        td { (value(&v.variable, v.min)) " bis " (value(&v.variable, v.max)) }
                        td { (share(v.mean_share)) }
                    }
                }
            }
        }
        p { "Länder: " (n.profile.laender.join(", ")) " · Arten: " (n.profile.kinds.join(", ")) }
        p class="muted" {
            "Strukturdaten: " (n.attribution) " (Datenlizenz Deutschland – Namensnennung – 2.0), Stand " (n.register_year) "."
        }
    }
}
