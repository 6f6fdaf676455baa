//! Issue 29: the catalogue of a year. The library's 2025 change (virtual
//! visits no longer asked, loan-like uses of e-media new, loans counted
//! without automatic renewals) through the catalogue answer, uploads, the
//! year-over-year rules, the time series and the entry form.

use reqwest::StatusCode;
use serde_json::Value;
use vergleichsring_store::Role;

use crate::helpers::{TestApp, library_row};
use crate::web::WebClient;

/// One library row as CSV for a member token, with `extra` cells.
fn csv(population: f64, scale: f64, extra: &[(&str, f64)]) -> bytes::Bytes {
    let mut row = library_row(population, scale);
    row.extend(extra.iter().copied());
    let header: Vec<&str> = row.iter().map(|(k, _)| *k).collect();
    let cells: Vec<String> = row.iter().map(|(_, v)| format!("{v}")).collect();
    format!("{}\n{}\n", header.join(","), cells.join(",")).into()
}

fn figure<'a>(catalog: &'a Value, id: &str) -> Option<&'a Value> {
    catalog["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "library")
        .and_then(|d| d["basic_figures"].as_array())
        .and_then(|f| f.iter().find(|b| b["id"] == id))
}

#[tokio::test]
async fn the_catalogue_of_a_year_has_the_figures_and_definitions_of_then() {
    let app = TestApp::spawn().await;
    let all = app.get("/api/v1/catalog", None).await;
    let y2024 = app.get("/api/v1/catalog?year=2024", None).await;
    let y2025 = app.get("/api/v1/catalog?year=2025", None).await;
    assert_eq!(y2025.status, StatusCode::OK, "{}", y2025.text);
    // Every figure of every year, with its years and earlier definitions.
    assert_eq!(
        figure(&all.body, "virtual_visits").unwrap()["valid_to"],
        2024
    );
    assert_eq!(
        figure(&all.body, "e_media_uses").unwrap()["valid_from"],
        2025
    );
    assert_eq!(
        figure(&all.body, "e_media_uses").unwrap()["replaces"],
        "virtual_visits"
    );
    assert_eq!(
        figure(&all.body, "loans").unwrap()["earlier"][0]["valid_to"],
        2024
    );
    // The catalogue of each year.
    assert!(figure(&y2024.body, "virtual_visits").is_some());
    assert!(figure(&y2024.body, "e_media_uses").is_none());
    assert!(figure(&y2025.body, "virtual_visits").is_none());
    assert!(figure(&y2025.body, "e_media_uses").is_some());
    let loans = |c: &Value| {
        figure(c, "loans").unwrap()["label"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(loans(&y2024.body).contains("inkl. Verlängerungen"));
    assert!(loans(&y2025.body).contains("ohne automatische"));
    assert!(
        figure(&y2025.body, "loans")
            .unwrap()
            .get("earlier")
            .is_none()
    );
    // Bad years.
    assert_eq!(
        app.get("/api/v1/catalog?year=abc", None).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get("/api/v1/catalog?year=1200", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn uploads_follow_the_catalogue_of_their_year() {
    let app = TestApp::spawn().await;
    app.register(&[("05315000", "Stadt Köln", "kreisfreie_stadt")])
        .await;
    let token = app.token(Role::Member, Some("05315000")).await;
    let upload = |year: i32, body: bytes::Bytes| {
        let token = token.clone();
        let app = &app;
        async move { app.upload("library", year, &token, "text/csv", body).await }
    };
    // 2024 with virtual visits, 2025 with e-media uses: stored.
    let a = upload(2024, csv(120_000.0, 1.0, &[("virtual_visits", 50_000.0)])).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let b = upload(2025, csv(120_000.0, 1.0, &[("e_media_uses", 9_000.0)])).await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.text);
    // A figure not asked that year: refused, naming what replaces it.
    let c = upload(2025, csv(120_000.0, 1.0, &[("virtual_visits", 50_000.0)])).await;
    assert_eq!(c.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", c.text);
    assert!(c.text.contains("not_asked"), "{}", c.text);
    assert!(
        c.text.contains("\"column\":\"virtual_visits\""),
        "{}",
        c.text
    );
    assert!(c.text.contains("e_media_uses"), "{}", c.text);
    let d = upload(2024, csv(120_000.0, 1.0, &[("e_media_uses", 9_000.0)])).await;
    assert_eq!(d.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", d.text);
    assert!(d.text.contains("asked from 2025"), "{}", d.text);
    // The figures of 2025 are those of the accepted upload.
    let f = app.get("/api/v1/figures/library/2025", Some(&token)).await;
    assert_eq!(f.body["basic"]["e_media_uses"], 9_000.0);
    assert_eq!(f.body["basic"]["virtual_visits"], Value::Null);
}

#[tokio::test]
async fn a_change_of_definition_warns_about_nothing_and_breaks_the_series() {
    let app = TestApp::spawn().await;
    let ids: Vec<String> = (1..=6).map(|i| format!("05{i:03}000")).collect();
    let members: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|id| (id.as_str(), "Stadt", "kreisfreie_stadt"))
        .collect();
    app.register(&members).await;
    for (i, id) in ids.iter().enumerate() {
        let token = app.token(Role::Member, Some(id)).await;
        let scale = 1.0 + i as f64 / 10.0;
        let a = app
            .upload(
                "library",
                2024,
                &token,
                "text/csv",
                csv(120_000.0, scale, &[]),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        // 2025: loans without automatic renewals, 40 % fewer (the rule
        // allows 30 %), and the same 40 % fewer visits.
        let mut row = library_row(120_000.0, scale);
        for (k, v) in &mut row {
            if *k == "loans" || *k == "visits" {
                *v *= 0.6;
            }
        }
        let header: Vec<&str> = row.iter().map(|(k, _)| *k).collect();
        let cells: Vec<String> = row.iter().map(|(_, v)| format!("{v}")).collect();
        let body = format!("{}\n{}\n", header.join(","), cells.join(","));
        let b = app
            .upload("library", 2025, &token, "text/csv", body.into())
            .await;
        assert_eq!(b.status, StatusCode::CREATED, "{}", b.text);
        // No year-over-year warning about loans across the change; the
        // visits, defined as before, warn.
        assert!(!b.text.contains("yoy_loans"), "{}", b.text);
        assert!(b.text.contains("yoy_visits"), "{}", b.text);
    }
    let series = app
        .get(
            "/api/v1/timeseries/library/loans_per_capita?group_by=all",
            Some(&app.admin),
        )
        .await;
    assert_eq!(series.status, StatusCode::OK, "{}", series.text);
    assert_eq!(
        series.body["breaks"],
        serde_json::json!([2025]),
        "{}",
        series.text
    );
    let visits = app
        .get(
            "/api/v1/timeseries/library/visits_per_capita?group_by=all",
            Some(&app.admin),
        )
        .await;
    assert!(visits.body.get("breaks").is_none(), "{}", visits.text);

    // The analysts' explorer shows the series with its break.
    let mut analyst = crate::web::signed_in_user(
        &app,
        serde_json::json!({"email": "ana@ring.example", "name": "Ana Lyse", "role": "analyst"}),
    )
    .await;
    let explorer = analyst
        .get("/web/analyse?bereich=library&jahr=2025&kennzahl=loans_per_capita&gruppierung=all")
        .await;
    assert_eq!(explorer.status, StatusCode::OK, "{}", explorer.text);
    assert!(
        explorer.text.contains("Zeitreihe der Mittelwerte"),
        "{}",
        explorer.text
    );
    assert!(explorer.text.contains("Bruch ab 2025"), "{}", explorer.text);
    assert!(explorer.text.contains("2024"), "{}", explorer.text);
    let steady = analyst
        .get("/web/analyse?bereich=library&jahr=2025&kennzahl=visits_per_capita&gruppierung=all")
        .await;
    assert!(!steady.text.contains("Bruch ab"), "{}", steady.text);

    // The entry form of 2025 asks e-media uses, not virtual visits.
    let token = app.token(Role::Member, Some(&ids[0])).await;
    let mut member = WebClient::new(&app);
    member.sign_in(&token).await;
    // The member's report marks the break under its series.
    let report = app
        .get(&format!("/api/v1/reports/{}/2025", ids[0]), Some(&token))
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    let figures = report.body["domains"][0]["key_figures"].as_array().unwrap();
    let breaks = |id: &str| {
        figures
            .iter()
            .find(|k| k["id"] == id)
            .map(|k| k["breaks"].clone())
            .unwrap()
    };
    assert_eq!(breaks("loans_per_capita"), serde_json::json!([2025]));
    assert_eq!(breaks("visits_per_capita"), Value::Null);
    let page = member.get("/web/bericht/2025").await;
    assert!(
        page.text.contains("Bruch in der Zeitreihe ab 2025"),
        "{}",
        page.text
    );
    let form = member.get("/web/erfassung?bereich=library&jahr=2025").await;
    assert!(form.text.contains("f_e_media_uses"), "{}", form.text);
    assert!(!form.text.contains("f_virtual_visits"), "{}", form.text);
    let old = member.get("/web/erfassung?bereich=library&jahr=2024").await;
    assert!(old.text.contains("f_virtual_visits"), "{}", old.text);
    assert!(old.text.contains("inkl. Verlängerungen"), "{}", old.text);
}

/// A key figure computed from a year on (`valid_from` in a ring's own
/// catalogue): not in the catalogue of earlier years, and a comparison of
/// such a year is a 404 naming why.
#[tokio::test]
async fn a_key_figure_of_later_years_is_not_compared_before() {
    let app = TestApp::spawn_with(|dir| {
        let file = dir.join("catalog/domains/library.toml");
        let text = std::fs::read_to_string(&file).unwrap();
        let changed = text.replace(
            r#"formula = "loans / stock" }"#,
            r#"formula = "loans / stock", valid_from = 2025 }"#,
        );
        assert_ne!(changed, text, "the turnover line changed");
        std::fs::write(&file, changed).unwrap();
    })
    .await;
    app.city_ring(6, 10.0).await;
    let old = app
        .get(
            "/api/v1/comparisons/library/2024?figure=turnover&group_by=all",
            Some(&app.admin),
        )
        .await;
    assert_eq!(old.status, StatusCode::NOT_FOUND, "{}", old.text);
    assert!(old.text.contains("not computed for 2024"), "{}", old.text);
    let other = app
        .get(
            "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=all",
            Some(&app.admin),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);
    let y2024 = app.get("/api/v1/catalog?year=2024", None).await;
    let keys: Vec<&str> = y2024.body["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "library")
        .unwrap()["key_figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert!(!keys.contains(&"turnover"), "{keys:?}");
    assert!(keys.contains(&"loans_per_capita"), "{keys:?}");
}
