//! A domain's data as of one data version: every stored row (the history) and
//! the key figures of the current rows, computed by DataFusion from the Delta
//! table with `queries/current.sql` and the domain's key-figure SQL.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use vergleichsring_catalog::Domain;
use vergleichsring_store::DeltaTable;

use crate::error::EngineError;
use crate::session::new_context;
pub use crate::year::{KeyRow, MemberYear, StoredRow, SubmissionMeta, Values, YearData};

/// The SQL that selects the current rows of the `figures` table.
pub const CURRENT_SQL: &str = include_str!("../../../queries/current.sql");

/// A domain's data at one version, split by year.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The data version (`None`: nothing submitted yet).
    pub version: Option<u64>,
    years: BTreeMap<i32, Arc<YearData>>,
}

impl Snapshot {
    /// The data of a year.
    pub fn year(&self, year: i32) -> Option<&YearData> {
        self.years.get(&year).map(Arc::as_ref)
    }

    /// The current row of a member in a year.
    pub fn current_row(&self, year: i32, member_id: &str) -> Option<&StoredRow> {
        let y = self.year(year)?;
        y.current
            .get(member_id)
            .and_then(|&i| y.history.get(i))
            .map(Arc::as_ref)
    }

    /// The key figures of a member's current row in a year.
    pub fn key_of(&self, year: i32, member_id: &str) -> Option<&KeyRow> {
        self.year(year)?.key.get(member_id)
    }

    /// The years with at least one current row, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years
            .iter()
            .filter(|(_, y)| !y.current.is_empty())
            .map(|(y, _)| *y)
            .collect()
    }

    /// Every stored row, year by year, oldest first within a year.
    pub fn rows(&self) -> impl Iterator<Item = &StoredRow> {
        self.years
            .values()
            .flat_map(|y| y.history.iter().map(Arc::as_ref))
    }

    /// The same data at another version (after a commit that changed no
    /// data, such as a compaction); the years and their materialised
    /// groups are shared.
    pub fn relabelled(&self, version: u64) -> Snapshot {
        Snapshot {
            version: Some(version),
            years: self.years.clone(),
        }
    }

    /// When the last commit of the snapshot was made (RFC 3339), if any.
    pub fn latest_submitted_at(&self) -> Option<String> {
        self.rows()
            .map(|r| r.meta.submitted_at.as_str())
            .max()
            .map(str::to_string)
    }

    /// The number of stored rows.
    pub fn row_count(&self) -> usize {
        self.years.values().map(|y| y.history.len()).sum()
    }

    /// A snapshot from stored rows (ordered by version) and the key figures
    /// of the current ones, without a table: for tests and tools.
    pub fn from_parts(
        version: Option<u64>,
        rows: Vec<StoredRow>,
        mut keys: HashMap<MemberYear, KeyRow>,
    ) -> Snapshot {
        let mut years: BTreeMap<i32, YearData> = BTreeMap::new();
        for r in rows {
            years.entry(r.year).or_default().push(Arc::new(r));
        }
        let years = years
            .into_iter()
            .map(|(year, mut data)| {
                data.key = data
                    .current
                    .keys()
                    .filter_map(|m| keys.remove(&(year, m.clone())).map(|k| (m.clone(), k)))
                    .collect();
                (year, Arc::new(data))
            })
            .collect();
        Snapshot { version, years }
    }

    /// One year as it stood at `version` (every row committed at or before
    /// it), as a snapshot holding that year only: what a publication made
    /// at that version answers from. When nothing of the year changed
    /// since, the year (with its materialised groups) is shared; otherwise
    /// its current rows are picked again and their key figures computed.
    pub async fn year_as_of(
        &self,
        domain: &Domain,
        year: i32,
        version: u64,
    ) -> Result<Snapshot, EngineError> {
        let one = |data: Arc<YearData>| Snapshot {
            version: Some(version),
            years: BTreeMap::from([(year, data)]),
        };
        let Some(data) = self.years.get(&year) else {
            return Ok(one(Arc::default()));
        };
        if data.history.iter().all(|r| r.meta.version <= version) {
            return Ok(one(data.clone()));
        }
        let mut at = YearData::default();
        for r in data.history.iter().filter(|r| r.meta.version <= version) {
            at.push(r.clone());
        }
        let current: Vec<&StoredRow> = at.current_rows().map(|(_, r)| r).collect();
        at.key = key_figures(domain, &current)
            .await?
            .into_iter()
            .map(|((_, m), k)| (m, k))
            .collect();
        Ok(one(Arc::new(at)))
    }

    /// Loads a snapshot of a domain's table.
    pub async fn load(domain: &Domain, table: &DeltaTable) -> Result<Snapshot, EngineError> {
        let Some(version) = table.version() else {
            return Ok(Snapshot::default());
        };
        let table = table.clone();
        let history_batches = crate::session::on_pool(async move {
            let ctx = new_context();
            table.update_datafusion_session(&ctx.state())?;
            ctx.register_table("figures", table.table_provider().await?)?;
            Ok(ctx
                .sql("SELECT * FROM figures ORDER BY version, row")
                .await?
                .collect()
                .await?)
        })
        .await?;
        let mut rows = Vec::new();
        for b in &history_batches {
            read_history(domain, b, &mut rows)?;
        }
        // One query over the current rows of all years.
        let keys = {
            let mut current: BTreeMap<MemberYear, &StoredRow> = BTreeMap::new();
            for r in &rows {
                current.insert((r.year, r.member_id.clone()), r);
            }
            let current: Vec<&StoredRow> = current.into_values().collect();
            key_figures(domain, &current).await?
        };
        Ok(Snapshot::from_parts(Some(version), rows, keys))
    }

    /// The snapshot after one more commit: only the years the commit
    /// touches are rebuilt (their rows appended, their key figures computed
    /// again over their current rows); every other year is shared with
    /// `self`. `batch` holds the committed rows as written to the lake.
    pub async fn with_commit(
        &self,
        domain: &Domain,
        version: u64,
        batch: &RecordBatch,
    ) -> Result<Snapshot, EngineError> {
        let mut rows = Vec::new();
        read_history(domain, batch, &mut rows)?;
        let mut touched: BTreeMap<i32, YearData> = BTreeMap::new();
        for r in rows {
            let data = touched.entry(r.year).or_insert_with(|| {
                self.years
                    .get(&r.year)
                    .map(|y| YearData {
                        history: y.history.clone(),
                        current: y.current.clone(),
                        key: BTreeMap::new(),
                        materialised: Default::default(),
                    })
                    .unwrap_or_default()
            });
            data.push(Arc::new(r));
        }
        let mut years = self.years.clone();
        for (year, mut data) in touched {
            let current: Vec<&StoredRow> = data.current_rows().map(|(_, r)| r).collect();
            data.key = key_figures(domain, &current)
                .await?
                .into_iter()
                .map(|((_, m), k)| (m, k))
                .collect();
            years.insert(year, Arc::new(data));
        }
        Ok(Snapshot {
            version: Some(version),
            years,
        })
    }
}

