//! Reading a domain's data from its Delta table: the year index (one
//! small aggregate), the rows of one year, their current row per member
//! (`queries/current.sql`) and key figures (the domain's SQL), and the
//! Arrow columns they come in. `lake.rs` decides when; this file only
//! reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use vergleichsring_catalog::Domain;
use vergleichsring_store::DeltaTable;

use crate::disclose::noise::Noise;
use crate::error::EngineError;
use crate::read::snapshot::{YearCommit, YearIndex};
use crate::read::year::{KeyColumns, KeyRow, MemberYear, StoredRow, SubmissionMeta, YearData};
use crate::sandbox::session::new_context;

/// Reads a domain's year index from its table: one aggregate over the
/// year, version and submission columns.
pub async fn load_index(table: &DeltaTable) -> Result<YearIndex, EngineError> {
    if table.version().is_none() {
        return Ok(YearIndex::new());
    }
    let batches = query_figures(
        table,
        "SELECT year, version, submission_id, MAX(submitted_at) AS submitted_at, \
         COUNT(*) AS rows FROM figures GROUP BY year, version, submission_id"
            .to_string(),
    )
    .await?;
    let mut index = YearIndex::new();
    for b in &batches {
        for (year, commit) in index_of(b)? {
            index.entry(year).or_default().push(commit);
        }
    }
    for commits in index.values_mut() {
        commits.sort_by_key(|c| c.version);
    }
    Ok(index)
}

/// (year, commit) of every (year, version) in a batch of stored rows or of
/// the index aggregate (which has a `rows` column).
pub(crate) fn index_of(b: &RecordBatch) -> Result<Vec<(i32, YearCommit)>, EngineError> {
    let years = i32_column(b, "year")?;
    let versions = cast(column(b, "version")?, &DataType::Int64)?;
    let versions = versions.as_primitive::<Int64Type>();
    let ids = str_column(b, "submission_id")?;
    let at = timestamps(b)?;
    let counts: Option<Vec<i64>> = match b.column_by_name("rows") {
        Some(c) => {
            let c = cast(c, &DataType::Int64)?;
            let a = c.as_primitive::<Int64Type>();
            Some((0..a.len()).map(|i| a.value(i)).collect())
        }
        None => None,
    };
    let mut out: BTreeMap<(i32, u64), YearCommit> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let version = u64::try_from(versions.value(i)).unwrap_or(0);
        let rows = counts
            .as_ref()
            .and_then(|c| c.get(i))
            .map_or(1, |n| u64::try_from(*n).unwrap_or(0));
        out.entry((years[i], version))
            .and_modify(|c| c.rows += rows)
            .or_insert_with(|| YearCommit {
                version,
                rows,
                submission_id: ids[i].clone(),
                submitted_at: at[i].clone(),
            });
    }
    Ok(out.into_iter().map(|((y, _), c)| (y, c)).collect())
}

/// Reads one year of a domain as it stood at `version` (every row of the
/// year committed at or before it) from the table, whose handle must be
/// at `version` or later: the table is append-only and every row carries
/// its commit's version, so no time travel is needed. The Delta files'
/// statistics of `year` leave out the files of other years.
pub async fn load_year(
    domain: &Domain,
    table: &DeltaTable,
    year: i32,
    version: u64,
    noise: Option<&Noise>,
) -> Result<YearData, EngineError> {
    let batches = query_figures(
        table,
        format!(
            "SELECT * FROM figures WHERE year = {year} AND version <= {version} \
             ORDER BY version, row"
        ),
    )
    .await?;
    let mut rows = Vec::new();
    for b in &batches {
        read_history(domain, b, &mut rows)?;
    }
    year_of_rows(domain, rows.into_iter().map(Arc::new).collect(), noise).await
}

/// Runs `sql` over a domain's table registered as `figures`, on the
/// engine's DataFusion pool.
pub(crate) async fn query_figures(
    table: &DeltaTable,
    sql: String,
) -> Result<Vec<RecordBatch>, EngineError> {
    let table = table.clone();
    crate::sandbox::session::on_pool(async move {
        let ctx = new_context();
        table.update_datafusion_session(&ctx.state())?;
        ctx.register_table("figures", table.table_provider().await?)?;
        Ok(ctx.sql(&sql).await?.collect().await?)
    })
    .await
}

/// A year from its stored rows (ordered by version, then row), with the key
/// figures of its current rows computed by the domain's SQL. The SQL
/// computes each member-year from its own row (the catalogue's queries
/// must not relate rows of different years, because a refresh recomputes
/// one year).
///
/// With `noise`, the key figures are computed a second time from the
/// perturbed basic figures (rule 14): the year's perturbed twin, from
/// which every statistic for a non-admin caller comes.
pub(crate) async fn year_of_rows(
    domain: &Domain,
    history: Vec<Arc<StoredRow>>,
    noise: Option<&Noise>,
) -> Result<YearData, EngineError> {
    let bare = YearData::without_keys(history);
    let key = key_columns(domain, &bare, None).await?;
    let year = bare.with_keys(key);
    match noise {
        Some(noise) => {
            let perturbed = key_columns(domain, &year, Some(noise)).await?;
            Ok(year.with_perturbed(perturbed))
        }
        None => Ok(year),
    }
}

/// The key figures of a year's current rows, from their true or (with
/// `noise`) perturbed basic figures.
async fn key_columns(
    domain: &Domain,
    year: &YearData,
    noise: Option<&Noise>,
) -> Result<KeyColumns, EngineError> {
    let batches = crate::sandbox::session::query_batch(
        "basic",
        basic_batch(domain, &year.current_stored(), noise)?,
        domain.query.clone(),
    )
    .await?;
    let mut key = KeyColumns::empty(year.len(), domain.key_figures.len());
    for b in &batches {
        fill_key_columns(domain, b, year, &mut key)?;
    }
    Ok(key)
}

