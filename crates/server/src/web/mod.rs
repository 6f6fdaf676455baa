//! The web pages: server-rendered HTML in German, without scripts.
//! A member signs in with its account (`accounts.rs`: password,
//! invitations; `second_factor.rs`: the code after it) or its token,
//! uploads a file or enters figures in a form (`entry.rs`) for a domain and
//! year, sees what the checks found as a table, explains warnings, lists
//! its submissions and opens its peer reports (`home.rs`: the overview).
//! The other roles have workspaces: the coordinator (admin) runs each
//! year's collection (`coordinator.rs`, `publish.rs`, `members.rs`,
//! `admin.rs`), the analyst explores and queries (`analyst.rs`), the
//! consultant opens granted members' reports (`consultant.rs`); the
//! analyst also builds custom groups (`group_builder.rs`).
//!
//! Security: signing in gives a random session id kept in an
//! `HttpOnly; SameSite=Strict` cookie; the session (in the state log, as
//! the id's hash) acts as the token or account by id, which is checked
//! again on every request, so a revoked token or disabled account ends its
//! sessions at once. Every form carries a CSRF
//! token bound to the session (the sign-in form a double-submit nonce), and
//! a POST whose `Origin` or `Sec-Fetch-Site` says it came from another site
//! is refused. Pages are sent with a Content-Security-Policy that allows no
//! scripts and no resources from elsewhere.

use axum::extract::{DefaultBodyLimit, Form, Multipart, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vergleichsring_engine::disclosure::Audience;
use vergleichsring_engine::workflow::ExplanationInput;
use vergleichsring_engine::{EngineError, SubmitRequest};
use vergleichsring_ingest::Format;
use vergleichsring_store::Role;

use crate::AppState;
use crate::auth::Caller;
use crate::contract::{self, ReportFormat};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::html::html_page;
use crate::render;

mod accounts;
mod admin;
mod analyst;
mod consultant;
mod cookies;
mod coordinator;
mod entry;
mod group_builder;
mod home;
mod layout;
mod members;
mod neighbours;
mod pages;
mod publish;
mod recovery;
mod second_factor;
mod signed_in;
mod sso;
#[cfg(test)]
mod tests;

use accounts::*;
use cookies::*;
use home::overview;
use layout::WebError;
use recovery::*;
use second_factor::*;
use signed_in::*;
use sso::*;

/// The routes of the web page, under `/web`, with their OpenAPI paths.
pub fn router(max_body_bytes: usize) -> OpenApiRouter<AppState> {
    // The form's other fields and the multipart framing come on top of the
    // file itself.
    let upload_limit = DefaultBodyLimit::max(max_body_bytes + 64 * 1024);
    OpenApiRouter::new()
        .routes(routes!(home))
        .routes(routes!(disclosure_page))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(invitation, accept_invitation))
        .routes(routes!(colleagues, invite_colleague))
        .routes(routes!(second_factor, submit_second_factor))
        .routes(routes!(personal_tokens, create_personal_token))
        .routes(routes!(revoke_personal_token))
        .routes(routes!(forgot_password, request_password_reset))
        .routes(routes!(reset_link, reset_password))
        .routes(routes!(sso_start))
        .routes(routes!(sso_return))
        .routes(routes!(admin::users, admin::invite_user))
        .routes(routes!(admin::disable_user))
        .routes(routes!(admin::reset_second_factor))
        .routes(routes!(coordinator::collection))
        .routes(routes!(coordinator::collection_export))
        .routes(routes!(coordinator::member_review))
        .routes(routes!(coordinator::review_queue))
        .routes(routes!(coordinator::set_deadline))
        .routes(routes!(coordinator::review_warning))
        .routes(routes!(coordinator::approve))
        .routes(routes!(coordinator::remind))
        .routes(routes!(consultant::workspace))
        .routes(routes!(neighbours::neighbours_page))
        .routes(routes!(analyst::explorer))
        .routes(routes!(analyst::sql_console, analyst::run_sql))
        .routes(routes!(group_builder::builder, group_builder::save_group))
        .routes(routes!(publish::publish_page, publish::publish))
        .routes(routes!(consultant::report))
        .routes(routes!(members::members, members::register_member))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(upload))
                .layer(upload_limit),
        )
        .routes(routes!(entry::entry, entry::submit_entry))
        .routes(routes!(entry::entry_template))
        .routes(routes!(explain))
        .routes(routes!(report))
}

