//! Users: named accounts invited by admin (tag `access`).

use super::*;

/// Body of `POST /api/v1/users`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    /// E-mail address; unique among the accounts.
    #[schema(example = "anna.schmidt@stadt-koeln.de")]
    email: String,
    /// Display name.
    #[schema(example = "Anna Schmidt")]
    name: String,
    /// `admin`, `analyst`, `consultant` or `member`.
    #[schema(example = "member")]
    role: String,
    /// The member of a member user (required for one).
    #[serde(default)]
    member_id: Option<String>,
    /// The consultant of a consultant user (required for one).
    #[serde(default)]
    consultant_id: Option<String>,
    /// Whether a member user may invite colleagues of its municipality.
    #[serde(default)]
    lead: bool,
}

/// A user as the API shows it: never a password hash.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    /// Public id.
    user_id: String,
    /// E-mail address.
    email: String,
    /// Display name.
    name: String,
    /// Role.
    role: String,
    /// The member of a member user.
    #[serde(skip_serializing_if = "Option::is_none")]
    member_id: Option<String>,
    /// The consultant of a consultant user.
    #[serde(skip_serializing_if = "Option::is_none")]
    consultant_id: Option<String>,
    /// May invite colleagues.
    lead: bool,
    /// Whether the invitation was accepted (a password is set, or the
    /// account is linked to the single sign-on).
    active: bool,
    /// Whether the account was disabled.
    disabled: bool,
    /// Whether the account has a TOTP second factor.
    second_factor: bool,
    /// Whether the account is linked to a person of the single sign-on
    /// provider.
    single_sign_on: bool,
    /// When the account was made.
    created_at: String,
    /// Who invited the person.
    invited_by: String,
}

impl From<vergleichsring_store::UserRecord> for UserInfo {
    fn from(u: vergleichsring_store::UserRecord) -> UserInfo {
        UserInfo {
            active: u.password_hash.is_some() || u.sso.is_some(),
            second_factor: u.totp_secret.is_some(),
            single_sign_on: u.sso.is_some(),
            user_id: u.user_id,
            email: u.email,
            name: u.name,
            role: u.role.as_str().to_string(),
            member_id: u.member_id,
            consultant_id: u.consultant_id,
            lead: u.lead,
            disabled: u.disabled,
            created_at: u.created_at,
            invited_by: u.invited_by,
        }
    }
}

/// Answer of `POST /api/v1/users`: the account and its invitation link.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct InvitedUser {
    /// The account.
    #[serde(flatten)]
    user: UserInfo,
    /// The path of the invitation link (`/web/einladung/<code>`), shown
    /// this once; prefix it with the service's address.
    invitation_path: String,
    /// When the link stops working (7 days).
    invitation_expires_at: String,
    /// With a mail server configured: whether the invitation e-mail was
    /// handed to it. Absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    email_sent: Option<bool>,
}

/// `POST /api/v1/users` (admin): invite a person.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "access",
    summary = "Invite a user",
    description = "Admin only. Makes a named account for one role and an invitation link valid for 7 days and once; the person sets a password there or signs in through the single sign-on provider. With a mail server configured (`[mail]`) the link goes out by e-mail (`email_sent` says whether the mail server took it); it is in this answer as well (the server keeps only its hash).",
    request_body(content = UserBody, description = "Whom to invite."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Invited.", body = InvitedUser),
        (status = 400, description = "An unknown role or field, a name empty or longer than 200 characters (line breaks and control characters in it become spaces), a member user without a registered member, a consultant user without its id, `lead` for another role than member.", body = crate::contract::ErrorBody),
        (status = 401, description = "No token, or an unknown, revoked or expired one.", body = crate::contract::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::contract::ErrorBody),
        (status = 409, description = "The e-mail address already has an account.", body = crate::contract::ErrorBody),
        (status = 422, description = "`email` is not exactly one address (`invalid_email`): no display name, angle brackets, comments, quotes or spaces.", body = crate::contract::ErrorBody),
    )
)]
pub async fn invite_user(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<InvitedUser>), ApiError> {
    caller.require(&[Role::Admin], "invite users")?;
    let b: UserBody = json_body(
        &body,
        "{\"email\": TEXT, \"name\": TEXT, \"role\": ROLE, ...}",
    )?;
    let role = role_of(&b.role)?;
    // An address goes into mails: one mailbox, read strictly, before
    // anything is stored.
    vergleichsring_store::parse_email(&b.email).map_err(invalid_email)?;
    let (user, code) = state
        .store
        .invite_user(
            caller.actor(),
            vergleichsring_store::NewUser {
                email: b.email,
                name: b.name,
                role,
                member_id: b.member_id,
                consultant_id: b.consultant_id,
                lead: b.lead,
            },
        )
        .await?;
    let expires_at = state
        .store
        .invitation(&code)
        .await
        .map(|(_, i)| i.expires_at)
        .unwrap_or_default();
    tracing::info!(
        user_id = user.user_id,
        role = role.as_str(),
        by = caller.actor(),
        "user invited"
    );
    let email_sent = crate::mail::send_link(
        &state,
        &user,
        &code,
        Some(("Der Betreiber des Vergleichsrings", &expires_at)),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(InvitedUser {
            user: user.into(),
            invitation_path: format!("/web/einladung/{code}"),
            invitation_expires_at: expires_at,
            email_sent,
        }),
    ))
}

