//! The coordinator's registration of members: a regional key, the
//! register's proposal of name and kind (with the licence's attribution),
//! and the form that registers the member.

use maud::{Markup, html};
use vergleichsring_catalog::MemberKind;
use vergleichsring_catalog::numbers::de_number;
use vergleichsring_catalog::register::{ATTRIBUTION, Proposal};

use crate::web::layout::layout;
use crate::web::signed_in::Account;

/// What the page shows: the key asked for, the register's proposal (if
/// any), a fixed notice or an error.
pub(crate) struct MembersView<'a> {
    pub(crate) ags: &'a str,
    pub(crate) proposal: Option<&'a Proposal>,
    pub(crate) members: usize,
    pub(crate) notice: Option<&'a str>,
    pub(crate) error: Option<&'a str>,
}

/// A kind in German.
fn kind_de(kind: MemberKind) -> &'static str {
    match kind {
        MemberKind::KreisfreieStadt => "kreisfreie Stadt",
        MemberKind::KreisangehoerigeGemeinde => "kreisangehörige Gemeinde",
        MemberKind::Landkreis => "Landkreis",
    }
}

/// The page.
pub(crate) fn members(account: &Account, v: &MembersView<'_>) -> Markup {
    let kind = v.proposal.map(|p| p.kind);
    layout(
        "Mitglieder",
        Some((&account.name, &account.csrf)),
        html! {
            p { a href="/web" { "Zurück zur Übersicht" } " · " a href="/web/benutzer" { "Benutzer" } }
            h1 { "Mitglieder" }
            p { "Der Ring hat " (de_number(v.members as f64, 0)) " Mitglieder." }
            @if let Some(n) = v.notice { p class="notice" role="status" { (n) } }
            @if let Some(e) = v.error { p class="error" role="alert" { (e) } }
            section aria-labelledby="suchen" {
                h2 id="suchen" { "Neues Mitglied" }
                form method="get" action="/web/mitglieder" class="row" {
                    div {
                        label for="ags" { "Regionalschlüssel (8 Stellen für eine Gemeinde, 5 für einen Landkreis)" }
                        input id="ags" type="text" name="ags" inputmode="numeric" value=(v.ags);
                    }
                    button type="submit" { "Im Gemeindeverzeichnis nachsehen" }
                }
            }
            @if !v.ags.is_empty() {
                section aria-labelledby="eintragen" {
                    h2 id="eintragen" { "Eintragen" }
                    @match v.proposal {
                        Some(p) => p { "Vorschlag aus dem Gemeindeverzeichnis: "
                            (de_number(p.population as f64, 0)) " Einwohner, "
                            (de_number(p.area_km2, 1)) " km²"
                            @if p.municipalities > 1 { ", " (p.municipalities) " Gemeinden" }
                            ". Prüfen Sie Name und Art." }
                        None => p { "Dieser Schlüssel steht nicht im Gemeindeverzeichnis (etwa eine neuere Gemeindefusion). Tragen Sie Name und Art selbst ein." }
                    }
                    form method="post" action="/web/mitglieder" {
                        input type="hidden" name="csrf" value=(account.csrf);
                        input type="hidden" name="member_id" value=(v.ags);
                        label for="name" { "Name" }
                        input id="name" type="text" name="name" required value=(v.proposal.map(|p| p.name.as_str()).unwrap_or(""));
                        label for="kind" { "Art" }
                        select id="kind" name="kind" {
                            @for k in [MemberKind::KreisfreieStadt, MemberKind::KreisangehoerigeGemeinde, MemberKind::Landkreis] {
                                option value=(k.as_str()) selected[kind == Some(k)] { (kind_de(k)) }
                            }
                        }
                        div class="row" { button type="submit" { "Mitglied eintragen" } }
                    }
                }
            }
            p class="muted" { "Gemeindedaten: " (ATTRIBUTION) ", Datenlizenz Deutschland – Namensnennung – Version 2.0." }
        },
    )
}