/// The `basic` table of the key-figure SQL: member_id, year and the basic
/// figures of the given rows.
fn basic_batch(domain: &Domain, rows: &[&StoredRow]) -> Result<RecordBatch, EngineError> {
    use arrow::array::{ArrayRef, Float64Array, Int32Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    let mut fields = vec![
        Field::new("member_id", DataType::Utf8, false),
        Field::new("year", DataType::Int32, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.member_id.as_str()),
        )),
        Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.year))),
    ];
    for (i, f) in domain.basic_figures.iter().enumerate() {
        fields.push(Field::new(&f.id, DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from_iter(
            rows.iter().map(|r| r.basic.get(i)),
        )));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Runs the domain's key-figure SQL over current rows. The SQL computes
/// each member-year from its own row (the catalogue's queries must not
/// relate rows of different years, because a refresh recomputes one year).
pub(crate) async fn key_figures(
    domain: &Domain,
    rows: &[&StoredRow],
) -> Result<HashMap<MemberYear, KeyRow>, EngineError> {
    let batches =
        crate::session::query_batch("basic", basic_batch(domain, rows)?, domain.query.clone())
            .await?;
    let mut out = HashMap::with_capacity(rows.len());
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
    let mut meta: Option<Arc<SubmissionMeta>> = None;
    for i in 0..b.num_rows() {
        let version = u64::try_from(versions.value(i)).unwrap_or(0);
        // Rows come grouped by commit: one shared record per submission.
        let shared = match &meta {
            Some(m) if m.version == version && m.submission_id == ids[i] => m.clone(),
            _ => {
                let ts = chrono::DateTime::from_timestamp_micros(at.value(i))
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                    .unwrap_or_default();
                let m = Arc::new(SubmissionMeta {
                    version,
                    submission_id: ids[i].clone(),
                    submitted_at: ts,
                    submitted_by: by[i].clone(),
                    upload_sha256: hashes[i].clone(),
                    upload_format: formats[i].clone(),
                });
                meta = Some(m.clone());
                m
            }
        };
        out.push(StoredRow {
            meta: shared,
            row: u32::try_from(rows[i]).unwrap_or(0),
            member_id: members[i].clone(),
            year: years[i],
            warnings: serde_json::from_str(&warnings[i])
                .unwrap_or(serde_json::Value::Array(vec![])),
            basic: figures.iter().map(|c| c[i]).collect(),
        });
    }
    Ok(())
}
