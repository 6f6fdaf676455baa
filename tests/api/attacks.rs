//! The attacks of issue 12, each tried as an analyst or member would try it
//! through the real server, combining answers across uploads, versions,
//! dimensions and custom groups. Each once recovered a member's exact value;
//! each now recovers nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_engine::disclosure::{Policy, Visibility};
use vergleichsring_store::Role;

use crate::helpers::{PARQUET, TestApp, library_file};

const FIGURE: &str = "loans_per_capita";

/// loans_per_capita of a row built by `library_bulk` with this scale.
fn value(scale: f64) -> f64 {
    4.0 * scale
}

fn comparison(group_by: &str, as_of: Option<&str>) -> String {
    let mut p = format!("/api/v1/comparisons/library/2024?figure={FIGURE}&group_by={group_by}");
    if let Some(a) = as_of {
        p.push_str(&format!("&as_of={a}"));
    }
    p
}

/// A group of an answer, if listed.
fn group<'a>(answer: &'a Value, id: &str) -> Option<&'a Value> {
    answer["groups"]
        .as_array()?
        .iter()
        .find(|g| g["group"] == id)
}

/// The sum a released group gives away (n · mean), if released.
fn sum(g: Option<&Value>) -> Option<f64> {
    let g = g?;
    let mean = g["stats"]["mean"].as_f64()?;
    Some(g["n"].as_f64()? * mean)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// Members of one kind with ids from a prefix, registered.
async fn register(app: &TestApp, ids: &[String], kind: &str) {
    let members: Vec<(&str, &str, &str)> =
        ids.iter().map(|id| (id.as_str(), "Ort", kind)).collect();
    app.register(&members).await;
}

fn city_ids(land: &str, from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| format!("{land}{i:03}000"))
        .collect()
}

