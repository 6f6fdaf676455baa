//! The catalogue's types: domains with their basic and key figures and
//! rules, size classes, and the lookups the other crates use. How they are
//! read from files is in `load.rs`, the conventions they must meet in
//! `conventions.rs`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::members::MemberKind;

/// Everything that can go wrong while reading a catalogue.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A file could not be read or written.
    #[error("catalogue file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A TOML file does not parse or does not fit the schema.
    #[error("catalogue file {path}: {source}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// The files parse but contradict each other or the conventions.
    #[error("catalogue: {0}")]
    Invalid(String),
}

/// Whether a higher value of a key figure is better, worse, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher is better (↑).
    Higher,
    /// Lower is better (↓).
    Lower,
    /// A policy choice (○); ranks count from the highest value.
    Neutral,
}

/// Whether a violated rule rejects the upload or is stored as a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The upload is rejected and nothing is stored.
    Error,
    /// The upload is stored and the warning kept with it.
    Warning,
}

/// A basic figure (Grunddatum) that members report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicFigure {
    /// English snake_case id, the column name in uploads.
    pub id: String,
    /// German label.
    pub label: String,
    /// Unit, e.g. `EW`, `EUR`.
    pub unit: String,
    /// Whether every submission must report it.
    pub required: bool,
    /// What to count, in German: one or two sentences a member's
    /// specialist can follow (period or reference date, what to exclude),
    /// after the national statistics where they ask the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// The definition in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition_en: Option<String>,
    /// Where the national statistics ask the same figure (e.g. `DBS ÖB
    /// Frage 12`), or why no source could be established.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The first year it is asked (none: always was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<i32>,
    /// The last year it is asked (none: still is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<i32>,
    /// The figure this one replaces: asked until the year before this
    /// one's first (a time series across the change is marked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Earlier definitions of this figure, oldest first, each in force up
    /// to and including its `valid_to`; the fields above hold the
    /// definition from the year after the last of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<EarlierDefinition>,
    /// How the perturbation of rule 14 treats the figure: `plus` or
    /// `minus` (the role sign, chosen per domain so that the two private
    /// inputs of every ratio and difference move apart), or `public` (an
    /// official figure such as the population, not perturbed). Figures
    /// without a role are `plus`, except `population`, which is public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_role: Option<NoiseRole>,
}

/// A definition a basic figure had until a year: what members reported
/// then.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlierDefinition {
    /// The last year this definition was in force.
    pub valid_to: i32,
    /// The German label then.
    pub label: String,
    /// The German definition then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// The English definition then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition_en: Option<String>,
    /// The source then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The role of a basic figure in the perturbation (rule 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseRole {
    /// Multiplied by 1 + s·u.
    Plus,
    /// Multiplied by 1 − s·u.
    Minus,
    /// Multiplied by 1 ± u with a sign of its own per member, independent
    /// of the member's sign: for the third figure of a triangle of ratios
    /// that two role signs cannot separate, so that each of its two ratios
    /// with the others moves apart for half the members and no identity
    /// between released key figures gives a ratio of it without noise.
    Free,
    /// Not perturbed: an official figure anyone can look up.
    Public,
}

impl BasicFigure {
    /// The figure's role in the perturbation, with the defaults applied.
    pub fn role(&self) -> NoiseRole {
        match self.noise_role {
            Some(r) => r,
            None if self.id == "population" => NoiseRole::Public,
            None => NoiseRole::Plus,
        }
    }
}

/// Which statistics of a key figure non-admin callers may see (rule 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Release {
    /// Every statistic the disclosure rules allow.
    #[default]
    Full,
    /// The group mean only: no quantiles, standard deviation, weighted
    /// ratio, distribution or position, because single values sit on a
    /// grid, at a bound or at zero, or the figure's inputs form a triangle
    /// of ratios that role signs cannot separate.
    MeanOnly,
}

impl Release {
    fn is_full(&self) -> bool {
        *self == Release::Full
    }
}

