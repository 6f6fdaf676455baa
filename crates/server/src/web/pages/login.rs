//! The sign-in page.

use maud::{Markup, html};

use crate::web::layout::layout;

/// The link that starts a sign-in through the single sign-on provider,
/// with an invitation code to accept on the way. A link, not a form: the
/// pages' `form-action 'self'` would stop a form redirected to the
/// provider.
fn sso_button(label: &str, invitation: Option<&str>) -> Markup {
    let href = match invitation {
        Some(code) => format!("/web/anmelden/sso?einladung={code}"),
        None => "/web/anmelden/sso".to_string(),
    };
    html! {
        p { a class="button" href=(href) { (label) } }
    }
}

/// The sign-in form with its double-submit `nonce` (the same value goes
/// into the sign-in cookie), the single sign-on button (its label) when a
/// provider is configured, the link to reset a password when mail is, and
/// why the last attempt failed, if it did.
pub(crate) fn login(nonce: &str, sso: Option<&str>, reset: bool, error: Option<&str>) -> Markup {
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
                @if let Some(label) = sso {
                    h2 { "Über Ihre Kommune" }
                    (sso_button(label, None))
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
                @if reset {
                    p { a href="/web/passwort-vergessen" { "Passwort vergessen?" } }
                }
            }
        },
    )
}

/// The page of an invitation link: set a password (twice), or accept it by
/// signing in through the single sign-on provider (its label).
pub(crate) fn invitation(
    code: &str,
    name: &str,
    email: &str,
    sso: Option<&str>,
    error: Option<&str>,
) -> Markup {
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
                @if let Some(label) = sso {
                    p { "Melden Sie sich über Ihre Kommune an; Ihr Zugang wird dann mit diesem Konto verbunden, und Sie brauchen kein Passwort:" }
                    (sso_button(label, Some(code)))
                    p { "Oder legen Sie ein Passwort fest:" }
                }
                form method="post" action={ "/web/einladung/" (code) } {
                    input type="hidden" name="email" value=(email) autocomplete="username";
                    label for="password" { "Neues Passwort" }
                    input type="password" id="password" name="password" autocomplete="new-password" minlength=(vergleichsring_store::MIN_PASSWORD_CHARS) required;
                    label for="password2" { "Neues Passwort wiederholen" }
                    input type="password" id="password2" name="password2" autocomplete="new-password" required;
                    p {
                        input type="checkbox" id="keep_tokens" name="keep_tokens" value="ja";
                        " "
                        label for="keep_tokens" { "Meine persönlichen Zugangsschlüssel behalten (nur wenn Sie sicher sind, dass niemand anderes Ihr Passwort kannte)" }
                    }
                    p { button type="submit" { "Passwort festlegen" } }
                }
            }
        },
    )
}

/// The form asking for a password-reset link: `sent` once asked (the same
/// answer whether the address has an account or not).
pub(crate) fn forgot_password(nonce: &str, sent: bool, error: Option<&str>) -> Markup {
    layout(
        "Passwort vergessen",
        None,
        html! {
            section {
                h1 { "Passwort vergessen" }
                @if sent {
                    p role="status" { "Wenn es zu dieser Adresse einen Zugang gibt, ist eine E-Mail mit einem Link unterwegs. Der Link gilt eine Stunde und nur einmal." }
                    p { a href="/web" { "Zur Anmeldung" } }
                } @else {
                    p { "Geben Sie die E-Mail-Adresse Ihres Zugangs an. Sie erhalten einen Link, über den Sie ein neues Passwort festlegen." }
                    @if let Some(e) = error {
                        p class="error" role="alert" { (e) }
                    }
                    form method="post" action="/web/passwort-vergessen" {
                        input type="hidden" name="nonce" value=(nonce);
                        label for="email" { "E-Mail-Adresse" }
                        input type="email" id="email" name="email" autocomplete="username" required;
                        p { button type="submit" { "Link anfordern" } }
                    }
                }
            }
        },
    )
}

/// The page of a password-reset link: the new password (twice).
pub(crate) fn new_password(code: &str, email: &str, error: Option<&str>) -> Markup {
    layout(
        "Neues Passwort",
        None,
        html! {
            section {
                h1 { "Neues Passwort" }
                p { "Legen Sie ein neues Passwort für " strong { (email) } " fest. Es muss mindestens " (vergleichsring_store::MIN_PASSWORD_CHARS) " Zeichen lang sein. Alle bisherigen Anmeldungen werden danach beendet, und Ihre persönlichen Zugangsschlüssel werden gesperrt, wenn Sie sie nicht ausdrücklich behalten." }
                @if let Some(e) = error {
                    p class="error" role="alert" { (e) }
                }
                form method="post" action={ "/web/passwort-neu/" (code) } {
                    input type="hidden" name="email" value=(email) autocomplete="username";
                    label for="password" { "Neues Passwort" }
                    input type="password" id="password" name="password" autocomplete="new-password" minlength=(vergleichsring_store::MIN_PASSWORD_CHARS) required;
                    label for="password2" { "Neues Passwort wiederholen" }
                    input type="password" id="password2" name="password2" autocomplete="new-password" required;
                    p {
                        input type="checkbox" id="keep_tokens" name="keep_tokens" value="ja";
                        " "
                        label for="keep_tokens" { "Meine persönlichen Zugangsschlüssel behalten (nur wenn Sie sicher sind, dass niemand anderes Ihr Passwort kannte)" }
                    }
                    p { button type="submit" { "Passwort festlegen" } }
                }
            }
        },
    )
}

/// After the single sign-on: on to `/web` by the page itself, so that the
/// browser sends the `SameSite=Strict` session cookie (it would not on a
/// redirect that began at the provider's site).
pub(crate) fn signed_in_through_sso(to: &str) -> Markup {
    maud::html! {
        (maud::DOCTYPE)
        html lang="de" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content={ "0;url=" (to) };
                title { "Angemeldet – Vergleichsring" }
            }
            body {
                main {
                    h1 { "Angemeldet" }
                    p { a href=(to) { "Weiter" } }
                }
            }
        }
    }
}

/// After a new password was set with a reset link.
pub(crate) fn password_set(tokens_ended: usize) -> Markup {
    layout(
        "Passwort geändert",
        None,
        html! {
            section {
                h1 { "Passwort geändert" }
                p role="status" {
                    "Ihr neues Passwort gilt. Alle bisherigen Anmeldungen sind beendet."
                    @if tokens_ended > 0 {
                        " " (tokens_ended) " persönliche Zugangsschlüssel wurden gesperrt; legen Sie bei Bedarf neue an."
                    }
                }
                p { a href="/web" { "Zur Anmeldung" } }
            }
        },
    )
}
