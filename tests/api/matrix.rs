//! The access matrix: every endpoint × every role × own/other member, with
//! the status each combination must get. Add a row for every new endpoint.

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde_json::json;
use vergleichsring_store::Role;

use crate::helpers::{PARQUET, TestApp, library_file};

const M1: &str = "05315000";
const M2: &str = "05111000";

/// The callers, in the order of the expectation arrays below.
const CALLERS: [&str; 7] = [
    "no token",
    "admin",
    "analyst",
    "consultant granted M1",
    "consultant granted M2",
    "member M1",
    "member M2",
];

enum Body {
    None,
    Json(serde_json::Value),
    /// A fresh custom group per call (ids must be unique).
    Group,
    /// M1's library figures as Parquet.
    Upload,
}

#[tokio::test]
async fn every_endpoint_answers_every_role_as_designed() {
    let app = TestApp::spawn().await;
    let mut ids: Vec<String> = (1..=10).map(|i| format!("09{i:03}000")).collect();
    ids.push(M1.into());
    ids.push(M2.into());
    let members: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|id| (id.as_str(), "Stadt", "kreisfreie_stadt"))
        .collect();
    app.register(&members).await;
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + i as f64 / 7.0))
        .collect();
    app.library_bulk(2024, &rows).await;
    let tokens: Vec<Option<String>> = vec![
        None,
        Some(app.admin.clone()),
        Some(app.analyst.clone()),
        Some(app.consultant("granted", &[M1]).await),
        Some(app.consultant("other", &[M2]).await),
        Some(app.token(Role::Member, Some(M1)).await),
        Some(app.token(Role::Member, Some(M2)).await),
    ];
    let cmp = "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=all";
    let ts = "/api/v1/timeseries/library/loans_per_capita?group_by=all";
    use StatusCode as S;
    const OK: S = S::OK;
    const CR: S = S::CREATED;
    const NC: S = S::NO_CONTENT;
    const UN: S = S::UNAUTHORIZED;
    const FB: S = S::FORBIDDEN;
    const NF: S = S::NOT_FOUND;
    const UE: S = S::UNPROCESSABLE_ENTITY;
    #[rustfmt::skip]
    let matrix: Vec<(Method, String, Body, [S; 7])> = vec![
        //                                                                              none admin analyst c-M1 c-M2 m-M1 m-M2
        (Method::GET, "/health".into(), Body::None,                                      [OK, OK, OK, OK, OK, OK, OK]),
        (Method::GET, "/api/v1/catalog".into(), Body::None,                              [OK, OK, OK, OK, OK, OK, OK]),
        (Method::GET, "/api/v1/members".into(), Body::None,                              [UN, OK, OK, OK, OK, OK, OK]),
        (Method::POST, "/api/v1/members".into(), Body::Json(json!([{"member_id": M1, "name": "Stadt Köln", "kind": "kreisfreie_stadt"}])),
                                                                                         [UN, CR, FB, FB, FB, FB, FB]),
        (Method::POST, "/api/v1/submissions/library/2024".into(), Body::Upload,          [UN, CR, FB, FB, FB, CR, UE]),
        (Method::GET, "/api/v1/submissions/library/2024".into(), Body::None,             [UN, OK, FB, FB, FB, OK, OK]),
        (Method::GET, format!("/api/v1/figures/library/2024?member_id={M1}"), Body::None,
                                                                                         [UN, OK, FB, FB, FB, OK, FB]),
        (Method::GET, "/api/v1/figures/theatre/2024".into(), Body::None,                 [UN, S::BAD_REQUEST, FB, FB, FB, NF, NF]),
        (Method::GET, format!("{cmp}&member_id={M1}"), Body::None,                       [UN, OK, FB, OK, FB, OK, FB]),
        (Method::GET, cmp.into(), Body::None,                                            [UN, OK, OK, FB, FB, OK, OK]),
        (Method::GET, format!("{cmp}&member_id=05999000"), Body::None,                   [UN, NF, FB, FB, FB, FB, FB]),
        (Method::GET, format!("{ts}&member_id={M1}"), Body::None,                        [UN, OK, FB, OK, FB, OK, FB]),
        (Method::GET, ts.into(), Body::None,                                             [UN, OK, OK, FB, FB, OK, OK]),
        (Method::POST, format!("/api/v1/members/{M1}/grants"), Body::Json(json!({"consultant_id": "x"})),
                                                                                         [UN, CR, FB, FB, FB, CR, FB]),
        // Admin revokes the grant made above; member M1 then finds none left.
        (Method::DELETE, format!("/api/v1/members/{M1}/grants/x"), Body::None,           [UN, NC, FB, FB, FB, NF, FB]),
        (Method::POST, "/api/v1/groups".into(), Body::Group,                             [UN, CR, CR, FB, FB, FB, FB]),
        (Method::GET, "/api/v1/groups".into(), Body::None,                               [UN, OK, OK, OK, OK, OK, OK]),
        (Method::POST, "/api/v1/query".into(), Body::Json(json!({"sql": "SELECT count(*) FROM comparisons"})),
                                                                                         [UN, OK, OK, FB, FB, FB, FB]),
        (Method::PATCH, format!("/api/v1/members/{M2}"), Body::Json(json!({"name": "Landeshauptstadt Düsseldorf"})),
                                                                                         [UN, OK, FB, FB, FB, FB, FB]),
        (Method::POST, "/api/v1/tokens".into(), Body::Json(json!({"role": "analyst", "label": "matrix"})),
                                                                                         [UN, CR, FB, FB, FB, FB, FB]),
        (Method::GET, "/api/v1/tokens".into(), Body::None,                               [UN, OK, FB, FB, FB, FB, FB]),
        (Method::DELETE, "/api/v1/tokens/unknown".into(), Body::None,                    [UN, NF, FB, FB, FB, FB, FB]),
        (Method::GET, "/api/v1/access-log".into(), Body::None,                           [UN, OK, FB, FB, FB, FB, FB]),
        (Method::GET, "/api/v1/warnings?status=all".into(), Body::None,                  [UN, OK, FB, FB, FB, OK, OK]),
        (Method::POST, "/api/v1/submissions/sub_unknown/explanations".into(), Body::Json(json!({"rule": "r", "text": "t"})),
                                                                                         [UN, NF, FB, FB, FB, NF, NF]),
        (Method::GET, format!("/api/v1/uploads/{}", "0".repeat(64)), Body::None,         [UN, NF, FB, FB, FB, FB, FB]),
        (Method::GET, format!("/api/v1/reports/{M1}/2024"), Body::None,                  [UN, OK, FB, OK, FB, OK, FB]),
        (Method::GET, format!("/api/v1/reports/{M1}/2024?format=xlsx"), Body::None,      [UN, OK, FB, OK, FB, OK, FB]),
        (Method::DELETE, format!("/api/v1/members/{M2}?from_year=2030"), Body::None,     [UN, OK, FB, FB, FB, FB, FB]),
        (Method::POST, "/api/v1/users".into(), Body::Json(json!({"email": "a@ring.example", "name": "A", "role": "analyst"})),
                                                                                         [UN, CR, FB, FB, FB, FB, FB]),
        (Method::GET, "/api/v1/users".into(), Body::None,                                [UN, OK, FB, FB, FB, FB, FB]),
        (Method::DELETE, "/api/v1/users/u_unknown".into(), Body::None,                   [UN, NF, FB, FB, FB, FB, FB]),
        (Method::DELETE, "/api/v1/users/u_unknown/second-factor".into(), Body::None,     [UN, NF, FB, FB, FB, FB, FB]),
        (Method::GET, "/api/v1/collections/library/2024".into(), Body::None,             [UN, OK, FB, FB, FB, OK, OK]),
        (Method::GET, format!("/api/v1/collections/library/2024?member_id={M1}"), Body::None,
                                                                                         [UN, OK, FB, FB, FB, OK, FB]),
        (Method::PUT, "/api/v1/collections/library/2024".into(), Body::Json(json!({"deadline": "2025-03-31"})),
                                                                                         [UN, OK, FB, FB, FB, FB, FB]),
        (Method::POST, "/api/v1/collections/library/2024/approvals".into(), Body::Json(json!({"member_id": M1})),
                                                                                         [UN, CR, FB, FB, FB, FB, FB]),
        (Method::POST, "/api/v1/collections/library/2024/reviews".into(), Body::Json(json!({"member_id": M1, "rule": "none", "accepted": true})),
                                                                                         [UN, NF, FB, FB, FB, FB, FB]),
        (Method::POST, "/api/v1/collections/library/2024/reminders".into(), Body::Json(json!({})),
                                                                                         [UN, OK, FB, FB, FB, FB, FB]),
        (Method::GET, "/api/v1/no-such-endpoint".into(), Body::None,                     [NF, NF, NF, NF, NF, NF, NF]),
    ];
    let mut group_no = 0;
    let mut failures = Vec::new();
    for (method, path, body, expected) in &matrix {
        for (i, token) in tokens.iter().enumerate() {
            let mut req = app.client.request(method.clone(), app.url(path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req = match body {
                Body::None => req,
                Body::Json(v) => req.json(v),
                Body::Group => {
                    group_no += 1;
                    req.json(&json!({"id": format!("g{group_no}"), "name": "G", "member_ids": ids}))
                }
                Body::Upload => {
                    let file: Bytes = library_file(Some(M1), 120_000.0, 1.0);
                    req.header("Content-Type", PARQUET).body(file)
                }
            };
            let resp = req.send().await.unwrap();
            let status = resp.status();
            if status != expected[i] {
                let text = resp.text().await.unwrap_or_default();
                failures.push(format!(
                    "{method} {path} as {}: {status}, expected {} ({text})",
                    CALLERS[i], expected[i]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
