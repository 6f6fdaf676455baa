//! The TOTP second factor of a personal account (`/web/zweiter-faktor`):
//! the code asked after the password, the enrolment with a QR code, and the
//! recovery codes shown once.

use maud::{Markup, PreEscaped, html};

use crate::web::layout::layout;
use crate::web::signed_in::Account;

/// The form asking for the code after the password.
pub(crate) fn code_form(csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Bestätigungscode",
        None,
        html! {
            section {
                h1 { "Bestätigungscode" }
                p { "Geben Sie den sechsstelligen Code aus Ihrer Authenticator-App ein, oder einen Ihrer Wiederherstellungscodes." }
                @if let Some(e) = error {
                    p class="error" role="alert" { (e) }
                }
                form method="post" action="/web/zweiter-faktor" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="code" { "Code" }
                    input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="16";
                    p { button type="submit" { "Bestätigen" } }
                }
            }
        },
    )
}

/// The enrolment: the secret as QR code and as text, and the form that
/// takes the first code.
pub(crate) fn enrol(member: &Account, secret: &str, qr_svg: &str, error: Option<&str>) -> Markup {
    layout(
        "Zweiter Faktor",
        Some((&member.name, &member.csrf)),
        html! {
            section {
                h1 { "Zweiter Faktor einrichten" }
                p { "Scannen Sie den QR-Code mit einer Authenticator-App (z. B. FreeOTP, Aegis, Google oder Microsoft Authenticator) oder geben Sie den Schlüssel von Hand ein. Danach fragt die Anmeldung nach dem Passwort auch nach dem Code der App." }
                div role="img" aria-label="QR-Code mit dem Schlüssel für die Authenticator-App" {
                    (PreEscaped(qr_svg))
                }
                p { "Schlüssel: " code { (secret) } }
                @if let Some(e) = error {
                    p class="error" role="alert" { (e) }
                }
                form method="post" action="/web/zweiter-faktor" {
                    input type="hidden" name="csrf" value=(member.csrf);
                    input type="hidden" name="secret" value=(secret);
                    label for="code" { "Code aus der App" }
                    input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="6";
                    p { button type="submit" { "Einrichten" } }
                }
                p { a href="/web" { "Zurück zur Übersicht" } }
            }
        },
    )
}

/// The recovery codes, shown once after the enrolment.
pub(crate) fn recovery_codes(member: &Account, codes: &[String]) -> Markup {
    layout(
        "Wiederherstellungscodes",
        Some((&member.name, &member.csrf)),
        html! {
            section {
                h1 { "Zweiter Faktor eingerichtet" }
                p { "Bewahren Sie diese Wiederherstellungscodes sicher auf. Jeder ersetzt einmal den Code der App, falls Sie das Gerät verlieren. Sie werden nur jetzt angezeigt." }
                ul {
                    @for c in codes {
                        li { code { (c) } }
                    }
                }
                p { a href="/web" { "Weiter zur Übersicht" } }
            }
        },
    )
}

/// For an account whose second factor is enrolled already.
pub(crate) fn enrolled(member: &Account) -> Markup {
    layout(
        "Zweiter Faktor",
        Some((&member.name, &member.csrf)),
        html! {
            section {
                h1 { "Zweiter Faktor" }
                p { "Ihr Zugang ist mit einem zweiten Faktor geschützt." }
                p { a href="/web" { "Zurück zur Übersicht" } }
            }
        },
    )
}
