//! One renderer of a peer report for the API and the web page: the format
//! decides the bytes and their media type; each caller adds its own
//! headers (file names, page headers).

use bytes::Bytes;
use vergleichsring_engine::EngineError;
use vergleichsring_engine::report::Report;
use vergleichsring_report::{Dialect, HtmlOptions};

use crate::contract::ReportFormat;

/// A report in `format`: its media type and bytes. `back_link` puts a link
/// back to that address on the HTML page (the web page's overview).
pub fn report(
    report: &Report,
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
