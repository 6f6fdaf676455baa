//! Breaker 30b: attacks on the disclosure protection of structural
//! neighbours after the first round of fixes (stand-in groups, mean-only
//! figures withheld from neighbour groups, generic refusals, the kept
//! answers behind the `ETag`, the built-in dimension `structure_type`), by
//! a helper who saw none of the feature's own tests. Its three findings
//! (a stand-in naming another member in the answer and on the page, the
//! profile's exact largest distance) were fixed; every test passes.
//!
//! The rings are built by hand like those of `breaker30.rs`: kreisfreie
//! Städte in NRW whose structure (area, degree of urbanisation) admin
//! gives, so that the neighbour groups take a known shape.

use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_store::Role;

use crate::helpers::{Col, PARQUET, TestApp, parquet};
use crate::web;

/// One member of a hand-made ring: its id, population, area, degree of
/// urbanisation and, if it reports them, its active users.
struct Town {
    id: String,
    population: f64,
    area: f64,
    degurba: f64,
    active_users: Option<f64>,
}

/// A town `05NNN000`.
fn town(n: usize, population: f64, area: f64, degurba: f64) -> Town {
    Town {
        id: format!("05{n:03}000"),
        population,
        area,
        degurba,
        active_users: Some(population * 0.1),
    }
}

/// Registers the towns with their structure and uploads their library
/// figures for 2024 as admin (one bulk upload: one publication).
async fn load(app: &TestApp, towns: &[Town]) {
    let body: Vec<Value> = towns
        .iter()
        .map(|t| {
            json!({"member_id": t.id, "name": format!("Stadt {}", t.id), "kind": "kreisfreie_stadt",
                "structure": {"area_km2": t.area, "degurba": t.degurba}})
        })
        .collect();
    let a = app
        .post_json("/api/v1/members", Some(&app.admin), &json!(body))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let column = |f: &dyn Fn(&Town) -> Option<f64>| towns.iter().map(f).collect::<Vec<_>>();
    let cols: Vec<Col<'_>> = vec![
        ("population", column(&|t| Some(t.population))),
        ("service_points", column(&|_| Some(2.0))),
        ("opening_hours", column(&|_| Some(4000.0))),
        ("visits", column(&|t| Some(t.population * 1.5))),
        ("stock", column(&|t| Some(t.population * 1.2))),
        ("loans", column(&|t| Some(t.population * 4.0))),
        ("staff_fte", column(&|_| Some(10.0))),
        ("expenditure_total", column(&|t| Some(t.population * 20.0))),
        ("active_users", column(&|t| t.active_users)),
    ];
    let ids: Vec<&str> = towns.iter().map(|t| t.id.as_str()).collect();
    let a = app
        .upload(
            "library",
            2024,
            &app.admin,
            PARQUET,
            parquet(Some(ids), &cols),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
}

/// A line of 40 towns: populations 100,000 × 1.015^i (all in size class
/// GK3), the same area and degree of urbanisation, so that a town's
/// neighbours are the 15 towns nearest in population and two adjacent
/// towns' neighbour groups differ by two (the stand-in case).
fn line() -> Vec<Town> {
    (0..40)
        .map(|i| {
            town(
                i + 1,
                (100_000.0 * 1.015f64.powi(i as i32)).round(),
                100.0,
                2.0,
            )
        })
        .collect()
}

/// The member ids in a text other than `own`.
fn others_named(towns: &[Town], own: &str, text: &str) -> Vec<String> {
    towns
        .iter()
        .filter(|t| t.id != own && text.contains(&t.id))
        .map(|t| t.id.clone())
        .collect()
}

/// The neighbour comparison of town `of` for a key figure, asked by
/// `token`.
async fn neighbour_comparison(
    app: &TestApp,
    figure: &str,
    of: &str,
    token: &str,
) -> crate::helpers::Answer {
    let path =
        format!("/api/v1/comparisons/library/2024?figure={figure}&group_by=neighbours&of={of}");
    app.get(&path, Some(token)).await
}

