//! Issue 29: every basic figure says what it counts and where the
//! national statistics ask it, in the catalogue answer, on the entry form
//! (read out with its field), in the template's second sheet and in the
//! report's appendix.

use calamine::Reader;
use reqwest::StatusCode;
use vergleichsring_catalog::Catalog;
use vergleichsring_store::Role;

use crate::helpers::TestApp;
use crate::web::WebClient;

/// The definitions and sources as the bundled catalogue files hold them,
/// read here with the TOML parser rather than through the service.
fn from_files() -> Vec<(String, String, String, String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/domains");
    let mut out = Vec::new();
    for d in [
        "adult_education",
        "library",
        "museum",
        "music_school",
        "theatre",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{d}.toml"))).unwrap();
        let value: toml::Value = toml::from_str(&text).unwrap();
        for b in value["basic_figures"].as_array().unwrap() {
            let s = |k: &str| b[k].as_str().unwrap().to_string();
            out.push((
                d.to_string(),
                s("id"),
                s("definition"),
                s("definition_en"),
                s("source"),
            ));
        }
    }
    out
}

/// Text as an HTML page escapes it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[tokio::test]
async fn the_catalogue_answer_carries_every_definition_and_source() {
    let app = TestApp::spawn().await;
    let catalog = app.get("/api/v1/catalog", None).await;
    assert_eq!(catalog.status, StatusCode::OK);
    let files = from_files();
    assert_eq!(files.len(), 16 + 18 + 17 + 17 + 17);
    for (domain, id, de, en, source) in files {
        let figure = catalog.body["domains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == domain.as_str())
            .and_then(|d| {
                d["basic_figures"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|b| b["id"] == id.as_str())
                    .cloned()
            })
            .unwrap_or_else(|| panic!("{domain}.{id} missing"));
        assert_eq!(figure["definition"], de.as_str(), "{domain}.{id}");
        assert_eq!(figure["definition_en"], en.as_str(), "{domain}.{id}");
        assert_eq!(figure["source"], source.as_str(), "{domain}.{id}");
    }
    // Two the research established, as a check on the files themselves.
    let library = Catalog::bundled().unwrap();
    let visits = library
        .domain("library")
        .and_then(|d| d.basic_figure("visits"))
        .unwrap();
    assert_eq!(visits.source.as_deref(), Some("DBS ÖB Frage 12"));
    let students = library
        .domain("music_school")
        .and_then(|d| d.basic_figure("students"))
        .unwrap();
    assert!(
        students
            .definition
            .as_deref()
            .unwrap()
            .contains("Kalenderjahr"),
        "the VdM counts persons in the calendar year since 2014"
    );
}

#[tokio::test]
async fn the_entry_form_template_and_report_show_the_definitions() {
    let app = TestApp::spawn().await;
    let ids = app.city_ring(6, 10.0).await;
    let token = app.token(Role::Member, Some(&ids[0])).await;
    let mut member = WebClient::new(&app);
    member.sign_in(&token).await;
    let catalog = Catalog::bundled().unwrap();
    // The catalogue of 2024: the figures asked then, as defined then.
    let library = catalog.domain("library").unwrap().in_year(2024);

    // The form: each definition beside its field and read out with it.
    let form = member.get("/web/erfassung?bereich=library&jahr=2024").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    for f in &library.basic_figures {
        let definition = escaped(f.definition.as_deref().unwrap());
        assert!(form.text.contains(&definition), "{}: {}", f.id, form.text);
        let described = format!("aria-describedby=\"f_{}-definition\"", f.id);
        assert!(form.text.contains(&described), "{}: {}", f.id, form.text);
    }

    // The template's second sheet: definition and source of every figure.
    let template = member
        .get_bytes("/web/erfassung/vorlage?bereich=library&jahr=2024")
        .await;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(template)).unwrap();
    let names = book.sheet_names();
    let sheet = book.worksheet_range(&names[1]).unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "Spalte",
            "Bezeichnung",
            "Einheit",
            "Pflicht",
            "Definition",
            "Quelle"
        ]
    );
    for f in &library.basic_figures {
        let row = rows
            .iter()
            .find(|r| r[0] == f.id)
            .unwrap_or_else(|| panic!("{} not in the template", f.id));
        assert_eq!(row[4], f.definition.clone().unwrap());
        assert_eq!(row[5], f.source.clone().unwrap());
    }

    // The report's appendix.
    let report = member.get("/web/bericht/2024").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert!(
        report.text.contains("Anhang: Grundzahlen"),
        "{}",
        report.text
    );
    for f in &library.basic_figures {
        let source = escaped(f.source.as_deref().unwrap());
        assert!(report.text.contains(&source), "{}: {}", f.id, report.text);
    }
}

