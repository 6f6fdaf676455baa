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
    for d in ["library", "museum", "music_school"] {
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
    assert_eq!(files.len(), 17 + 17 + 16);
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
    let library = catalog.domain("library").unwrap();

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
