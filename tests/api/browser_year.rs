//! The ring's year in Chromium (issue 28) through the real `serve`
//! binary, a real mail server and real accounts, each role in its own
//! browser: the coordinator opens the 2024 collection; a member enters its
//! figures in the form with the keyboard alone, gets a warning and
//! explains it; the coordinator reminds the members that have not
//! submitted (the mail is captured), works the review queue with the
//! keyboard alone, approves, publishes after the confirmation and looks
//! up a new member in the official register; an analyst explores, builds
//! and saves a custom group, runs SQL and downloads the result as
//! Parquet; a consultant opens a granted member's report and downloads it
//! as Excel. Every page passes axe-core (WCAG 2.1 A and AA).

use serde_json::json;
use vergleichsring_store::Role;

use crate::browser::{
    Browser, accept_invitation, artifacts, axe_source, chromedriver, enrol_second_factor,
    open_browser, start_driver,
};
use crate::helpers::{PARQUET, TestApp, library_file, library_row};

const KOELN: &str = "05315000";
const AACHEN: &str = "05334000";

/// The captured mail to `to` whose subject contains `subject`: its text.
async fn mail_to(server: &crate::people::Helper, to: &str, subject: &str) -> String {
    for _ in 0..100 {
        let mut n = 1;
        while server.dir.path().join(format!("mail/{n:06}.eml")).exists() {
            let (rcpt, subj, text) = crate::people::mail(server, n).await;
            if rcpt.contains(to) && subj.contains(subject) {
                return text;
            }
            n += 1;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no mail to {to} about {subject}");
}

/// A download as the browser's session gets it (the page's policy lets
/// no script fetch, and headless Chromium keeps downloads to itself): the
/// request carries the browser's cookies and, for a form, its origin.
async fn download(
    b: &Browser,
    app: &TestApp,
    path: &str,
    form: Option<&[(&str, &str)]>,
) -> (reqwest::StatusCode, String, Vec<u8>) {
    let cookies: Vec<String> = b
        .get("/cookie")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}={}",
                c["name"].as_str().unwrap(),
                c["value"].as_str().unwrap()
            )
        })
        .collect();
    let client = reqwest::Client::new();
    let req = match form {
        Some(f) => client
            .post(app.url(path))
            .header("origin", app.url(""))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(f).unwrap()),
        None => client.get(app.url(path)),
    };
    let r = req
        .header("cookie", cookies.join("; "))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let media = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, media, r.bytes().await.unwrap().to_vec())
}

/// Invites a person over the API; the invitation's path.
async fn invite(app: &TestApp, body: serde_json::Value) -> String {
    let made = app
        .post_json("/api/v1/users", Some(&app.admin), &body)
        .await;
    assert_eq!(made.status, reqwest::StatusCode::CREATED, "{}", made.text);
    made.body["invitation_path"].as_str().unwrap().to_string()
}

