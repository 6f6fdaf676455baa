//! The member web page: server-rendered HTML in German, without scripts.
//! A member signs in with its token, uploads a file for a domain and year,
//! sees what the checks found as a table, explains warnings, lists its
//! submissions and opens its peer reports.
//!
//! Security: the token is exchanged for a random session id kept in an
//! `HttpOnly; SameSite=Strict` cookie (the token itself stays on the
//! server, in memory, and is authenticated again on every request, so a
//! revoked token ends its sessions at once). Every form carries a CSRF
//! token bound to the session (the sign-in form a double-submit nonce), and
//! a POST whose `Origin` or `Sec-Fetch-Site` says it came from another site
//! is refused. Pages are sent with a Content-Security-Policy that allows no
//! scripts and no resources from elsewhere.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use vergleichsring_engine::disclosure::Audience;
use vergleichsring_engine::workflow::ExplanationInput;
use vergleichsring_engine::{EngineError, SubmitRequest};
use vergleichsring_ingest::{Format, RowError};
use vergleichsring_report::fmt::escape;
use vergleichsring_store::Role;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::html_page;

const SESSION_COOKIE: &str = "vr_session";
const LOGIN_COOKIE: &str = "vr_login";
/// A session ends after this long without a request.
const IDLE: Duration = Duration::from_secs(8 * 3600);
/// At most this many sessions are kept; the oldest goes first.
const MAX_SESSIONS: usize = 10_000;

struct Session {
    token: String,
    csrf: String,
    last_seen: Instant,
}

/// The signed-in browser sessions, in memory: a restart signs everybody
/// out, which is acceptable for a page used a few times a year.
#[derive(Default)]
pub struct Sessions {
    inner: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves a usable map behind.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session for a token: its id and its CSRF token.
    fn create(&self, token: String) -> (String, String) {
        let id = random_hex();
        let csrf = random_hex();
        let mut map = self.lock();
        map.retain(|_, s| s.last_seen.elapsed() < IDLE);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Session {
                token,
                csrf: csrf.clone(),
                last_seen: Instant::now(),
            },
        );
        (id, csrf)
    }

    /// The token and CSRF token of a live session.
    fn get(&self, id: &str) -> Option<(String, String)> {
        let mut map = self.lock();
        let expired = map.get(id)?.last_seen.elapsed() >= IDLE;
        if expired {
            map.remove(id);
            return None;
        }
        let s = map.get_mut(id)?;
        s.last_seen = Instant::now();
        Some((s.token.clone(), s.csrf.clone()))
    }

    fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}

