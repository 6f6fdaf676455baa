//! The built-in checks of an upload, in the order they run: the columns are
//! mapped onto the domain's basic figures ([`map_columns`]), missing columns
//! are reported ([`check_missing_columns`]), the cells the decoder could not
//! read get their member ([`report_cell_errors`]), and then every row is
//! checked: its member ([`row_member`], [`check_member`],
//! [`check_duplicate`]) and its figures ([`check_figures`]). The order of
//! the stages is the order of the errors a client sees.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type};
use vergleichsring_catalog::{BasicFigure, Domain, validate_member_id};

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

/// Maps the batch onto the domain's basic figures and checks every cell.
///
/// The stages run in this order and each appends its errors, so a client
/// sees them in stage order: the header (with a `year` cell that names
/// another year), missing columns, unreadable cells, then row by row.
pub fn validate(
    decoded: &Decoded,
    domain: &Domain,
    year: i32,
    submitter: &Submitter<'_>,
) -> Result<Upload, IngestError> {
    let batch = &decoded.batch;
    if batch.num_rows() == 0 {
        return Err(IngestError::Rejected(vec![RowError::file(
            "empty_upload",
            "the file contains no data rows",
        )]));
    }
    // Messages name each figure as the catalogue of the year does.
    let domain = &domain.described_in(year);
    let mut errors = Errors(Vec::new());
    let columns = map_columns(batch, domain, year, &mut errors);
    check_missing_columns(domain, year, &columns, submitter, &mut errors);
    report_cell_errors(
        &decoded.cell_errors,
        domain,
        &columns,
        submitter,
        &mut errors,
    );
    let rows = check_rows(
        batch.num_rows(),
        domain,
        year,
        &columns,
        submitter,
        &mut errors,
    );
    if errors.0.is_empty() {
        Ok(Upload { rows })
    } else {
        Err(IngestError::Rejected(errors.0))
    }
}

/// The errors found so far, cut after [`MAX_ERRORS`].
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

    /// Whether an error names this column already, so that a column is not
    /// reported as missing after it was reported as unreadable.
    fn names_column(&self, column: &str) -> bool {
        self.0.iter().any(|e| e.column.as_deref() == Some(column))
    }
}

/// The cells of one figure column, in row order.
type FigureCells = Vec<Option<f64>>;

/// The upload's columns, mapped onto the domain.
struct Columns {
    /// The trimmed member ids, when the file has a readable `member_id` column.
    member: Option<Vec<Option<String>>>,
    /// For each basic figure in catalogue order, its cells when the file has
    /// a readable column for it.
    figures: Vec<Option<FigureCells>>,
}