/// A browser of a person who took up the invitation at `path`.
async fn person(
    driver: &crate::browser::Driver,
    app: &TestApp,
    path: &str,
) -> (Browser, tempfile::TempDir) {
    let (b, profile) = open_browser(driver).await;
    accept_invitation(&b, &app.url(path), "ein langes Passwort").await;
    // The click returns before the next page is there: wait for it, so
    // that the next navigation does not race the form's.
    for _ in 0..100 {
        let url = b.get("/url").await;
        if !url.as_str().unwrap_or_default().contains("/einladung/") {
            return (b, profile);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the invitation's form never went on");
}

#[tokio::test]
async fn the_ring_s_year_runs_in_chromium_with_the_keyboard_and_passes_axe() {
    let Some(driver_path) = chromedriver() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver is missing; .ci/run installs chromium and chromium-driver"
        );
        eprintln!("SKIPPED: install chromium and chromium-driver to run the browser test");
        return;
    };
    let axe = axe_source();
    assert!(
        axe.is_some() || std::env::var_os("CI").is_none(),
        "axe-core is missing; .ci/run installs it with .ci/axe.sh"
    );
    let axe = axe.as_deref();
    // The real binary with a mail server; the coordinator publishes (no
    // automatic publication).
    let mail = crate::people::mail_server();
    let config = format!(
        "[mail]\nsmtp_host = \"localhost\"\nsmtp_port = {}\nfrom = \"Vergleichsring <ring@example.de>\"\nusername = \"vergleichsring\"\nca_file = \"{}\"\n[disclosure]\nauto_publish = false\n",
        mail.port,
        mail.dir.path().join("cert.pem").display()
    );
    let app = TestApp::spawn_binary(
        &config,
        &[
            ("VERGLEICHSRING_MAIL_PASSWORD", "smtp-secret"),
            ("VERGLEICHSRING_SECRETS_KEY", crate::people::SECRETS_KEY),
        ],
    )
    .await;
    let ids = app.city_ring(8, 10.0).await;
    app.register(&[
        (KOELN, "Stadt Köln", "kreisfreie_stadt"),
        (AACHEN, "Stadt Aachen", "kreisfreie_stadt"),
    ])
    .await;
    // Köln's 2023 figures, so that 2024 can differ from them.
    let koeln = app.token(Role::Member, Some(KOELN)).await;
    let stored = app
        .upload(
            "library",
            2023,
            &koeln,
            PARQUET,
            library_file(None, 120_000.0, 1.0),
        )
        .await;
    assert_eq!(
        stored.status,
        reqwest::StatusCode::CREATED,
        "{}",
        stored.text
    );
    let granted = app
        .post_json(
            &format!("/api/v1/members/{}/grants", ids[0]),
            Some(&app.admin),
            &json!({"consultant_id": "kanzlei"}),
        )
        .await;
    assert_eq!(
        granted.status,
        reqwest::StatusCode::CREATED,
        "{}",
        granted.text
    );
    let driver = start_driver(&driver_path).await;
    let out = artifacts();

    // The coordinator: invitation, second factor, the collection opened.
    let link = invite(
        &app,
        json!({"email": "kim@ring.example", "name": "Kim Koordination", "role": "admin"}),
    )
    .await;
    let (admin, _p1) = person(&driver, &app, &link).await;
    enrol_second_factor(&admin, &app.url("")).await;
    admin
        .goto(&app.url("/web/sammlung?bereich=library&jahr=2024"))
        .await;
    admin.wait_text("h1", "Erhebung").await;
    admin
        .assert_accessible(axe, "the collection, not yet open")
        .await;
    admin
        .post("/execute/sync", json!({"script": "document.getElementById('frist-datum').value = '2025-03-31'; return 1;", "args": []}))
        .await;
    admin
        .click("form[action='/web/sammlung/frist'] button[type=submit]")
        .await;
    admin.wait_text("main", "Frist ist gespeichert").await;
    admin.assert_accessible(axe, "the collection, open").await;
    admin.save_screenshot(&out.join("collection.png")).await;

    // The member enters its figures with the keyboard alone: 10 % more
    // inhabitants than in 2023, so the year-over-year rule warns.
    let link = invite(
        &app,
        json!({"email": "lena@koeln.example", "name": "Lena Bibliothek", "role": "member", "member_id": KOELN}),
    )
    .await;
    let (member, _p2) = person(&driver, &app, &link).await;
    member.goto(&app.url("/web")).await;
    member.wait_text("main", "Frist bis").await;
    member
        .assert_accessible(axe, "the member's overview with the deadline")
        .await;
    member
        .goto(&app.url("/web/erfassung?bereich=library&jahr=2024"))
        .await;
    member.wait_text("h1", "eingeben").await;
    member.assert_accessible(axe, "the entry form").await;
    let row = library_row(132_000.0, 1.0);
    member.tab_to("f_population").await;
    for (i, (_, v)) in row.iter().enumerate() {
        // Each field is a text field; the keyboard types the German number
        // and Tab moves on to the next figure's field.
        member
            .keys(&vergleichsring_catalog::numbers::de_exact(*v))
            .await;
        if i + 1 < row.len() {
            let next = format!("f_{}", row[i + 1].0);
            member.tab_to(&next).await;
        }
    }
    member.tab_to("BUTTON:Prüfen und einreichen").await;
    member.keys("\u{E007}").await;
    member.wait_text("h1", "Gespeichert").await;
    member
        .assert_accessible(axe, "the stored entry with its warning")
        .await;
    let figures = app.get("/api/v1/figures/library/2024", Some(&koeln)).await;
    for (k, v) in &row {
        assert_eq!(figures.body["basic"][k], json!(v), "{k} as typed");
    }
    let warning = app
        .get("/api/v1/warnings?domain=library&year=2024", Some(&koeln))
        .await;
    assert!(warning.text.contains("yoy_population"), "{}", warning.text);
    member
        .type_into("textarea", "Eingemeindung zum 1. Januar")
        .await;
    member.click("tr.warning button[type=submit]").await;
    member
        .wait_text("main", "Erklärung wurde gespeichert")
        .await;

    // Aachen's librarian has an account but no figures: the coordinator
    // reminds the members that have not submitted, after a preview.
    let link = invite(
        &app,
        json!({"email": "paul@aachen.example", "name": "Paul Aachen", "role": "member", "member_id": AACHEN}),
    )
    .await;
    let (_aachen, _p5) = person(&driver, &app, &link).await;
    admin
        .goto(&app.url("/web/sammlung?bereich=library&jahr=2024"))
        .await;
    admin.wait_text("h1", "Erhebung").await;
    admin
        .click("form[action='/web/sammlung/erinnerung'] button[type=submit]")
        .await;
    admin.wait_text("h1", "Vorschau der Erinnerungen").await;
    admin.assert_accessible(axe, "the reminders' preview").await;
    admin
        .click("form[action='/web/sammlung/erinnerung'] button[value=senden]")
        .await;
    admin.wait_text("h1", "Erinnerungen gesendet").await;
    let reminder = mail_to(&mail, "paul@aachen.example", "Erinnerung").await;
    assert!(reminder.contains("Guten Tag Paul Aachen"), "{reminder}");
    assert!(reminder.contains("Stadt Aachen"), "{reminder}");
    assert!(reminder.contains("31.03.2025"), "{reminder}");
    assert!(reminder.contains(&app.url("/web")), "{reminder}");

    // The coordinator works the queue with the keyboard alone, approves.
    admin
        .goto(&app.url("/web/pruefung?bereich=library&jahr=2024"))
        .await;
    admin.wait_text("h1", "Prüfliste").await;
    admin.assert_accessible(axe, "the review queue").await;
    admin.tab_to("BUTTON:Akzeptieren").await;
    admin.keys("\u{E007}").await;
    admin.wait_text("main", "Hinweis ist akzeptiert").await;
    admin
        .goto(&app.url(&format!(
            "/web/sammlung/mitglied?bereich=library&jahr=2024&mitglied={KOELN}"
        )))
        .await;
    admin.wait_text("h1", "Köln").await;
    admin.assert_accessible(axe, "a member's review").await;
    admin
        .click("form[action='/web/sammlung/freigabe'] button[type=submit]")
        .await;
    admin.wait_text("main", "Freigegeben am").await;
    let status = app
        .get(
            &format!("/api/v1/collections/library/2024?member_id={KOELN}"),
            Some(&app.admin),
        )
        .await;
    assert_eq!(
        status.body["members"][0]["status"], "approved",
        "{}",
        status.text
    );

    // Publishing asks first; then the register proposes a new member.
    admin
        .goto(&app.url("/web/veroeffentlichen?bereich=library&jahr=2024"))
        .await;
    admin.wait_text("h1", "Veröffentlichen").await;
    admin.assert_accessible(axe, "the publishing page").await;
    admin
        .click("form[action='/web/veroeffentlichen'] button[type=submit]")
        .await;
    admin.wait_text("main", "Bitte bestätigen").await;
    admin
        .wait_text("main", "Was die Veröffentlichung täte")
        .await;
    admin.assert_accessible(axe, "the confirmation").await;
    admin
        .click("form[action='/web/veroeffentlichen'] input[name=bestaetigt] ~ button")
        .await;
    admin.wait_text("main", "Veröffentlicht.").await;
    let published = app
        .get(
            "/api/v1/publications?domain=library&year=2024",
            Some(&app.admin),
        )
        .await;
    assert_eq!(
        published.body.as_array().map_or(0, Vec::len),
        1,
        "{}",
        published.text
    );
    admin.goto(&app.url("/web/mitglieder?ags=05111000")).await;
    admin.wait_text("main", "Gemeindeverzeichnis").await;
    admin
        .assert_accessible(axe, "the members' registration")
        .await;

    // The analyst explores and runs SQL.
    let link = invite(
        &app,
        json!({"email": "ana@ring.example", "name": "Ana Lyse", "role": "analyst"}),
    )
    .await;
    let (analyst, _p3) = person(&driver, &app, &link).await;
    analyst
        .goto(&app.url("/web/analyse?bereich=library&jahr=2024&kennzahl=loans_per_capita&gruppierung=size_class"))
        .await;
    analyst.wait_text("h1", "Analyse").await;
    assert!(analyst.count("figure svg").await == 1, "the chart");
    analyst.assert_accessible(axe, "the explorer").await;
    analyst.save_screenshot(&out.join("explorer.png")).await;
    // A custom group of the cities of Land 05: checked, then saved and
    // shown in the explorer.
    analyst
        .goto(&app.url("/web/analyse/gruppe?land=05&bereich=library&jahr=2024"))
        .await;
    analyst.wait_text("h1", "Eigene Vergleichsgruppe").await;
    analyst.assert_accessible(axe, "the group builder").await;
    analyst.type_into("#gruppe-id", "nrw_staedte").await;
    analyst.type_into("#gruppe-name", "Städte in NRW").await;
    analyst.click("button[value=pruefen]").await;
    analyst.wait_text("main", "Antwort der Prüfung").await;
    analyst.type_into("#gruppe-id", "nrw_staedte").await;
    analyst.type_into("#gruppe-name", "Städte in NRW").await;
    analyst.click("button[value=speichern]").await;
    analyst.wait_text("h1", "Analyse").await;
    let groups = app.get("/api/v1/groups", Some(&app.analyst)).await;
    assert!(groups.text.contains("nrw_staedte"), "{}", groups.text);
    analyst.goto(&app.url("/web/analyse/sql")).await;
    analyst.wait_text("h1", "SQL").await;
    analyst
        .click("form[action='/web/analyse/sql'] button[type=submit]")
        .await;
    analyst.wait_text("main", "Zeilen").await;
    analyst.assert_accessible(axe, "the SQL result").await;
    // The same query as Parquet, downloaded with the analyst's session.
    let csrf: String = serde_json::from_value(
        analyst
            .post(
                "/execute/sync",
                json!({"script": "return document.querySelector(\"form[action='/web/analyse/sql'] input[name=csrf]\").value;", "args": []}),
            )
            .await,
    )
    .unwrap();
    let sql: String = serde_json::from_value(
        analyst
            .post(
                "/execute/sync",
                json!({"script": "return document.querySelector(\"form[action='/web/analyse/sql'] textarea\").value;", "args": []}),
            )
            .await,
    )
    .unwrap();
    let (status, media, bytes) = download(
        &analyst,
        &app,
        "/web/analyse/sql",
        Some(&[("csrf", &csrf), ("sql", &sql), ("format", "parquet")]),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{media}");
    assert_eq!(media, "application/vnd.apache.parquet");
    assert_eq!(&bytes[..4], b"PAR1");

    // The consultant opens the granted member's report.
    let link = invite(
        &app,
        json!({"email": "bea@kanzlei.example", "name": "Bea Beratung", "role": "consultant", "consultant_id": "kanzlei"}),
    )
    .await;
    let (consultant, _p4) = person(&driver, &app, &link).await;
    consultant.goto(&app.url("/web/beratung")).await;
    consultant.wait_text("h1", "Mandanten").await;
    consultant
        .assert_accessible(axe, "the consultant's workspace")
        .await;
    consultant.click("main ul a").await;
    consultant.wait_text("body", "Berichtsjahr 2024").await;
    // The Excel download of the same report.
    let (status, _, bytes) = download(
        &consultant,
        &app,
        &format!("/web/beratung/bericht/{}/2024?format=xlsx", ids[0]),
        None,
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(&bytes[..2], b"PK");
}
