//! Peer reports rendered for people: HTML with inline SVG charts (`html`,
//! `svg`), CSV in two dialects (`en`: comma and
//! decimal point; `de`: semicolon and decimal comma, as German Excel reads it)
//! and XLSX with one sheet per domain and a method sheet. The report data
//! come from `vergleichsring_engine::report`, after disclosure control.
//!
//! Text cells that start with `=`, `+`, `-`, `@` (or a tab or carriage
//! return) are prefixed with `'`, so that a member name or label can never
//! become a formula in a spreadsheet (CSV and formula injection).

mod appendix;
pub mod fmt;
pub mod html;
pub mod svg;
pub mod table;

pub use html::{HtmlOptions, to_html};

use vergleichsring_engine::compare::GroupResult;
use vergleichsring_engine::noise::{Flag, NoiseFlags};
use vergleichsring_engine::report::{FigureReport, Report};

/// What can go wrong while rendering.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing CSV failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// Writing XLSX failed.
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// The CSV dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Comma separated, decimal point.
    En,
    /// Semicolon separated, decimal comma.
    De,
}

/// Neutralises a text cell against formula injection: a leading `=`,
/// `+`, `-`, `@`, tab or carriage return gets a `'` before it, and so does
/// one after a `;`, `,` or tab inside the text, where a spreadsheet that
/// splits a CSV file on semicolons (German Excel), commas (English Excel
/// opening a German file) or tabs would start a cell.
pub fn neutralise(text: &str) -> String {
    let trigger = |c: char| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r');
    let mut out = String::with_capacity(text.len() + 1);
    let mut cell_start = true;
    for c in text.chars() {
        if cell_start && trigger(c) {
            out.push('\'');
        }
        out.push(c);
        cell_start = matches!(c, ';' | ',' | '\t');
    }
    out
}

pub(crate) fn number(v: Option<f64>, dialect: Dialect) -> String {
    match v {
        None => String::new(),
        Some(x) => {
            let s = format!("{x}");
            match dialect {
                Dialect::En => s,
                Dialect::De => s.replace('.', ","),
            }
        }
    }
}

/// The columns of the tabular report, one row per (domain, key figure).
pub const COLUMNS: [&str; 29] = [
    "domain",
    "key_figure",
    "label",
    "unit",
    "direction",
    "own",
    "size_class",
    "size_class_n",
    "size_class_suppressed",
    "size_class_mean",
    "size_class_median",
    "size_class_p25",
    "size_class_p75",
    "size_class_weighted",
    "rank",
    "percentile_rank",
    "all_n",
    "all_suppressed",
    "all_mean",
    "all_median",
    "all_weighted",
    "publication",
    "data_version",
    "release",
    "as_of",
    "quintile",
    "size_class_noise_mean",
    "size_class_noise_quantiles",
    "all_noise_mean",
];

/// A cell of the tabular report.
pub enum Cell {
    /// Text (neutralised when written).
    Text(String),
    /// A number, or empty.
    Number(Option<f64>),
}

fn stat(
    g: &Option<GroupResult>,
    f: impl Fn(&vergleichsring_engine::disclosure::DisclosedStats) -> Option<f64>,
) -> Cell {
    Cell::Number(g.as_ref().and_then(|g| g.stats.as_ref()).and_then(f))
}

/// The rows of the tabular report.
pub fn rows(report: &Report) -> Vec<Vec<Cell>> {
    let mut out = Vec::new();
    for d in &report.domains {
        for k in &d.key_figures {
            out.push(row(report, &d.domain, k));
        }
    }
    out
}

/// The data state of a domain's rows: the publication its statistics come
/// from (none for admin), its data version, the release that froze the
/// report's year (as the report's state knows it), and `as_of`.
fn state_cells(report: &Report, domain: &str) -> Vec<Cell> {
    let release = report
        .releases
        .iter()
        .rev()
        .find(|r| r.domain == domain && r.year == report.year && r.reopened_at.is_none())
        .map(|r| r.id.clone());
    let publication = (!report.publications.is_empty()).then(|| {
        Cell::Text(
            report
                .publications
                .get(domain)
                .map(|p| p.id.clone())
                .unwrap_or_default(),
        )
    });
    publication
        .into_iter()
        .chain([
            Cell::Text(
                report
                    .data_versions
                    .get(domain)
                    .cloned()
                    .unwrap_or_default(),
            ),
            Cell::Text(release.unwrap_or_default()),
            Cell::Text(report.as_of.clone().unwrap_or_default()),
        ])
        .collect()
}

