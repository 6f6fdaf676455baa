//! Perturbed statistics through the real server (rules 14–17): admin sees
//! true and perturbed statistics side by side, every non-admin number is
//! the independent computation from the same multipliers, flags and
//! reasons are said, and the same statistic is bit-identical across
//! formats, restarts, replicas and publications.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use vergleichsring_engine::disclosure::{Audience, Policy};
use vergleichsring_engine::{Engine, StatsRequest};
use vergleichsring_store::{Role, Store};

use crate::helpers::{Multipliers, TestApp, multiplier};

const PATH: &str = "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=all";

/// Loans per capita of a city ring member with `scale` (see
/// `helpers::library_row`): 4 × scale, times the multiplier of its loans
/// when perturbed (the population is public).
fn loans_per_capita(noise: Option<&Multipliers>, id: &str, scale: f64) -> f64 {
    4.0 * scale * noise.map_or(1.0, |m| multiplier(m, "library", id, "loans"))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64()
        .is_some_and(|a| (a - b).abs() <= 1e-12 * (1.0 + b.abs()))
}

#[tokio::test]
async fn admin_sees_true_and_perturbed_statistics_side_by_side() {
    let app = TestApp::spawn().await;
    let ids = app.city_ring(12, 10.0).await;
    let scales: Vec<f64> = (0..12).map(|i| 1.0 + i as f64 / 10.0).collect();
    let noise = app.noise().await;
    let truth: Vec<f64> = ids
        .iter()
        .zip(&scales)
        .map(|(id, s)| loans_per_capita(None, id, *s))
        .collect();
    let perturbed: Vec<f64> = ids
        .iter()
        .zip(&scales)
        .map(|(id, s)| loans_per_capita(Some(&noise), id, *s))
        .collect();

    let admin = app.get(PATH, Some(&app.admin)).await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.text);
    let g = &admin.body["groups"][0];
    assert!(close(&g["stats"]["mean"], mean(&truth)), "{g}");
    assert!(
        g.get("noise").is_none(),
        "admin's true statistics carry no flag"
    );
    let p = &g["perturbed"];
    assert!(close(&p["stats"]["mean"], mean(&perturbed)), "{p}");
    // The flag from the movement the noise is expected to give the mean,
    // computed from the perturbed values alone (rule 17): sqrt(σ²·Σv'²) /
    // Σv' with σ² = E[u²] of the ramp (loans over the public population).
    let sigma2 = (0..64)
        .map(|k| (0.05 + 0.05 * ((k as f64 + 0.5) / 64.0).sqrt()).powi(2))
        .sum::<f64>()
        / 64.0;
    let moved = (sigma2 * perturbed.iter().map(|v| v * v).sum::<f64>()).sqrt()
        / perturbed.iter().sum::<f64>();
    let flag = if moved < 0.02 {
        "low"
    } else if moved < 0.05 {
        "moderate"
    } else {
        "high"
    };
    assert_eq!(p["noise"]["mean"], flag);
    assert_eq!(p["noise"]["quantiles"], "moderate", "12 in the group");

    // What the analyst gets is what admin was shown as `perturbed`.
    let analyst = app.get(PATH, Some(&app.analyst)).await;
    let a = &analyst.body["groups"][0];
    assert_eq!(a["stats"]["mean"], p["stats"]["mean"]);
    assert_eq!(a["stats"]["median"], p["stats"]["median"]);
    assert_eq!(a["noise"], p["noise"]);
    assert!(a.get("perturbed").is_none());
    // Every perturbed loans figure moved by at least noise_min.
    for (t, q) in truth.iter().zip(&perturbed) {
        assert!((q / t - 1.0).abs() >= 0.05 - 1e-12);
    }

    // The analysts' table carries the flags.
    let q = app
        .post_json(
            "/api/v1/query",
            Some(&app.analyst),
            &serde_json::json!({"sql": "SELECT \"group\", mean, noise_mean, noise_quantiles FROM comparisons WHERE figure = 'loans_per_capita' AND group_by = 'all'"}),
        )
        .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text);
    let row = &q.body["rows"][0];
    assert_eq!(row[1], a["stats"]["mean"], "{}", q.text);
    assert_eq!(row[2], flag);
    assert_eq!(row[3], "moderate");
}

