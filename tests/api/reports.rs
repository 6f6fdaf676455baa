//! Peer reports: the JSON of a fixture member against a golden file, the
//! XLSX read back cell by cell, CSV dialects, formula neutralisation, and who
//! may read a report.

use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};
use reqwest::StatusCode;
use vergleichsring_store::Role;

use crate::helpers::{TestApp, leaves};

#[tokio::test]
async fn the_report_of_a_fixture_member_matches_its_golden_file() {
    let app = TestApp::spawn().await;
    let ring = app.load_ring(40, 2020..=2024, 11).await;
    let me = &ring.members[5];
    let token = app.token(Role::Member, Some(&me.member_id));
    let path = format!("/api/v1/reports/{}/2024", me.member_id);
    let a = app.get(&path, Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let mut report = a.body.clone();
    report.as_object_mut().unwrap().remove("generated_at");
    let text = serde_json::to_string_pretty(&report).unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/report.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &text).unwrap();
    }
    assert_eq!(
        text,
        std::fs::read_to_string(&golden).unwrap_or_default(),
        "report differs from {}",
        golden.display()
    );
    assert_eq!(report["domains"].as_array().unwrap().len(), 3);

    // No other member's name or id anywhere (aggregate_only).
    let found: Vec<String> = leaves(&report)
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for other in ring.members.iter().filter(|m| m.member_id != me.member_id) {
        assert!(
            !found.contains(&other.name) && !found.contains(&other.member_id),
            "{} leaked",
            other.name
        );
    }

    // The XLSX holds the same numbers.
    let r = app
        .client
        .get(app.url(&format!("{path}?format=xlsx")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let names = book.sheet_names();
    assert_eq!(
        names,
        ["Öffentliche Bibliothek", "Museum", "Musikschule", "Methode"]
    );
    let sheet = book.worksheet_range("Öffentliche Bibliothek").unwrap();
    assert_eq!(sheet.get_value((2, 5)), Some(&Data::String("own".into())));
    assert_eq!(
        sheet.get_value((3, 1)),
        Some(&Data::String("media_per_capita".into()))
    );
    let own = report["domains"][0]["key_figures"][0]["own"]
        .as_f64()
        .unwrap();
    assert_eq!(sheet.get_value((3, 5)), Some(&Data::Float(own)));
    let median = report["domains"][0]["key_figures"][0]["all"]["stats"]["median"]
        .as_f64()
        .unwrap();
    assert_eq!(sheet.get_value((3, 19)), Some(&Data::Float(median)));

    // CSV in both dialects.
    let csv_en = app
        .get(&format!("{path}?format=csv"), Some(&token))
        .await
        .text;
    let csv_de = app
        .get(&format!("{path}?format=csv&dialect=de"), Some(&token))
        .await
        .text;
    assert!(csv_en.starts_with("domain,key_figure,label,"));
    assert!(csv_de.starts_with("domain;key_figure;label;"));
    assert!(csv_de.contains(&format!("{own}").replace('.', ",")));
    assert_eq!(csv_en.lines().count(), 1 + 15 + 14 + 12);
}

#[tokio::test]
async fn reports_follow_the_access_rules_and_neutralise_formulas() {
    let app = TestApp::spawn().await;
    let ids: Vec<String> = (1..=7).map(|i| format!("05{i:03}000")).collect();
    let mut members: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|id| (id.as_str(), "Stadt", "kreisfreie_stadt"))
        .collect();
    members[0].1 = "=HYPERLINK(\"http://evil\")";
    app.register(&members).await;
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + i as f64 / 10.0))
        .collect();
    app.library_bulk(2024, &rows).await;
    let evil = app.token(Role::Member, Some(&ids[0]));
    let other = app.token(Role::Member, Some(&ids[1]));
    let consultant = app.consultant("c", &[&ids[0]]);
    let path = format!("/api/v1/reports/{}/2024", ids[0]);
    assert_eq!(app.get(&path, Some(&evil)).await.status, StatusCode::OK);
    assert_eq!(
        app.get(&path, Some(&app.admin)).await.status,
        StatusCode::OK
    );
    let c = app.get(&path, Some(&consultant)).await;
    assert_eq!(c.status, StatusCode::OK);
    // Seven members: released for the member (6 peers), not for a consultant (< 10).
    assert_eq!(
        c.body["domains"][0]["key_figures"][0]["all"]["suppressed"],
        true
    );
    assert_eq!(
        app.get(&path, Some(&other)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&path, Some(&app.analyst)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(&path, None).await.status, StatusCode::UNAUTHORIZED);
    let a = app.get(&path.replace("2024", "2023"), Some(&evil)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["error"], "give_to_get");
    assert_eq!(
        app.get(&format!("{path}?format=html"), Some(&evil))
            .await
            .status,
        StatusCode::NOT_ACCEPTABLE
    );
    assert_eq!(
        app.get("/api/v1/reports/05999000/2024", Some(&app.admin))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let r = app
        .client
        .get(app.url(&format!("{path}?format=xlsx")))
        .bearer_auth(&evil)
        .send()
        .await
        .unwrap();
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(r.bytes().await.unwrap().to_vec())).unwrap();
    let sheet = book.worksheet_range("Öffentliche Bibliothek").unwrap();
    match sheet.get_value((0, 0)) {
        Some(Data::String(s)) => assert!(s.starts_with("'=HYPERLINK"), "{s}"),
        other => panic!("{other:?}"),
    }
}
