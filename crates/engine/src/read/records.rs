//! A member's own records: its figures and its submissions.

use std::collections::BTreeMap;

use serde::Serialize;
use vergleichsring_catalog::Domain;
use vergleichsring_ingest::{Upload, UploadRow};
use vergleichsring_store::DataVersion;

use crate::base::Core;
use crate::error::{EngineError, Result};
use crate::read::snapshot;
use crate::sandbox::session;
use crate::write::rules;

/// A submission as listed.
#[derive(Debug, Clone, Serialize)]
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

/// A member's basic and key figures for a (domain, year).
#[derive(Debug, Clone, Serialize)]
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

/// The records of one domain.
pub(crate) struct Records<'e> {
    core: &'e Core,
    domain: &'e Domain,
}

impl<'e> Records<'e> {
    /// The records of `domain`.
    pub(crate) fn new(core: &'e Core, domain: &'e Domain) -> Records<'e> {
        Records { core, domain }
    }

    /// Whether a member has current figures for a year.
    pub(crate) async fn has_submitted(&self, year: i32, member_id: &str) -> Result<bool> {
        Ok(self
            .core
            .snapshots
            .current_with(self.domain, [year])
            .await?
            .current_row(year, member_id)
            .is_some())
    }

    /// A member's figures for a year: the current ones, or those of an
    /// earlier submission.
    pub(crate) async fn figures(
        &self,
        year: i32,
        member_id: &str,
        submission_id: Option<&str>,
    ) -> Result<Figures> {
        let d = self.domain;
        let domain = d.id.as_str();
        let snapshot = self.core.snapshots.current_with(d, [year]).await?;
        let current = snapshot.current_row(year, member_id);
        let row = match submission_id {
            None => current.ok_or_else(|| {
                EngineError::NotFound(format!(
                    "member {member_id} has no figures for {domain} {year}"
                ))
            })?,
            Some(sid) => snapshot
                .year(year)
                .into_iter()
                .flat_map(|y| y.history.iter())
                .map(AsRef::as_ref)
                .find(|r| r.meta.submission_id == sid && r.member_id == member_id)
                .ok_or_else(|| {
                    EngineError::NotFound(format!(
                        "submission {sid} holds no figures of member {member_id} for {domain} {year}"
                    ))
                })?,
        };
        let is_current = current.is_some_and(|c| c.meta.submission_id == row.meta.submission_id);
        let key_values: Vec<Option<f64>> = if is_current {
            snapshot
                .key_of(year, member_id)
                .map(|k| k.values.to_vec())
                .unwrap_or_else(|| vec![None; d.key_figures.len()])
        } else {
            key_figures_of(d, year, row).await?
        };
        Ok(Figures {
            member_id: member_id.to_string(),
            domain: domain.to_string(),
            year,
            submission_id: row.meta.submission_id.clone(),
            current: is_current,
            submitted_at: row.meta.submitted_at.clone(),
            basic: d
                .basic_figures
                .iter()
                .zip(row.basic.iter())
                .map(|(f, v)| (f.id.clone(), v))
                .collect(),
            key: d
                .key_figures
                .iter()
                .zip(key_values)
                .map(|(f, v)| (f.id.clone(), v))
                .collect(),
            warnings: row.warnings.clone(),
        })
    }

    /// The submissions of a year, newest first; with `member`, only those
    /// holding that member's figures, and only its rows.
    pub(crate) async fn submissions(
        &self,
        year: i32,
        member: Option<&str>,
    ) -> Result<Vec<SubmissionInfo>> {
        let domain = self.domain.id.as_str();
        let snapshot = self
            .core
            .snapshots
            .current_with(self.domain, [year])
            .await?;
        let mut by_id: BTreeMap<(u64, String), SubmissionInfo> = BTreeMap::new();
        let Some(data) = snapshot.year(year) else {
            return Ok(Vec::new());
        };
        for (i, r) in data.history.iter().enumerate() {
            if member.is_some_and(|m| m != r.member_id) {
                continue;
            }
            let info = by_id
                .entry((r.meta.version, r.meta.submission_id.clone()))
                .or_insert_with(|| SubmissionInfo {
                    submission_id: r.meta.submission_id.clone(),
                    domain: domain.to_string(),
                    year,
                    submitted_at: r.meta.submitted_at.clone(),
                    submitted_by: r.meta.submitted_by.clone(),
                    data_version: DataVersion::of_commit(r.meta.version).to_string(),
                    rows: 0,
                    members: Vec::new(),
                    current_for: Vec::new(),
                    warnings: Vec::new(),
                    upload_sha256: r.meta.upload_sha256.clone(),
                    format: r.meta.upload_format.clone(),
                });
            info.rows += 1;
            info.members.push(r.member_id.clone());
            if data.is_current(i) {
                info.current_for.push(r.member_id.clone());
            }
            if let serde_json::Value::Array(w) = &r.warnings {
                info.warnings.extend(w.iter().cloned());
            }
        }
        Ok(by_id.into_values().rev().collect())
    }
}

/// Key figures of one stored row, by running the domain's SQL on it.
async fn key_figures_of(
    d: &Domain,
    year: i32,
    row: &snapshot::StoredRow,
) -> Result<Vec<Option<f64>>> {
    let upload = Upload {
        rows: vec![UploadRow {
            row: row.row,
            member_id: row.member_id.clone(),
            values: row.basic.to_vec(),
        }],
    };
    let batch = rules::upload_batch(d, year, &upload)?;
    let batches = session::query_batch("basic", batch, d.query.clone()).await?;
    for b in &batches {
        if let Some((_, k)) = crate::read::load::read_key_rows(d, b)?.into_iter().next() {
            return Ok(k.values.to_vec());
        }
    }
    Ok(vec![None; d.key_figures.len()])
}
