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
        (status = 200, description = "The members the caller may see.", body = Vec<crate::contract::schema::Member>),
        crate::contract::responses::TokenRequired,
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
    request_body(content = Vec<crate::contract::schema::Member>, description = "A JSON array of members; `kind` is `kreisfreie_stadt`, `kreisangehoerige_gemeinde` or `landkreis`."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The registered members.", body = Vec<crate::contract::schema::Member>),
        (status = 400, description = "The body is not a JSON array of members.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
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
        .upsert_members_by(caller.actor(), members)
        .await
        .map_err(member_error)?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// Body of `PATCH /api/v1/members/{member_id}`: what changes.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberChange {
    /// A new name.
    #[serde(default)]
    #[schema(example = "Stadt Köln")]
    name: Option<String>,
    /// A new kind (`kreisfreie_stadt`, `kreisangehoerige_gemeinde` or
    /// `landkreis`); it must fit the regional key.
    #[serde(default)]
    #[schema(value_type = Option<crate::contract::schema::MemberKind>)]
    kind: Option<vergleichsring_catalog::MemberKind>,
}

/// `PATCH /api/v1/members/{member_id}` (admin): rename a member or change
/// its kind.
#[utoipa::path(
    patch,
    path = "/api/v1/members/{member_id}",
    tag = "members",
    summary = "Change a member",
    description = "Admin only. Changes a registered member's name or kind (or both). The kind decides the member's size classes: live comparisons group by the new kind at once, publications keep the member list they were made with.",
    params(crate::contract::MemberPath),
    request_body(content = MemberChange, description = "The fields to change."),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The member as it is now.", body = crate::contract::schema::Member),
        (status = 400, description = "The body is not `{\"name\"?, \"kind\"?}`, or names neither.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "The member is not registered.", body = crate::contract::ErrorBody),
        (status = 422, description = "`invalid_member`: the kind does not fit the regional key, or the name is empty; nothing was changed.", body = crate::contract::ErrorBody),
    )
)]
pub async fn change_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::MemberPath { member_id }): ApiPath<contract::MemberPath>,
    body: axum::body::Bytes,
) -> Result<Json<Member>, ApiError> {
    caller.require(&[Role::Admin], "change members")?;
    let change: MemberChange = json_body(
        &body,
        "{\"name\": TEXT, \"kind\": kreisfreie_stadt | kreisangehoerige_gemeinde | landkreis}",
    )?;
    if change.name.is_none() && change.kind.is_none() {
        return Err(ApiError::bad_request(
            "the body names nothing to change: give name, kind or both",
        ));
    }
    let Some(mut member) = state.store.member(&member_id) else {
        return Err(ApiError::not_found(format!(
            "member {member_id} is not registered"
        )));
    };
    if let Some(name) = change.name {
        member.name = name;
    }
    if let Some(kind) = change.kind {
        member.kind = kind;
    }
    let mut saved = state
        .store
        .upsert_members_by(caller.actor(), vec![member])
        .await
        .map_err(member_error)?;
    let member = saved
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("member {member_id} is not registered")))?;
    tracing::info!(member_id, by = caller.actor(), "member changed");
    Ok(Json(member))
}

/// `DELETE /api/v1/members/{member_id}?from_year=Y` (admin): the member
/// leaves the ring from a year on.
#[utoipa::path(
    delete,
    path = "/api/v1/members/{member_id}",
    tag = "members",
    summary = "A member leaves the ring",
    description = "Admin only. The member leaves the ring from `from_year` on: uploads of its figures for that year and later are refused (`member_left`). Its figures of earlier years stay in every comparison, publication and release, and its tokens keep reading them until revoked. A member with figures for `from_year` or later cannot leave from that year (409): the year after its last figures is the earliest. Leaving again moves the year; the change is kept in the state log's history.",
    params(crate::contract::MemberPath, crate::contract::LeaveQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The member and the year it left from.", body = crate::contract::LeftMember),
        (status = 400, description = "`from_year` is missing or not a year.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "The member is not registered.", body = crate::contract::ErrorBody),
        (status = 409, description = "The member has figures for `from_year` or later.", body = crate::contract::ErrorBody),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::MemberPath { member_id }): ApiPath<contract::MemberPath>,
    ApiQuery(q): ApiQuery<contract::LeaveQuery>,
) -> Result<Json<contract::LeftMember>, ApiError> {
    caller.require(&[Role::Admin], "remove members")?;
    vergleichsring_engine::check_year(q.from_year)?;
    let Some(member) = state.store.member(&member_id) else {
        return Err(ApiError::not_found(format!(
            "member {member_id} is not registered"
        )));
    };
    // Figures of the leaving years would stay in comparisons of years the
    // member is no longer in: they must not exist.
    let last = chrono::Datelike::year(&chrono::Utc::now()) + 1;
    for d in &state.engine.catalog().domains {
        for year in q.from_year..=last.max(q.from_year) {
            if state
                .engine
                .has_submitted(&d.id, year, &member_id)
                .await
                .map_err(ApiError::from)?
            {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "member_has_figures",
                    format!(
                        "member {member_id} has {} figures for {year}; it can leave from {} on at the earliest",
                        d.id,
                        year + 1
                    ),
                ));
            }
        }
    }
    state
        .store
        .member_leaves(caller.actor(), &member_id, q.from_year)
        .await?;
    tracing::info!(
        member_id,
        from_year = q.from_year,
        by = caller.actor(),
        "member left the ring"
    );
    Ok(Json(contract::LeftMember {
        member,
        left_from_year: q.from_year,
    }))
}

/// A member the store refuses is a 422 `invalid_member`; anything else is
/// the store's own error.
fn member_error(e: vergleichsring_store::StoreError) -> ApiError {
    match e {
        vergleichsring_store::StoreError::Invalid(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_member", m)
        }
        other => ApiError::from(other),
    }
}
