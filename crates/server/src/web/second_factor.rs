//! The TOTP second factor on the web page: the code after the password
//! (attempts limited per session and per account by the store, the
//! session id rotated when it is confirmed) and the enrolment.

use super::*;

/// A token's session asking for what only personal accounts have.
pub(super) fn not_personal() -> WebError {
    WebError::forbidden(
        "Ein zweiter Faktor gehört zu einem persönlichen Zugang (E-Mail-Adresse und Passwort), nicht zu einem Zugangsschlüssel.",
    )
}

/// A QR code of `text` as inline SVG.
pub(super) fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(220, 220)
                .build();
            // Inline in HTML: without the XML declaration.
            svg.find("<svg")
                .map_or(svg.clone(), |i| svg[i..].to_string())
        }
        Err(_) => String::new(),
    }
}

/// The enrolment page of a signed-in user, with a new secret.
pub(super) fn enrolment(
    member: &Account,
    user: &vergleichsring_store::UserRecord,
    error: Option<&str>,
    secret: Option<&str>,
) -> Response {
    let secret = secret.map_or_else(
        || vergleichsring_store::base32(&rand::random::<[u8; 20]>()),
        str::to_string,
    );
    let uri = format!(
        "otpauth://totp/Vergleichsring:{}?secret={secret}&issuer=Vergleichsring",
        user.email
    );
    let page = pages::enrol(member, &secret, &qr_svg(&uri), error);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, html_page(page.into_string())).into_response()
}

