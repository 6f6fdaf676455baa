//! The coordinator's collection pages: the chooser of a (domain, year)
//! with the open collections, the collection of every member with counts,
//! filters and export, and one member's review (warnings with the
//! member's explanations, accept or ask back, approve).

use maud::{Markup, html};
use vergleichsring_catalog::Catalog;
use vergleichsring_catalog::numbers::de_number;
use vergleichsring_engine::collection::{CollectionStatus, MemberStatus, ReviewItem, Status};
use vergleichsring_store::Collection;

use super::labels::{domain_label, figure_label};
pub(crate) use crate::html::{german_date, german_time};
use crate::web::layout::{layout, table_head};
use crate::web::signed_in::Account;

/// Rows per page of the collection.
pub(crate) const PAGE_ROWS: usize = 200;

/// What the collection page shows: the filters as asked.
pub(crate) struct CollectionView<'a> {
    pub(crate) status: &'a CollectionStatus,
    pub(crate) filter: Option<Status>,
    pub(crate) search: &'a str,
    /// The members after the filters, this page's only.
    pub(crate) shown: &'a [&'a MemberStatus],
    /// How many members the filters let through.
    pub(crate) matching: usize,
    pub(crate) page: usize,
    pub(crate) notice: Option<&'a str>,
}

/// The chooser: a domain and year to open, and the collections open.
pub(crate) fn collections_home(
    account: &Account,
    catalog: &Catalog,
    opened: &[&Collection],
    years: &[i32],
) -> Markup {
    layout(
        "Datenerhebung",
        Some((&account.name, &account.csrf)),
        html! {
            p { a href="/web" { "Zurück zur Übersicht" } }
            h1 { "Datenerhebung" }
            section {
                h2 { "Erhebung anzeigen" }
                form method="get" action="/web/sammlung" class="row" {
                    div {
                        label for="bereich" { "Bereich" }
                        select id="bereich" name="bereich" {
                            @for d in &catalog.domains { option value=(d.id) { (d.label) } }
                        }
                    }
                    div {
                        label for="jahr" { "Jahr" }
                        select id="jahr" name="jahr" {
                            @for y in years { option value=(y) { (y) } }
                        }
                    }
                    button type="submit" { "Anzeigen" }
                }
            }
            section {
                h2 { "Eröffnete Erhebungen" }
                @if opened.is_empty() {
                    p { "Noch keine. Wählen Sie oben Bereich und Jahr und setzen Sie dort eine Frist." }
                } @else {
                    table {
                        (table_head(&["Bereich", "Jahr", "Frist", "Eröffnet"]))
                        tbody {
                            @for c in opened {
                                tr {
                                    td { a href=(format!("/web/sammlung?bereich={}&jahr={}", c.domain, c.year)) { (domain_label(catalog, &c.domain)) } }
                                    td { (c.year) }
                                    td { (german_date(&c.deadline)) }
                                    td { (german_time(&c.opened_at)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The link to the collection with filters (and a page).
fn collection_link(
    s: &CollectionStatus,
    status: Option<Status>,
    search: &str,
    page: usize,
) -> String {
    let mut link = format!("/web/sammlung?bereich={}&jahr={}", s.domain, s.year);
    if let Some(st) = status {
        link.push_str(&format!("&status={}", st.id()));
    }
    if !search.is_empty() {
        link.push_str("&suche=");
        link.push_str(&url_encode(search));
    }
    if page > 1 {
        link.push_str(&format!("&seite={page}"));
    }
    link
}

/// Percent-encodes a query value.
pub(crate) fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The collection of a (domain, year).
pub(crate) fn collection(account: &Account, catalog: &Catalog, v: &CollectionView<'_>) -> Markup {
    let s = v.status;
    let label = domain_label(catalog, &s.domain);
    let total: usize = s.counts.values().sum();
    layout(
        &format!("Erhebung {label} {}", s.year),
        Some((&account.name, &account.csrf)),
        html! {
            p {
                a href="/web/sammlung" { "Alle Erhebungen" } " · "
                a href=(format!("/web/pruefung?bereich={}&jahr={}", s.domain, s.year)) { "Prüfliste" } " · "
                a href=(format!("/web/veroeffentlichen?bereich={}&jahr={}", s.domain, s.year)) { "Veröffentlichen und einfrieren" }
            }
            h1 { "Erhebung " (label) " " (s.year) }
            @if let Some(n) = v.notice { p class="notice" role="status" { (n) } }
            (deadline_section(account, s))
            section aria-labelledby="stand" {
                h2 id="stand" { "Stand: " (de_number(total as f64, 0)) " Mitglieder" }
                ul class="row" {
                    @for (st, n) in &s.counts {
                        li { a href=(collection_link(s, Some(*st), "", 1)) aria-current=[(v.filter == Some(*st)).then_some("true")] { (st.german()) ": " (de_number(*n as f64, 0)) } }
                    }
                }
                (filter_form(s, v))
            }
            section aria-labelledby="mitglieder" {
                h2 id="mitglieder" { (de_number(v.matching as f64, 0)) " Mitglieder" @if v.matching > v.shown.len() { ", Seite " (v.page) } }
                (member_table(s, v.shown))
                (pager(s, v))
            }
            (super::reminder_form(account, s, None))
        },
    )
}

fn deadline_section(account: &Account, s: &CollectionStatus) -> Markup {
    html! {
        section aria-labelledby="frist" {
            h2 id="frist" { "Frist" }
            @match &s.collection {
                Some(c) => p { "Eröffnet, Frist bis " strong { (german_date(&c.deadline)) } " (zuletzt gesetzt am " (german_time(&c.opened_at)) ")." }
                None => p { "Diese Erhebung ist noch nicht eröffnet. Mit einer Frist eröffnen Sie sie; die Mitglieder sehen die Frist auf ihrer Seite." }
            }
            form method="post" action="/web/sammlung/frist" class="row" {
                input type="hidden" name="csrf" value=(account.csrf);
                input type="hidden" name="bereich" value=(s.domain);
                input type="hidden" name="jahr" value=(s.year);
                div {
                    label for="frist-datum" { "Frist (Datum)" }
                    input id="frist-datum" type="date" name="frist" required value=[s.collection.as_ref().map(|c| c.deadline.as_str())];
                }
                button type="submit" { @if s.collection.is_some() { "Frist ändern" } @else { "Erhebung eröffnen" } }
            }
        }
    }
}

fn filter_form(s: &CollectionStatus, v: &CollectionView<'_>) -> Markup {
    let export = |format: &str| {
        let mut link = format!(
            "/web/sammlung/export?bereich={}&jahr={}&format={format}",
            s.domain, s.year
        );
        if let Some(st) = v.filter {
            link.push_str(&format!("&status={}", st.id()));
        }
        link
    };
    html! {
        form method="get" action="/web/sammlung" class="row" {
            input type="hidden" name="bereich" value=(s.domain);
            input type="hidden" name="jahr" value=(s.year);
            div {
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" { "alle" }
                    @for st in Status::ALL {
                        option value=(st.id()) selected[v.filter == Some(st)] { (st.german()) }
                    }
                }
            }
            div {
                label for="suche" { "Name oder Schlüssel" }
                input id="suche" type="text" name="suche" value=(v.search);
            }
            button type="submit" { "Filtern" }
        }
        p { "Herunterladen: " a href=(export("csv")) { "CSV" } " · " a href=(export("xlsx")) { "Excel (XLSX)" } }
    }
}

fn member_table(s: &CollectionStatus, shown: &[&MemberStatus]) -> Markup {
    html! {
        @if shown.is_empty() {
            p { "Keine Mitglieder mit diesen Filtern." }
        } @else {
            table {
                (table_head(&["Schlüssel", "Name", "Status", "Eingereicht", "Hinweise offen / alle", "Erinnert", "Letzte Änderung", ""]))
                tbody {
                    @for m in shown {
                        tr {
                            td { (m.member_id) }
                            td { (m.name) }
                            td { span class="tag" { (m.status.german()) } }
                            td { (m.submitted_at.as_deref().map(german_time).unwrap_or_default()) }
                            td class="num" { (m.warnings.iter().filter(|w| w.open).count()) " / " (m.warnings.len()) }
                            td class="num" { (m.reminders) }
                            td {
                                @if let Some(at) = &m.last_change { (german_time(at)) }
                                @if let Some(by) = &m.last_change_by { br; span class="muted" { (by) } }
                            }
                            td { a href=(format!("/web/sammlung/mitglied?bereich={}&jahr={}&mitglied={}", s.domain, s.year, m.member_id)) { "Prüfen" span class="muted" { " " (m.name) } } }
                        }
                    }
                }
            }
        }
    }
}

fn pager(s: &CollectionStatus, v: &CollectionView<'_>) -> Markup {
    let pages = v.matching.div_ceil(PAGE_ROWS).max(1);
    html! {
        @if pages > 1 {
            nav aria-label="Seiten" class="row" {
                @if v.page > 1 { a href=(collection_link(s, v.filter, v.search, v.page - 1)) { "Zurück" } }
                span { "Seite " (v.page) " von " (pages) }
                @if v.page < pages { a href=(collection_link(s, v.filter, v.search, v.page + 1)) { "Weiter" } }
            }
        }
    }
}

/// One member's review: its warnings, each with the explanation and the
/// review forms, and the approval.
pub(crate) fn member_review(
    account: &Account,
    catalog: &Catalog,
    s: &CollectionStatus,
    m: &MemberStatus,
    notice: Option<&str>,
) -> Markup {
    let label = domain_label(catalog, &s.domain);
    layout(
        &format!("{} – Erhebung {label} {}", m.name, s.year),
        Some((&account.name, &account.csrf)),
        html! {
            p { a href=(collection_link(s, None, "", 1)) { "Zur Erhebung " (label) " " (s.year) } }
            h1 { (m.name) " (" (m.member_id) ")" }
            @if let Some(n) = notice { p class="notice" role="status" { (n) } }
            p { "Status: " span class="tag" { (m.status.german()) } }
            @if m.warnings.is_empty() && m.submission_id.is_some() {
                p { "Die aktuellen Zahlen haben keine Hinweise." }
            }
            @for w in &m.warnings {
                (warning_review(account, catalog, s, m, w, "mitglied"))
            }
            (approval_section(account, s, m))
        },
    )
}

/// The form fields that say which warning or member a post is about.
fn about(account: &Account, s: &CollectionStatus, m: &MemberStatus) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(account.csrf);
        input type="hidden" name="bereich" value=(s.domain);
        input type="hidden" name="jahr" value=(s.year);
        input type="hidden" name="mitglied" value=(m.member_id);
    }
}

/// One warning with its explanation and the coordinator's forms.
fn warning_review(
    account: &Account,
    catalog: &Catalog,
    s: &CollectionStatus,
    m: &MemberStatus,
    w: &ReviewItem,
    back: &str,
) -> Markup {
    let id = format!("{}-{}", m.member_id, w.rule);
    html! {
        section class=(if w.accepted { "ok" } else if w.open { "notice" } else { "" }) aria-labelledby=(format!("h-{id}")) {
            h2 id=(format!("h-{id}")) { (figure_label(catalog, &s.domain, &w.figure)) span class="muted" { " · " (m.name) " · " (w.rule) } }
            p { (w.message_de) }
            @match &w.explanation {
                Some(e) => p { "Erläuterung (" (german_time(&e.explained_at)) "): " q { (e.text) } }
                None => p class="muted" { "Noch nicht erläutert." }
            }
            @if let Some(r) = &w.review {
                p class="muted" {
                    @if r.accepted { "Akzeptiert" } @else { "Zurückgefragt" }
                    " am " (german_time(&r.at)) @if !r.comment.is_empty() { ": " (r.comment) }
                }
            }
            @if !w.accepted {
                form method="post" action="/web/sammlung/pruefung" {
                    (about(account, s, m))
                    input type="hidden" name="regel" value=(w.rule);
                    input type="hidden" name="einreichung" value=(m.submission_id.as_deref().unwrap_or_default());
                    input type="hidden" name="zurueck" value=(back);
                    label for=(format!("c-{id}")) { "Kommentar (für eine Rückfrage nötig)" }
                    textarea id=(format!("c-{id}")) name="kommentar" maxlength="2000" {}
                    div class="row" {
                        button type="submit" name="entscheidung" value="akzeptieren" { "Akzeptieren" }
                        button type="submit" name="entscheidung" value="zurueckfragen" { "Zurückfragen" }
                    }
                }
            }
        }
    }
}

fn approval_section(account: &Account, s: &CollectionStatus, m: &MemberStatus) -> Markup {
    let open = m.warnings.iter().filter(|w| w.open).count();
    html! {
        section aria-labelledby="freigabe" {
            h2 id="freigabe" { "Freigabe" }
            @if let Some(a) = &m.approval {
                p { "Freigegeben am " (german_time(&a.at)) " von " (a.by) ". Ein neuer Upload hebt die Freigabe auf." }
            } @else if m.submission_id.is_none() {
                p { "Noch keine Zahlen eingereicht." }
            } @else if open > 0 {
                p { (open) " Hinweis(e) warten auf das Mitglied; akzeptieren Sie sie oder warten Sie auf die Erläuterung." }
            } @else {
                form method="post" action="/web/sammlung/freigabe" {
                    (about(account, s, m))
                    input type="hidden" name="einreichung" value=(m.submission_id.as_deref().unwrap_or_default());
                    button type="submit" { "Zahlen freigeben" }
                }
            }
        }
    }
}

/// The review queue: every warning waiting for the coordinator (explained,
/// not accepted) and, below, those waiting for members.
pub(crate) fn review_queue(
    account: &Account,
    catalog: &Catalog,
    s: &CollectionStatus,
    notice: Option<&str>,
) -> Markup {
    let label = domain_label(catalog, &s.domain);
    let waiting: Vec<(&MemberStatus, &ReviewItem)> = s
        .members
        .iter()
        .flat_map(|m| m.warnings.iter().map(move |w| (m, w)))
        .filter(|(_, w)| !w.accepted && !w.open)
        .collect();
    let open = s
        .members
        .iter()
        .flat_map(|m| &m.warnings)
        .filter(|w| w.open)
        .count();
    layout(
        &format!("Prüfliste {label} {}", s.year),
        Some((&account.name, &account.csrf)),
        html! {
            p { a href=(collection_link(s, None, "", 1)) { "Zur Erhebung " (label) " " (s.year) } }
            h1 { "Prüfliste " (label) " " (s.year) }
            @if let Some(n) = notice { p class="notice" role="status" { (n) } }
            p { (de_number(waiting.len() as f64, 0)) " erläuterte Hinweise warten auf Ihre Prüfung; "
                (de_number(open as f64, 0)) " Hinweise warten auf Mitglieder ("
                a href=(collection_link(s, Some(Status::WarningsOpen), "", 1)) { "Liste" } ")." }
            @for (m, w) in waiting.iter().take(PAGE_ROWS) {
                (warning_review(account, catalog, s, m, w, "pruefliste"))
            }
            @if waiting.len() > PAGE_ROWS {
                p class="muted" { "Die ersten " (PAGE_ROWS) " sind gezeigt; nach der Prüfung erscheinen die nächsten." }
            }
        },
    )
}
