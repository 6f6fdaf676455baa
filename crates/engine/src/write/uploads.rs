//! Uploads, in named stages: `refuse_frozen`, `decode_and_validate` (in
//! a worker process, within the time limit), `refuse_left_members`,
//! `plausibility` (the rules; errors refuse, the rest are warnings),
//! `submitted_rows`, the archive of the exact bytes, and `commit` (one
//! commit, the snapshot brought forward under the same lock); then an
//! automatic publication, if due (`Uploads::submit`).

use bytes::Bytes;
use serde::Serialize;
use vergleichsring_catalog::{Domain, Level};
use vergleichsring_ingest::{Format, RowError, Submitter, Upload, UploadRow};
use vergleichsring_store::{DataVersion, StoreError, SubmissionRows, SubmittedRow};

use crate::base::{Core, check_year};
use crate::error::{EngineError, Result};
use crate::write::rules;

/// An upload to be validated and stored.
pub struct SubmitRequest {
    /// Domain id.
    pub domain: String,
    /// Year of the figures.
    pub year: i32,
    /// The `Content-Type` of the body.
    pub content_type: String,
    /// The file.
    pub body: Bytes,
    /// Token id of the submitter, stored with the rows.
    pub token_id: String,
    /// For a member token, its member; `None` for admin bulk uploads.
    pub own_member: Option<String>,
}

/// A warning stored with a submission.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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

/// The outcome of an accepted submission.
#[derive(Debug, Clone, Serialize)]
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
    pub publication: Option<vergleichsring_store::Publication>,
}

fn new_submission_id() -> String {
    let bytes: [u8; 8] = rand::random();
    format!(
        "sub_{}_{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S"),
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// The upload pipeline: decode, check, store, publish if due.
pub(crate) struct Uploads<'e> {
    core: &'e Core,
}