fn random_hex() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
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
fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: u64) -> String {
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
fn same_origin(headers: &HeaderMap) -> Result<(), WebError> {
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

/// An error shown as a page.
pub struct WebError {
    status: StatusCode,
    message: String,
}

impl WebError {
    fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError {
            status,
            message: message.into(),
        }
    }

    fn forbidden(message: impl Into<String>) -> WebError {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    fn bad_request(message: impl Into<String>) -> WebError {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        let message = match e.code {
            "give_to_get" => "Vergleiche und Berichte gibt es erst, wenn Sie selbst Zahlen für dieses Jahr eingereicht haben (Geben und Nehmen).".to_string(),
            "unauthorized" => "Bitte melden Sie sich erneut an.".to_string(),
            "not_published" => "Für dieses Jahr gibt es noch keine Veröffentlichung. Vergleiche und Berichte erscheinen, sobald genug Mitglieder ihre Zahlen gemeldet haben oder der Ring das Jahr veröffentlicht; Ihre eigenen Zahlen sind schon gespeichert.".to_string(),
            "not_found" => format!("Nicht gefunden ({}).", e.message),
            "internal_error" => "Der Server konnte die Anfrage nicht beantworten. Bitte versuchen Sie es später erneut; der Betreiber findet Einzelheiten im Protokoll.".to_string(),
            _ => format!("Die Anfrage wurde abgewiesen: {}", e.message),
        };
        WebError::new(e.status, message)
    }
}

impl From<EngineError> for WebError {
    fn from(e: EngineError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = format!(
            r#"<h1>Das hat nicht geklappt</h1><p class="error" role="alert">{}</p><p><a href="/web">Zurück zur Übersicht</a></p>"#,
            escape(&self.message)
        );
        (self.status, html_page(layout("Fehler", None, &body))).into_response()
    }
}

const STYLE: &str = r#"
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
:focus-visible { outline: 3px solid #bf8700; outline-offset: 2px; }
"#;

fn layout(title: &str, who: Option<(&str, &str)>, body: &str) -> String {
    let mut out = format!(
        r#"<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/><title>{} – Vergleichsring</title><style>{STYLE}</style></head><body><header class="bar"><span class="brand">Vergleichsring</span>"#,
        escape(title)
    );
    if let Some((name, csrf)) = who {
        let _ = write!(
            out,
            r#"<form method="post" action="/web/abmelden" class="row"><span>{}</span><input type="hidden" name="csrf" value="{}"/><button type="submit" class="link">Abmelden</button></form>"#,
            escape(name),
            escape(csrf)
        );
    }
    let _ = writeln!(out, "</header><main>{body}</main></body></html>");
    out
}

/// The routes of the web page, under `/web`.
pub fn router(max_body_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/web", get(home))
        .route("/web/anmelden", post(login))
        .route("/web/abmelden", post(logout))
        .route(
            "/web/hochladen",
            // The form's other fields and the multipart framing come on top
            // of the file itself.
            post(upload).layer(DefaultBodyLimit::max(max_body_bytes + 64 * 1024)),
        )
        .route("/web/erklaeren", post(explain))
        .route("/web/bericht/{year}", get(report))
}

/// A signed-in member.
struct Member {
    caller: Caller,
    member_id: String,
    name: String,
    csrf: String,
}

fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<Member> {
    let id = cookie(headers, SESSION_COOKIE)?;
    let (token, csrf) = state.sessions.get(&id)?;
    let Ok(caller) = Caller::from_token(state, &token) else {
        // The token was revoked: the session ends with it.
        state.sessions.remove(&id);
        return None;
    };
    let member_id = caller.member_id.clone()?;
    let name = state
        .engine
        .store()
        .member(&member_id)
        .map_or_else(|| member_id.clone(), |m| m.name);
    Some(Member {
        caller,
        member_id,
        name,
        csrf,
    })
}

fn require(state: &AppState, headers: &HeaderMap) -> Result<Member, WebError> {
    signed_in(state, headers).ok_or_else(|| {
        WebError::new(
            StatusCode::UNAUTHORIZED,
            "Sie sind nicht (mehr) angemeldet. Bitte melden Sie sich mit Ihrem Zugangsschlüssel an.",
        )
    })
}

fn check_csrf(member: &Member, sent: &str) -> Result<(), WebError> {
    if same_secret(&member.csrf, sent) {
        Ok(())
    } else {
        Err(WebError::forbidden(
            "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
        ))
    }
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_string())]).into_response()
}

/// `GET /web`: the sign-in form, or the member's overview.
#[utoipa::path(
    get,
    path = "/web",
    operation_id = "web_home",
    tag = "web",
    summary = "Sign-in form or overview",
    description = "Without a session the sign-in form; with one the member's overview: the upload form, open warnings to explain, its reports and its submissions.",
    params(crate::openapi::WebHomeQuery),
    security((), ("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
    )
)]
async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    match signed_in(&state, &headers) {
        Some(member) => overview(&state, &member, &params).await,
        None => Ok(login_page(&headers, None, StatusCode::OK)),
    }
}