/// A CSV upload of one library row for a member token: the helper's row
/// with `extra` columns (their cells as written) appended.
fn csv_row(extra: &[(&str, &str)]) -> bytes::Bytes {
    let row = crate::helpers::library_row(120_000.0, 1.0);
    let mut header: Vec<String> = row.iter().map(|(k, _)| k.to_string()).collect();
    let mut cells: Vec<String> = row.iter().map(|(_, v)| format!("{v}")).collect();
    for (k, v) in extra {
        if let Some(i) = header.iter().position(|h| h == k) {
            cells[i] = v.to_string();
        } else {
            header.push(k.to_string());
            cells.push(v.to_string());
        }
    }
    format!("{}\n{}\n", header.join(","), cells.join(",")).into()
}

/// The DBS convention: `N` is "exists, value unknown" and stored as no
/// value; `0` is "does not exist" and stored as 0; a required figure
/// cannot be `N`.
#[tokio::test]
async fn n_is_unknown_and_zero_is_none_in_uploads_and_the_form() {
    let app = TestApp::spawn().await;
    app.register(&[("05315000", "Stadt Köln", "kreisfreie_stadt")])
        .await;
    let token = app.token(Role::Member, Some("05315000")).await;
    let stored = app
        .upload(
            "library",
            2024,
            &token,
            "text/csv",
            csv_row(&[("virtual_visits", "N"), ("events", "0"), ("e_loans", "n")]),
        )
        .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text);
    let figures = app.get("/api/v1/figures/library/2024", Some(&token)).await;
    assert_eq!(
        figures.body["basic"]["virtual_visits"],
        serde_json::Value::Null
    );
    assert_eq!(figures.body["basic"]["e_loans"], serde_json::Value::Null);
    assert_eq!(figures.body["basic"]["events"], 0.0);

    // A required figure: N is not enough, and nothing is stored.
    let refused = app
        .upload(
            "library",
            2024,
            &token,
            "text/csv",
            csv_row(&[("visits", "N")]),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("required_missing"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("\"column\":\"visits\""),
        "{}",
        refused.text
    );
    let unchanged = app.get("/api/v1/figures/library/2024", Some(&token)).await;
    assert_eq!(
        unchanged.body["submission_id"],
        figures.body["submission_id"]
    );

    // Any other word is still no number.
    let word = app
        .upload(
            "library",
            2024,
            &token,
            "text/csv",
            csv_row(&[("events", "NA")]),
        )
        .await;
    assert_eq!(
        word.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        word.text
    );
    assert!(word.text.contains("not_a_number"), "{}", word.text);

    // The form says so, and takes N as no value.
    let mut member = WebClient::new(&app);
    member.sign_in(&token).await;
    let form = member.get("/web/erfassung?bereich=library&jahr=2024").await;
    assert!(
        form.text
            .contains("gibt es, aber der Wert ist nicht bekannt"),
        "{}",
        form.text
    );
    let csrf = crate::web::hidden(&form.text, "csrf");
    let mut fields: Vec<(String, String)> = crate::helpers::library_row(120_000.0, 1.1)
        .iter()
        .map(|(k, v)| {
            (
                format!("f_{k}"),
                vergleichsring_catalog::numbers::de_exact(*v),
            )
        })
        .collect();
    fields.push(("f_virtual_visits".into(), "N".into()));
    fields.push(("f_events".into(), "0".into()));
    let mut body: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    body.extend([
        ("csrf", csrf.as_str()),
        ("bereich", "library"),
        ("jahr", "2024"),
        ("aktion", "einreichen"),
    ]);
    let sent = member.post_form("/web/erfassung", &body).await;
    assert!(
        sent.status.is_success() || sent.status.is_redirection(),
        "{}",
        sent.text
    );
    let after = app.get("/api/v1/figures/library/2024", Some(&token)).await;
    assert_ne!(
        after.body["submission_id"], figures.body["submission_id"],
        "{}",
        sent.text
    );
    assert_eq!(
        after.body["basic"]["virtual_visits"],
        serde_json::Value::Null
    );
    assert_eq!(after.body["basic"]["events"], 0.0);
}
