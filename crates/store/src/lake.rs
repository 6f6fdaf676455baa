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

/// Where the Delta tables live: `DATA_DIR/lake/<domain>` on the local
/// disk, or `<url>/<domain>` on S3-compatible object storage.
#[derive(Debug, Clone, Default)]
pub struct LakeLocation {
    /// `s3://bucket/prefix`; `None` for the data directory.
    pub url: Option<url::Url>,
    /// Storage options for deltalake and object_store (`AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...). Options not given here are
    /// read from the environment by object_store.
    pub options: std::collections::HashMap<String, String>,
}

impl LakeLocation {
    /// The table URL of a domain.
    pub fn table_url(&self, root: &Path, domain: &str) -> Result<url::Url> {
        match &self.url {
            Some(base) => {
                let mut base = base.clone();
                if !base.path().ends_with('/') {
                    base.set_path(&format!("{}/", base.path()));
                }
                let url = base
                    .join(&format!("{domain}/"))
                    .map_err(|e| StoreError::Invalid(format!("lake url {base}: {e}")))?;
                // A `file://` lake (a shared disk) needs its directories;
                // object storage has none.
                if url.scheme() == "file"
                    && let Ok(path) = url.to_file_path()
                {
                    std::fs::create_dir_all(&path).map_err(|source| StoreError::Io {
                        path: path.clone(),
                        source,
                    })?;
                }
                Ok(url)
            }
            None => {
                let dir = root.join("lake").join(domain);
                std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
                    path: dir.clone(),
                    source,
                })?;
                let dir = dir.canonicalize().map_err(|source| StoreError::Io {
                    path: dir.clone(),
                    source,
                })?;
                url::Url::from_directory_path(&dir).map_err(|_| {
                    StoreError::Invalid(format!("{} is not an absolute path", dir.display()))
                })
            }
        }
    }
}

pub(crate) async fn open_table(
    root: &Path,
    lake: &LakeLocation,
    domain: &str,
) -> Result<DeltaTable> {
    let url = lake.table_url(root, domain)?;
    crate::s3::register();
    Ok(DeltaTable::try_from_url_with_storage_options(url, lake.options.clone()).await?)
}

/// Whether a commit failed because another writer committed first (and the
/// submission should be written again on top of it).
fn lost_race(e: &deltalake::DeltaTableError) -> bool {
    use deltalake::kernel::transaction::TransactionError;
    match e {
        deltalake::DeltaTableError::VersionAlreadyExists(_) => true,
        deltalake::DeltaTableError::Transaction { source } => matches!(
            source,
            TransactionError::MaxCommitAttempts(_) | TransactionError::VersionAlreadyExists(_)
        ),
        _ => false,
    }
}

