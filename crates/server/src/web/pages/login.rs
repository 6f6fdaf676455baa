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
                    "Melden Sie sich mit dem Zugangsschlüssel Ihrer Kommune an. Sie erhalten ihn vom Betreiber des Vergleichsrings; er beginnt mit "
                    code { "vr_" } "."
                }
                @if let Some(e) = error {
                    p class="error" role="alert" { (e) }
                }
                form method="post" action="/web/anmelden" {
                    input type="hidden" name="nonce" value=(nonce);
                    label for="token" { "Zugangsschlüssel" }
                    input type="password" id="token" name="token" autocomplete="current-password" required;
                    p { button type="submit" { "Anmelden" } }
                }
            }
        },
    )
}
