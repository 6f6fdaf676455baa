//! The Delta Lake tables of submitted figures, one per domain.
//!
//! Schema of `lake/<domain>`: `version` (the Delta version of the commit that
//! added the row, so later submissions sort after earlier ones whatever the
//! clock says), `submission_id`, `submitted_at`, `submitted_by` (token id),
//! `row` (1-based row in the uploaded file), `member_id`, `year`, `warnings`
//! (JSON array of the warnings stored with the row), `upload_sha256` and
//! `upload_format` (the archived bytes it came from), then one DOUBLE column
//! per basic figure in catalogue order. Rows are only ever appended.

use std::path::Path;
use std::sync::Arc;

use deltalake::DeltaTable;
use deltalake::arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use deltalake::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;

use crate::{Result, Store, StoreError};

/// One accepted row of a submission.
#[derive(Debug, Clone)]
pub struct SubmittedRow {
    /// 1-based row number in the uploaded file.
    pub row: u32,
    /// The member the row belongs to.
    pub member_id: String,
    /// Basic figures in catalogue order; `None` is "not reported".
    pub values: Vec<Option<f64>>,
    /// The warnings of this row as a JSON array.
    pub warnings_json: String,
}

/// An accepted submission, ready to be committed.
#[derive(Debug, Clone)]
pub struct SubmissionRows {
    /// Id of the submission.
    pub submission_id: String,
    /// Token id of the submitter.
    pub submitted_by: String,
    /// The year of the figures.
    pub year: i32,
    /// SHA-256 of the uploaded bytes (see [`Store::archive_upload`]).
    pub upload_sha256: String,
    /// The upload's format: `parquet`, `csv` or `xlsx`.
    pub upload_format: String,
    /// The rows.
    pub rows: Vec<SubmittedRow>,
}

/// The outcome of a commit.
#[derive(Debug, Clone)]
pub struct Committed {
    /// Delta version of the commit, the domain's new data version.
    pub version: u64,
    /// Commit time, RFC 3339.
    pub submitted_at: String,
    /// The rows as written to the lake, so that readers can update what
    /// they derived from the table without reading it again.
    pub batch: RecordBatch,
}

pub(crate) async fn open_table(root: &Path, domain: &str) -> Result<DeltaTable> {
    let dir = root.join("lake").join(domain);
    std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
        path: dir.clone(),
        source,
    })?;
    let dir = dir.canonicalize().map_err(|source| StoreError::Io {
        path: dir.clone(),
        source,
    })?;
    let url = url::Url::from_directory_path(&dir)
        .map_err(|_| StoreError::Invalid(format!("{} is not an absolute path", dir.display())))?;
    Ok(DeltaTable::try_from_url(url).await?)
}

