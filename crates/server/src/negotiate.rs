//! Content negotiation for tabular answers: JSON by default; CSV, Arrow IPC
//! or Parquet when `Accept` asks for them.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT;
use vergleichsring_engine::export::TableFormat;

/// The format a request's `Accept` header asks for (first known type wins).
pub fn answer_format(headers: &HeaderMap) -> TableFormat {
    let accept = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for part in accept.split(',') {
        let essence = part.split(';').next().unwrap_or("").trim();
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
