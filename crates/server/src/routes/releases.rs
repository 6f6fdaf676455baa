//! Frozen releases (tag `releases`).

use super::*;

/// `GET /api/v1/releases`: every frozen release, oldest first (any role).
#[utoipa::path(
    get,
    path = "/api/v1/releases",
    tag = "releases",
    summary = "List frozen releases",
    description = "Every frozen release, oldest first, with the data versions it froze; a release id is usable as `as_of` of comparisons, time series and reports. Every role.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The releases, oldest first.", body = Vec<crate::contract::schema::DataRelease>),
        crate::contract::responses::TokenRequired,
    )
)]
pub async fn list_releases(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(
        &[Role::Admin, Role::Analyst, Role::Member, Role::Consultant],
        "list releases",
    )?;
    Ok(Json(json!(state.engine.releases(None)?)))
}

/// `POST /api/v1/releases/{domain}/{year}` (admin): freezes the (domain,
/// year) at the current data versions; uploads for it then get 409 until
/// it is reopened. Answers 201 with the release.
#[utoipa::path(
    post,
    path = "/api/v1/releases/{domain}/{year}",
    tag = "releases",
    summary = "Freeze a (domain, year)",
    description = "Admin only. Records every domain's current data version as a release; uploads for the (domain, year) then get 409 until it is reopened, and `as_of` the release reads the data as it is now.",
    params(crate::contract::DomainYearPath),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Frozen.", body = crate::contract::schema::DataRelease),
        (status = 400, description = "The year is not a number.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = crate::contract::ErrorBody),
        (status = 409, description = "`conflict`: the (domain, year) is frozen already.", body = crate::contract::ErrorBody),
    )
)]
pub async fn freeze_release(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin], "freeze a release")?;
    let release = state.engine.freeze(&domain, year, caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(json!(release))))
}

/// `POST /api/v1/releases/{domain}/{year}/reopen` (admin): allows uploads
/// again; the release stays available for `as_of`.
#[utoipa::path(
    post,
    path = "/api/v1/releases/{domain}/{year}/reopen",
    tag = "releases",
    summary = "Reopen a frozen (domain, year)",
    description = "Admin only. Allows uploads for the (domain, year) again; the release stays in the log and available as `as_of`.",
    params(crate::contract::DomainYearPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reopened: the release with `reopened_at` and `reopened_by`.", body = crate::contract::schema::DataRelease),
        (status = 400, description = "The year is not a number.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = crate::contract::ErrorBody),
        (status = 409, description = "`conflict`: the (domain, year) is not frozen.", body = crate::contract::ErrorBody),
    )
)]
pub async fn reopen_release(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin], "reopen a release")?;
    let release = state.engine.reopen(&domain, year, caller.actor()).await?;
    Ok(Json(json!(release)))
}
