//! Sign-in through the single sign-on provider (OpenID Connect,
//! `crate::oidc`): the button sends the browser to the provider with a
//! fresh flow secret in a cookie; the provider sends it back with a code,
//! which the service redeems and checks; the person is then signed in to
//! the account linked to it (or the invited one, linked now).

use super::*;

/// The cookie of a flow: its secret, and the invitation it accepts.
const SSO_COOKIE: &str = "vr_sso";

/// How long a flow may take at the provider.
const FLOW_SECONDS: u64 = 600;

fn no_sso() -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        "Die Anmeldung über Ihre Kommune ist für diesen Vergleichsring nicht eingerichtet.",
    )
}

/// The flow cookie: `SameSite=Lax`, because the provider's redirect back is
/// a navigation from another site, on which a `Strict` cookie is not sent.
fn flow_cookie(headers: &HeaderMap, value: &str, max_age: u64) -> String {
    set_cookie(headers, SSO_COOKIE, value, max_age).replace("SameSite=Strict", "SameSite=Lax")
}

/// `GET /web/anmelden/sso[?einladung=CODE]`: on to the provider.
#[utoipa::path(
    get,
    path = "/web/anmelden/sso",
    operation_id = "web_sso_start",
    tag = "web",
    summary = "Sign in through the provider",
    description = "Starts the OpenID Connect authorisation code flow with PKCE: sets a cookie with the flow's secret (10 minutes, HttpOnly, SameSite=Lax) and sends the browser to the provider with the `state`, `nonce` and S256 challenge derived from it. With `einladung`, the invitation is accepted by the sign-in.",
    params(crate::contract::SsoStartQuery),
    responses(
        (status = 303, description = "On to the provider.", headers(("location" = String, description = "The provider's authorisation endpoint"))),
        (status = 404, description = "No provider is configured, or the invitation is unknown, used or expired.", body = String, content_type = "text/html"),
        (status = 503, description = "The provider cannot be reached.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn sso_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<contract::SsoStartQuery>,
) -> Result<Response, WebError> {
    let oidc = state.oidc.clone().ok_or_else(no_sso)?;
    let invitation = match query.einladung.as_deref().filter(|c| !c.is_empty()) {
        Some(code) => {
            // Only hex digits go into the cookie.
            if !code.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invitation_gone());
            }
            open_link(&state, code, false, invitation_gone).await?;
            Some(code.to_string())
        }
        None => None,
    };
    let secret = random_hex();
    let url = oidc
        .authorization_url(&secret)
        .await
        .map_err(provider_failed)?;
    let value = match &invitation {
        Some(code) => format!("{secret}.{code}"),
        None => secret,
    };
    let mut response = (StatusCode::SEE_OTHER, [(LOCATION, url)]).into_response();
    if let Ok(v) = HeaderValue::from_str(&flow_cookie(&headers, &value, FLOW_SECONDS)) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    Ok(response)
}

fn provider_failed(e: crate::oidc::OidcError) -> WebError {
    tracing::warn!(error = %e, "single sign-on failed");
    match e {
        crate::oidc::OidcError::Provider(_) => WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Die Anmeldestelle Ihrer Kommune antwortet gerade nicht. Bitte versuchen Sie es in einigen Minuten noch einmal oder melden Sie sich mit Ihrem Passwort an.",
        ),
        crate::oidc::OidcError::Rejected(_) => WebError::forbidden(
            "Die Anmeldung über Ihre Kommune konnte nicht bestätigt werden. Bitte beginnen Sie sie noch einmal auf der Anmeldeseite.",
        ),
    }
}

/// `GET /web/anmelden/sso/rueckkehr`: where the provider sends the browser
/// back.
#[utoipa::path(
    get,
    path = "/web/anmelden/sso/rueckkehr",
    operation_id = "web_sso_return",
    tag = "web",
    summary = "Return from the provider",
    description = "Checks `state` against the flow cookie, redeems the code at the provider's token endpoint with the PKCE verifier and validates the ID token (signature with the provider's published key, issuer, audience, expiry, nonce). The person signs in to the account linked to its subject; else, when the flow accepts an invitation, to the invited account (linked now); else to the enabled account with the provider's verified e-mail address that is not linked yet (linked now). Answers with a page that moves on to `/web` by itself, so that the browser sends the `SameSite=Strict` session cookie.",
    params(crate::contract::SsoReturnQuery),
    responses(
        (status = 200, description = "Signed in: a page that moves on to `/web` (or to the second factor), with the session cookie.", body = String, content_type = "text/html"),
        (status = 403, description = "The provider refused, or the answer did not belong to this browser's sign-in (no or another flow cookie, a wrong state, nonce or signature), or the person has no account here.", body = String, content_type = "text/html"),
        (status = 404, description = "No provider is configured.", body = String, content_type = "text/html"),
        (status = 503, description = "The provider cannot be reached.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn sso_return(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<contract::SsoReturnQuery>,
) -> Result<Response, WebError> {
    let oidc = state.oidc.clone().ok_or_else(no_sso)?;
    if let Some(error) = &query.error {
        tracing::info!(error, description = ?query.error_description, "the provider did not sign the person in");
        return Err(WebError::forbidden(
            "Die Anmeldestelle Ihrer Kommune hat die Anmeldung nicht bestätigt. Bitte versuchen Sie es noch einmal.",
        ));
    }
    let cookie_value = cookie(&headers, SSO_COOKIE).ok_or_else(|| {
        WebError::forbidden(
            "Diese Anmeldung wurde nicht in diesem Browser begonnen oder ist abgelaufen. Bitte beginnen Sie sie noch einmal auf der Anmeldeseite.",
        )
    })?;
    let (secret, invitation) = match cookie_value.split_once('.') {
        Some((s, c)) => (s.to_string(), Some(c.to_string())),
        None => (cookie_value, None),
    };
    let (Some(code), Some(flow_state)) = (query.code.as_deref(), query.state.as_deref()) else {
        return Err(WebError::bad_request(
            "Die Anmeldestelle hat keinen Code geschickt. Bitte beginnen Sie die Anmeldung noch einmal.",
        ));
    };
    let identity = oidc
        .finish(&secret, code, flow_state)
        .await
        .map_err(provider_failed)?;
    let sso = vergleichsring_store::SsoIdentity {
        issuer: identity.issuer.clone(),
        subject: identity.subject.clone(),
    };
    let user = state
        .store
        .sign_in_sso(
            &sso,
            identity.email.as_deref(),
            invitation.as_deref(),
            oidc.links_by_email(),
        )
        .await
        .map_err(session_failed)?
        .ok_or_else(|| {
            tracing::info!(subject = sso.subject, "single sign-on of a person without an account");
            WebError::forbidden(
                "Für diese Anmeldung gibt es hier keinen Zugang. Bitten Sie den Betreiber des Vergleichsrings oder die Ansprechperson Ihrer Kommune um eine Einladung.",
            )
        })?;
    let id = state
        .store
        .start_user_session(&user.user_id)
        .await
        .map_err(session_failed)?;
    tracing::info!(user_id = user.user_id, "signed in through the provider");
    let redirected = after_sign_in(&headers, &id, &user);
    let to = redirected
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("/web")
        .to_string();
    let mut response = html_page(pages::signed_in_through_sso(&to).into_string()).into_response();
    for v in redirected.headers().get_all(SET_COOKIE) {
        response.headers_mut().append(SET_COOKIE, v.clone());
    }
    if let Ok(v) = HeaderValue::from_str(&flow_cookie(&headers, "", 0)) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    Ok(response)
}