/// A key figure (Kennzahl) computed from basic figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFigure {
    /// English snake_case id.
    pub id: String,
    /// German label.
    pub label: String,
    /// Unit of the value.
    pub unit: String,
    /// Which way is better.
    pub direction: Direction,
    /// The formula as people read it; the SQL in `queries/` computes it.
    pub formula: String,
    /// Which statistics non-admin callers see (rule 15): `full` by
    /// default, or `mean_only`.
    #[serde(default, skip_serializing_if = "Release::is_full")]
    pub release: Release,
    /// Why a key figure is released as it is (set with `mean_only`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_note: Option<String>,
    /// The key figure this one replaces (computed until the year before
    /// this one's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// The first year it is asked (none: always was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<i32>,
    /// The last year it is asked (none: still is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<i32>,
}

/// A cross-field plausibility rule evaluated on one submitted row.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Id, unique within the domain.
    pub id: String,
    /// Error or warning.
    pub level: Level,
    /// SQL boolean expression over the basic figures; false means violated.
    pub check: String,
    /// German message.
    pub message_de: String,
    /// English message.
    pub message_en: String,
    /// The first year it is asked (none: always was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<i32>,
    /// The last year it is asked (none: still is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<i32>,
}

/// A year-over-year rule: the figure must not change by more than a share.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YoyRule {
    /// Id, unique within the domain.
    pub id: String,
    /// The basic figure compared with the previous year.
    pub figure: String,
    /// The largest accepted relative change, e.g. 0.2 for ±20 %.
    pub max_change: f64,
    /// Error or warning; warnings by default.
    #[serde(default = "warning")]
    pub level: Level,
    /// German message; written from the figure and limit when not given.
    #[serde(default)]
    pub message_de: String,
    /// English message; written from the figure and limit when not given.
    #[serde(default)]
    pub message_en: String,
    /// The first year it is asked (none: always was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<i32>,
    /// The last year it is asked (none: still is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<i32>,
}

fn warning() -> Level {
    Level::Warning
}

/// A domain of comparison, e.g. public libraries.
#[derive(Debug, Clone, Serialize)]
pub struct Domain {
    /// Id used in paths.
    pub id: String,
    /// German label.
    pub label: String,
    /// English label.
    pub label_en: String,
    /// The basic figures in catalogue order.
    pub basic_figures: Vec<BasicFigure>,
    /// The key figures in catalogue order.
    pub key_figures: Vec<KeyFigure>,
    /// Cross-field rules.
    pub rules: Vec<Rule>,
    /// Year-over-year rules.
    pub yoy_rules: Vec<YoyRule>,
    /// The key-figure SQL over the view `basic`.
    #[serde(skip)]
    pub query: String,
}

impl Domain {
    /// The basic figure with this id.
    pub fn basic_figure(&self, id: &str) -> Option<&BasicFigure> {
        self.basic_figures.iter().find(|f| f.id == id)
    }

    /// The position of a key figure in catalogue order.
    pub fn key_figure_index(&self, id: &str) -> Option<usize> {
        self.key_figures.iter().position(|f| f.id == id)
    }

    /// Finds a basic figure by its id or, case-insensitively, its German
    /// label (of now or of an earlier definition).
    pub fn basic_figure_by_header(&self, header: &str) -> Option<&BasicFigure> {
        let h = header.trim();
        let h = h.to_lowercase();
        self.basic_figure(header.trim()).or_else(|| {
            // A file of an earlier year may carry the label of then.
            self.basic_figures.iter().find(|f| {
                f.label.to_lowercase() == h || f.earlier.iter().any(|e| e.label.to_lowercase() == h)
            })
        })
    }
}

/// A KGSt size class for some member kinds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeClass {
    /// Id, e.g. `GK4` or `LK1`.
    pub id: String,
    /// The member kinds the class applies to.
    pub kinds: Vec<MemberKind>,
    /// Inclusive lower bound of the population.
    pub min_population: f64,
    /// German label.
    pub label: String,
}

/// The whole catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    /// Domains in id order.
    pub domains: Vec<Domain>,
    /// Size classes, in the order they are tried.
    pub size_classes: Vec<SizeClass>,
    /// The official municipality register: the data directory's imported
    /// extract, else the bundled one.
    #[serde(skip)]
    pub register: std::sync::Arc<crate::register::Register>,
}

