//! The built-in checks: columns, types, member ids, and every cell.

use std::collections::HashMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use vergleichsring_catalog::{Domain, validate_member_id};

use crate::table::Decoded;
use crate::{IngestError, MAX_ERRORS, RowError};

/// Who submits, which decides how member ids are checked.
pub struct Submitter<'a> {
    /// For a member token: its own member id. Rows may omit `member_id` and
    /// must not name another member. `None` for an admin bulk upload.
    pub own_member: Option<&'a str>,
    /// Whether a member id is registered.
    pub is_registered: &'a dyn Fn(&str) -> bool,
}

/// One validated row.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRow {
    /// 1-based data row in the file.
    pub row: u32,
    /// The member.
    pub member_id: String,
    /// The basic figures in catalogue order.
    pub values: Vec<Option<f64>>,
}

/// A validated upload: every row passed the built-in checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    /// The rows in file order.
    pub rows: Vec<UploadRow>,
}

struct Errors(Vec<RowError>);

impl Errors {
    fn push(&mut self, e: RowError) {
        if self.0.len() < MAX_ERRORS {
            self.0.push(e);
        } else if self.0.len() == MAX_ERRORS {
            self.0.push(RowError::file(
                "too_many_errors",
                format!("more than {MAX_ERRORS} errors; the rest are not listed"),
            ));
        }
    }
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Null)
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
        || matches!(t, DataType::Dictionary(_, v) if is_text(v))
}

fn column_error(column: &str, rule: &str, message: String) -> RowError {
    RowError {
        row: None,
        member_id: None,
        column: Some(column.to_string()),
        rule: rule.to_string(),
        message,
    }
}

