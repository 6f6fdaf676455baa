//! Custom peer groups (tag `groups`).

use super::*;

/// `POST /api/v1/groups` (analyst, admin): define a custom peer group.
#[utoipa::path(
    post,
    path = "/api/v1/groups",
    tag = "groups",
    summary = "Define a custom peer group",
    description = "Analysts and admin. The group's id is then usable as `group_by` wherever a dimension is; its statistics for a (domain, year) are disclosed only if disclosure control allows it.",
    request_body(content = crate::contract::schema::CustomGroup, description = "The group."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Defined.", body = crate::contract::schema::CustomGroup),
        (status = 400, description = "The body is not a group.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "Neither analyst nor admin.", body = crate::contract::ErrorBody),
        (status = 409, description = "`conflict`: a group or dimension with that id exists.", body = crate::contract::ErrorBody),
        (status = 422, description = "`group_refused`: a rule refuses the group (`reason`), e.g. too few members or an unknown member.", body = crate::contract::ErrorBody),
    )
)]
pub async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin, Role::Analyst], "define peer groups")?;
    let group: vergleichsring_store::CustomGroup =
        json_body(&body, "{\"id\", \"name\", \"member_ids\": [...]}")?;
    let saved = state.engine.create_group(group).await?;
    Ok((StatusCode::CREATED, Json(json!(saved))))
}

/// `GET /api/v1/groups`: analysts and admin see the members of each group;
/// members and consultants only ids and names, because in the default
/// visibility mode members do not learn who else is in the ring.
#[utoipa::path(
    get,
    path = "/api/v1/groups",
    tag = "groups",
    summary = "List custom peer groups",
    description = "Analysts and admin see the members of each group; members and consultants only ids and names, because members do not learn who else is in the ring.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The groups.", body = crate::contract::GroupListing),
        crate::contract::responses::TokenRequired,
    )
)]
pub async fn list_groups(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    let groups = state.store.groups();
    Json(match caller.role {
        Role::Admin | Role::Analyst => json!(groups),
        _ => json!(
            groups
                .iter()
                .map(|g| json!({"id": g.id, "name": g.name}))
                .collect::<Vec<_>>()
        ),
    })
}
