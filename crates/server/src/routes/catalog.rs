//! The catalogue (tag `catalog`).

use super::*;

/// `GET /api/v1/catalog` (no token).
#[utoipa::path(
    get,
    path = "/api/v1/catalog",
    tag = "catalog",
    summary = "The catalogue",
    description = "The domains with their basic figures (what members upload), key figures (what is compared; `direction` is `higher`, `lower` or `neutral`) and plausibility rules, the built-in group dimensions, the KGSt size classes and the checks every upload passes. No token.",
    responses(
        (status = 200, description = "The catalogue.", body = crate::contract::CatalogBody),
    )
)]
pub async fn catalog(State(state): State<AppState>) -> Json<Value> {
    let c = state.engine.catalog();
    Json(json!({
        "domains": c.domains,
        "group_dimensions": GROUP_DIMENSIONS,
        "size_classes": c.size_classes,
        "checks": BUILTIN_CHECKS,
    }))
}
