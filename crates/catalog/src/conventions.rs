//! The conventions every catalogue must meet, checked when it is loaded:
//! the rest of the service relies on them (identifiers that are safe as
//! column names, unique ids, a required population figure in every domain,
//! rules that name real figures, a size class from 0 for every kind).

use std::collections::HashSet;

use crate::members::MemberKind;
use crate::model::{Catalog, CatalogError, Domain};

/// Column names an upload or the lake uses for itself; no figure may take them.
const RESERVED: [&str; 7] = [
    "member_id",
    "year",
    "submission_id",
    "submitted_at",
    "submitted_by",
    "row",
    "warnings",
];

/// A snake_case id: lowercase ASCII letters, digits and single underscores,
/// starting with a letter, so that it is safe as a column name in SQL.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.contains("__")
}

/// The result of a check: the first convention broken, as a sentence.
type Checked = Result<(), CatalogError>;

fn bad(message: String) -> Checked {
    Err(CatalogError::Invalid(message))
}

/// Checks the conventions the rest of the service relies on: identifiers,
/// uniqueness, a population figure in every domain, rules naming real
/// figures, and size classes for every member kind.
pub(crate) fn check(catalog: &Catalog) -> Checked {
    if catalog.domains.is_empty() {
        return bad("no domains".into());
    }
    let mut domain_ids = HashSet::new();
    for d in &catalog.domains {
        if !is_identifier(&d.id) || !domain_ids.insert(d.id.as_str()) {
            return bad(format!(
                "domain id '{}' is not a unique snake_case id",
                d.id
            ));
        }
        check_figures(d)?;
        check_rules(d)?;
        check_years(d)?;
    }
    check_size_classes(catalog)
}

/// The basic and key figure ids of a domain, and its population figure.
fn check_figures(d: &Domain) -> Checked {
    let mut ids = HashSet::new();
    for f in &d.basic_figures {
        if !is_identifier(&f.id) || RESERVED.contains(&f.id.as_str()) || !ids.insert(&f.id) {
            return bad(format!(
                "domain {}: basic figure id '{}' is not a unique, unreserved snake_case id",
                d.id, f.id
            ));
        }
    }
    match d.basic_figure("population") {
        Some(p) if p.required => {}
        _ => {
            return bad(format!(
                "domain {}: every domain needs a required basic figure 'population' (size classes use it)",
                d.id
            ));
        }
    }
    let mut kf_ids = HashSet::new();
    for k in &d.key_figures {
        if !is_identifier(&k.id) || !kf_ids.insert(&k.id) {
            return bad(format!(
                "domain {}: key figure id '{}' is not a unique snake_case id",
                d.id, k.id
            ));
        }
    }
    Ok(())
}

/// The years of a domain's figures (issue 29): ranges that are not empty,
/// earlier definitions in order inside the figure's range, a replaced
/// figure that ends the year before its replacement starts, and a
/// population that is always asked.
fn check_years(d: &Domain) -> Checked {
    let range = |what: &str, id: &str, from: Option<i32>, to: Option<i32>| match (from, to) {
        (Some(f), Some(t)) if f > t => bad(format!(
            "domain {}: {what} {id} is valid from {f} to {t}, an empty range",
            d.id
        )),
        _ => Ok(()),
    };
    let replaced =
        |what: &str, id: &str, from: Option<i32>, old: Option<Option<i32>>| match (from, old) {
            (_, None) => bad(format!(
                "domain {}: {what} {id} replaces a {what} the domain does not have",
                d.id
            )),
            (Some(f), Some(Some(t))) if t + 1 == f => Ok(()),
            _ => bad(format!(
                "domain {}: {what} {id} must start the year after the {what} it replaces ends",
                d.id
            )),
        };
    for f in &d.basic_figures {
        range("basic figure", &f.id, f.valid_from, f.valid_to)?;
        let mut last = f.valid_from.map(|v| v - 1);
        for e in &f.earlier {
            let inside =
                last.is_none_or(|l| e.valid_to > l) && f.valid_to.is_none_or(|t| e.valid_to < t);
            if !inside {
                return bad(format!(
                    "domain {}: basic figure {}: earlier definitions must end in ascending years inside the figure's range",
                    d.id, f.id
                ));
            }
            last = Some(e.valid_to);
        }
        if let Some(r) = &f.replaces {
            replaced(
                "basic figure",
                &f.id,
                f.valid_from,
                d.basic_figure(r).map(|o| o.valid_to),
            )?;
        }
        if f.id == "population" && (f.valid_from.is_some() || f.valid_to.is_some()) {
            return bad(format!(
                "domain {}: population is asked in every year",
                d.id
            ));
        }
    }
    for k in &d.key_figures {
        range("key figure", &k.id, k.valid_from, k.valid_to)?;
        if let Some(r) = &k.replaces {
            let old = d
                .key_figures
                .iter()
                .find(|o| &o.id == r)
                .map(|o| o.valid_to);
            replaced("key figure", &k.id, k.valid_from, old)?;
        }
    }
    for r in &d.rules {
        range("rule", &r.id, r.valid_from, r.valid_to)?;
    }
    for r in &d.yoy_rules {
        range("rule", &r.id, r.valid_from, r.valid_to)?;
    }
    Ok(())
}

