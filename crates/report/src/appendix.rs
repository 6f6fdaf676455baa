//! The report's appendix: what each basic figure counts and where the
//! national statistics ask it, as the catalogue of the report's year
//! defines it (issue 29).

use maud::{Markup, html};
use vergleichsring_engine::report::Report;

use crate::fmt::Esc;

/// The appendix: what each basic figure of the report's domains counts
/// and where the national statistics ask it.
pub(crate) fn definitions_section(
    report: &Report,
    catalog: &vergleichsring_catalog::Catalog,
) -> Markup {
    html! {
        section class="method" id="definitionen" aria-labelledby="definitionen-h" {
            h2 id="definitionen-h" { "Anhang: Grundzahlen" }
            p { "Was jede Grundzahl zählt und wo die amtliche oder verbandliche Statistik dieselbe Zahl erfragt." }
            @for d in &report.domains {
                // The figures as asked and defined in the report's year.
                @if let Some(domain) = catalog.domain(&d.domain).map(|c| c.in_year(report.year)) {
                    h3 { (Esc(&d.label)) }
                    table {
                        thead {
                            tr {
                                th scope="col" { "Grundzahl" }
                                th scope="col" { "Einheit" }
                                th scope="col" { "Definition" }
                                th scope="col" { "Quelle" }
                            }
                        }
                        tbody {
                            @for f in &domain.basic_figures {
                                tr {
                                    td { (Esc(&f.label)) }
                                    td { (Esc(&f.unit)) }
                                    td { (Esc(f.definition.as_deref().unwrap_or("–"))) }
                                    td { (Esc(f.source.as_deref().unwrap_or("–"))) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