impl<'e> Uploads<'e> {
    /// The pipeline of `core`.
    pub(crate) fn new(core: &'e Core) -> Uploads<'e> {
        Uploads { core }
    }

    /// Validates an upload and, if it passes, stores it as one commit.
    pub(crate) async fn submit(&self, req: SubmitRequest) -> Result<SubmitOutcome> {
        let domain = req.domain.clone();
        let mut outcome = match self.core.domain(&req.domain) {
            Ok(d) => self.check_and_store(d, req).await,
            Err(e) => Err(e),
        };
        if let Ok(o) = &mut outcome {
            o.publication = self.core.publishing().auto_publish(&o.domain, o.year).await;
        }
        // Counted here, so that the API and the web page count alike.
        match &outcome {
            Ok(_) => metrics::counter!("vergleichsring_uploads_total", "domain" => domain, "outcome" => "accepted", "rule" => "").increment(1),
            Err(EngineError::Rejected(errors)) => {
                let rules: std::collections::BTreeSet<&str> =
                    errors.iter().map(|e| e.rule.as_str()).collect();
                for rule in rules {
                    metrics::counter!("vergleichsring_uploads_total", "domain" => domain.clone(), "outcome" => "rejected", "rule" => rule.to_string()).increment(1);
                }
            }
            // Refused before the rows were checked: unknown format, year or
            // domain, a frozen release, a storage failure.
            Err(_) => metrics::counter!("vergleichsring_uploads_total", "domain" => domain, "outcome" => "refused", "rule" => "").increment(1),
        }
        outcome
    }

    /// Checks an upload to a resolved domain and stores it as one commit:
    /// the stages [`Uploads::refuse_frozen`], [`Uploads::decode_and_validate`],
    /// [`Uploads::refuse_left_members`], [`Uploads::plausibility`],
    /// [`submitted_rows`], the archive and [`Uploads::commit`].
    async fn check_and_store(&self, domain: &Domain, req: SubmitRequest) -> Result<SubmitOutcome> {
        check_year(req.year)?;
        self.refuse_frozen(domain, req.year)?;
        let format = Format::from_content_type(&req.content_type)?;
        let started = std::time::Instant::now();
        let year = req.year;
        let upload = self.decode_and_validate(domain, &req, format).await?;
        self.refuse_left_members(&upload, year)?;
        let decoded_at = started.elapsed();
        let warnings = self.plausibility(domain, year, &upload).await?;
        let submission_id = new_submission_id();
        let rows = submitted_rows(&upload, &warnings);
        let members: Vec<String> = rows.iter().map(|r| r.member_id.clone()).collect();
        let checked_at = started.elapsed();
        // The exact bytes are kept before the commit that refers to them.
        let upload_sha256 = self.core.store.archive_upload(&req.body).await?;
        let archived_at = started.elapsed();
        let submission = SubmissionRows {
            submission_id: submission_id.clone(),
            submitted_by: req.token_id,
            year,
            upload_sha256: upload_sha256.clone(),
            upload_format: format.name().to_string(),
            rows,
        };
        let (committed, committed_at) = self.commit(domain, submission, started).await?;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        tracing::info!(
            domain = domain.id,
            year,
            rows = committed.batch.num_rows(),
            decode_ms = ms(decoded_at),
            checks_ms = ms(checked_at - decoded_at),
            archive_ms = ms(archived_at - checked_at),
            commit_ms = ms(committed_at - archived_at),
            refresh_ms = ms(started.elapsed() - committed_at),
            "upload stored"
        );
        Ok(SubmitOutcome {
            submission_id,
            domain: domain.id.clone(),
            year,
            rows: members.len(),
            members,
            data_version: DataVersion::of_commit(committed.version).to_string(),
            upload_sha256,
            format: format.name().to_string(),
            warnings,
            publication: None,
        })
    }

    /// Stage 1: a frozen year is refused before the file is read; the
    /// store checks again under its lock, where it counts.
    fn refuse_frozen(&self, domain: &Domain, year: i32) -> Result<()> {
        match self.core.store.frozen(&domain.id, year)? {
            Some(r) => Err(EngineError::Store(StoreError::Frozen {
                domain: domain.id.clone(),
                year,
                release: r.id,
            })),
            None => Ok(()),
        }
    }

    /// Stage 2: decodes the file and checks its cells against the
    /// catalogue (`vergleichsring_ingest::validate`), within the upload's
    /// time limit.
    async fn decode_and_validate(
        &self,
        domain: &Domain,
        req: &SubmitRequest,
        format: Format,
    ) -> Result<Upload> {
        let registered = self.core.registered_ids();
        let own = req.own_member.clone();
        let year = req.year;
        let d2 = domain.clone();
        let body = req.body.clone();
        let limits = self.core.limits;
        let timeout = self.core.upload_timeout;
        // Untrusted bytes are decoded in a worker process when the engine
        // has workers (the server always does); it is killed at the time
        // limit, and its crash refuses the file.
        let decoded = match &self.core.workers {
            Some(pool) => Some(pool.decode(format, &body, &limits, timeout).await?),
            None => None,
        };
        // Decoding (without workers) and cell checks are CPU work: keep them
        // off the request threads, and give up waiting after the time limit.
        let decoding = tokio::task::spawn_blocking(move || {
            let decoded = match decoded {
                Some(d) => d,
                None => vergleichsring_ingest::decode(format, body, &limits)?,
            };
            let is_registered = |id: &str| registered.contains(id);
            vergleichsring_ingest::validate(
                &decoded,
                &d2,
                year,
                &Submitter {
                    own_member: own.as_deref(),
                    is_registered: &is_registered,
                },
            )
        });
        let upload: Upload = tokio::time::timeout(timeout, decoding)
            .await
            .map_err(|_| {
                EngineError::Rejected(vec![RowError::file(
                    "too_slow",
                    format!(
                        "checking the upload took longer than {} s; split it into smaller files",
                        timeout.as_secs()
                    ),
                )])
            })?
            .map_err(|e| {
                // A decoder that panics on a malformed file (a library bug)
                // must not turn the upload into a 5xx: the file is refused.
                tracing::error!(error = %e, "decoding an upload panicked");
                EngineError::Rejected(vec![RowError::file(
                    "unreadable_file",
                    "the file could not be decoded; it is damaged or written in a way the decoder does not support",
                )])
            })??;
        Ok(upload)
    }

    /// Stage 3: a member that left the ring submits nothing for the year
    /// it left and later (its earlier figures stay).
    fn refuse_left_members(&self, upload: &Upload, year: i32) -> Result<()> {
        let left = self.core.store.members_left();
        let gone: Vec<RowError> = upload
            .rows
            .iter()
            .filter_map(|r| {
                let from = *left.get(&r.member_id)?;
                (year >= from).then(|| RowError {
                    row: Some(r.row),
                    member_id: Some(r.member_id.clone()),
                    column: Some("member_id".into()),
                    rule: "member_left".into(),
                    message: format!(
                        "member {} left the ring from {from} on; figures for {year} are not accepted",
                        r.member_id
                    ),
                })
            })
            .collect();
        if gone.is_empty() {
            Ok(())
        } else {
            Err(EngineError::Rejected(gone))
        }
    }

    /// Stage 4: the domain's plausibility rules and the year-over-year
    /// rules against the previous year. A finding of level error refuses
    /// the upload; the others are its warnings.
    async fn plausibility(
        &self,
        domain: &Domain,
        year: i32,
        upload: &Upload,
    ) -> Result<Vec<Warning>> {
        let mut findings = rules::evaluate(domain, year, upload).await?;
        // The previous year, for the year-over-year rules.
        let snapshot = self.core.snapshots.current_with(domain, [year - 1]).await?;
        findings.extend(rules::year_over_year(domain, year, upload, &snapshot));
        let errors: Vec<RowError> = findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .map(|f| RowError {
                row: Some(f.row),
                member_id: Some(f.member_id.clone()),
                column: Some(f.figure.clone()),
                rule: f.rule.clone(),
                message: f.message.clone(),
            })
            .collect();
        if !errors.is_empty() {
            return Err(EngineError::Rejected(errors));
        }
        Ok(findings
            .into_iter()
            .map(|f| Warning {
                member_id: f.member_id,
                figure: f.figure,
                rule: f.rule,
                message: f.message,
                message_de: f.message_de,
                row: f.row,
            })
            .collect())
    }

    /// Stage 6: the one commit, and the snapshot brought forward to it.
    /// Both happen under one lock, so that the snapshot follows the table
    /// commit by commit. Returns the commit and when (since `started`) the
    /// table had it.
    async fn commit(
        &self,
        domain: &Domain,
        submission: SubmissionRows,
        started: std::time::Instant,
    ) -> Result<(vergleichsring_store::Committed, std::time::Duration)> {
        let _refresh = self.core.snapshots.refresh.lock().await;
        let committed = self
            .core
            .store
            .append_submission(&domain.id, submission)
            .await?;
        let committed_at = started.elapsed();
        self.core.snapshots.apply_commit(domain, &committed).await;
        Ok((committed, committed_at))
    }
}

/// Stage 5: the rows as stored, each with its warnings (found once by
/// row: a national upload has 100,000 rows and thousands of warnings).
fn submitted_rows(upload: &Upload, warnings: &[Warning]) -> Vec<SubmittedRow> {
    let mut by_row: std::collections::HashMap<_, Vec<&Warning>> = std::collections::HashMap::new();
    for w in warnings {
        by_row.entry(w.row).or_default().push(w);
    }
    upload
        .rows
        .iter()
        .map(|r: &UploadRow| {
            let own: &[&Warning] = by_row.get(&r.row).map_or(&[], Vec::as_slice);
            SubmittedRow {
                row: r.row,
                member_id: r.member_id.clone(),
                values: r.values.clone(),
                warnings_json: serde_json::to_string(&own).unwrap_or_else(|_| "[]".into()),
            }
        })
        .collect()
}
