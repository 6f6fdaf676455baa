//! The decoded upload, and the step the CSV and XLSX decoders share: text
//! columns into one Arrow batch whose figure columns are numbers, plus the
//! cells that could not be read as numbers, which validation reports with
//! their row and column.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::{IngestError, RowError};

/// A decoded upload.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The rows, one column per file column.
    pub batch: RecordBatch,
    /// Cells that are not numbers, as errors with row and column (the member
    /// is filled in by validation).
    pub cell_errors: Vec<RowError>,
}

/// A column of text cells from a CSV or XLSX file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextColumn {
    pub name: String,
    pub cells: Vec<Option<String>>,
}

/// Columns that stay text: the member id (leading zeros matter).
fn is_text_column(name: &str) -> bool {
    name.trim() == "member_id"
}

/// Builds the batch from text columns: `member_id` stays text, every other
/// column becomes numbers via `number`, with unreadable cells reported.
pub(crate) fn from_text_columns(
    columns: Vec<TextColumn>,
    number: impl Fn(&str) -> Option<f64>,
) -> Result<Decoded, IngestError> {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    let mut cell_errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for col in columns {
        let name = col.name.trim().to_string();
        if name.is_empty() {
            if col
                .cells
                .iter()
                .all(|c| c.as_deref().is_none_or(|s| s.trim().is_empty()))
            {
                // Excel often exports trailing empty columns; they carry nothing.
                continue;
            }
            return Err(column_refused(
                String::new(),
                "unknown_column",
                "a column with values has no header; the first row must name every column".into(),
            ));
        }
        if !seen.insert(name.clone()) {
            let message = format!("the column {name} appears twice in the header");
            return Err(column_refused(name, "duplicate_column", message));
        }
        if is_text_column(&name) {
            fields.push(Field::new(&name, DataType::Utf8, true));
            arrays.push(Arc::new(text_array(&col.cells)));
        } else {
            let values = number_array(&name, &col.cells, &number, &mut cell_errors);
            fields.push(Field::new(&name, DataType::Float64, true));
            arrays.push(Arc::new(values));
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = if arrays.is_empty() {
        RecordBatch::new_empty(schema)
    } else {
        RecordBatch::try_new(schema, arrays).map_err(|e| {
            IngestError::Rejected(vec![RowError::file(
                "unreadable_file",
                format!("the table cannot be assembled: {e}"),
            )])
        })?
    };
    Ok(Decoded { batch, cell_errors })
}

/// Refuses the file for a column of its header.
fn column_refused(column: String, rule: &str, message: String) -> IngestError {
    IngestError::Rejected(vec![RowError {
        row: None,
        member_id: None,
        column: Some(column),
        rule: rule.into(),
        message,
    }])
}

/// A text column, trimmed, with empty cells as nulls.
fn text_array(cells: &[Option<String>]) -> StringArray {
    StringArray::from(
        cells
            .iter()
            .map(|c| c.as_deref().map(str::trim).filter(|s| !s.is_empty()))
            .collect::<Vec<_>>(),
    )
}

/// A figure column as numbers: empty cells and `N` (exists, value
/// unknown) are nulls, and a cell that is not a number is a null with an
/// error naming its row and column.
fn number_array(
    name: &str,
    cells: &[Option<String>],
    number: &impl Fn(&str) -> Option<f64>,
    cell_errors: &mut Vec<RowError>,
) -> Float64Array {
    let mut values = Vec::with_capacity(cells.len());
    for (i, cell) in cells.iter().enumerate() {
        let text = cell.as_deref().map(str::trim).unwrap_or("");
        if text.is_empty() || crate::number::is_unknown(text) {
            values.push(None);
            continue;
        }
        match number(text) {
            Some(v) => values.push(Some(v)),
            None => {
                cell_errors.push(not_a_number(i as u32 + 1, name, text));
                values.push(None);
            }
        }
    }
    Float64Array::from(values)
}

/// The words spreadsheets write for values that are not finite numbers.
const NOT_FINITE: [&str; 9] = [
    "nan",
    "inf",
    "+inf",
    "-inf",
    "infinity",
    "-infinity",
    "#zahl!",
    "#div/0!",
    "#num!",
];

/// The error for a cell that is not a number; a spreadsheet's word for NaN
/// or infinity gets its own rule, as the same value in Parquet would.
fn not_a_number(row: u32, column: &str, text: &str) -> RowError {
    let lower = text.to_ascii_lowercase();
    let (rule, what) = if NOT_FINITE.contains(&lower.as_str()) {
        ("not_finite", "is not a finite number")
    } else {
        ("not_a_number", "is not a number")
    };
    RowError {
        row: Some(row),
        member_id: None,
        column: Some(column.to_string()),
        rule: rule.into(),
        message: format!("'{}' {what}", truncate(text)),
    }
}

/// Cuts a cell for an error message.
pub(crate) fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}
