//! A domain's data as of one data version: every stored row (the history) and
//! the key figures of the current rows, computed by DataFusion from the Delta
//! table with `queries/current.sql` and the domain's key-figure SQL.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use datafusion::prelude::SessionContext;
use vergleichsring_catalog::Domain;
use vergleichsring_store::DeltaTable;

use crate::EngineError;
use crate::session::new_context;

/// The SQL that selects the current rows of the `figures` table.
pub const CURRENT_SQL: &str = include_str!("../../../queries/current.sql");

/// One stored row of a submission.
#[derive(Debug, Clone)]
pub struct StoredRow {
    /// Delta version of the commit that added it.
    pub version: u64,
    /// The submission.
    pub submission_id: String,
    /// Commit time, RFC 3339.
    pub submitted_at: String,
    /// Token id of the submitter.
    pub submitted_by: String,
    /// Row in the uploaded file.
    pub row: u32,
    /// The member.
    pub member_id: String,
    /// The year.
    pub year: i32,
    /// Warnings stored with the row (JSON array).
    pub warnings: serde_json::Value,
    /// SHA-256 of the archived upload the row came from (absent in rows
    /// stored before uploads were archived).
    pub upload_sha256: Option<String>,
    /// The upload's format.
    pub upload_format: Option<String>,
    /// Basic figures in catalogue order.
    pub basic: Vec<Option<f64>>,
}

/// A (year, member id) key.
pub type MemberYear = (i32, String);

/// Key figures of one member and year.
#[derive(Debug, Clone, Default)]
pub struct KeyRow {
    /// Values in catalogue order.
    pub values: Vec<Option<f64>>,
    /// Numerators of the weighted ratio.
    pub nums: Vec<Option<f64>>,
    /// Denominators of the weighted ratio.
    pub dens: Vec<Option<f64>>,
}

/// A domain's data at one version.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The data version (`None`: nothing submitted yet).
    pub version: Option<u64>,
    /// Every stored row, oldest first.
    pub history: Vec<StoredRow>,
    /// Index into `history` of the current row per (year, member).
    pub current: BTreeMap<(i32, String), usize>,
    /// Key figures of the current rows per (year, member).
    pub key: HashMap<(i32, String), KeyRow>,
}

impl Snapshot {
    /// The current row of a member in a year.
    pub fn current_row(&self, year: i32, member_id: &str) -> Option<&StoredRow> {
        self.current
            .get(&(year, member_id.to_string()))
            .and_then(|&i| self.history.get(i))
    }

    /// The years with at least one current row.
    pub fn years(&self) -> Vec<i32> {
        let mut y: Vec<i32> = self.current.keys().map(|(y, _)| *y).collect();
        y.dedup();
        y
    }

    /// Loads a snapshot of a domain's table.
    pub async fn load(domain: &Domain, table: &DeltaTable) -> Result<Snapshot, EngineError> {
        let Some(version) = table.version() else {
            return Ok(Snapshot::default());
        };
        let ctx = new_context();
        table.update_datafusion_session(&ctx.state())?;
        ctx.register_table("figures", table.table_provider().await?)?;
        let history_batches = ctx
            .sql("SELECT * FROM figures ORDER BY version, row")
            .await?
            .collect()
            .await?;
        let mut history = Vec::new();
        for b in &history_batches {
            read_history(domain, b, &mut history)?;
        }
        let mut current = BTreeMap::new();
        for (i, r) in history.iter().enumerate() {
            // Rows are ordered by version, so a later row replaces an earlier one.
            current.insert((r.year, r.member_id.clone()), i);
        }
        let key = key_figures(&ctx, domain).await?;
        Ok(Snapshot {
            version: Some(version),
            history,
            current,
            key,
        })
    }
}

/// Runs the domain's key-figure SQL over the current rows of `figures`
/// registered in `ctx`.
async fn key_figures(
    ctx: &SessionContext,
    domain: &Domain,
) -> Result<HashMap<(i32, String), KeyRow>, EngineError> {
    let current = ctx.sql(CURRENT_SQL).await?;
    ctx.register_table("basic", current.into_view())?;
    let batches = ctx.sql(&domain.query).await?.collect().await?;
    let mut out = HashMap::new();
    for b in &batches {
        for (k, row) in read_key_rows(domain, b)? {
            out.insert(k, row);
        }
    }
    Ok(out)
}