#[tokio::test]
async fn a_dominated_weighted_ratio_is_withheld_as_protected_for_others_only() {
    let app = TestApp::spawn().await;
    let ids: Vec<String> = (1..=8).map(|i| format!("05{i:03}000")).collect();
    let members: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|id| (id.as_str(), "Stadt", "kreisfreie_stadt"))
        .collect();
    app.register(&members).await;
    // Cities of one size class; one of them lends nearly all the loans:
    // (2, 0.90)-dominance of the numerators.
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, if i == 0 { 15.0 } else { 0.1 }))
        .collect();
    app.library_bulk(2024, &rows).await;
    let member = app.token(Role::Member, Some(&ids[3])).await;
    let a = app.get(PATH, Some(&member)).await;
    let g = &a.body["groups"][0];
    assert!(g["stats"]["weighted"].is_null(), "{g}");
    let w: Vec<&Value> = g["withheld"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", a.text))
        .iter()
        .filter(|w| w["statistic"] == "weighted")
        .collect();
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0]["reason"], "protected",
        "the reason would describe the values"
    );
    // A member's position is a quintile, its value its true one.
    assert!(close(&g["own"]["value"], 0.4), "{g}");
    assert!(
        g["own"]["quintile"]
            .as_u64()
            .is_some_and(|q| (1..=5).contains(&q))
    );
    assert!(g["own"].get("rank").is_none() && g["own"].get("percentile_rank").is_none());
    // Admin sees the weighted ratio, and what others get beside it.
    let admin = app.get(PATH, Some(&app.admin)).await;
    let g = &admin.body["groups"][0];
    assert!(g["stats"]["weighted"].is_number());
    assert!(g["perturbed"]["stats"]["weighted"].is_null());
}

#[tokio::test]
async fn a_key_figure_on_a_grid_is_released_as_a_mean_only() {
    let app = TestApp::spawn().await;
    let ids = app.city_ring(12, 10.0).await;
    let member = app.token(Role::Member, Some(&ids[0])).await;
    let a = app
        .get(
            "/api/v1/comparisons/library/2024?figure=fte_per_10000&group_by=all",
            Some(&member),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let g = &a.body["groups"][0];
    assert!(g["stats"]["mean"].is_number(), "{g}");
    for s in ["median", "p25", "p75", "std_dev", "weighted"] {
        assert!(g["stats"][s].is_null(), "{s}: {g}");
    }
    assert!(
        g["withheld"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["reason"] == "mean_only")
    );
    assert!(g["own"].get("quintile").is_none(), "no position (rule 15)");
    // The catalogue says so and why.
    let cat = app.get("/api/v1/catalog", None).await;
    let fte = cat.body["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "library")
        .and_then(|d| {
            d["key_figures"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["id"] == "fte_per_10000")
                .cloned()
        })
        .unwrap();
    assert_eq!(fte["release"], "mean_only");
    assert!(
        fte["release_note"]
            .as_str()
            .is_some_and(|n| n.contains("Raster"))
    );
}

#[tokio::test]
async fn the_same_statistic_is_bit_identical_across_formats_restarts_replicas_and_publications() {
    let mut app = TestApp::spawn().await;
    let ids = app.city_ring(12, 10.0).await;
    let member = app.token(Role::Member, Some(&ids[0])).await;
    let first = app.get(PATH, Some(&member)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let mean = first.body["groups"][0]["stats"]["mean"].as_f64().unwrap();

    // The CSV carries the same number (Rust's shortest round-trip form).
    let csv = app.get_accept(PATH, &member, "text/csv").await;
    let header: Vec<&str> = csv.text.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.text.lines().nth(1).unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "mean").unwrap();
    assert_eq!(row[at].parse::<f64>().unwrap().to_bits(), mean.to_bits());

    // A restart reads the secret from the lake: the same answer.
    app.restart().await;
    let again = app.get(PATH, Some(&member)).await;
    assert_eq!(again.text, first.text);

    // Another process on the same lake (a replica) computes the same.
    let store = Arc::new(Store::open(app.dir.path()).await.unwrap());
    let replica = Engine::new(store, Policy::default()).await.unwrap();
    let c = replica
        .comparison(
            &StatsRequest {
                domain: "library",
                figure: "loans_per_capita",
                group_by: "all",
                audience: Audience::Member,
                member: Some(&ids[0]),
                of: None,
                as_of: None,
            },
            2024,
        )
        .await
        .unwrap();
    let replica_mean = c.groups[0].stats.as_ref().and_then(|s| s.mean).unwrap();
    assert_eq!(replica_mean.to_bits(), mean.to_bits());

    // A second publication in which the group's members and values are the
    // same (five new towns of another size class join) gives the group of
    // the large cities the same statistics, bit for bit.
    let by_class = "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=size_class";
    let before = app.get(by_class, Some(&member)).await;
    let towns: Vec<String> = (1..=5).map(|i| format!("05{:03}004", i + 100)).collect();
    let members: Vec<(&str, &str, &str)> = towns
        .iter()
        .map(|id| (id.as_str(), "Gemeinde", "kreisangehoerige_gemeinde"))
        .collect();
    app.register(&members).await;
    let rows: Vec<(&str, f64, f64)> = towns
        .iter()
        .map(|id| (id.as_str(), 20_000.0, 1.5))
        .collect();
    app.library_bulk(2024, &rows).await;
    let after = app.get(by_class, Some(&member)).await;
    assert_ne!(
        before.body["publication"]["id"], after.body["publication"]["id"],
        "a new publication"
    );
    let gk3 = |a: &Value| {
        a["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["group"] == "GK3")
            .unwrap()["stats"]
            .clone()
    };
    assert_eq!(gk3(&before.body), gk3(&after.body));
}
