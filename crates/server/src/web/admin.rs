//! The admin's list of users (`/web/benutzer`): the accounts of a member
//! or of the whole ring, invitations for every role, and disabling an
//! account. Open to admin accounts only, which must have a second factor.

use super::*;

/// The most rows the list shows at once; a filter by member narrows it.
const SHOWN: usize = 500;

fn users_page(
    state: &AppState,
    account: &Account,
    member: Option<&str>,
    invited: Option<&pages::Invited>,
    error: Option<&str>,
) -> Response {
    let all: Vec<_> = state
        .store
        .users()
        .into_iter()
        .filter(|u| member.is_none_or(|m| u.member_id.as_deref() == Some(m)))
        .collect();
    let shown = &all[..all.len().min(SHOWN)];
    let page = pages::admin_users(account, shown, all.len(), member, invited, error);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, html_page(page.into_string())).into_response()
}

/// `GET /web/benutzer[?mitglied=ID]`: the users.
#[utoipa::path(
    get,
    path = "/web/benutzer",
    operation_id = "web_users",
    tag = "web",
    summary = "Users (admin)",
    description = "For an admin account (with its second factor): the accounts of one member (`mitglied`) or of the ring (the first 500), with role, member, invitation right, second factor and state; a form to invite a person for any role; a button to disable an account.",
    params(crate::contract::WebUsersQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not an admin account, or one without its second factor yet.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn users(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<contract::WebUsersQuery>,
    SignedIn(Admin(account)): SignedIn<Admin>,
) -> Result<Response, WebError> {
    let member = query
        .mitglied
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    Ok(users_page(&state, &account, member, None, None))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct AdminInviteForm {
    csrf: String,
    name: String,
    email: String,
    /// `member`, `analyst`, `consultant` or `admin`.
    role: String,
    #[serde(default)]
    member_id: String,
    #[serde(default)]
    consultant_id: String,
    /// Present (`1`) when a member user may invite colleagues.
    #[serde(default)]
    lead: Option<String>,
}

impl CsrfField for AdminInviteForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/benutzer`: invites a person.
#[utoipa::path(
    post,
    path = "/web/benutzer",
    operation_id = "web_invite_user",
    tag = "web",
    summary = "Invite a user (admin)",
    description = "An admin account invites a person for a role (and member or consultant), as `POST /api/v1/users` does; the invitation goes out by e-mail when a mail server is configured, and the page shows the link as well.",
    request_body(content = inline(AdminInviteForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 200, description = "Invited: the list with the link.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not an admin account, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 422, description = "What was wrong with the invitation (the page again), or a field of the form is missing.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn invite_user(
    State(state): State<AppState>,
    CsrfForm {
        who: Admin(account),
        form,
    }: CsrfForm<Admin, AdminInviteForm>,
) -> Result<Response, WebError> {
    let Some(role) = Role::parse(&form.role) else {
        return Ok(users_page(
            &state,
            &account,
            None,
            None,
            Some("Bitte wählen Sie eine Rolle."),
        ));
    };
    let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let invited = state
        .store
        .invite_user(
            account.caller.actor(),
            vergleichsring_store::NewUser {
                email: form.email.clone(),
                name: form.name.clone(),
                role,
                member_id: some(&form.member_id),
                consultant_id: some(&form.consultant_id),
                lead: form.lead.is_some(),
            },
        )
        .await;
    let member = some(&form.member_id);
    match invited {
        Ok((user, code)) => {
            tracing::info!(
                user_id = user.user_id,
                role = role.as_str(),
                by = account.caller.actor(),
                "user invited"
            );
            let invited = mailed_invitation(&state, &user, &code, &account.name).await;
            Ok(users_page(
                &state,
                &account,
                member.as_deref(),
                Some(&invited),
                None,
            ))
        }
        Err(vergleichsring_store::StoreError::Invalid(why)) => {
            let message = match why.split_once(':').map(|(field, _)| field) {
                Some("member_id") => {
                    "Für ein Mitglied geben Sie bitte die Nummer eines registrierten Mitglieds an."
                }
                Some("consultant_id") => "Für die Beratung geben Sie bitte ihre Kennung an.",
                Some("lead") => "Das Einladungsrecht gibt es nur für Mitglieder.",
                Some("email") => "Bitte geben Sie eine gültige E-Mail-Adresse an.",
                _ => "Bitte geben Sie einen Namen (höchstens 200 Zeichen) an.",
            };
            Ok(users_page(
                &state,
                &account,
                member.as_deref(),
                None,
                Some(message),
            ))
        }
        Err(vergleichsring_store::StoreError::Conflict(_)) => Ok(users_page(
            &state,
            &account,
            member.as_deref(),
            None,
            Some("Für diese E-Mail-Adresse gibt es schon einen Zugang."),
        )),
        Err(e) => Err(session_failed(e)),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct DisableForm {
    csrf: String,
    user_id: String,
}

impl CsrfField for DisableForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/benutzer/sperren`: disables an account.
#[utoipa::path(
    post,
    path = "/web/benutzer/sperren",
    operation_id = "web_disable_user",
    tag = "web",
    summary = "Disable a user (admin)",
    description = "Disables an account, as `DELETE /api/v1/users/{user_id}` does: its sessions and personal tokens end at once on every replica. An admin cannot disable its own account here.",
    request_body(content = inline(DisableForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 303, description = "Disabled: back to the list.", headers(("location" = String, description = "`/web/benutzer`"))),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not an admin account, a wrong CSRF token, a post from another site, or the admin's own account.", body = String, content_type = "text/html"),
        (status = 404, description = "No such account.", body = String, content_type = "text/html"),
        crate::contract::responses::FormRejections,
    )
)]
pub(super) async fn disable_user(
    State(state): State<AppState>,
    CsrfForm { who, form }: CsrfForm<Admin, DisableForm>,
) -> Result<Response, WebError> {
    act(&state, who, &form, Action::Disable).await
}

