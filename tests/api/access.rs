//! Who may do what: tokens, roles, own and other members, give to get.

use reqwest::StatusCode;
use serde_json::json;
use vergleichsring_store::Role;

use crate::helpers::{PARQUET, TestApp, library_file, multiplier, quintile_higher_better};

const M1: &str = "05315000";
const M2: &str = "05111000";

#[tokio::test]
async fn roles_and_members_see_only_what_they_may() {
    let app = TestApp::spawn().await;
    app.register(&[
        (M1, "Stadt Köln", "kreisfreie_stadt"),
        (M2, "Stadt Düsseldorf", "kreisfreie_stadt"),
    ])
    .await;
    let m1 = app.token(Role::Member, Some(M1)).await;
    let m2 = app.token(Role::Member, Some(M2)).await;
    let consultant = app.token(Role::Consultant, None).await;
    let analyst = app.analyst.clone();
    let admin = app.admin.clone();

    // No token is needed for health and catalogue.
    assert_eq!(app.get("/health", None).await.body, json!({"status": "ok"}));
    let cat = app.get("/api/v1/catalog", None).await;
    assert_eq!(cat.status, StatusCode::OK);
    assert_eq!(cat.body["domains"].as_array().unwrap().len(), 5);
    assert_eq!(
        cat.body["domains"][0]["key_figures"][0]["direction"],
        "higher"
    );
    // The rule catalogue: id, level and messages in German and English.
    let rule = &cat.body["domains"][0]["rules"][0];
    assert_eq!(rule["level"], "error");
    assert!(rule["message_de"].is_string() && rule["message_en"].is_string());
    let yoy = &cat.body["domains"][0]["yoy_rules"][0];
    assert!(yoy["message_de"].as_str().unwrap().contains("Vorjahr"));
    assert_eq!(yoy["level"], "warning");
    assert!(cat.body["checks"].as_array().unwrap().len() >= 10);

    let figures = "/api/v1/figures/library/2024";
    let comparison = "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=all";
    // No or unknown token: 401 everywhere a token is needed.
    for path in [
        figures,
        comparison,
        "/api/v1/members",
        "/api/v1/submissions/library/2024",
        "/api/v1/timeseries/library/loans_per_capita",
    ] {
        assert_eq!(
            app.get(path, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        let a = app.get(path, Some("vr_not_a_token")).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(a.body["error"], "unauthorized");
    }

    // Give to get: m1 has not submitted for 2024.
    let a = app.get(comparison, Some(&m1)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    assert_eq!(a.body["error"], "give_to_get");
    let up = app
        .upload(
            "library",
            2024,
            &m1,
            PARQUET,
            library_file(None, 100_000.0, 1.0),
        )
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.text);
    // One member alone: nothing is published (rule 9), and publishing is
    // refused until five members changed (rule 10); its own figures are
    // there.
    let a = app.get(comparison, Some(&m1)).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    assert_eq!(a.body["error"], "not_published");
    let message = a.body["message"].as_str().unwrap();
    assert!(
        message.contains("no publication yet") && message.contains("noch keine Veröffentlichung")
    );
    let p = app
        .post_json(
            "/api/v1/publications/library/2024",
            Some(&app.admin),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert_eq!(p.body["error"], "too_few_changes");
    assert_eq!(p.body["changed_members"], 1);
    let own = app.get(figures, Some(&m1)).await;
    assert_eq!(own.body["key"]["loans_per_capita"], 4.0, "{}", own.text);
    let ts = app
        .get(
            "/api/v1/timeseries/library/loans_per_capita?group_by=all",
            Some(&m1),
        )
        .await;
    assert_eq!(
        ts.body["points"][0]["reason"], "not_published",
        "{}",
        ts.text
    );
    // m2 still has not submitted.
    assert_eq!(
        app.get(comparison, Some(&m2)).await.status,
        StatusCode::FORBIDDEN
    );
    let ts = app
        .get(
            "/api/v1/timeseries/library/loans_per_capita?group_by=all",
            Some(&m2),
        )
        .await;
    assert_eq!(ts.status, StatusCode::OK);
    assert_eq!(ts.body["points"][0]["reason"], "give_to_get");
    assert_eq!(ts.body["points"][0]["stats"], serde_json::Value::Null);

    // A member reads its own figures and nobody else's.
    assert_eq!(app.get(figures, Some(&m1)).await.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("{figures}?member_id={M1}"), Some(&m1))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("{figures}?member_id={M1}"), Some(&m2))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("{comparison}&member_id={M1}"), Some(&m2))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // A member cannot write another member's figures.
    let a = app
        .upload(
            "library",
            2024,
            &m2,
            PARQUET,
            library_file(Some(M1), 1000.0, 1.0),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.body["errors"][0]["rule"], "foreign_member");
    // Submissions: a member sees its own only.
    let subs = app.get("/api/v1/submissions/library/2024", Some(&m2)).await;
    assert_eq!(subs.status, StatusCode::OK);
    assert_eq!(subs.body.as_array().unwrap().len(), 0);

    // Admin reads any member, with min and max.
    assert_eq!(
        app.get(&format!("{figures}?member_id={M1}"), Some(&admin))
            .await
            .status,
        StatusCode::OK
    );
    let a = app
        .get(&format!("{comparison}&member_id={M1}"), Some(&admin))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["groups"][0]["stats"]["max"], 4.0);

    // Analysts read comparisons (here: none published yet) but no member's
    // raw values.
    let a = app.get(comparison, Some(&analyst)).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    assert_eq!(a.body["error"], "not_published");
    for path in [
        format!("{figures}?member_id={M1}"),
        format!("{comparison}&member_id={M1}"),
    ] {
        let a = app.get(&path, Some(&analyst)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(a.body["error"], "forbidden");
    }
    let a = app
        .upload(
            "library",
            2024,
            &analyst,
            PARQUET,
            library_file(Some(M1), 1000.0, 1.0),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    // Consultants wait for their own endpoints (reports); comparisons are not theirs.
    assert_eq!(
        app.get(comparison, Some(&consultant)).await.status,
        StatusCode::FORBIDDEN
    );

    // Member lists: admin and analyst all, a member itself.
    let all = app.get("/api/v1/members", Some(&analyst)).await;
    assert_eq!(all.body.as_array().unwrap().len(), 2);
    let own = app.get("/api/v1/members", Some(&m1)).await;
    assert_eq!(own.body.as_array().unwrap().len(), 1);
    assert_eq!(own.body[0]["member_id"], M1);
    // Only admin registers members.
    let body = json!([{"member_id": "09162000", "name": "München", "kind": "kreisfreie_stadt"}]);
    assert_eq!(
        app.post_json("/api/v1/members", Some(&m1), &body)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_json("/api/v1/members", Some(&analyst), &body)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let bad = json!([{"member_id": "123", "name": "X", "kind": "landkreis"}]);
    let a = app.post_json("/api/v1/members", Some(&admin), &bad).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Unknown things are 404, malformed requests 400.
    assert_eq!(
        app.get("/api/v1/comparisons/library/2024?figure=nope", Some(&admin))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/comparisons/theatre/2024?figure=x", Some(&admin))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/comparisons/library/2024", Some(&admin))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get(
            "/api/v1/comparisons/library/2024?figure=turnover&group_by=colour",
            Some(&admin)
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get(
            "/api/v1/comparisons/library/abc?figure=turnover",
            Some(&admin)
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get("/api/v1/nothing", None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// The group with this id in a comparison.
fn group(body: &serde_json::Value, id: &str) -> serde_json::Value {
    body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == id)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn thresholds_count_peers_without_the_requester() {
    let app = TestApp::spawn().await;
    // Six towns of one size class with different loans.
    let ids = [
        "05111000", "05112000", "05113000", "05114000", "05116000", "05117000",
    ];
    let members: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|id| (*id, "Stadt", "kreisfreie_stadt"))
        .collect();
    app.register(&members).await;
    // One upload of all six, so that one publication holds them (rule 10).
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, 120_000.0, 1.0 + i as f64 / 10.0))
        .collect();
    app.library_bulk(2024, &rows).await;
    let path = "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=size_class";
    // The analyst sees 6 members: released, median yes, quartiles no (< 8).
    let a = app.get(path, Some(&app.analyst)).await;
    let g = &a.body["groups"][0];
    assert_eq!(g["group"], "GK3");
    assert_eq!(g["suppressed"], false);
    assert!(g["stats"]["median"].is_number());
    assert!(g["stats"]["p25"].is_null());
    // A member of the group has only 5 peers: released with a median.
    let m = app.token(Role::Member, Some(ids[0])).await;
    let a = app.get(path, Some(&m)).await;
    assert_eq!(a.body["groups"][0]["suppressed"], false, "{}", a.text);
    // Rule 17: its position is the quintile among its peers' perturbed
    // values, computed here independently from the same multipliers;
    // the exact rank is admin's only.
    let noise = app.noise().await;
    let perturbed: Vec<f64> = rows
        .iter()
        .map(|(id, _, scale)| 4.0 * scale * multiplier(&noise, "library", id, "loans"))
        .collect();
    let own = &a.body["groups"][0]["own"];
    assert!(own["rank"].is_null(), "{own}");
    assert_eq!(own["value"], 4.0, "a member sees its own true value");
    assert_eq!(
        own["quintile"],
        quintile_higher_better(&perturbed, perturbed[0]),
        "{own}"
    );
    // One member fewer (in 2023 it was a town of another class) leaves 4
    // peers: suppressed for the member, released for the analyst (5).
    let mut rows = rows;
    rows[5].1 = 20_000.0;
    rows[5].2 = 1.0;
    app.library_bulk(2023, &rows).await;
    let path = "/api/v1/comparisons/library/2023?figure=loans_per_capita&group_by=size_class";
    let a = app.get(path, Some(&m)).await;
    let gk3 = group(&a.body, "GK3");
    assert_eq!(gk3["suppressed"], true);
    assert_eq!(gk3["reason"], "below_threshold");
    assert!(gk3["own"]["rank"].is_null());
    let a = app.get(path, Some(&app.analyst)).await;
    let gk3 = group(&a.body, "GK3");
    // GK3 alone would pass (5 members), but the lone GK6 town could then be
    // computed from the total: rule 5 suppresses GK3 as well.
    assert_eq!(gk3["suppressed"], true);
    assert_eq!(gk3["reason"], "complement");
    // The total of all six would give the lone GK6 town, which knows its
    // own value, the total of the five GK3 towns that rule 5 withholds: the
    // audit of rule 11 withholds it too.
    let all = app
        .get(&path.replace("size_class", "all"), Some(&app.analyst))
        .await;
    assert_eq!(all.body["groups"][0]["suppressed"], true, "{}", all.text);
    assert_eq!(all.body["groups"][0]["reason"], "audit");
}

#[tokio::test]
async fn admin_creates_lists_and_revokes_tokens_over_http() {
    let app = TestApp::spawn().await;
    app.register(&[(M1, "Stadt Köln", "kreisfreie_stadt")])
        .await;

    let made = app
        .post_json(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"role": "member", "member_id": M1, "label": "Export Bibliothek",
                    "expires_at": "2099-12-31T23:59:59Z"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    // Every key once (a JSON object with a key twice reads differently
    // in different clients).
    assert_eq!(
        made.text.matches("\"token_id\"").count(),
        1,
        "{}",
        made.text
    );
    let token = made.body["token"].as_str().unwrap().to_string();
    let token_id = made.body["token_id"].as_str().unwrap().to_string();
    assert_eq!(made.body["role"], "member");
    assert_eq!(made.body["member_id"], M1);
    assert_eq!(made.body["expires_at"], "2099-12-31T23:59:59Z");

    // The new token works at once, as the member it names.
    let upload = app
        .upload(
            "library",
            2024,
            &token,
            PARQUET,
            library_file(None, 120_000.0, 1.0),
        )
        .await;
    assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.text);

    // The list names it with its label and last use, and never a hash.
    let list = app.get("/api/v1/tokens", Some(&app.admin)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.text.contains("hash"), "{}", list.text);
    assert!(!list.text.contains(&token), "the token itself is listed");
    let mine = listed(&list.body, &token_id);
    assert_eq!(mine["label"], "Export Bibliothek");
    assert_eq!(mine["revoked"], false);
    assert_eq!(mine["expired"], false);
    assert!(mine["last_used_at"].is_string(), "{mine}");

    // Bad requests name the field and the rule; nothing is created.
    let count = list.body.as_array().unwrap().len();
    for (body, field) in [
        (json!({"role": "mayor"}), "role"),
        (json!({"role": "member"}), "member id"),
        (
            json!({"role": "member", "member_id": "05999000"}),
            "not registered",
        ),
        (
            json!({"role": "analyst", "expires_at": "tomorrow"}),
            "expires_at",
        ),
        (
            json!({"role": "analyst", "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"role": "analyst", "label": "x".repeat(201)}),
            "label",
        ),
        (json!({"role": "analyst", "grants": [M1]}), "grants"),
        (json!({"role": "analyst", "colour": "red"}), "colour"),
    ] {
        let r = app
            .post_json("/api/v1/tokens", Some(&app.admin), &body)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(r.text.contains(field), "{body}: {}", r.text);
    }
    // Only admin makes or lists tokens.
    let analyst = app
        .post_json(
            "/api/v1/tokens",
            Some(&app.analyst),
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(analyst.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/tokens", Some(&token)).await.status,
        StatusCode::FORBIDDEN
    );
    let after = app.get("/api/v1/tokens", Some(&app.admin)).await;
    assert_eq!(after.body.as_array().unwrap().len(), count);

    // Revoked through the API, refused at once.
    let path = format!("/api/v1/tokens/{token_id}");
    assert_eq!(
        app.delete(&path, Some(&app.admin)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/members", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let list = app.get("/api/v1/tokens", Some(&app.admin)).await;
    let mine = listed(&list.body, &token_id);
    assert_eq!(mine["revoked"], true);
}

#[tokio::test]
async fn an_expired_token_opens_nothing() {
    let app = TestApp::spawn().await;
    let (token, record) = vergleichsring_store::Store::create_token_with(
        app.dir.path(),
        &vergleichsring_store::LakeLocation::default(),
        vergleichsring_store::NewToken {
            role: Role::Analyst,
            member_id: None,
            consultant_id: None,
            grants: vec![],
            label: None,
            expires_at: Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        app.get("/api/v1/members", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let list = app.get("/api/v1/tokens", Some(&app.admin)).await;
    let it = listed(&list.body, &record.token_id);
    assert_eq!(it["expired"], true);
}

#[tokio::test]
async fn admin_renames_a_member_and_changes_its_kind() {
    let app = TestApp::spawn().await;
    app.register(&[(M1, "Stadt Köln", "kreisfreie_stadt")])
        .await;
    let path = format!("/api/v1/members/{M1}");
    let r = app
        .patch_json(
            &path,
            Some(&app.admin),
            &json!({"name": "Köln", "kind": "kreisangehoerige_gemeinde"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"member_id": M1, "name": "Köln", "kind": "kreisangehoerige_gemeinde"})
    );
    let list = app.get("/api/v1/members", Some(&app.admin)).await;
    assert_eq!(list.body[0]["name"], "Köln");

    // A county's key has five digits: the kind does not fit, nothing changes.
    let r = app
        .patch_json(&path, Some(&app.admin), &json!({"kind": "landkreis"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_member");
    for body in [
        json!({}),
        json!({"name": "X", "mayor": "Y"}),
        json!({"kind": "dorf"}),
    ] {
        let r = app.patch_json(&path, Some(&app.admin), &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
    }
    let r = app
        .patch_json(
            "/api/v1/members/05999000",
            Some(&app.admin),
            &json!({"name": "X"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let list = app.get("/api/v1/members", Some(&app.admin)).await;
    assert_eq!(
        list.body[0],
        json!({"member_id": M1, "name": "Köln", "kind": "kreisangehoerige_gemeinde"})
    );
}

/// The entry of one token in the answer of `GET /api/v1/tokens`.
fn listed(list: &serde_json::Value, token_id: &str) -> serde_json::Value {
    list.as_array()
        .and_then(|l| l.iter().find(|t| t["token_id"] == token_id))
        .cloned()
        .unwrap_or_else(|| panic!("token {token_id} is not listed: {list}"))
}

/// A member leaves the ring from a year on: not from a year it has figures
/// for, and afterwards its uploads for that year and later are refused
/// naming row, column and rule, while its earlier figures stay readable.
#[tokio::test]
async fn a_member_leaves_the_ring_from_a_year_on() {
    let app = TestApp::spawn().await;
    app.register(&[(M1, "Stadt Köln", "kreisfreie_stadt")])
        .await;
    let member = app.token(Role::Member, Some(M1)).await;
    let file = |scale| crate::helpers::library_bulk_file(&[(M1, 120_000.0, scale)]);
    let up = |year, scale| {
        app.upload(
            "library",
            year,
            &member,
            crate::helpers::PARQUET,
            file(scale),
        )
    };
    assert_eq!(up(2023, 1.0).await.status, StatusCode::CREATED);
    let path = format!("/api/v1/members/{M1}");
    let r = app
        .delete(&format!("{path}?from_year=2023"), Some(&app.admin))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(
        r.text.contains("from 2024 on at the earliest"),
        "{}",
        r.text
    );
    for bad in ["", "?from_year=soon", "?from_year=1200"] {
        let r = app.delete(&format!("{path}{bad}"), Some(&app.admin)).await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.text);
    }
    let r = app
        .delete("/api/v1/members/05999000?from_year=2024", Some(&app.admin))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .delete(&format!("{path}?from_year=2024"), Some(&app.admin))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["left_from_year"], 2024);
    assert_eq!(r.body["member_id"], M1);

    let refused = up(2024, 1.1).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    let e = &refused.body["errors"][0];
    assert_eq!(e["rule"], "member_left", "{}", refused.text);
    assert_eq!(e["row"], 1);
    assert_eq!(e["column"], "member_id");
    // Earlier years still take corrections, and read as before.
    assert_eq!(up(2023, 1.2).await.status, StatusCode::CREATED);
    let r = app.get("/api/v1/figures/library/2023", Some(&member)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn the_command_line_makes_tokens_with_label_and_expiry() {
    let app = TestApp::spawn().await;
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
            .args(["token", "create", "--data-dir"])
            .arg(app.dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let past = cli(&["--role", "analyst", "--expires-at", "2001-01-01T00:00:00Z"]);
    assert!(!past.status.success());
    assert!(String::from_utf8_lossy(&past.stderr).contains("not in the future"));
    let bad = cli(&["--role", "analyst", "--expires-at", "next week"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));

    let made = cli(&[
        "--role",
        "analyst",
        "--label",
        "Jahrestreffen",
        "--expires-at",
        "2099-01-01T00:00:00Z",
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let token = String::from_utf8(made.stdout).unwrap().trim().to_string();
    // The running server takes the new token without a restart.
    assert_eq!(
        app.get("/api/v1/members", Some(&token)).await.status,
        StatusCode::OK
    );
    let list = app.get("/api/v1/tokens", Some(&app.admin)).await;
    let it = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "Jahrestreffen")
        .cloned()
        .unwrap();
    assert_eq!(it["expires_at"], "2099-01-01T00:00:00Z");
    assert_eq!(it["role"], "analyst");
}
