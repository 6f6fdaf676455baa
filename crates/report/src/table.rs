//! Any table for people's tools: a header and rows of [`Cell`]s written as
//! CSV (both dialects) or as one XLSX sheet, every text cell neutralised
//! against formula injection. The collection's export and the workspaces'
//! downloads use it; the peer report has its own layout.

use crate::{Cell, Dialect, ReportError, neutralise, number, sheet_name};

/// A titled table: a sheet name, column names and rows.
pub struct Table {
    /// The sheet's name in a workbook (cut to what Excel allows).
    pub title: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

/// The table as CSV in `dialect`.
pub fn to_csv(table: &Table, dialect: Dialect) -> Result<Vec<u8>, ReportError> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(if dialect == Dialect::De { b';' } else { b',' })
        .from_writer(Vec::new());
    w.write_record(table.columns.iter().map(|c| neutralise(c)))?;
    for r in &table.rows {
        w.write_record(r.iter().map(|c| match c {
            Cell::Text(t) => neutralise(t),
            Cell::Number(v) => number(*v, dialect),
        }))?;
    }
    w.into_inner()
        .map_err(|e| ReportError::Csv(e.into_error().into()))
}

/// The table as an XLSX workbook of one sheet, the header in bold.
pub fn to_xlsx(table: &Table) -> Result<Vec<u8>, ReportError> {
    workbook(std::slice::from_ref(table))
}

/// The tables as an XLSX workbook, a sheet each in order, the headers in
/// bold. An upload reads the first sheet only, so later sheets can carry
/// explanations.
pub fn workbook(tables: &[Table]) -> Result<Vec<u8>, ReportError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for table in tables {
        let sheet = book.add_worksheet();
        sheet.set_name(sheet_name(&table.title))?;
        for (c, h) in table.columns.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, neutralise(h), &bold)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                match cell {
                    Cell::Text(t) => {
                        sheet.write_string(r, c, neutralise(t))?;
                    }
                    Cell::Number(Some(v)) => {
                        sheet.write_number(r, c, *v)?;
                    }
                    Cell::Number(None) => {}
                }
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            title: "Sammlung: Bibliotheken/2025".into(),
            columns: vec!["member_id".into(), "name".into(), "n".into()],
            rows: vec![vec![
                Cell::Text("05315000".into()),
                Cell::Text("=HYPERLINK(\"x\")".into()),
                Cell::Number(Some(1234.5)),
            ]],
        }
    }

    #[test]
    fn text_never_becomes_a_formula() {
        let csv = String::from_utf8(to_csv(&table(), Dialect::De).unwrap()).unwrap();
        assert_eq!(
            csv,
            "member_id;name;n\n05315000;\"'=HYPERLINK(\"\"x\"\")\";1234,5\n"
        );
    }

    #[test]
    fn a_workbook_is_written() {
        let bytes = to_xlsx(&table()).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
