//! Conditional requests: statistics answers carry an `ETag` from the data
//! version, `If-None-Match` gives 304 until the data change, the tag belongs
//! to one requester, and an upload shows at once where it may (its
//! figures, admin) and not where rule 10 says it may not.

use reqwest::StatusCode;
use vergleichsring_store::Role;

use crate::helpers::{PARQUET, TestApp, library_file};

async fn get_tagged(
    app: &TestApp,
    path: &str,
    token: &str,
    if_none_match: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let mut req = app.client.get(app.url(path)).bearer_auth(token);
    if let Some(t) = if_none_match {
        req = req.header("If-None-Match", t);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let tag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string());
    (status, tag, r.text().await.unwrap())
}

#[tokio::test]
async fn statistics_answers_are_tagged_by_data_version_and_requester() {
    let app = TestApp::spawn().await;
    let ids = app.city_ring(8, 10.0).await;
    let first = app.token(Role::Member, Some(&ids[0])).await;
    let second = app.token(Role::Member, Some(&ids[1])).await;
    let paths = [
        "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=size_class".to_string(),
        "/api/v1/timeseries/library/loans_per_capita?group_by=all".to_string(),
        format!("/api/v1/reports/{}/2024?format=json", ids[0]),
    ];
    for path in &paths {
        let (status, tag, body) = get_tagged(&app, path, &first, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let tag = tag.unwrap_or_else(|| panic!("{path} has no ETag"));
        // Asked again: the same answer, the same tag.
        let (status, again, body2) = get_tagged(&app, path, &first, None).await;
        assert_eq!(
            (status, again.as_deref()),
            (StatusCode::OK, Some(tag.as_str()))
        );
        assert_eq!(body, body2, "{path}");
        // With the tag: 304 and no body.
        let (status, _, empty) = get_tagged(&app, path, &first, Some(&tag)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(empty.is_empty());
        // Another member's tag never matches: its answer holds its position.
        if !path.contains("reports") {
            let (status, other, _) = get_tagged(&app, path, &second, Some(&tag)).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_ne!(other.as_deref(), Some(tag.as_str()));
        }
    }
    // An upload changes the data version: the old tag no longer matches.
    // The member's answer still comes from the publication (one change does
    // not make a new one, rule 10), while its figures and admin's live
    // comparison show the new value at once.
    let path = &paths[0];
    let (_, tag, before) = get_tagged(&app, path, &first, None).await;
    let (_, admin_tag, admin_before) = get_tagged(&app, path, &app.admin, None).await;
    let a = app
        .upload(
            "library",
            2024,
            &first,
            PARQUET,
            library_file(None, 120_000.0, 3.0),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let (status, new_tag, after) = get_tagged(&app, path, &first, tag.as_deref()).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(new_tag, tag);
    assert_eq!(before, after);
    let (status, admin_new_tag, admin_after) =
        get_tagged(&app, path, &app.admin, admin_tag.as_deref()).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(admin_new_tag, admin_tag);
    assert_ne!(admin_before, admin_after);
    let figures = app.get("/api/v1/figures/library/2024", Some(&first)).await;
    let value = figures.body["key"]["loans_per_capita"].as_f64().unwrap();
    assert!((value - 12.0).abs() < 1e-9, "{value}");
    // A revoked grant or a foreign member is refused before any tag check.
    let other_report = format!("/api/v1/reports/{}/2024?format=json", ids[0]);
    let (status, _, _) = get_tagged(&app, &other_report, &second, Some("*")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
