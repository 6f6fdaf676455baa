//! A decoded upload before validation: one Arrow batch whose figure columns
//! are numbers, plus the cells that could not be read as numbers, which
//! validation reports with their row and column.

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
            return Err(IngestError::Rejected(vec![RowError {
                row: None,
                member_id: None,
                column: Some(String::new()),
                rule: "unknown_column".into(),
                message: "a column with values has no header; the first row must name every column"
                    .into(),
            }]));
        }
        if !seen.insert(name.clone()) {
            return Err(IngestError::Rejected(vec![RowError {
                row: None,
                member_id: None,
                column: Some(name.clone()),
                rule: "duplicate_column".into(),
                message: format!("the column {name} appears twice in the header"),
            }]));
        }
        if is_text_column(&name) {
            fields.push(Field::new(&name, DataType::Utf8, true));
            arrays.push(Arc::new(StringArray::from(
                col.cells
                    .iter()
                    .map(|c| c.as_deref().map(str::trim).filter(|s| !s.is_empty()))
                    .collect::<Vec<_>>(),
            )));
            continue;
        }
        let mut values = Vec::with_capacity(col.cells.len());
        for (i, cell) in col.cells.iter().enumerate() {
            let text = cell.as_deref().map(str::trim).unwrap_or("");
            if text.is_empty() {
                values.push(None);
                continue;
            }
            match number(text) {
                Some(v) => values.push(Some(v)),
                None => {
                    let lower = text.to_ascii_lowercase();
                    let (rule, what) = if [
                        "nan",
                        "inf",
                        "+inf",
                        "-inf",
                        "infinity",
                        "-infinity",
                        "#zahl!",
                        "#div/0!",
                        "#num!",
                    ]
                    .contains(&lower.as_str())
                    {
                        ("not_finite", "is not a finite number")
                    } else {
                        ("not_a_number", "is not a number")
                    };
                    cell_errors.push(RowError {
                        row: Some(i as u32 + 1),
                        member_id: None,
                        column: Some(name.clone()),
                        rule: rule.into(),
                        message: format!("'{}' {what}", truncate(text)),
                    });
                    values.push(None);
                }
            }
        }
        fields.push(Field::new(&name, DataType::Float64, true));
        arrays.push(Arc::new(Float64Array::from(values)));
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

/// Cuts a cell for an error message.
pub(crate) fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}