/// The header of the tabular report: the `publication` column only when
/// the report comes from publications (not in admin's live reports).
pub fn columns(report: &Report) -> Vec<&'static str> {
    COLUMNS
        .iter()
        .copied()
        .filter(|c| *c != "publication" || !report.publications.is_empty())
        .collect()
}

fn row(report: &Report, domain: &str, k: &FigureReport) -> Vec<Cell> {
    let own = k.size_class.as_ref().and_then(|g| g.own.as_ref());
    let mut cells = vec![
        Cell::Text(domain.to_string()),
        Cell::Text(k.id.clone()),
        Cell::Text(k.label.clone()),
        Cell::Text(k.unit.clone()),
        Cell::Text(format!("{:?}", k.direction).to_lowercase()),
        Cell::Number(k.own),
        Cell::Text(
            k.size_class
                .as_ref()
                .map(|g| g.group.clone())
                .unwrap_or_default(),
        ),
        Cell::Number(k.size_class.as_ref().map(|g| g.n as f64)),
        Cell::Text(
            k.size_class
                .as_ref()
                .map(|g| g.suppressed.to_string())
                .unwrap_or_default(),
        ),
        stat(&k.size_class, |s| s.mean),
        stat(&k.size_class, |s| s.median),
        stat(&k.size_class, |s| s.p25),
        stat(&k.size_class, |s| s.p75),
        stat(&k.size_class, |s| s.weighted),
        Cell::Number(own.and_then(|o| o.rank).map(|r| r as f64)),
        Cell::Number(own.and_then(|o| o.percentile_rank)),
        Cell::Number(k.all.as_ref().map(|g| g.n as f64)),
        Cell::Text(
            k.all
                .as_ref()
                .map(|g| g.suppressed.to_string())
                .unwrap_or_default(),
        ),
        stat(&k.all, |s| s.mean),
        stat(&k.all, |s| s.median),
        stat(&k.all, |s| s.weighted),
    ];
    cells.extend(state_cells(report, domain));
    // Rule 17: the quintile and the noise flags, after the columns that
    // were there before them.
    let flag = |g: &Option<GroupResult>, f: &dyn Fn(&NoiseFlags) -> Flag| {
        Cell::Text(
            g.as_ref()
                .and_then(|g| g.noise.as_ref())
                .map(|n| f(n).code().to_string())
                .unwrap_or_default(),
        )
    };
    cells.push(Cell::Number(own.and_then(|o| o.quintile).map(f64::from)));
    cells.push(flag(&k.size_class, &|n| n.mean));
    cells.push(flag(&k.size_class, &|n| n.quantiles));
    cells.push(flag(&k.all, &|n| n.mean));
    cells
}

