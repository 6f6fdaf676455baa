//! Explaining a warning: the form beside each warning, and the notice the
//! overview shows once an explanation was saved.

use maud::{Markup, html};

use crate::web::signed_in::Member;

/// The form that explains one warning (`rule`) of a submission. The id
/// of its text area is unique on a page that lists several warnings.
pub(crate) fn explain_form(member: &Member, submission_id: &str, rule: &str) -> Markup {
    html! {
        form method="post" action="/web/erklaeren" {
            input type="hidden" name="csrf" value=(member.csrf);
            input type="hidden" name="submission_id" value=(submission_id);
            input type="hidden" name="rule" value=(rule);
            label for={ "x-" (submission_id) "-" (rule) } { "Erklärung" }
            textarea id={ "x-" (submission_id) "-" (rule) } name="text" required maxlength="2000" {}
            button type="submit" { "Erklärung speichern" }
        }
    }
}

/// The notice after an explanation was saved (`/web?erklaert=1`).
pub(crate) fn explained_notice() -> Markup {
    html! {
        section class="ok" role="status" {
            p { "Ihre Erklärung wurde gespeichert." }
        }
    }
}