/// `GET /web/zweiter-faktor`: the code after the password, or the
/// enrolment of the second factor.
#[utoipa::path(
    get,
    path = "/web/zweiter-faktor",
    operation_id = "web_second_factor",
    tag = "web",
    summary = "Second factor",
    description = "After the password of an account with a second factor: the form for the code. Signed in with an account without one: its enrolment (a new secret as QR code and text). With one: that it is enrolled.",
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Signed in with a token: second factors are for personal accounts.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn second_factor(
    SignedIn(step): SignedIn<SecondFactorStep>,
) -> Result<Response, WebError> {
    let member = match step {
        SecondFactorStep::Pending { csrf, .. } => {
            let page = pages::code_form(&csrf, None);
            return Ok(html_page(page.into_string()).into_response());
        }
        SecondFactorStep::SignedIn(account) => *account,
    };
    let Some(user) = member.user.clone() else {
        return Err(not_personal());
    };
    if user.totp_secret.is_some() {
        return Ok(html_page(pages::enrolled(&member).into_string()).into_response());
    }
    Ok(enrolment(&member, &user, None, None))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct SecondFactorForm {
    csrf: String,
    code: String,
    /// The secret being enrolled (enrolment only).
    #[serde(default)]
    secret: Option<String>,
}

impl CsrfField for SecondFactorForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/zweiter-faktor`: confirms a sign-in with the code, or enrols
/// the second factor.
#[utoipa::path(
    post,
    path = "/web/zweiter-faktor",
    operation_id = "web_submit_second_factor",
    tag = "web",
    summary = "Confirm or enrol the second factor",
    description = "After the password: the current code of the authenticator app (each time step works once, the enrolling code's too) or an unused recovery code (used up) completes the sign-in, and the session continues under a new id (a new cookie; the old id ends). A waiting session may try 5 codes; the fifth failure ends it. An account's sessions may try 10 within 15 minutes on one replica, then its second-factor step pauses. Signed in without a second factor: the secret shown and the app's code for it enrol it, and the page shows ten recovery codes once.",
    request_body(content = inline(SecondFactorForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 200, description = "Enrolled: the recovery codes.", body = String, content_type = "text/html"),
        (status = 303, description = "Signed in: on to `/web`.", headers(("location" = String, description = "`/web`"))),
        (status = 401, description = "A wrong or used code (the form again, with the attempts left), the session's last allowed attempt failed (the session ended: sign in again), or not signed in.", body = String, content_type = "text/html"),
        (status = 403, description = "A wrong CSRF token, a post from another site, or a token's session.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 422, description = "Enrolment with a code that does not fit the secret (the page again), or a field of the form is missing.", body = String, content_type = "text/html"),
        (status = 429, description = "Too many codes for the account: its second-factor step pauses (15 minutes, doubling with each further pause up to 24 hours; per replica); `Retry-After` says how long.", body = String, content_type = "text/html", headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub(super) async fn submit_second_factor(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm { who, form }: CsrfForm<SecondFactorStep, SecondFactorForm>,
) -> Result<Response, WebError> {
    let member = match who {
        SecondFactorStep::Pending { id, .. } => {
            let confirmation = state
                .store
                .confirm_session(&id, &form.code)
                .await
                .map_err(session_failed)?;
            return Ok(confirmed_or_not(&headers, &id, confirmation));
        }
        SecondFactorStep::SignedIn(account) => *account,
    };
    let Some(user) = member.user.clone() else {
        return Err(not_personal());
    };
    let Some(secret) = form.secret.as_deref() else {
        return Ok(enrolment(
            &member,
            &user,
            Some("Bitte richten Sie den zweiten Faktor über dieses Formular ein."),
            None,
        ));
    };
    match state
        .store
        .enrol_totp(&user.user_id, secret, &form.code)
        .await
    {
        Ok(codes) => {
            Ok(html_page(pages::recovery_codes(&member, &codes).into_string()).into_response())
        }
        Err(vergleichsring_store::StoreError::Invalid(_)) => Ok(enrolment(
            &member,
            &user,
            Some(
                "Dieser Code passt nicht zum Schlüssel. Bitte prüfen Sie die Uhrzeit Ihres Geräts und geben Sie den aktuellen Code ein.",
            ),
            Some(secret),
        )),
        Err(vergleichsring_store::StoreError::Conflict(_)) => {
            Ok(html_page(pages::enrolled(&member).into_string()).into_response())
        }
        Err(e) => Err(session_failed(e)),
    }
}

/// The answer to a code sent for a waiting session: on to `/web` with the
/// rotated session cookie, the form again with the attempts left, the
/// sign-in again after the last attempt, or a 429 while the account
/// pauses.
fn confirmed_or_not(
    headers: &HeaderMap,
    id: &str,
    confirmation: vergleichsring_store::Confirmation,
) -> Response {
    use vergleichsring_store::Confirmation;
    let retry = |message: String, status: StatusCode| {
        let page = pages::code_form(&crate::secrets::csrf_of(id), Some(&message));
        (status, html_page(page.into_string())).into_response()
    };
    match confirmation {
        Confirmation::Confirmed { session_id } => {
            let mut response = see_other("/web");
            if let Ok(v) = HeaderValue::from_str(&set_cookie(
                headers,
                SESSION_COOKIE,
                &session_id,
                vergleichsring_store::SESSION_LIFETIME.as_secs(),
            )) {
                response.headers_mut().append(SET_COOKIE, v);
            }
            response
        }
        Confirmation::Refused { attempts_left } => retry(
            format!(
                "Dieser Code stimmt nicht oder wurde schon benutzt. Noch {attempts_left} {}.",
                if attempts_left == 1 {
                    "Versuch"
                } else {
                    "Versuche"
                }
            ),
            StatusCode::UNAUTHORIZED,
        ),
        Confirmation::Ended => {
            let mut response = WebError::new(
                StatusCode::UNAUTHORIZED,
                "Diese Anmeldung ist beendet: zu viele falsche Codes, oder sie ist abgelaufen. Bitte melden Sie sich noch einmal mit Ihrem Passwort an.",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&set_cookie(headers, SESSION_COOKIE, "", 0)) {
                response.headers_mut().append(SET_COOKIE, v);
            }
            response
        }
        Confirmation::Paused { retry_after } => {
            let minutes = retry_after.as_secs().div_ceil(60);
            let mut response = retry(
                format!(
                    "Zu viele falsche Codes für diesen Zugang. Bitte versuchen Sie es in {minutes} {} noch einmal.",
                    if minutes == 1 { "Minute" } else { "Minuten" }
                ),
                StatusCode::TOO_MANY_REQUESTS,
            );
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(retry_after.as_secs().max(1)),
            );
            response
        }
    }
}
