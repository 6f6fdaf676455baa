//! The German words the pages show for the catalogue's ids: domains,
//! basic figures and rules.

use vergleichsring_catalog::Catalog;
use vergleichsring_ingest::RowError;

/// The German label of a domain, else its id.
pub(crate) fn domain_label<'a>(catalog: &'a Catalog, id: &'a str) -> &'a str {
    catalog
        .domains
        .iter()
        .find(|d| d.id == id)
        .map_or(id, |d| d.label.as_str())
}

/// The German label of a basic figure (or of each in a list like
/// `loans, visits`), else the id.
pub(crate) fn figure_label(catalog: &Catalog, domain: &str, figure: &str) -> String {
    let d = catalog.domains.iter().find(|d| d.id == domain);
    figure
        .split(',')
        .map(|f| {
            let f = f.trim();
            d.and_then(|d| d.basic_figure(f))
                .map_or_else(|| f.to_string(), |b| b.label.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The German message of a rule when the catalogue has one.
pub(crate) fn rule_message_de(catalog: &Catalog, domain: &str, e: &RowError) -> String {
    let from_domain = catalog
        .domains
        .iter()
        .filter(|d| d.id == domain)
        .flat_map(|d| {
            d.rules
                .iter()
                .map(|r| (r.id.as_str(), r.message_de.as_str()))
                .chain(
                    d.yoy_rules
                        .iter()
                        .map(|r| (r.id.as_str(), r.message_de.as_str())),
                )
        })
        .find(|(id, _)| *id == e.rule)
        .map(|(_, m)| m.to_string());
    let builtin = || {
        vergleichsring_catalog::BUILTIN_CHECKS
            .iter()
            .find(|c| c.id == e.rule)
            .map(|c| c.message_de.to_string())
    };
    match from_domain.or_else(builtin) {
        // The specific English sentence names the value; the German rule
        // text says what the rule is.
        Some(de) => format!("{de} ({})", e.message),
        None => e.message.clone(),
    }
}
