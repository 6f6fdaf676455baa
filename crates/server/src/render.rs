//! One renderer of a peer report for the API and the web page: the format
//! decides the bytes and their media type; each caller adds its own
//! headers (file names, page headers).

use bytes::Bytes;
use vergleichsring_engine::EngineError;
use vergleichsring_engine::report::Report;
use vergleichsring_report::{Dialect, HtmlOptions};

use crate::contract::ReportFormat;

/// A report in `format`: its media type and bytes. `back_link` puts a link
/// back to that address on the HTML page (the web page's overview); the
/// page's appendix gives the basic figures' definitions from `catalog`.
pub fn report(
    report: &Report,
    catalog: &vergleichsring_catalog::Catalog,
    format: ReportFormat,
    dialect: Dialect,
    back_link: Option<&str>,
) -> Result<(&'static str, Bytes), EngineError> {
    let internal = |e: vergleichsring_report::ReportError| EngineError::Internal(e.to_string());
    Ok(match format {
        ReportFormat::Csv => (
            "text/csv; charset=utf-8",
            vergleichsring_report::to_csv(report, dialect)
                .map_err(internal)?
                .into(),
        ),
        ReportFormat::Xlsx => (
            vergleichsring_ingest::XLSX_TYPE,
            vergleichsring_report::to_xlsx(report)
                .map_err(internal)?
                .into(),
        ),
        ReportFormat::Html => (
            "text/html; charset=utf-8",
            vergleichsring_report::to_html(
                report,
                &HtmlOptions {
                    back_link: back_link.map(str::to_string),
                    catalog: Some(catalog),
                },
            )
            .into(),
        ),
        ReportFormat::Json => (
            "application/json",
            serde_json::to_vec(report)
                .map_err(|e| EngineError::Internal(e.to_string()))?
                .into(),
        ),
    })
}

/// A collection as a table: one row per member.
pub fn collection_table(
    status: &vergleichsring_engine::collection::CollectionStatus,
) -> vergleichsring_report::table::Table {
    use vergleichsring_report::Cell;
    let text = |s: Option<&str>| Cell::Text(s.unwrap_or_default().to_string());
    let columns = [
        "member_id",
        "name",
        "status",
        "status_de",
        "submitted_at",
        "warnings",
        "warnings_open",
        "approved_at",
        "approved_by",
        "reminders",
        "last_reminded_at",
        "last_change",
        "last_change_by",
    ];
    let rows = status
        .members
        .iter()
        .map(|m| {
            vec![
                Cell::Text(m.member_id.clone()),
                Cell::Text(m.name.clone()),
                Cell::Text(m.status.id().to_string()),
                Cell::Text(m.status.german().to_string()),
                text(m.submitted_at.as_deref()),
                Cell::Number(Some(m.warnings.len() as f64)),
                Cell::Number(Some(m.warnings.iter().filter(|w| w.open).count() as f64)),
                text(m.approval.as_ref().map(|a| a.at.as_str())),
                text(m.approval.as_ref().map(|a| a.by.as_str())),
                Cell::Number(Some(m.reminders as f64)),
                text(m.last_reminded_at.as_deref()),
                text(m.last_change.as_deref()),
                text(m.last_change_by.as_deref()),
            ]
        })
        .collect();
    vergleichsring_report::table::Table {
        title: format!("{} {}", status.domain, status.year),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    }
}

/// A table as CSV (`xlsx` false) or XLSX: its media type and bytes. The
/// CSV is written in the English dialect (comma, decimal point).
pub fn table(
    table: &vergleichsring_report::table::Table,
    xlsx: bool,
) -> Result<(&'static str, Bytes), EngineError> {
    table_in(table, xlsx, Dialect::En)
}

/// [`table`] with the CSV in `dialect`: German (semicolon, decimal comma)
/// for a file a person opens in German Excel, which reads a comma file's
/// line as one cell, so that a line starting with a negative number
/// followed by a cell like `5+A1*0` would run as a formula.
pub fn table_in(
    table: &vergleichsring_report::table::Table,
    xlsx: bool,
    dialect: Dialect,
) -> Result<(&'static str, Bytes), EngineError> {
    let internal = |e: vergleichsring_report::ReportError| EngineError::Internal(e.to_string());
    Ok(if xlsx {
        (
            vergleichsring_ingest::XLSX_TYPE,
            vergleichsring_report::table::to_xlsx(table)
                .map_err(internal)?
                .into(),
        )
    } else {
        (
            "text/csv; charset=utf-8",
            vergleichsring_report::table::to_csv(table, dialect)
                .map_err(internal)?
                .into(),
        )
    })
}

/// The XLSX template of a member's (domain, year): the first sheet is its
/// upload (figure ids, the member's row with `values`), the second names
/// every figure. The member id is a text cell, so its leading zero stays.
pub fn entry_template(
    member_id: &str,
    domain: &vergleichsring_catalog::Domain,
    year: i32,
    values: &std::collections::BTreeMap<String, Option<f64>>,
) -> Result<Bytes, EngineError> {
    use vergleichsring_report::Cell;
    use vergleichsring_report::table::Table;
    let mut columns = vec!["member_id".to_string()];
    let mut row = vec![Cell::Text(member_id.to_string())];
    for f in &domain.basic_figures {
        columns.push(f.id.clone());
        row.push(Cell::Number(values.get(&f.id).copied().flatten()));
    }
    let upload = Table {
        title: format!("{} {year}", domain.id),
        columns,
        rows: vec![row],
    };
    let explained = Table {
        title: "Erläuterungen".to_string(),
        columns: [
            "Spalte",
            "Bezeichnung",
            "Einheit",
            "Pflicht",
            "Definition",
            "Quelle",
        ]
        .map(String::from)
        .to_vec(),
        rows: domain
            .basic_figures
            .iter()
            .map(|f| {
                let text = |t: &Option<String>| Cell::Text(t.clone().unwrap_or_default());
                vec![
                    Cell::Text(f.id.clone()),
                    Cell::Text(f.label.clone()),
                    Cell::Text(f.unit.clone()),
                    Cell::Text(if f.required { "ja" } else { "nein" }.to_string()),
                    text(&f.definition),
                    text(&f.source),
                ]
            })
            .collect(),
    };
    vergleichsring_report::table::workbook(&[upload, explained])
        .map(Bytes::from)
        .map_err(|e| EngineError::Internal(e.to_string()))
}

/// A query's JSON answer (`{"columns": [...], "rows": [[...]]}`) as a
/// table: numbers as numbers, everything else as text.
pub fn json_table(title: &str, result: &serde_json::Value) -> vergleichsring_report::table::Table {
    use vergleichsring_report::Cell;
    let columns = result["columns"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    let rows = result["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    r.as_array()
                        .into_iter()
                        .flatten()
                        .map(|v| match v {
                            serde_json::Value::Number(n) => Cell::Number(n.as_f64()),
                            serde_json::Value::Null => Cell::Number(None),
                            serde_json::Value::String(s) => Cell::Text(s.clone()),
                            other => Cell::Text(other.to_string()),
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    vergleichsring_report::table::Table {
        title: title.to_string(),
        columns,
        rows,
    }
}
