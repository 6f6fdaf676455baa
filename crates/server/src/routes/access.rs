//! Access: consultants' grants, token revocation and the access log (tag `access`).

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
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::contract::ErrorBody),
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
    state
        .store
        .grant(&member_id, &b.consultant_id)
        .await
        .map_err(vergleichsring_engine::EngineError::from)?;
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
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::contract::ErrorBody),
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
    let removed = state
        .store
        .revoke_grant(&member_id, &consultant_id)
        .await
        .map_err(vergleichsring_engine::EngineError::from)?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "consultant {consultant_id} has no grant from member {member_id}"
        )))
    }
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
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::contract::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::contract::ErrorBody),
        (status = 404, description = "No token with that id.", body = crate::contract::ErrorBody),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::TokenPath { token_id }): ApiPath<contract::TokenPath>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Admin], "revoke tokens")?;
    let found = state
        .store
        .revoke_token(&token_id)
        .await
        .map_err(vergleichsring_engine::EngineError::from)?;
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
        (status = 200, description = "The log.", body = Vec<vergleichsring_store::AccessEntry>),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::contract::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::contract::ErrorBody),
    )
)]
pub async fn access_log(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin], "read the access log")?;
    let log = state
        .store
        .access_log()
        .map_err(vergleichsring_engine::EngineError::from)?;
    Ok(Json(json!(log)))
}
