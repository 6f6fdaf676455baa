//! Personal accounts on the web page: sign-in with a password (throttled),
//! the invitation link, a lead member's colleagues and personal tokens
//! (the second factor is in `second_factor.rs`).

use super::*;

/// The sign-in page with a fresh double-submit nonce, set as the sign-in
/// cookie too.
/// Signs a member user in with e-mail address and password, throttled per
/// account and per address.
pub(super) async fn password_login(
    state: &AppState,
    headers: &HeaderMap,
    form: &LoginForm,
    address: &str,
) -> Result<Response, WebError> {
    // Counted before the password is checked, and checked under the
    // bound on password checks at once (`throttle.rs`).
    let user = match state
        .throttle
        .sign_in_with_password(&state.store, &form.email, &form.password, address)
        .await
    {
        Ok(Some(user)) => user,
        Ok(None) => {
            return Ok(login_page(
                state,
                headers,
                Some("E-Mail-Adresse oder Passwort sind falsch."),
                StatusCode::UNAUTHORIZED,
            ));
        }
        Err(refused) => {
            let page = login_page(state, headers, Some(&refused.message()), refused.status());
            return Ok(refused.apply(page));
        }
    };
    let id = state
        .store
        .start_user_session(&user.user_id)
        .await
        .map_err(session_failed)?;
    // The session waits for the code of the second factor, or (an admin
    // without one) counts only for enrolling it.
    Ok(after_sign_in(headers, &id, &user))
}

/// A session could not be written to the state log.
pub(super) fn session_failed(e: vergleichsring_store::StoreError) -> WebError {
    tracing::error!(error = %e, "a session could not be started");
    WebError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Die Anmeldung ist gerade nicht möglich. Bitte versuchen Sie es in einer Minute noch einmal.",
    )
}

