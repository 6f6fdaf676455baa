//! The member's data entry: a form per (domain, year) with every basic
//! figure (label, definition and source, unit, required or not, last
//! year's value beside the field, numbers the German way), the errors of
//! the checks in place, and the chooser of domain and year.

use maud::{Markup, html};
use vergleichsring_catalog::numbers::de_exact;
use vergleichsring_catalog::{BasicFigure, Catalog, Domain};

use crate::web::layout::{layout, table_head};
use crate::web::signed_in::Member;

/// One field of the form.
pub(crate) struct EntryField<'a> {
    /// The figure.
    pub(crate) figure: &'a BasicFigure,
    /// The value as typed, or the stored value the German way.
    pub(crate) value: String,
    /// Last year's current value.
    pub(crate) last_year: Option<f64>,
    /// What the checks said about it.
    pub(crate) errors: Vec<String>,
}

/// The form's page: what it shows and where the values came from.
pub(crate) struct EntryPage<'a> {
    pub(crate) domain: &'a Domain,
    pub(crate) year: i32,
    pub(crate) fields: Vec<EntryField<'a>>,
    /// Where the values come from (a sentence), if from anywhere.
    pub(crate) source: Option<String>,
    /// Errors about the whole entry, not one field.
    pub(crate) errors: Vec<String>,
    /// A fixed notice (a draft saved).
    pub(crate) notice: Option<&'a str>,
    /// The collection's deadline (ISO date), if open.
    pub(crate) deadline: Option<&'a str>,
}

/// The field's name in the form.
pub(crate) fn field_name(figure: &str) -> String {
    format!("f_{figure}")
}

/// The form of a (domain, year).
pub(crate) fn entry(member: &Member, p: &EntryPage<'_>) -> Markup {
    let title = format!("{} {} eingeben", p.domain.label, p.year);
    let error_count = p.errors.len() + p.fields.iter().map(|f| f.errors.len()).sum::<usize>();
    layout(
        &title,
        Some((&member.name, &member.csrf)),
        html! {
            p { a href="/web" { "Zurück zur Übersicht" } " · " a href="/web/erfassung" { "Andere Sparte oder anderes Jahr" } }
            h1 { (title) }
            @if let Some(d) = p.deadline { p { "Frist: " strong { (crate::html::german_date(d)) } } }
            @if let Some(n) = p.notice { p class="notice" role="status" { (n) } }
            @if error_count > 0 {
                section class="refused" role="alert" aria-labelledby="fehler" {
                    h2 id="fehler" { "Nicht gespeichert: " (error_count) " Fehler" }
                    p { "Die Felder mit Fehlern sind markiert; nichts wurde gespeichert." }
                    @if !p.errors.is_empty() { ul { @for e in &p.errors { li { (e) } } } }
                }
            }
            @if let Some(s) = &p.source { p class="muted" { (s) } }
            p { "Zahlen schreiben Sie wie gewohnt: " code { "1.234,5" } ". Felder mit * sind Pflicht. Leere Felder gelten als nicht erhoben. Wie in der Deutschen Bibliotheksstatistik heißt " code { "0" } ": gibt es nicht, und " code { "N" } ": gibt es, aber der Wert ist nicht bekannt (gespeichert wird dann kein Wert). Die Vorjahreswerte stehen zum Vergleich daneben." }
            form method="post" action="/web/erfassung" {
                input type="hidden" name="csrf" value=(member.csrf);
                input type="hidden" name="bereich" value=(p.domain.id);
                input type="hidden" name="jahr" value=(p.year);
                table {
                    (table_head(&["Grundzahl", "Wert", "Einheit", &format!("Vorjahr {}", p.year - 1)]))
                    tbody {
                        @for f in &p.fields { (field_row(f)) }
                    }
                }
                div class="row" {
                    button type="submit" name="aktion" value="einreichen" { "Prüfen und einreichen" }
                    button type="submit" name="aktion" value="entwurf" { "Als Entwurf speichern" }
                }
            }
            p { a href=(format!("/web/erfassung/vorlage?bereich={}&jahr={}", p.domain.id, p.year)) { "Excel-Vorlage mit Ihren Zahlen herunterladen" } " (ausfüllen und unter „Zahlen hochladen“ wieder hochladen)" }
        },
    )
}

fn field_row(f: &EntryField<'_>) -> Markup {
    let id = field_name(&f.figure.id);
    let hint = format!("{id}-fehler");
    let meaning = format!("{id}-definition");
    // The definition (and the error, when there is one) is read out with
    // the field.
    let described: Vec<&str> = [
        f.figure.definition.is_some().then_some(meaning.as_str()),
        (!f.errors.is_empty()).then_some(hint.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    html! {
        tr class=[(!f.errors.is_empty()).then_some("refused")] {
            td {
                label for=(id) { (f.figure.label) @if f.figure.required { " *" } }
                span class="muted" { (f.figure.id) }
                @if let Some(d) = &f.figure.definition {
                    p class="muted" id=(meaning) {
                        (d)
                        @if let Some(s) = &f.figure.source { " Quelle: " (s) "." }
                    }
                }
            }
            td {
                input type="text" inputmode="decimal" id=(id) name=(id) value=(f.value)
                    aria-required=[f.figure.required.then_some("true")]
                    aria-invalid=[(!f.errors.is_empty()).then_some("true")]
                    aria-describedby=[(!described.is_empty()).then(|| described.join(" "))];
                @if !f.errors.is_empty() {
                    p class="error" id=(hint) { @for e in &f.errors { (e) " " } }
                }
            }
            td { (f.figure.unit) }
            td class="num" { (f.last_year.map(de_exact).unwrap_or_default()) }
        }
    }
}

/// The chooser: a link per domain for the years a member enters.
pub(crate) fn entry_chooser(member: &Member, catalog: &Catalog, years: &[i32]) -> Markup {
    layout(
        "Zahlen eingeben",
        Some((&member.name, &member.csrf)),
        html! {
            p { a href="/web" { "Zurück zur Übersicht" } }
            h1 { "Zahlen eingeben" }
            p { "Wählen Sie Sparte und Jahr. Sie können Zahlen als Entwurf speichern und später einreichen." }
            ul {
                @for d in &catalog.domains {
                    li {
                        (d.label) ": "
                        @for (i, y) in years.iter().enumerate() {
                            @if i > 0 { " · " }
                            a href=(format!("/web/erfassung?bereich={}&jahr={y}", d.id)) { (y) }
                        }
                    }
                }
            }
        },
    )
}
