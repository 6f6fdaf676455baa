//! The ring's year as the coordinator runs it: a collection of one
//! (domain, year) opened with a deadline, the coordinator's review of
//! warnings (accepted, or asked back with a comment), approvals of a
//! member's submission, and every reminder sent. Each is one change of the
//! state log, with who and when.
//!
//! An approval names the submission it approves, so a new upload (a new
//! submission id) undoes it without a change of its own. A review names
//! the submission and rule in the same way. Reminders are counted inside
//! the commit: a member reminded within the configured interval is not
//! reminded again, across replicas and parallel requests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::{Change, View};
use crate::users::plain_line;
use crate::{Result, Store, StoreError};

/// The longest comment of a review or deadline note, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// A collection of one (domain, year): open since when, by whom, until
/// which deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// The coordinator's review of one warning of one submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// An approval of a member's submission for a (domain, year).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// One reminder sent to a member for a (domain, year).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Figures a member typed into the form and saved without submitting:
/// the collection shows the member as started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Everything of the collections, as folded from the log. Keys are
/// `domain/year` and `domain/year/member` (JSON maps need string keys).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Collections {
    /// Open collections by `domain/year`.
    pub opened: BTreeMap<String, Collection>,
    /// Reviews by `submission/member/rule`, the newest only.
    pub reviews: BTreeMap<String, Review>,
    /// The newest approval by `domain/year/member`.
    pub approvals: BTreeMap<String, Approval>,
    /// Reminders by `domain/year/member`, oldest first.
    pub reminders: BTreeMap<String, Vec<Reminder>>,
    /// The newest draft by `domain/year/member`.
    #[serde(default)]
    pub drafts: BTreeMap<String, Draft>,
}

fn year_key(domain: &str, year: i32) -> String {
    format!("{domain}/{year}")
}

fn member_key(domain: &str, year: i32, member: &str) -> String {
    format!("{domain}/{year}/{member}")
}

fn review_key(submission: &str, member: &str, rule: &str) -> String {
    format!("{submission}/{member}/{rule}")
}

impl Collections {
    /// The collection of a (domain, year), if opened.
    pub fn collection(&self, domain: &str, year: i32) -> Option<&Collection> {
        self.opened.get(&year_key(domain, year))
    }

    /// The newest review of a warning.
    pub fn review(&self, submission: &str, member: &str, rule: &str) -> Option<&Review> {
        self.reviews.get(&review_key(submission, member, rule))
    }

    /// The newest approval of a member in a (domain, year), whichever
    /// submission it approved.
    pub fn approval(&self, domain: &str, year: i32, member: &str) -> Option<&Approval> {
        self.approvals.get(&member_key(domain, year, member))
    }

