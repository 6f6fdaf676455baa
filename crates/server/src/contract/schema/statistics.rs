//! Mirrors of the answer types of the engine's statistics, reports and
//! disclosure (`vergleichsring_engine`) for the OpenAPI document: they only
//! describe, never carry, data, so that the crate stays free of the HTTP
//! contract. `.ci/schemas.py` checks that each has the doc comments, serde
//! attributes, fields and variants of the type it mirrors;
//! `routes/tests.rs` checks what the real types serialise to against the
//! document.

use super::*;

// Mirrors `Peer` of `crates/engine/src/out/compare.rs`.
/// A peer shown by name (visibility mode `named`).
#[derive(Serialize, ToSchema)]
pub struct Peer {
    /// The member.
    pub member_id: String,
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: f64,
}

// Mirrors `Own` of `crates/engine/src/out/compare.rs`.
/// The requesting member's own position in its group.
///
/// Admin and rings without perturbation get the exact `rank` and
/// `percentile_rank` (both `null` while withheld); non-admin callers of a
/// perturbing ring get the `quintile` instead (rule 17).
#[derive(Serialize, ToSchema)]
pub struct Own {
    /// The member.
    pub member_id: String,
    /// Its key-figure value (`null` when not computable).
    pub value: Option<f64>,
    /// Rank in the group, 1 = best (admin and rings without perturbation);
    /// `null` while the group is suppressed.
    pub rank: Option<usize>,
    /// Percentile rank in the group (admin and rings without
    /// perturbation); `null` while the group is suppressed.
    pub percentile_rank: Option<f64>,
    /// The fifth of the group the member's perturbed value falls in among
    /// its peers' perturbed values, 1 = best fifth (non-admin callers, in
    /// built-in groups, for key figures released in full; rule 17).
    pub quintile: Option<u8>,
    /// Whether the position is the coarse one (quintile) rather than the
    /// exact one (rank and percentile rank).
    #[schema(ignore)]
    pub coarse: bool,
}

// Mirrors `GroupResult` of `crates/engine/src/out/compare.rs`.
/// One group of a comparison, after disclosure control.
#[derive(Serialize, ToSchema)]
pub struct GroupResult {
    /// Group id, e.g. `GK4`, `05`, `landkreis`, `all`.
    pub group: String,
    /// Human-readable German label of the group.
    pub label: String,
    /// Members with a value.
    pub n: usize,
    /// Whether the statistics are withheld.
    pub suppressed: bool,
    /// Machine-readable reason for the suppression.
    pub reason: Option<&'static str>,
    /// English explanation of the suppression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    /// German explanation of the suppression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_de: Option<&'static str>,
    /// The disclosed statistics.
    pub stats: Option<DisclosedStats>,
    /// Statistics withheld from a disclosed group, with reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<Withheld>,
    /// The requesting member's position, only in its own group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own: Option<Own>,
    /// Visibility `pseudonymous`: the group's values, sorted, rounded to 3
    /// significant digits, without any name or pseudonym.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Vec<f64>>,
    /// Visibility `named`: the members of the group with their values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<Peer>>,
    /// How much the perturbation moved the released statistics (rule 17;
    /// non-admin callers of a perturbing ring, disclosed groups only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseFlags>,
    /// Admin only: the statistics as non-admin callers see them, from
    /// perturbed figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perturbed: Option<PerturbedGroup>,
}

// Mirrors `PublicationRef` of `crates/engine/src/out/compare.rs`.
/// The publication an answer comes from (rule 9).
#[derive(Serialize, ToSchema)]
pub struct PublicationRef {
    /// Publication id, e.g. `library-2024-p2`.
    pub id: String,
    /// When it was published (RFC 3339, UTC).
    pub published_at: String,
}

// Mirrors `Comparison` of `crates/engine/src/out/compare.rs`.
/// A comparison of one key figure in one (domain, year) by one dimension.
#[derive(Serialize, ToSchema)]
pub struct Comparison {
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// Key figure id.
    pub figure: String,
    /// Dimension.
    pub group_by: String,
    /// Data version the statistics were computed from.
    pub data_version: String,
    /// The publication the statistics come from (every answer to a
    /// non-admin caller; admin reads the live state).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub publication: Option<PublicationRef>,
    /// The groups, in catalogue order of their ids.
    pub groups: Vec<GroupResult>,
}

