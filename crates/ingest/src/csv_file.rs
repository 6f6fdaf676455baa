//! The CSV decoder: CSV as spreadsheets export it (comma, semicolon or tab
//! separated, quoted fields, UTF-8 with or without BOM or Windows-1252,
//! decimal point or comma) into text columns for `table::from_text_columns`.

use crate::number::{Decimal, parse};
use crate::table::{Decoded, TextColumn, from_text_columns};
use crate::{IngestError, Limits, RowError};

/// Text of the file: UTF-8 (BOM removed) or, if it is not valid UTF-8,
/// Windows-1252, which is what German Excel writes as "CSV (Trennzeichen-getrennt)".
pub(crate) fn text_of(bytes: &[u8]) -> (String, &'static str) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), "UTF-8"),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (text.into_owned(), "Windows-1252")
        }
    }
}

/// The separator of the header line: the most frequent of `;`, `,` and tab
/// outside quotes.
fn separator(header: &str) -> u8 {
    let mut counts = [(b';', 0), (b',', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in header.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for c in counts.iter_mut() {
                if c.0 == b {
                    c.1 += 1;
                }
            }
        }
    }
    counts
        .iter()
        .max_by_key(|c| c.1)
        .filter(|c| c.1 > 0)
        .map_or(b',', |c| c.0)
}

/// Decodes a CSV upload: the text and its separator, the header row, the
/// records, then the numbers with the decimal separator the file uses.
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, IngestError> {
    check_text(bytes)?;
    let (text, _encoding) = text_of(bytes);
    let header_line = text.lines().next().unwrap_or("");
    let sep = separator(header_line);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sep)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = read_headers(&mut reader, limits)?;
    let records = read_records(&mut reader, &headers, limits)?;
    // Semicolon files come from German Excel with decimal commas; comma files
    // cannot have unquoted decimal commas; tab files decide by their cells.
    let decimal = match sep {
        b';' => Decimal::Comma,
        b'\t' if records.comma_decimals > 0 => Decimal::Comma,
        _ => Decimal::Point,
    };
    from_text_columns(records.columns, |s| parse(s, decimal))
}

fn refuse(rule: &str, message: impl Into<String>) -> IngestError {
    IngestError::Rejected(vec![RowError::file(rule, message)])
}

/// Refuses a body that is empty or binary before it is read as text.
fn check_text(bytes: &[u8]) -> Result<(), IngestError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(refuse(
            "empty_upload",
            "the file is empty: it needs a header row with the figure ids and one row per member",
        ));
    }
    if bytes.contains(&0) {
        return Err(refuse(
            "unreadable_file",
            "the file contains binary data; send a CSV text file (or use the Content-Type of its real format)",
        ));
    }
    Ok(())
}

/// The column names of the header row, trimmed, within the column limit.
fn read_headers(
    reader: &mut csv::Reader<&[u8]>,
    limits: &Limits,
) -> Result<Vec<String>, IngestError> {
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            refuse(
                "unreadable_file",
                format!("the header row cannot be read: {e}"),
            )
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.len() > limits.max_columns {
        return Err(refuse(
            "too_many_columns",
            format!(
                "the header row has {} columns; at most {} are accepted",
                headers.len(),
                limits.max_columns
            ),
        ));
    }
    Ok(headers)
}

/// The records of a file as text columns, and how many cells look like
/// numbers with a decimal comma.
struct Records {
    columns: Vec<TextColumn>,
    comma_decimals: usize,
}

/// Reads every record below the header into text columns. Rows that cannot
/// be read or have the wrong number of fields are all reported together;
/// blank rows keep their place (row numbers must match the file) except at
/// the end.
fn read_records(
    reader: &mut csv::Reader<&[u8]>,
    headers: &[String],
    limits: &Limits,
) -> Result<Records, IngestError> {
    let mut columns: Vec<TextColumn> = headers
        .iter()
        .map(|h| TextColumn {
            name: h.clone(),
            cells: Vec::new(),
        })
        .collect();
    let mut errors = Vec::new();
    let mut comma_decimals = 0usize;
    let mut blank_tail = 0usize;
    for (i, record) in reader.records().enumerate() {
        let row = i as u32 + 1;
        if i >= limits.max_rows {
            return Err(refuse(
                "too_many_rows",
                format!("the file has more than {} rows; split it", limits.max_rows),
            ));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(row_error(
                    row,
                    "unreadable_row",
                    format!("the row cannot be read: {e}"),
                ));
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            // Excel exports formatted but empty rows as `;;;;`: keep them in
            // place (row numbers must match the file) and drop them at the end.
            blank_tail += 1;
            for c in columns.iter_mut() {
                c.cells.push(None);
            }
            continue;
        }
        blank_tail = 0;
        if record.len() != headers.len() {
            errors.push(row_error(
                row,
                "ragged_row",
                format!(
                    "the row has {} fields but the header has {}; check separators and quotes",
                    record.len(),
                    headers.len()
                ),
            ));
            continue;
        }
        for (c, cell) in columns.iter_mut().zip(record.iter()) {
            if cell.contains(',') && !cell.contains('.') && c.name != "member_id" {
                comma_decimals += 1;
            }
            c.cells.push(Some(cell.to_string()));
        }
    }
    if !errors.is_empty() {
        return Err(IngestError::Rejected(errors));
    }
    for c in columns.iter_mut() {
        c.cells.truncate(c.cells.len() - blank_tail);
    }
    Ok(Records {
        columns,
        comma_decimals,
    })
}

/// An error about a whole row of the file.
fn row_error(row: u32, rule: &str, message: String) -> RowError {
    RowError {
        row: Some(row),
        member_id: None,
        column: None,
        rule: rule.into(),
        message,
    }
}
