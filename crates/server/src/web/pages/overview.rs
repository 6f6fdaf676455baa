//! The member's overview (`/web` when signed in): the upload form, the
//! open warnings to explain, its reports and its submissions.

use std::collections::BTreeSet;

use maud::{Markup, html};
use vergleichsring_catalog::Catalog;
use vergleichsring_engine::SubmissionInfo;
use vergleichsring_engine::workflow::WarningStatus;

use super::explain::{explain_form, explained_notice};
use super::labels::{domain_label, figure_label};
use super::upload::upload_form;
use crate::web::layout::{layout, table_head};
use crate::web::signed_in::Member;

/// One of the member's submissions as the overview lists it.
pub(crate) struct SubmissionRow<'a> {
    /// The domain's German label.
    pub(crate) domain: &'a str,
    /// The year it is for.
    pub(crate) year: i32,
    /// Whether the member's current figures for the year come from it
    /// (else a later one replaced it).
    pub(crate) current: bool,
    /// The submission.
    pub(crate) info: SubmissionInfo,
}

/// The overview: `explained` after an explanation was saved, the `open`
/// warnings, and the `submissions` newest first. A report is offered for
/// every year with current figures.
pub(crate) fn overview(
    catalog: &Catalog,
    member: &Member,
    explained: bool,
    open: &[WarningStatus],
    collections: &[MemberCollection<'_>],
    submissions: &[SubmissionRow<'_>],
) -> Markup {
    let years: BTreeSet<i32> = submissions
        .iter()
        .filter(|s| s.current)
        .map(|s| s.year)
        .collect();
    let content = html! {
        h1 { (member.name) }
        p class="muted" { "Mitgliedsnummer " (member.member_id) }
        @if member.user.is_some() {
            p {
                a href="/web/schluessel" { "Persönliche Zugangsschlüssel" }
                " · "
                a href="/web/zweiter-faktor" { "Zweiter Faktor" }
                @if member.lead {
                    " · "
                    a href="/web/kollegen" { "Kolleginnen und Kollegen einladen" }
                }
            }
        }
        @if explained {
            (explained_notice())
        }
        (collections_section(collections))
        p { a class="button" href="/web/erfassung" { "Zahlen eingeben" } " oder eine Datei hochladen:" }
        (upload_form(catalog, member, None, None))
        (open_warnings(catalog, member, open))
        (reports(&years))
        (submissions_table(submissions))
    };
    layout("Übersicht", Some((&member.name, &member.csrf)), content)
}

/// An open collection as the member sees it: its deadline and the
/// member's status.
pub(crate) struct MemberCollection<'a> {
    /// The domain's label.
    pub(crate) domain: &'a str,
    /// The year.
    pub(crate) year: i32,
    /// The deadline (ISO date).
    pub(crate) deadline: String,
    /// The member's status.
    pub(crate) status: vergleichsring_engine::collection::Status,
}

/// The collections open for the member, with deadline and status.
fn collections_section(collections: &[MemberCollection<'_>]) -> Markup {
    html! {
        @if !collections.is_empty() {
            section id="erhebung" {
                h2 { "Datenerhebung" }
                ul {
                    @for c in collections {
                        li {
                            (c.domain) " " (c.year) ": Frist bis "
                            strong { (super::collection::german_date(&c.deadline)) }
                            ", Ihr Stand: " span class="tag" { (c.status.german()) }
                        }
                    }
                }
            }
        }
    }
}

/// An RFC 3339 time as date and minute (`2024-03-01 12:30`).
fn submitted_at(rfc3339: &str) -> String {
    rfc3339.replace('T', " ").chars().take(16).collect()
}

/// The open warnings, each with its form for an explanation.
fn open_warnings(catalog: &Catalog, member: &Member, open: &[WarningStatus]) -> Markup {
    html! {
    section id="hinweise" {
        h2 { "Offene Hinweise (" (open.len()) ")" }
        @if open.is_empty() {
            p { "Zu Ihren aktuellen Zahlen gibt es keine unerklärten Hinweise." }
        } @else {
            p class="muted" {
                "Hinweise halten eine Datei nicht auf. Bitte erklären Sie auffällige Werte kurz (z. B. „Umbau, drei Monate geschlossen“), damit der Ring sie einordnen kann."
            }
            table {
                (table_head(&["Sparte", "Jahr", "Feld", "Hinweis", "Erklärung"]))
                tbody {
                    @for w in open {
                        tr class="warning" {
                            td { (domain_label(catalog, &w.domain)) }
                            td { (w.year) }
                            td { (figure_label(catalog, &w.domain, &w.figure)) }
                            td {
                                (w.message_de)
                                @if let Some(r) = w.review.as_ref().filter(|r| !r.accepted) {
                                    p class="notice" { strong { "Rückfrage des Rings: " } (r.comment) }
                                }
                            }
                            td { (explain_form(member, &w.submission_id, &w.rule)) }
                        }
                    }
                }
            }
        }
    }
    }
}

/// The links to the reports of the years with current figures.
fn reports(years: &BTreeSet<i32>) -> Markup {
    html! {
    section id="berichte" {
        h2 { "Ihre Berichte" }
        p {
            "Vergleichswerte werden zum Schutz einzelner Mitglieder aus leicht veränderten Grunddaten berechnet; Ihre eigenen Werte sind genau. "
            a href="/web/geheimhaltung" { "Was bedeutet Unschärfe?" }
        }
        @if years.is_empty() {
            p { "Berichte gibt es für jedes Jahr, für das Sie Zahlen eingereicht haben." }
        } @else {
            ul {
                @for y in years.iter().rev() {
                    li {
                        a href={ "/web/bericht/" (y) } { "Vergleichsbericht " (y) }
                        " · "
                        a href={ "/web/bericht/" (y) "?format=xlsx" } { "Excel" }
                        " · "
                        a href={ "/web/bericht/" (y) "?format=csv" } { "CSV" }
                    }
                }
            }
        }
    }
    }
}

/// The member's submissions, newest first.
fn submissions_table(submissions: &[SubmissionRow<'_>]) -> Markup {
    html! {
    section id="einreichungen" {
        h2 { "Ihre Einreichungen" }
        @if submissions.is_empty() {
            p { "Noch keine Einreichungen." }
        } @else {
            table {
                (table_head(&["Sparte", "Jahr", "Eingereicht (UTC)", "Format", "Hinweise", "Stand"]))
                tbody {
                    @for s in submissions {
                        tr {
                            td { (s.domain) }
                            td { (s.year) }
                            td { (submitted_at(&s.info.submitted_at)) }
                            td { (s.info.format.as_deref().unwrap_or("–")) }
                            td class="num" { (s.info.warnings.len()) }
                            td {
                                @if s.current {
                                    span class="tag" { "aktuell" }
                                } @else {
                                    "ersetzt"
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    }
}
