//! A forgotten password: a link by e-mail, valid for an hour and once,
//! that sets a new one and ends every session of the account and (unless
//! the person keeps them) its personal tokens. The form answers before
//! anything is looked up, so the answer is the same, and as fast, for an
//! address with an account and one without.

use super::*;

/// `GET /web/passwort-vergessen`: the form asking for a link.
#[utoipa::path(
    get,
    path = "/web/passwort-vergessen",
    operation_id = "web_forgot_password",
    tag = "web",
    summary = "Forgotten password",
    description = "The form asking for a password-reset link by e-mail. Without a mail server configured (`[mail]`), the page says so and points to the ring's operator.",
    responses(
        (status = 200, description = "The form.", body = String, content_type = "text/html"),
        (status = 404, description = "No mail server is configured.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn forgot_password(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    no_mail(&state)?;
    Ok(forgot_page(&headers, false, None, StatusCode::OK))
}

fn no_mail(state: &AppState) -> Result<(), WebError> {
    if state.mail.is_none() {
        return Err(WebError::new(
            StatusCode::NOT_FOUND,
            "Das Zurücksetzen des Passworts per E-Mail ist nicht eingerichtet. Bitte wenden Sie sich an den Betreiber des Vergleichsrings.",
        ));
    }
    Ok(())
}

/// The form with a fresh double-submit nonce (also set as the sign-in
/// cookie), or the answer after asking.
fn forgot_page(
    headers: &HeaderMap,
    sent: bool,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    with_nonce(headers, status, |nonce| {
        pages::forgot_password(nonce, sent, error)
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ForgotForm {
    email: String,
    nonce: String,
}

/// `POST /web/passwort-vergessen`: sends a reset link to the address if it
/// has an account; the answer is the same either way.
#[utoipa::path(
    post,
    path = "/web/passwort-vergessen",
    operation_id = "web_request_password_reset",
    tag = "web",
    summary = "Ask for a password-reset link",
    description = "Sends a link valid for an hour and once to the address, if an enabled account has it. The page says the same whether it has or not, and answers before the address is looked up (the link is written and mailed afterwards), so neither the page nor its timing tells anybody which addresses have accounts. At most 5 requests per address within 15 minutes, and 20 per network address, are served (429 after that), so the form cannot be used to flood a mailbox.",
    request_body(content = inline(ForgotForm), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Asked (the same page whether the address has an account or not).", body = String, content_type = "text/html"),
        (status = 403, description = "A stale form or a post from another site.", body = String, content_type = "text/html"),
        (status = 404, description = "No mail server is configured.", body = String, content_type = "text/html"),
        (status = 429, description = "Too many requests for the address or from the network address.", body = String, content_type = "text/html"),
        crate::contract::responses::FormRejections,
    )
)]
pub(super) async fn request_password_reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Post {
        who: Anyone,
        body: Form(form),
    }: Post<Anyone, Form<ForgotForm>>,
) -> Result<Response, WebError> {
    no_mail(&state)?;
    if !nonce_ok(&headers, &form.nonce) {
        return Ok(forgot_page(
            &headers,
            false,
            Some("Das Formular ist abgelaufen. Bitte versuchen Sie es noch einmal."),
            StatusCode::FORBIDDEN,
        ));
    }
    use crate::throttle::{PER_ACCOUNT, PER_ADDRESS};
    let email = form.email.trim().to_lowercase();
    let account = crate::throttle::account_key("reset", &email);
    let address = format!(
        "reset-address:{}",
        state.client_address(&headers, &extensions)
    );
    // Counted first, under one lock, then refused if over: a burst of
    // parallel requests cannot all pass a check made before the count.
    // Every request counts, found or not: the limit is on mails asked for.
    if state
        .throttle
        .reserve(&[(account, PER_ACCOUNT), (address, PER_ADDRESS)])
        .is_err()
    {
        return Ok(forgot_page(
            &headers,
            false,
            Some(
                "Es wurden in kurzer Zeit zu viele Links angefordert. Bitte versuchen Sie es in 15 Minuten noch einmal.",
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    // The lookup, the commit and the mail happen after the answer: a known
    // address must not answer later than an unknown one.
    let background = state.clone();
    tokio::spawn(async move {
        match background.store.request_password_reset(&email).await {
            Ok(Some((user, code))) => {
                crate::mail::send_link(&background, &user, &code, None).await;
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "a password reset could not be written"),
        }
    });
    Ok(forgot_page(&headers, true, None, StatusCode::OK))
}

fn reset_gone() -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        "Dieser Link ist unbekannt, schon benutzt oder abgelaufen. Bitte fordern Sie unter „Passwort vergessen?“ einen neuen an.",
    )
}

/// `GET /web/passwort-neu/{code}`: the form of a reset link.
#[utoipa::path(
    get,
    path = "/web/passwort-neu/{code}",
    operation_id = "web_reset_link",
    tag = "web",
    summary = "A password-reset link",
    description = "The form to set a new password. The link works once and for an hour.",
    params(crate::contract::InvitationPath),
    responses(
        (status = 200, description = "The form.", body = String, content_type = "text/html"),
        (status = 404, description = "The link is unknown, used or expired.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn reset_link(
    State(state): State<AppState>,
    ApiPath(contract::InvitationPath { code }): ApiPath<contract::InvitationPath>,
) -> Result<Response, WebError> {
    let user = open_link(&state, &code, true, reset_gone).await?;
    Ok(html_page(pages::new_password(&code, &user.email, None).into_string()).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ResetForm {
    password: String,
    password2: String,
    /// Present (a ticked box): the account's personal tokens keep
    /// working. Absent: they end with the reset.
    #[serde(default)]
    keep_tokens: Option<String>,
}

/// `POST /web/passwort-neu/{code}`: sets the new password.
#[utoipa::path(
    post,
    path = "/web/passwort-neu/{code}",
    operation_id = "web_reset_password",
    tag = "web",
    summary = "Set a new password",
    description = "Sets the account's new password (twice, at least 12 characters). The link is used up, every session of the account ends and so do its personal tokens, unless the box `keep_tokens` is ticked; the person then signs in (with the second factor, if it has one).",
    params(crate::contract::InvitationPath),
    request_body(content = inline(ResetForm), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Set: a page pointing to the sign-in.", body = String, content_type = "text/html"),
        (status = 403, description = "A post from another site.", body = String, content_type = "text/html"),
        (status = 404, description = "The link is unknown, used or expired.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 422, description = "The passwords differ or are too short (the form again), or a field of the form is missing.", body = String, content_type = "text/html"),
        (status = 503, description = "Every password check the server allows at once is busy.", body = String, content_type = "text/html", headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub(super) async fn reset_password(
    State(state): State<AppState>,
    ApiPath(contract::InvitationPath { code }): ApiPath<contract::InvitationPath>,
    Post {
        who: Anyone,
        body: Form(form),
    }: Post<Anyone, Form<ResetForm>>,
) -> Result<Response, WebError> {
    let user = open_link(&state, &code, true, reset_gone).await?;
    if let Some(message) = password_problem(&form.password, &form.password2) {
        let page = pages::new_password(&code, &user.email, Some(&message));
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            html_page(page.into_string()),
        )
            .into_response());
    }
    let keep_tokens = form.keep_tokens.is_some();
    let (store, password) = (state.store.clone(), form.password.clone());
    let set = state
        .throttle
        .password_check(async move { store.reset_password(&code, &password, keep_tokens).await })
        .await;
    let set = match set {
        Ok(set) => set,
        Err(refused) => {
            return Ok(
                refused.apply(WebError::new(refused.status(), refused.message()).into_response())
            );
        }
    };
    match set {
        Ok((user, ended)) => {
            tracing::info!(
                user_id = user.user_id,
                tokens_ended = ended,
                "password reset"
            );
            Ok(html_page(pages::password_set(ended).into_string()).into_response())
        }
        Err(vergleichsring_store::StoreError::NotFound(_)) => Err(reset_gone()),
        Err(e) => Err(session_failed(e)),
    }
}
