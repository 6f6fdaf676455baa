//! Disclosure control through the real server: consultants, custom groups
//! and differencing attacks, analysts' SQL, visibility modes, revocation.

use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_engine::disclosure::{Policy, Visibility};
use vergleichsring_store::{Role, Store};

use crate::helpers::{TestApp, leaves, multiplier};

/// Member ids 05001000, 05002000, … (kreisfreie Städte in NRW).
fn ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("05{i:03}000")).collect()
}

async fn ring(app: &TestApp, n: usize, year: i32) -> Vec<String> {
    let ids = ids(n);
    let members: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|id| (id.as_str(), "Stadt", "kreisfreie_stadt"))
        .collect();
    app.register(&members).await;
    // Scales with many digits, so that exact values are recognisable.
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + 0.123_457 * i as f64))
        .collect();
    app.library_bulk(year, &rows).await;
    ids
}

fn comparison(group_by: &str, member: Option<&str>) -> String {
    let mut p =
        format!("/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by={group_by}");
    if let Some(m) = member {
        p.push_str(&format!("&member_id={m}"));
    }
    p
}

#[tokio::test]
async fn consultants_read_granted_members_under_the_external_threshold() {
    let app = TestApp::spawn().await;
    let ids = ring(&app, 9, 2024).await;
    let (m0, m1) = (ids[0].as_str(), ids[1].as_str());
    let consultant = app.consultant("kpmg", &[m0]).await;
    let member0 = app.token(Role::Member, Some(m0)).await;
    let member1 = app.token(Role::Member, Some(m1)).await;

    // Nine members: 8 peers are enough for the member, not for a consultant (10).
    let a = app.get(&comparison("all", None), Some(&member0)).await;
    assert_eq!(a.body["groups"][0]["suppressed"], false, "{}", a.text);
    let a = app
        .get(&comparison("all", Some(m0)), Some(&consultant))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["groups"][0]["suppressed"], true);
    assert_eq!(a.body["groups"][0]["reason"], "below_threshold");
    assert!(a.body["groups"][0]["own"]["value"].is_number());

    // With ten or more members the consultant sees the statistics (five
    // join at once: a publication needs five changes, rule 10).
    let new: Vec<String> = (10..15).map(|i| format!("05{i:03}000")).collect();
    let members: Vec<(&str, &str, &str)> = new
        .iter()
        .map(|id| (id.as_str(), "Stadt", "kreisfreie_stadt"))
        .collect();
    app.register(&members).await;
    let rows: Vec<(&str, f64, f64)> = new
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 3.3 + 0.1 * i as f64))
        .collect();
    app.library_bulk(2024, &rows).await;
    let a = app
        .get(&comparison("all", Some(m0)), Some(&consultant))
        .await;
    assert_eq!(a.body["groups"][0]["suppressed"], false, "{}", a.text);
    assert!(a.body["groups"][0]["stats"].get("min").is_none());

    // A consultant lists the members that granted it access.
    let listed = app.get("/api/v1/members", Some(&consultant)).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["member_id"], m0);

    // Only granted members, only aggregates.
    assert_eq!(
        app.get(&comparison("all", Some(m1)), Some(&consultant))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&comparison("all", None), Some(&consultant))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let figures = format!("/api/v1/figures/library/2024?member_id={m0}");
    assert_eq!(
        app.get(&figures, Some(&consultant)).await.status,
        StatusCode::FORBIDDEN
    );

    // Only the member itself (or admin) grants and revokes.
    let grant = json!({"consultant_id": "kpmg"});
    let path = format!("/api/v1/members/{m1}/grants");
    assert_eq!(
        app.post_json(&path, Some(&member0), &grant).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_json(&path, Some(&member1), &grant).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.get(&comparison("all", Some(m1)), Some(&consultant))
            .await
            .status,
        StatusCode::OK
    );
    let revoke = format!("/api/v1/members/{m1}/grants/kpmg");
    assert_eq!(
        app.delete(&revoke, Some(&member0)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&revoke, Some(&member1)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&revoke, Some(&member1)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&comparison("all", Some(m1)), Some(&consultant))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let a = app
        .post_json(
            &format!("/api/v1/members/{m0}/grants"),
            Some(&app.admin),
            &json!({"consultant_id": "other"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);

    // Give to get holds for the member a consultant reads for.
    let a = app
        .get(
            &comparison("all", Some(m0)).replace("2024", "2023"),
            Some(&consultant),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["error"], "give_to_get");

    // Every read of a member's data is in the access log.
    let log = app.get("/api/v1/access-log", Some(&app.admin)).await;
    assert_eq!(log.status, StatusCode::OK);
    let entries = log.body.as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["role"] == "consultant"
            && e["member_id"] == m0
            && e["action"] == "comparison")
    );
    assert_eq!(
        app.get("/api/v1/access-log", Some(&member0)).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn differencing_attacks_reveal_nothing() {
    let app = TestApp::spawn().await;
    let ids = ring(&app, 14, 2024).await;
    let analyst = app.analyst.clone();
    let group = |id: &str, members: &[String]| json!({"id": id, "name": id, "member_ids": members});

    // Two groups differing by one member: the second is refused.
    let a = app
        .post_json("/api/v1/groups", Some(&analyst), &group("west", &ids[0..7]))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let a = app.get(&comparison("west", None), Some(&analyst)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let mean_west = a.body["groups"][0]["stats"]["mean"].as_f64().unwrap();
    let a = app
        .post_json(
            "/api/v1/groups",
            Some(&analyst),
            &group("west_plus", &ids[0..8]),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = app
        .get(&comparison("west_plus", None), Some(&analyst))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.body["error"], "disclosure_refused");
    assert_eq!(a.body["reason"], "differencing");
    assert!(!a.text.contains(&format!("{}", mean_west * 7.0)));

    // A group and its complement: all members but one against `all`.
    let a = app
        .post_json(
            "/api/v1/groups",
            Some(&analyst),
            &group("all_but_one", &ids[1..]),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = app
        .get(&comparison("all_but_one", None), Some(&analyst))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.body["reason"], "differencing");

    // Definitions are checked too.
    let a = app
        .post_json("/api/v1/groups", Some(&analyst), &group("tiny", &ids[0..3]))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.body["reason"], "below_threshold");
    let a = app
        .post_json("/api/v1/groups", Some(&analyst), &group("size_class", &ids))
        .await;
    assert_eq!(a.body["reason"], "invalid_id");
    let a = app
        .post_json("/api/v1/groups", Some(&analyst), &group("west", &ids))
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let member = app.token(Role::Member, Some(&ids[0])).await;
    assert_eq!(
        app.post_json("/api/v1/groups", Some(&member), &group("m", &ids))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let listed = app.get("/api/v1/groups", Some(&member)).await;
    assert!(listed.body[0].get("member_ids").is_none());
    let listed = app.get("/api/v1/groups", Some(&analyst)).await;
    assert_eq!(listed.body[0]["member_ids"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn a_member_joining_a_custom_group_is_not_revealed_across_years() {
    let app = TestApp::spawn().await;
    let ids = ring(&app, 14, 2024).await;
    let analyst = app.analyst.clone();
    let group = |id: &str, members: &[String]| json!({"id": id, "name": id, "member_ids": members});
    // Year-over-year membership change: one member joins the group's year.
    // 2023 holds members 0..7 with the same figures as in 2024.
    let rows: Vec<(&str, f64, f64)> = ids[0..7]
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + 0.123_457 * i as f64))
        .collect();
    app.library_bulk(2023, &rows).await;
    let a = app
        .post_json("/api/v1/groups", Some(&analyst), &group("east", &ids[0..8]))
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let path = "/api/v1/timeseries/library/loans_per_capita?group_by=east";
    let a = app.get(path, Some(&analyst)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let points = a.body["points"].as_array().unwrap();
    let released: Vec<&Value> = points.iter().filter(|p| p["suppressed"] == false).collect();
    assert_eq!(
        released.len(),
        1,
        "only one of the two years may be released: {}",
        a.text
    );
    let refused: Vec<&Value> = points
        .iter()
        .filter(|p| p["reason"] == "differencing")
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["year"], 2024, "{}", a.text);
}

#[tokio::test]
async fn sql_sees_released_statistics_and_nothing_else() {
    let app = TestApp::spawn().await;
    ring(&app, 12, 2024).await;
    let analyst = app.analyst.clone();
    let q = |sql: &str| json!({ "sql": sql });
    let a = app
        .post_json(
            "/api/v1/query",
            Some(&analyst),
            &q("SELECT \"group\", n, mean FROM comparisons WHERE domain = 'library' AND figure = 'loans_per_capita' AND group_by = 'all'"),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["columns"], json!(["group", "n", "mean"]));
    let c = app.get(&comparison("all", None), Some(&analyst)).await;
    assert_eq!(a.body["rows"][0][1], c.body["groups"][0]["n"]);
    assert_eq!(a.body["rows"][0][2], c.body["groups"][0]["stats"]["mean"]);
    let a = app
        .post_json("/api/v1/query", Some(&analyst), &q("SELECT count(*) AS leaks FROM comparisons WHERE suppressed AND (mean IS NOT NULL OR median IS NOT NULL)"))
        .await;
    assert_eq!(a.body["rows"][0][0], 0);

    for format in [
        "text/csv",
        "application/vnd.apache.arrow.stream",
        "application/vnd.apache.parquet",
    ] {
        let r = app
            .client
            .post(app.url("/api/v1/query"))
            .bearer_auth(&analyst)
            .header("Accept", format)
            .json(&q("SELECT domain, year, n FROM comparisons LIMIT 3"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(format)
        );
        let body = r.bytes().await.unwrap();
        match format {
            "text/csv" => assert!(body.starts_with(b"domain,year,n\n")),
            "application/vnd.apache.parquet" => assert!(body.starts_with(b"PAR1")),
            _ => assert!(body.starts_with(&[0xff, 0xff, 0xff, 0xff])),
        }
    }

    let path = app.dir.path().display().to_string();
    for sql in [
        "SELECT * FROM figures".to_string(),
        "SELECT * FROM library".to_string(),
        "SELECT * FROM basic".to_string(),
        "SELECT * FROM members".to_string(),
        "SELECT * FROM tokens".to_string(),
        format!("SELECT * FROM '{path}/lake/library'"),
        format!("SELECT * FROM '{path}/tokens.json'"),
        format!("SELECT * FROM read_parquet('{path}/lake/library')"),
        format!("SELECT * FROM read_csv('{path}/members.json')"),
        format!("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{path}/lake/library'"),
        format!("COPY comparisons TO '{path}/out.csv'"),
        "DROP TABLE comparisons".to_string(),
        "INSERT INTO comparisons (domain) VALUES ('x')".to_string(),
        "SELECT 1; SELECT 2".to_string(),
        "SHOW TABLES".to_string(),
        "SELECT * FROM information_schema.tables".to_string(),
        "SET datafusion.execution.target_partitions = 8".to_string(),
    ] {
        let a = app
            .post_json("/api/v1/query", Some(&analyst), &q(&sql))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{sql}: {}", a.text);
        assert_eq!(a.body["error"], "bad_request");
    }
    assert!(!app.dir.path().join("out.csv").exists());
    let member = app.token(Role::Member, Some("05001000")).await;
    assert_eq!(
        app.post_json("/api/v1/query", Some(&member), &q("SELECT 1"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let consultant = app.consultant("c", &["05001000"]).await;
    assert_eq!(
        app.post_json("/api/v1/query", Some(&consultant), &q("SELECT 1"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn visibility_modes_show_what_the_ring_agreed() {
    for visibility in [
        Visibility::AggregateOnly,
        Visibility::Pseudonymous,
        Visibility::Named,
    ] {
        let app = TestApp::spawn_with_policy(Policy {
            visibility,
            ..Policy::default()
        })
        .await;
        let ids = ring(&app, 8, 2024).await;
        let me = app.token(Role::Member, Some(&ids[0])).await;
        let a = app.get(&comparison("all", None), Some(&me)).await;
        assert_eq!(a.status, StatusCode::OK);
        let g = &a.body["groups"][0];
        // The exact loans per capita of the other members.
        let others: Vec<f64> = (1..8).map(|i| 4.0 * (1.0 + 0.123_457 * i as f64)).collect();
        let mut shown = Vec::new();
        shown.extend(
            leaves(&g["distribution"])
                .into_iter()
                .filter_map(Value::as_f64),
        );
        shown.extend(leaves(&g["own"]).into_iter().filter_map(Value::as_f64));
        shown.extend(leaves(&g["peers"]).into_iter().filter_map(Value::as_f64));
        let exact_shown = others
            .iter()
            .filter(|v| shown.iter().any(|s| (s - *v).abs() < 1e-12))
            .count();
        match visibility {
            Visibility::AggregateOnly => {
                assert!(g.get("distribution").is_none() && g.get("peers").is_none());
                assert_eq!(exact_shown, 0);
            }
            Visibility::Pseudonymous => {
                let d: Vec<f64> = g["distribution"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                assert_eq!(d.len(), 8);
                assert!(d.windows(2).all(|w| w[0] <= w[1]));
                assert_eq!(exact_shown, 0, "{}", a.text);
                // The distribution of perturbed values (rule 14), rounded to
                // 3 significant digits (rule 7), computed here from the
                // same multipliers.
                let noise = app.noise().await;
                let mut want: Vec<f64> = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        let v = 4.0
                            * (1.0 + 0.123_457 * i as f64)
                            * multiplier(&noise, "library", id, "loans");
                        format!("{v:.2e}").parse::<f64>().unwrap()
                    })
                    .collect();
                want.sort_by(f64::total_cmp);
                assert_eq!(d, want, "rounded perturbed values");
                assert!(g.get("peers").is_none());
                assert!(!a.text.contains(&ids[1]));
            }
            Visibility::Named => {
                assert_eq!(g["peers"].as_array().unwrap().len(), 8);
                assert_eq!(exact_shown, 7);
            }
        }
    }
}

#[tokio::test]
async fn revoked_tokens_open_nothing() {
    let app = TestApp::spawn().await;
    let (token, record) = Store::create_token(app.dir.path(), Role::Analyst, None, None, vec![])
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/v1/members", Some(&token)).await.status,
        StatusCode::OK
    );
    let path = format!("/api/v1/tokens/{}", record.token_id);
    assert_eq!(
        app.delete(&path, Some(&token)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&path, Some(&app.admin)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/members", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.delete("/api/v1/tokens/nope", Some(&app.admin))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
