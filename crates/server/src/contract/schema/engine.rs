//! Mirrors of the answer types of the engine's writes and reads
//! (`vergleichsring_engine`) for the OpenAPI document: they only describe,
//! never carry, data, so that the crate stays free of the HTTP contract.
//! `.ci/schemas.py` checks that each has the doc comments, serde
//! attributes, fields and variants of the type it mirrors;
//! `routes/tests.rs` checks what the real types serialise to against the
//! document.

use super::*;

// Mirrors `Status` of `crates/engine/src/write/collection.rs`.
/// Where a member stands in a collection.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Neither figures nor a draft.
    NotStarted,
    /// A draft saved in the form, nothing submitted.
    Started,
    /// Figures submitted, no warning waiting.
    Submitted,
    /// A warning neither explained nor accepted, or asked back.
    WarningsOpen,
    /// Every warning explained or accepted; some wait for the review.
    Explained,
    /// The coordinator approved the current figures.
    Approved,
}

// Mirrors `ReviewItem` of `crates/engine/src/write/collection.rs`.
/// One warning of a member's current figures in the review.
#[derive(Serialize, ToSchema)]
pub struct ReviewItem {
    /// The warning's rule id.
    pub rule: String,
    /// The figures concerned.
    pub figure: String,
    /// German message.
    pub message_de: String,
    /// The member's explanation, if any.
    pub explanation: Option<Explanation>,
    /// The coordinator's newest review, if any.
    pub review: Option<Review>,
    /// Waiting for the member: neither explained nor accepted, or asked
    /// back after its explanation.
    pub open: bool,
    /// Accepted by the coordinator.
    pub accepted: bool,
}

// Mirrors `MemberStatus` of `crates/engine/src/write/collection.rs`.
/// One member in a collection.
#[derive(Serialize, ToSchema)]
pub struct MemberStatus {
    /// The member.
    pub member_id: String,
    /// Its name.
    pub name: String,
    /// Where it stands.
    pub status: Status,
    /// The submission that holds its current figures.
    pub submission_id: Option<String>,
    /// When the current figures were submitted (RFC 3339).
    pub submitted_at: Option<String>,
    /// Warnings of the current figures with explanations and reviews.
    pub warnings: Vec<ReviewItem>,
    /// The approval of the current figures.
    pub approval: Option<Approval>,
    /// How many reminders it got for this (domain, year).
    pub reminders: usize,
    /// When it was last reminded (RFC 3339).
    pub last_reminded_at: Option<String>,
    /// When anything of it last changed (RFC 3339).
    pub last_change: Option<String>,
    /// Who made that change (token or user id).
    pub last_change_by: Option<String>,
}

// Mirrors `CollectionStatus` of `crates/engine/src/write/collection.rs`.
/// A collection with every member's status.
#[derive(Serialize, ToSchema)]
pub struct CollectionStatus {
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The collection, once opened (its deadline).
    pub collection: Option<Collection>,
    /// How many members are in each status (every status listed).
    pub counts: BTreeMap<Status, usize>,
    /// The members, by id.
    pub members: Vec<MemberStatus>,
}

// Mirrors `ReviewInput` of `crates/engine/src/write/collection.rs`.
/// The coordinator's review of one warning, as sent.
#[derive(Serialize, ToSchema)]
pub struct ReviewInput {
    /// Domain id.
    #[serde(default)]
    pub domain: String,
    /// Year.
    #[serde(default)]
    pub year: i32,
    /// The member.
    pub member_id: String,
    /// The warning's rule id.
    pub rule: String,
    /// Accept (true) or ask back (false).
    pub accepted: bool,
    /// What the member should check; required when asking back.
    #[serde(default)]
    pub comment: String,
    /// The submission whose warning the coordinator looked at; refused
    /// when it is no longer current.
    #[serde(default)]
    pub submission_id: Option<String>,
}

// Mirrors `Warning` of `crates/engine/src/write/uploads.rs`.
/// A warning stored with a submission.
#[derive(Serialize, ToSchema)]
pub struct Warning {
    /// The member.
    pub member_id: String,
    /// The figure(s) concerned.
    pub figure: String,
    /// Rule id.
    pub rule: String,
    /// English message.
    pub message: String,
    /// German message.
    pub message_de: String,
    /// Row in the uploaded file.
    pub row: u32,
}

// Mirrors `SubmitOutcome` of `crates/engine/src/write/uploads.rs`.
/// The outcome of an accepted submission.
#[derive(Serialize, ToSchema)]
pub struct SubmitOutcome {
    /// Id of the submission.
    pub submission_id: String,
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// Number of rows stored.
    pub rows: usize,
    /// Members whose figures it holds.
    pub members: Vec<String>,
    /// The domain's data version after the commit.
    pub data_version: String,
    /// SHA-256 of the uploaded bytes, kept in the archive.
    pub upload_sha256: String,
    /// The upload's format.
    pub format: String,
    /// Warnings, stored with the submission.
    pub warnings: Vec<Warning>,
    /// The publication this upload completed (`auto_publish`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub publication: Option<Publication>,
}

// Mirrors `ExplanationInput` of `crates/engine/src/write/workflow.rs`.
/// One explanation as sent by a member.
#[derive(Serialize, ToSchema)]
pub struct ExplanationInput {
    /// The member the warning is on; optional for a member token (its own).
    #[serde(default)]
    pub member_id: Option<String>,
    /// The warning's rule id.
    pub rule: String,
    /// The explanation.
    pub text: String,
}

// Mirrors `WarningStatus` of `crates/engine/src/write/workflow.rs`.
/// A warning of current figures with its explanation, if any.
#[derive(Serialize, ToSchema)]
pub struct WarningStatus {
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The submission that holds the current figures.
    pub submission_id: String,
    /// The member.
    pub member_id: String,
    /// The rule id.
    pub rule: String,
    /// The figures concerned.
    pub figure: String,
    /// English message.
    pub message: String,
    /// German message.
    pub message_de: String,
    /// Whether it waits for the member: nobody has explained it yet, or
    /// the coordinator asked it back after the explanation (and has not
    /// accepted it).
    pub open: bool,
    /// The member's explanation.
    pub explanation: Option<Explanation>,
    /// The coordinator's newest review: accepted, or asked back with a
    /// comment (absent before any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
}