// Mirrors `Point` of `crates/engine/src/out/compare.rs`.
/// One year of a time series.
#[derive(Serialize, ToSchema)]
pub struct Point {
    /// The year.
    pub year: i32,
    /// The group (the member's group, or each group for analysts).
    pub group: Option<String>,
    /// The member's own value.
    pub own: Option<f64>,
    /// Members with a value in the group.
    pub n: usize,
    /// Whether the statistics are withheld.
    pub suppressed: bool,
    /// Machine-readable reason for the suppression.
    pub reason: Option<&'static str>,
    /// English explanation of the suppression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    /// German explanation of the suppression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_de: Option<&'static str>,
    /// The disclosed statistics.
    pub stats: Option<DisclosedStats>,
    /// How much the perturbation moved them (rule 17; non-admin callers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseFlags>,
    /// The member's quintile among its peers (non-admin callers, rule 17).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quintile: Option<u8>,
    /// The publication the year's statistics come from (non-admin callers).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub publication: Option<PublicationRef>,
}

// Mirrors `Timeseries` of `crates/engine/src/out/compare.rs`.
/// A time series of one key figure.
#[derive(Serialize, ToSchema)]
pub struct Timeseries {
    /// Domain id.
    pub domain: String,
    /// Key figure id.
    pub figure: String,
    /// Dimension.
    pub group_by: String,
    /// The member, if any.
    pub member_id: Option<String>,
    /// Data version.
    pub data_version: String,
    /// Points by year, then group.
    pub points: Vec<Point>,
    /// The years from which the key figure counts something else than the
    /// year before (its definition or an input's changed, issue 29):
    /// points on both sides of one are not comparable. Empty: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<i32>,
}

// Mirrors `Report` of `crates/engine/src/out/report.rs`.
/// A member's peer report for a year.
#[derive(Serialize, ToSchema)]
pub struct Report {
    /// The member.
    pub member_id: String,
    /// Its name.
    pub member_name: String,
    /// The year.
    pub year: i32,
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The data version of every domain in the report.
    pub data_versions: BTreeMap<String, String>,
    /// The publication each domain's statistics come from (rule 9; empty
    /// for admin, who reads the live state).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub publications: BTreeMap<String, PublicationRef>,
    /// The `as_of` the report was asked for (a release id or data
    /// versions), when it shows a past state.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub as_of: Option<String>,
    /// The ring's frozen releases, oldest first, as they stood at the
    /// report's state.
    pub releases: Vec<DataRelease>,
    /// The domains the member submitted for the year.
    pub domains: Vec<DomainReport>,
    /// How the numbers were made.
    pub method: Method,
}

// Mirrors `DomainReport` of `crates/engine/src/out/report.rs`.
/// One domain of a report.
#[derive(Serialize, ToSchema)]
pub struct DomainReport {
    /// Domain id.
    pub domain: String,
    /// German label.
    pub label: String,
    /// The member's size class in this domain and year.
    pub size_class: Option<String>,
    /// Its label.
    pub size_class_label: Option<String>,
    /// The key figures in catalogue order.
    pub key_figures: Vec<FigureReport>,
}

// Mirrors `FigureReport` of `crates/engine/src/out/report.rs`.
/// One key figure of a report.
#[derive(Serialize, ToSchema)]
pub struct FigureReport {
    /// Key figure id.
    pub id: String,
    /// German label.
    pub label: String,
    /// The formula.
    pub definition: String,
    /// Unit.
    pub unit: String,
    /// `higher`, `lower` or `neutral`.
    pub direction: Direction,
    /// The member's value.
    pub own: Option<f64>,
    /// The member's size class, after disclosure control.
    pub size_class: Option<GroupResult>,
    /// All members, after disclosure control.
    pub all: Option<GroupResult>,
    /// The member's value against its size class over up to five years.
    pub timeseries: Vec<Point>,
    /// The years of the series from which the key figure counts something
    /// else than the year before (a definition changed, issue 29).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<i32>,
}

// Mirrors `Method` of `crates/engine/src/out/report.rs`.
/// The method section.
#[derive(Serialize, ToSchema)]
pub struct Method {
    /// The quantile definition, in German.
    pub quantiles: &'static str,
    /// The peer groups of the report and their sizes.
    pub groups: Vec<MethodGroup>,
    /// Every suppression reason with its sentences.
    pub suppression: Vec<MethodReason>,
    /// What the noise of rule 14 means, in German (absent when the ring
    /// perturbs nothing or the report is admin's live view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<&'static str>,
}

// Mirrors `MethodGroup` of `crates/engine/src/out/report.rs`.
/// A peer group named in the report.
#[derive(Serialize, ToSchema)]
pub struct MethodGroup {
    /// Domain id.
    pub domain: String,
    /// `size_class` or `all`.
    pub dimension: String,
    /// Group id.
    pub group: String,
    /// Members with a value for the domain's first key figure.
    pub members: usize,
}

// Mirrors `MethodReason` of `crates/engine/src/out/report.rs`.
/// A suppression reason explained.
#[derive(Serialize, ToSchema)]
pub struct MethodReason {
    /// The reason code.
    pub reason: &'static str,
    /// German sentence.
    pub message_de: &'static str,
    /// English sentence.
    pub message_en: &'static str,
}

