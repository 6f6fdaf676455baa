//! Tabular answers: comparisons as an Arrow batch, and any batches as JSON
//! (`{"columns", "rows"}`), CSV, Arrow IPC stream or Parquet.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use serde_json::Value;

use crate::error::EngineError;
use crate::out::compare::Comparison;

/// An answer format for tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// `application/json`: `{"columns": [...], "rows": [[...]]}`.
    Json,
    /// `text/csv`.
    Csv,
    /// `application/vnd.apache.arrow.stream`.
    ArrowIpc,
    /// `application/vnd.apache.parquet`.
    Parquet,
}

impl TableFormat {
    /// The content type of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            TableFormat::Json => "application/json",
            TableFormat::Csv => "text/csv; charset=utf-8",
            TableFormat::ArrowIpc => "application/vnd.apache.arrow.stream",
            TableFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// The noise flags' columns of every comparison row.
pub const NOISE_COLUMNS: [&str; 4] = [
    "noise_mean",
    "noise_weighted",
    "noise_quantiles",
    "noise_std_dev",
];

/// The columns of the disclosed statistics (the `comparisons` table of the
/// analysts' SQL), optionally followed by the requester's own position,
/// and the publication they come from.
pub fn comparison_schema(with_own: bool, with_publication: bool) -> SchemaRef {
    let mut fields = vec![
        Field::new("domain", DataType::Utf8, false),
        Field::new("year", DataType::Int32, false),
        Field::new("figure", DataType::Utf8, false),
        Field::new("group_by", DataType::Utf8, false),
        Field::new("group", DataType::Utf8, false),
        Field::new("n", DataType::UInt64, false),
        Field::new("suppressed", DataType::Boolean, false),
    ];
    for s in [
        "mean", "median", "p25", "p75", "p10", "p90", "std_dev", "weighted",
    ] {
        fields.push(Field::new(s, DataType::Float64, true));
    }
    if with_own {
        fields.push(Field::new("reason", DataType::Utf8, true));
        fields.push(Field::new("own_member_id", DataType::Utf8, true));
        fields.push(Field::new("own_value", DataType::Float64, true));
        fields.push(Field::new("own_rank", DataType::UInt64, true));
        fields.push(Field::new("own_percentile_rank", DataType::Float64, true));
    }
    // Rule 9: every row names the publication it comes from.
    if with_publication {
        fields.push(Field::new("publication", DataType::Utf8, true));
        fields.push(Field::new("published_at", DataType::Utf8, true));
    }
    // Rule 17: the noise flags (`low`, `moderate`, `high`; null where
    // nothing was perturbed), at the end so that earlier columns keep
    // their places.
    for f in NOISE_COLUMNS {
        fields.push(Field::new(f, DataType::Utf8, true));
    }
    if with_own {
        fields.push(Field::new("noise_position", DataType::Utf8, true));
        fields.push(Field::new("own_quintile", DataType::UInt64, true));
    }
    Arc::new(Schema::new(fields))
}

/// One group of one comparison: a row of the batch.
type Row<'c> = (&'c Comparison, &'c crate::out::compare::GroupResult);

/// The columns of a single answer's own position: the suppression's
/// reason, the member, its value, rank and percentile rank.
fn own_columns(rows: &[Row<'_>]) -> [ArrayRef; 5] {
    [
        Arc::new(StringArray::from(
            rows.iter().map(|(_, g)| g.reason).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|(_, g)| g.own.as_ref().map(|o| o.member_id.clone()))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter()
                .map(|(_, g)| g.own.as_ref().and_then(|o| o.value))
                .collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(
            rows.iter()
                .map(|(_, g)| g.own.as_ref().and_then(|o| o.rank).map(|r| r as u64))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter()
                .map(|(_, g)| g.own.as_ref().and_then(|o| o.percentile_rank))
                .collect::<Vec<_>>(),
        )),
    ]
}

/// The columns naming the publication a row comes from: its id and when
/// it was made.
fn publication_columns(rows: &[Row<'_>]) -> [ArrayRef; 2] {
    [
        Arc::new(StringArray::from(
            rows.iter()
                .map(|(c, _)| c.publication.as_ref().map(|p| p.id.clone()))
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|(c, _)| c.publication.as_ref().map(|p| p.published_at.clone()))
                .collect::<Vec<_>>(),
        )),
    ]
}

/// Comparisons as one batch, one row per group. The analysts' table
/// (without own positions) always names publications; a single answer does
/// when it comes from one (admin's live answers keep their columns).
pub fn comparisons_batch(
    comparisons: &[Comparison],
    with_own: bool,
) -> Result<RecordBatch, EngineError> {
    let rows: Vec<Row<'_>> = comparisons
        .iter()
        .flat_map(|c| c.groups.iter().map(move |g| (c, g)))
        .collect();
    let text = |f: &dyn Fn(&Row<'_>) -> String| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let stat =
        |f: &dyn Fn(&crate::disclose::disclosure::DisclosedStats) -> Option<f64>| -> ArrayRef {
            Arc::new(Float64Array::from(
                rows.iter()
                    .map(|(_, g)| g.stats.as_ref().and_then(f))
                    .collect::<Vec<_>>(),
            ))
        };
    let mut columns: Vec<ArrayRef> = vec![
        text(&|(c, _)| c.domain.clone()),
        Arc::new(Int32Array::from(
            rows.iter().map(|(c, _)| c.year).collect::<Vec<_>>(),
        )),
        text(&|(c, _)| c.figure.clone()),
        text(&|(c, _)| c.group_by.clone()),
        text(&|(_, g)| g.group.clone()),
        Arc::new(UInt64Array::from(
            rows.iter().map(|(_, g)| g.n as u64).collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            rows.iter().map(|(_, g)| g.suppressed).collect::<Vec<_>>(),
        )),
        stat(&|s| s.mean),
        stat(&|s| s.median),
        stat(&|s| s.p25),
        stat(&|s| s.p75),
        stat(&|s| s.p10),
        stat(&|s| s.p90),
        stat(&|s| s.std_dev),
        stat(&|s| s.weighted),
    ];
    if with_own {
        columns.extend(own_columns(&rows));
    }
    let with_publication = !with_own || comparisons.iter().any(|c| c.publication.is_some());
    if with_publication {
        columns.extend(publication_columns(&rows));
    }
    type FlagOf =
        dyn Fn(&crate::disclose::noise::NoiseFlags) -> Option<crate::disclose::noise::Flag>;
    let flag = |f: &FlagOf| -> ArrayRef {
        Arc::new(StringArray::from(
            rows.iter()
                .map(|(_, g)| g.noise.as_ref().and_then(f).map(|x| x.code()))
                .collect::<Vec<_>>(),
        ))
    };
    columns.push(flag(&|n| Some(n.mean)));
    columns.push(flag(&|n| n.weighted));
    columns.push(flag(&|n| Some(n.quantiles)));
    columns.push(flag(&|n| Some(n.std_dev)));
    if with_own {
        columns.push(flag(&|n| Some(n.position)));
        columns.push(Arc::new(UInt64Array::from(
            rows.iter()
                .map(|(_, g)| g.own.as_ref().and_then(|o| o.quintile).map(u64::from))
                .collect::<Vec<_>>(),
        )));
    }
    Ok(RecordBatch::try_new(
        comparison_schema(with_own, with_publication),
        columns,
    )?)
}

/// Encodes batches in a format.
pub fn encode(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: TableFormat,
) -> Result<Bytes, EngineError> {
    let internal =
        |e: &dyn std::fmt::Display| EngineError::Internal(format!("encoding the answer: {e}"));
    match format {
        TableFormat::Json => {
            let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
            let mut rows: Vec<Value> = Vec::new();
            for b in batches {
                let mut w = arrow::json::ArrayWriter::new(Vec::new());
                w.write(b)?;
                w.finish()?;
                let objects: Vec<serde_json::Map<String, Value>> =
                    serde_json::from_slice(&w.into_inner()).map_err(|e| internal(&e))?;
                for o in objects {
                    rows.push(Value::Array(
                        columns
                            .iter()
                            .map(|c| o.get(c).cloned().unwrap_or(Value::Null))
                            .collect(),
                    ));
                }
            }
            let body = serde_json::json!({"columns": columns, "rows": rows});
            Ok(Bytes::from(
                serde_json::to_vec(&body).map_err(|e| internal(&e))?,
            ))
        }
        TableFormat::Csv => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut buf);
                if batches.is_empty() {
                    w.write(&RecordBatch::new_empty(schema.clone()))?;
                }
                for b in batches {
                    w.write(b)?;
                }
            }
            Ok(Bytes::from(buf))
        }
        TableFormat::ArrowIpc => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut buf, schema)?;
                for b in batches {
                    w.write(b)?;
                }
                w.finish()?;
            }
            Ok(Bytes::from(buf))
        }
        TableFormat::Parquet => {
            let mut buf = Vec::new();
            {
                let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema.clone(), None)
                    .map_err(|e| internal(&e))?;
                for b in batches {
                    w.write(b).map_err(|e| internal(&e))?;
                }
                w.close().map_err(|e| internal(&e))?;
            }
            Ok(Bytes::from(buf))
        }
    }
}