/// Maps the batch onto the domain's basic figures and checks every cell.
pub fn validate(
    decoded: &Decoded,
    domain: &Domain,
    year: i32,
    submitter: &Submitter<'_>,
) -> Result<Upload, IngestError> {
    let batch: &RecordBatch = &decoded.batch;
    let mut errors = Errors(Vec::new());
    let n = batch.num_rows();
    if n == 0 {
        return Err(IngestError::Rejected(vec![RowError::file(
            "empty_upload",
            "the file contains no data rows",
        )]));
    }
    let schema = batch.schema();
    let mut member_col: Option<Vec<Option<String>>> = None;
    let mut figure_cols: Vec<Option<Vec<Option<f64>>>> = vec![None; domain.basic_figures.len()];
    for (i, field) in schema.fields().iter().enumerate() {
        let name = field.name().as_str();
        let col = batch.column(i);
        if name.trim() == "member_id" {
            if !is_text(field.data_type()) {
                errors.push(column_error(
                    name,
                    "wrong_type",
                    format!(
                        "column member_id has type {}; write it as text so that leading zeros of the regional key are kept (e.g. \"05315000\")",
                        field.data_type()
                    ),
                ));
                continue;
            }
            match cast(col, &DataType::Utf8) {
                Ok(c) => {
                    let s = c.as_string::<i32>();
                    member_col = Some(
                        (0..n)
                            .map(|r| (!s.is_null(r)).then(|| s.value(r).trim().to_string()))
                            .collect(),
                    );
                }
                Err(e) => errors.push(column_error(
                    name,
                    "wrong_type",
                    format!("column member_id cannot be read as text: {e}"),
                )),
            }
            continue;
        }
        if name.trim() == "year" {
            match cast(col, &DataType::Int64) {
                Ok(c) if is_numeric(field.data_type()) => {
                    let ys = c.as_primitive::<Int64Type>();
                    for r in 0..n {
                        if !ys.is_null(r) && ys.value(r) != i64::from(year) {
                            errors.push(RowError {
                                row: Some(r as u32 + 1),
                                member_id: None,
                                column: Some("year".into()),
                                rule: "year_mismatch".into(),
                                message: format!(
                                    "the row is for year {}, but the upload goes to year {year}",
                                    ys.value(r)
                                ),
                            });
                        }
                    }
                }
                _ => errors.push(column_error(
                    name,
                    "wrong_type",
                    format!(
                        "column year has type {}; it must be a whole number",
                        field.data_type()
                    ),
                )),
            }
            continue;
        }
        let Some(idx) = domain
            .basic_figure_by_header(name)
            .and_then(|f| domain.basic_figures.iter().position(|g| g.id == f.id))
        else {
            errors.push(column_error(
                name,
                "unknown_column",
                format!(
                    "column '{name}' is not a basic figure of domain {}; the columns are member_id and the figure ids listed in GET /api/v1/catalog",
                    domain.id
                ),
            ));
            continue;
        };
        let fig = &domain.basic_figures[idx];
        if figure_cols[idx].is_some() {
            errors.push(column_error(
                name,
                "duplicate_column",
                format!("figure {} appears in more than one column", fig.id),
            ));
            continue;
        }
        if !is_numeric(field.data_type()) {
            errors.push(column_error(
                &fig.id,
                "wrong_type",
                format!(
                    "column {} has type {}; basic figures must be numbers (integer, float or decimal)",
                    fig.id,
                    field.data_type()
                ),
            ));
            continue;
        }
        match cast(col, &DataType::Float64) {
            Ok(c) => {
                let v = c.as_primitive::<Float64Type>();
                figure_cols[idx] = Some(
                    (0..n)
                        .map(|r| (!v.is_null(r)).then(|| v.value(r)))
                        .collect(),
                );
            }
            Err(e) => errors.push(column_error(
                &fig.id,
                "wrong_type",
                format!("column {} cannot be read as numbers: {e}", fig.id),
            )),
        }
    }
    for (idx, fig) in domain.basic_figures.iter().enumerate() {
        if fig.required
            && figure_cols[idx].is_none()
            && !errors
                .0
                .iter()
                .any(|e| e.column.as_deref() == Some(fig.id.as_str()))
        {
            errors.push(column_error(
                &fig.id,
                "missing_column",
                format!(
                    "the required basic figure {} ({}) is missing as a column",
                    fig.id, fig.label
                ),
            ));
        }
    }
    if member_col.is_none()
        && submitter.own_member.is_none()
        && !errors
            .0
            .iter()
            .any(|e| e.column.as_deref() == Some("member_id"))
    {
        errors.push(column_error(
            "member_id",
            "missing_member_id",
            "the column member_id is missing; a bulk upload must name the member of every row"
                .into(),
        ));
    }

    // Cells that were not numbers, for the columns that are figures (an
    // unknown column is reported once above, not per cell).
    for e in &decoded.cell_errors {
        let column = e.column.as_deref().unwrap_or("");
        let figure = if column == "year" {
            Some("year".to_string())
        } else {
            domain.basic_figure_by_header(column).map(|f| f.id.clone())
        };
        if let Some(figure) = figure {
            let member_id = e.row.and_then(|r| {
                member_col
                    .as_ref()
                    .and_then(|c| c.get(r as usize - 1).cloned().flatten())
                    .or_else(|| submitter.own_member.map(str::to_string))
            });
            errors.push(RowError {
                member_id,
                column: Some(figure),
                ..e.clone()
            });
        }
    }

    let mut rows = Vec::with_capacity(n);
    let mut seen: HashMap<String, u32> = HashMap::new();
    for r in 0..n {
        let row = r as u32 + 1;
        let given = member_col.as_ref().map(|c| c[r].clone());
        let member_id = match (given, submitter.own_member) {
            (Some(Some(id)), _) if !id.is_empty() => id,
            (None, Some(own)) => own.to_string(),
            (Some(_), _) => {
                errors.push(RowError {
                    row: Some(row),
                    member_id: None,
                    column: Some("member_id".into()),
                    rule: "missing_member_id".into(),
                    message: "the member_id of this row is empty".into(),
                });
                continue;
            }
            (None, None) => continue,
        };
        let err = |rule: &str, column: Option<&str>, message: String| RowError {
            row: Some(row),
            member_id: Some(member_id.clone()),
            column: column.map(str::to_string),
            rule: rule.to_string(),
            message,
        };
        let mut ok = true;
        if let Err(mut m) = validate_member_id(&member_id, None) {
            if member_id.bytes().all(|b| b.is_ascii_digit()) && matches!(member_id.len(), 4 | 7) {
                m.push_str(&format!(
                    "; it looks like a leading zero was lost (did you mean 0{member_id}?): format the column as text in Excel"
                ));
            }
            errors.push(err("invalid_member_id", Some("member_id"), m));
            ok = false;
        } else if let Some(own) = submitter.own_member {
            if own != member_id {
                errors.push(err(
                    "foreign_member",
                    Some("member_id"),
                    format!("your token belongs to member {own}; it cannot submit figures of member {member_id}"),
                ));
                ok = false;
            }
        } else if !(submitter.is_registered)(&member_id) {
            errors.push(err(
                "unregistered_member",
                Some("member_id"),
                format!("member {member_id} is not registered; register it with POST /api/v1/members first"),
            ));
            ok = false;
        }
        if let Some(first) = seen.get(&member_id) {
            errors.push(err(
                "duplicate_member",
                Some("member_id"),
                format!("member {member_id} already has row {first}; submit one row per member"),
            ));
            ok = false;
        } else {
            seen.insert(member_id.clone(), row);
        }
        let mut values = Vec::with_capacity(domain.basic_figures.len());
        for (idx, fig) in domain.basic_figures.iter().enumerate() {
            let v = figure_cols[idx].as_ref().and_then(|c| c[r]);
            match v {
                Some(x) if !x.is_finite() => {
                    errors.push(err(
                        "not_finite",
                        Some(&fig.id),
                        format!("{} is {x}; only finite numbers are accepted", fig.id),
                    ));
                    ok = false;
                }
                Some(x) if x < 0.0 => {
                    errors.push(err(
                        "negative",
                        Some(&fig.id),
                        format!("{} is {x}; basic figures cannot be negative", fig.id),
                    ));
                    ok = false;
                }
                None if fig.required && figure_cols[idx].is_some() => {
                    errors.push(err(
                        "required_missing",
                        Some(&fig.id),
                        format!("{} ({}) is required but empty", fig.id, fig.label),
                    ));
                    ok = false;
                }
                _ => {}
            }
            // Negative zero is stored as zero so that it compares and prints as 0.
            values.push(v.map(|x| if x == 0.0 { 0.0 } else { x }));
        }
        if ok {
            rows.push(UploadRow {
                row,
                member_id,
                values,
            });
        }
    }
    if errors.0.is_empty() {
        Ok(Upload { rows })
    } else {
        Err(IngestError::Rejected(errors.0))
    }
}

#[cfg(test)]
mod tests;
