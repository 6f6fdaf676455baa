//! The collection of a (domain, year) as the coordinator sees it: every
//! member of the ring in that year with its status, derived from the
//! current figures in the lake, the warnings stored with them, the
//! members' explanations and the coordinator's reviews, approvals,
//! reminders and the members' drafts in the state log.
//!
//! Status, in the order a member's year runs (the first that fits):
//! approved (the approval names the submission that holds the current
//! figures; a new upload undoes it), warnings open (a warning neither
//! explained nor accepted, or asked back after its explanation), explained
//! (every warning explained or accepted, some not yet accepted),
//! submitted, started (a draft saved, no figures submitted), not started.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use vergleichsring_store::{Approval, Collection, Collections, Draft, Explanation, Review};

use crate::base::{Core, check_year};
use crate::error::{EngineError, Result};
use crate::read::year::StoredRow;

/// Where a member stands in a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

impl Status {
    /// Every status, in the order of the year.
    pub const ALL: [Status; 6] = [
        Status::NotStarted,
        Status::Started,
        Status::Submitted,
        Status::WarningsOpen,
        Status::Explained,
        Status::Approved,
    ];

    /// The German name shown on pages and in exports.
    pub fn german(self) -> &'static str {
        match self {
            Status::NotStarted => "nicht begonnen",
            Status::Started => "begonnen",
            Status::Submitted => "eingereicht",
            Status::WarningsOpen => "Hinweise offen",
            Status::Explained => "erläutert",
            Status::Approved => "freigegeben",
        }
    }

    /// The id used in URLs and JSON (`not_started`, …).
    pub fn id(self) -> &'static str {
        match self {
            Status::NotStarted => "not_started",
            Status::Started => "started",
            Status::Submitted => "submitted",
            Status::WarningsOpen => "warnings_open",
            Status::Explained => "explained",
            Status::Approved => "approved",
        }
    }

    /// The status of an id, if it is one.
    pub fn from_id(id: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.id() == id)
    }
}

/// One warning of a member's current figures in the review.
#[derive(Debug, Clone, Serialize)]
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

/// One member in a collection.
#[derive(Debug, Clone, Serialize)]
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

/// A collection with every member's status.
#[derive(Debug, Clone, Serialize)]
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

/// The collection of `core`'s data.
pub(crate) struct Collect<'e> {
    core: &'e Core,
}