    /// The reminders a member got for a (domain, year), oldest first.
    pub fn reminders(&self, domain: &str, year: i32, member: &str) -> &[Reminder] {
        self.reminders
            .get(&member_key(domain, year, member))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether a member was reminded of a (domain, year) within
    /// `interval` before `now`.
    pub fn reminded_within(
        &self,
        domain: &str,
        year: i32,
        member: &str,
        interval: std::time::Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        let since = now - chrono::Duration::seconds(interval.as_secs().min(i64::MAX as u64) as i64);
        self.reminders(domain, year, member).iter().any(|r| {
            chrono::DateTime::parse_from_rfc3339(&r.at)
                .is_ok_and(|t| t.with_timezone(&chrono::Utc) > since)
        })
    }

    /// A member's saved draft of a (domain, year).
    pub fn draft(&self, domain: &str, year: i32, member: &str) -> Option<&Draft> {
        self.drafts.get(&member_key(domain, year, member))
    }

    /// Applies one change of this area.
    pub(crate) fn apply(&mut self, change: &Change) {
        match change {
            Change::CollectionOpened { collection } => {
                self.opened.insert(
                    year_key(&collection.domain, collection.year),
                    collection.clone(),
                );
            }
            Change::WarningReviewed { review } => {
                self.reviews.insert(
                    review_key(&review.submission_id, &review.member_id, &review.rule),
                    review.clone(),
                );
            }
            Change::SubmissionApproved { approval } => {
                self.approvals.insert(
                    member_key(&approval.domain, approval.year, &approval.member_id),
                    approval.clone(),
                );
            }
            Change::RemindersSent { reminders } => {
                for r in reminders {
                    self.reminders
                        .entry(member_key(&r.domain, r.year, &r.member_id))
                        .or_default()
                        .push(r.clone());
                }
            }
            Change::DraftSaved { draft } => {
                self.drafts.insert(
                    member_key(&draft.domain, draft.year, &draft.member_id),
                    draft.clone(),
                );
            }
            _ => {}
        }
    }
}

/// The date of a deadline, checked: an ISO date (`2026-03-31`).
fn check_deadline(deadline: &str) -> Result<String> {
    let d = deadline.trim();
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .map(|date| date.format("%Y-%m-%d").to_string())
        .map_err(|_| {
            StoreError::Invalid(format!(
                "deadline: '{}' is not a date of the form 2026-03-31",
                plain_line(d, 40)
            ))
        })
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl Store {
    /// The collections as of now.
    pub fn collections(&self) -> std::sync::Arc<Collections> {
        self.state.view().collections.clone()
    }

    /// Opens the collection of a (domain, year) with a deadline, or moves
    /// its deadline.
    pub async fn open_collection(
        &self,
        domain: &str,
        year: i32,
        deadline: &str,
        by: &str,
    ) -> Result<Collection> {
        let deadline = check_deadline(deadline)?;
        let collection = Collection {
            domain: domain.to_string(),
            year,
            deadline,
            opened_by: by.to_string(),
            opened_at: now(),
        };
        let change = Change::CollectionOpened {
            collection: collection.clone(),
        };
        self.state
            .commit(by, |_| Ok((vec![change.clone()], ())))
            .await?;
        Ok(collection)
    }

    /// Stores the coordinator's review of a warning (the engine checked
    /// that the warning is one of the member's current figures). Asking
    /// back needs a comment.
    pub async fn review_warning(&self, mut review: Review) -> Result<Review> {
        review.comment = plain_comment(&review.comment);
        if review.comment.chars().count() > MAX_COMMENT_CHARS {
            return Err(StoreError::Invalid(format!(
                "comment: at most {MAX_COMMENT_CHARS} characters"
            )));
        }
        if !review.accepted && review.comment.is_empty() {
            return Err(StoreError::Invalid(
                "comment: asking back needs a comment that says what the member should check"
                    .into(),
            ));
        }
        review.at = now();
        let change = Change::WarningReviewed {
            review: review.clone(),
        };
        self.state
            .commit(&review.by.clone(), |_| Ok((vec![change.clone()], ())))
            .await?;
        Ok(review)
    }

    /// Approves a member's submission (the engine named the submission
    /// that holds its current figures).
    pub async fn approve(&self, mut approval: Approval) -> Result<Approval> {
        approval.at = now();
        let change = Change::SubmissionApproved {
            approval: approval.clone(),
        };
        self.state
            .commit(&approval.by.clone(), |_| Ok((vec![change.clone()], ())))
            .await?;
        Ok(approval)
    }

    /// Saves a member's draft (the engine checked its figure ids and
    /// values), replacing the one before.
    pub async fn save_draft(&self, mut draft: Draft) -> Result<Draft> {
        draft.at = now();
        let change = Change::DraftSaved {
            draft: draft.clone(),
        };
        self.state
            .commit(&draft.by.clone(), |_| Ok((vec![change.clone()], ())))
            .await?;
        Ok(draft)
    }

    /// Records reminders before they are sent, inside the commit: of the
    /// members asked for, those not reminded for the (domain, year) within
    /// `interval` are recorded and returned; the others are passed over.
    /// `recipients` gives each member's number of addressees.
    pub async fn record_reminders(
        &self,
        domain: &str,
        year: i32,
        recipients: &[(String, usize)],
        interval: std::time::Duration,
        by: &str,
    ) -> Result<Vec<Reminder>> {
        let at = chrono::Utc::now();
        self.state
            .commit(by, |view: &View| {
                let due: Vec<Reminder> = recipients
                    .iter()
                    .filter(|(m, _)| {
                        !view
                            .collections
                            .reminded_within(domain, year, m, interval, at)
                    })
                    .map(|(m, n)| Reminder {
                        domain: domain.to_string(),
                        year,
                        member_id: m.clone(),
                        recipients: *n,
                        by: by.to_string(),
                        at: at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    })
                    .collect();
                if due.is_empty() {
                    return Ok((Vec::new(), due));
                }
                Ok((
                    vec![Change::RemindersSent {
                        reminders: due.clone(),
                    }],
                    due,
                ))
            })
            .await
    }
}

/// A comment as stored: lines kept, each a plain line, trimmed.
fn plain_comment(text: &str) -> String {
    text.lines()
        .map(|l| plain_line(l, usize::MAX))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_dates() {
        assert_eq!(
            check_deadline(" 2026-03-31 ").ok().as_deref(),
            Some("2026-03-31")
        );
        assert!(check_deadline("31.03.2026").is_err());
        assert!(check_deadline("2026-02-30").is_err());
    }

    #[test]
    fn an_approval_is_the_newest() {
        let mut c = Collections::default();
        let approval = |s: &str| Approval {
            domain: "library".into(),
            year: 2025,
            member_id: "05315000".into(),
            submission_id: s.into(),
            by: "admin".into(),
            at: "2026-01-01T00:00:00Z".into(),
        };
        c.apply(&Change::SubmissionApproved {
            approval: approval("a"),
        });
        c.apply(&Change::SubmissionApproved {
            approval: approval("b"),
        });
        assert_eq!(
            c.approval("library", 2025, "05315000")
                .map(|a| a.submission_id.as_str()),
            Some("b")
        );
        assert!(c.approval("library", 2024, "05315000").is_none());
    }
}
