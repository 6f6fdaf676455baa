//! Sessions of the member web page: the cookie, CSRF tokens, the
//! double-submit nonce of the sign-in and the origin check of every POST.

use super::*;
pub(super) use crate::sessions::{random_hex, same_secret};

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

/// A signed-in person (an account of any role) or member token.
pub(super) struct Account {
    pub(super) caller: Caller,
    /// The member's name, or the user's.
    pub(super) name: String,
    pub(super) csrf: String,
    /// A member user allowed to invite colleagues (never a token).
    pub(super) lead: bool,
    /// The account of a session signed in with a password or single
    /// sign-on; none for a token's session.
    pub(super) user: Option<vergleichsring_store::UserRecord>,
    /// An admin account without a second factor: until it enrols one, only
    /// the enrolment page and signing out are open to it.
    pub(super) must_enrol: bool,
}

/// A signed-in member (a member user or a member token).
pub(super) struct Member {
    pub(super) caller: Caller,
    pub(super) member_id: String,
    pub(super) name: String,
    pub(super) csrf: String,
    /// A member user allowed to invite colleagues (never a token).
    pub(super) lead: bool,
    /// The account of a session signed in with a password.
    pub(super) user: Option<vergleichsring_store::UserRecord>,
}

impl Account {
    /// The member this account acts for, if it is a member's.
    pub(super) fn member(&self) -> Option<Member> {
        let member_id = self.caller.member_id.clone()?;
        Some(Member {
            caller: self.caller.clone(),
            member_id,
            name: self.name.clone(),
            csrf: self.csrf.clone(),
            lead: self.lead,
            user: self.user.clone(),
        })
    }
}

/// Whether a role must have a second factor before its account counts.
pub(super) fn second_factor_required(role: Role) -> bool {
    role == Role::Admin
}

/// The account of the request's session, if it has one that counts.
pub(super) async fn account(state: &AppState, headers: &HeaderMap) -> Option<Account> {
    let id = cookie(headers, SESSION_COOKIE)?;
    let session = state.store.session(&id).await?;
    // A session waiting for its second factor counts for nothing yet.
    if session.pending {
        return None;
    }
    let csrf = crate::sessions::csrf_of(&id);
    match &session.user_id {
        // A disabled account ends its sessions with it.
        Some(user_id) => {
            let user = state.store.user(user_id)?;
            let lead = user.lead && user.role == Role::Member;
            let must_enrol = second_factor_required(user.role) && user.totp_secret.is_none();
            let caller = Caller::from_user(state, user.clone());
            let name = match &caller.member_id {
                Some(m) => state.store.member(m).map_or_else(|| m.clone(), |m| m.name),
                None => user.name.clone(),
            };
            Some(Account {
                caller,
                name,
                csrf,
                lead,
                user: Some(user),
                must_enrol,
            })
        }
        // A revoked or expired token ends its sessions with it.
        None => {
            let caller =
                Caller::from_record(state, state.store.valid_token_by_id(&session.token_id)?);
            let member_id = caller.member_id.clone()?;
            let name = state
                .store
                .member(&member_id)
                .map_or_else(|| member_id.clone(), |m| m.name);
            Some(Account {
                caller,
                name,
                csrf,
                lead: false,
                user: None,
                must_enrol: false,
            })
        }
    }
}

fn not_signed_in() -> WebError {
    WebError::new(
        StatusCode::UNAUTHORIZED,
        "Sie sind nicht (mehr) angemeldet. Bitte melden Sie sich an.",
    )
}

/// The signed-in member, or why not: not signed in (401), or signed in
/// with an account that is not a member's (403).
pub(super) async fn require(state: &AppState, headers: &HeaderMap) -> Result<Member, WebError> {
    let account = require_account(state, headers).await?;
    account.member().ok_or_else(|| {
        WebError::forbidden(
            "Diese Seite gehört zu einer Mitgliedskommune; Ihr Zugang ist keiner Kommune zugeordnet.",
        )
    })
}

/// The signed-in account, or why not: not signed in (401), or an admin
/// who has not enrolled the second factor yet (403).
pub(super) async fn require_account(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Account, WebError> {
    let account = account(state, headers).await.ok_or_else(not_signed_in)?;
    if account.must_enrol {
        return Err(WebError::forbidden(
            "Für Ihre Rolle ist ein zweiter Faktor vorgeschrieben. Bitte richten Sie ihn unter „Zweiter Faktor“ (/web/zweiter-faktor) ein.",
        ));
    }
    Ok(account)
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
