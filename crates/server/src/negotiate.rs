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

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn accepting(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn the_first_known_type_wins_and_parameters_do_not_count() {
        assert_eq!(answer_format(&HeaderMap::new()), TableFormat::Json);
        assert_eq!(
            answer_format(&accepting("text/html, text/csv;q=0.5, application/json")),
            TableFormat::Csv
        );
        assert_eq!(
            answer_format(&accepting("application/vnd.apache.parquet")),
            TableFormat::Parquet
        );
        assert_eq!(answer_format(&accepting("image/png")), TableFormat::Json);
    }

    #[test]
    fn browsers_get_the_report_as_a_page() {
        assert_eq!(
            default_report_format(&accepting("text/html;q=0.9,*/*")),
            ReportFormat::Html
        );
        assert_eq!(
            default_report_format(&accepting("application/json")),
            ReportFormat::Json
        );
        assert_eq!(default_report_format(&HeaderMap::new()), ReportFormat::Json);
    }
}
