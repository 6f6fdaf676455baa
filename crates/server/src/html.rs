//! HTML answers: the headers that keep every page self-contained, shared
//! by the web page and the HTML report of the API.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

/// An HTML page with headers that keep it self-contained: no scripts, and
/// nothing loaded from elsewhere.
pub fn html_page(body: impl Into<axum::body::Body>) -> Response {
    let body: axum::body::Body = body.into();
    let mut r = ([(CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    add_page_headers(r.headers_mut());
    r
}

/// Sets the security headers of every HTML page.
pub fn add_page_headers(headers: &mut HeaderMap) {
    use axum::http::HeaderValue;
    use axum::http::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // `same-origin` rather than `no-referrer`: with no referrer at all,
    // browsers send `Origin: null` on form posts, and the web page checks
    // the origin.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

/// A date and time of RFC 3339 the German way (`31.03.2026, 14:05`, UTC).
pub fn german_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| rfc3339.to_string(),
        |t| {
            t.with_timezone(&chrono::Utc)
                .format("%d.%m.%Y, %H:%M")
                .to_string()
        },
    )
}

/// An ISO date the German way (`31.03.2026`).
pub fn german_date(iso: &str) -> String {
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map_or_else(|_| iso.to_string(), |d| d.format("%d.%m.%Y").to_string())
}
