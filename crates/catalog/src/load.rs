//! Reading the catalogue: from a directory (`Catalog::load`), from the
//! copy compiled into the binary (`Catalog::bundled`), and writing that copy
//! into a data directory (`Catalog::write_bundled`). Every way ends in
//! `assemble`, which checks the conventions of `conventions.rs`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{
    BasicFigure, Catalog, CatalogError, Domain, KeyFigure, Rule, SizeClass, YoyRule,
};

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

impl DomainFile {
    /// Writes the messages of year-over-year rules that the file leaves
    /// empty, from the figure's label and the limit.
    fn fill_yoy_messages(&mut self) {
        for y in &mut self.yoy_rules {
            let label = self
                .basic_figures
                .iter()
                .find(|f| f.id == y.figure)
                .map_or(y.figure.clone(), |f| f.label.clone());
            let pct = format!("{:.0}", 100.0 * y.max_change);
            if y.message_de.is_empty() {
                y.message_de =
                    format!("{label} verändert sich gegenüber dem Vorjahr um mehr als ±{pct} %.");
            }
            if y.message_en.is_empty() {
                y.message_en = format!(
                    "{} changes by more than ±{pct} % against the previous year.",
                    y.figure
                );
            }
        }
    }
}

/// The catalogue that ships with the service, as (relative path, contents).
const BUNDLED: [(&str, &str); 11] = [
    (
        "size_classes.toml",
        include_str!("../../../catalog/size_classes.toml"),
    ),
    (
        "domains/theatre.toml",
        include_str!("../../../catalog/domains/theatre.toml"),
    ),
    (
        "domains/adult_education.toml",
        include_str!("../../../catalog/domains/adult_education.toml"),
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
        "queries/theatre.sql",
        include_str!("../../../queries/theatre.sql"),
    ),
    (
        "queries/adult_education.sql",
        include_str!("../../../queries/adult_education.sql"),
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
        let register = crate::register::Register::load(dir).map_err(|e| {
            CatalogError::Invalid(format!(
                "{}: {e}",
                dir.join(crate::register::FILE).display()
            ))
        })?;
        let mut catalog = Self::assemble(&sc_path, &sc_text, domain_texts, |name| {
            if !is_file_name(name) {
                return Err(CatalogError::Invalid(format!(
                    "query file name '{name}' must be a plain file name"
                )));
            }
            read(&queries.join(name))
        })?;
        if let Some(r) = register {
            catalog.register = std::sync::Arc::new(r);
        }
        Ok(catalog)
    }

    /// Parses the size classes and domain files, reads each domain's query
    /// through `query`, and checks the whole against the conventions.
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
            file.fill_yoy_messages();
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
            register: crate::register::Register::shared_bundled().clone(),
        };
        crate::conventions::check(&catalog)?;
        Ok(catalog)
    }
}

fn is_file_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && !name.contains('\\') && !name.starts_with('.')
}