impl Columns {
    /// The member id the file gives for 1-based `row`, if any.
    fn member_of(&self, row: u32) -> Option<String> {
        let column = self.member.as_ref()?;
        column
            .get((row as usize).checked_sub(1)?)
            .cloned()
            .flatten()
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

/// Stage 1, the header: each column is the member id, the year, or a basic
/// figure by its id or German label; anything else is reported. Columns of
/// the wrong type are reported once here, not per cell.
fn map_columns(batch: &RecordBatch, domain: &Domain, year: i32, errors: &mut Errors) -> Columns {
    let mut columns = Columns {
        member: None,
        figures: vec![None; domain.basic_figures.len()],
    };
    let schema = batch.schema();
    for (field, col) in schema.fields().iter().zip(batch.columns()) {
        match field.name().trim() {
            "member_id" => {
                if let Some(ids) = read_member_ids(field, col, errors) {
                    columns.member = Some(ids);
                }
            }
            "year" => check_years(field, col, year, errors),
            _ => {
                if let Some((idx, cells)) = read_figure(field, col, domain, &columns, errors) {
                    columns.figures[idx] = Some(cells);
                }
            }
        }
    }
    columns
}

/// The `member_id` column as trimmed text. It must be a text column: a
/// number column has already lost the leading zeros of the regional key.
fn read_member_ids(
    field: &Field,
    col: &ArrayRef,
    errors: &mut Errors,
) -> Option<Vec<Option<String>>> {
    let name = field.name();
    if !is_text(field.data_type()) {
        errors.push(column_error(
            name,
            "wrong_type",
            format!(
                "column member_id has type {}; write it as text so that leading zeros of the regional key are kept (e.g. \"05315000\")",
                field.data_type()
            ),
        ));
        return None;
    }
    match cast(col, &DataType::Utf8) {
        Ok(c) => {
            let s = c.as_string::<i32>();
            Some(
                (0..s.len())
                    .map(|r| (!s.is_null(r)).then(|| s.value(r).trim().to_string()))
                    .collect(),
            )
        }
        Err(e) => {
            errors.push(column_error(
                name,
                "wrong_type",
                format!("column member_id cannot be read as text: {e}"),
            ));
            None
        }
    }
}

/// A `year` column is optional; where a row gives one, it must be the year
/// the upload goes to.
fn check_years(field: &Field, col: &ArrayRef, year: i32, errors: &mut Errors) {
    match cast(col, &DataType::Int64) {
        Ok(c) if is_numeric(field.data_type()) => {
            let ys = c.as_primitive::<Int64Type>();
            for r in 0..ys.len() {
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
            field.name(),
            "wrong_type",
            format!(
                "column year has type {}; it must be a whole number",
                field.data_type()
            ),
        )),
    }
}

/// A basic figure's column as numbers, with the figure's position in the
/// catalogue; `None` with the error recorded when the column names no
/// figure, names one a second time, or is not numeric.
fn read_figure(
    field: &Field,
    col: &ArrayRef,
    domain: &Domain,
    columns: &Columns,
    errors: &mut Errors,
) -> Option<(usize, FigureCells)> {
    let name = field.name().as_str();
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
        return None;
    };
    let fig = &domain.basic_figures[idx];
    if columns.figures[idx].is_some() {
        errors.push(column_error(
            name,
            "duplicate_column",
            format!("figure {} appears in more than one column", fig.id),
        ));
        return None;
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
        return None;
    }
    match cast(col, &DataType::Float64) {
        Ok(c) => {
            let v = c.as_primitive::<Float64Type>();
            let cells = (0..v.len())
                .map(|r| (!v.is_null(r)).then(|| v.value(r)))
                .collect();
            Some((idx, cells))
        }
        Err(e) => {
            errors.push(column_error(
                &fig.id,
                "wrong_type",
                format!("column {} cannot be read as numbers: {e}", fig.id),
            ));
            None
        }
    }
}

/// Stage 2: the required figures without a column, and the `member_id`
/// column when a bulk upload has none. A column already reported (say for
/// its type) is not reported again as missing.
fn check_missing_columns(
    domain: &Domain,
    year: i32,
    columns: &Columns,
    submitter: &Submitter<'_>,
    errors: &mut Errors,
) {
    for (idx, fig) in domain.basic_figures.iter().enumerate() {
        if fig.required
            && fig.asked_in(year)
            && columns.figures[idx].is_none()
            && !errors.names_column(&fig.id)
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
    if columns.member.is_none()
        && submitter.own_member.is_none()
        && !errors.names_column("member_id")
    {
        errors.push(column_error(
            "member_id",
            "missing_member_id",
            "the column member_id is missing; a bulk upload must name the member of every row"
                .into(),
        ));
    }
}

/// Stage 3: the cells the decoder could not read as numbers, for the
/// columns that are figures (an unknown column was reported once in stage
/// 1, not per cell), with the row's member filled in.
fn report_cell_errors(
    cell_errors: &[RowError],
    domain: &Domain,
    columns: &Columns,
    submitter: &Submitter<'_>,
    errors: &mut Errors,
) {
    for e in cell_errors {
        let column = e.column.as_deref().unwrap_or("");
        let figure = if column == "year" {
            Some("year".to_string())
        } else {
            domain.basic_figure_by_header(column).map(|f| f.id.clone())
        };
        if let Some(figure) = figure {
            let member_id = e.row.and_then(|r| {
                columns
                    .member_of(r)
                    .or_else(|| submitter.own_member.map(str::to_string))
            });
            errors.push(RowError {
                member_id,
                column: Some(figure),
                ..e.clone()
            });
        }
    }
}

/// Stage 4: every row in file order, its member and then its figures. The
/// rows that pass every check are returned; a row with an error is left
/// out (and the upload refused).
fn check_rows(
    n: usize,
    domain: &Domain,
    year: i32,
    columns: &Columns,
    submitter: &Submitter<'_>,
    errors: &mut Errors,
) -> Vec<UploadRow> {
    let mut rows = Vec::with_capacity(n);
    let mut seen: HashMap<String, u32> = HashMap::new();
    for r in 0..n {
        let row = r as u32 + 1;
        let Some(member_id) = row_member(columns, row, submitter, errors) else {
            continue;
        };
        let at = At {
            row,
            member_id: &member_id,
        };
        // Every check runs, so that one upload reports all of a row's errors.
        let member_ok = check_member(&at, submitter, errors);
        let unique = check_duplicate(&at, &mut seen, errors);
        let (values, figures_ok) = check_figures(&at, r, domain, year, columns, errors);
        if member_ok && unique && figures_ok {
            rows.push(UploadRow {
                row,
                member_id,
                values,
            });
        }
    }
    rows
}

/// Where a row's error is: the row and its member.
struct At<'a> {
    row: u32,
    member_id: &'a str,
}

impl At<'_> {
    fn error(&self, rule: &str, column: &str, message: String) -> RowError {
        RowError {
            row: Some(self.row),
            member_id: Some(self.member_id.to_string()),
            column: Some(column.to_string()),
            rule: rule.to_string(),
            message,
        }
    }
}

