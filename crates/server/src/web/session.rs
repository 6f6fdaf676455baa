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

/// A signed-in member.
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

pub(super) async fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<Member> {
    let id = cookie(headers, SESSION_COOKIE)?;
    let session = state.store.session(&id).await?;
    // A session waiting for its second factor counts for nothing yet.
    if session.pending {
        return None;
    }
    let (caller, lead, user) = match &session.user_id {
        // A disabled account ends its sessions with it.
        Some(user_id) => {
            let user = state.store.user(user_id)?;
            let lead = user.lead && user.role == Role::Member;
            (Caller::from_user(state, user.clone()), lead, Some(user))
        }
        // A revoked or expired token ends its sessions with it.
        None => (
            Caller::from_record(state, state.store.valid_token_by_id(&session.token_id)?),
            false,
            None,
        ),
    };
    let csrf = crate::sessions::csrf_of(&id);
    let member_id = caller.member_id.clone()?;
    let name = state
        .store
        .member(&member_id)
        .map_or_else(|| member_id.clone(), |m| m.name);
    Some(Member {
        caller,
        member_id,
        name,
        csrf,
        lead,
        user,
    })
}

pub(super) async fn require(state: &AppState, headers: &HeaderMap) -> Result<Member, WebError> {
    signed_in(state, headers).await.ok_or_else(|| {
        WebError::new(
            StatusCode::UNAUTHORIZED,
            "Sie sind nicht (mehr) angemeldet. Bitte melden Sie sich mit Ihrem Zugangsschlüssel an.",
        )
    })
}

pub(super) fn check_csrf(member: &Member, sent: &str) -> Result<(), WebError> {
    if same_secret(&member.csrf, sent) {
        Ok(())
    } else {
        Err(WebError::forbidden(
            "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
        ))
    }
}