fn column<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a Arc<dyn Array>, EngineError> {
    b.column_by_name(name)
        .ok_or_else(|| EngineError::Internal(format!("column {name} missing from result")))
}

pub(crate) fn f64_column(b: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>, EngineError> {
    let c = cast(column(b, name)?, &DataType::Float64)?;
    let a = c.as_primitive::<Float64Type>();
    Ok((0..a.len())
        .map(|i| {
            (!a.is_null(i))
                .then(|| a.value(i))
                .filter(|v| v.is_finite())
        })
        .collect())
}

fn str_column(b: &RecordBatch, name: &str) -> Result<Vec<String>, EngineError> {
    let c = cast(column(b, name)?, &DataType::Utf8)?;
    let a = c.as_string::<i32>();
    Ok((0..a.len()).map(|i| a.value(i).to_string()).collect())
}

fn i32_column(b: &RecordBatch, name: &str) -> Result<Vec<i32>, EngineError> {
    let c = cast(column(b, name)?, &DataType::Int32)?;
    let a = c.as_primitive::<Int32Type>();
    Ok((0..a.len()).map(|i| a.value(i)).collect())
}

/// Reads the key-figure query's output: member_id, year, and per key figure
/// its value, `__num` and `__den`.
pub(crate) fn read_key_rows(
    domain: &Domain,
    b: &RecordBatch,
) -> Result<Vec<(MemberYear, KeyRow)>, EngineError> {
    let members = str_column(b, "member_id")?;
    let years = i32_column(b, "year")?;
    let mut values = Vec::new();
    let mut nums = Vec::new();
    let mut dens = Vec::new();
    for k in &domain.key_figures {
        values.push(f64_column(b, &k.id)?);
        nums.push(f64_column(b, &format!("{}__num", k.id))?);
        dens.push(f64_column(b, &format!("{}__den", k.id))?);
    }
    Ok((0..b.num_rows())
        .map(|i| {
            let row = KeyRow {
                values: values.iter().map(|c| c[i]).collect(),
                nums: nums.iter().map(|c| c[i]).collect(),
                dens: dens.iter().map(|c| c[i]).collect(),
            };
            ((years[i], members[i].clone()), row)
        })
        .collect())
}

fn read_history(
    domain: &Domain,
    b: &RecordBatch,
    out: &mut Vec<StoredRow>,
) -> Result<(), EngineError> {
    let versions = cast(column(b, "version")?, &DataType::Int64)?;
    let versions = versions.as_primitive::<Int64Type>();
    let ids = str_column(b, "submission_id")?;
    let at = column(b, "submitted_at")?;
    let at = at
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| EngineError::Internal("submitted_at is not a timestamp".into()))?;
    let by = str_column(b, "submitted_by")?;
    let rows = i32_column(b, "row")?;
    let members = str_column(b, "member_id")?;
    let years = i32_column(b, "year")?;
    let warnings = str_column(b, "warnings")?;
    let optional_text = |name: &str| -> Result<Vec<Option<String>>, EngineError> {
        match b.column_by_name(name) {
            None => Ok(vec![None; b.num_rows()]),
            Some(c) => {
                let c = cast(c, &DataType::Utf8)?;
                let a = c.as_string::<i32>();
                Ok((0..a.len())
                    .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
                    .collect())
            }
        }
    };
    let hashes = optional_text("upload_sha256")?;
    let formats = optional_text("upload_format")?;
    let mut figures = Vec::new();
    for f in &domain.basic_figures {
        // A figure added to the catalogue after rows were stored has no column
        // in old data; those rows did not report it.
        if b.column_by_name(&f.id).is_some() {
            figures.push(f64_column(b, &f.id)?);
        } else {
            figures.push(vec![None; b.num_rows()]);
        }
    }
    for i in 0..b.num_rows() {
        let ts = chrono::DateTime::from_timestamp_micros(at.value(i))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default();
        out.push(StoredRow {
            version: u64::try_from(versions.value(i)).unwrap_or(0),
            submission_id: ids[i].clone(),
            submitted_at: ts,
            submitted_by: by[i].clone(),
            row: u32::try_from(rows[i]).unwrap_or(0),
            member_id: members[i].clone(),
            year: years[i],
            warnings: serde_json::from_str(&warnings[i])
                .unwrap_or(serde_json::Value::Array(vec![])),
            upload_sha256: hashes[i].clone(),
            upload_format: formats[i].clone(),
            basic: figures.iter().map(|c| c[i]).collect(),
        });
    }
    Ok(())
}
