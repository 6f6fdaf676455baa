//! The member's own peer report as a page.

use maud::{Markup, PreEscaped};
use vergleichsring_engine::report::Report;
use vergleichsring_report::HtmlOptions;

/// The report as the report crate renders it, with a link back to the
/// overview.
pub(crate) fn report(report: &Report) -> Markup {
    let page = vergleichsring_report::to_html(
        report,
        &HtmlOptions {
            back_link: Some("/web".into()),
        },
    );
    // Safe unescaped: `to_html` returns a whole page it built itself and
    // escapes every text it puts in (the report crate's own contract);
    // escaping it again would show its tags as text.
    PreEscaped(page)
}
