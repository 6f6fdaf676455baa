//! The checks under the web page's sessions: its cookies, the CSRF check,
//! the double-submit nonce of the sign-in and the origin check of every
//! POST. Who a session stands for, and the extractors that run these
//! checks for every handler, are in `signed_in.rs`.

use super::*;
pub(super) use crate::secrets::{random_hex, same_secret};

pub(super) const SESSION_COOKIE: &str = "vr_session";

pub(super) const LOGIN_COOKIE: &str = "vr_login";

pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Behind a TLS proxy (`X-Forwarded-Proto: https`) cookies get `Secure`.
pub(super) fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: u64) -> String {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    format!(
        "{name}={value}; Path=/web; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Refuses a POST that a browser marks as coming from another site.
pub(super) fn same_origin(headers: &HeaderMap) -> Result<(), WebError> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Err(WebError::forbidden(
            "Diese Anfrage kam von einer anderen Website und wurde abgewiesen.",
        ));
    }
    if let (Some(origin), Some(host)) = (header("origin"), headers.get(HOST)) {
        let host = host.to_str().unwrap_or("");
        let ok = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| o == host);
        if !ok {
            return Err(WebError::forbidden(
                "Diese Anfrage kam von einer anderen Website und wurde abgewiesen.",
            ));
        }
    }
    Ok(())
}

pub(super) fn check_csrf(csrf: &str, sent: &str) -> Result<(), WebError> {
    if same_secret(csrf, sent) {
        Ok(())
    } else {
        Err(WebError::forbidden(
            "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
        ))
    }
}

/// A page of a form without a session (sign-in, forgotten password) with a
/// fresh double-submit nonce: `page` gets the nonce, which also goes into
/// the sign-in cookie.
pub(super) fn with_nonce(
    headers: &HeaderMap,
    status: StatusCode,
    page: impl FnOnce(&str) -> maud::Markup,
) -> Response {
    let nonce = random_hex();
    let mut response = (status, crate::html::html_page(page(&nonce).into_string())).into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(headers, LOGIN_COOKIE, &nonce, 3600)) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

/// Whether a form's nonce is the one of the sign-in cookie.
pub(super) fn nonce_ok(headers: &HeaderMap, sent: &str) -> bool {
    cookie(headers, LOGIN_COOKIE).is_some_and(|c| same_secret(&c, sent))
}

/// The account an open link is for: an invitation (`reset` false) or a
/// password reset, or the page saying it is gone.
pub(super) async fn open_link(
    state: &AppState,
    code: &str,
    reset: bool,
    gone: fn() -> WebError,
) -> Result<vergleichsring_store::UserRecord, WebError> {
    state
        .store
        .invitation(code)
        .await
        .filter(|(_, i)| i.reset == reset)
        .map(|(user, _)| user)
        .ok_or_else(gone)
}
