//! The streaming reader against calamine's own `worksheet_range` (what the
//! decoder used before it read cells one by one), on random sparse sheets
//! small enough for a range; and the extent limits on sheets that are not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use rust_xlsxwriter::Workbook;

use super::*;

/// A cell to write: text or a number.
#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Number(f64),
}

fn workbook_bytes(cells: &[(u32, u16, Value)]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (row, col, value) in cells {
        match value {
            Value::Text(t) => sheet.write_string(*row, *col, t).map(|_| ()),
            Value::Number(n) => sheet.write_number(*row, *col, *n).map(|_| ()),
        }
        .unwrap();
    }
    book.save_to_buffer().unwrap()
}

/// The text columns as the decoder built them from calamine's range: the
/// range's first row names the columns, every later row is a row.
fn reference(bytes: &[u8]) -> Result<Vec<TextColumn>, Vec<RowError>> {
    let mut workbook = Xlsx::new(Cursor::new(bytes)).unwrap();
    let range = workbook.worksheet_range_at(0).unwrap().unwrap();
    let mut rows = range.rows();
    let header = rows.next().unwrap();
    let mut columns: Vec<TextColumn> = header
        .iter()
        .map(|c| TextColumn {
            name: cell_text(c).ok().flatten().unwrap_or_default(),
            cells: Vec::new(),
        })
        .collect();
    let mut errors = Vec::new();
    for (i, row) in rows.enumerate() {
        for (j, col) in columns.iter_mut().enumerate() {
            match cell_text(row.get(j).unwrap_or(&Data::Empty)) {
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
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

fn streamed(bytes: &[u8], limits: &Limits) -> Result<Vec<TextColumn>, IngestError> {
    let mut workbook = Xlsx::new(Cursor::new(bytes)).unwrap();
    let cells = sheet_cells(&mut workbook, limits)?;
    text_columns(cells, limits)
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-zA-Z0-9 ,.äöü]{1,8}".prop_map(Value::Text),
        (-1e6f64..1e6).prop_map(Value::Number),
        (0i64..100_000).prop_map(|n| Value::Number(n as f64)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any sheet within the limits: the same columns, cells and row
    /// numbers as calamine's range, wherever the used area starts.
    #[test]
    fn streamed_sheets_equal_calamines_range(
        cells in prop::collection::vec((0u32..12, 0u16..8, value()), 1..40),
    ) {
        let bytes = workbook_bytes(&cells);
        let limits = Limits::default();
        let ours = streamed(&bytes, &limits);
        match reference(&bytes) {
            Ok(expected) => prop_assert_eq!(ours.ok(), Some(expected)),
            Err(expected) => match ours {
                Err(IngestError::Rejected(e)) => prop_assert_eq!(e, expected),
                other => prop_assert!(false, "expected errors, got {other:?}"),
            },
        }
    }
}

/// A sheet with two cells at A1 and the last cell of a sheet is refused by
/// its extent, declared or not, before anything of that size is allocated.
#[test]
fn sheets_beyond_the_limits_are_refused_by_their_extent() {
    let limits = Limits::default();
    for (cells, rule) in [
        (
            vec![
                (0, 0, Value::Text("member_id".into())),
                (1_048_575, 16_383, Value::Number(1.0)),
            ],
            "too_many_columns",
        ),
        (
            vec![
                (0, 0, Value::Text("member_id".into())),
                (1_048_575, 0, Value::Number(1.0)),
            ],
            "too_many_rows",
        ),
        (
            vec![
                (0, 0, Value::Text("member_id".into())),
                (0, 1_000, Value::Number(1.0)),
            ],
            "too_many_columns",
        ),
    ] {
        let bytes = workbook_bytes(&cells);
        match decode(&bytes, &limits) {
            Err(IngestError::Rejected(e)) => assert_eq!(e[0].rule, rule, "{e:?}"),
            other => panic!("expected {rule}, got {other:?}"),
        }
    }
    // Exactly at the limits is fine: 1,000 columns and 100,000 data rows.
    let at_limit = vec![
        (0, 0, Value::Text("member_id".into())),
        (0, 999, Value::Text("x".into())),
        (100_000, 0, Value::Text("05315000".into())),
    ];
    let columns = streamed(&workbook_bytes(&at_limit), &limits).unwrap();
    assert_eq!(columns.len(), 1_000);
    assert_eq!(columns[0].cells.len(), 100_000);
}