/// Attacks 1 and 2: the same group before and after the target's upload,
/// live, as of publications and as of data versions.
#[tokio::test]
async fn before_and_after_an_upload_reveal_nothing() {
    let app = TestApp::spawn().await;
    // Land 05: eight cities; Land 06: six cities. The target is a seventh
    // city in Land 06 that has no figures yet.
    let nrw = city_ids("05", 1, 8);
    let hessen = city_ids("06", 1, 6);
    let target = "06900000".to_string();
    register(&app, &nrw, "kreisfreie_stadt").await;
    register(&app, &hessen, "kreisfreie_stadt").await;
    register(&app, std::slice::from_ref(&target), "kreisfreie_stadt").await;
    let mut rows: Vec<(&str, f64, f64)> = Vec::new();
    for (i, id) in nrw.iter().chain(&hessen).enumerate() {
        rows.push((id.as_str(), 120_000.0, 1.0 + 0.137 * i as f64));
    }
    app.library_bulk(2024, &rows).await;
    let p1 = app
        .get(
            "/api/v1/publications?domain=library&year=2024",
            Some(&app.analyst),
        )
        .await;
    assert_eq!(p1.status, StatusCode::OK, "{}", p1.text);
    let p1 = p1.body[0]["id"].as_str().unwrap().to_string();

    let analyst = app.analyst.clone();
    let land_before = app.get(&comparison("land", None), Some(&analyst)).await;
    let all_before = app.get(&comparison("all", None), Some(&analyst)).await;
    let version_before = app.data_version("library", 2024).await;

    // The target uploads alone: nothing anyone else reads changes (rule 10).
    let scale = 2.345_678;
    let token = app.token(Role::Member, Some(&target)).await;
    let up = app
        .upload(
            "library",
            2024,
            &token,
            PARQUET,
            library_file(None, 120_000.0, scale),
        )
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.text);
    assert!(up.body.get("publication").is_none(), "{}", up.text);
    let land_after = app.get(&comparison("land", None), Some(&analyst)).await;
    let all_after = app.get(&comparison("all", None), Some(&analyst)).await;
    assert_eq!(land_before.text, land_after.text);
    assert_eq!(all_before.text, all_after.text);
    // Admin cannot be made to publish a single change either.
    let refused = app
        .post_json(
            "/api/v1/publications/library/2024",
            Some(&app.admin),
            &json!({}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["changed_members"], 1);

    // Attack 2: as of the data versions around the upload. Only admin may.
    let version_after = app.data_version("library", 2024).await;
    for v in [&version_before, &version_after] {
        let a = app.get(&comparison("all", Some(v)), Some(&analyst)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    }

    // Four cities of Land 05 correct their figures: five changes, and the
    // ring publishes by itself; the target is the only change in Land 06.
    let fixes: Vec<(&str, f64, f64)> = nrw[..4]
        .iter()
        .map(|id| (id.as_str(), 120_000.0, 3.0))
        .collect();
    app.library_bulk(2024, &fixes).await;
    let list = app
        .get(
            "/api/v1/publications?domain=library&year=2024",
            Some(&analyst),
        )
        .await;
    let p2 = list.body[0]["id"].as_str().unwrap().to_string();
    assert_ne!(p1, p2, "{}", list.text);
    assert_eq!(list.body[0]["changed_members"], 5);
    assert_eq!(list.body[0]["trigger"], "auto");

    // Every difference an analyst can form between the two publications.
    let x = value(scale);
    for dim in ["all", "size_class", "land", "kind"] {
        let a = app.get(&comparison(dim, Some(&p1)), Some(&analyst)).await;
        let b = app.get(&comparison(dim, Some(&p2)), Some(&analyst)).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(b.body["publication"]["id"], p2.as_str());
        for g in b.body["groups"].as_array().unwrap() {
            let id = g["group"].as_str().unwrap();
            if let (Some(after), Some(before)) = (sum(Some(g)), sum(group(&a.body, id))) {
                assert!(
                    !close(after - before, x),
                    "{dim}/{id}: {after} - {before} is the target's value"
                );
            }
            if let Some(after) = sum(Some(g)) {
                assert!(!close(after, x));
            }
        }
    }
    // Land 06 in particular: released before, so withheld now by the audit.
    let land = app
        .get(&comparison("land", Some(&p2)), Some(&analyst))
        .await;
    let hesse = group(&land.body, "06").unwrap();
    assert_eq!(hesse["suppressed"], true, "{}", land.text);
    assert_eq!(hesse["reason"], "audit");
    let p2_meta = &list.body[0];
    assert!(p2_meta["suppressed_by_audit"].as_u64().unwrap() >= 1);

    // The analysts' table reads the same publication and names it.
    let q = json!({"sql": "SELECT DISTINCT publication FROM comparisons WHERE domain = 'library' AND year = 2024"});
    let rows = app.post_json("/api/v1/query", Some(&analyst), &q).await;
    assert_eq!(rows.status, StatusCode::OK, "{}", rows.text);
    assert_eq!(rows.body["rows"], json!([[p2.as_str()]]));
    let q = json!({"sql": "SELECT n, mean FROM comparisons WHERE year = 2024 AND figure = 'loans_per_capita' AND group_by = 'land' AND \"group\" = '06'"});
    let rows = app.post_json("/api/v1/query", Some(&analyst), &q).await;
    assert_eq!(rows.body["rows"][0][1], Value::Null, "{}", rows.text);
    // So do the member's report and time series.
    let report = app
        .get(
            &format!("/api/v1/reports/{target}/2024?format=json"),
            Some(&token),
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(report.body["publications"]["library"]["id"], p2.as_str());
    let ts = app
        .get(
            &format!("/api/v1/timeseries/library/{FIGURE}?group_by=land"),
            Some(&token),
        )
        .await;
    assert_eq!(
        ts.body["points"][0]["publication"]["id"],
        p2.as_str(),
        "{}",
        ts.text
    );
    assert_eq!(ts.body["points"][0]["suppressed"], true);
}

/// Attacks 3 and 4: custom groups p, q and p ∪ q ∪ {x}; a group released
/// while the target had no figures, asked again after it uploaded.
#[tokio::test]
async fn custom_groups_cannot_be_differenced() {
    let app = TestApp::spawn().await;
    let ids = city_ids("05", 1, 16);
    register(&app, &ids, "kreisfreie_stadt").await;
    // The target (the last id) has no figures at first.
    let rows: Vec<(&str, f64, f64)> = ids[..15]
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + 0.071 * i as f64))
        .collect();
    app.library_bulk(2024, &rows).await;
    let analyst = app.analyst.clone();
    let target = ids[15].clone();
    let define =
        |id: &str, members: &[String]| json!({"id": id, "name": id, "member_ids": members});
    let p: Vec<String> = ids[0..5].to_vec();
    let q: Vec<String> = ids[5..10].to_vec();
    let mut pqx: Vec<String> = ids[0..10].to_vec();
    pqx.push(ids[10].clone());
    for (id, m) in [("p", &p), ("q", &q), ("pqx", &pqx)] {
        let a = app
            .post_json("/api/v1/groups", Some(&analyst), &define(id, m))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }
    let a = app.get(&comparison("p", None), Some(&analyst)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = app.get(&comparison("q", None), Some(&analyst)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // Every pair differs by at least five: rule 6 alone would release the
    // third; the audit sees that p + q + x = pqx gives x.
    let a = app.get(&comparison("pqx", None), Some(&analyst)).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.body["error"], "disclosure_refused");
    assert_eq!(a.body["reason"], "differencing");

    // Attack 4: "late" holds the target, released while it had no figures
    // (then it is q and the five others, which the total minus p gives
    // already).
    let mut late: Vec<String> = ids[10..16].to_vec();
    late.extend(q.iter().cloned());
    let a = app
        .post_json("/api/v1/groups", Some(&analyst), &define("late", &late))
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let before = app.get(&comparison("late", None), Some(&analyst)).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    let p1 = before.body["publication"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The target uploads, four others correct theirs: a new publication.
    let mut fixes: Vec<(&str, f64, f64)> = vec![(target.as_str(), 120_000.0, 2.222_222)];
    fixes.extend(ids[3..7].iter().map(|id| (id.as_str(), 120_000.0, 3.0)));
    app.library_bulk(2024, &fixes).await;
    let after = app.get(&comparison("late", None), Some(&analyst)).await;
    assert_eq!(
        after.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        after.text
    );
    assert_eq!(after.body["reason"], "differencing");
    // As of the first publication it stays as it was.
    let again = app
        .get(&comparison("late", Some(&p1)), Some(&analyst))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["groups"], before.body["groups"]);
}

/// Attack 5: nested dimensions. Kind `landkreis` is LK1 ∪ LK2 ∪ LK3; with
/// LK1 = {x} withheld, LK2 and LK3 released, the kind minus both is x.
#[tokio::test]
async fn a_parent_group_minus_its_children_reveals_nothing() {
    let app = TestApp::spawn().await;
    let counties: Vec<String> = (1..=13).map(|i| format!("05{i:03}")).collect();
    register(&app, &counties, "landkreis").await;
    let cities = city_ids("05", 101, 8);
    register(&app, &cities, "kreisfreie_stadt").await;
    let mut rows: Vec<(&str, f64, f64)> = Vec::new();
    // The target: the one county of LK1 (250,000 and more).
    rows.push((counties[0].as_str(), 300_000.0, 1.876_543));
    for (i, id) in counties[1..7].iter().enumerate() {
        rows.push((id.as_str(), 200_000.0, 1.0 + 0.113 * i as f64));
    }
    for (i, id) in counties[7..].iter().enumerate() {
        rows.push((id.as_str(), 100_000.0, 1.2 + 0.097 * i as f64));
    }
    for (i, id) in cities.iter().enumerate() {
        rows.push((id.as_str(), 120_000.0, 0.9 + 0.05 * i as f64));
    }
    app.library_bulk(2024, &rows).await;
    let analyst = app.analyst.clone();
    let x = value(1.876_543);
    let sizes = app
        .get(&comparison("size_class", None), Some(&analyst))
        .await;
    let kinds = app.get(&comparison("kind", None), Some(&analyst)).await;
    let all = app.get(&comparison("all", None), Some(&analyst)).await;
    let lands = app.get(&comparison("land", None), Some(&analyst)).await;
    assert_eq!(group(&sizes.body, "LK1").unwrap()["suppressed"], true);
    let parent = sum(group(&kinds.body, "landkreis"));
    let (lk2, lk3) = (
        sum(group(&sizes.body, "LK2")),
        sum(group(&sizes.body, "LK3")),
    );
    if let (Some(p), Some(a), Some(b)) = (parent, lk2, lk3) {
        assert!(!close(p - a - b, x), "landkreis - LK2 - LK3 = x");
    }
    // Nor from the total: all - cities - LK2 - LK3.
    let cities_sum = sum(group(&kinds.body, "kreisfreie_stadt"));
    if let (Some(t), Some(c), Some(a), Some(b)) =
        (sum(group(&all.body, "all")), cities_sum, lk2, lk3)
    {
        assert!(!close(t - c - a - b, x));
    }
    if let (Some(t), Some(c), Some(a), Some(b)) =
        (sum(group(&lands.body, "05")), cities_sum, lk2, lk3)
    {
        assert!(!close(t - c - a - b, x));
    }
    // At least one of them was withheld for this.
    let withheld: Vec<&str> = [&sizes, &kinds, &all, &lands]
        .iter()
        .flat_map(|a| a.body["groups"].as_array().unwrap().iter())
        .filter(|g| g["reason"] == "audit" || g["reason"] == "complement")
        .filter_map(|g| g["group"].as_str())
        .collect();
    assert!(!withheld.is_empty(), "nothing withheld beyond LK1");
}

/// Attack 6 and the rank oracle: rule 4 counts the peers without the
/// requester; re-uploads move nothing a member sees.
#[tokio::test]
async fn equal_peers_and_re_uploads_reveal_nothing() {
    // Rule 4 on true values: a ring without perturbation (with it, rule 4
    // is dropped for non-admin callers, see `noise.rs`).
    let app = TestApp::spawn_exact().await;
    let ids = city_ids("05", 1, 6);
    register(&app, &ids, "kreisfreie_stadt").await;
    // Five peers with one value, the requester (ids[0]) with another.
    let mut rows: Vec<(&str, f64, f64)> = vec![(ids[0].as_str(), 120_000.0, 2.0)];
    rows.extend(ids[1..].iter().map(|id| (id.as_str(), 120_000.0, 1.0)));
    app.library_bulk(2024, &rows).await;
    let me = app.token(Role::Member, Some(&ids[0])).await;
    let a = app.get(&comparison("all", None), Some(&me)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let g = group(&a.body, "all").unwrap();
    assert_eq!(g["suppressed"], true, "{}", a.text);
    assert_eq!(g["reason"], "all_equal");
    assert!(g["stats"].is_null());
    // A peer sees the same (its peers are not all equal, but the group has
    // only four peers besides itself and the requester's value is known to
    // nobody else): released only if rules 1 and 4 pass for it.
    let peer = app.token(Role::Member, Some(&ids[1])).await;
    let b = app.get(&comparison("all", None), Some(&peer)).await;
    let g = group(&b.body, "all").unwrap();
    if g["suppressed"] == false {
        // Five peers of which four equal and one other: n, mean and its own
        // value do not give any single one.
        assert_eq!(g["n"], 6);
    }

    // The rank oracle: re-uploading its own figures moves nothing it sees.
    let ring = city_ids("05", 101, 8);
    register(&app, &ring, "kreisfreie_stadt").await;
    let rows: Vec<(&str, f64, f64)> = ring
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + 0.25 * i as f64))
        .collect();
    app.library_bulk(2023, &rows).await;
    let me = app.token(Role::Member, Some(&ring[0])).await;
    let path = format!("/api/v1/comparisons/library/2023?figure={FIGURE}&group_by=all");
    let first = app.get(&path, Some(&me)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    for scale in [1.3, 1.6, 1.9, 2.2, 2.5] {
        let up = app
            .upload(
                "library",
                2023,
                &me,
                PARQUET,
                library_file(None, 120_000.0, scale),
            )
            .await;
        assert_eq!(up.status, StatusCode::CREATED, "{}", up.text);
        let now = app.get(&path, Some(&me)).await;
        assert_eq!(
            now.text, first.text,
            "a re-upload moved what the member sees"
        );
        // Its figures show the new value at once.
        let f = app.get("/api/v1/figures/library/2023", Some(&me)).await;
        assert!(close(f.body["key"][FIGURE].as_f64().unwrap(), value(scale)));
    }
    let own = group(&first.body, "all").unwrap();
    assert_eq!(own["own"]["value"], value(1.0));
}

/// Named mode gives names and values to members only; pseudonymous
/// distributions only for built-in groups.
#[tokio::test]
async fn visibility_modes_never_give_analysts_values_or_custom_distributions() {
    for visibility in [Visibility::Named, Visibility::Pseudonymous] {
        let app = TestApp::spawn_with_policy(Policy {
            visibility,
            ..Policy::default()
        })
        .await;
        let ids = city_ids("05", 1, 12);
        register(&app, &ids, "kreisfreie_stadt").await;
        let rows: Vec<(&str, f64, f64)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + 0.1 * i as f64))
            .collect();
        app.library_bulk(2024, &rows).await;
        let g = json!({"id": "west", "name": "West", "member_ids": &ids[0..7]});
        let a = app
            .post_json("/api/v1/groups", Some(&app.analyst), &g)
            .await;
        assert_eq!(a.status, StatusCode::CREATED);
        let consultant = app.consultant("c1", &[ids[0].as_str()]).await;
        let member = app.token(Role::Member, Some(&ids[0])).await;
        let analyst = app.analyst.clone();
        let own = format!("{}&member_id={}", comparison("all", None), ids[0]);
        for (who, path) in [
            (&analyst, comparison("all", None)),
            (&analyst, comparison("west", None)),
            (&consultant, own.clone()),
            (&member, comparison("all", None)),
            (&member, comparison("west", None)),
        ] {
            let a = app.get(&path, Some(who)).await;
            assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.text);
            let g = &a.body["groups"][0];
            let is_member = *who == member;
            match visibility {
                Visibility::Named => {
                    assert_eq!(g.get("peers").is_some(), is_member, "{path}: {}", a.text)
                }
                _ => assert_eq!(
                    g.get("distribution").is_some(),
                    !path.contains("west") && *who != consultant,
                    "{path}: {}",
                    a.text
                ),
            }
        }
    }
}