/// `GET /web`: the sign-in form, or the member's overview.
#[utoipa::path(
    get,
    path = "/web",
    operation_id = "web_home",
    tag = "web",
    summary = "Sign-in form or overview",
    description = "Without a session the sign-in form; with one the member's overview: the upload form, open warnings to explain, its reports and its submissions.",
    params(crate::contract::WebHomeQuery),
    security((), ("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
    )
)]
async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(account): SignedIn<Option<Account>>,
    ApiQuery(query): ApiQuery<contract::WebHomeQuery>,
) -> Result<Response, WebError> {
    let Some(account) = account else {
        return Ok(login_page(&state, &headers, None, StatusCode::OK));
    };
    if account.must_enrol {
        return Ok(see_other("/web/zweiter-faktor"));
    }
    match account.member() {
        Some(member) => overview(&state, &member, query.erklaert.is_some()).await,
        None => Ok(html_page(pages::account_home(&account).into_string())),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginForm {
    /// A member token (sign-in with a token).
    #[serde(default)]
    token: String,
    /// A user's e-mail address (sign-in with a password).
    #[serde(default)]
    email: String,
    /// The user's password.
    #[serde(default)]
    password: String,
    nonce: String,
}

/// `POST /web/anmelden`.
#[utoipa::path(
    post,
    path = "/web/anmelden",
    operation_id = "web_login",
    tag = "web",
    summary = "Sign in",
    description = "Exchanges an account's e-mail address and password, or a member token, for a session cookie. The form carries the nonce of the sign-in page (double submit). Tokens sign in for members only; accounts of every role sign in. An account with a second factor is sent on to `/web/zweiter-faktor` for its code; an admin account without one, to enrol it (until then its session counts for nothing else). Sign-ins are counted before any work: after 5 failed passwords within 15 minutes per account, or 20 per client address, further password attempts are refused (429) until the 15 minutes are over, the right password too; token sign-ins are limited to 10 per token and 30 per client address within 15 minutes, successful ones included. When every password check the server allows at once is busy, the answer is 503. Both carry `Retry-After`. Behind a trusted proxy (`[server] trusted_proxies`) the client address is read from `X-Forwarded-For`.",
    request_body(content = inline(LoginForm), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: on to `/web`, with the session cookie.", headers(("location" = String, description = "`/web`"), ("set-cookie" = String, description = "`vr_session`, HttpOnly, SameSite=Strict"))),
        (status = 401, description = "The token is unknown or revoked: the form again, with the reason.", body = String, content_type = "text/html"),
        (status = 403, description = "A stale form, a post from another site, or a token that is not a member's.", body = String, content_type = "text/html"),
        (status = 429, description = "Too many failed passwords for the account or from the client address, or too many token sign-ins: the form again, saying when to try again.", body = String, content_type = "text/html", headers(("retry-after" = u64, description = "Seconds until the window ends"))),
        (status = 503, description = "Every password check the server allows at once is busy: the form again.", body = String, content_type = "text/html", headers(("retry-after" = u64, description = "Seconds to wait"))),
        crate::contract::responses::FormRejections,
    )
)]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Post {
        who: Anyone,
        body: Form(form),
    }: Post<Anyone, Form<LoginForm>>,
) -> Result<Response, WebError> {
    if !nonce_ok(&headers, &form.nonce) {
        return Ok(login_page(
            &state,
            &headers,
            Some("Das Anmeldeformular ist abgelaufen. Bitte versuchen Sie es noch einmal."),
            StatusCode::FORBIDDEN,
        ));
    }
    let address = state.client_address(&headers, &extensions);
    if !form.email.trim().is_empty() {
        return password_login(&state, &headers, &form, &address).await;
    }
    let token = form.token.trim();
    // Counted before the token is looked up and a session written.
    if let Err(refused) = state.throttle.token_sign_in(token, &address) {
        let page = login_page(&state, &headers, Some(&refused.message()), refused.status());
        return Ok(refused.apply(page));
    }
    let caller = match Caller::from_token(&state, token).await {
        Ok(c) => c,
        Err(_) => {
            return Ok(login_page(
                &state,
                &headers,
                Some("Dieser Zugangsschlüssel ist unbekannt oder wurde gesperrt."),
                StatusCode::UNAUTHORIZED,
            ));
        }
    };
    if caller.role != Role::Member || caller.member_id.is_none() {
        return Ok(login_page(
            &state,
            &headers,
            Some(
                "Diese Seite ist für Mitgliedskommunen. Analysten, Berater und Betreiber nutzen die Programmierschnittstelle (API).",
            ),
            StatusCode::FORBIDDEN,
        ));
    }
    let id = state
        .store
        .start_session(&caller.token_id)
        .await
        .map_err(session_failed)?;
    Ok(signed_in_response(&headers, &id))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SignOutForm {
    csrf: String,
}

impl CsrfField for SignOutForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `GET /web/geheimhaltung`: what the ring does to protect single
/// members' values, and what the noise flags of reports mean.
#[utoipa::path(
    get,
    path = "/web/geheimhaltung",
    operation_id = "web_disclosure",
    tag = "web",
    summary = "Disclosure control explained",
    description = "A page for everyone (no sign-in) explaining in German how comparisons protect single members' values: the perturbation of rule 14 and its size, the noise flags (geringe, mittlere, starke Unschärfe) of rule 17, the quintile, and the key figures released as group means only. Reports and the overview link to it.",
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn disclosure_page(State(state): State<AppState>) -> Response {
    let policy = state.engine.policy();
    html_page(
        pages::disclosure(policy.perturbs(), (policy.noise_min, policy.noise_max)).into_string(),
    )
}

/// `POST /web/abmelden`.
#[utoipa::path(
    post,
    path = "/web/abmelden",
    operation_id = "web_logout",
    tag = "web",
    summary = "Sign out",
    description = "Ends the session; the form carries the session's CSRF token.",
    request_body(content = inline(SignOutForm), content_type = "application/x-www-form-urlencoded"),
    security((), ("session" = [])),
    responses(
        (status = 303, description = "Signed out: on to `/web`, the cookie cleared.", headers(("location" = String, description = "`/web`"))),
        (status = 403, description = "A wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        crate::contract::responses::FormRejections,
    )
)]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm { who, .. }: CsrfForm<Option<Account>, SignOutForm>,
) -> Result<Response, WebError> {
    if who.is_some()
        && let Some(id) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.store.end_session(&id).await
    {
        tracing::error!(error = %e, "a session could not be ended");
        return Err(WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Die Abmeldung ist gerade nicht möglich. Bitte versuchen Sie es noch einmal.",
        ));
    }
    let mut response = see_other("/web");
    if let Ok(v) = HeaderValue::from_str(&set_cookie(&headers, SESSION_COOKIE, "", 0)) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    Ok(response)
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
    request_body(content = inline(crate::contract::UploadForm), content_type = "multipart/form-data"),
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
        (status = 429, description = "Too many uploads with this sign-in in the last minute (`limits.uploads_per_minute`): the page says how long to wait.", body = String, content_type = "text/html"),
        (status = 415, description = "The file's name has no known extension.", body = String, content_type = "text/html"),
        (status = 422, description = "Refused: the page lists every error; nothing was stored.", body = String, content_type = "text/html"),
    )
)]
async fn upload(
    State(state): State<AppState>,
    Post {
        who: member,
        body: mut multipart,
    }: Post<Member, Multipart>,
) -> Result<Response, WebError> {
    if let Err(wait) = state.rates.uploads.take(member.caller.rate_key()) {
        return Err(WebError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Sie haben in kurzer Zeit sehr viele Dateien hochgeladen. Bitte warten Sie {} Sekunden und versuchen Sie es dann erneut.",
                wait.as_secs().max(1)
            ),
        ));
    }
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
    // The token comes inside the multipart stream, so it is checked here,
    // after the stream is read.
    check_csrf(&member.csrf, csrf.as_deref().unwrap_or(""))?;
    let domain = domain.ok_or_else(|| WebError::bad_request("Bitte wählen Sie eine Sparte."))?;
    state.engine.domain(&domain)?;
    let year: i32 = year
        .as_deref()
        .and_then(|y| y.trim().parse().ok())
        .filter(|y| vergleichsring_engine::YEARS.contains(y))
        .ok_or_else(|| {
            let years = vergleichsring_engine::YEARS;
            WebError::bad_request(format!(
                "Bitte wählen Sie ein Berichtsjahr zwischen {} und {}.",
                years.start(),
                years.end()
            ))
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
    let outcome = state
        .engine
        .submit(SubmitRequest {
            domain: domain.clone(),
            year,
            content_type: format.content_type().to_string(),
            body: bytes,
            token_id: member.caller.actor().to_string(),
            own_member: Some(member.member_id.clone()),
        })
        .await;
    let catalog = state.engine.catalog();
    let (status, page) = match outcome {
        Ok(o) => (
            StatusCode::CREATED,
            pages::upload_saved(catalog, &member, &domain, year, &filename, &o),
        ),
        Err(EngineError::Rejected(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::upload_refused(catalog, &member, &domain, year, &filename, &errors),
        ),
        Err(EngineError::Store(vergleichsring_store::StoreError::Frozen { release, .. })) => (
            StatusCode::CONFLICT,
            pages::upload_frozen(catalog, &member, &domain, year, &release),
        ),
        Err(other) => return Err(other.into()),
    };
    Ok((status, html_page(page.into_string())).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ExplainForm {
    csrf: String,
    submission_id: String,
    rule: String,
    text: String,
}

impl CsrfField for ExplainForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
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
        crate::contract::responses::FormRejections,
    )
)]
async fn explain(
    State(state): State<AppState>,
    CsrfForm { who: member, form }: CsrfForm<Member, ExplainForm>,
) -> Result<Response, WebError> {
    let text = form.text.trim();
    if text.is_empty() {
        return Err(WebError::bad_request("Bitte schreiben Sie eine Erklärung."));
    }
    state
        .engine
        .explain(
            &form.submission_id,
            Some(&member.member_id),
            member.caller.actor(),
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
    params(crate::contract::YearPath, crate::contract::WebReportQuery),
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
    path: Result<ApiPath<contract::YearPath>, ApiError>,
    ApiQuery(query): ApiQuery<contract::WebReportQuery>,
    SignedIn(member): SignedIn<Member>,
) -> Result<Response, WebError> {
    let ApiPath(contract::YearPath { year }) =
        path.map_err(|_| WebError::bad_request("Das Jahr in der Adresse ist keine Zahl."))?;
    let report = state
        .engine
        .report(&member.member_id, year, Audience::Member, None)
        .await?;
    member
        .caller
        .log_access(&state, "report", &member.member_id, None, Some(year));
    report_response(
        &state,
        &report,
        query.format.as_deref(),
        &member.member_id,
        year,
        "/web",
    )
}

/// A report as the page, or as an Excel or CSV download (German number
/// format, for German spreadsheets) when `format` asks for one; the page
/// links back to `back`.
fn report_response(
    state: &AppState,
    report: &vergleichsring_engine::report::Report,
    format: Option<&str>,
    member_id: &str,
    year: i32,
    back: &str,
) -> Result<Response, WebError> {
    let format = match format {
        Some("xlsx") => ReportFormat::Xlsx,
        Some("csv") => ReportFormat::Csv,
        _ => ReportFormat::Html,
    };
    let (content_type, body) = render::report(
        report,
        state.engine.catalog(),
        format,
        vergleichsring_report::Dialect::De,
        Some(back),
    )?;
    if format == ReportFormat::Html {
        return Ok(html_page(body));
    }
    let file = format!("vergleichsbericht_{member_id}_{year}");
    let extension = format.as_str();
    Ok((
        [
            (CONTENT_TYPE, content_type.to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.{extension}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A redirect to `to` after a POST (303, so the browser GETs it).
fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_string())]).into_response()
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let sso = state.oidc.as_ref().map(|o| o.label());
    with_nonce(headers, status, |nonce| {
        pages::login(nonce, sso, state.mail.is_some(), error)
    })
}