/// How often a submission is written again after other writers committed
/// first, before the upload fails.
const COMMIT_ATTEMPTS: usize = 32;

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

    /// Brings every domain's table handle to the latest version of its
    /// log, to see commits other processes made (replicas on one lake).
    /// Returns the domains that moved, with their old and new versions.
    pub async fn follow_log(&self) -> Result<Vec<(String, Option<u64>, u64)>> {
        let mut moved = Vec::new();
        for d in &self.catalog.domains {
            let Some(mut table) = self.table(&d.id).await else {
                continue;
            };
            let old = table.version();
            match old {
                Some(_) => table.update_state().await?,
                None => match table.load().await {
                    Ok(()) | Err(deltalake::DeltaTableError::NotATable(_)) => {}
                    Err(e) => return Err(e.into()),
                },
            }
            if let Some(new) = table.version()
                && old.is_none_or(|o| new > o)
            {
                // Only forward: a commit of this process may have moved the
                // handle further meanwhile.
                let mut tables = self.tables.write().await;
                let current = tables.get(&d.id).and_then(|t| t.version());
                if current.is_none_or(|c| new > c) {
                    tables.insert(d.id.clone(), table);
                    moved.push((d.id.clone(), current, new));
                }
            }
        }
        Ok(moved)
    }

    /// Whether a commit of a domain's table added data (an `add` action
    /// with `dataChange: true`), as opposed to a compaction or a change of
    /// table properties.
    pub async fn commit_adds_data(&self, domain: &str, version: u64) -> Result<bool> {
        let table = self
            .table(domain)
            .await
            .ok_or_else(|| StoreError::Invalid(format!("unknown domain {domain}")))?;
        let Some(bytes) = table.log_store().read_commit_entry(version as _).await? else {
            return Err(StoreError::Invalid(format!(
                "{domain}: commit {version} of the transaction log cannot be read"
            )));
        };
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let action: serde_json::Value =
                serde_json::from_slice(line).map_err(|source| StoreError::Json {
                    path: std::path::PathBuf::from(format!("{domain}/_delta_log/{version}")),
                    source,
                })?;
            if action["add"]["dataChange"].as_bool() == Some(true) {
                return Ok(true);
            }
        }
        Ok(false)
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
        let mut table = self
            .table(domain)
            .await
            .ok_or_else(|| StoreError::Invalid(format!("unknown domain {domain}")))?;
        // The rows carry the version of their commit, so it must be known
        // exactly: bring the handle to the log's latest version first (a
        // handle returned by an earlier write was seen one version behind
        // under load, which made the next write resolve a conflict and land
        // one version later than its rows said). Another process may commit
        // between that and our commit: delta-rs is told not to retry on its
        // own (it would land the rows at a later version than they carry);
        // the submission is written again at the next version instead. The
        // commit itself is a put-if-absent of the log entry, on a local disk
        // and on S3 alike, so exactly one writer wins each version.
        let now = chrono::Utc::now();
        let schema = Arc::new(lake_schema(&figures));
        let mut attempt = 0;
        let (written, batch, version) = loop {
            attempt += 1;
            refresh(&mut table).await?;
            // The freeze is a commit too: read from the same state the
            // commit builds on, so no freeze can slip in between.
            if let Some(release) = crate::releases::frozen_in_table(&table, submission.year) {
                return Err(StoreError::Frozen {
                    domain: domain.to_string(),
                    year: submission.year,
                    release,
                });
            }
            let version = table.version().map_or(0, |v| v + 1);
            let batch = submission_batch(&schema, &submission, version, now, figures.len())?;
            match append_once(&table, batch.clone()).await {
                Ok(written) => break (written, batch, version),
                Err(e) if lost_race(&e) && attempt < COMMIT_ATTEMPTS => {
                    tracing::info!(
                        domain,
                        version,
                        attempt,
                        "another writer committed first; writing again"
                    );
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let n = submission.rows.len();
        let mut written = written;
        let committed = landed_version(&mut written, version, domain).await?;
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

/// Brings a handle to the log's latest version, or loads the table
/// another process created since ours was opened.
async fn refresh(table: &mut DeltaTable) -> Result<()> {
    if table.version().is_some() {
        table.update_state().await?;
        return Ok(());
    }
    match table.load().await {
        Ok(()) | Err(deltalake::DeltaTableError::NotATable(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// One append of a batch as one commit, which delta-rs must not retry on
/// its own (the rows carry the version they were meant for).
async fn append_once(
    table: &DeltaTable,
    batch: RecordBatch,
) -> std::result::Result<DeltaTable, deltalake::DeltaTableError> {
    table
        .clone()
        .write(vec![batch])
        .with_save_mode(SaveMode::Append)
        .with_schema_mode(SchemaMode::Merge)
        .with_commit_properties(
            deltalake::kernel::transaction::CommitProperties::default().with_max_retries(0),
        )
        .await
}

/// The version a commit landed at, read again if the handle does not say
/// `version`; another version than its rows carry is logged as an error.
async fn landed_version(written: &mut DeltaTable, version: u64, domain: &str) -> Result<u64> {
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
    Ok(committed)
}

/// The rows of a submission as written to the lake, carrying `version`.
fn submission_batch(
    schema: &Arc<Schema>,
    submission: &SubmissionRows,
    version: u64,
    now: chrono::DateTime<chrono::Utc>,
    figures: usize,
) -> Result<RecordBatch> {
    let n = submission.rows.len();
    let version_i64 = i64::try_from(version)
        .map_err(|_| StoreError::Invalid("table version out of range".into()))?;
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![version_i64; n])),
        Arc::new(StringArray::from(vec![
            submission.submission_id.as_str();
            n
        ])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![now.timestamp_micros(); n]).with_timezone("UTC"),
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
    for i in 0..figures {
        columns.push(Arc::new(Float64Array::from(
            submission
                .rows
                .iter()
                .map(|r| r.values.get(i).copied().flatten())
                .collect::<Vec<_>>(),
        )));
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// A domain's data version as the API counts it: the number of commits in
/// its Delta table (0: nothing yet). The latest commit's Delta version is
/// one less. Every conversion between the two goes through this type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataVersion(u64);

impl DataVersion {
    /// The data version of a table whose latest commit has this Delta
    /// version (`None`: no commit yet).
    pub fn after(delta: Option<u64>) -> DataVersion {
        DataVersion(delta.map_or(0, |v| v + 1))
    }

    /// The data version a commit with this Delta version makes.
    pub fn of_commit(delta: u64) -> DataVersion {
        DataVersion(delta + 1)
    }

    /// The Delta version of the latest commit in this state (`None`:
    /// nothing committed yet).
    pub fn delta(self) -> Option<u64> {
        self.0.checked_sub(1)
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }

    /// Reads a data version as the API writes it; anything else is 0.
    pub fn parse_or_zero(s: &str) -> DataVersion {
        s.parse().unwrap_or_default()
    }
}

impl std::fmt::Display for DataVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for DataVersion {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(DataVersion)
    }
}

#[cfg(test)]
mod data_version_tests {
    use super::DataVersion;

    #[test]
    fn data_versions_count_commits() {
        assert_eq!(DataVersion::after(None).get(), 0);
        assert_eq!(DataVersion::after(None).delta(), None);
        assert_eq!(DataVersion::after(Some(0)), DataVersion::of_commit(0));
        for v in [0, 1, 41] {
            assert_eq!(DataVersion::of_commit(v).delta(), Some(v));
            assert_eq!(DataVersion::of_commit(v).to_string(), (v + 1).to_string());
            let back: DataVersion = (v + 1).to_string().parse().unwrap_or_default();
            assert_eq!(back, DataVersion::of_commit(v));
        }
        assert_eq!(DataVersion::parse_or_zero("x"), DataVersion::default());
        assert!(DataVersion::of_commit(3) > DataVersion::of_commit(2));
    }
}