async fn ask_as_analyst(
    engine: &vergleichsring_engine::Engine,
    group: &str,
) -> Result<vergleichsring_engine::compare::Comparison, vergleichsring_engine::EngineError> {
    let req = vergleichsring_engine::StatsRequest {
        domain: "library",
        figure: FIGURE,
        group_by: group,
        audience: vergleichsring_engine::disclosure::Audience::Analyst,
        member: None,
        of: None,
        as_of: None,
    };
    engine.comparison(&req, 2024).await
}

/// The check and the record are one step also across processes: a second
/// engine over the same data directory that has not seen two custom
/// releases yet audits again when it loses the ledger number, and refuses.
#[tokio::test]
async fn two_processes_cannot_release_a_differencing_triple_between_them() {
    use std::sync::Arc;
    use vergleichsring_engine::compare::Comparison;
    use vergleichsring_engine::{Engine, EngineError, SubmitRequest};
    use vergleichsring_store::{CustomGroup, Member, Store};

    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path()).unwrap();
    let ids = city_ids("05", 1, 16);
    let members: Vec<Member> = ids
        .iter()
        .map(|id| {
            serde_json::from_value(
                json!({"member_id": id, "name": "Ort", "kind": "kreisfreie_stadt"}),
            )
            .unwrap()
        })
        .collect();
    let open = || async {
        let store = Arc::new(Store::open(dir.path()).await.unwrap());
        store.upsert_members(members.clone()).await.unwrap();
        Engine::new(store, Policy::default()).await.unwrap()
    };
    let a = open().await;
    let b = open().await;
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + 0.071 * i as f64))
        .collect();
    let outcome = a
        .submit(SubmitRequest {
            domain: "library".into(),
            year: 2024,
            content_type: PARQUET.into(),
            body: crate::helpers::library_bulk_file(&rows),
            token_id: "admin".into(),
            own_member: None,
        })
        .await
        .unwrap();
    assert!(outcome.publication.is_some());
    // B follows the log and reads the publication: its ledger is at one
    // entry.
    b.follow_log().await.unwrap();
    let seen: Comparison = ask_as_analyst(&b, "all").await.unwrap();
    assert!(seen.publication.is_some());
    let group = |id: &str, m: &[String]| CustomGroup {
        id: id.into(),
        name: id.into(),
        member_ids: m.to_vec(),
    };
    let mut pqx: Vec<String> = ids[0..10].to_vec();
    pqx.push(ids[10].clone());
    a.create_group(group("p", &ids[0..5])).await.unwrap();
    a.create_group(group("q", &ids[5..10])).await.unwrap();
    a.create_group(group("pqx", &pqx)).await.unwrap();
    ask_as_analyst(&a, "p").await.unwrap();
    ask_as_analyst(&a, "q").await.unwrap();
    // B has not followed A's two releases; it must not release the third.
    match ask_as_analyst(&b, "pqx").await {
        Err(EngineError::Refused { reason, .. }) => assert_eq!(reason, "differencing"),
        other => panic!("the second process released p ∪ q ∪ {{x}}: {other:?}"),
    }
}

