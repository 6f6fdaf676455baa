//! Uploading: the form, and the three pages of its outcome (saved with
//! its warnings, refused with its errors, or refused because the year is
//! frozen).

use maud::{Markup, html};
use vergleichsring_catalog::Catalog;
use vergleichsring_engine::SubmitOutcome;
use vergleichsring_ingest::RowError;

use super::explain::explain_form;
use super::labels::{domain_label, figure_label, rule_message_de};
use super::this_year;
use crate::web::layout::{layout, table_head};
use crate::web::signed_in::Member;

/// The title of every outcome page.
const TITLE: &str = "Hochladen";

/// The upload form, with `domain` and `year` chosen when given (the year
/// defaults to last year's), and the columns each domain expects.
pub(crate) fn upload_form(
    catalog: &Catalog,
    member: &Member,
    domain: Option<&str>,
    year: Option<i32>,
) -> Markup {
    let latest = this_year() - 1;
    let chosen = year.unwrap_or(latest);
    html! {
        section id="hochladen" {
            h2 { "Zahlen hochladen" }
            form method="post" action="/web/hochladen" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(member.csrf);
                div class="row" {
                    div {
                        label for="domain" { "Sparte" }
                        select id="domain" name="domain" {
                            @for d in &catalog.domains {
                                option value=(d.id) selected[domain == Some(d.id.as_str())] { (d.label) }
                            }
                        }
                    }
                    div {
                        label for="year" { "Berichtsjahr" }
                        select id="year" name="year" {
                            @for y in (latest - 9..=latest).rev() {
                                option value=(y) selected[y == chosen] { (y) }
                            }
                        }
                    }
                    div {
                        label for="file" { "Datei" }
                        input type="file" id="file" name="file" accept=".csv,.xlsx,.parquet" required;
                    }
                    div { button type="submit" { "Hochladen und prüfen" } }
                }
            }
            p class="muted" {
                "CSV (Semikolon oder Komma, auch aus Excel gespeichert), Excel-Arbeitsmappe (.xlsx) oder Parquet. Erste Zeile: Spaltennamen (Kennungen oder deutsche Bezeichnungen); eine Zeile mit Ihrer Mitgliedsnummer in der Spalte "
                code { "member_id" }
                ". Eine fehlerhafte Datei wird nicht gespeichert."
            }
            details {
                summary { "Welche Spalten erwartet werden" }
                @for d in &catalog.domains {
                    h3 { (d.label) }
                    table {
                        (table_head(&["Spalte", "Bezeichnung", "Einheit", "Pflicht"]))
                        tbody {
                            @for f in &d.basic_figures {
                                tr {
                                    td { code { (f.id) } }
                                    td { (f.label) }
                                    td { (f.unit) }
                                    td { @if f.required { "ja" } @else { "nein" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The file was checked and stored (`outcome`): whether that completed a
/// publication, and the warnings to explain, each with its form.
pub(crate) fn upload_saved(
    catalog: &Catalog,
    member: &Member,
    domain: &str,
    year: i32,
    filename: &str,
    outcome: &SubmitOutcome,
) -> Markup {
    let links = html! {
        p {
            a href={ "/web/bericht/" (year) } { "Vergleichsbericht " (year) " öffnen" }
            " · "
            a href="/web" { "Zur Übersicht" }
        }
    };
    let content = html! {
        section class="ok" role="status" {
            h1 { "Gespeichert" }
            p {
                "Ihre Zahlen für " strong { (domain_label(catalog, domain)) }
                ", Berichtsjahr " strong { (year) }
                ", aus „" (filename) "“ wurden geprüft und gespeichert (Einreichung "
                (outcome.submission_id) ")."
            }
            // Rule 10: others see a change only with the next publication.
            @match &outcome.publication {
                Some(p) => p {
                    "Damit haben genug Mitglieder gemeldet: der Ring hat das Jahr neu veröffentlicht (Stand "
                    (p.id) "); Vergleiche und Berichte zeigen Ihre Zahlen."
                },
                None => p {
                    "In Vergleichen und Berichten erscheinen Ihre Zahlen mit der nächsten Veröffentlichung des Jahres, sobald mindestens fünf Mitglieder gemeldet oder berichtigt haben."
                },
            }
            @if outcome.warnings.is_empty() {
                p { "Die Prüfung ergab keine Hinweise." }
                (links)
            }
        }
        @if !outcome.warnings.is_empty() {
            section class="notice" id="hinweise" {
                h2 { (outcome.warnings.len()) " Hinweis(e) zur Plausibilität" }
                p { "Die Zahlen sind gespeichert. Bitte prüfen Sie die folgenden Werte und erklären Sie sie, wenn sie stimmen." }
                table {
                    (table_head(&["Zeile", "Feld", "Hinweis", "Erklärung"]))
                    tbody {
                        @for w in &outcome.warnings {
                            tr class="warning" {
                                td class="num" { (w.row) }
                                td { (figure_label(catalog, domain, &w.figure)) " " code { (w.figure) } }
                                td { (w.message_de) }
                                td { (explain_form(member, &outcome.submission_id, &w.rule)) }
                            }
                        }
                    }
                }
                (links)
            }
        }
    };
    layout(TITLE, Some((&member.name, &member.csrf)), content)
}

/// The file was refused (nothing stored): every error with its row,
/// member, column and rule, and the form again with the same choices.
pub(crate) fn upload_refused(
    catalog: &Catalog,
    member: &Member,
    domain: &str,
    year: i32,
    filename: &str,
    errors: &[RowError],
) -> Markup {
    let content = html! {
        section class="refused" role="alert" {
            h1 { "Nicht gespeichert" }
            p {
                "Die Datei „" (filename) "“ für " strong { (domain_label(catalog, domain)) }
                ", Berichtsjahr " strong { (year) } ", wurde " strong { "nicht" }
                " gespeichert: die Prüfung fand " (errors.len())
                " Fehler. Bitte korrigieren Sie die Datei und laden Sie sie erneut hoch."
            }
            table {
                (table_head(&["Zeile", "Mitglied", "Spalte", "Regel", "Meldung"]))
                tbody {
                    @for e in errors {
                        tr class="rejection" {
                            td class="num" {
                                @match e.row {
                                    Some(r) => (r),
                                    None => "–",
                                }
                            }
                            td { (e.member_id.as_deref().unwrap_or("–")) }
                            td { (e.column.as_deref().unwrap_or("–")) }
                            td { code { (e.rule) } }
                            td { (rule_message_de(catalog, domain, e)) }
                        }
                    }
                }
            }
        }
        (upload_form(catalog, member, Some(domain), Some(year)))
    };
    layout(TITLE, Some((&member.name, &member.csrf)), content)
}

/// The (domain, year) is frozen as `release`: nothing stored, and whom
/// to ask for a correction.
pub(crate) fn upload_frozen(
    catalog: &Catalog,
    member: &Member,
    domain: &str,
    year: i32,
    release: &str,
) -> Markup {
    let content = html! {
        section class="refused" role="alert" {
            h1 { "Nicht gespeichert" }
            p {
                "Die Zahlen für " strong { (domain_label(catalog, domain)) }
                ", Berichtsjahr " strong { (year) } ", sind als Stand " strong { (release) }
                " freigegeben und eingefroren, damit veröffentlichte Berichte gleich bleiben. Korrekturen nimmt die Geschäftsstelle des Rings entgegen; sie kann das Jahr wieder öffnen."
            }
            p { a href="/web" { "Zur Übersicht" } }
        }
    };
    layout(TITLE, Some((&member.name, &member.csrf)), content)
}
