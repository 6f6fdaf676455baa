//! Access: consultants' grants, token administration and the access log (tag `access`).

use super::*;

/// Body of `POST /api/v1/members/{member_id}/grants`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct GrantBody {
    consultant_id: String,
}

/// `POST /api/v1/members/{member_id}/grants`: a member (for itself) or admin
/// grants a consultant access to the member's reports.
#[utoipa::path(
    post,
    path = "/api/v1/members/{member_id}/grants",
    tag = "access",
    summary = "Grant a consultant access",
    description = "A member (for itself) or admin lets a consultant read the member's comparisons, time series and reports.",
    params(crate::contract::MemberPath),
    request_body(content = GrantBody, description = "The consultant."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Granted.", body = crate::contract::Grant),
        (status = 400, description = "The body is not `{\"consultant_id\": ID}`.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "Neither the member itself nor admin.", body = crate::contract::ErrorBody),
        (status = 404, description = "The member is not registered.", body = crate::contract::ErrorBody),
    )
)]
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::MemberPath { member_id }): ApiPath<contract::MemberPath>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    own_member_or_admin(&caller, &member_id, "grant access to its reports")?;
    let b: GrantBody = json_body(&body, "{\"consultant_id\": ID}")?;
    if state.store.member(&member_id).is_none() {
        return Err(ApiError::not_found(format!(
            "member {member_id} is not registered"
        )));
    }
    state.store.grant(&member_id, &b.consultant_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"member_id": member_id, "consultant_id": b.consultant_id})),
    ))
}

/// `DELETE /api/v1/members/{member_id}/grants/{consultant_id}`.
#[utoipa::path(
    delete,
    path = "/api/v1/members/{member_id}/grants/{consultant_id}",
    tag = "access",
    summary = "Revoke a consultant's access",
    description = "A member (for itself) or admin revokes a grant; it takes effect at once, also for the consultant's tokens in use.",
    params(crate::contract::GrantPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked."),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "Neither the member itself nor admin.", body = crate::contract::ErrorBody),
        (status = 404, description = "The consultant has no grant from the member.", body = crate::contract::ErrorBody),
    )
)]
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::GrantPath {
        member_id,
        consultant_id,
    }): ApiPath<contract::GrantPath>,
) -> Result<StatusCode, ApiError> {
    own_member_or_admin(&caller, &member_id, "revoke access to its reports")?;
    let removed = state.store.revoke_grant(&member_id, &consultant_id).await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "consultant {consultant_id} has no grant from member {member_id}"
        )))
    }
}

/// Body of `POST /api/v1/tokens`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// `admin`, `analyst`, `consultant` or `member`.
    #[schema(example = "member")]
    role: String,
    /// The member of a member token (required for one).
    #[serde(default)]
    member_id: Option<String>,
    /// The consultant of a consultant token (required for one).
    #[serde(default)]
    consultant_id: Option<String>,
    /// Members whose figures a consultant may read (consultant tokens only).
    #[serde(default)]
    grants: Vec<String>,
    /// What the token is for (at most 200 characters).
    #[serde(default)]
    #[schema(example = "Export aus der Bibliothekssoftware")]
    label: Option<String>,
    /// When the token stops working (RFC 3339, in the future); none: never.
    #[serde(default)]
    #[schema(example = "2027-12-31T23:59:59Z")]
    expires_at: Option<String>,
}

/// A token just created. The token itself is shown this once: only its
/// hash is stored.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The bearer token.
    token: String,
    /// Its record, as the token list shows it (with `token_id`, the public
    /// id for the list and revocation).
    #[serde(flatten)]
    info: TokenInfo,
}

/// A token as the token list shows it: never the token or its hash.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    /// The public id.
    token_id: String,
    /// The role.
    role: String,
    /// The member of a member token.
    #[serde(skip_serializing_if = "Option::is_none")]
    member_id: Option<String>,
    /// The consultant of a consultant token.
    #[serde(skip_serializing_if = "Option::is_none")]
    consultant_id: Option<String>,
    /// What it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    /// When it was created (RFC 3339).
    created_at: String,
    /// When it stops working (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    /// Whether it was revoked.
    revoked: bool,
    /// Whether it has expired.
    expired: bool,
    /// When this server last accepted it (since its start; each replica
    /// counts its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<String>,
    /// The account of a personal token (made on the web page); none for a
    /// service token.
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
}

