//! The sign-in page.

use maud::{Markup, html};

use crate::web::layout::layout;

/// The sign-in form with its double-submit `nonce` (the same value goes
/// into the sign-in cookie), and why the last attempt failed, if it did.
pub(crate) fn login(nonce: &str, error: Option<&str>) -> Markup {
    layout(
        "Anmelden",
        None,
        html! {
            section {
                h1 { "Anmelden" }
                p {
                    "Melden Sie sich mit Ihrer E-Mail-Adresse und Ihrem Passwort an, oder mit dem Zugangsschlüssel Ihrer Kommune. Den Schlüssel erhalten Sie vom Betreiber des Vergleichsrings; er beginnt mit "
                    code { "vr_" } "."
                }
                @if let Some(e) = error {
                    p class="error" role="alert" { (e) }
                }
                form method="post" action="/web/anmelden" {
                    input type="hidden" name="nonce" value=(nonce);
                    fieldset {
                        legend { "Mit Passwort" }
                        label for="email" { "E-Mail-Adresse" }
                        input type="email" id="email" name="email" autocomplete="username";
                        label for="password" { "Passwort" }
                        input type="password" id="password" name="password" autocomplete="current-password";
                    }
                    fieldset {
                        legend { "Oder mit Zugangsschlüssel" }
                        label for="token" { "Zugangsschlüssel" }
                        input type="password" id="token" name="token" autocomplete="off";
                    }
                    p { button type="submit" { "Anmelden" } }
                }
            }
        },
    )
}

/// The page of an invitation link: set a password (twice).
pub(crate) fn invitation(code: &str, name: &str, email: &str, error: Option<&str>) -> Markup {
    layout(
        "Einladung annehmen",
        None,
        html! {
            section {
                h1 { "Einladung annehmen" }
                p { "Guten Tag " (name) ", legen Sie ein Passwort für Ihren Zugang " strong { (email) } " fest. Es muss mindestens " (vergleichsring_store::MIN_PASSWORD_CHARS) " Zeichen lang sein." }
                @if let Some(e) = error {
                    p class="error" role="alert" { (e) }
                }
                form method="post" action={ "/web/einladung/" (code) } {
                    input type="hidden" name="email" value=(email) autocomplete="username";
                    label for="password" { "Neues Passwort" }
                    input type="password" id="password" name="password" autocomplete="new-password" minlength=(vergleichsring_store::MIN_PASSWORD_CHARS) required;
                    label for="password2" { "Neues Passwort wiederholen" }
                    input type="password" id="password2" name="password2" autocomplete="new-password" required;
                    p { button type="submit" { "Passwort festlegen" } }
                }
            }
        },
    )
}

/// What a user whose role has no web pages yet sees after setting its
/// password.
pub(crate) fn account_ready(name: &str) -> Markup {
    layout(
        "Zugang eingerichtet",
        None,
        html! {
            section {
                h1 { "Zugang eingerichtet" }
                p { "Guten Tag " (name) ", Ihr Passwort ist festgelegt. Die Seiten für Ihre Rolle folgen; bis dahin nutzen Sie die Programmierschnittstelle (API) mit einem Zugangsschlüssel." }
            }
        },
    )
}