/// A data directory written before publications existed (or with
/// `auto_publish` off) gets its years published when a server with
/// `auto_publish` starts; until then non-admin callers get `not_published`.
#[tokio::test]
async fn pending_years_are_published_at_start() {
    let mut app = TestApp::spawn_with_policy(Policy {
        auto_publish: false,
        ..Policy::default()
    })
    .await;
    let ids = app.city_ring(8, 10.0).await;
    let member = app.token(Role::Member, Some(&ids[0])).await;
    let path = comparison("size_class", None);
    let a = app.get(&path, Some(&member)).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    assert_eq!(a.body["error"], "not_published");
    app.restart_with_policy(Policy::default()).await;
    let engine = {
        let store = std::sync::Arc::new(
            vergleichsring_store::Store::open(app.dir.path())
                .await
                .unwrap(),
        );
        vergleichsring_engine::Engine::new(store, Policy::default())
            .await
            .unwrap()
    };
    assert_eq!(engine.publish_pending().await.unwrap(), 1);
    assert_eq!(engine.publish_pending().await.unwrap(), 0, "nothing new");
    // The server sees the publication once it follows the ledgers (here:
    // at its first read of the domain's ledger after the restart).
    let a = app.get(&path, Some(&member)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["publication"]["id"], "library-2024-p1");
}

