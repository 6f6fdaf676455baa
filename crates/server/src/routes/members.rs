//! Members: the list and their registration (tag `members`).

use super::*;

/// `GET /api/v1/members`: admin and analysts see all members, a member
/// itself, a consultant the members that granted it access.
#[utoipa::path(
    get,
    path = "/api/v1/members",
    tag = "members",
    summary = "List members",
    description = "Admin and analysts see every member, a member token only its own member, a consultant the members that granted it access.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The members the caller may see.", body = Vec<vergleichsring_store::Member>),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::contract::ErrorBody),
    )
)]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Member>>, ApiError> {
    let all = state.store.members();
    Ok(Json(match caller.role {
        Role::Admin | Role::Analyst => all,
        Role::Member => all
            .into_iter()
            .filter(|m| Some(&m.member_id) == caller.member_id.as_ref())
            .collect(),
        Role::Consultant => all
            .into_iter()
            .filter(|m| caller.grants.contains(&m.member_id))
            .collect(),
    }))
}

/// `POST /api/v1/members` (admin): register or update members.
#[utoipa::path(
    post,
    path = "/api/v1/members",
    tag = "members",
    summary = "Register or update members",
    description = "Admin only. Registers the members of the array; re-registering an id updates its name and kind. All or none: every entry is checked before anything is stored.",
    request_body(content = Vec<vergleichsring_store::Member>, description = "A JSON array of members; `kind` is `kreisfreie_stadt`, `kreisangehoerige_gemeinde` or `landkreis`."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The registered members.", body = Vec<vergleichsring_store::Member>),
        (status = 400, description = "The body is not a JSON array of members.", body = crate::contract::ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one.", body = crate::contract::ErrorBody),
        (status = 403, description = "The token is not an admin token.", body = crate::contract::ErrorBody),
        (status = 422, description = "`invalid_member`: a regional key does not fit its kind, or a name is empty; nothing was stored.", body = crate::contract::ErrorBody),
    )
)]
pub async fn register_members(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Vec<Member>>), ApiError> {
    caller.require(&[Role::Admin], "register members")?;
    let members: Vec<Member> = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be a JSON array of {{\"member_id\", \"name\", \"kind\"}} with kind one of kreisfreie_stadt, kreisangehoerige_gemeinde, landkreis: {e}"
        ))
    })?;
    let saved = state
        .store
        .upsert_members(members)
        .await
        .map_err(|e| match e {
            vergleichsring_store::StoreError::Invalid(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_member", m)
            }
            other => ApiError::from(vergleichsring_engine::EngineError::from(other)),
        })?;
    Ok((StatusCode::CREATED, Json(saved)))
}