/// Member 05020000's neighbour group is released first (it asks its own
/// comparison). Its neighbour 05021000's own group differs from it by two
/// members, so 05020000's group stands in for 05021000's. Both are
/// members of a ring in `aggregate_only` mode.
async fn stand_in_ring(app: &TestApp) -> Vec<Town> {
    let towns = line();
    load(app, &towns).await;
    let first = app.token(Role::Member, Some("05020000")).await;
    let a = neighbour_comparison(app, "loans_per_capita", "05020000", &first).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    towns
}

/// A member in `aggregate_only` mode must learn no other member's id from
/// its neighbours answer: the first round fixed the refusal that named
/// the colliding neighbour group (`neighbours:05020000@...`) for exactly
/// this reason. The stand-in that replaced the refusal puts the same id in
/// `shared_with`: 05021000 learns that 05020000 is in its comparison
/// group, that 05020000 has figures for the year and that 05020000 (or
/// an analyst) asked for its neighbour comparison.
///
/// Fix: give `shared_with` to admin and analysts only (and to members in
/// `named` mode); for members and consultants say only that a released
/// group stands in, or name a built-in group (`size_class:GK3`), never a
/// member.
#[tokio::test]
async fn breaker30b_stand_in_names_no_other_member_in_the_api() {
    let app = TestApp::spawn().await;
    let towns = stand_in_ring(&app).await;
    let me = "05021000";
    let member = app.token(Role::Member, Some(me)).await;
    let consultant = app.consultant("c30b", &[me]).await;
    for (path, token) in [
        ("/api/v1/neighbours/library/2024".to_string(), &member),
        (
            format!("/api/v1/neighbours/library/2024?of={me}"),
            &consultant,
        ),
    ] {
        let a = app.get(&path, Some(token)).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.text);
        assert!(a.body["neighbours"].is_null(), "{path}: {}", a.text);
        let named = others_named(&towns, me, &a.text);
        assert!(
            named.is_empty(),
            "{path} names {named:?} (shared_with {}): {}",
            a.body["shared_with"],
            a.text
        );
    }
}

/// The same on the web page "Strukturnachbarn": its notice prints the
/// member whose group stands in. Fix as for the API.
#[tokio::test]
async fn breaker30b_stand_in_names_no_other_member_on_the_web_page() {
    let app = TestApp::spawn().await;
    let towns = stand_in_ring(&app).await;
    let me = "05021000";
    let mut page_user = web::signed_in_user(
        &app,
        json!({"email": "nina@stadt21.example", "name": "Nina Nachbar", "role": "member", "member_id": me}),
    )
    .await;
    let page = page_user.get("/web/nachbarn/library/2024").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let named = others_named(&towns, me, &page.text);
    assert!(named.is_empty(), "the page names {named:?}: {}", page.text);
}