/// Puts the key-figure query's output (member_id, and per key figure its
/// value, `__num` and `__den`) into columns aligned with a year's current
/// rows.
fn fill_key_columns(
    domain: &Domain,
    b: &RecordBatch,
    year: &YearData,
    out: &mut KeyColumns,
) -> Result<(), EngineError> {
    let ids = cast(column(b, "member_id")?, &DataType::Utf8)?;
    let ids = ids.as_string::<i32>();
    let float = |name: &str| -> Result<arrow::array::ArrayRef, EngineError> {
        Ok(cast(column(b, name)?, &DataType::Float64)?)
    };
    let mut arrays = Vec::with_capacity(domain.key_figures.len());
    for k in &domain.key_figures {
        arrays.push([
            float(&k.id)?,
            float(&format!("{}__num", k.id))?,
            float(&format!("{}__den", k.id))?,
        ]);
    }
    let columns: Vec<[&arrow::array::Float64Array; 3]> = arrays
        .iter()
        .map(|[v, n, d]| {
            [
                v.as_primitive::<Float64Type>(),
                n.as_primitive::<Float64Type>(),
                d.as_primitive::<Float64Type>(),
            ]
        })
        .collect();
    // Where each output row goes among the current rows. The query keeps
    // its input's order within a batch as a rule, which is the current
    // rows' order: try the next row before searching.
    let mut next = 0;
    let positions: Vec<Option<usize>> = (0..b.num_rows())
        .map(|i| {
            let id = ids.value(i);
            let at = if year.member_at(next) == Some(id) {
                Some(next)
            } else {
                year.position(id)
            };
            if let Some(p) = at {
                next = p + 1;
            }
            at
        })
        .collect();
    for p in positions.iter().flatten() {
        out.mark(*p);
    }
    // Column by column, each read and written front to back.
    for (f, arrays) in columns.iter().enumerate() {
        for (part, a) in arrays.iter().enumerate() {
            let Some(column) = out.column_mut(part, f) else {
                continue;
            };
            for (i, p) in positions.iter().enumerate() {
                if let (Some(p), false) = (p, a.is_null(i))
                    && let Some(cell) = column.get_mut(*p)
                {
                    let v = a.value(i);
                    *cell = if v.is_finite() { v } else { f64::NAN };
                }
            }
        }
    }
    Ok(())
}

/// A year brought forward by the rows of one commit: the rows are added
/// to the year's history and the key figures of its current rows
/// computed again.
pub(crate) async fn year_with_rows(
    domain: &Domain,
    previous: Option<&YearData>,
    rows: Vec<StoredRow>,
    noise: Option<&Noise>,
) -> Result<YearData, EngineError> {
    let mut history: Vec<Arc<StoredRow>> = previous.map(|p| p.history.clone()).unwrap_or_default();
    history.extend(rows.into_iter().map(Arc::new));
    year_of_rows(domain, history, noise).await
}

/// The stored rows of a batch as the lake holds them, by year.
pub(crate) fn rows_by_year(
    domain: &Domain,
    batch: &RecordBatch,
) -> Result<BTreeMap<i32, Vec<StoredRow>>, EngineError> {
    let mut rows = Vec::new();
    read_history(domain, batch, &mut rows)?;
    let mut out: BTreeMap<i32, Vec<StoredRow>> = BTreeMap::new();
    for r in rows {
        out.entry(r.year).or_default().push(r);
    }
    Ok(out)
}

/// The `basic` table of the key-figure SQL: member_id, year and the basic
/// figures of the given rows, each multiplied by its member's multiplier
/// when `noise` is given.
fn basic_batch(
    domain: &Domain,
    rows: &[&StoredRow],
    noise: Option<&Noise>,
) -> Result<RecordBatch, EngineError> {
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
    let multipliers: Option<Vec<Vec<f64>>> = noise.map(|n| {
        rows.iter()
            .map(|r| n.multipliers(domain, &r.member_id))
            .collect()
    });
    for (i, f) in domain.basic_figures.iter().enumerate() {
        fields.push(Field::new(&f.id, DataType::Float64, true));
        // The stored numbers with NaN for none, and a validity bitmap:
        // building the array from options is several times slower.
        let values: Vec<f64> = match &multipliers {
            None => rows.iter().map(|r| r.basic.raw(i)).collect(),
            Some(m) => rows
                .iter()
                .zip(m)
                .map(|(r, m)| r.basic.raw(i) * m.get(i).copied().unwrap_or(1.0))
                .collect(),
        };
        let valid = arrow::buffer::NullBuffer::from_iter(values.iter().map(|v| !v.is_nan()));
        columns.push(Arc::new(Float64Array::new(values.into(), Some(valid))));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
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

/// The `submitted_at` column as RFC 3339 strings.
fn timestamps(b: &RecordBatch) -> Result<Vec<String>, EngineError> {
    let at = column(b, "submitted_at")?;
    let at = at
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| EngineError::Internal("submitted_at is not a timestamp".into()))?;
    Ok((0..at.len())
        .map(|i| {
            chrono::DateTime::from_timestamp_micros(at.value(i))
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                .unwrap_or_default()
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
    let at = timestamps(b)?;
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
                let m = Arc::new(SubmissionMeta {
                    version,
                    submission_id: ids[i].clone(),
                    submitted_at: at[i].clone(),
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