/// The cross-field and year-over-year rules of a domain: unique ids (over
/// both kinds), single expressions, real figures and positive limits.
fn check_rules(d: &Domain) -> Checked {
    let mut rule_ids = HashSet::new();
    for r in &d.rules {
        if !is_identifier(&r.id) || !rule_ids.insert(r.id.as_str()) {
            return bad(format!("domain {}: rule id '{}' is not unique", d.id, r.id));
        }
        if r.check.contains(';') {
            return bad(format!(
                "domain {}: rule {} must be a single expression",
                d.id, r.id
            ));
        }
    }
    for y in &d.yoy_rules {
        if !is_identifier(&y.id) || !rule_ids.insert(y.id.as_str()) {
            return bad(format!("domain {}: rule id '{}' is not unique", d.id, y.id));
        }
        if d.basic_figure(&y.figure).is_none() {
            return bad(format!(
                "domain {}: rule {} names unknown figure '{}'",
                d.id, y.id, y.figure
            ));
        }
        if !(y.max_change.is_finite() && y.max_change > 0.0) {
            return bad(format!(
                "domain {}: rule {} needs a positive max_change",
                d.id, y.id
            ));
        }
    }
    Ok(())
}

/// Every member kind needs a size class that starts at 0, so that every
/// member has a class.
fn check_size_classes(catalog: &Catalog) -> Checked {
    if catalog.size_classes.is_empty() {
        return bad("no size classes".into());
    }
    for kind in [
        MemberKind::KreisfreieStadt,
        MemberKind::KreisangehoerigeGemeinde,
        MemberKind::Landkreis,
    ] {
        if !catalog
            .size_classes
            .iter()
            .any(|c| c.kinds.contains(&kind) && c.min_population <= 0.0)
        {
            return bad(format!(
                "size classes: kind {} needs a class starting at 0",
                kind.as_str()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message of the first convention the bundled catalogue breaks
    /// after `change`.
    fn broken(change: impl FnOnce(&mut Catalog)) -> String {
        let mut catalog = Catalog::bundled().unwrap();
        change(&mut catalog);
        match check(&catalog) {
            Err(e) => e.to_string(),
            Ok(()) => "passes".into(),
        }
    }

    #[test]
    fn each_broken_convention_is_named() {
        assert_eq!(broken(|_| {}), "passes");
        assert_eq!(broken(|c| c.domains.clear()), "catalogue: no domains");
        assert_eq!(
            broken(|c| c.domains[2].id = "library".into()),
            "catalogue: domain id 'library' is not a unique snake_case id"
        );
        assert_eq!(
            broken(|c| c.domains[1].basic_figures[1].id = "year".into()),
            "catalogue: domain library: basic figure id 'year' is not a unique, unreserved snake_case id"
        );
        assert_eq!(
            broken(|c| c.domains[1].basic_figures[0].required = false),
            "catalogue: domain library: every domain needs a required basic figure 'population' (size classes use it)"
        );
        assert_eq!(
            broken(|c| c.domains[1].key_figures[0].id = "Bad".into()),
            "catalogue: domain library: key figure id 'Bad' is not a unique snake_case id"
        );
        assert_eq!(
            broken(|c| c.domains[1].rules[0].check.push(';')),
            format!(
                "catalogue: domain library: rule {} must be a single expression",
                Catalog::bundled().unwrap().domains[1].rules[0].id
            )
        );
        assert_eq!(
            broken(|c| c.domains[1].yoy_rules[0].max_change = f64::NAN),
            "catalogue: domain library: rule yoy_population needs a positive max_change"
        );
        assert_eq!(
            broken(|c| c.size_classes.retain(|s| s.min_population > 0.0)),
            "catalogue: size classes: kind kreisfreie_stadt needs a class starting at 0"
        );
    }
}