/// The Arrow schema of a domain's table.
pub fn lake_schema(figures: &[String]) -> Schema {
    let mut fields = vec![
        Field::new("version", DataType::Int64, false),
        Field::new("submission_id", DataType::Utf8, false),
        Field::new(
            "submitted_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("submitted_by", DataType::Utf8, false),
        Field::new("row", DataType::Int32, false),
        Field::new("member_id", DataType::Utf8, false),
        Field::new("year", DataType::Int32, false),
        Field::new("warnings", DataType::Utf8, false),
        Field::new("upload_sha256", DataType::Utf8, true),
        Field::new("upload_format", DataType::Utf8, true),
    ];
    fields.extend(
        figures
            .iter()
            .map(|f| Field::new(f, DataType::Float64, true)),
    );
    Schema::new(fields)
}

impl Store {
    /// The domain's table as of its latest commit, to be read with DataFusion.
    /// `None` for an unknown domain.
    pub async fn table(&self, domain: &str) -> Option<DeltaTable> {
        self.tables.read().await.get(domain).cloned()
    }

    /// The domain's data version: the Delta version of its latest commit, or
    /// `None` while nothing was submitted.
    pub async fn data_version(&self, domain: &str) -> Option<u64> {
        self.tables
            .read()
            .await
            .get(domain)
            .and_then(|t| t.version())
    }

    /// Reads every domain's transaction log (for `/ready`): the latest
    /// version of each, or the first error.
    pub async fn check_lake(&self) -> Result<std::collections::BTreeMap<String, Option<u64>>> {
        let mut out = std::collections::BTreeMap::new();
        for d in &self.catalog.domains {
            let mut table = self
                .table(&d.id)
                .await
                .ok_or_else(|| StoreError::Invalid(format!("unknown domain {}", d.id)))?;
            if let Some(v) = table.version() {
                table.update_state().await?;
                // The latest commit itself must be readable, not only
                // listed: that is what a snapshot load reads first.
                let latest = table.version().unwrap_or(v);
                let entry = table.log_store().read_commit_entry(latest as _).await?;
                if entry.is_none() {
                    return Err(StoreError::Invalid(format!(
                        "{}: commit {latest} of the transaction log cannot be read",
                        d.id
                    )));
                }
            }
            out.insert(d.id.clone(), table.version());
        }
        Ok(out)
    }

    /// Appends a submission to the domain's table as one Delta commit.
    pub async fn append_submission(
        &self,
        domain: &str,
        submission: SubmissionRows,
    ) -> Result<Committed> {
        let d = self
            .catalog
            .domain(domain)
            .ok_or_else(|| StoreError::Invalid(format!("unknown domain {domain}")))?;
        let figures: Vec<String> = d.basic_figures.iter().map(|f| f.id.clone()).collect();
        let _guard = self.write_lock.lock().await;
        // Checked under the writers' lock, which `freeze` also takes: an
        // upload either lands before the freeze or is refused.
        if let Some(r) = self.frozen(domain, submission.year)? {
            return Err(StoreError::Frozen {
                domain: domain.to_string(),
                year: submission.year,
                release: r.id,
            });
        }
        let mut table = self
            .table(domain)
            .await
            .ok_or_else(|| StoreError::Invalid(format!("unknown domain {domain}")))?;
        // The rows carry the version of their commit, so it must be known
        // exactly: bring the handle to the log's latest version first (a
        // handle returned by an earlier write was seen one version behind
        // under load, which made the next write resolve a conflict and land
        // one version later than its rows said).
        if table.version().is_some() {
            table.update_state().await?;
        }
        let version = table.version().map_or(0, |v| v + 1);
        let now = chrono::Utc::now();
        let n = submission.rows.len();
        let schema = Arc::new(lake_schema(&figures));
        let version_i64 = i64::try_from(version)
            .map_err(|_| StoreError::Invalid("table version out of range".into()))?;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![version_i64; n])),
            Arc::new(StringArray::from(vec![
                submission.submission_id.as_str();
                n
            ])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![now.timestamp_micros(); n])
                    .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from(vec![submission.submitted_by.as_str(); n])),
            Arc::new(Int32Array::from(
                submission
                    .rows
                    .iter()
                    .map(|r| i32::try_from(r.row).unwrap_or(i32::MAX))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                submission
                    .rows
                    .iter()
                    .map(|r| r.member_id.as_str())
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Int32Array::from(vec![submission.year; n])),
            Arc::new(StringArray::from(
                submission
                    .rows
                    .iter()
                    .map(|r| r.warnings_json.as_str())
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(vec![
                submission.upload_sha256.as_str();
                n
            ])),
            Arc::new(StringArray::from(vec![
                submission.upload_format.as_str();
                n
            ])),
        ];
        for i in 0..figures.len() {
            columns.push(Arc::new(Float64Array::from(
                submission
                    .rows
                    .iter()
                    .map(|r| r.values.get(i).copied().flatten())
                    .collect::<Vec<_>>(),
            )));
        }
        let batch = RecordBatch::try_new(schema, columns)?;
        let written = table
            .write(vec![batch.clone()])
            .with_save_mode(SaveMode::Append)
            .with_schema_mode(SchemaMode::Merge)
            .await?;
        let mut written = written;
        if written.version() != Some(version) {
            written.update_state().await?;
        }
        let committed = written.version().unwrap_or(version);
        if committed != version {
            tracing::error!(
                domain,
                expected = version,
                committed,
                "a commit landed at another version than its rows carry"
            );
        }
        self.tables
            .write()
            .await
            .insert(domain.to_string(), written);
        tracing::info!(
            domain,
            version = committed,
            rows = n,
            "submission committed"
        );
        Ok(Committed {
            version: committed,
            batch,
            submitted_at: now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        })
    }
}
