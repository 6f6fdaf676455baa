//! The catalogue (tag `catalog`).

use super::*;

/// `GET /api/v1/catalog` (no token).
#[utoipa::path(
    get,
    path = "/api/v1/catalog",
    tag = "catalog",
    summary = "The catalogue",
    description = "The domains with their basic figures (what members upload, with a German and English definition and the source in the national statistics), key figures (what is compared; `direction` is `higher`, `lower` or `neutral`) and plausibility rules, the built-in group dimensions, the KGSt size classes and the checks every upload passes. Figures, key figures and rules may be limited to years (`valid_from`, `valid_to`), and a basic figure may have had `earlier` definitions; `?year=` gives the catalogue of one year. No token.",
    params(contract::CatalogQuery),
    responses(
        (status = 200, description = "The catalogue.", body = crate::contract::CatalogBody),
        (status = 400, description = "A year that is not a number, or another parameter.", body = crate::contract::ErrorBody),
        (status = 404, description = "A year outside the years the service keeps.", body = crate::contract::ErrorBody),
    )
)]
pub async fn catalog(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<contract::CatalogQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = state.engine.catalog();
    let domains: Vec<vergleichsring_catalog::Domain> = match q.year {
        Some(y) => {
            vergleichsring_engine::check_year(y)?;
            c.domains.iter().map(|d| d.in_year(y)).collect()
        }
        None => c.domains.clone(),
    };
    Ok(Json(json!({
        "domains": domains,
        "group_dimensions": GROUP_DIMENSIONS,
        "size_classes": c.size_classes,
        "checks": BUILTIN_CHECKS,
    })))
}
