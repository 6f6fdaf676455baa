//! The XLSX decoder: the first sheet of a workbook into text columns for
//! `table::from_text_columns`; the first row names the columns. Formula
//! cells are read by the value Excel saved with them; merged cells in the
//! data are refused, because a merged value belongs to several rows or
//! columns at once.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

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
    let cells = sheet_cells(&mut workbook, limits)?;
    let columns = text_columns(cells, limits)?;
    // Text cells in a German workbook carry decimal commas.
    from_text_columns(columns, crate::number::parse_typed)
}

/// The most filled cells of a sheet: 100,000 members with 40 figures each.
/// Each kept cell costs about 40 bytes, so a sheet within the limits of rows
/// and columns cannot hold a few hundred MB of cells.
const MAX_CELLS: usize = 4_000_000;

/// The non-empty cells of the first sheet as (row, column, value), read one
/// by one from the sheet's XML. calamine's `worksheet_range` would allocate
/// the whole bounding box of the used cells first (two cells at `A1` and
/// `XFD1048576` make 17 billion), before any limit could be checked; here a
/// sheet whose declared or actual extent is beyond the limits is refused
/// while it is read, and memory grows only with the cells the file holds.
fn sheet_cells(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    limits: &Limits,
) -> Result<Vec<(u32, u32, Data)>, IngestError> {
    let Some(name) = workbook.sheet_names().first().cloned() else {
        return Err(refuse("empty_upload", "the workbook has no sheet"));
    };
    let unreadable = |e: calamine::XlsxError| {
        refuse(
            "unreadable_file",
            format!("the first sheet cannot be read: {e}"),
        )
    };
    let mut reader = workbook.worksheet_cells_reader(&name).map_err(unreadable)?;
    // The header row comes on top of the data rows.
    let row_limit = limits.max_rows.saturating_add(1);
    let declared = reader.dimensions();
    if declared.len() > 0 {
        check_extent(declared.start, declared.end, row_limit, limits, "declares")?;
    }
    let (mut low, mut high) = ((u32::MAX, u32::MAX), (0u32, 0u32));
    let mut cells = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let (row, col) = cell.get_position();
        let value = Data::from(cell.get_value().clone());
        if matches!(value, Data::Empty) {
            continue;
        }
        low = (low.0.min(row), low.1.min(col));
        high = (high.0.max(row), high.1.max(col));
        check_extent(low, high, row_limit, limits, "uses")?;
        if cells.len() >= MAX_CELLS {
            return Err(refuse(
                "too_many_cells",
                format!("the first sheet holds more than {MAX_CELLS} filled cells; split the file"),
            ));
        }
        cells.push((row, col, value));
    }
    Ok(cells)
}

/// Refuses a sheet whose cells from `start` to `end` (row, column; both
/// inclusive, from 0) span more rows or columns than an upload may have.
fn check_extent(
    start: (u32, u32),
    end: (u32, u32),
    row_limit: usize,
    limits: &Limits,
    verb: &str,
) -> Result<(), IngestError> {
    let rows = u64::from(end.0.saturating_sub(start.0)) + 1;
    let columns = u64::from(end.1.saturating_sub(start.1)) + 1;
    if columns > limits.max_columns as u64 {
        return Err(refuse(
            "too_many_columns",
            format!(
                "the first sheet {verb} {columns} columns (to column {}); at most {} are accepted: delete the columns right of the data",
                end.1 + 1,
                limits.max_columns
            ),
        ));
    }
    if rows > row_limit as u64 {
        return Err(refuse(
            "too_many_rows",
            format!(
                "the first sheet {verb} {rows} rows (to row {}); at most {} rows and the header are accepted: delete the rows below the data or split the file",
                end.0 + 1,
                limits.max_rows
            ),
        ));
    }
    Ok(())
}

/// The cells as text columns: the first used row names the columns, the
/// used area starts at the first used row and column (as calamine's ranges
/// do), blank rows inside the data stay in place (row numbers must match
/// the sheet) and blank rows at the end are dropped.
fn text_columns(
    mut cells: Vec<(u32, u32, Data)>,
    limits: &Limits,
) -> Result<Vec<TextColumn>, IngestError> {
    let Some(first_row) = cells.iter().map(|c| c.0).min() else {
        return Err(refuse("empty_upload", "the first sheet is empty"));
    };
    let first_col = cells.iter().map(|c| c.1).min().unwrap_or(0);
    let last_col = cells.iter().map(|c| c.1).max().unwrap_or(0);
    cells.sort_by_key(|c| (c.0, c.1));
    let width = (last_col - first_col + 1) as usize;
    let mut columns: Vec<TextColumn> = (0..width)
        .map(|j| TextColumn {
            name: cells
                .iter()
                .take_while(|c| c.0 == first_row)
                .find(|c| (c.1 - first_col) as usize == j)
                .and_then(|c| cell_text(&c.2).ok().flatten())
                .unwrap_or_default(),
            cells: Vec::new(),
        })
        .collect();
    // Header cells beyond the last named column still count as columns
    // (calamine's range did the same); trailing unnamed columns without
    // data are dropped by `from_text_columns` like any unnamed one.
    let mut errors = Vec::new();
    let data = cells.iter().filter(|c| c.0 > first_row);
    let last_row = cells.last().map_or(first_row, |c| c.0);
    let rows = (last_row - first_row) as usize;
    if rows > limits.max_rows {
        return Err(refuse(
            "too_many_rows",
            format!("the sheet has more than {} rows; split it", limits.max_rows),
        ));
    }
    for c in columns.iter_mut() {
        c.cells = vec![None; rows];
    }
    for (row, col, value) in data {
        let i = (row - first_row - 1) as usize;
        let j = (col - first_col) as usize;
        let Some(column) = columns.get_mut(j) else {
            continue;
        };
        match cell_text(value) {
            Ok(t) => column.cells[i] = t,
            Err(message) => errors.push(RowError {
                row: Some(i as u32 + 1),
                member_id: None,
                column: Some(truncate(&column.name)),
                rule: "wrong_type".into(),
                message,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(IngestError::Rejected(errors));
    }
    Ok(columns)
}

#[cfg(test)]
mod tests;