/// The member of a row: its `member_id` cell or, for a member's upload
/// without that column, the token's member. `None` when the row has no
/// member: an empty cell is reported here, a missing column was in stage 2.
fn row_member(
    columns: &Columns,
    row: u32,
    submitter: &Submitter<'_>,
    errors: &mut Errors,
) -> Option<String> {
    match (&columns.member, submitter.own_member) {
        (Some(_), _) => match columns.member_of(row) {
            Some(id) if !id.is_empty() => Some(id),
            _ => {
                errors.push(RowError {
                    row: Some(row),
                    member_id: None,
                    column: Some("member_id".into()),
                    rule: "missing_member_id".into(),
                    message: "the member_id of this row is empty".into(),
                });
                None
            }
        },
        (None, Some(own)) => Some(own.to_string()),
        (None, None) => None,
    }
}

/// Whether a row's member may be submitted: an official regional key, the
/// token's own member for a member's upload, a registered member for a bulk
/// upload.
fn check_member(at: &At<'_>, submitter: &Submitter<'_>, errors: &mut Errors) -> bool {
    let member_id = at.member_id;
    if let Err(mut m) = validate_member_id(member_id, None) {
        // Excel drops the leading zero of a key it reads as a number.
        if member_id.bytes().all(|b| b.is_ascii_digit()) && matches!(member_id.len(), 4 | 7) {
            m.push_str(&format!(
                "; it looks like a leading zero was lost (did you mean 0{member_id}?): format the column as text in Excel"
            ));
        }
        errors.push(at.error("invalid_member_id", "member_id", m));
        return false;
    }
    match submitter.own_member {
        Some(own) if own != member_id => {
            errors.push(at.error(
                "foreign_member",
                "member_id",
                format!("your token belongs to member {own}; it cannot submit figures of member {member_id}"),
            ));
            false
        }
        Some(_) => true,
        None if !(submitter.is_registered)(member_id) => {
            errors.push(at.error(
                "unregistered_member",
                "member_id",
                format!("member {member_id} is not registered; register it with POST /api/v1/members first"),
            ));
            false
        }
        None => true,
    }
}

/// Whether the row's member has no earlier row; `seen` remembers the first
/// row of each member.
fn check_duplicate(at: &At<'_>, seen: &mut HashMap<String, u32>, errors: &mut Errors) -> bool {
    let member_id = at.member_id;
    if let Some(first) = seen.get(member_id) {
        errors.push(at.error(
            "duplicate_member",
            "member_id",
            format!("member {member_id} already has row {first}; submit one row per member"),
        ));
        false
    } else {
        seen.insert(member_id.to_string(), at.row);
        true
    }
}

/// The row's basic figures in catalogue order, each checked by
/// [`check_value`], and whether all passed.
fn check_figures(
    at: &At<'_>,
    r: usize,
    domain: &Domain,
    year: i32,
    columns: &Columns,
    errors: &mut Errors,
) -> (Vec<Option<f64>>, bool) {
    let mut ok = true;
    let mut values = Vec::with_capacity(domain.basic_figures.len());
    for (fig, column) in domain.basic_figures.iter().zip(&columns.figures) {
        let v = column.as_ref().and_then(|c| c[r]);
        if !fig.asked_in(year) {
            // Not asked that year: only an empty cell is right.
            if v.is_some() {
                errors.push(at.error("not_asked", &fig.id, domain.not_asked(fig, year)));
                ok = false;
            }
            values.push(None);
            continue;
        }
        ok &= check_value(at, fig, v, column.is_some(), errors);
        // Negative zero is stored as zero so that it compares and prints as 0.
        values.push(v.map(|x| if x == 0.0 { 0.0 } else { x }));
    }
    (values, ok)
}

/// Whether one value may be stored: a finite, non-negative number, or empty
/// unless the figure is required. An empty required figure whose whole
/// column is missing was reported in stage 2.
fn check_value(
    at: &At<'_>,
    fig: &BasicFigure,
    v: Option<f64>,
    has_column: bool,
    errors: &mut Errors,
) -> bool {
    let (rule, message) = match v {
        Some(x) if !x.is_finite() => (
            "not_finite",
            format!("{} is {x}; only finite numbers are accepted", fig.id),
        ),
        Some(x) if x < 0.0 => (
            "negative",
            format!("{} is {x}; basic figures cannot be negative", fig.id),
        ),
        None if fig.required && has_column => (
            "required_missing",
            format!("{} ({}) is required but empty", fig.id, fig.label),
        ),
        _ => return true,
    };
    errors.push(at.error(rule, &fig.id, message));
    false
}

#[cfg(test)]
mod tests;