/// What the admin's buttons do to an account.
#[derive(Clone, Copy)]
enum Action {
    Disable,
    ResetSecondFactor,
}

/// Does `action` to the form's account for the signed-in admin (the
/// origin, the admin and the CSRF token checked by [`CsrfForm`]): an
/// admin's own account not disabled, an unknown account a 404; back to the
/// list.
async fn act(
    state: &AppState,
    Admin(account): Admin,
    form: &DisableForm,
    action: Action,
) -> Result<Response, WebError> {
    let by = account.caller.actor();
    let known = match action {
        Action::Disable => {
            if account
                .user
                .as_ref()
                .is_some_and(|u| u.user_id == form.user_id)
            {
                return Err(WebError::forbidden(
                    "Das eigene Konto sperren Sie hier nicht; das macht eine andere Person des Betriebs.",
                ));
            }
            state.store.disable_user(by, &form.user_id).await
        }
        // Personal tokens end with the factor (the default); the person
        // hears of it by mail.
        Action::ResetSecondFactor => state
            .store
            .reset_second_factor_with(by, &form.user_id, false)
            .await
            .map(|reset| {
                reset
                    .map(|(user, ended)| crate::mail::notify_second_factor_reset(state, user, ended))
                    .is_some()
            }),
    }
    .map_err(session_failed)?;
    if !known {
        return Err(WebError::new(
            StatusCode::NOT_FOUND,
            "Dieses Konto gibt es nicht.",
        ));
    }
    let what = match action {
        Action::Disable => "user disabled",
        Action::ResetSecondFactor => "second factor reset",
    };
    tracing::info!(user_id = form.user_id, by, what);
    Ok(see_other("/web/benutzer"))
}

/// `POST /web/benutzer/zweiter-faktor`: resets an account's second factor.
#[utoipa::path(
    post,
    path = "/web/benutzer/zweiter-faktor",
    operation_id = "web_reset_second_factor",
    tag = "web",
    summary = "Reset a user's second factor (admin)",
    description = "As `DELETE /api/v1/users/{user_id}/second-factor`: removes the account's second factor (a lost device) and ends its sessions and personal tokens; the person enrols a new one at the next sign-in and is told by mail (when a mail server is configured).",
    request_body(content = inline(DisableForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 303, description = "Reset: back to the list.", headers(("location" = String, description = "`/web/benutzer`"))),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not an admin account, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        (status = 404, description = "No such account.", body = String, content_type = "text/html"),
        crate::contract::responses::FormRejections,
    )
)]
pub(super) async fn reset_second_factor(
    State(state): State<AppState>,
    CsrfForm { who, form }: CsrfForm<Admin, DisableForm>,
) -> Result<Response, WebError> {
    act(&state, who, &form, Action::ResetSecondFactor).await
}
