//! The ring's year in the browser, over plain HTTP: the coordinator opens
//! a collection, a member enters figures in the form (a draft, errors in
//! place, German numbers), the coordinator reviews and approves, exports
//! the collection; the XLSX template uploads back unchanged; who reaches
//! which page.

use reqwest::StatusCode;
use vergleichsring_store::Role;

use crate::helpers::{TestApp, library_row};
use crate::web::{WebClient, hidden, signed_in_admin, signed_in_user};

const A: &str = "05315000";

/// The form's fields for a library row, each value written the German
/// way (`480.000`, `24`), with some replaced as typed.
fn entry_fields(replace: &[(&str, &str)]) -> Vec<(String, String)> {
    library_row(120_000.0, 1.0)
        .into_iter()
        .map(|(k, v)| {
            let typed = replace.iter().find(|(r, _)| *r == k).map_or_else(
                || vergleichsring_catalog::numbers::de_exact(v),
                |(_, t)| t.to_string(),
            );
            (format!("f_{k}"), typed)
        })
        .collect()
}

async fn post_entry(
    web: &mut WebClient<'_>,
    csrf: &str,
    action: &str,
    fields: &[(String, String)],
) -> crate::web::Page {
    let mut form: Vec<(&str, &str)> = vec![
        ("csrf", csrf),
        ("bereich", "library"),
        ("jahr", "2024"),
        ("aktion", action),
    ];
    form.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    web.post_form("/web/erfassung", &form).await
}

async fn status_of(app: &TestApp, member: &str) -> String {
    let got = app
        .get("/api/v1/collections/library/2024", Some(&app.admin))
        .await;
    got.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member_id"] == member)
        .map(|m| m["status"].as_str().unwrap().to_string())
        .unwrap()
}