/// On to `/web` with the session cookie set and the sign-in cookie cleared.
pub(super) fn signed_in_response(headers: &HeaderMap, id: &str) -> Response {
    let mut response = see_other("/web");
    for c in [
        set_cookie(
            headers,
            SESSION_COOKIE,
            id,
            vergleichsring_store::SESSION_LIFETIME.as_secs(),
        ),
        set_cookie(headers, LOGIN_COOKIE, "", 0),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    response
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct InvitationForm {
    password: String,
    password2: String,
}

impl InvitationForm {
    /// What is wrong with the new password, in German, if anything.
    pub(super) fn problem(&self) -> Option<String> {
        password_problem(&self.password, &self.password2)
    }
}

/// What is wrong with a new password typed twice, in German, if anything.
pub(super) fn password_problem(password: &str, again: &str) -> Option<String> {
    if password != again {
        return Some("Die beiden Passwörter stimmen nicht überein.".into());
    }
    if vergleichsring_store::check_password_rules(password).is_err() {
        return Some(format!(
            "Das Passwort muss mindestens {} Zeichen lang sein.",
            vergleichsring_store::MIN_PASSWORD_CHARS
        ));
    }
    None
}

/// `GET /web/einladung/{code}`: the page of an invitation link.
#[utoipa::path(
    get,
    path = "/web/einladung/{code}",
    operation_id = "web_invitation",
    tag = "web",
    summary = "An invitation link",
    description = "The form to set the password of an invited account. The link works once and for 7 days.",
    params(crate::contract::InvitationPath),
    responses(
        (status = 200, description = "The form.", body = String, content_type = "text/html"),
        (status = 404, description = "The link is unknown, used or expired.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn invitation(
    State(state): State<AppState>,
    ApiPath(contract::InvitationPath { code }): ApiPath<contract::InvitationPath>,
) -> Result<Response, WebError> {
    let user = open_link(&state, &code, false, invitation_gone).await?;
    let sso = state.oidc.as_ref().map(|o| o.label());
    let page = pages::invitation(&code, &user.name, &user.email, sso, None);
    Ok(html_page(page.into_string()).into_response())
}

pub(super) fn invitation_gone() -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        "Dieser Einladungslink ist unbekannt, schon benutzt oder abgelaufen. Bitten Sie die Person, die Sie eingeladen hat, um einen neuen.",
    )
}

/// `POST /web/einladung/{code}`: sets the password and signs a member in.
#[utoipa::path(
    post,
    path = "/web/einladung/{code}",
    operation_id = "web_accept_invitation",
    tag = "web",
    summary = "Accept an invitation",
    description = "Sets the account's password (twice, at least 12 characters). The link is used up and the person is signed in at once (an admin is sent on to enrol the second factor).",
    params(crate::contract::InvitationPath),
    request_body(content = inline(InvitationForm), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: on to `/web`, or to `/web/zweiter-faktor` for an admin.", headers(("location" = String, description = "`/web` or `/web/zweiter-faktor`"))),
        (status = 403, description = "A post from another site.", body = String, content_type = "text/html"),
        (status = 404, description = "The link is unknown, used or expired.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 422, description = "The passwords differ or are too short (the form again), or a field of the form is missing.", body = String, content_type = "text/html"),
        (status = 503, description = "Every password check the server allows at once is busy.", body = String, content_type = "text/html", headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub(super) async fn accept_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(contract::InvitationPath { code }): ApiPath<contract::InvitationPath>,
    Post {
        who: Anyone,
        body: Form(form),
    }: Post<Anyone, Form<InvitationForm>>,
) -> Result<Response, WebError> {
    let user = open_link(&state, &code, false, invitation_gone).await?;
    if let Some(message) = form.problem() {
        let sso = state.oidc.as_ref().map(|o| o.label());
        let page = pages::invitation(&code, &user.name, &user.email, sso, Some(&message));
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            html_page(page.into_string()),
        )
            .into_response());
    }
    let (store, password) = (state.store.clone(), form.password.clone());
    let accepted = state
        .throttle
        .password_check(async move { store.accept_invitation(&code, &password).await })
        .await;
    let user = match accepted {
        Err(refused) => {
            return Ok(
                refused.apply(WebError::new(refused.status(), refused.message()).into_response())
            );
        }
        Ok(Ok(u)) => u,
        Ok(Err(vergleichsring_store::StoreError::NotFound(_))) => return Err(invitation_gone()),
        Ok(Err(e)) => return Err(session_failed(e)),
    };
    let id = state
        .store
        .start_user_session(&user.user_id)
        .await
        .map_err(session_failed)?;
    Ok(after_sign_in(&headers, &id, &user))
}

/// On to `/web` signed in, or to the second factor: its code for an
/// account that has one, its enrolment for a role that requires one.
pub(super) fn after_sign_in(
    headers: &HeaderMap,
    id: &str,
    user: &vergleichsring_store::UserRecord,
) -> Response {
    let mut response = signed_in_response(headers, id);
    if user.totp_secret.is_some() || second_factor_required(user.role) {
        response
            .headers_mut()
            .insert(LOCATION, HeaderValue::from_static("/web/zweiter-faktor"));
    }
    response
}

/// Sends the e-mail of a new invitation (when mail is configured) and
/// what the inviter's page says about it.
pub(super) async fn mailed_invitation(
    state: &AppState,
    user: &vergleichsring_store::UserRecord,
    code: &str,
    inviter: &str,
) -> pages::Invited {
    let expires_at = state
        .store
        .invitation(code)
        .await
        .map(|(_, i)| i.expires_at)
        .unwrap_or_default();
    let mailed = crate::mail::send_link(state, user, code, Some((inviter, &expires_at))).await;
    pages::Invited {
        email: user.email.clone(),
        link: format!("/web/einladung/{code}"),
        mailed,
    }
}

/// The accounts of a member, oldest first.
pub(super) fn member_users(
    state: &AppState,
    member_id: &str,
) -> Vec<vergleichsring_store::UserRecord> {
    // Only accounts that were taken up (a password set, or linked to the
    // single sign-on): an invitation still open would show a lead right
    // after inviting that the address had no account in the ring before
    // (a taken address gets a notice and never appears here).
    state
        .store
        .users()
        .into_iter()
        .filter(|u| u.member_id.as_deref() == Some(member_id))
        .filter(|u| u.password_hash.is_some() || u.sso.is_some())
        .collect()
}

/// `GET /web/kollegen`: a lead member's colleagues and the invitation form.
#[utoipa::path(
    get,
    path = "/web/kollegen",
    operation_id = "web_colleagues",
    tag = "web",
    summary = "Colleagues",
    description = "For a member user with the `lead` flag: the accounts of its municipality and, with a mail server configured, a form to invite a colleague.",
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Signed in without the `lead` flag (or with a token).", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn colleagues(
    State(state): State<AppState>,
    SignedIn(Lead(member)): SignedIn<Lead>,
) -> Result<Response, WebError> {
    let users = member_users(&state, &member.member_id);
    let page = pages::colleagues(&member, &users, state.mail.is_some(), None, None);
    Ok(html_page(page.into_string()).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ColleagueForm {
    csrf: String,
    name: String,
    email: String,
}

impl CsrfField for ColleagueForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/kollegen`: a lead member invites a colleague.
#[utoipa::path(
    post,
    path = "/web/kollegen",
    operation_id = "web_invite_colleague",
    tag = "web",
    summary = "Invite a colleague",
    description = "A lead member user invites a colleague into its own municipality (a member user without the `lead` flag). The invitation goes out by e-mail only, and the page answers the same whether the address has an account anywhere in the ring or not: a free address gets the invitation, a taken one a notice that it has an account already (both are written and sent after the answer). The municipality is the inviter's: a form naming another is not possible. Without a mail server configured, leads cannot invite (the ring's admin does).",
    request_body(content = inline(ColleagueForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 200, description = "Sent (the same page for a free and a taken address).", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Without the `lead` flag, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        (status = 404, description = "No mail server is configured: invitations by leads are off.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 422, description = "The name is empty or longer than 200 characters, or the e-mail address is not exactly one bare address (no display name, angle brackets or comments); or the member's accounts taken up plus its leads' invitations of the last 7 days reached `limits.member_accounts` (the page says how many); or a field of the form is missing.", body = String, content_type = "text/html"),
        (status = 503, description = "The invitation could not be written to the state log.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn invite_colleague(
    State(state): State<AppState>,
    CsrfForm {
        who: Lead(member),
        form,
    }: CsrfForm<Lead, ColleagueForm>,
) -> Result<Response, WebError> {
    if state.mail.is_none() {
        return Err(WebError::new(
            StatusCode::NOT_FOUND,
            "Einladungen durch Ansprechpersonen gehen nur per E-Mail, und dafür ist kein Mailserver eingerichtet. Bitte wenden Sie sich an den Betreiber des Vergleichsrings.",
        ));
    }
    let users = member_users(&state, &member.member_id);
    let refuse = |message: &str| {
        let page = pages::colleagues(&member, &users, true, None, Some(message));
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            html_page(page.into_string()),
        )
            .into_response()
    };
    let Ok(email) = vergleichsring_store::parse_email(&form.email) else {
        return Ok(refuse(
            "Bitte geben Sie genau eine E-Mail-Adresse an, ohne Namen, spitze Klammern oder Leerzeichen (z. B. karl.kollege@stadt.de).",
        ));
    };
    let name = vergleichsring_store::plain_line(&form.name, usize::MAX);
    if name.is_empty() || name.chars().count() > vergleichsring_store::MAX_NAME_CHARS {
        return Ok(refuse(
            "Bitte geben Sie einen Namen an (höchstens 200 Zeichen).",
        ));
    }
    // Whether the address has an account anywhere in the ring must not
    // show: the same commit is made either way (it counts the attempt
    // against the member's bound, and for a free address also makes the
    // account), the answer is the same page, and the invitation or, for
    // a taken address, a notice to its owner is mailed after it.
    let new = vergleichsring_store::NewUser {
        email: email.clone(),
        name,
        role: Role::Member,
        member_id: Some(member.member_id.clone()),
        consultant_id: None,
        lead: false,
    };
    let by = member.caller.actor().to_string();
    let outcome = match state.store.invite_colleague(&by, new).await {
        Ok(outcome) => outcome,
        Err(vergleichsring_store::StoreError::Conflict(_)) => {
            let limit = state.store.account_limits().member_accounts;
            let (taken_up, recent) = state.store.member_accounts(&member.member_id);
            return Ok(refuse(&format!(
                "Ihre Kommune hat {taken_up} Zugänge und in den letzten 7 Tagen {recent} Einladungen verschickt; zusammen sind höchstens {limit} möglich. Eine Einladung zählt sieben Tage lang; danach oder wenn der Betreiber einen Zugang deaktiviert, ist wieder Platz."
            )));
        }
        Err(e) => {
            tracing::error!(error = %e, by, "a colleague's invitation could not be written");
            return Err(WebError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Die Einladung konnte gerade nicht gespeichert werden. Bitte versuchen Sie es in einer Minute noch einmal.",
            ));
        }
    };
    let background = state.clone();
    let inviter = member.name.clone();
    tokio::spawn(async move { mail_colleague(&background, &by, &inviter, outcome).await });
    let page = pages::colleagues(&member, &users, true, Some(&email), None);
    Ok(html_page(page.into_string()).into_response())
}

/// The mail after a lead's invitation: the invitation, or for an address
/// with an account already a notice to its owner.
async fn mail_colleague(
    state: &AppState,
    by: &str,
    inviter: &str,
    outcome: vergleichsring_store::ColleagueInvitation,
) {
    match outcome {
        vergleichsring_store::ColleagueInvitation::Invited(user, code) => {
            tracing::info!(user_id = user.user_id, by, "colleague invited");
            mailed_invitation(state, &user, &code, inviter).await;
        }
        vergleichsring_store::ColleagueInvitation::Taken(existing) => {
            tracing::info!(
                user_id = existing.user_id,
                by,
                "a lead invited an address with an account: notice sent instead"
            );
            let base = state.public_url.as_deref().unwrap_or("");
            let body = crate::mail::existing_account_text(&existing.name, inviter, base);
            crate::mail::send_to(
                state,
                &existing,
                "Sie haben schon einen Zugang zum Vergleichsring",
                body,
            )
            .await;
        }
    }
}

fn tokens_page(
    state: &AppState,
    member: &Account,
    user: &vergleichsring_store::UserRecord,
    made: Option<&str>,
    error: Option<&str>,
) -> Response {
    let list = state.store.personal_tokens(&user.user_id);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = pages::tokens(member, &list, made, error);
    (status, html_page(page.into_string())).into_response()
}

/// `GET /web/schluessel`: the user's personal tokens.
#[utoipa::path(
    get,
    path = "/web/schluessel",
    operation_id = "web_personal_tokens",
    tag = "web",
    summary = "Personal tokens",
    description = "A signed-in user's personal tokens for scripts (label, creation, expiry, state) and the form for a new one.",
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Signed in with a token, not an account.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn personal_tokens(
    State(state): State<AppState>,
    SignedIn(Personal {
        account: member,
        user,
    }): SignedIn<Personal>,
) -> Result<Response, WebError> {
    Ok(tokens_page(&state, &member, &user, None, None))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct PersonalTokenForm {
    csrf: String,
    label: String,
    /// The last day it works (`YYYY-MM-DD`); empty: no expiry.
    #[serde(default)]
    bis: String,
}

impl CsrfField for PersonalTokenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/schluessel`: makes a personal token, shown once.
#[utoipa::path(
    post,
    path = "/web/schluessel",
    operation_id = "web_create_personal_token",
    tag = "web",
    summary = "Make a personal token",
    description = "Makes a token with the user's role and member, a label and an optional last day (it works until the end of that day, UTC). The page shows it this once. It stops working when it is revoked or the account is disabled.",
    request_body(content = inline(PersonalTokenForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 200, description = "Made: the page with the token.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "A wrong CSRF token, a post from another site, or a token's session.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 422, description = "No label, a day that is not a future date, or the account already holds `limits.personal_tokens` live tokens (the page again, saying which), or a field of the form is missing.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn create_personal_token(
    State(state): State<AppState>,
    CsrfForm {
        who: Personal {
            account: member,
            user,
        },
        form,
    }: CsrfForm<Personal, PersonalTokenForm>,
) -> Result<Response, WebError> {
    let label = form.label.trim();
    if label.is_empty() || label.chars().count() > 200 {
        return Ok(tokens_page(
            &state,
            &member,
            &user,
            None,
            Some("Bitte geben Sie eine Bezeichnung an (höchstens 200 Zeichen)."),
        ));
    }
    let expires_at = if form.bis.trim().is_empty() {
        None
    } else {
        match vergleichsring_store::parse_expiry(&format!("{}T23:59:59Z", form.bis.trim())) {
            Ok(at) => Some(at),
            Err(_) => {
                return Ok(tokens_page(
                    &state,
                    &member,
                    &user,
                    None,
                    Some("Bitte geben Sie als „Gültig bis“ ein Datum in der Zukunft an."),
                ));
            }
        }
    };
    let made = state
        .store
        .issue_personal_token(&user, Some(label.to_string()), expires_at)
        .await;
    let (token, record) = match made {
        Ok(made) => made,
        // The account holds as many as `limits.personal_tokens` allows.
        Err(vergleichsring_store::StoreError::Conflict(_)) => {
            return Ok(tokens_page(
                &state,
                &member,
                &user,
                None,
                Some(
                    "Sie haben bereits so viele persönliche Schlüssel, wie erlaubt sind. Bitte sperren Sie zuerst einen, den Sie nicht mehr brauchen.",
                ),
            ));
        }
        Err(e) => return Err(session_failed(e)),
    };
    tracing::info!(
        token_id = record.token_id,
        user_id = user.user_id,
        "personal token made"
    );
    Ok(tokens_page(&state, &member, &user, Some(&token), None))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct RevokeTokenForm {
    csrf: String,
    token_id: String,
}

impl CsrfField for RevokeTokenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/schluessel/sperren`: revokes one of the user's own tokens.
#[utoipa::path(
    post,
    path = "/web/schluessel/sperren",
    operation_id = "web_revoke_personal_token",
    tag = "web",
    summary = "Revoke a personal token",
    description = "Revokes one of the signed-in user's own tokens; another's is not found.",
    request_body(content = inline(RevokeTokenForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 303, description = "Revoked: back to the list.", headers(("location" = String, description = "`/web/schluessel`"))),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "A wrong CSRF token, a post from another site, or a token's session.", body = String, content_type = "text/html"),
        (status = 404, description = "None of the user's tokens has that id.", body = String, content_type = "text/html"),
        crate::contract::responses::FormRejections,
    )
)]
pub(super) async fn revoke_personal_token(
    State(state): State<AppState>,
    CsrfForm {
        who: Personal { user, .. },
        form,
    }: CsrfForm<Personal, RevokeTokenForm>,
) -> Result<Response, WebError> {
    let revoked = state
        .store
        .revoke_personal_token(&user.user_id, &form.token_id)
        .await
        .map_err(session_failed)?;
    if !revoked {
        return Err(WebError::new(
            StatusCode::NOT_FOUND,
            "Diesen Schlüssel gibt es unter Ihren Schlüsseln nicht.",
        ));
    }
    Ok(see_other("/web/schluessel"))
}