/// The report as CSV in a dialect.
pub fn to_csv(report: &Report, dialect: Dialect) -> Result<Vec<u8>, ReportError> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(if dialect == Dialect::De { b';' } else { b',' })
        .from_writer(Vec::new());
    w.write_record(columns(report))?;
    for r in rows(report) {
        w.write_record(r.iter().map(|c| match c {
            Cell::Text(t) => neutralise(t),
            Cell::Number(v) => number(*v, dialect),
        }))?;
    }
    w.into_inner()
        .map_err(|e| ReportError::Csv(e.into_error().into()))
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`.
pub(crate) fn sheet_name(label: &str) -> String {
    label
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect()
}

/// The report as an XLSX workbook: a sheet per domain and a method sheet.
pub fn to_xlsx(report: &Report) -> Result<Vec<u8>, ReportError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let num = Format::new().set_num_format("#,##0.00");
    for d in &report.domains {
        domain_sheet(book.add_worksheet(), report, d, &bold, &num)?;
    }
    method_sheet(book.add_worksheet(), report, &bold)?;
    // The workbook's creation date is the report's, so that the same
    // report gives the same bytes.
    if let Ok(at) =
        rust_xlsxwriter::ExcelDateTime::parse_from_str(report.generated_at.get(..19).unwrap_or(""))
    {
        book.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&at));
    }
    Ok(book.save_to_buffer()?)
}

/// A domain's sheet: a title, the columns and a row per key figure.
fn domain_sheet(
    sheet: &mut rust_xlsxwriter::Worksheet,
    report: &Report,
    d: &vergleichsring_engine::report::DomainReport,
    bold: &rust_xlsxwriter::Format,
    num: &rust_xlsxwriter::Format,
) -> Result<(), ReportError> {
    sheet.set_name(sheet_name(&d.label))?;
    sheet.write_string_with_format(
        0,
        0,
        neutralise(&format!(
            "{} – {} ({})",
            report.member_name, d.label, report.year
        )),
        bold,
    )?;
    for (c, h) in columns(report).iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, *h, bold)?;
    }
    for (r, k) in d.key_figures.iter().enumerate() {
        for (c, cell) in row(report, &d.domain, k).into_iter().enumerate() {
            let (r, c) = (r as u32 + 3, c as u16);
            match cell {
                Cell::Text(t) => {
                    sheet.write_string(r, c, neutralise(&t))?;
                }
                Cell::Number(Some(v)) => {
                    sheet.write_number_with_format(r, c, v, num)?;
                }
                Cell::Number(None) => {}
            }
        }
    }
    sheet.set_column_width(2, 36)?;
    Ok(())
}

/// The method sheet: the comparison groups, the reasons for withholding
/// and the data state.
fn method_sheet(
    method: &mut rust_xlsxwriter::Worksheet,
    report: &Report,
    bold: &rust_xlsxwriter::Format,
) -> Result<(), ReportError> {
    method.set_name("Methode")?;
    method.write_string_with_format(0, 0, "Methode", bold)?;
    method.write_string(1, 0, report.method.quantiles)?;
    method.write_string_with_format(3, 0, "Vergleichsgruppen", bold)?;
    for (i, g) in report.method.groups.iter().enumerate() {
        let r = i as u32 + 4;
        method.write_string(r, 0, &g.domain)?;
        method.write_string(r, 1, &g.dimension)?;
        method.write_string(r, 2, neutralise(&g.group))?;
        method.write_number(r, 3, g.members as f64)?;
    }
    let start = report.method.groups.len() as u32 + 5;
    method.write_string_with_format(start, 0, "Geheimhaltung", bold)?;
    for (i, s) in report.method.suppression.iter().enumerate() {
        method.write_string(start + 1 + i as u32, 0, s.reason)?;
        method.write_string(start + 1 + i as u32, 1, s.message_de)?;
    }
    data_state(
        method,
        report,
        bold,
        start + report.method.suppression.len() as u32 + 2,
    )
}

/// The data state from row `r` on: versions, `as_of` and the releases, so
/// that a workbook says which state of the data it shows.
fn data_state(
    method: &mut rust_xlsxwriter::Worksheet,
    report: &Report,
    bold: &rust_xlsxwriter::Format,
    mut r: u32,
) -> Result<(), ReportError> {
    method.write_string_with_format(r, 0, "Datenstand", bold)?;
    for (d, v) in &report.data_versions {
        r += 1;
        method.write_string(r, 0, d)?;
        method.write_string(r, 1, v)?;
    }
    for (d, p) in &report.publications {
        r += 1;
        method.write_string(r, 0, format!("{d} (Veröffentlichung)"))?;
        method.write_string(r, 1, &p.id)?;
        method.write_string(r, 2, &p.published_at)?;
    }
    if let Some(as_of) = &report.as_of {
        r += 1;
        method.write_string(r, 0, "as_of")?;
        method.write_string(r, 1, neutralise(as_of))?;
    }
    r += 2;
    method.write_string_with_format(r, 0, "Freigaben", bold)?;
    for rel in &report.releases {
        r += 1;
        method.write_string(r, 0, &rel.id)?;
        method.write_string(r, 1, &rel.data_version)?;
        method.write_string(r, 2, &rel.frozen_at)?;
        method.write_string(r, 3, rel.reopened_at.as_deref().unwrap_or(""))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("+1"), "'+1");
        assert_eq!(neutralise("-1"), "'-1");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("Stadt Köln"), "Stadt Köln");
        // A reader that splits on ';' or tabs starts a cell there.
        assert_eq!(neutralise("Stadt;=cmd|x;y"), "Stadt;'=cmd|x;y");
        assert_eq!(neutralise("a\t@b"), "a\t'@b");
        assert_eq!(neutralise("a,=1, b"), "a,'=1, b");
        assert_eq!(number(Some(-1.5), Dialect::De), "-1,5");
        assert_eq!(
            sheet_name("Öffentliche Bibliothek: [Test]"),
            "Öffentliche Bibliothek Test"
        );
    }
}