// Mirrors `PerturbedGroup` of `crates/engine/src/out/compare/noisy.rs`.
/// What non-admin callers see of a group, shown to admin beside the true
/// statistics (rule 14: admin sees both).
#[derive(Serialize, ToSchema)]
pub struct PerturbedGroup {
    /// Whether an analyst would get no statistics for the group.
    pub suppressed: bool,
    /// Why, if so.
    pub reason: Option<&'static str>,
    /// The statistics from perturbed figures, as an analyst sees them.
    pub stats: Option<DisclosedStats>,
    /// Statistics withheld from the group, with reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<Withheld>,
    /// Their noise flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseFlags>,
}

// Mirrors `SubmissionInfo` of `crates/engine/src/read/records.rs`.
/// A submission as listed.
#[derive(Serialize, ToSchema)]
pub struct SubmissionInfo {
    /// Id of the submission.
    pub submission_id: String,
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// Commit time.
    pub submitted_at: String,
    /// Token id of the submitter.
    pub submitted_by: String,
    /// Data version created by the submission.
    pub data_version: String,
    /// Rows (of the visible members).
    pub rows: usize,
    /// Members in it (visible to the caller).
    pub members: Vec<String>,
    /// Members whose current figures come from it.
    pub current_for: Vec<String>,
    /// Warnings of the visible rows.
    pub warnings: Vec<serde_json::Value>,
    /// SHA-256 of the archived upload.
    pub upload_sha256: Option<String>,
    /// The upload's format.
    pub format: Option<String>,
}

// Mirrors `Figures` of `crates/engine/src/read/records.rs`.
/// A member's basic and key figures for a (domain, year).
#[derive(Serialize, ToSchema)]
pub struct Figures {
    /// The member.
    pub member_id: String,
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The submission the figures come from.
    pub submission_id: String,
    /// Whether these are the current figures.
    pub current: bool,
    /// Commit time of that submission.
    pub submitted_at: String,
    /// Basic figures by id (null: not reported).
    pub basic: BTreeMap<String, Option<f64>>,
    /// Key figures by id (null: not computable).
    pub key: BTreeMap<String, Option<f64>>,
    /// Warnings stored with these figures.
    pub warnings: serde_json::Value,
}

// Mirrors `DisclosedStats` of `crates/engine/src/disclose/disclosure.rs`.
/// The statistics of a group as disclosed; withheld ones are `None`.
#[derive(Serialize, ToSchema)]
pub struct DisclosedStats {
    /// Unweighted mean.
    pub mean: Option<f64>,
    /// Median (type 7).
    pub median: Option<f64>,
    /// 25th percentile.
    pub p25: Option<f64>,
    /// 75th percentile.
    pub p75: Option<f64>,
    /// 10th percentile.
    pub p10: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// Sample standard deviation.
    pub std_dev: Option<f64>,
    /// Ratio of sums.
    pub weighted: Option<f64>,
    /// Smallest value (admin only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value (admin only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

// Mirrors `Withheld` of `crates/engine/src/disclose/disclosure.rs`.
/// A single statistic withheld from a disclosed group, and why.
#[derive(Serialize, ToSchema)]
pub struct Withheld {
    /// The statistic, e.g. `weighted` or `p25`.
    pub statistic: &'static str,
    /// Machine-readable reason: `group_size`, `dominance`, `p_percent`,
    /// `negative_contribution` (admin and rings without perturbation),
    /// `protected` (the reason would describe the values, rule 16),
    /// `mean_only` (a key figure released as a group mean only, rule 15).
    pub reason: &'static str,
    /// English explanation.
    pub message: &'static str,
    /// German explanation.
    pub message_de: &'static str,
}

// Mirrors `Flag` of `crates/engine/src/disclose/noise.rs`.
/// The noise flag of rule 17, as the County Business Patterns show it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Moved by less than 2 % (or a large group).
    Low,
    /// Moved by 2 % to under 5 % (or a middle-sized group).
    Moderate,
    /// Moved by 5 % or more (or a small group).
    High,
}

// Mirrors `NoiseFlags` of `crates/engine/src/disclose/noise.rs`.
/// The noise flags of one released group (rule 17).
#[derive(Serialize, ToSchema)]
pub struct NoiseFlags {
    /// How much the perturbation moved the mean.
    pub mean: Flag,
    /// How much it moved the weighted ratio (absent when none is released).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted: Option<Flag>,
    /// Quantiles, by group size.
    pub quantiles: Flag,
    /// The standard deviation, by group size.
    pub std_dev: Flag,
    /// The requester's position, by group size.
    pub position: Flag,
}
