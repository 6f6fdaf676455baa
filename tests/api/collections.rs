//! The coordinator's collection through the API: deadline, every
//! member's status as the year runs (upload, warning, explanation, asked
//! back, accepted, approved, undone by a new upload), who may see what,
//! the CSV export, bad input, and the state after a restart.

use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_store::Role;

use crate::helpers::{Answer, PARQUET, TestApp, library_file};

const A: &str = "05315000";
const B: &str = "05111000";
const C: &str = "05113000";
const PATH: &str = "/api/v1/collections/library/2024";

/// Each member's status, by id.
fn statuses(body: &Value) -> Vec<(String, String)> {
    body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["member_id"].as_str().unwrap().to_string(),
                m["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn status_of(body: &Value, member: &str) -> String {
    statuses(body)
        .into_iter()
        .find(|(m, _)| m == member)
        .map(|(_, s)| s)
        .unwrap_or_else(|| panic!("{member} missing: {body}"))
}

/// The counts must be the members' statuses counted afresh.
fn check_counts(body: &Value) {
    let all = statuses(body);
    for s in [
        "not_started",
        "started",
        "submitted",
        "warnings_open",
        "explained",
        "approved",
    ] {
        let n = all.iter().filter(|(_, x)| x == s).count();
        assert_eq!(body["counts"][s], json!(n), "{s}: {body}");
    }
}

/// Uploads a member's library figures (a town of `pop`), which must be
/// stored.
async fn up(app: &TestApp, token: &str, year: i32, pop: f64) -> Answer {
    let r = app
        .upload(
            "library",
            year,
            token,
            PARQUET,
            library_file(None, pop, 1.0),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r
}

async fn approve(app: &TestApp, member: &str) -> Answer {
    app.post_json(
        &format!("{PATH}/approvals"),
        Some(&app.admin),
        &json!({"member_id": member}),
    )
    .await
}

async fn explain(app: &TestApp, token: &str, sid: &str, text: &str) -> Answer {
    app.post_json(
        &format!("/api/v1/submissions/{sid}/explanations"),
        Some(token),
        &json!({"rule": "yoy_population", "text": text}),
    )
    .await
}

async fn review(app: &TestApp, accepted: bool, comment: &str) -> Answer {
    app.post_json(
        &format!("{PATH}/reviews"),
        Some(&app.admin),
        &json!({"member_id": A, "rule": "yoy_population", "accepted": accepted, "comment": comment}),
    )
    .await
}

#[tokio::test]
async fn a_year_runs_from_deadline_to_approval_and_a_new_upload_undoes_it() {
    let mut app = TestApp::spawn().await;
    app.register(&[
        (A, "Stadt Köln", "kreisfreie_stadt"),
        (B, "Stadt Düsseldorf", "kreisfreie_stadt"),
        (C, "Stadt Duisburg", "kreisfreie_stadt"),
    ])
    .await;
    let admin = app.admin.clone();
    let a = app.token(Role::Member, Some(A)).await;
    let b = app.token(Role::Member, Some(B)).await;

    // Before anything: every member not started, no deadline.
    let got = app.get(PATH, Some(&admin)).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert!(got.body["collection"].is_null());
    assert!(statuses(&got.body).iter().all(|(_, s)| s == "not_started"));
    check_counts(&got.body);

    // Open with a deadline; a bad date names the field.
    let bad = app
        .client
        .put(app.url(PATH))
        .bearer_auth(&admin)
        .json(&json!({"deadline": "31.03.2025"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("deadline"));
    let put = app
        .client
        .put(app.url(PATH))
        .bearer_auth(&admin)
        .json(&json!({"deadline": "2025-03-31"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);

    // A: 2023 and then 2024 with 10 % more inhabitants: a warning. B: 2024
    // only, no warning.
    up(&app, &a, 2023, 100_000.0).await;
    let first = up(&app, &a, 2024, 110_000.0).await;
    let warning = first.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["rule"] == "yoy_population")
        .unwrap()
        .clone();
    // German numbers in the German message.
    let de = warning["message_de"].as_str().unwrap();
    assert!(de.contains("von 100.000 auf 110.000"), "{de}");
    assert!(de.contains("+10,0 %"), "{de}");
    up(&app, &b, 2024, 80_000.0).await;

    let got = app.get(PATH, Some(&admin)).await;
    assert_eq!(got.body["collection"]["deadline"], "2025-03-31");
    assert_eq!(status_of(&got.body, A), "warnings_open");
    assert_eq!(status_of(&got.body, B), "submitted");
    assert_eq!(status_of(&got.body, C), "not_started");
    check_counts(&got.body);

    // Approval waits for A's warning; B's goes through.
    let refused = approve(&app, A).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(refused.text.contains("warning"));
    assert_eq!(approve(&app, C).await.status, StatusCode::CONFLICT);
    assert_eq!(approve(&app, B).await.status, StatusCode::CREATED);

    // A explains; asked back without a comment is refused; with one, the
    // warning is A's again and A sees the question.
    let sid = first.body["submission_id"].as_str().unwrap().to_string();
    assert_eq!(
        explain(&app, &a, &sid, "Eingemeindung").await.status,
        StatusCode::CREATED
    );
    let got = app.get(PATH, Some(&admin)).await;
    assert_eq!(status_of(&got.body, A), "explained");
    let no_comment = review(&app, false, "  ").await;
    assert_eq!(no_comment.status, StatusCode::BAD_REQUEST);
    assert!(no_comment.text.contains("comment"));
    assert_eq!(
        review(&app, false, "Welche Gemeinde?").await.status,
        StatusCode::CREATED
    );
    let got = app.get(PATH, Some(&admin)).await;
    assert_eq!(status_of(&got.body, A), "warnings_open");
    let open = app
        .get("/api/v1/warnings?domain=library&year=2024", Some(&a))
        .await;
    let w = &open.body[0];
    assert_eq!(w["open"], true, "{}", open.text);
    assert_eq!(w["review"]["comment"], "Welche Gemeinde?");
    // Explained again, then accepted: submitted, and now approvable.
    assert_eq!(
        explain(&app, &a, &sid, "Eingemeindung von Porz")
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        status_of(&app.get(PATH, Some(&admin)).await.body, A),
        "explained"
    );
    assert_eq!(review(&app, true, "").await.status, StatusCode::CREATED);
    assert_eq!(
        status_of(&app.get(PATH, Some(&admin)).await.body, A),
        "submitted"
    );
    assert_eq!(approve(&app, A).await.status, StatusCode::CREATED);
    let got = app.get(PATH, Some(&admin)).await;
    assert_eq!(status_of(&got.body, A), "approved");
    let row = got.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member_id"] == A)
        .unwrap();
    assert_eq!(row["approval"]["submission_id"], sid.as_str());
    assert!(row["last_change"].is_string() && row["last_change_by"].is_string());
    check_counts(&got.body);

    // Only approved, as CSV: B and A, one line each.
    let csv = app
        .get_accept(&format!("{PATH}?status=approved"), &admin, "text/csv")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert!(
        lines[0].starts_with("member_id,name,status,status_de"),
        "{}",
        csv.text
    );
    assert_eq!(lines.len(), 3, "{}", csv.text);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{A},Stadt Köln,approved,freigegeben")))
    );

    // A member sees its own row only; analysts nothing.
    let mine = app.get(PATH, Some(&b)).await;
    assert_eq!(
        statuses(&mine.body),
        vec![(B.to_string(), "approved".to_string())]
    );
    assert_eq!(
        app.get(&format!("{PATH}?member_id={A}"), Some(&b))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(PATH, Some(&app.analyst)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_json(
            &format!("{PATH}/approvals"),
            Some(&b),
            &json!({"member_id": B})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // The state survives a restart (it is the state log's).
    app.restart().await;
    let got = app.get(PATH, Some(&app.admin)).await;
    assert_eq!(status_of(&got.body, A), "approved");
    assert_eq!(got.body["collection"]["deadline"], "2025-03-31");

    // A new upload undoes A's approval (a new submission, a new warning).
    up(&app, &a, 2024, 111_000.0).await;
    let got = app.get(PATH, Some(&app.admin)).await;
    assert_eq!(status_of(&got.body, A), "warnings_open");
    assert_eq!(status_of(&got.body, B), "approved");
}

#[tokio::test]
async fn bad_collection_requests_are_refused_with_reasons() {
    let app = TestApp::spawn().await;
    app.register(&[(A, "Stadt Köln", "kreisfreie_stadt")]).await;
    let admin = app.admin.clone();
    let cases = [
        (
            format!("{PATH}?status=done"),
            StatusCode::BAD_REQUEST,
            "status",
        ),
        (
            "/api/v1/collections/zoo/2024".to_string(),
            StatusCode::NOT_FOUND,
            "zoo",
        ),
        (
            "/api/v1/collections/library/3000".to_string(),
            StatusCode::NOT_FOUND,
            "3000",
        ),
        (
            "/api/v1/collections/library/20x4".to_string(),
            StatusCode::BAD_REQUEST,
            "year",
        ),
    ];
    for (path, status, word) in cases {
        let got = app.get(&path, Some(&admin)).await;
        assert_eq!(got.status, status, "{path}: {}", got.text);
        assert!(got.text.contains(word), "{path}: {}", got.text);
    }
    let review = app
        .post_json(
            &format!("{PATH}/reviews"),
            Some(&admin),
            &json!({"member_id": A, "rule": "yoy_population", "accepted": true}),
        )
        .await;
    assert_eq!(review.status, StatusCode::NOT_FOUND, "{}", review.text);
    let shape = app
        .post_json(
            &format!("{PATH}/reviews"),
            Some(&admin),
            &json!({"member": A}),
        )
        .await;
    assert_eq!(shape.status, StatusCode::BAD_REQUEST);
    assert!(shape.text.contains("member_id"), "{}", shape.text);
    let unknown = app
        .post_json(
            &format!("{PATH}/approvals"),
            Some(&admin),
            &json!({"member_id": "09999999"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    // Nothing above changed the state: still no collection, nobody started.
    let got = app.get(PATH, Some(&admin)).await;
    assert!(got.body["collection"].is_null());
    assert_eq!(
        statuses(&got.body),
        vec![(A.to_string(), "not_started".to_string())]
    );
}