/// `GET /api/v1/users` (admin): every account.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "access",
    summary = "List users",
    description = "Admin only. Every account with its role, member, whether it is active (password set) or disabled; never a password hash. Oldest first.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The accounts.", body = Vec<UserInfo>),
        (status = 401, description = "No token, or an unknown, revoked or expired one.", body = crate::contract::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::contract::ErrorBody),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserInfo>>, ApiError> {
    caller.require(&[Role::Admin], "list users")?;
    Ok(Json(
        state
            .store
            .users()
            .into_iter()
            .map(UserInfo::from)
            .collect(),
    ))
}

/// `DELETE /api/v1/users/{user_id}` (admin): disable an account.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{user_id}",
    tag = "access",
    summary = "Disable a user",
    description = "Admin only. The account signs in to nothing from now on, and its web sessions end at once on this replica and within `lake.refresh_millis` + 1 s on the others.",
    params(crate::contract::UserPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Disabled."),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "No account with that id.", body = crate::contract::ErrorBody),
    )
)]
pub async fn disable_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::UserPath { user_id }): ApiPath<contract::UserPath>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Admin], "disable users")?;
    let found = state.store.disable_user(caller.actor(), &user_id).await?;
    if !found {
        return Err(ApiError::not_found(format!("no user {user_id}")));
    }
    tracing::info!(user_id, by = caller.actor(), "user disabled");
    Ok(StatusCode::NO_CONTENT)
}

/// The 422 of an e-mail address that is not exactly one bare address.
pub(crate) fn invalid_email(rule: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_email",
        format!("email: {rule}"),
    )
}

/// Query of `DELETE /api/v1/users/{user_id}/second-factor`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SecondFactorResetQuery {
    /// `true`: the account's personal tokens keep working. By default they
    /// end with the reset (whoever had the device may have made some).
    #[serde(default)]
    pub keep_tokens: bool,
}

/// `DELETE /api/v1/users/{user_id}/second-factor` (admin): remove an
/// account's second factor.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{user_id}/second-factor",
    tag = "access",
    summary = "Reset a user's second factor",
    description = "Admin only. For a lost device without recovery codes: removes the account's TOTP second factor, ends its sessions and (unless `keep_tokens=true`) its personal tokens. The person signs in with the password and enrols a new one (an admin account must, before anything else). With a mail server configured the person gets a notice that says whether tokens ended.",
    params(crate::contract::UserPath, SecondFactorResetQuery),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, description = "`keep_tokens` is not `true` or `false`.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "No account with that id.", body = crate::contract::ErrorBody),
    )
)]
pub async fn reset_second_factor(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::UserPath { user_id }): ApiPath<contract::UserPath>,
    ApiQuery(query): ApiQuery<SecondFactorResetQuery>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Admin], "reset second factors")?;
    let found = state
        .store
        .reset_second_factor_with(caller.actor(), &user_id, query.keep_tokens)
        .await?;
    let Some((user, ended)) = found else {
        return Err(ApiError::not_found(format!("no user {user_id}")));
    };
    tracing::info!(
        user_id,
        by = caller.actor(),
        tokens_ended = ended,
        "second factor reset"
    );
    crate::mail::notify_second_factor_reset(&state, user, ended);
    Ok(StatusCode::NO_CONTENT)
}