fn login_page(headers: &HeaderMap, error: Option<&str>, status: StatusCode) -> Response {
    let nonce = random_hex();
    let mut body = String::from(
        r#"<section><h1>Anmelden</h1><p>Melden Sie sich mit dem Zugangsschlüssel Ihrer Kommune an. Sie erhalten ihn vom Betreiber des Vergleichsrings; er beginnt mit <code>vr_</code>.</p>"#,
    );
    if let Some(e) = error {
        let _ = write!(body, r#"<p class="error" role="alert">{}</p>"#, escape(e));
    }
    let _ = write!(
        body,
        r#"<form method="post" action="/web/anmelden"><input type="hidden" name="nonce" value="{nonce}"/><label for="token">Zugangsschlüssel</label><input type="password" id="token" name="token" autocomplete="current-password" required="required"/><p><button type="submit">Anmelden</button></p></form></section>"#
    );
    let mut response = (status, html_page(layout("Anmelden", None, &body))).into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(headers, LOGIN_COOKIE, &nonce, 3600)) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginForm {
    token: String,
    nonce: String,
}

/// `POST /web/anmelden`.
#[utoipa::path(
    post,
    path = "/web/anmelden",
    operation_id = "web_login",
    tag = "web",
    summary = "Sign in",
    description = "Exchanges a member token for a session cookie; the token itself stays on the server. The form carries the nonce of the sign-in page (double submit). Only member tokens may sign in.",
    request_body(content = inline(LoginForm), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: on to `/web`, with the session cookie.", headers(("location" = String, description = "`/web`"), ("set-cookie" = String, description = "`vr_session`, HttpOnly, SameSite=Strict"))),
        (status = 401, description = "The token is unknown or revoked: the form again, with the reason.", body = String, content_type = "text/html"),
        (status = 403, description = "A stale form, a post from another site, or not a member token.", body = String, content_type = "text/html"),
        (status = 415, description = "Not a form (`application/x-www-form-urlencoded`).", body = String, content_type = "text/plain"),
        (status = 422, description = "A field of the form is missing.", body = String, content_type = "text/plain"),
    )
)]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    same_origin(&headers)?;
    let nonce_ok = cookie(&headers, LOGIN_COOKIE).is_some_and(|c| same_secret(&c, &form.nonce));
    if !nonce_ok {
        return Ok(login_page(
            &headers,
            Some("Das Anmeldeformular ist abgelaufen. Bitte versuchen Sie es noch einmal."),
            StatusCode::FORBIDDEN,
        ));
    }
    let token = form.token.trim();
    let caller = match Caller::from_token(&state, token) {
        Ok(c) => c,
        Err(_) => {
            return Ok(login_page(
                &headers,
                Some("Dieser Zugangsschlüssel ist unbekannt oder wurde gesperrt."),
                StatusCode::UNAUTHORIZED,
            ));
        }
    };
    if caller.role != Role::Member || caller.member_id.is_none() {
        return Ok(login_page(
            &headers,
            Some(
                "Diese Seite ist für Mitgliedskommunen. Analysten, Berater und Betreiber nutzen die Programmierschnittstelle (API).",
            ),
            StatusCode::FORBIDDEN,
        ));
    }
    let (id, _) = state.sessions.create(token.to_string());
    let mut response = see_other("/web");
    for c in [
        set_cookie(&headers, SESSION_COOKIE, &id, IDLE.as_secs()),
        set_cookie(&headers, LOGIN_COOKIE, "", 0),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    Ok(response)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CsrfForm {
    csrf: String,
}

/// `POST /web/abmelden`.
#[utoipa::path(
    post,
    path = "/web/abmelden",
    operation_id = "web_logout",
    tag = "web",
    summary = "Sign out",
    description = "Ends the session; the form carries the session's CSRF token.",
    request_body(content = inline(CsrfForm), content_type = "application/x-www-form-urlencoded"),
    security((), ("session" = [])),
    responses(
        (status = 303, description = "Signed out: on to `/web`, the cookie cleared.", headers(("location" = String, description = "`/web`"))),
        (status = 403, description = "A wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        (status = 415, description = "Not a form (`application/x-www-form-urlencoded`).", body = String, content_type = "text/plain"),
        (status = 422, description = "A field of the form is missing.", body = String, content_type = "text/plain"),
    )
)]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    same_origin(&headers)?;
    if let Some(member) = signed_in(&state, &headers) {
        check_csrf(&member, &form.csrf)?;
        if let Some(id) = cookie(&headers, SESSION_COOKIE) {
            state.sessions.remove(&id);
        }
    }
    let mut response = see_other("/web");
    if let Ok(v) = HeaderValue::from_str(&set_cookie(&headers, SESSION_COOKIE, "", 0)) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    Ok(response)
}

fn this_year() -> i32 {
    use chrono::Datelike;
    chrono::Utc::now().year()
}

fn domain_label<'a>(state: &'a AppState, id: &'a str) -> &'a str {
    state
        .engine
        .catalog()
        .domains
        .iter()
        .find(|d| d.id == id)
        .map_or(id, |d| d.label.as_str())
}

