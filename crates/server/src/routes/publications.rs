//! Publications (tag `publications`).

use super::*;

/// `GET /api/v1/publications[?domain=&year=]`: the publications, newest
/// first (any role).
#[utoipa::path(
    get,
    path = "/api/v1/publications",
    tag = "publications",
    summary = "List publications",
    description = "Every publication, newest first, optionally of one domain and year. A publication is the audited state of a (domain, year) that comparisons, time series, reports and the analysts' table show to everyone but admin; its id is usable as `as_of`. Every role.",
    params(crate::contract::PublicationsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The publications, newest first.", body = Vec<crate::contract::schema::Publication>),
        (status = 400, description = "`year` is not a number.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 404, description = "Unknown domain.", body = crate::contract::ErrorBody),
    )
)]
pub async fn list_publications(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<contract::PublicationsQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(
        &[Role::Admin, Role::Analyst, Role::Member, Role::Consultant],
        "list publications",
    )?;
    if let Some(d) = &q.domain {
        state.engine.domain(d)?;
    }
    Ok(Json(json!(
        state.engine.publications(q.domain.as_deref(), q.year)?
    )))
}

/// `POST /api/v1/publications/{domain}/{year}` (admin): publishes the
/// (domain, year) at its current data version after the audit.
#[utoipa::path(
    post,
    path = "/api/v1/publications/{domain}/{year}",
    tag = "publications",
    summary = "Publish a (domain, year)",
    description = "Admin only. Computes every group statistic of the (domain, year) at the current data version, audits it together with everything published before (rule 11; further groups are withheld, smallest first, until no member's value and no withheld group's total can be computed from the published ones) and records it as the state every non-admin caller reads. Refused while fewer than the threshold of members changed their figures since the last publication (rule 10); when nothing changed, the answer is 409 naming the current publication.",
    params(crate::contract::DomainYearPath),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Published.", body = crate::contract::schema::Publication),
        (status = 400, description = "The year is not a number.", body = crate::contract::ErrorBody),
        crate::contract::responses::AdminOnly,
        (status = 404, description = "Unknown domain, or a year outside 1990 to 2100.", body = crate::contract::ErrorBody),
        (status = 409, description = "`nothing_changed`: no member's figures differ from the last publication (`publication` names it); `conflict`: the year has no figures.", body = crate::contract::ErrorBody),
        (status = 422, description = "`too_few_changes`: fewer than the threshold of members changed since the last publication (`changed_members`, `threshold`).", body = crate::contract::ErrorBody),
    )
)]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin], "publish")?;
    let publication = state
        .engine
        .publish(
            &domain,
            year,
            vergleichsring_engine::publication::Trigger::Admin,
            caller.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!(publication))))
}
