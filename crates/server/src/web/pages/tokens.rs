//! A user's personal tokens for scripts (`/web/schluessel`).

use maud::{Markup, html};
use vergleichsring_store::TokenRecord;

use crate::web::layout::{layout, table_head};
use crate::web::signed_in::Account;

/// The user's tokens, the form for a new one, and a token just made
/// (shown this once) or why it could not be made.
pub(crate) fn tokens(
    member: &Account,
    tokens: &[TokenRecord],
    made: Option<&str>,
    error: Option<&str>,
) -> Markup {
    layout(
        "Zugangsschlüssel",
        Some((&member.name, &member.csrf)),
        html! {
            section {
                h1 { "Persönliche Zugangsschlüssel" }
                p { "Mit einem Zugangsschlüssel greifen Skripte und Programme (z. B. " code { "vergleichsring upload" } ") in Ihrem Namen auf die Programmierschnittstelle zu, mit denselben Rechten wie Ihr Zugang. Er gilt, solange Ihr Zugang besteht und Sie ihn nicht sperren." }
                @if let Some(token) = made {
                    p class="notice" role="status" {
                        "Ihr neuer Schlüssel (er wird nur jetzt angezeigt): " code { (token) }
                    }
                }
                @if let Some(e) = error {
                    p class="error" role="alert" { (e) }
                }
                table {
                    (table_head(&["Bezeichnung", "Erstellt", "Gültig bis", "Stand", ""]))
                    tbody {
                        @for t in tokens {
                            tr {
                                td { (t.label.as_deref().unwrap_or("–")) }
                                td { (t.created_at.get(..10).unwrap_or(&t.created_at)) }
                                td { (t.expires_at.as_deref().and_then(|e| e.get(..10)).unwrap_or("unbegrenzt")) }
                                td { @if t.revoked { "gesperrt" } @else { "gültig" } }
                                td {
                                    @if !t.revoked {
                                        form method="post" action="/web/schluessel/sperren" {
                                            input type="hidden" name="csrf" value=(member.csrf);
                                            input type="hidden" name="token_id" value=(t.token_id);
                                            button type="submit" aria-label={ "Schlüssel " (t.label.as_deref().unwrap_or(&t.token_id)) " sperren" } { "Sperren" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "Neuer Schlüssel" }
                form method="post" action="/web/schluessel" {
                    input type="hidden" name="csrf" value=(member.csrf);
                    label for="label" { "Bezeichnung (wofür?)" }
                    input type="text" id="label" name="label" maxlength="200" required;
                    label for="bis" { "Gültig bis (leer: unbegrenzt)" }
                    input type="date" id="bis" name="bis";
                    p { button type="submit" { "Schlüssel erstellen" } }
                }
                p { a href="/web" { "Zurück zur Übersicht" } }
            }
        },
    )
}