fn upload_form(
    state: &AppState,
    member: &Member,
    domain: Option<&str>,
    year: Option<i32>,
) -> String {
    let mut out = String::from(
        r#"<section id="hochladen"><h2>Zahlen hochladen</h2><form method="post" action="/web/hochladen" enctype="multipart/form-data">"#,
    );
    let _ = write!(
        out,
        r#"<input type="hidden" name="csrf" value="{}"/><div class="row"><div><label for="domain">Sparte</label><select id="domain" name="domain">"#,
        escape(&member.csrf)
    );
    for d in &state.engine.catalog().domains {
        let _ = write!(
            out,
            r#"<option value="{}"{}>{}</option>"#,
            escape(&d.id),
            if domain == Some(d.id.as_str()) {
                r#" selected="selected""#
            } else {
                ""
            },
            escape(&d.label)
        );
    }
    out.push_str(r#"</select></div><div><label for="year">Berichtsjahr</label><select id="year" name="year">"#);
    let latest = this_year() - 1;
    let chosen = year.unwrap_or(latest);
    for y in (latest - 9..=latest).rev() {
        let _ = write!(
            out,
            r#"<option value="{y}"{}>{y}</option>"#,
            if y == chosen {
                r#" selected="selected""#
            } else {
                ""
            }
        );
    }
    out.push_str(r#"</select></div><div><label for="file">Datei</label><input type="file" id="file" name="file" accept=".csv,.xlsx,.parquet" required="required"/></div><div><button type="submit">Hochladen und prüfen</button></div></div></form>"#);
    out.push_str(r#"<p class="muted">CSV (Semikolon oder Komma, auch aus Excel gespeichert), Excel-Arbeitsmappe (.xlsx) oder Parquet. Erste Zeile: Spaltennamen (Kennungen oder deutsche Bezeichnungen); eine Zeile mit Ihrer Mitgliedsnummer in der Spalte <code>member_id</code>. Eine fehlerhafte Datei wird nicht gespeichert.</p>"#);
    out.push_str("<details><summary>Welche Spalten erwartet werden</summary>");
    for d in &state.engine.catalog().domains {
        let _ = write!(
            out,
            r#"<h3>{}</h3><table><thead><tr><th scope="col">Spalte</th><th scope="col">Bezeichnung</th><th scope="col">Einheit</th><th scope="col">Pflicht</th></tr></thead><tbody>"#,
            escape(&d.label)
        );
        for f in &d.basic_figures {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&f.id),
                escape(&f.label),
                escape(&f.unit),
                if f.required { "ja" } else { "nein" }
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</details></section>");
    out
}

/// The German label of a basic figure (or of each in a list like
/// `loans, visits`), else the id.
fn figure_label(state: &AppState, domain: &str, figure: &str) -> String {
    let d = state
        .engine
        .catalog()
        .domains
        .iter()
        .find(|d| d.id == domain);
    figure
        .split(',')
        .map(|f| {
            let f = f.trim();
            d.and_then(|d| d.basic_figure(f))
                .map_or_else(|| f.to_string(), |b| b.label.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The German message of a rule when the catalogue has one.
fn rule_message_de(state: &AppState, domain: &str, e: &RowError) -> String {
    let catalog = state.engine.catalog();
    let from_domain = catalog
        .domains
        .iter()
        .filter(|d| d.id == domain)
        .flat_map(|d| {
            d.rules
                .iter()
                .map(|r| (r.id.as_str(), r.message_de.as_str()))
                .chain(
                    d.yoy_rules
                        .iter()
                        .map(|r| (r.id.as_str(), r.message_de.as_str())),
                )
        })
        .find(|(id, _)| *id == e.rule)
        .map(|(_, m)| m.to_string());
    let builtin = || {
        vergleichsring_catalog::BUILTIN_CHECKS
            .iter()
            .find(|c| c.id == e.rule)
            .map(|c| c.message_de.to_string())
    };
    match from_domain.or_else(builtin) {
        // The specific English sentence names the value; the German rule
        // text says what the rule is.
        Some(de) => format!("{de} ({})", e.message),
        None => e.message.clone(),
    }
}

fn explain_form(member: &Member, submission_id: &str, rule: &str) -> String {
    format!(
        r#"<form method="post" action="/web/erklaeren"><input type="hidden" name="csrf" value="{}"/><input type="hidden" name="submission_id" value="{}"/><input type="hidden" name="rule" value="{}"/><label for="x-{}">Erklärung</label><textarea id="x-{}" name="text" required="required" maxlength="2000"></textarea><button type="submit">Erklärung speichern</button></form>"#,
        escape(&member.csrf),
        escape(submission_id),
        escape(rule),
        escape(&format!("{submission_id}-{rule}")),
        escape(&format!("{submission_id}-{rule}")),
    )
}

async fn overview(
    state: &AppState,
    member: &Member,
    params: &HashMap<String, String>,
) -> Result<Response, WebError> {
    let mut body = format!(
        r#"<h1>{}</h1><p class="muted">Mitgliedsnummer {}</p>"#,
        escape(&member.name),
        escape(&member.member_id)
    );
    if params.contains_key("erklaert") {
        body.push_str(r#"<section class="ok" role="status"><p>Ihre Erklärung wurde gespeichert.</p></section>"#);
    }
    body.push_str(&upload_form(state, member, None, None));

    let open = state
        .engine
        .warnings(None, None, Some(&member.member_id), true)
        .await?;
    let _ = write!(
        body,
        r#"<section id="hinweise"><h2>Offene Hinweise ({})</h2>"#,
        open.len()
    );
    if open.is_empty() {
        body.push_str("<p>Zu Ihren aktuellen Zahlen gibt es keine unerklärten Hinweise.</p>");
    } else {
        body.push_str(r#"<p class="muted">Hinweise halten eine Datei nicht auf. Bitte erklären Sie auffällige Werte kurz (z. B. „Umbau, drei Monate geschlossen“), damit der Ring sie einordnen kann.</p><table><thead><tr><th scope="col">Sparte</th><th scope="col">Jahr</th><th scope="col">Feld</th><th scope="col">Hinweis</th><th scope="col">Erklärung</th></tr></thead><tbody>"#);
        for w in &open {
            let _ = write!(
                body,
                r#"<tr class="warning"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                escape(domain_label(state, &w.domain)),
                w.year,
                escape(&figure_label(state, &w.domain, &w.figure)),
                escape(&w.message_de),
                explain_form(member, &w.submission_id, &w.rule)
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");

    // Submissions of the last ten years, newest first, and the years with
    // figures, for which a report exists.
    let mut rows = String::new();
    let mut years = std::collections::BTreeSet::new();
    let latest = this_year();
    for y in (latest - 10..=latest).rev() {
        for d in &state.engine.catalog().domains {
            let list = state
                .engine
                .submissions(&d.id, y, Some(&member.member_id))
                .await?;
            for s in list {
                let current = s.current_for.contains(&member.member_id);
                if current {
                    years.insert(y);
                }
                let _ = write!(
                    rows,
                    r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td>{}</td></tr>"#,
                    escape(&d.label),
                    y,
                    escape(
                        &s.submitted_at
                            .replace('T', " ")
                            .chars()
                            .take(16)
                            .collect::<String>()
                    ),
                    escape(&s.format.clone().unwrap_or_else(|| "–".into())),
                    s.warnings.len(),
                    if current {
                        r#"<span class="tag">aktuell</span>"#
                    } else {
                        "ersetzt"
                    }
                );
            }
        }
    }
    body.push_str(r#"<section id="berichte"><h2>Ihre Berichte</h2>"#);
    if years.is_empty() {
        body.push_str(
            "<p>Berichte gibt es für jedes Jahr, für das Sie Zahlen eingereicht haben.</p>",
        );
    } else {
        body.push_str("<ul>");
        for y in years.iter().rev() {
            let _ = write!(
                body,
                r#"<li><a href="/web/bericht/{y}">Vergleichsbericht {y}</a> · <a href="/web/bericht/{y}?format=xlsx">Excel</a> · <a href="/web/bericht/{y}?format=csv">CSV</a></li>"#
            );
        }
        body.push_str("</ul>");
    }
    body.push_str("</section>");
    body.push_str(r#"<section id="einreichungen"><h2>Ihre Einreichungen</h2>"#);
    if rows.is_empty() {
        body.push_str("<p>Noch keine Einreichungen.</p>");
    } else {
        let _ = write!(
            body,
            r#"<table><thead><tr><th scope="col">Sparte</th><th scope="col">Jahr</th><th scope="col">Eingereicht (UTC)</th><th scope="col">Format</th><th scope="col">Hinweise</th><th scope="col">Stand</th></tr></thead><tbody>{rows}</tbody></table>"#
        );
    }
    body.push_str("</section>");
    Ok(html_page(layout(
        "Übersicht",
        Some((&member.name, &member.csrf)),
        &body,
    )))
}

/// `POST /web/hochladen` (multipart): validates and stores a file, then
/// shows what the checks found.
#[utoipa::path(
    post,
    path = "/web/hochladen",
    operation_id = "web_upload",
    tag = "web",
    summary = "Upload a file",
    description = "Validates and stores the member's file for a domain and year, then shows what the checks found: the warnings to explain, or, when the file is refused, a table naming row, column and rule (nothing is stored then).",
    request_body(content = inline(crate::openapi::UploadForm), content_type = "multipart/form-data"),
    security(("session" = [])),
    responses(
        (status = 201, description = "Stored; the page lists the warnings, if any.", body = String, content_type = "text/html"),
        (status = 400, description = "No domain, year or file (a page), or not a multipart form (plain text).",
            content((String = "text/html"), (String = "text/plain"))
        ),
        (status = 401, description = "Not signed in (any more): the page says so.", body = String, content_type = "text/html"),
        (status = 403, description = "A wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        (status = 404, description = "Unknown domain.", body = String, content_type = "text/html"),
        (status = 409, description = "The (domain, year) is frozen.", body = String, content_type = "text/html"),
        (status = 413, description = "The file is larger than the limit.", body = String, content_type = "text/html"),
        (status = 415, description = "The file's name has no known extension.", body = String, content_type = "text/html"),
        (status = 422, description = "Refused: the page lists every error; nothing was stored.", body = String, content_type = "text/html"),
    )
)]
async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    same_origin(&headers)?;
    let member = require(&state, &headers)?;
    let (mut csrf, mut domain, mut year, mut file) = (None, None, None, None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(WebError::new(
                    e.status(),
                    format!(
                        "Die Datei kam nicht vollständig an ({e}). Die Grenze liegt bei {} MB.",
                        state.config.max_body_bytes / (1024 * 1024)
                    ),
                ));
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let bytes = field.bytes().await.map_err(|e| {
            WebError::new(
                e.status(),
                format!(
                    "Die Datei kam nicht vollständig an ({e}). Die Grenze liegt bei {} MB.",
                    state.config.max_body_bytes / (1024 * 1024)
                ),
            )
        })?;
        match name.as_str() {
            "csrf" => csrf = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "domain" => domain = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "year" => year = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" => file = Some((filename.unwrap_or_default(), bytes)),
            _ => {}
        }
    }
    check_csrf(&member, csrf.as_deref().unwrap_or(""))?;
    let domain = domain.ok_or_else(|| WebError::bad_request("Bitte wählen Sie eine Sparte."))?;
    state.engine.domain(&domain)?;
    let year: i32 = year
        .as_deref()
        .and_then(|y| y.trim().parse().ok())
        .filter(|y| (1990..=2100).contains(y))
        .ok_or_else(|| {
            WebError::bad_request("Bitte wählen Sie ein Berichtsjahr zwischen 1990 und 2100.")
        })?;
    let (filename, bytes) = file.filter(|(_, b)| !b.is_empty()).ok_or_else(|| {
        WebError::bad_request("Bitte wählen Sie eine Datei aus; die gesendete Datei war leer.")
    })?;
    let format = Format::from_extension(&filename).ok_or_else(|| {
        WebError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Die Datei „{filename}“ hat keine bekannte Endung. Bitte laden Sie eine .csv-, .xlsx- oder .parquet-Datei hoch."),
        )
    })?;
    let label = domain_label(&state, &domain).to_string();
    let outcome = state
        .engine
        .submit(SubmitRequest {
            domain: domain.clone(),
            year,
            content_type: format.content_type().to_string(),
            body: bytes,
            token_id: member.caller.token_id.clone(),
            own_member: Some(member.member_id.clone()),
        })
        .await;
    let mut body = String::new();
    let status = match outcome {
        Ok(o) => {
            let _ = write!(
                body,
                r#"<section class="ok" role="status"><h1>Gespeichert</h1><p>Ihre Zahlen für <strong>{}</strong>, Berichtsjahr <strong>{year}</strong>, aus „{}“ wurden geprüft und gespeichert (Einreichung {}).</p>"#,
                escape(&label),
                escape(&filename),
                escape(&o.submission_id)
            );
            // Rule 10: others see a change only with the next publication.
            match &o.publication {
                Some(p) => {
                    let _ = write!(
                        body,
                        "<p>Damit haben genug Mitglieder gemeldet: der Ring hat das Jahr neu veröffentlicht (Stand {}); Vergleiche und Berichte zeigen Ihre Zahlen.</p>",
                        escape(&p.id)
                    );
                }
                None => body.push_str("<p>In Vergleichen und Berichten erscheinen Ihre Zahlen mit der nächsten Veröffentlichung des Jahres, sobald mindestens fünf Mitglieder gemeldet oder berichtigt haben.</p>"),
            }
            if o.warnings.is_empty() {
                body.push_str("<p>Die Prüfung ergab keine Hinweise.</p>");
            } else {
                let _ = write!(
                    body,
                    r#"</section><section class="notice" id="hinweise"><h2>{} Hinweis(e) zur Plausibilität</h2><p>Die Zahlen sind gespeichert. Bitte prüfen Sie die folgenden Werte und erklären Sie sie, wenn sie stimmen.</p><table><thead><tr><th scope="col">Zeile</th><th scope="col">Feld</th><th scope="col">Hinweis</th><th scope="col">Erklärung</th></tr></thead><tbody>"#,
                    o.warnings.len()
                );
                for w in &o.warnings {
                    let _ = write!(
                        body,
                        r#"<tr class="warning"><td class="num">{}</td><td>{} <code>{}</code></td><td>{}</td><td>{}</td></tr>"#,
                        w.row,
                        escape(&figure_label(&state, &domain, &w.figure)),
                        escape(&w.figure),
                        escape(&w.message_de),
                        explain_form(&member, &o.submission_id, &w.rule)
                    );
                }
                body.push_str("</tbody></table>");
            }
            let _ = write!(
                body,
                r#"<p><a href="/web/bericht/{year}">Vergleichsbericht {year} öffnen</a> · <a href="/web">Zur Übersicht</a></p></section>"#
            );
            StatusCode::CREATED
        }
        Err(EngineError::Rejected(errors)) => {
            let _ = write!(
                body,
                r#"<section class="refused" role="alert"><h1>Nicht gespeichert</h1><p>Die Datei „{}“ für <strong>{}</strong>, Berichtsjahr <strong>{year}</strong>, wurde <strong>nicht</strong> gespeichert: die Prüfung fand {} Fehler. Bitte korrigieren Sie die Datei und laden Sie sie erneut hoch.</p><table><thead><tr><th scope="col">Zeile</th><th scope="col">Mitglied</th><th scope="col">Spalte</th><th scope="col">Regel</th><th scope="col">Meldung</th></tr></thead><tbody>"#,
                escape(&filename),
                escape(&label),
                errors.len()
            );
            for e in &errors {
                let _ = write!(
                    body,
                    r#"<tr class="rejection"><td class="num">{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>"#,
                    e.row.map_or("–".to_string(), |r| r.to_string()),
                    escape(e.member_id.as_deref().unwrap_or("–")),
                    escape(e.column.as_deref().unwrap_or("–")),
                    escape(&e.rule),
                    escape(&rule_message_de(&state, &domain, e))
                );
            }
            body.push_str("</tbody></table></section>");
            body.push_str(&upload_form(&state, &member, Some(&domain), Some(year)));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(EngineError::Store(vergleichsring_store::StoreError::Frozen { release, .. })) => {
            let _ = write!(
                body,
                r#"<section class="refused" role="alert"><h1>Nicht gespeichert</h1><p>Die Zahlen für <strong>{}</strong>, Berichtsjahr <strong>{year}</strong>, sind als Stand <strong>{}</strong> freigegeben und eingefroren, damit veröffentlichte Berichte gleich bleiben. Korrekturen nimmt die Geschäftsstelle des Rings entgegen; sie kann das Jahr wieder öffnen.</p><p><a href="/web">Zur Übersicht</a></p></section>"#,
                escape(&label),
                escape(&release)
            );
            StatusCode::CONFLICT
        }
        Err(other) => return Err(other.into()),
    };
    Ok((
        status,
        html_page(layout(
            "Hochladen",
            Some((&member.name, &member.csrf)),
            &body,
        )),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ExplainForm {
    csrf: String,
    submission_id: String,
    rule: String,
    text: String,
}

/// `POST /web/erklaeren`: stores the explanation of a warning.
#[utoipa::path(
    post,
    path = "/web/erklaeren",
    operation_id = "web_explain",
    tag = "web",
    summary = "Explain a warning",
    description = "Stores the member's explanation of one warning of its submission.",
    request_body(content = inline(ExplainForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 303, description = "Saved: back to the overview's warnings.", headers(("location" = String, description = "`/web?erklaert=1#hinweise`"))),
        (status = 400, description = "An empty explanation, or no such warning.", body = String, content_type = "text/html"),
        (status = 401, description = "Not signed in (any more): the page says so.", body = String, content_type = "text/html"),
        (status = 403, description = "A wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        (status = 404, description = "No such submission of the member.", body = String, content_type = "text/html"),
        (status = 415, description = "Not a form (`application/x-www-form-urlencoded`).", body = String, content_type = "text/plain"),
        (status = 422, description = "A field of the form is missing.", body = String, content_type = "text/plain"),
    )
)]
async fn explain(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ExplainForm>,
) -> Result<Response, WebError> {
    same_origin(&headers)?;
    let member = require(&state, &headers)?;
    check_csrf(&member, &form.csrf)?;
    let text = form.text.trim();
    if text.is_empty() {
        return Err(WebError::bad_request("Bitte schreiben Sie eine Erklärung."));
    }
    state
        .engine
        .explain(
            &form.submission_id,
            Some(&member.member_id),
            &member.caller.token_id,
            vec![ExplanationInput {
                member_id: None,
                rule: form.rule,
                text: text.to_string(),
            }],
        )
        .await?;
    Ok(see_other("/web?erklaert=1#hinweise"))
}

/// `GET /web/bericht/{year}[?format=xlsx|csv]`: the member's own report.
#[utoipa::path(
    get,
    path = "/web/bericht/{year}",
    operation_id = "web_report",
    tag = "web",
    summary = "The member's own report",
    description = "The signed-in member's peer report for a year as a page, or as an Excel or CSV download (German number format).",
    params(crate::openapi::YearPath, crate::openapi::WebReportQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The report.",
            content(
                (String = "text/html"),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "text/csv"),
            )
        ),
        (status = 400, description = "The year is not a number.", body = String, content_type = "text/html"),
        (status = 401, description = "Not signed in (any more): the page says so.", body = String, content_type = "text/html"),
        (status = 403, description = "The member has not submitted for the year (give to get).", body = String, content_type = "text/html"),
        (status = 404, description = "No such year.", body = String, content_type = "text/html"),
    )
)]
async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(year): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let member = require(&state, &headers)?;
    let year: i32 = year
        .parse()
        .map_err(|_| WebError::bad_request(format!("„{year}“ ist kein Jahr.")))?;
    let report = state
        .engine
        .report(&member.member_id, year, Audience::Member, None)
        .await?;
    member
        .caller
        .log_access(&state, "report", &member.member_id, None, Some(year));
    let internal = |e: vergleichsring_report::ReportError| {
        WebError::from(EngineError::Internal(e.to_string()))
    };
    let file = format!("vergleichsbericht_{}_{year}", member.member_id);
    Ok(match params.get("format").map(String::as_str) {
        Some("xlsx") => (
            [
                (CONTENT_TYPE, vergleichsring_ingest::XLSX_TYPE.to_string()),
                (
                    CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file}.xlsx\""),
                ),
            ],
            vergleichsring_report::to_xlsx(&report).map_err(internal)?,
        )
            .into_response(),
        Some("csv") => (
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file}.csv\""),
                ),
            ],
            vergleichsring_report::to_csv(&report, vergleichsring_report::Dialect::De)
                .map_err(internal)?,
        )
            .into_response(),
        _ => html_page(vergleichsring_report::to_html(
            &report,
            &vergleichsring_report::HtmlOptions {
                back_link: Some("/web".into()),
            },
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_secrets() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("a=1; vr_session=abc; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        let c = set_cookie(&h, SESSION_COOKIE, "x", 60);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(set_cookie(&h, SESSION_COOKIE, "x", 60).ends_with("; Secure"));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("ring.example:8080"));
        assert!(same_origin(&h).is_ok());
        h.insert(
            "origin",
            HeaderValue::from_static("http://ring.example:8080"),
        );
        assert!(same_origin(&h).is_ok());
        h.insert("origin", HeaderValue::from_static("http://evil.example"));
        assert!(same_origin(&h).is_err());
        h.remove("origin");
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_origin(&h).is_err());
    }

    #[test]
    fn sessions_expire_and_are_bounded() {
        let s = Sessions::default();
        let (id, csrf) = s.create("tok".into());
        assert_eq!(s.get(&id), Some(("tok".to_string(), csrf)));
        s.remove(&id);
        assert_eq!(s.get(&id), None);
        assert_ne!(random_hex(), random_hex());
    }
}
