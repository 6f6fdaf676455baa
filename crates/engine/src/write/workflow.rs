//! The plausibility workflow after an upload: members explain the warnings
//! stored with their submissions; the ring operator lists the warnings of the
//! current figures, open (unexplained) or all.

use serde::{Deserialize, Serialize};
use vergleichsring_store::Explanation;

use crate::base::Core;
use crate::error::{EngineError, Result};
use crate::read::year::StoredRow;

/// One explanation as sent by a member.
#[derive(Debug, Clone, Deserialize)]
pub struct ExplanationInput {
    /// The member the warning is on; optional for a member token (its own).
    #[serde(default)]
    pub member_id: Option<String>,
    /// The warning's rule id.
    pub rule: String,
    /// The explanation.
    pub text: String,
}

/// A warning of current figures with its explanation, if any.
#[derive(Debug, Clone, Serialize)]
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
    pub review: Option<vergleichsring_store::Review>,
}

/// Warnings and their explanations.
pub(crate) struct Workflow<'e> {
    core: &'e Core,
}

impl<'e> Workflow<'e> {
    /// The workflow of `core`.
    pub(crate) fn new(core: &'e Core) -> Workflow<'e> {
        Workflow { core }
    }

    /// Stores explanations of warnings of a submission. With `scope` (a
    /// member token) only that member's warnings may be explained.
    pub(crate) async fn explain(
        &self,
        submission_id: &str,
        scope: Option<&str>,
        token_id: &str,
        inputs: Vec<ExplanationInput>,
    ) -> Result<Vec<Explanation>> {
        let rows = self.rows_of(submission_id).await?;
        let visible: Vec<_> = rows
            .iter()
            .filter(|r| scope.is_none_or(|m| m == r.member_id))
            .collect();
        if visible.is_empty() {
            return Err(EngineError::NotFound(format!(
                "no submission {submission_id}"
            )));
        }
        if inputs.is_empty() {
            return Err(EngineError::BadRequest(
                "send at least one explanation".into(),
            ));
        }
        let now = chrono::Utc::now().to_rfc3339();
        let mut out = Vec::new();
        for input in inputs {
            let member = match (&input.member_id, scope) {
                (Some(m), Some(own)) if m != own => {
                    return Err(EngineError::BadRequest(format!(
                        "your token belongs to member {own}; it cannot explain warnings of member {m}"
                    )));
                }
                (Some(m), _) => m.clone(),
                (None, Some(own)) => own.to_string(),
                (None, None) if visible.len() == 1 => visible[0].member_id.clone(),
                (None, None) => {
                    return Err(EngineError::BadRequest(
                        "the submission holds several members: name the member_id of each explanation".into(),
                    ));
                }
            };
            let text = input.text.trim();
            if text.is_empty() || text.chars().count() > 2000 {
                return Err(EngineError::BadRequest(
                    "an explanation needs a text of 1 to 2000 characters".into(),
                ));
            }
            let has_warning = visible.iter().any(|r| {
                r.member_id == member
                    && r.warnings.as_array().is_some_and(|ws| {
                        ws.iter()
                            .any(|w| w["rule"].as_str() == Some(input.rule.as_str()))
                    })
            });
            if !has_warning {
                return Err(EngineError::NotFound(format!(
                    "submission {submission_id} has no warning {} for member {member}",
                    input.rule
                )));
            }
            out.push(Explanation {
                submission_id: submission_id.to_string(),
                member_id: member,
                rule: input.rule,
                text: text.to_string(),
                explained_by: token_id.to_string(),
                explained_at: now.clone(),
            });
        }
        Ok(self.core.store().add_explanations(out).await?)
    }

    /// The stored rows of a submission, of every domain.
    async fn rows_of(&self, submission_id: &str) -> Result<Vec<StoredRow>> {
        let mut rows = Vec::new();
        for d in &self.core.catalog().domains {
            // The index says which years the submission went to; only
            // those are read.
            let snapshot = self.core.snapshots.current(d).await?;
            let years: Vec<i32> = snapshot
                .years()
                .into_iter()
                .filter(|y| {
                    snapshot
                        .commits(*y)
                        .any(|c| c.submission_id == submission_id)
                })
                .collect();
            let snapshot = self.core.snapshots.load(d, &snapshot, years).await?;
            rows.extend(
                snapshot
                    .rows()
                    .filter(|r| r.meta.submission_id == submission_id)
                    .cloned(),
            );
        }
        Ok(rows)
    }

    /// The warnings of current figures, optionally of one domain, year or
    /// member, optionally only the unexplained ones.
    pub(crate) async fn warnings(
        &self,
        domain: Option<&str>,
        year: Option<i32>,
        member: Option<&str>,
        only_open: bool,
    ) -> Result<Vec<WarningStatus>> {
        if let Some(d) = domain {
            self.core.domain(d)?;
        }
        let explanations = self.core.store().explanations_shared();
        let collections = self.core.store().collections();
        let mut out = Vec::new();
        for d in &self.core.catalog().domains {
            if domain.is_some_and(|x| x != d.id) {
                continue;
            }
            let index = self.core.snapshots.current(d).await?;
            // One year at a time, so that listing every year's warnings
            // holds no more than the memory cache does.
            for y in index.years() {
                if year.is_some_and(|x| x != y) {
                    continue;
                }
                let snapshot = self.core.snapshots.load(d, &index, [y]).await?;
                let Some(data) = snapshot.year(y) else {
                    continue;
                };
                for (m, row) in data.current_rows() {
                    if member.is_some_and(|x| x != m) {
                        continue;
                    }
                    for w in row.warnings.as_array().into_iter().flatten() {
                        let rule = w["rule"].as_str().unwrap_or("").to_string();
                        let explanation = explanations
                            .iter()
                            .find(|e| {
                                e.submission_id == row.meta.submission_id
                                    && e.member_id == m
                                    && e.rule == rule
                            })
                            .cloned();
                        let review = collections
                            .review(&row.meta.submission_id, m, &rule)
                            .cloned();
                        let open = crate::write::collection::waits_for_member(
                            explanation.as_ref(),
                            review.as_ref(),
                        );
                        if only_open && !open {
                            continue;
                        }
                        out.push(WarningStatus {
                            domain: d.id.clone(),
                            year: y,
                            submission_id: row.meta.submission_id.clone(),
                            member_id: m.to_string(),
                            rule,
                            figure: w["figure"].as_str().unwrap_or("").to_string(),
                            message: w["message"].as_str().unwrap_or("").to_string(),
                            message_de: w["message_de"].as_str().unwrap_or("").to_string(),
                            open,
                            explanation,
                            review,
                        });
                    }
                }
            }
        }
        Ok(out)
    }
}
