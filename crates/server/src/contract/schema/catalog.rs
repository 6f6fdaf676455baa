//! Mirrors of the answer types of the catalogue (`vergleichsring_catalog`)
//! for the OpenAPI document: they only describe, never carry, data, so that
//! the crate stays free of the HTTP contract. `.ci/schemas.py` checks that
//! each has the doc comments, serde attributes, fields and variants of the
//! type it mirrors; `routes/tests.rs` checks what the real types serialise
//! to against the document.

use super::*;

// Mirrors `BuiltinCheck` of `crates/catalog/src/checks.rs`.
/// A check built into the ingest path, with its id and messages.
#[derive(Serialize, ToSchema)]
pub struct BuiltinCheck {
    /// Machine-readable id, reported as `rule` in validation errors.
    pub id: &'static str,
    /// Always `error`: built-in checks reject the upload.
    pub level: &'static str,
    /// German description.
    pub message_de: &'static str,
    /// English description.
    pub message_en: &'static str,
}

// Mirrors `MemberKind` of `crates/catalog/src/members.rs`.
/// The kind of a member, which decides its size classes.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// A city that is not part of a county.
    KreisfreieStadt,
    /// A municipality that belongs to a county.
    KreisangehoerigeGemeinde,
    /// A county.
    Landkreis,
}

// Mirrors `Direction` of `crates/catalog/src/model.rs`.
/// Whether a higher value of a key figure is better, worse, or neither.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher is better (↑).
    Higher,
    /// Lower is better (↓).
    Lower,
    /// A policy choice (○); ranks count from the highest value.
    Neutral,
}

// Mirrors `Level` of `crates/catalog/src/model.rs`.
/// Whether a violated rule rejects the upload or is stored as a warning.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The upload is rejected and nothing is stored.
    Error,
    /// The upload is stored and the warning kept with it.
    Warning,
}

// Mirrors `BasicFigure` of `crates/catalog/src/model.rs`.
/// A basic figure (Grunddatum) that members report.
#[derive(Serialize, ToSchema)]
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

// Mirrors `EarlierDefinition` of `crates/catalog/src/model.rs`.
/// A definition a basic figure had until a year: what members reported
/// then.
#[derive(Serialize, ToSchema)]
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

// Mirrors `NoiseRole` of `crates/catalog/src/model.rs`.
/// The role of a basic figure in the perturbation (rule 14).
#[derive(Serialize, ToSchema)]
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

// Mirrors `Release` of `crates/catalog/src/model.rs`.
/// Which statistics of a key figure non-admin callers may see (rule 15).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Release {
    /// Every statistic the disclosure rules allow.
    Full,
    /// The group mean only: no quantiles, standard deviation, weighted
    /// ratio, distribution or position, because single values sit on a
    /// grid, at a bound or at zero, or the figure's inputs form a triangle
    /// of ratios that role signs cannot separate.
    MeanOnly,
}

// Mirrors `KeyFigure` of `crates/catalog/src/model.rs`.
/// A key figure (Kennzahl) computed from basic figures.
#[derive(Serialize, ToSchema)]
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
    #[serde(default, skip_serializing_if = "is_full")]
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

// Mirrors `Rule` of `crates/catalog/src/model.rs`.
/// A cross-field plausibility rule evaluated on one submitted row.
#[derive(Serialize, ToSchema)]
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

// Mirrors `YoyRule` of `crates/catalog/src/model.rs`.
/// A year-over-year rule: the figure must not change by more than a share.
#[derive(Serialize, ToSchema)]
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

// Mirrors `Domain` of `crates/catalog/src/model.rs`.
/// A domain of comparison, e.g. public libraries.
#[derive(Serialize, ToSchema)]
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

// Mirrors `SizeClass` of `crates/catalog/src/model.rs`.
/// A KGSt size class for some member kinds.
#[derive(Serialize, ToSchema)]
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

// Mirrors `Municipality` of `crates/catalog/src/register.rs`.
/// One municipality of the register.
#[derive(Serialize, ToSchema)]
pub struct Municipality {
    /// Amtlicher Gemeindeschlüssel, 8 digits.
    pub ags: String,
    /// Official name with its suffix (`Köln, Stadt`).
    pub name: String,
    /// The 5-digit key of its Kreis.
    pub kreis: String,
    /// Area in km².
    pub area_km2: f64,
    /// Inhabitants.
    pub population: u64,
    /// Degree of urbanisation: 1 dense, 2 intermediate, 3 thin.
    pub degurba: u8,
}

// Mirrors `Proposal` of `crates/catalog/src/register.rs`.
/// A member as the register proposes it.
#[derive(Serialize, ToSchema)]
pub struct Proposal {
    /// The key asked for.
    pub member_id: String,
    /// A name in the ring's usual form (`Stadt Köln`); for a Kreis, whose
    /// name the register does not hold, empty.
    pub name: String,
    /// The proposed kind.
    pub kind: MemberKind,
    /// Inhabitants (a Kreis: the sum of its municipalities).
    pub population: u64,
    /// Area in km² (a Kreis: the sum).
    pub area_km2: f64,
    /// Municipalities (1 for a municipality).
    pub municipalities: usize,
}

/// For `KeyFigure::release`'s `skip_serializing_if`: utoipa only reads
/// that the field may be left out; the real type decides when.
fn is_full(_: &Release) -> bool {
    false
}
