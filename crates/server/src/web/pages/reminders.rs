//! The coordinator's reminders: the form on the collection page (whom,
//! the text with its placeholders), and the page after a preview or a
//! dispatch.

use maud::{Markup, html};
use vergleichsring_catalog::Catalog;
use vergleichsring_catalog::numbers::de_number;
use vergleichsring_engine::collection::{CollectionStatus, Status};

use super::labels::domain_label;
use crate::collection_mail::{REMINDER_TEMPLATE, RemindersOutcome};
use crate::web::layout::layout;
use crate::web::signed_in::Account;

/// What the coordinator asked for: whom (`offen` or a status id) and the
/// text.
pub(crate) struct ReminderForm<'a> {
    pub(crate) who: &'a str,
    pub(crate) text: &'a str,
}

/// The form to remind members, with `asked` filled in (or the defaults).
pub(crate) fn reminder_form(
    account: &Account,
    s: &CollectionStatus,
    asked: Option<&ReminderForm<'_>>,
) -> Markup {
    let who = asked.map_or("offen", |a| a.who);
    let text = asked.map_or(REMINDER_TEMPLATE, |a| a.text);
    let choices = [
        ("offen", "nicht begonnen und begonnen".to_string()),
        (
            Status::NotStarted.id(),
            Status::NotStarted.german().to_string(),
        ),
        (Status::Started.id(), Status::Started.german().to_string()),
        (
            Status::WarningsOpen.id(),
            Status::WarningsOpen.german().to_string(),
        ),
    ];
    html! {
        section aria-labelledby="erinnern" {
            h2 id="erinnern" { "Erinnern" }
            @if s.collection.is_none() {
                p { "Erinnerungen gibt es, sobald die Erhebung mit einer Frist eröffnet ist." }
            } @else {
                form method="post" action="/web/sammlung/erinnerung" {
                    input type="hidden" name="csrf" value=(account.csrf);
                    input type="hidden" name="bereich" value=(s.domain);
                    input type="hidden" name="jahr" value=(s.year);
                    label for="wer" { "Wen" }
                    select id="wer" name="wer" {
                        @for (id, label) in &choices {
                            option value=(id) selected[*id == who] { (label) }
                        }
                    }
                    label for="text" { "Text" }
                    p class="muted" id="text-hilfe" { "Platzhalter: {name} (die Person), {kommune}, {bereich}, {jahr}, {frist}, {link}. Wer in den letzten Tagen schon erinnert wurde, wird übersprungen." }
                    textarea id="text" name="text" rows="9" maxlength="5000" aria-describedby="text-hilfe" { (text) }
                    div class="row" {
                        button type="submit" name="aktion" value="vorschau" { "Vorschau" }
                    }
                }
            }
        }
    }
}

/// The page after a preview (with the button to send) or a dispatch.
pub(crate) fn reminders(
    account: &Account,
    catalog: &Catalog,
    s: &CollectionStatus,
    asked: &ReminderForm<'_>,
    outcome: &RemindersOutcome,
) -> Markup {
    let label = domain_label(catalog, &s.domain);
    let n = |x: usize| de_number(x as f64, 0);
    let mails: usize = outcome.reminded.iter().map(|(_, k)| k).sum();
    layout(
        &format!("Erinnerungen {label} {}", s.year),
        Some((&account.name, &account.csrf)),
        html! {
            p { a href=(format!("/web/sammlung?bereich={}&jahr={}", s.domain, s.year)) { "Zur Erhebung " (label) " " (s.year) } }
            h1 { @if outcome.sent { "Erinnerungen gesendet" } @else { "Vorschau der Erinnerungen" } }
            section class=(if outcome.sent { "ok" } else { "notice" }) role="status" {
                p {
                    (n(outcome.chosen.len())) " Mitglieder ausgewählt; "
                    @if outcome.sent { "erinnert: " } @else { "zu erinnern: " }
                    (n(outcome.reminded.len())) " Mitglieder (" (n(mails)) " E-Mails). "
                    @if !outcome.reminded_recently.is_empty() {
                        (n(outcome.reminded_recently.len())) " kürzlich erinnerte werden übersprungen. "
                    }
                    @if !outcome.without_addressees.is_empty() {
                        (n(outcome.without_addressees.len())) " haben noch keinen Zugang und bekommen keine E-Mail."
                    }
                }
            }
            @if let Some(text) = &outcome.preview {
                section aria-labelledby="vorschau" {
                    h2 id="vorschau" { "Die erste E-Mail" }
                    p { strong { "Betreff: " } (outcome.subject) }
                    pre { (text) }
                }
            }
            @if !outcome.sent && !outcome.reminded.is_empty() {
                form method="post" action="/web/sammlung/erinnerung" {
                    input type="hidden" name="csrf" value=(account.csrf);
                    input type="hidden" name="bereich" value=(s.domain);
                    input type="hidden" name="jahr" value=(s.year);
                    input type="hidden" name="wer" value=(asked.who);
                    input type="hidden" name="text" value=(asked.text);
                    button type="submit" name="aktion" value="senden" { "Jetzt " (n(mails)) " E-Mails senden" }
                }
            }
            (reminder_form(account, s, Some(asked)))
        },
    )
}