impl Catalog {
    /// The domain with this id.
    pub fn domain(&self, id: &str) -> Option<&Domain> {
        self.domains.iter().find(|d| d.id == id)
    }

    /// The size class of a member of `kind` with `population` inhabitants.
    pub fn size_class(&self, kind: MemberKind, population: f64) -> Option<&SizeClass> {
        self.size_classes
            .iter()
            .find(|c| c.kinds.contains(&kind) && population >= c.min_population)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_catalogue_has_the_five_domains() -> Result<(), CatalogError> {
        let c = Catalog::bundled()?;
        let ids: Vec<_> = c.domains.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "adult_education",
                "library",
                "museum",
                "music_school",
                "theatre"
            ]
        );
        let lib = c
            .domain("library")
            .ok_or(CatalogError::Invalid("x".into()))?;
        assert_eq!(lib.basic_figures.len(), 18);
        assert_eq!(lib.key_figures.len(), 15);
        assert_eq!(
            c.domain("music_school").map(|d| d.key_figures.len()),
            Some(12)
        );
        assert_eq!(c.domain("museum").map(|d| d.key_figures.len()), Some(14));
        let sizes = |id: &str| {
            c.domain(id)
                .map(|d| (d.basic_figures.len(), d.key_figures.len()))
        };
        assert_eq!(sizes("adult_education"), Some((16, 12)));
        assert_eq!(sizes("theatre"), Some((17, 12)));
        Ok(())
    }

    /// Every bundled basic figure says what to count in German and
    /// English and where the national statistics ask it (or that no
    /// source was found): the entry form, the template, reports and the
    /// catalogue answer show them.
    #[test]
    fn every_bundled_basic_figure_has_a_definition_and_a_source() -> Result<(), CatalogError> {
        let c = Catalog::bundled()?;
        for d in &c.domains {
            for b in &d.basic_figures {
                for (what, text) in [
                    ("definition", &b.definition),
                    ("definition_en", &b.definition_en),
                    ("source", &b.source),
                ] {
                    let text = text.as_deref().unwrap_or_default();
                    assert!(text.trim().len() >= 10, "{}.{} has no {what}", d.id, b.id);
                    assert!(!text.contains('`'), "{}.{}: markup in {what}", d.id, b.id);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn size_classes_are_half_open() -> Result<(), CatalogError> {
        let c = Catalog::bundled()?;
        let class = |k, p| c.size_class(k, p).map(|s| s.id.clone());
        use MemberKind::*;
        assert_eq!(class(KreisfreieStadt, 400_000.0).as_deref(), Some("GK1"));
        assert_eq!(class(KreisfreieStadt, 399_999.0).as_deref(), Some("GK2"));
        assert_eq!(
            class(KreisangehoerigeGemeinde, 50_000.0).as_deref(),
            Some("GK4")
        );
        assert_eq!(
            class(KreisangehoerigeGemeinde, 9_999.0).as_deref(),
            Some("GK7")
        );
        assert_eq!(class(Landkreis, 250_000.0).as_deref(), Some("LK1"));
        assert_eq!(class(Landkreis, 149_999.0).as_deref(), Some("LK3"));
        assert_eq!(class(Landkreis, 1_000_000.0).as_deref(), Some("LK1"));
        Ok(())
    }

    #[test]
    fn a_written_catalogue_loads_back() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        Catalog::write_bundled(dir.path())?;
        let c = Catalog::load(dir.path())?;
        let ids = |c: &Catalog| -> Vec<String> { c.domains.iter().map(|d| d.id.clone()).collect() };
        assert_eq!(ids(&c), ids(&Catalog::bundled()?));
        assert_eq!(c.domains.len(), 5);
        Ok(())
    }

    #[test]
    fn a_domain_without_population_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        Catalog::write_bundled(dir.path())?;
        std::fs::write(
            dir.path().join("domains/bad.toml"),
            "id = \"bad\"\nlabel = \"B\"\nlabel_en = \"B\"\nquery = \"library.sql\"\nbasic_figures = []\nkey_figures = []\n",
        )?;
        let err = Catalog::load(dir.path()).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("population")));
        Ok(())
    }
}