/// Admin's answers keep their form (rule 12): no publication fields or
/// columns; everyone else's name the publication.
#[tokio::test]
async fn admin_answers_keep_their_form_and_others_name_the_publication() {
    let app = TestApp::spawn().await;
    let ids = app.city_ring(8, 10.0).await;
    let member = app.token(Role::Member, Some(&ids[0])).await;
    let path = format!("{}&member_id={}", comparison("size_class", None), ids[0]);
    let json = app.get(&path, Some(&app.admin)).await;
    assert!(json.body.get("publication").is_none(), "{}", json.text);
    let admin = app.get_accept(&path, &app.admin, "text/csv").await;
    let header = admin.text.lines().next().unwrap().to_string();
    assert!(
        header.contains(",own_rank,own_percentile_rank,"),
        "{header}"
    );
    assert!(!header.contains("publication"), "{header}");
    let mine = app
        .get_accept(&comparison("size_class", None), &member, "text/csv")
        .await;
    let header = mine.text.lines().next().unwrap().to_string();
    // The noise flags (rule 17) follow the columns that were there before.
    assert!(
        header.ends_with(
            "publication,published_at,noise_mean,noise_weighted,noise_quantiles,noise_std_dev,noise_position,own_quintile"
        ),
        "{header}"
    );
    assert!(
        mine.text
            .lines()
            .nth(1)
            .unwrap()
            .contains(",library-2024-p1,")
    );
    let report = format!("/api/v1/reports/{}/2024?format=csv", ids[0]);
    let admin = app.get(&report, Some(&app.admin)).await;
    assert!(!admin.text.lines().next().unwrap().contains("publication"));
    let mine = app.get(&report, Some(&member)).await;
    assert!(
        mine.text
            .lines()
            .next()
            .unwrap()
            .contains(",publication,data_version,")
    );
}
