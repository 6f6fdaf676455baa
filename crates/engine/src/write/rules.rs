//! Plausibility rules of a domain, evaluated by DataFusion on uploaded rows,
//! and year-over-year rules against the previous year's current figures.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use serde::Serialize;
use vergleichsring_catalog::numbers::{de_exact, de_number};
use vergleichsring_catalog::{Domain, Level};
use vergleichsring_ingest::Upload;

use crate::error::EngineError;
use crate::read::snapshot::Snapshot;
use crate::sandbox::session::context_with;

/// A violated rule on one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// 1-based row in the file.
    pub row: u32,
    /// The member.
    pub member_id: String,
    /// The rule id.
    pub rule: String,
    /// Error or warning.
    #[serde(skip)]
    pub level: Level,
    /// The figures the rule reads, comma-separated.
    pub figure: String,
    /// English message with the values involved.
    pub message: String,
    /// German message with the values involved.
    pub message_de: String,
}

/// The upload as a batch with the table's column names, plus `__row`.
pub(crate) fn upload_batch(
    domain: &Domain,
    year: i32,
    upload: &Upload,
) -> Result<RecordBatch, EngineError> {
    let mut fields = vec![
        Field::new("__row", DataType::Int32, false),
        Field::new("member_id", DataType::Utf8, false),
        Field::new("year", DataType::Int32, false),
    ];
    let rows = &upload.rows;
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(
            rows.iter().map(|r| r.row as i32).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|r| r.member_id.as_str())
                .collect::<Vec<_>>(),
        )),
        Arc::new(Int32Array::from(vec![year; rows.len()])),
    ];
    for (i, f) in domain.basic_figures.iter().enumerate() {
        fields.push(Field::new(&f.id, DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from(
            rows.iter()
                .map(|r| r.values.get(i).copied().flatten())
                .collect::<Vec<_>>(),
        )));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// The basic figures a rule's check mentions, in catalogue order.
fn figures_of(domain: &Domain, check: &str) -> Vec<String> {
    let words: Vec<&str> = check
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    // In the order the check names them, which is how people read the rule.
    let mut found: Vec<String> = Vec::new();
    for w in words {
        if domain.basic_figure(w).is_some() && !found.iter().any(|f| f == w) {
            found.push(w.to_string());
        }
    }
    found
}

/// A value in an English message, as typed.
fn fmt(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Evaluates the domain's cross-field rules on every row of the upload.
pub async fn evaluate(
    domain: &Domain,
    year: i32,
    upload: &Upload,
) -> Result<Vec<Finding>, EngineError> {
    if domain.rules.is_empty() || upload.rows.is_empty() {
        return Ok(Vec::new());
    }
    let batch = upload_batch(domain, year, upload)?;
    let checks: Vec<String> = domain
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| format!("CAST(({}) AS BOOLEAN) AS r{i}", r.check))
        .collect();
    let sql = format!(
        "SELECT __row, {} FROM basic ORDER BY __row",
        checks.join(", ")
    );
    let batches = crate::sandbox::session::query_batch("basic", batch, sql).await?;
    let mut findings = Vec::new();
    let by_row: std::collections::HashMap<u32, &vergleichsring_ingest::UploadRow> =
        upload.rows.iter().map(|r| (r.row, r)).collect();
    for b in &batches {
        let rows = b.column(0).as_primitive::<arrow::datatypes::Int32Type>();
        for (i, rule) in domain.rules.iter().enumerate() {
            // A rule of other years (issue 29) checks nothing now.
            if !rule.applies_in(year) {
                continue;
            }
            let col = b.column(i + 1).as_boolean();
            for r in 0..b.num_rows() {
                // NULL means an input was not reported: the rule does not apply.
                if col.is_null(r) || col.value(r) {
                    continue;
                }
                let row = rows.value(r) as u32;
                let Some(up) = by_row.get(&row) else { continue };
                let figures = figures_of(domain, &rule.check);
                let values = |number: fn(f64) -> String, empty: &str| -> Vec<String> {
                    figures
                        .iter()
                        .filter_map(|f| {
                            let idx = domain.basic_figures.iter().position(|g| &g.id == f)?;
                            Some(format!(
                                "{f} = {}",
                                up.values[idx].map_or_else(|| empty.to_string(), number)
                            ))
                        })
                        .collect()
                };
                findings.push(Finding {
                    row,
                    member_id: up.member_id.clone(),
                    rule: rule.id.clone(),
                    level: rule.level,
                    figure: figures.join(","),
                    message: format!("{} ({})", rule.message_en, values(fmt, "empty").join(", ")),
                    message_de: format!(
                        "{} ({})",
                        rule.message_de,
                        values(de_exact, "leer").join("; ")
                    ),
                });
            }
        }
    }
    Ok(findings)
}

/// Compares every row with the member's current figures of the previous
/// year, except where the figure's definition changed between the two.
pub fn year_over_year(
    domain: &Domain,
    year: i32,
    upload: &Upload,
    snapshot: &Snapshot,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for up in &upload.rows {
        let Some(prev) = snapshot.current_row(year - 1, &up.member_id) else {
            continue;
        };
        for rule in &domain.yoy_rules {
            let Some(idx) = domain
                .basic_figures
                .iter()
                .position(|f| f.id == rule.figure)
            else {
                continue;
            };
            // Across a change of definition the two years count different
            // things: no warning about the difference.
            if !rule.applies_in(year) || domain.figure_breaks(&domain.basic_figures[idx], year) {
                continue;
            }
            let (Some(old), Some(new)) = (prev.basic.get(idx), up.values[idx]) else {
                continue;
            };
            if old <= 0.0 {
                continue;
            }
            let change = (new - old) / old;
            if change.abs() > rule.max_change {
                let pct = |x: f64| format!("{:+.1} %", 100.0 * x);
                findings.push(Finding {
                    row: up.row,
                    member_id: up.member_id.clone(),
                    rule: rule.id.clone(),
                    level: rule.level,
                    figure: rule.figure.clone(),
                    message: format!(
                        "{} changed by {} against {} (from {} to {}); more than ±{:.0} % is unusual",
                        rule.figure,
                        pct(change),
                        year - 1,
                        fmt(old),
                        fmt(new),
                        100.0 * rule.max_change
                    ),
                    // German readers get the figure's label and decimal
                    // commas.
                    message_de: format!(
                        "{} hat sich gegenüber {} um {}{} % verändert (von {} auf {}); mehr als ±{:.0} % ist ungewöhnlich",
                        domain.basic_figures[idx].label,
                        year - 1,
                        if change > 0.0 { "+" } else { "" },
                        de_number(100.0 * change, 1),
                        de_exact(old),
                        de_exact(new),
                        100.0 * rule.max_change
                    ),
                });
            }
        }
    }
    findings
}

/// Plans the domain's rules and key-figure SQL on an empty table, so that a
/// broken catalogue is refused at start-up and not on the first upload.
pub async fn check_domain(domain: &Domain) -> Result<(), EngineError> {
    let empty = Upload { rows: Vec::new() };
    let batch = upload_batch(domain, 2000, &empty)?;
    let ctx = context_with("basic", batch)?;
    for rule in &domain.rules {
        ctx.sql(&format!(
            "SELECT CAST(({}) AS BOOLEAN) FROM basic",
            rule.check
        ))
        .await
        .map_err(|e| {
            EngineError::Catalog(format!("domain {}: rule {}: {e}", domain.id, rule.id))
        })?;
    }
    let df = ctx
        .sql(&domain.query)
        .await
        .map_err(|e| EngineError::Catalog(format!("domain {}: key-figure SQL: {e}", domain.id)))?;
    let schema = df.schema().clone();
    for col in ["member_id", "year"] {
        if schema.field_with_unqualified_name(col).is_err() {
            return Err(EngineError::Catalog(format!(
                "domain {}: key-figure SQL must return column {col}",
                domain.id
            )));
        }
    }
    for k in &domain.key_figures {
        for col in [
            k.id.clone(),
            format!("{}__num", k.id),
            format!("{}__den", k.id),
        ] {
            if schema.field_with_unqualified_name(&col).is_err() {
                return Err(EngineError::Catalog(format!(
                    "domain {}: key-figure SQL must return column {col}",
                    domain.id
                )));
            }
        }
    }
    Ok(())
}