impl<'e> Collect<'e> {
    /// The collections of `core`.
    pub(crate) fn new(core: &'e Core) -> Collect<'e> {
        Collect { core }
    }

    /// Every member's status in a (domain, year), or one member's.
    pub(crate) async fn status(
        &self,
        domain: &str,
        year: i32,
        only: Option<&str>,
    ) -> Result<CollectionStatus> {
        let d = self.core.domain(domain)?;
        check_year(year)?;
        let store = self.core.store();
        let index = self.core.snapshots.current(d).await?;
        let snapshot = self.core.snapshots.load(d, &index, [year]).await?;
        let data = snapshot.year(year);
        let all = store.explanations_shared();
        // The state keeps one explanation per warning, so the keys are
        // unique.
        let explanations: HashMap<(&str, &str, &str), &Explanation> = all
            .iter()
            .map(|e| {
                let key = (
                    e.submission_id.as_str(),
                    e.member_id.as_str(),
                    e.rule.as_str(),
                );
                (key, e)
            })
            .collect();
        let collections = store.collections();
        let left = store.members_left();
        let mut members = Vec::new();
        for m in store.members_map().values() {
            if only.is_some_and(|o| o != m.member_id)
                || left.get(&m.member_id).is_some_and(|from| *from <= year)
            {
                continue;
            }
            let row = data.and_then(|y| y.current_row(&m.member_id));
            members.push(member_status(
                &collections,
                &explanations,
                domain,
                year,
                &m.member_id,
                &m.name,
                row,
            ));
        }
        if let Some(o) = only
            && members.is_empty()
        {
            return Err(EngineError::NotFound(format!(
                "member {o} is not in the ring in {year}"
            )));
        }
        let mut counts: BTreeMap<Status, usize> = Status::ALL.iter().map(|s| (*s, 0)).collect();
        for m in &members {
            *counts.entry(m.status).or_default() += 1;
        }
        Ok(CollectionStatus {
            domain: d.id.clone(),
            year,
            collection: collections.collection(&d.id, year).cloned(),
            counts,
            members,
        })
    }

    /// One member's status, which must be in the ring in that year.
    async fn one(&self, domain: &str, year: i32, member: &str) -> Result<MemberStatus> {
        let mut all = self.status(domain, year, Some(member)).await?;
        all.members
            .pop()
            .ok_or_else(|| EngineError::NotFound(format!("member {member} is not in the ring")))
    }

    /// Opens the collection of a (domain, year) with a deadline, or moves
    /// the deadline.
    pub(crate) async fn open(
        &self,
        domain: &str,
        year: i32,
        deadline: &str,
        by: &str,
    ) -> Result<Collection> {
        let d = self.core.domain(domain)?;
        check_year(year)?;
        Ok(self
            .core
            .store()
            .open_collection(&d.id, year, deadline, by)
            .await?)
    }

    /// Approves a member's current figures; refused while a warning waits
    /// for the member or there are no figures, and when `seen` (the
    /// submission the coordinator looked at) is no longer current.
    pub(crate) async fn approve(
        &self,
        domain: &str,
        year: i32,
        member: &str,
        seen: Option<&str>,
        by: &str,
    ) -> Result<Approval> {
        let m = self.one(domain, year, member).await?;
        let Some(submission_id) = m.submission_id else {
            return Err(EngineError::Conflict(format!(
                "member {member} has not submitted figures for {domain} {year}; there is nothing to approve"
            )));
        };
        still_current(member, seen, &submission_id)?;
        let open = m.warnings.iter().filter(|w| w.open).count();
        if open > 0 {
            return Err(EngineError::Conflict(format!(
                "member {member} has {open} warning(s) waiting for an explanation; accept them or wait for the member before approving"
            )));
        }
        let approval = Approval {
            domain: domain.to_string(),
            year,
            member_id: member.to_string(),
            submission_id,
            by: by.to_string(),
            at: String::new(),
        };
        Ok(self.core.store().approve(approval).await?)
    }

    /// Stores the coordinator's review of a warning of a member's current
    /// figures: accepted, or asked back with a comment.
    pub(crate) async fn review(&self, input: ReviewInput, by: &str) -> Result<Review> {
        let m = self
            .one(&input.domain, input.year, &input.member_id)
            .await?;
        let (Some(submission_id), true) = (
            m.submission_id,
            m.warnings.iter().any(|w| w.rule == input.rule),
        ) else {
            return Err(EngineError::NotFound(format!(
                "the current figures of member {} for {} {} have no warning {}",
                input.member_id, input.domain, input.year, input.rule
            )));
        };
        still_current(
            &input.member_id,
            input.submission_id.as_deref(),
            &submission_id,
        )?;
        let review = Review {
            submission_id,
            member_id: input.member_id,
            rule: input.rule,
            accepted: input.accepted,
            comment: input.comment,
            by: by.to_string(),
            at: String::new(),
        };
        Ok(self.core.store().review_warning(review).await?)
    }

    /// Saves a member's draft: figure ids of the domain, finite values.
    pub(crate) async fn save_draft(
        &self,
        domain: &str,
        year: i32,
        member: &str,
        values: BTreeMap<String, f64>,
        by: &str,
    ) -> Result<Draft> {
        let d = self.core.domain(domain)?;
        check_year(year)?;
        // Only where figures could still be submitted: each draft is a
        // change of the state log.
        if let Some(from) = self.core.store().left_from(member)
            && year >= from
        {
            return Err(EngineError::Conflict(format!(
                "member {member} left the ring from {from} on; there is nothing to enter for {year}"
            )));
        }
        if let Some(r) = self.core.store().frozen(&d.id, year)? {
            return Err(EngineError::Store(
                vergleichsring_store::StoreError::Frozen {
                    domain: d.id.clone(),
                    year,
                    release: r.id,
                },
            ));
        }
        for (id, v) in &values {
            if d.basic_figure(id).is_none() {
                return Err(EngineError::BadRequest(format!(
                    "'{id}' is not a basic figure of domain {domain}"
                )));
            }
            if !v.is_finite() {
                return Err(EngineError::BadRequest(format!(
                    "{id}: only finite numbers are accepted"
                )));
            }
        }
        let draft = Draft {
            domain: d.id.clone(),
            year,
            member_id: member.to_string(),
            values,
            by: by.to_string(),
            at: String::new(),
        };
        Ok(self.core.store().save_draft(draft).await?)
    }
}

/// The coordinator's review of one warning, as sent.
#[derive(Debug, Clone, Deserialize)]
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

/// Refuses a decision about figures that changed after the coordinator
/// looked at them: `seen` names the submission shown, `current` the one
/// that holds the figures now.
fn still_current(member: &str, seen: Option<&str>, current: &str) -> Result<()> {
    match seen {
        Some(s) if s != current => Err(EngineError::Conflict(format!(
            "the figures of member {member} changed after you looked at them: submission {} is no longer current (now {current}); look at them again",
            s.chars().take(64).collect::<String>()
        ))),
        _ => Ok(()),
    }
}

/// One member's status from its current row (if any) and the state.
fn member_status(
    collections: &Collections,
    explanations: &HashMap<(&str, &str, &str), &Explanation>,
    domain: &str,
    year: i32,
    member: &str,
    name: &str,
    row: Option<&StoredRow>,
) -> MemberStatus {
    let mut changes: Vec<(&str, &str)> = Vec::new();
    let draft: Option<&Draft> = collections.draft(domain, year, member);
    if let Some(d) = draft {
        changes.push((&d.at, &d.by));
    }
    let reminders = collections.reminders(domain, year, member);
    let mut warnings = Vec::new();
    if let Some(r) = row {
        changes.push((&r.meta.submitted_at, &r.meta.submitted_by));
        for w in r.warnings.as_array().into_iter().flatten() {
            let rule = w["rule"].as_str().unwrap_or_default();
            let explanation = explanations
                .get(&(r.meta.submission_id.as_str(), member, rule))
                .copied();
            let review = collections.review(&r.meta.submission_id, member, rule);
            if let Some(e) = explanation {
                changes.push((&e.explained_at, &e.explained_by));
            }
            if let Some(v) = review {
                changes.push((&v.at, &v.by));
            }
            let accepted = review.is_some_and(|v| v.accepted);
            warnings.push(ReviewItem {
                rule: rule.to_string(),
                figure: w["figure"].as_str().unwrap_or_default().to_string(),
                message_de: w["message_de"].as_str().unwrap_or_default().to_string(),
                explanation: explanation.cloned(),
                review: review.cloned(),
                open: waits_for_member(explanation, review),
                accepted,
            });
        }
    }
    // An approval holds for the submission it names, and only while no
    // warning waits for the member (one asked back after it undoes it).
    let approval = row
        .and_then(|r| {
            collections
                .approval(domain, year, member)
                .filter(|a| a.submission_id == r.meta.submission_id)
        })
        .filter(|_| !warnings.iter().any(|w| w.open));
    if let Some(a) = approval {
        changes.push((&a.at, &a.by));
    }
    let status = status_of(
        row.is_some(),
        draft.is_some(),
        approval.is_some(),
        &warnings,
    );
    let last = changes
        .into_iter()
        .reduce(|a, b| if later(b.0, a.0) { b } else { a });
    MemberStatus {
        member_id: member.to_string(),
        name: name.to_string(),
        status,
        submission_id: row.map(|r| r.meta.submission_id.clone()),
        submitted_at: row.map(|r| r.meta.submitted_at.clone()),
        warnings,
        approval: approval.cloned(),
        reminders: reminders.len(),
        last_reminded_at: reminders.last().map(|r| r.at.clone()),
        last_change: last.map(|l| l.0.to_string()),
        last_change_by: last.map(|l| l.1.to_string()),
    }
}

/// The status, the first that fits in the order a year runs.
fn status_of(figures: bool, draft: bool, approved: bool, warnings: &[ReviewItem]) -> Status {
    if !figures {
        if draft {
            Status::Started
        } else {
            Status::NotStarted
        }
    } else if approved {
        Status::Approved
    } else if warnings.iter().any(|w| w.open) {
        Status::WarningsOpen
    } else if warnings.iter().any(|w| !w.accepted) {
        Status::Explained
    } else {
        Status::Submitted
    }
}

/// Whether a warning waits for the member: not accepted, and either not
/// explained or asked back after its explanation.
pub(crate) fn waits_for_member(explanation: Option<&Explanation>, review: Option<&Review>) -> bool {
    if review.is_some_and(|v| v.accepted) {
        return false;
    }
    match (explanation, review) {
        (None, _) => true,
        (Some(e), Some(v)) => later(&v.at, &e.explained_at),
        (Some(_), None) => false,
    }
}

/// Whether RFC 3339 time `a` is after `b` (times of different precision
/// compare by their instant; one that does not parse is never later).
pub fn later(a: &str, b: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(x), Ok(y)) => x > y,
        (Ok(_), Err(_)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_compare_by_instant() {
        assert!(later("2026-01-01T10:00:01Z", "2026-01-01T10:00:00.999999Z"));
        assert!(!later("2026-01-01T11:00:00+02:00", "2026-01-01T10:00:00Z"));
        assert!(!later("garbage", "2026-01-01T10:00:00Z"));
    }

    #[test]
    fn statuses_have_ids() {
        for s in Status::ALL {
            assert_eq!(Status::from_id(s.id()), Some(s));
        }
    }
}
