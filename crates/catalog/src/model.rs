//! The catalogue's types and how they are read from files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The upload is rejected and nothing is stored.
    Error,
    /// The upload is stored and the warning kept with it.
    Warning,
}

/// A basic figure (Grunddatum) that members report.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// How the perturbation of rule 14 treats the figure: `plus` or
    /// `minus` (the role sign, chosen per domain so that the two private
    /// inputs of every ratio and difference move apart), or `public` (an
    /// official figure such as the population, not perturbed). Figures
    /// without a role are `plus`, except `population`, which is public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_role: Option<NoiseRole>,
}

/// The role of a basic figure in the perturbation (rule 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
}

/// A cross-field plausibility rule evaluated on one submitted row.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
}

/// A year-over-year rule: the figure must not change by more than a share.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
}

fn warning() -> Level {
    Level::Warning
}

/// A domain of comparison, e.g. public libraries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

    /// Finds a basic figure by its id or, case-insensitively, its German label.
    pub fn basic_figure_by_header(&self, header: &str) -> Option<&BasicFigure> {
        let h = header.trim();
        self.basic_figure(h).or_else(|| {
            self.basic_figures
                .iter()
                .find(|f| f.label.to_lowercase() == h.to_lowercase())
        })
    }
}

/// A KGSt size class for some member kinds.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainFile {
    id: String,
    label: String,
    label_en: String,
    query: String,
    basic_figures: Vec<BasicFigure>,
    key_figures: Vec<KeyFigure>,
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    yoy_rules: Vec<YoyRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SizeClassFile {
    size_classes: Vec<SizeClass>,
}

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

/// The catalogue that ships with the service, as (relative path, contents).
const BUNDLED: [(&str, &str); 7] = [
    (
        "size_classes.toml",
        include_str!("../../../catalog/size_classes.toml"),
    ),
    (
        "domains/library.toml",
        include_str!("../../../catalog/domains/library.toml"),
    ),
    (
        "domains/museum.toml",
        include_str!("../../../catalog/domains/museum.toml"),
    ),
    (
        "domains/music_school.toml",
        include_str!("../../../catalog/domains/music_school.toml"),
    ),
    (
        "queries/library.sql",
        include_str!("../../../queries/library.sql"),
    ),
    (
        "queries/museum.sql",
        include_str!("../../../queries/museum.sql"),
    ),
    (
        "queries/music_school.sql",
        include_str!("../../../queries/music_school.sql"),
    ),
];

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.contains("__")
}

fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, CatalogError> {
    toml::from_str(text).map_err(|e| CatalogError::Toml {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

fn read(path: &Path) -> Result<String, CatalogError> {
    std::fs::read_to_string(path).map_err(|source| CatalogError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl Catalog {
    /// The catalogue that ships with the service.
    pub fn bundled() -> Result<Catalog, CatalogError> {
        let find = |p: &str| {
            BUNDLED
                .iter()
                .find(|(path, _)| *path == p)
                .map(|(_, text)| (*text).to_string())
                .ok_or_else(|| CatalogError::Invalid(format!("bundled file {p} is missing")))
        };
        let mut domain_texts = Vec::new();
        for (path, text) in BUNDLED.iter().filter(|(p, _)| p.starts_with("domains/")) {
            domain_texts.push((PathBuf::from(path), (*text).to_string()));
        }
        Self::assemble(
            Path::new("size_classes.toml"),
            &find("size_classes.toml")?,
            domain_texts,
            |name| find(&format!("queries/{name}")),
        )
    }

    /// Writes the bundled catalogue into `dir` (size_classes.toml, domains/,
    /// queries/), leaving files that already exist untouched.
    pub fn write_bundled(dir: &Path) -> Result<(), CatalogError> {
        for (rel, text) in BUNDLED {
            let path = dir.join(rel);
            if path.exists() {
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| CatalogError::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&path, text).map_err(|source| CatalogError::Io {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Reads a catalogue directory: `size_classes.toml`, every `domains/*.toml`
    /// and the SQL files they name under `queries/`.
    pub fn load(dir: &Path) -> Result<Catalog, CatalogError> {
        let sc_path = dir.join("size_classes.toml");
        let sc_text = read(&sc_path)?;
        let domains_dir = dir.join("domains");
        let entries = std::fs::read_dir(&domains_dir).map_err(|source| CatalogError::Io {
            path: domains_dir.clone(),
            source,
        })?;
        let mut domain_texts = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| CatalogError::Io {
                path: domains_dir.clone(),
                source,
            })?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) == Some("toml") {
                let text = read(&path)?;
                domain_texts.push((path, text));
            }
        }
        let queries = dir.join("queries");
        Self::assemble(&sc_path, &sc_text, domain_texts, |name| {
            if !is_file_name(name) {
                return Err(CatalogError::Invalid(format!(
                    "query file name '{name}' must be a plain file name"
                )));
            }
            read(&queries.join(name))
        })
    }

    fn assemble(
        sc_path: &Path,
        sc_text: &str,
        domain_texts: Vec<(PathBuf, String)>,
        query: impl Fn(&str) -> Result<String, CatalogError>,
    ) -> Result<Catalog, CatalogError> {
        let size_classes = parse_toml::<SizeClassFile>(sc_path, sc_text)?.size_classes;
        let mut domains = Vec::new();
        for (path, text) in domain_texts {
            let mut file: DomainFile = parse_toml(&path, &text)?;
            for y in &mut file.yoy_rules {
                let label = file
                    .basic_figures
                    .iter()
                    .find(|f| f.id == y.figure)
                    .map_or(y.figure.clone(), |f| f.label.clone());
                let pct = format!("{:.0}", 100.0 * y.max_change);
                if y.message_de.is_empty() {
                    y.message_de = format!(
                        "{label} verändert sich gegenüber dem Vorjahr um mehr als ±{pct} %."
                    );
                }
                if y.message_en.is_empty() {
                    y.message_en = format!(
                        "{} changes by more than ±{pct} % against the previous year.",
                        y.figure
                    );
                }
            }
            let sql = query(&file.query)?;
            domains.push(Domain {
                id: file.id,
                label: file.label,
                label_en: file.label_en,
                basic_figures: file.basic_figures,
                key_figures: file.key_figures,
                rules: file.rules,
                yoy_rules: file.yoy_rules,
                query: sql,
            });
        }
        domains.sort_by(|a, b| a.id.cmp(&b.id));
        let catalog = Catalog {
            domains,
            size_classes,
        };
        catalog.check()?;
        Ok(catalog)
    }

    /// Checks the conventions the rest of the service relies on: identifiers,
    /// uniqueness, a population figure in every domain, rules naming real figures.
    fn check(&self) -> Result<(), CatalogError> {
        let bad = |m: String| Err(CatalogError::Invalid(m));
        if self.domains.is_empty() {
            return bad("no domains".into());
        }
        let mut domain_ids = HashSet::new();
        for d in &self.domains {
            if !is_identifier(&d.id) || !domain_ids.insert(d.id.as_str()) {
                return bad(format!(
                    "domain id '{}' is not a unique snake_case id",
                    d.id
                ));
            }
            let mut ids = HashSet::new();
            for f in &d.basic_figures {
                if !is_identifier(&f.id) || RESERVED.contains(&f.id.as_str()) || !ids.insert(&f.id)
                {
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
        }
        if self.size_classes.is_empty() {
            return bad("no size classes".into());
        }
        for kind in [
            MemberKind::KreisfreieStadt,
            MemberKind::KreisangehoerigeGemeinde,
            MemberKind::Landkreis,
        ] {
            if !self
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

fn is_file_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && !name.contains('\\') && !name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_catalogue_has_the_three_domains() -> Result<(), CatalogError> {
        let c = Catalog::bundled()?;
        let ids: Vec<_> = c.domains.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["library", "museum", "music_school"]);
        let lib = c
            .domain("library")
            .ok_or(CatalogError::Invalid("x".into()))?;
        assert_eq!(lib.basic_figures.len(), 17);
        assert_eq!(lib.key_figures.len(), 15);
        assert_eq!(
            c.domain("music_school").map(|d| d.key_figures.len()),
            Some(12)
        );
        assert_eq!(c.domain("museum").map(|d| d.key_figures.len()), Some(14));
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
        assert_eq!(c.domains.len(), 3);
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
