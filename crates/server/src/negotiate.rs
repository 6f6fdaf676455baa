//! Content negotiation for tabular answers: JSON by default, CSV on request.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT;

/// Answer formats of tabular endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `application/json`.
    Json,
    /// `text/csv`.
    Csv,
}

/// The format a request's `Accept` header asks for (first match wins).
pub fn answer_format(headers: &HeaderMap) -> Answer {
    let accept = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for part in accept.split(',') {
        let essence = part.split(';').next().unwrap_or("").trim();
        match essence {
            "text/csv" => return Answer::Csv,
            "application/json" => return Answer::Json,
            _ => {}
        }
    }
    Answer::Json
}

/// Writes rows as CSV (comma, RFC 4180 quoting).
pub fn to_csv(header: &[&str], rows: &[Vec<String>]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for r in rows {
        w.write_record(r)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
