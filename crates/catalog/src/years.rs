//! The catalogue of a year (issue 29): figures, key figures and rules are
//! asked or applied from `valid_from` to `valid_to`, and a basic figure's
//! definition may have changed (`earlier`). Uploads, the entry form, the
//! template, comparisons and time series use the catalogue of their year;
//! a time series across a change of definition names the year it breaks.

use crate::model::{BasicFigure, Domain, KeyFigure, Rule, YoyRule};

/// Whether `year` lies in `from..=to` (open ends).
fn within(year: i32, from: Option<i32>, to: Option<i32>) -> bool {
    from.is_none_or(|f| year >= f) && to.is_none_or(|t| year <= t)
}

impl BasicFigure {
    /// Whether members report the figure for `year`.
    pub fn asked_in(&self, year: i32) -> bool {
        within(year, self.valid_from, self.valid_to)
    }

    /// The figure as it is asked for `year`: with the definition in force
    /// then; `None` when it is not asked.
    pub fn in_year(&self, year: i32) -> Option<BasicFigure> {
        if !self.asked_in(year) {
            return None;
        }
        let mut f = self.clone();
        f.describe_as_in(year);
        f.earlier.clear();
        Some(f)
    }

    /// Takes the label, definitions and source in force in `year`.
    fn describe_as_in(&mut self, year: i32) {
        if let Some(e) = self.earlier.iter().find(|e| year <= e.valid_to).cloned() {
            self.label = e.label;
            self.definition = e.definition;
            self.definition_en = e.definition_en;
            self.source = e.source;
        }
    }

    /// The first year of the definition in force in `year` (`None` for a
    /// definition without a start): two years with different answers do
    /// not count the same thing.
    fn version_of(&self, year: i32) -> Option<i32> {
        let mut start = self.valid_from;
        for e in &self.earlier {
            if year <= e.valid_to {
                return start;
            }
            start = Some(e.valid_to + 1);
        }
        start
    }
}

impl KeyFigure {
    /// Whether the key figure is computed for `year`.
    pub fn valid_in(&self, year: i32) -> bool {
        within(year, self.valid_from, self.valid_to)
    }
}

impl Rule {
    /// Whether the rule checks uploads for `year`.
    pub fn applies_in(&self, year: i32) -> bool {
        within(year, self.valid_from, self.valid_to)
    }
}

impl YoyRule {
    /// Whether the rule compares `year` with the year before.
    pub fn applies_in(&self, year: i32) -> bool {
        within(year, self.valid_from, self.valid_to)
    }
}

impl Domain {
    /// The catalogue of `year`: the basic figures asked then, with their
    /// definitions then, and the key figures and rules of the year.
    pub fn in_year(&self, year: i32) -> Domain {
        Domain {
            basic_figures: self
                .basic_figures
                .iter()
                .filter_map(|f| f.in_year(year))
                .collect(),
            key_figures: self
                .key_figures
                .iter()
                .filter(|k| k.valid_in(year))
                .cloned()
                .collect(),
            rules: self
                .rules
                .iter()
                .filter(|r| r.applies_in(year))
                .cloned()
                .collect(),
            yoy_rules: self
                .yoy_rules
                .iter()
                .filter(|r| r.applies_in(year))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    /// The domain with every basic figure, in the same order, described
    /// as in `year` (the label and definition then): for code that finds
    /// figures by their catalogue position and names them in messages.
    pub fn described_in(&self, year: i32) -> Domain {
        let mut d = self.clone();
        for f in &mut d.basic_figures {
            f.describe_as_in(year);
        }
        d
    }

    /// Why a value of a figure the catalogue does not ask for `year` is
    /// refused, with the years it is asked and what replaces it.
    pub fn not_asked(&self, fig: &BasicFigure, year: i32) -> String {
        let asked = match (fig.valid_from, fig.valid_to) {
            (Some(f), Some(t)) => format!("from {f} to {t}"),
            (Some(f), None) => format!("from {f}"),
            (None, Some(t)) => format!("until {t}"),
            (None, None) => "always".to_string(),
        };
        let successor = self
            .basic_figures
            .iter()
            .find(|g| g.replaces.as_deref() == Some(fig.id.as_str()))
            .map(|g| format!("; {} ({}) replaces it", g.id, g.label))
            .unwrap_or_default();
        format!(
            "{} ({}) is not asked for {year}: it is asked {asked}{successor}; leave the cell empty",
            fig.id, fig.label
        )
    }

    /// The basic figures a key figure is computed from: those its formula
    /// names.
    pub fn inputs(&self, key: &KeyFigure) -> Vec<&BasicFigure> {
        let words: Vec<&str> = key
            .formula
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        self.basic_figures
            .iter()
            .filter(|b| words.contains(&b.id.as_str()))
            .collect()
    }

    /// Whether what a basic figure counts differs between `year - 1` and
    /// `year`: its definition changed, or it replaced another figure.
    pub fn figure_breaks(&self, figure: &BasicFigure, year: i32) -> bool {
        let before = year - 1;
        if figure.asked_in(year) && figure.asked_in(before) {
            return figure.version_of(year) != figure.version_of(before);
        }
        figure.asked_in(year) && figure.valid_from == Some(year) && figure.replaces.is_some()
    }

    /// The years of `years` from which a key figure's time series counts
    /// something else than the year before: the key figure itself starts
    /// again (it replaces another), or one of its inputs' definitions
    /// changed. Ascending.
    pub fn breaks(&self, key: &KeyFigure, years: &[i32]) -> Vec<i32> {
        let inputs = self.inputs(key);
        let mut out: Vec<i32> = years
            .iter()
            .copied()
            .filter(|&y| {
                (key.valid_from == Some(y) && key.replaces.is_some())
                    || inputs.iter().any(|b| self.figure_breaks(b, y))
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Catalog, CatalogError};

    #[test]
    fn the_library_catalogue_changes_in_2025() -> Result<(), CatalogError> {
        let c = Catalog::bundled()?;
        let lib = c
            .domain("library")
            .ok_or(CatalogError::Invalid("library".into()))?;
        let ids = |y: i32| -> Vec<String> {
            lib.in_year(y)
                .basic_figures
                .iter()
                .map(|f| f.id.clone())
                .collect()
        };
        assert!(ids(2024).contains(&"virtual_visits".to_string()));
        assert!(!ids(2024).contains(&"e_media_uses".to_string()));
        assert!(!ids(2025).contains(&"virtual_visits".to_string()));
        assert!(ids(2025).contains(&"e_media_uses".to_string()));
        let loans = |y: i32| {
            lib.in_year(y)
                .basic_figure("loans")
                .and_then(|f| f.definition.clone())
                .unwrap_or_default()
        };
        assert!(loans(2024).contains("einschließlich Verlängerungen"));
        assert!(loans(2025).contains("nicht die automatischen Verlängerungen"));
        let per_capita = lib
            .key_figures
            .iter()
            .find(|k| k.id == "loans_per_capita")
            .ok_or(CatalogError::Invalid("loans_per_capita".into()))?;
        assert_eq!(lib.breaks(per_capita, &[2022, 2023, 2024, 2025]), [2025]);
        let visits = lib
            .key_figures
            .iter()
            .find(|k| k.id == "visits_per_capita")
            .ok_or(CatalogError::Invalid("visits_per_capita".into()))?;
        assert!(lib.breaks(visits, &[2024, 2025]).is_empty());
        Ok(())
    }
}
