//! What every page of the member web page shares: the style, the layout
//! around a page's content, and the error page with its error type.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use vergleichsring_engine::EngineError;

use crate::error::{ApiError, Failure};
use crate::html::html_page;

/// An error shown as a page.
pub struct WebError {
    pub(super) status: StatusCode,
    pub(super) message: String,
    /// The API error's details for the log, carried on (see
    /// `error::log_failures`).
    failure: Option<Failure>,
}

impl WebError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError {
            status,
            message: message.into(),
            failure: None,
        }
    }

    pub(super) fn forbidden(message: impl Into<String>) -> WebError {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub(super) fn bad_request(message: impl Into<String>) -> WebError {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ApiError> for WebError {
    fn from(mut e: ApiError) -> Self {
        let failure = e.take_failure();
        let message = match e.code {
            "give_to_get" => "Vergleiche und Berichte gibt es erst, wenn Sie selbst Zahlen für dieses Jahr eingereicht haben (Geben und Nehmen).".to_string(),
            "unauthorized" => "Bitte melden Sie sich erneut an.".to_string(),
            "not_published" => "Für dieses Jahr gibt es noch keine Veröffentlichung. Vergleiche und Berichte erscheinen, sobald genug Mitglieder ihre Zahlen gemeldet haben oder der Ring das Jahr veröffentlicht; Ihre eigenen Zahlen sind schon gespeichert.".to_string(),
            "not_found" => format!("Nicht gefunden ({}).", e.message),
            "internal_error" => "Der Server konnte die Anfrage nicht beantworten. Bitte versuchen Sie es später erneut; der Betreiber findet Einzelheiten im Protokoll.".to_string(),
            _ => format!("Die Anfrage wurde abgewiesen: {}", e.message),
        };
        WebError {
            failure,
            ..WebError::new(e.status, message)
        }
    }
}

impl From<EngineError> for WebError {
    fn from(e: EngineError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            html_page(error_page(&self.message).into_string()),
        )
            .into_response();
        Failure::attach(self.failure, &mut response);
        response
    }
}

/// The page of an error: what went wrong, and the way back.
pub(super) fn error_page(message: &str) -> Markup {
    layout(
        "Fehler",
        None,
        html! {
            h1 { "Das hat nicht geklappt" }
            p class="error" role="alert" { (message) }
            p { a href="/web" { "Zurück zur Übersicht" } }
        },
    )
}

/// The style of every page, inline because the Content-Security-Policy
/// allows no style sheets from elsewhere.
pub(super) const STYLE: &str = r#"
* { box-sizing: border-box; }
body { font-family: "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: #1f2328; margin: 0; background: #f6f7f9; line-height: 1.45; }
header.bar { background: #1d3f74; color: white; padding: 0.8rem 1.5rem; display: flex; justify-content: space-between; align-items: center; flex-wrap: wrap; gap: 0.5rem; }
header.bar a, header.bar button { color: white; }
header.bar .brand { font-weight: 700; letter-spacing: 0.02em; }
main { max-width: 64rem; margin: 0 auto; padding: 1.5rem; }
section { background: white; border: 1px solid #d0d7de; border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1.25rem; }
h1 { font-size: 1.6rem; margin: 0 0 0.8rem; }
h2 { font-size: 1.2rem; margin: 0 0 0.6rem; }
label { display: block; font-weight: 600; margin: 0.6rem 0 0.2rem; }
input, select, textarea { font: inherit; padding: 0.4rem 0.5rem; border: 1px solid #8c959f; border-radius: 4px; }
input[type=password], input[type=text] { width: 100%; max-width: 32rem; }
textarea { width: 100%; min-height: 2.6rem; }
button { font: inherit; background: #1d3f74; color: white; border: 0; border-radius: 4px; padding: 0.45rem 1rem; cursor: pointer; }
button.link { background: none; border: 1px solid white; padding: 0.25rem 0.7rem; }
.row { display: flex; gap: 1rem; flex-wrap: wrap; align-items: end; }
ul.row { list-style: none; padding-left: 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; border-bottom: 1px solid #d0d7de; padding: 0.35rem 0.4rem; vertical-align: top; }
th { background: #f3f5f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { border-left: 6px solid #1a7f37; }
.error { color: #a40e26; font-weight: 600; }
.notice { border-left: 6px solid #9a6700; }
.refused { border-left: 6px solid #a40e26; }
.muted { color: #57606a; font-size: 0.9rem; }
.tag { display: inline-block; border: 1px solid #57606a; border-radius: 3px; padding: 0 0.3rem; font-size: 0.8rem; }
a.button { display: inline-block; padding: 0.45rem 1rem; border-radius: 4px; background: #1d3f74; color: #fff; text-decoration: none; font-weight: 600; }
:focus-visible { outline: 3px solid #bf8700; outline-offset: 2px; }
"#;

/// A whole page: the head with the style, the bar with the sign-out form
/// when somebody (`who`: name and CSRF token) is signed in, and `content`.
pub(super) fn layout(title: &str, who: Option<(&str, &str)>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="de" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Vergleichsring" }
                // Safe unescaped: STYLE is a constant of this file with no
                // outside input, and CSS inside <style> must not be
                // entity-escaped (its quoted font names would break).
                style { (PreEscaped(STYLE)) }
            }
            body {
                header class="bar" {
                    span class="brand" { "Vergleichsring" }
                    @if let Some((name, csrf)) = who {
                        form method="post" action="/web/abmelden" class="row" {
                            span { (name) }
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" class="link" { "Abmelden" }
                        }
                    }
                }
                main { (content) }
            }
        }
    }
}

/// The head row of a table: one column header per name.
pub(crate) fn table_head(columns: &[&str]) -> Markup {
    html! {
        thead {
            tr {
                @for c in columns {
                    th scope="col" { (c) }
                }
            }
        }
    }
}
