//! Mirrors of the answer types of the store (`vergleichsring_store`) for
//! the OpenAPI document: they only describe, never carry, data, so that the
//! crate stays free of the HTTP contract. `.ci/schemas.py` checks that each
//! has the doc comments, serde attributes, fields and variants of the type
//! it mirrors; `routes/tests.rs` checks what the real types serialise to
//! against the document.

use super::*;

// Mirrors `Collection` of `crates/store/src/collections.rs`.
/// A collection of one (domain, year): open since when, by whom, until
/// which deadline.
#[derive(Serialize, ToSchema)]
pub struct Collection {
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The last day members should submit (ISO date, `2026-03-31`).
    pub deadline: String,
    /// Who opened it or set the deadline last (token or user id).
    pub opened_by: String,
    /// When (RFC 3339).
    pub opened_at: String,
}

// Mirrors `Review` of `crates/store/src/collections.rs`.
/// The coordinator's review of one warning of one submission.
#[derive(Serialize, ToSchema)]
pub struct Review {
    /// The submission the warning is stored with.
    pub submission_id: String,
    /// The member.
    pub member_id: String,
    /// The warning's rule id.
    pub rule: String,
    /// Accepted (true) or asked back (false).
    pub accepted: bool,
    /// The coordinator's comment; required when asking back.
    pub comment: String,
    /// Who reviewed (token or user id).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

// Mirrors `Approval` of `crates/store/src/collections.rs`.
/// An approval of a member's submission for a (domain, year).
#[derive(Serialize, ToSchema)]
pub struct Approval {
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The member.
    pub member_id: String,
    /// The submission that held the member's figures when approved.
    pub submission_id: String,
    /// Who approved.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

// Mirrors `Reminder` of `crates/store/src/collections.rs`.
/// One reminder sent to a member for a (domain, year).
#[derive(Serialize, ToSchema)]
pub struct Reminder {
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The member reminded.
    pub member_id: String,
    /// How many of the member's users it went to.
    pub recipients: usize,
    /// Who sent it.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

// Mirrors `Draft` of `crates/store/src/collections.rs`.
/// Figures a member typed into the form and saved without submitting:
/// the collection shows the member as started.
#[derive(Serialize, ToSchema)]
pub struct Draft {
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The member.
    pub member_id: String,
    /// The values entered, by basic figure id (the engine checked the ids).
    pub values: BTreeMap<String, f64>,
    /// Who saved it.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

// Mirrors `Publication` of `crates/store/src/ledger.rs`.
/// A publication of a (domain, year): what its answers are computed from.
#[derive(Serialize, ToSchema)]
pub struct Publication {
    /// Id, e.g. `library-2024-p2` (domain, year, the how-many-th entry of the
    /// year's ledger).
    #[schema(example = "library-2024-p2")]
    pub id: String,
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The domain's data version the statistics were computed at.
    pub data_version: String,
    /// When it was published (RFC 3339, UTC).
    pub published_at: String,
    /// Token id of the admin who published it, or `auto`.
    pub published_by: String,
    /// What published it: `admin`, `freeze` or `auto`.
    pub trigger: String,
    /// Members whose figures differ from the previous publication (new,
    /// corrected or withdrawn); all members with figures for the first.
    pub changed_members: usize,
    /// Groups (over all key figures and built-in dimensions) suppressed by
    /// the audit of rule 11 on top of rules 1–5.
    pub suppressed_by_audit: usize,
    /// The disclosure settings it was computed with (`[disclosure]`).
    #[schema(value_type = Object)]
    pub disclosure: serde_json::Value,
}

// Mirrors `Member` of `crates/store/src/members.rs`.
/// A member municipality or county.
#[derive(Serialize, ToSchema)]
pub struct Member {
    /// Official regional key (8 digits, or 5 for a county).
    #[schema(example = "05315000")]
    pub member_id: String,
    /// Name, e.g. "Stadt Köln".
    pub name: String,
    /// Kind, which decides the size classes.
    pub kind: MemberKind,
    /// Structural figures admin gave a member the municipality register
    /// does not hold (a merger newer than the extract); they take the
    /// register's place for the structural neighbours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure: Option<GivenStructure>,
}

// Mirrors `GivenStructure` of `crates/store/src/members.rs`.
/// A member's structure given by admin (see [`Member::structure`]).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GivenStructure {
    /// Area in km², more than 0.
    pub area_km2: f64,
    /// Degree of urbanisation, 1 (dense) to 3 (thin); a Kreis's mix may
    /// lie between.
    pub degurba: f64,
}

// Mirrors `Explanation` of `crates/store/src/registry.rs`.
/// A member's explanation of a warning stored with its submission.
#[derive(Serialize, ToSchema)]
pub struct Explanation {
    /// The submission.
    pub submission_id: String,
    /// The member whose row the warning is on.
    pub member_id: String,
    /// The warning's rule id.
    pub rule: String,
    /// The explanation, e.g. "Neubau der Zentralbibliothek, 3 Monate geschlossen".
    pub text: String,
    /// Token id of the author.
    pub explained_by: String,
    /// When (RFC 3339).
    pub explained_at: String,
}

// Mirrors `CustomGroup` of `crates/store/src/registry.rs`.
/// A custom peer group: a named list of members.
#[derive(Serialize, ToSchema)]
pub struct CustomGroup {
    /// Id, usable as `group_by`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Member ids.
    pub member_ids: Vec<String>,
}

// Mirrors `AccessEntry` of `crates/store/src/registry.rs`.
/// One line of the access log.
#[derive(Serialize, ToSchema)]
pub struct AccessEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Token id of the reader.
    pub token_id: String,
    /// Its role.
    pub role: String,
    /// What was read, e.g. `figures`, `comparison`, `timeseries`.
    pub action: String,
    /// Whose data.
    pub member_id: String,
    /// Domain, where one applies.
    pub domain: Option<String>,
    /// Year, where one applies.
    pub year: Option<i32>,
}

// Mirrors `DataRelease` of `crates/store/src/releases.rs`.
/// A frozen (domain, year).
#[derive(Serialize, ToSchema)]
pub struct DataRelease {
    /// Id, e.g. `library-2024-1` (domain, year, the how-many-th freeze).
    pub id: String,
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The domain's data version when frozen (as the API counts: commits).
    pub data_version: String,
    /// Every domain's data version when frozen.
    pub data_versions: BTreeMap<String, String>,
    /// When it was frozen (RFC 3339, UTC).
    pub frozen_at: String,
    /// Token id of the admin who froze it.
    pub frozen_by: String,
    /// When an admin reopened it for uploads, if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reopened_at: Option<String>,
    /// Token id of the admin who reopened it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reopened_by: Option<String>,
    /// The ring's disclosure settings when it was frozen (the `[disclosure]`
    /// section), so that answers as of the release use them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable = false)]
    pub disclosure: Option<serde_json::Value>,
}
