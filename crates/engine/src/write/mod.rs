//! The write layer: uploads in named stages (`uploads.rs`) checked by the
//! plausibility rules (`rules.rs`), the explanations of their warnings
//! (`workflow.rs`), the coordinator's collection of a year: status,
//! reviews, approvals and drafts (`collection.rs`), and freezing and reopening years (`releases.rs`).

pub mod collection;
pub mod releases;
pub mod rules;
pub mod uploads;
pub mod workflow;
