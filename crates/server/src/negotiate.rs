//! Content negotiation, the one reader of the `Accept` header: tabular
//! answers in JSON by default and CSV, Arrow IPC or Parquet when `Accept`
//! asks for them; reports as a page for browsers.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT;
use vergleichsring_engine::export::TableFormat;

use crate::contract::ReportFormat;

/// The media types a request's `Accept` header names, in its order,
/// without their parameters (`q` included: the first known type wins).
fn accepted(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(',')
        .map(|part| part.split(';').next().unwrap_or("").trim())
}

/// The format a request's `Accept` header asks for (first known type wins).
pub fn answer_format(headers: &HeaderMap) -> TableFormat {
    for essence in accepted(headers) {
        match essence {
            "text/csv" => return TableFormat::Csv,
            "application/vnd.apache.arrow.stream" => return TableFormat::ArrowIpc,
            "application/vnd.apache.parquet" => return TableFormat::Parquet,
            "application/json" => return TableFormat::Json,
            _ => {}
        }
    }
    TableFormat::Json
}

/// `html` when the `Accept` header names `text/html` (a browser), else `json`.
pub fn default_report_format(headers: &HeaderMap) -> ReportFormat {
    if accepted(headers).any(|essence| essence == "text/html") {
        ReportFormat::Html
    } else {
        ReportFormat::Json
    }
}
