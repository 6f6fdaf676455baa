//! The accounts of the signed-in member's municipality, and the form with
//! which a lead member invites a colleague (`/web/kollegen`).

use maud::{Markup, html};
use vergleichsring_store::UserRecord;

use super::users::{Invited, invited_notice, user_state};
use crate::web::layout::{layout, table_head};
use crate::web::session::Member;

/// The member's accounts, the invitation form, and after an invitation the
/// link to pass on (`invited`: e-mail address and link path) or why it
/// failed.
pub(crate) fn colleagues(
    member: &Member,
    users: &[UserRecord],
    invited: Option<&Invited>,
    error: Option<&str>,
) -> Markup {
    layout(
        "Kolleginnen und Kollegen",
        Some((&member.name, &member.csrf)),
        html! {
            section {
                h1 { "Kolleginnen und Kollegen" }
                p { "Zugänge für " (member.name) ". Eingeladene legen über den Einladungslink ihr Passwort fest; der Link gilt 7 Tage und nur einmal." }
                @if let Some(invited) = invited {
                    (invited_notice(invited))
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
                form method="post" action="/web/kollegen" {
                    input type="hidden" name="csrf" value=(member.csrf);
                    label for="name" { "Name" }
                    input type="text" id="name" name="name" autocomplete="off" required maxlength="200";
                    label for="email" { "E-Mail-Adresse" }
                    input type="email" id="email" name="email" autocomplete="off" required;
                    p { button type="submit" { "Einladen" } }
                }
                p { a href="/web" { "Zurück zur Übersicht" } }
            }
        },
    )
}
