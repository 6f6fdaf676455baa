//! Structural neighbours (tag `statistics`): a member's neighbours and
//! why, or every member's for analysts and admin.

use super::*;

/// `GET /api/v1/neighbours/{domain}/{year}[?of=ID]`.
#[utoipa::path(
    get,
    path = "/api/v1/neighbours/{domain}/{year}",
    tag = "statistics",
    summary = "Structural neighbours of a member, and why",
    description = "A member's `k` structurally nearest members among those with figures in the (domain, year), Landkreise among Landkreise, by Euclidean distance over standardised variables (docs/neighbours.md), read from the same state as comparisons (the latest publication; admin: live). `profile` describes the group for everyone (each variable's range and mean share of the distance, the Länder and kinds represented); `neighbours` names each neighbour with its distance and each variable's share of it, for admin and analysts, and for members and consultants only where the ring's visibility is `named`. The group itself is compared with `group_by=neighbours&of=ID`. Analysts and admin without `of` get every member's neighbours, one row per pair. A member sees its own (give to get), a consultant a granting member's. Structure from the municipality register: © Statistisches Bundesamt (Destatis), Gemeindeverzeichnis-Informationssystem GV-ISys (dl-de/by-2-0).",
    params(crate::contract::DomainYearPath, crate::contract::NeighboursQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The member's neighbours, or (analysts and admin without `of`) every member's as pairs.", body = crate::contract::schema::Neighbours),
        (status = 400, description = "A malformed year.", body = crate::contract::ErrorBody),
        crate::contract::responses::TokenRequired,
        (status = 403, description = "`forbidden`: another member's neighbours, or a consultant without `of`; `give_to_get`: the member has not submitted figures for the year itself.", body = crate::contract::ErrorBody),
        (status = 404, description = "Unknown domain, year or member.", body = crate::contract::ErrorBody),
        (status = 409, description = "`not_published`: the (domain, year) has no publication yet.", body = crate::contract::ErrorBody),
        (status = 422, description = "`no_neighbours`: the member has no figures for the year (`reason` `no_figures`), or no structure: it is not in the municipality register and admin gave it none (`no_structure`).", body = crate::contract::ErrorBody),
    )
)]
pub async fn neighbours(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(contract::DomainYearPath { domain, year }): ApiPath<contract::DomainYearPath>,
    ApiQuery(q): ApiQuery<contract::NeighboursQuery>,
) -> Result<Response, ApiError> {
    caller.require(
        &[Role::Admin, Role::Analyst, Role::Member, Role::Consultant],
        "read structural neighbours",
    )?;
    let Some(of) = caller.neighbours_of(q.of.as_deref(), None)? else {
        let all = state
            .engine
            .all_neighbours(&domain, year, caller.audience())
            .await?;
        return Ok(([(CONTENT_TYPE, "application/json")], all).into_response());
    };
    let answer = state
        .engine
        .neighbours(&domain, year, &of, caller.audience())
        .await?;
    caller.log_access(&state, "neighbours", &of, Some(&domain), Some(year));
    Ok(Json(answer).into_response())
}