#[tokio::test]
async fn the_coordinator_and_a_member_run_a_year_in_the_browser() {
    let app = TestApp::spawn().await;
    app.register(&[(A, "Stadt Köln", "kreisfreie_stadt")]).await;
    let mut admin = signed_in_admin(&app).await;

    // The coordinator opens the 2024 collection with a deadline.
    let chooser = admin.get("/web/sammlung").await;
    assert_eq!(chooser.status, StatusCode::OK, "{}", chooser.text);
    let csrf = hidden(&chooser.text, "csrf");
    let opened = admin
        .post_form(
            "/web/sammlung/frist",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("frist", "2025-03-31"),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.text);
    let page = admin.get(opened.location.as_deref().unwrap()).await;
    assert!(page.text.contains("31.03.2025"), "{}", page.text);
    assert!(page.text.contains("nicht begonnen: 1"), "{}", page.text);

    // The member signs in with its token, sees the deadline and the form.
    let token = app.token(Role::Member, Some(A)).await;
    let mut member = WebClient::new(&app);
    member.sign_in(&token).await;
    let home = member.get("/web").await;
    assert!(home.text.contains("Frist bis"), "{}", home.text);
    let form = member.get("/web/erfassung?bereich=library&jahr=2024").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    assert!(form.text.contains(r#"name="f_loans""#));
    let csrf = hidden(&form.text, "csrf");

    // A draft with half the figures: the member counts as started.
    let half: Vec<_> = entry_fields(&[]).into_iter().take(4).collect();
    let draft = post_entry(&mut member, &csrf, "entwurf", &half).await;
    assert_eq!(draft.status, StatusCode::SEE_OTHER, "{}", draft.text);
    assert_eq!(status_of(&app, A).await, "started");
    let again = member.get(draft.location.as_deref().unwrap()).await;
    assert!(again.text.contains("Entwurf"), "{}", again.text);
    assert!(
        again.text.contains(r#"value="120.000""#),
        "the draft's value the German way: {}",
        again.text
    );

    // A value that is not a number, and one the rules refuse: the form
    // again, each error beside its field, nothing stored.
    let bad = post_entry(
        &mut member,
        &csrf,
        "einreichen",
        &entry_fields(&[("loans", "viele"), ("visits", "-5")]),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.text.contains(r#"id="f_loans-fehler""#), "{}", bad.text);
    assert!(bad.text.contains("keine Zahl"), "{}", bad.text);
    assert!(
        bad.text.contains(r#"value="viele""#),
        "typed values stay: {}",
        bad.text
    );
    assert_eq!(status_of(&app, A).await, "started");
    let negative = post_entry(
        &mut member,
        &csrf,
        "einreichen",
        &entry_fields(&[("visits", "-5")]),
    )
    .await;
    assert_eq!(
        negative.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        negative.text
    );
    assert!(
        negative.text.contains(r#"id="f_visits-fehler""#),
        "{}",
        negative.text
    );

    // Submitted with German numbers: stored exactly as typed.
    let ok = post_entry(
        &mut member,
        &csrf,
        "einreichen",
        &entry_fields(&[("staff_fte", "24,5")]),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    let figures = app.get("/api/v1/figures/library/2024", Some(&token)).await;
    for (k, v) in library_row(120_000.0, 1.0) {
        let expected = if k == "staff_fte" { 24.5 } else { v };
        assert_eq!(figures.body["basic"][k], serde_json::json!(expected), "{k}");
    }
    assert_eq!(status_of(&app, A).await, "submitted");

    // The coordinator sees it, exports, approves on the member's page.
    let list = admin
        .get("/web/sammlung?bereich=library&jahr=2024&status=submitted")
        .await;
    assert!(list.text.contains("Stadt Köln"), "{}", list.text);
    let csv = admin
        .get("/web/sammlung/export?bereich=library&jahr=2024&format=csv")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.text
            .contains(&format!("{A},Stadt Köln,submitted,eingereicht")),
        "{}",
        csv.text
    );
    let review = admin
        .get(&format!(
            "/web/sammlung/mitglied?bereich=library&jahr=2024&mitglied={A}"
        ))
        .await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.text);
    let csrf = hidden(&review.text, "csrf");
    let shown = hidden(&review.text, "einreichung");
    assert_eq!(serde_json::json!(shown), figures.body["submission_id"]);
    let approved = admin
        .post_form(
            "/web/sammlung/freigabe",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("mitglied", A),
                ("einreichung", &shown),
            ],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.text);
    assert_eq!(status_of(&app, A).await, "approved");
    let after = admin.get(approved.location.as_deref().unwrap()).await;
    assert!(after.text.contains("Freigegeben am"), "{}", after.text);
}

#[tokio::test]
async fn the_template_uploads_back_unchanged() {
    let app = TestApp::spawn().await;
    app.register(&[(A, "Stadt Köln", "kreisfreie_stadt")]).await;
    let token = app.token(Role::Member, Some(A)).await;
    let stored = app
        .upload(
            "library",
            2024,
            &token,
            crate::helpers::PARQUET,
            crate::helpers::library_file(None, 120_000.0, 1.0),
        )
        .await;
    assert_eq!(stored.status, StatusCode::CREATED);
    let before = app.get("/api/v1/figures/library/2024", Some(&token)).await;
    let mut member = WebClient::new(&app);
    member.sign_in(&token).await;
    let template = member
        .get_bytes("/web/erfassung/vorlage?bereich=library&jahr=2024")
        .await;
    assert_eq!(&template[..2], b"PK");
    let again = app
        .upload(
            "library",
            2024,
            &token,
            vergleichsring_ingest::XLSX_TYPE,
            template.into(),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(
        again.body["warnings"], before.body["warnings"],
        "{}",
        again.text
    );
    let after = app.get("/api/v1/figures/library/2024", Some(&token)).await;
    assert_eq!(after.body["basic"], before.body["basic"]);
    assert_ne!(after.body["submission_id"], before.body["submission_id"]);
}

#[tokio::test]
async fn the_workspaces_keep_to_their_roles() {
    let app = TestApp::spawn().await;
    app.register(&[(A, "Stadt Köln", "kreisfreie_stadt")]).await;
    let token = app.token(Role::Member, Some(A)).await;
    let mut member = WebClient::new(&app);
    member.sign_in(&token).await;
    for page in [
        "/web/sammlung",
        "/web/sammlung?bereich=library&jahr=2024",
        "/web/sammlung/export?bereich=library&jahr=2024&format=csv",
        "/web/sammlung/mitglied?bereich=library&jahr=2024&mitglied=05315000",
        "/web/pruefung?bereich=library&jahr=2024",
    ] {
        let got = member.get(page).await;
        assert_eq!(got.status, StatusCode::FORBIDDEN, "{page}: {}", got.text);
        assert!(!got.text.contains("Stadt Köln,"), "{page}");
    }
    let mut admin = signed_in_admin(&app).await;
    let entry = admin.get("/web/erfassung?bereich=library&jahr=2024").await;
    assert_eq!(entry.status, StatusCode::FORBIDDEN, "{}", entry.text);
    for (page, status) in [
        ("/web/sammlung?bereich=zoo&jahr=2024", StatusCode::NOT_FOUND),
        (
            "/web/sammlung?bereich=library&jahr=2024&status=fertig",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/web/sammlung/export?bereich=library&jahr=2024&format=pdf",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/web/sammlung/mitglied?bereich=library&jahr=2024&mitglied=09999999",
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(admin.get(page).await.status, status, "{page}");
    }
}

#[tokio::test]
async fn the_coordinator_registers_members_from_the_official_register() {
    let app = TestApp::spawn().await;
    let mut admin = signed_in_admin(&app).await;
    let page = admin.get("/web/mitglieder?ags=05315000").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(r#"value="Stadt Köln""#), "{}", page.text);
    assert!(
        page.text.contains(r#"value="kreisfreie_stadt" selected"#),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("Statistisches Bundesamt (Destatis)"),
        "the attribution"
    );
    let csrf = hidden(&page.text, "csrf");
    let saved = admin
        .post_form(
            "/web/mitglieder",
            &[
                ("csrf", &csrf),
                ("member_id", "05315000"),
                ("name", "Stadt Köln"),
                ("kind", "kreisfreie_stadt"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    assert_eq!(
        saved.location.as_deref(),
        Some("/web/benutzer?mitglied=05315000")
    );
    let list = app.get("/api/v1/members", Some(&app.admin)).await;
    assert_eq!(list.body[0]["member_id"], "05315000");
    assert_eq!(list.body[0]["kind"], "kreisfreie_stadt");
    // A key the register does not hold: an empty form; a kind that does
    // not fit the key: refused with the reason, nothing stored.
    let unknown = admin.get("/web/mitglieder?ags=05999000").await;
    assert!(
        unknown.text.contains("nicht im Gemeindeverzeichnis"),
        "{}",
        unknown.text
    );
    let wrong = admin
        .post_form(
            "/web/mitglieder",
            &[
                ("csrf", &csrf),
                ("member_id", "05999000"),
                ("name", "Neustadt"),
                ("kind", "landkreis"),
            ],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.text
    );
    let list = app.get("/api/v1/members", Some(&app.admin)).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_consultant_opens_the_reports_of_members_that_granted_access() {
    let app = TestApp::spawn().await;
    let ids = app.city_ring(6, 10.0).await;
    app.consultant("kanzlei", &[&ids[0]]).await;
    let mut web = signed_in_user(
        &app,
        serde_json::json!({"email": "bea@kanzlei.example", "name": "Bea Beratung", "role": "consultant", "consultant_id": "kanzlei"}),
    )
    .await;
    let page = web.get("/web/beratung").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text
            .contains(&format!("/web/beratung/bericht/{}/2024", ids[0])),
        "{}",
        page.text
    );
    assert!(
        !page.text.contains(&ids[1]),
        "a member without a grant: {}",
        page.text
    );
    let report = web
        .get(&format!("/web/beratung/bericht/{}/2024", ids[0]))
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert!(report.text.contains("<html"), "{}", report.text);
    let xlsx = web
        .get_bytes(&format!(
            "/web/beratung/bericht/{}/2024?format=xlsx",
            ids[0]
        ))
        .await;
    assert_eq!(&xlsx[..2], b"PK");
    let other = web
        .get(&format!("/web/beratung/bericht/{}/2024", ids[1]))
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text);
    // The access log names the consultant's reads.
    let log = app.get("/api/v1/access-log", Some(&app.admin)).await;
    assert!(log.text.contains(&ids[0]), "{}", log.text);
    // A member's session does not reach the workspace.
    let token = app.token(Role::Member, Some(&ids[1])).await;
    let mut member = WebClient::new(&app);
    member.sign_in(&token).await;
    assert_eq!(
        member.get("/web/beratung").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn publishing_and_freezing_ask_for_confirmation_first() {
    // Without automatic publication, so that the coordinator publishes.
    let app = TestApp::spawn_with_policy(vergleichsring_engine::disclosure::Policy {
        auto_publish: false,
        ..Default::default()
    })
    .await;
    // Six cities of one Land and two of another: the second Land's group
    // is too small and withheld.
    let ids: Vec<String> = (1..=6)
        .map(|i| format!("05{i:03}000"))
        .chain((1..=2).map(|i| format!("09{i:03}000")))
        .collect();
    let members: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|id| (id.as_str(), "Stadt", "kreisfreie_stadt"))
        .collect();
    app.register(&members).await;
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + i as f64 / 10.0))
        .collect();
    app.library_bulk(2024, &rows).await;
    let count = || async {
        app.get(
            "/api/v1/publications?domain=library&year=2024",
            Some(&app.admin),
        )
        .await
        .body
        .as_array()
        .map_or(0, Vec::len)
    };
    assert_eq!(count().await, 0);
    let mut admin = signed_in_admin(&app).await;
    let page = admin
        .get("/web/veroeffentlichen?bereich=library&jahr=2024")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csrf = hidden(&page.text, "csrf");
    let mut post = async |action: &str, confirmed: &str| {
        admin
            .post_form(
                "/web/veroeffentlichen",
                &[
                    ("csrf", csrf.as_str()),
                    ("bereich", "library"),
                    ("jahr", "2024"),
                    ("aktion", action),
                    ("bestaetigt", confirmed),
                ],
            )
            .await
    };
    // Unconfirmed: the question, and nothing published.
    let asked = post("veroeffentlichen", "").await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    assert!(asked.text.contains("Bitte bestätigen"), "{}", asked.text);
    assert_eq!(count().await, 0);
    // The question says what the publication would do: eight members new,
    // and the groups withheld with their reasons.
    assert!(
        asked
            .text
            .contains("8 Mitglieder haben seit der letzten Veröffentlichung"),
        "{}",
        asked.text
    );
    assert!(
        asked.text.contains("Zurückgehaltene Gruppen"),
        "{}",
        asked.text
    );
    assert!(
        asked.text.contains("<td>land</td><td>09</td>"),
        "{}",
        asked.text
    );
    assert!(
        asked.text.contains("zu wenige Mitglieder"),
        "{}",
        asked.text
    );
    let previewed_audit = asked
        .text
        .split(" allein wegen der Prüfung")
        .next()
        .and_then(|t| t.rsplit(" ").next())
        .and_then(|n| n.parse::<u64>().ok())
        .expect("the audit's count in the preview");
    // Confirmed: published, as the preview said.
    let done = post("veroeffentlichen", "ja").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert_eq!(count().await, 1);
    let published = app
        .get(
            "/api/v1/publications?domain=library&year=2024",
            Some(&app.admin),
        )
        .await;
    assert_eq!(
        published.body[0]["changed_members"], 8,
        "{}",
        published.text
    );
    assert_eq!(
        published.body[0]["suppressed_by_audit"], previewed_audit,
        "{}",
        published.text
    );
    // Asked again with nothing new: the question says so and offers no
    // button to confirm.
    let again = post("veroeffentlichen", "").await;
    assert!(again.text.contains("nichts geändert"), "{}", again.text);
    assert!(
        !again.text.contains("Ja, veröffentlichen"),
        "{}",
        again.text
    );
    // Again: nothing changed since, said in German.
    let nothing = post("veroeffentlichen", "ja").await;
    assert_eq!(nothing.status, StatusCode::CONFLICT, "{}", nothing.text);
    assert!(nothing.text.contains("nichts geändert"), "{}", nothing.text);
    assert_eq!(count().await, 1);
    // Frozen after its confirmation.
    assert_eq!(post("einfrieren", "").await.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/releases", Some(&app.admin))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let frozen = post("einfrieren", "ja").await;
    assert_eq!(frozen.status, StatusCode::SEE_OTHER, "{}", frozen.text);
    let releases = app.get("/api/v1/releases", Some(&app.admin)).await;
    assert_eq!(
        releases.body.as_array().unwrap().len(),
        1,
        "{}",
        releases.text
    );
}

#[tokio::test]
async fn an_analyst_explores_and_queries_through_the_disclosure_door() {
    let app = TestApp::spawn().await;
    let ids = app.city_ring(12, 10.0).await;
    let mut web = signed_in_user(
        &app,
        serde_json::json!({"email": "ana@ring.example", "name": "Ana Lyse", "role": "analyst"}),
    )
    .await;
    let page = web
        .get("/web/analyse?bereich=library&jahr=2024&kennzahl=loans_per_capita&gruppierung=all")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("<svg"), "the chart: {}", page.text);
    // The page shows what the API gives an analyst, the German way.
    let api = app
        .get(
            "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=all",
            Some(&app.analyst),
        )
        .await;
    let median = api.body["groups"][0]["stats"]["median"].as_f64().unwrap();
    let shown = vergleichsring_catalog::numbers::de(median);
    assert!(page.text.contains(&shown), "median {shown}: {}", page.text);
    for id in &ids {
        assert!(
            !page.text.contains(id.as_str()),
            "no member id on the explorer"
        );
    }

    let console = web.get("/web/analyse/sql").await;
    let csrf = hidden(&console.text, "csrf");
    let sql = "SELECT figure, n, median FROM comparisons WHERE group_by = 'all' AND year = 2024 AND NOT suppressed";
    let table = web
        .post_form(
            "/web/analyse/sql",
            &[("csrf", &csrf), ("sql", sql), ("format", "html")],
        )
        .await;
    assert_eq!(table.status, StatusCode::OK, "{}", table.text);
    assert!(table.text.contains("loans_per_capita"), "{}", table.text);
    for (format, magic) in [("xlsx", &b"PK"[..]), ("parquet", &b"PAR1"[..])] {
        let req = [("csrf", csrf.as_str()), ("sql", sql), ("format", format)];
        let bytes = web.post_form_bytes("/web/analyse/sql", &req).await;
        assert_eq!(&bytes[..magic.len()], magic, "{format}");
    }
    let refused = web
        .post_form(
            "/web/analyse/sql",
            &[
                ("csrf", &csrf),
                ("sql", "SELECT * FROM read_parquet('/etc/passwd')"),
                ("format", "html"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(refused.text.contains("Abgewiesen"), "{}", refused.text);

    // A custom group: the audit's answer first (nothing saved), then saved
    // and shown in the explorer.
    let builder = web.get("/web/analyse/gruppe?land=05").await;
    assert_eq!(builder.status, StatusCode::OK, "{}", builder.text);
    assert!(
        builder.text.contains("12 Mitglieder ausgewählt"),
        "{}",
        builder.text
    );
    let form = |action: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("land", "05".to_string()),
            ("art", String::new()),
            ("suche", String::new()),
            ("bereich", "library".to_string()),
            ("jahr", "2024".to_string()),
            ("id", "nrw_staedte".to_string()),
            ("name", "Städte in NRW".to_string()),
            ("aktion", action.to_string()),
        ]
    };
    let pairs =
        |f: &[(&'static str, String)]| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let checked = form("pruefen");
    let answer = web
        .post_form(
            "/web/analyse/gruppe",
            &pairs(&checked)
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(
        answer.text.contains("Antwort der Prüfung"),
        "{}",
        answer.text
    );
    let groups = app.get("/api/v1/groups", Some(&app.analyst)).await;
    assert_eq!(
        groups.body.as_array().map_or(0, Vec::len),
        0,
        "nothing saved by a check: {}",
        groups.text
    );
    let saved = form("speichern");
    let done = web
        .post_form(
            "/web/analyse/gruppe",
            &pairs(&saved)
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    let groups = app.get("/api/v1/groups", Some(&app.analyst)).await;
    assert!(groups.text.contains("nrw_staedte"), "{}", groups.text);

    // Members reach neither page.
    let token = app.token(Role::Member, Some(&ids[0])).await;
    let mut member = WebClient::new(&app);
    member.sign_in(&token).await;
    assert_eq!(
        member.get("/web/analyse").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        member.get("/web/analyse/sql").await.status,
        StatusCode::FORBIDDEN
    );
}

/// The KGSt size class of a municipality (not a Landkreis) by its
/// population, written from the table of the domain description.
fn kgst_class(population: u64) -> &'static str {
    match population {
        400_000.. => "GK1",
        200_000.. => "GK2",
        100_000.. => "GK3",
        50_000.. => "GK4",
        25_000.. => "GK5",
        10_000.. => "GK6",
        _ => "GK7",
    }
}

/// The group builder filters by size class from the official population
/// of the bundled municipality register, read here from its file: the
/// class is the same whether a member reported or not, so the filter
/// tells nobody who reported.
#[tokio::test]
async fn the_group_builder_filters_by_size_class() {
    let app = TestApp::spawn().await;
    // Thirty municipalities of Hesse (Land 06) from the register file.
    let register = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("catalog/reference/gemeinden_gv_isys.csv"),
    )
    .unwrap();
    let chosen: Vec<(String, u64)> = register
        .lines()
        .skip(1)
        .map(|l| l.split(';').collect::<Vec<_>>())
        .filter(|c| c[0].starts_with("06") && !c[0].ends_with("000"))
        .take(30)
        .map(|c| (c[0].to_string(), c[7].parse().unwrap()))
        .collect();
    assert_eq!(chosen.len(), 30);
    let members: Vec<(&str, &str, &str)> = chosen
        .iter()
        .map(|(id, _)| (id.as_str(), "Gemeinde", "kreisangehoerige_gemeinde"))
        .collect();
    app.register(&members).await;
    // Five of them report (the others do not): the classes stay the same.
    let rows: Vec<(&str, f64, f64)> = chosen
        .iter()
        .take(5)
        .map(|(id, p)| (id.as_str(), *p as f64, 1.0))
        .collect();
    app.library_bulk(2024, &rows).await;
    let mut web = signed_in_user(
        &app,
        serde_json::json!({"email": "gk@ring.example", "name": "Ana Lyse", "role": "analyst"}),
    )
    .await;
    for class in ["GK3", "GK4", "GK5", "GK6", "GK7"] {
        let want: Vec<&str> = chosen
            .iter()
            .filter(|(_, p)| kgst_class(*p) == class)
            .map(|(id, _)| id.as_str())
            .collect();
        let page = web
            .get(&format!(
                "/web/analyse/gruppe?klasse={class}&bereich=library&jahr=2024"
            ))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(
            page.text
                .contains(&format!("{} Mitglieder ausgewählt", want.len())),
            "{class}: {want:?} {}",
            page.text
        );
        for (id, _) in &chosen {
            assert_eq!(
                page.text.contains(id.as_str()),
                want.contains(&id.as_str()),
                "{class}: {id}"
            );
        }
    }
    let all = web
        .get("/web/analyse/gruppe?bereich=library&jahr=2024")
        .await;
    assert!(
        all.text.contains("30 Mitglieder ausgewählt"),
        "{}",
        all.text
    );
    // A hostile domain is a 4xx, not a crash.
    let bad = web
        .get("/web/analyse/gruppe?klasse=GK3&bereich=%3Cx%3E&jahr=2024")
        .await;
    assert!(bad.status.is_client_error(), "{}", bad.status);
}
