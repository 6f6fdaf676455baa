//! The catalogue is data: a fourth domain from files, compared end to end.

use std::path::Path;

use reqwest::StatusCode;
use vergleichsring_store::Role;

use crate::helpers::{PARQUET, TestApp, multiplier, parquet, quintile_higher_better};

fn add_domain(dir: &Path) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/extra_domain");
    for sub in ["domains/swimming_pool.toml", "queries/swimming_pool.sql"] {
        std::fs::copy(fixtures.join(sub), dir.join("catalog").join(sub)).unwrap();
    }
}

#[tokio::test]
async fn a_domain_added_as_files_is_compared_end_to_end() {
    let app = TestApp::spawn_with(add_domain).await;
    let cat = app.get("/api/v1/catalog", None).await;
    let ids: Vec<&str> = cat.body["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "adult_education",
            "library",
            "museum",
            "music_school",
            "swimming_pool",
            "theatre"
        ]
    );

    let ids = [
        "06411000", "06412000", "06413000", "06414000", "06431001", "06432002", "06433003",
    ];
    let members: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|id| (*id, "Stadt", "kreisangehoerige_gemeinde"))
        .collect();
    app.register(&members).await;
    let visits: Vec<Option<f64>> = (0..ids.len())
        .map(|i| Some(3000.0 + 500.0 * i as f64))
        .collect();
    let body = parquet(
        Some(ids.to_vec()),
        &[
            ("population", vec![Some(50_000.0); ids.len()]),
            ("pools", vec![Some(300.0); ids.len()]),
            ("visits", visits.clone()),
            ("opening_hours", vec![Some(10_000.0); ids.len()]),
            ("expenditure_total", vec![Some(900_000.0); ids.len()]),
        ],
    );
    let a = app
        .upload("swimming_pool", 2024, &app.admin, PARQUET, body)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.body["rows"], 7);

    let m = app.token(Role::Member, Some(ids[0])).await;
    let c = app
        .get(
            "/api/v1/comparisons/swimming_pool/2024?figure=visits_per_1000&group_by=all",
            Some(&m),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    let g = &c.body["groups"][0];
    assert_eq!(g["n"], 7);
    // True values 60, 70, …, 120 per 1000 (mean, median and weighted 90
    // for admin). A member sees the statistics of the perturbed values
    // (rule 14), computed here independently from the same multipliers:
    // visits × their multiplier, the population public.
    let admin = app
        .get(
            "/api/v1/comparisons/swimming_pool/2024?figure=visits_per_1000&group_by=all",
            Some(&app.admin),
        )
        .await;
    let truth = &admin.body["groups"][0]["stats"];
    assert_eq!(truth["mean"], 90.0);
    assert_eq!(truth["median"], 90.0);
    assert_eq!(truth["weighted"], 90.0);
    let noise = app.noise().await;
    let m = |id: &str, f: &str| multiplier(&noise, "swimming_pool", id, f);
    let perturbed: Vec<f64> = ids
        .iter()
        .zip(&visits)
        .map(|(id, p)| 1000.0 * p.unwrap() * m(id, "visits") / 50_000.0)
        .collect();
    let mean = perturbed.iter().sum::<f64>() / 7.0;
    let mut sorted = perturbed.clone();
    sorted.sort_by(f64::total_cmp);
    let close = |a: &serde_json::Value, b: f64| (a.as_f64().unwrap() - b).abs() < 1e-9 * b;
    assert!(close(&g["stats"]["mean"], mean), "{g}");
    assert!(close(&g["stats"]["median"], sorted[3]), "{g}");
    // Equal populations: the weighted ratio equals the mean.
    assert!(close(&g["stats"]["weighted"], mean), "{g}");
    assert_eq!(g["own"]["value"], 60.0, "its own true value");
    assert!(g["own"]["rank"].is_null());
    assert_eq!(
        g["own"]["quintile"],
        quintile_higher_better(&perturbed, perturbed[0])
    );
    // Equal cost per hour everywhere: admin sees the equal values, an
    // analyst perturbed ones (rule 4 is dropped for non-admin callers of a
    // perturbing ring, rule 16); expenditure and teaching hours have
    // opposite roles, so every member's ratio moves.
    let c = app
        .get(
            "/api/v1/comparisons/swimming_pool/2024?figure=cost_per_opening_hour&group_by=all",
            Some(&app.analyst),
        )
        .await;
    let g = &c.body["groups"][0];
    assert_eq!(g["reason"], serde_json::Value::Null, "{g}");
    let costs: Vec<f64> = ids
        .iter()
        .map(|id| 90.0 * m(id, "expenditure_total") / m(id, "opening_hours"))
        .collect();
    assert!(costs.iter().all(|c| (c / 90.0 - 1.0).abs() >= 0.1 - 1e-12));
    assert!(
        close(&g["stats"]["mean"], costs.iter().sum::<f64>() / 7.0),
        "{g}"
    );

    // The domain's own rule applies too.
    let bad = parquet(
        Some(vec![ids[0]]),
        &[
            ("population", vec![Some(50_000.0)]),
            ("pools", vec![Some(300.0)]),
            ("visits", vec![Some(10.0)]),
            ("expenditure_total", vec![Some(1.0)]),
        ],
    );
    let a = app
        .upload("swimming_pool", 2024, &app.admin, PARQUET, bad)
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.body["errors"][0]["rule"], "visits_min_pools");
}
