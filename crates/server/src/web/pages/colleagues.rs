//! The accounts of the signed-in member's municipality, and the form with
//! which a lead member invites a colleague (`/web/kollegen`).

use maud::{Markup, html};
use vergleichsring_store::UserRecord;

use super::users::user_state;
use crate::web::layout::{layout, table_head};
use crate::web::signed_in::Member;

/// The member's accounts, the invitation form (with a mail server: `mail`),
/// and after an invitation the address it went to (`sent_to`, the same
/// words whether the address has an account or not) or why it was
/// refused.
pub(crate) fn colleagues(
    member: &Member,
    users: &[UserRecord],
    mail: bool,
    sent_to: Option<&str>,
    error: Option<&str>,
) -> Markup {
    layout(
        "Kolleginnen und Kollegen",
        Some((&member.name, &member.csrf)),
        html! {
            section {
                h1 { "Kolleginnen und Kollegen" }
                p { "Zugänge für " (member.name) ". Eingeladene erhalten den Einladungslink per E-Mail und legen dort ihr Passwort fest; der Link gilt 7 Tage und nur einmal." }
                @if let Some(email) = sent_to {
                    p class="notice" role="status" {
                        "Die Einladung an " strong { (email) } " ist per E-Mail unterwegs. Hat diese Adresse schon einen Zugang zum Vergleichsring, erhält die Person stattdessen einen Hinweis, wie sie sich anmeldet."
                    }
                }
                @if let Some(e) = error {
                    p class="error" role="alert" { (e) }
                }
                table {
                    (table_head(&["Name", "E-Mail-Adresse", "Stand"]))
                    tbody {
                        @for u in users {
                            tr {
                                td { (u.name) }
                                td { (u.email) }
                                td { (user_state(u)) }
                            }
                        }
                    }
                }
                h2 { "Einladen" }
                @if mail {
                    form method="post" action="/web/kollegen" {
                        input type="hidden" name="csrf" value=(member.csrf);
                        label for="name" { "Name" }
                        input type="text" id="name" name="name" autocomplete="off" required maxlength="200";
                        label for="email" { "E-Mail-Adresse" }
                        input type="email" id="email" name="email" autocomplete="off" required;
                        p { button type="submit" { "Einladen" } }
                    }
                } @else {
                    p { "Einladungen gehen per E-Mail hinaus; dafür ist kein Mailserver eingerichtet. Neue Zugänge legt der Betreiber des Vergleichsrings an." }
                }
                p { a href="/web" { "Zurück zur Übersicht" } }
            }
        },
    )
}