/// The profile's ranges are rounded to two significant digits because an
/// exact end names a neighbour by its public figure (first round). The
/// profile's `max_distance` is exact: the distance from the member to its
/// farthest neighbour, over standardised public figures (population,
/// area, degree of urbanisation). The attacker computes every member's
/// distance from public structure (the analyst's named answer stands in
/// for that computation here) and the one that equals `max_distance`
/// names the farthest neighbour, just as an exact population end did;
/// `mean_share` is exact too and narrows the rest.
///
/// Fix: round `max_distance` (and `mean_share`) coarsely for members and
/// consultants, or leave them out of the profile.
#[tokio::test]
async fn breaker30b_profile_max_distance_names_no_neighbour() {
    let app = TestApp::spawn().await;
    let towns = line();
    load(&app, &towns).await;
    let me = "05020000";
    let member = app.token(Role::Member, Some(me)).await;
    let mine = app
        .get("/api/v1/neighbours/library/2024", Some(&member))
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    assert!(mine.body["neighbours"].is_null(), "{}", mine.text);
    // Left out where names are not shown, and the mean shares only in
    // tenths: neither is a single neighbour's exact figure.
    assert!(
        mine.body["profile"]["max_distance"].is_null(),
        "{}",
        mine.text
    );
    for v in mine.body["profile"]["variables"].as_array().unwrap() {
        let share = v["mean_share"].as_f64().unwrap() * 10.0;
        assert!((share - share.round()).abs() < 1e-9, "{v}");
    }
    // The analyst, who sees names, gets the exact figure.
    let all = app
        .get(
            &format!("/api/v1/neighbours/library/2024?of={me}"),
            Some(&app.analyst),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert!(all.body["profile"]["max_distance"].as_f64().is_some());
}

/// 17 small dense towns (size class GK3, one tight structural cluster)
/// and 6 large thin ones far away (GK4). All report active users but
/// three of the GK4 towns, so that for `active_user_share` GK4 has three
/// values (withheld) and GK3 is withheld with it (rule 5: `all` minus
/// GK3 would give GK4), while for `loans_per_capita` both are released.
/// Town 05001000's own neighbours are 16 of the 17 GK3 towns: one member
/// from `size_class:GK3`, which therefore stands in for them.
fn gk3_cluster() -> Vec<Town> {
    let mut towns: Vec<Town> = (0..17)
        .map(|i| {
            town(
                i + 1,
                110_000.0 + 1000.0 * i as f64,
                50.0 + 0.1 * i as f64,
                1.0,
            )
        })
        .collect();
    for j in 0..6 {
        let mut t = town(18 + j, 60_000.0 + 1000.0 * j as f64, 800.0, 3.0);
        if j >= 3 {
            t.active_users = None;
        }
        towns.push(t);
    }
    towns
}

/// A stand-in may be a built-in group that the publication released for
/// some key figures only. Released for `active_user_share` under the
/// neighbour group's name, GK3's total would give GK4's (all minus GK3):
/// three members, two of whom together learn the third. The neighbour
/// comparison of that figure must be refused or withheld.
///
/// Held: the audit refuses the stand-in for every key figure. Not a
/// disclosure, but two things seen on the way: the stand-in offered
/// (`shared_with: size_class:GK3`) is never checked against the door, so
/// the member is left with no neighbour comparison at all, and the
/// generic refusal says "rule 6" although the audit of rule 11 refused.
#[tokio::test]
async fn breaker30b_built_in_stand_in_does_not_release_a_group_withheld_for_the_figure() {
    let app = TestApp::spawn().await;
    let towns = gk3_cluster();
    load(&app, &towns).await;
    let size_class = |figure: &str| {
        format!("/api/v1/comparisons/library/2024?figure={figure}&group_by=size_class")
    };
    let gk3 = |a: &crate::helpers::Answer| {
        a.body["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["group"] == "GK3")
            .cloned()
            .unwrap_or_else(|| panic!("no GK3 in {}", a.text))
    };
    // The set-up: GK3 released for loans, withheld for active users.
    let loans = app
        .get(&size_class("loans_per_capita"), Some(&app.analyst))
        .await;
    assert_eq!(loans.status, StatusCode::OK, "{}", loans.text);
    assert_eq!(gk3(&loans)["suppressed"], false, "{}", loans.text);
    let users = app
        .get(&size_class("active_user_share"), Some(&app.analyst))
        .await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.text);
    assert_eq!(gk3(&users)["suppressed"], true, "{}", users.text);

    let me = "05001000";
    let member = app.token(Role::Member, Some(me)).await;
    let n = app
        .get("/api/v1/neighbours/library/2024", Some(&member))
        .await;
    assert_eq!(n.status, StatusCode::OK, "{}", n.text);
    eprintln!("shared_with: {}", n.body["shared_with"]);
    for figure in ["loans_per_capita", "active_user_share"] {
        let a = neighbour_comparison(&app, figure, me, &member).await;
        eprintln!("{figure}: {} {}", a.status, a.text);
        if figure == "active_user_share" && a.status == StatusCode::OK {
            assert!(
                a.body["groups"][0]["stats"].is_null(),
                "GK3's withheld total of active_user_share released as the neighbour group: {}",
                a.text
            );
        }
    }
    // An analyst asking the same neighbour group gets no more.
    let a = neighbour_comparison(&app, "active_user_share", me, &app.analyst).await;
    if a.status == StatusCode::OK {
        assert!(a.body["groups"][0]["stats"].is_null(), "{}", a.text);
    }
}

/// Key figures released as means only stay withheld from neighbour
/// groups in every answer that can carry one: the time series (each
/// year), the comparison in every answer format, and the analysts' SQL
/// table (which holds only disclosed custom groups).
#[tokio::test]
async fn breaker30b_mean_only_figure_is_withheld_from_neighbour_groups_everywhere() {
    let app = TestApp::spawn().await;
    let _towns = stand_in_ring(&app).await;
    let me = "05021000";
    let member = app.token(Role::Member, Some(me)).await;
    let consultant = app.consultant("c30b", &[me]).await;
    let ts = app
        .get(
            "/api/v1/timeseries/library/fte_per_10000?group_by=neighbours",
            Some(&member),
        )
        .await;
    assert_eq!(ts.status, StatusCode::OK, "{}", ts.text);
    for p in ts.body["points"].as_array().unwrap() {
        assert!(p["stats"].is_null(), "a point of {}", ts.text);
    }
    for token in [&member, &app.analyst] {
        let a = neighbour_comparison(&app, "fte_per_10000", me, token).await;
        if a.status == StatusCode::OK {
            assert!(a.body["groups"][0]["stats"].is_null(), "{}", a.text);
        }
    }
    let path = format!(
        "/api/v1/comparisons/library/2024?figure=fte_per_10000&group_by=neighbours&member_id={me}&of={me}"
    );
    for accept in ["text/csv", "application/json"] {
        let a = app.get_accept(&path, &consultant, accept).await;
        assert!(!a.status.is_server_error(), "{}", a.text);
        if a.status == StatusCode::OK && accept == "application/json" {
            assert!(a.body["groups"][0]["stats"].is_null(), "{}", a.text);
        }
        if a.status == StatusCode::OK && accept == "text/csv" {
            // The header line and one row whose statistics are empty.
            let mut lines = a.text.lines();
            let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
            let mean = header.iter().position(|h| *h == "mean");
            for row in lines {
                let cells: Vec<&str> = row.split(',').collect();
                if let Some(i) = mean {
                    assert!(cells.get(i).is_none_or(|c| c.is_empty()), "{}", a.text);
                }
            }
        }
    }
    let sql = "SELECT count(*) AS leaks FROM comparisons WHERE figure = 'fte_per_10000' \
        AND mean IS NOT NULL AND (group_by LIKE '%neighbours%' OR \"group\" LIKE '%neighbours%')";
    let a = app
        .post_json("/api/v1/query", Some(&app.analyst), &json!({"sql": sql}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["rows"][0][0], 0, "{}", a.text);
}

/// A GET with a token and optional `If-None-Match`: status, `ETag`, body.
async fn conditional_get(
    app: &TestApp,
    path: &str,
    token: &str,
    tag: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let mut req = app.client.get(app.url(path)).bearer_auth(token);
    if let Some(t) = tag {
        req = req.header("If-None-Match", t);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let etag = r
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, etag, r.text().await.unwrap_or_default())
}

/// The kept answers behind a neighbour comparison's `ETag` go to the
/// requester they were computed for only: another member, an analyst
/// asking the same `of`, and the same member after a new publication get
/// their own answer, never a 304 on someone else's tag.
#[tokio::test]
async fn breaker30b_kept_neighbour_answers_are_never_served_across_requesters_or_states() {
    let app = TestApp::spawn().await;
    let towns = line();
    load(&app, &towns).await;
    let a_id = "05020000";
    let b_id = "05021000";
    let a = app.token(Role::Member, Some(a_id)).await;
    let b = app.token(Role::Member, Some(b_id)).await;
    let path = "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=neighbours";
    // The first answer releases A's group into the ledger, which moves
    // the state its tag was taken at; the second answer's tag is stable.
    let (status, _, text) = conditional_get(&app, path, &a, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, tag, text) = conditional_get(&app, path, &a, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let tag = tag.expect("a neighbour comparison carries an ETag");
    // Asked again, the tag is current for A itself.
    let (again, _, _) = conditional_get(&app, path, &a, Some(&tag)).await;
    assert_eq!(again, StatusCode::NOT_MODIFIED);
    // B (another member), the analyst with of=A, and a consultant for A
    // get no 304 on A's tag.
    let (status, _, text) = conditional_get(&app, path, &b, Some(&tag)).await;
    assert_ne!(status, StatusCode::NOT_MODIFIED, "{text}");
    assert!(
        !text.contains(&format!("\"member_id\":\"{a_id}\"")),
        "{text}"
    );
    let consultant = app.consultant("c30b", &[a_id]).await;
    for (p, token) in [
        (format!("{path}&of={a_id}"), &app.analyst),
        (format!("{path}&member_id={a_id}&of={a_id}"), &consultant),
    ] {
        let (status, _, text) = conditional_get(&app, &p, token, Some(&tag)).await;
        assert_ne!(status, StatusCode::NOT_MODIFIED, "{p}: {text}");
        // The analyst's and consultant's answers hold no own value of A.
        if token == &app.analyst {
            assert!(!text.contains("\"own\":{"), "{p}: {text}");
        }
    }
    // A new publication (six new towns far away): A's old tag is stale.
    let new: Vec<Town> = (0..6)
        .map(|i| town(41 + i, 199_000.0 - i as f64, 900.0, 3.0))
        .collect();
    load(&app, &new).await;
    let (status, new_tag, text) = conditional_get(&app, path, &a, Some(&tag)).await;
    assert_ne!(status, StatusCode::NOT_MODIFIED, "{text}");
    assert_ne!(new_tag.as_deref(), Some(tag.as_str()), "{text}");
}

/// Hostile `von` values, years and domains on the web page
/// "Strukturnachbarn" for a signed-in analyst and member: never a 5xx,
/// never a panic or an internal path; a member never sees another
/// member's page.
#[tokio::test]
async fn breaker30b_hostile_inputs_on_the_neighbours_page() {
    let app = TestApp::spawn().await;
    let towns = line();
    load(&app, &towns).await;
    let mut analyst = web::signed_in_user(
        &app,
        json!({"email": "ana@ring.example", "name": "Ana Lyse", "role": "analyst"}),
    )
    .await;
    let mut member = web::signed_in_user(
        &app,
        json!({"email": "mia@stadt1.example", "name": "Mia Mitglied", "role": "member", "member_id": "05001000"}),
    )
    .await;
    let long = "7".repeat(5000);
    let vons = [
        "",
        "0",
        "05",
        "05002000",
        "05999000",
        "%00",
        "05001000%00",
        "<script>alert(1)</script>",
        "%3Cscript%3E",
        "..%2F..%2Fetc%2Fpasswd",
        "%F0%9F%92%A9",
        "05001000&von=05002000",
        long.as_str(),
    ];
    let mut paths: Vec<String> = vons
        .iter()
        .map(|v| format!("/web/nachbarn/library/2024?von={v}"))
        .collect();
    for year in ["0", "-1", "99999", "2024.5", "abc", "2147483648", "2023"] {
        paths.push(format!("/web/nachbarn/library/{year}?von=05001000"));
    }
    paths.push("/web/nachbarn/nope/2024?von=05001000".into());
    paths.push("/web/nachbarn/%2e%2e/2024?von=05001000".into());
    paths.push("/web/nachbarn/library/2024".into());
    paths.push("/web/nachbarn/library/2024?von=05001000&von=05002000".into());
    let dir = app.dir.path().to_string_lossy().to_string();
    for path in &paths {
        for client in [&mut analyst, &mut member] {
            let page = client.get(path).await;
            assert!(
                !page.status.is_server_error(),
                "{path}: {} {}",
                page.status,
                page.text
            );
            for bad in ["panicked", dir.as_str(), ".rs:", "<script>alert"] {
                assert!(
                    !page.text.contains(bad),
                    "{path} leaks {bad}: {}",
                    page.text
                );
            }
        }
    }
    // The member's own page works; another member's is refused.
    let own = member.get("/web/nachbarn/library/2024").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    let other = member.get("/web/nachbarn/library/2024?von=05002000").await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text);
}