impl TokenInfo {
    fn of(t: vergleichsring_store::TokenRecord, last_used_at: Option<String>) -> TokenInfo {
        TokenInfo {
            expired: t.is_expired(chrono::Utc::now()),
            token_id: t.token_id,
            role: t.role.as_str().to_string(),
            member_id: t.member_id,
            consultant_id: t.consultant_id,
            label: t.label,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked: t.revoked,
            last_used_at,
            owner: t.owner,
        }
    }
}

/// `POST /api/v1/tokens` (admin): create a token.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "access",
    summary = "Create a token",
    description = "Admin only. Creates a bearer token for a role, as `vergleichsring token create` does, with an optional label and expiry. The token is in this answer only; the server keeps its hash.",
    request_body(content = TokenBody, description = "What the token grants."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; the token is shown this once.", body = CreatedToken),
        (status = 400, description = "An unknown role or field, a member or consultant token without its id, an unregistered member, an expiry that is not RFC 3339 or not in the future, a label over 200 characters.", body = crate::contract::ErrorBody),
        (status = 401, description = "No token, or an unknown, revoked or expired one.", body = crate::contract::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::contract::ErrorBody),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    caller.require(&[Role::Admin], "create tokens")?;
    let b: TokenBody = json_body(&body, "{\"role\": ROLE, \"member_id\": ID, ...}")?;
    let role = role_of(&b.role)?;
    let expires_at = b
        .expires_at
        .as_deref()
        .map(vergleichsring_store::parse_expiry)
        .transpose()
        .map_err(|m| ApiError::bad_request(format!("expires_at: {m}")))?;
    let (token, record) = state
        .store
        .issue_token(
            caller.actor(),
            vergleichsring_store::NewToken {
                role,
                member_id: b.member_id,
                consultant_id: b.consultant_id,
                grants: b.grants,
                label: b.label,
                expires_at,
            },
        )
        .await?;
    tracing::info!(
        token_id = record.token_id,
        role = role.as_str(),
        by = caller.actor(),
        "token created"
    );
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
            info: TokenInfo::of(record, None),
        }),
    ))
}

/// `GET /api/v1/tokens` (admin): every token, never a hash.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "access",
    summary = "List tokens",
    description = "Admin only. Every token with its role, member or consultant, label, creation, expiry, revocation and when this server last accepted it; never the token or its hash. Oldest first.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tokens.", body = Vec<TokenInfo>),
        (status = 401, description = "No token, or an unknown, revoked or expired one.", body = crate::contract::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::contract::ErrorBody),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    caller.require(&[Role::Admin], "list tokens")?;
    let tokens = state.store.tokens()?;
    Ok(Json(
        tokens
            .into_iter()
            .map(|(t, used)| TokenInfo::of(t, used))
            .collect(),
    ))
}

/// `DELETE /api/v1/tokens/{token_id}` (admin): revoke a token.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{token_id}",
    tag = "access",
    summary = "Revoke a token",
    description = "Admin only. The token is refused from the next request on, and the web sessions signed in with it end.",
    params(crate::contract::TokenPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked."),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "No token with that id.", body = crate::contract::ErrorBody),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::TokenPath { token_id }): ApiPath<contract::TokenPath>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Admin], "revoke tokens")?;
    let found = state.store.revoke_token(caller.actor(), &token_id).await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no token with id {token_id}")))
    }
}

/// `GET /api/v1/access-log` (admin): who read which member's data.
#[utoipa::path(
    get,
    path = "/api/v1/access-log",
    tag = "access",
    summary = "The access log",
    description = "Admin only. Who read which member's figures, comparisons, time series and reports, oldest first.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The log.", body = Vec<crate::contract::schema::AccessEntry>),
        crate::contract::responses::AdminOnly,
    )
)]
pub async fn access_log(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin], "read the access log")?;
    let log = state.store.access_log().await?;
    Ok(Json(json!(log)))
}
