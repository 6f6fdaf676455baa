//! XLSX: the first sheet, the first row names the columns. Formula cells are
//! read by the value Excel saved with them; merged cells in the data are
//! refused, because a merged value belongs to several rows or columns at once.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use crate::number::{Decimal, parse};
use crate::table::{Decoded, TextColumn, from_text_columns, truncate};
use crate::{IngestError, Limits, RowError};

fn refuse(rule: &str, message: impl Into<String>) -> IngestError {
    IngestError::Rejected(vec![RowError::file(rule, message)])
}

/// Refuses archives whose entries would unpack to more than the limit, or
/// that compress suspiciously well (a "zip bomb"), before anything is unpacked.
fn check_archive(bytes: &[u8], limits: &Limits) -> Result<(), IngestError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        refuse(
            "unreadable_file",
            format!("the file is not an XLSX workbook (not a valid zip archive: {e})"),
        )
    })?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| refuse("unreadable_file", format!("the workbook is damaged: {e}")))?;
        total = total.saturating_add(entry.size());
        let ratio = entry.size() / entry.compressed_size().max(1);
        if entry.size() > 1024 * 1024 && ratio > 200 {
            return Err(refuse(
                "decompression_bomb",
                format!(
                    "the workbook entry {} would unpack {ratio} times its size; refused as a decompression bomb",
                    entry.name().unwrap_or_default()
                ),
            ));
        }
    }
    if total > limits.max_uncompressed_bytes {
        return Err(refuse(
            "decompression_bomb",
            format!(
                "the workbook would unpack to {total} bytes, more than the limit of {}",
                limits.max_uncompressed_bytes
            ),
        ));
    }
    Ok(())
}

fn cell_text(cell: &Data) -> Result<Option<String>, String> {
    Ok(match cell {
        Data::Empty => None,
        Data::String(s) => Some(s.clone()),
        // Whole numbers print without a fraction, so that ids stay digits.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{}", *f as i64)),
        Data::Float(f) => Some(format!("{f}")),
        Data::Int(i) => Some(i.to_string()),
        Data::Bool(b) => return Err(format!("'{b}' is a truth value, not a number")),
        Data::DateTime(_) | Data::DateTimeIso(_) | Data::DurationIso(_) => {
            return Err("the cell is a date or time, not a number; format it as a number".into());
        }
        Data::Error(e) => return Err(format!("the cell holds the Excel error {e:?}")),
    })
}

pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, IngestError> {
    if bytes.is_empty() {
        return Err(refuse(
            "empty_upload",
            "the request body is empty: send the XLSX file as the body",
        ));
    }
    check_archive(bytes, limits)?;
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        refuse(
            "unreadable_file",
            format!("the workbook cannot be read: {e}"),
        )
    })?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| refuse("empty_upload", "the workbook has no sheet"))?
        .map_err(|e| {
            refuse(
                "unreadable_file",
                format!("the first sheet cannot be read: {e}"),
            )
        })?;
    let merged = workbook.merge_cells_by_sheet_id(0).unwrap_or_default();
    if let Some(m) = merged.first() {
        return Err(refuse(
            "merged_cells",
            format!(
                "the first sheet has merged cells (rows {} to {}, columns {} to {}); unmerge them so that every row is one member and every column one figure",
                m.start.0 + 1,
                m.end.0 + 1,
                m.start.1 + 1,
                m.end.1 + 1
            ),
        ));
    }
    let mut rows = range.rows();
    let Some(header) = rows.next() else {
        return Err(refuse("empty_upload", "the first sheet is empty"));
    };
    let mut columns: Vec<TextColumn> = header
        .iter()
        .map(|c| TextColumn {
            name: cell_text(c).ok().flatten().unwrap_or_default(),
            cells: Vec::new(),
        })
        .collect();
    let mut errors = Vec::new();
    let mut blank_tail = 0;
    for (i, row) in rows.enumerate() {
        if i >= limits.max_rows {
            return Err(refuse(
                "too_many_rows",
                format!("the sheet has more than {} rows; split it", limits.max_rows),
            ));
        }
        let blank = row.iter().all(|c| matches!(c, Data::Empty));
        blank_tail = if blank { blank_tail + 1 } else { 0 };
        for (j, col) in columns.iter_mut().enumerate() {
            let cell = row.get(j).unwrap_or(&Data::Empty);
            match cell_text(cell) {
                Ok(t) => col.cells.push(t),
                Err(message) => {
                    errors.push(RowError {
                        row: Some(i as u32 + 1),
                        member_id: None,
                        column: Some(truncate(&col.name)),
                        rule: "wrong_type".into(),
                        message,
                    });
                    col.cells.push(None);
                }
            }
        }
    }
    for c in columns.iter_mut() {
        c.cells.truncate(c.cells.len() - blank_tail);
    }
    if !errors.is_empty() {
        return Err(IngestError::Rejected(errors));
    }
    // Text cells in a German workbook carry decimal commas.
    from_text_columns(columns, |s| {
        parse(s, Decimal::Comma).or_else(|| parse(s, Decimal::Point))
    })
}
