//! Peer reports: the JSON of a fixture member against a golden file, the
//! XLSX read back cell by cell, CSV dialects, formula neutralisation, and who
//! may read a report.

use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};
use reqwest::StatusCode;
use vergleichsring_store::Role;

use crate::helpers::{TestApp, leaves};

#[tokio::test]
async fn the_report_of_a_fixture_member_matches_its_golden_file() {
    // A fixed noise secret: the member's statistics come from perturbed
    // figures (rule 14), the same in every run.
    let app = TestApp::spawn_with_noise_secret([0x25; 32]).await;
    let ring = app.load_ring(40, 2020..=2024, 11).await;
    let me = &ring.members[5];
    let token = app.token(Role::Member, Some(&me.member_id)).await;
    let path = format!("/api/v1/reports/{}/2024", me.member_id);
    let a = app.get(&path, Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let mut report = a.body.clone();
    report.as_object_mut().unwrap().remove("generated_at");
    // Publications are named by id; their time is the test run's.
    fn untimed(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(o) => {
                if o.contains_key("published_at") {
                    o.insert("published_at".into(), "(time)".into());
                }
                o.values_mut().for_each(untimed);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(untimed),
            _ => {}
        }
    }
    untimed(&mut report);
    let text = serde_json::to_string_pretty(&report).unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/report.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &text).unwrap();
    }
    assert_eq!(
        text,
        std::fs::read_to_string(&golden).unwrap_or_default(),
        "report differs from {}",
        golden.display()
    );
    // The member runs a Volkshochschule but no theatre: its report has
    // the four domains it has figures in.
    let domains: Vec<&str> = report["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"].as_str().unwrap())
        .collect();
    assert_eq!(
        domains,
        ["adult_education", "library", "museum", "music_school"]
    );

    // No other member's name or id anywhere (aggregate_only).
    let found: Vec<String> = leaves(&report)
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for other in ring.members.iter().filter(|m| m.member_id != me.member_id) {
        assert!(
            !found.contains(&other.name) && !found.contains(&other.member_id),
            "{} leaked",
            other.name
        );
    }

    // The XLSX holds the same numbers.
    let r = app
        .client
        .get(app.url(&format!("{path}?format=xlsx")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let names = book.sheet_names();
    assert_eq!(
        names,
        [
            "Volkshochschule",
            "Öffentliche Bibliothek",
            "Museum",
            "Musikschule",
            "Methode"
        ]
    );
    let sheet = book.worksheet_range("Öffentliche Bibliothek").unwrap();
    assert_eq!(sheet.get_value((2, 5)), Some(&Data::String("own".into())));
    assert_eq!(
        sheet.get_value((3, 1)),
        Some(&Data::String("media_per_capita".into()))
    );
    let own = report["domains"][1]["key_figures"][0]["own"]
        .as_f64()
        .unwrap();
    // serde_json (without its `float_roundtrip` feature) may read a
    // number one unit in the last place off what the service wrote; the
    // sheet holds the exact shortest form. So: equal within an ulp.
    let same = |cell: Option<&Data>, want: f64| match cell {
        Some(Data::Float(x)) => (x - want).abs() <= 2.0 * f64::EPSILON * want.abs(),
        _ => false,
    };
    assert!(same(sheet.get_value((3, 5)), own));
    let median = report["domains"][1]["key_figures"][0]["all"]["stats"]["median"]
        .as_f64()
        .unwrap();
    assert!(
        same(sheet.get_value((3, 19)), median),
        "{:?} vs {median}",
        sheet.get_value((3, 19))
    );

    // CSV in both dialects.
    let csv_en = app
        .get(&format!("{path}?format=csv"), Some(&token))
        .await
        .text;
    let csv_de = app
        .get(&format!("{path}?format=csv&dialect=de"), Some(&token))
        .await
        .text;
    assert!(csv_en.starts_with("domain,key_figure,label,"));
    assert!(csv_de.starts_with("domain;key_figure;label;"));
    assert!(csv_de.contains(&format!("{own}").replace('.', ",")));
    assert_eq!(csv_en.lines().count(), 1 + 12 + 15 + 14 + 12);
}

#[tokio::test]
async fn reports_follow_the_access_rules_and_neutralise_formulas() {
    let app = TestApp::spawn().await;
    let ids = app.city_ring(7, 10.0).await;
    // The first member renames itself to a spreadsheet formula.
    app.register(&[(&ids[0], "=HYPERLINK(\"http://evil\")", "kreisfreie_stadt")])
        .await;
    let evil = app.token(Role::Member, Some(&ids[0])).await;
    let other = app.token(Role::Member, Some(&ids[1])).await;
    let consultant = app.consultant("c", &[&ids[0]]).await;
    let path = format!("/api/v1/reports/{}/2024", ids[0]);
    assert_eq!(app.get(&path, Some(&evil)).await.status, StatusCode::OK);
    assert_eq!(
        app.get(&path, Some(&app.admin)).await.status,
        StatusCode::OK
    );
    let c = app.get(&path, Some(&consultant)).await;
    assert_eq!(c.status, StatusCode::OK);
    // Seven members: released for the member (6 peers), not for a consultant (< 10).
    assert_eq!(
        c.body["domains"][0]["key_figures"][0]["all"]["suppressed"],
        true
    );
    assert_eq!(
        app.get(&path, Some(&other)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&path, Some(&app.analyst)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(&path, None).await.status, StatusCode::UNAUTHORIZED);
    let a = app.get(&path.replace("2024", "2023"), Some(&evil)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["error"], "give_to_get");
    assert_eq!(
        app.get(&format!("{path}?format=pdf"), Some(&evil))
            .await
            .status,
        StatusCode::NOT_ACCEPTABLE
    );
    // The HTML escapes the name instead of running it.
    let html = app.get(&format!("{path}?format=html"), Some(&evil)).await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(
        html.text
            .contains("<h1>=HYPERLINK(&quot;http://evil&quot;)</h1>")
    );
    assert_eq!(
        app.get("/api/v1/reports/05999000/2024", Some(&app.admin))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let r = app
        .client
        .get(app.url(&format!("{path}?format=xlsx")))
        .bearer_auth(&evil)
        .send()
        .await
        .unwrap();
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(r.bytes().await.unwrap().to_vec())).unwrap();
    let sheet = book.worksheet_range("Öffentliche Bibliothek").unwrap();
    match sheet.get_value((0, 0)) {
        Some(Data::String(s)) => assert!(s.starts_with("'=HYPERLINK"), "{s}"),
        other => panic!("{other:?}"),
    }
}

/// What an XML reader finds in a page: every text node with the classes of
/// its enclosing elements, and every element with its attributes.
struct Page {
    texts: Vec<(String, Vec<String>)>,
    elements: Vec<(String, Vec<(String, String)>)>,
}

/// Parses the page as XML; a page that is not well-formed fails the test.
fn parse_page(html: &str) -> Page {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(html);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<(String, String)> = Vec::new();
    let mut page = Page {
        texts: Vec::new(),
        elements: Vec::new(),
    };
    let attrs = |e: &quick_xml::events::BytesStart| -> Vec<(String, String)> {
        e.attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                (
                    a.key.as_ref().to_string(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .expect("escaped attribute")
                        .into_owned(),
                )
            })
            .collect()
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.name().as_ref().to_string();
                let a = attrs(&e);
                let class = a
                    .iter()
                    .find(|(k, _)| k == "class")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                page.elements.push((name.clone(), a));
                stack.push((name, class));
            }
            Ok(Event::Empty(e)) => {
                let name = e.name().as_ref().to_string();
                page.elements.push((name, attrs(&e)));
            }
            Ok(Event::End(_)) => {
                stack.pop().expect("an end tag closes an open element");
            }
            Ok(Event::Text(t)) => {
                let text = t.xml10_content().into_owned();
                // The style sheet is not text a reader sees.
                let in_style = stack.last().is_some_and(|(n, _)| n == "style");
                if !text.trim().is_empty() && !in_style {
                    let classes = stack.iter().map(|(_, c)| c.clone()).collect();
                    page.texts.push((text, classes));
                }
            }
            Ok(Event::GeneralRef(r)) => {
                // An entity between two text events; it is escaped markup
                // (&amp;, &quot;), not a number.
                let _ = r;
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at {}: {e}", reader.error_position()),
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    page
}

/// The number-like words of a text: runs of digits with `.` and `,`.
fn number_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',' || c == '-'))
        .map(|w| w.trim_matches(|c| c == '.' || c == ',' || c == '-'))
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_html_report_is_well_formed_and_shows_only_released_numbers() {
    use vergleichsring_report::fmt::{de, de_number};
    let app = TestApp::spawn().await;
    let ring = app.load_ring(40, 2020..=2024, 11).await;
    let me = &ring.members[5];
    let token = app.token(Role::Member, Some(&me.member_id)).await;
    let path = format!("/api/v1/reports/{}/2024", me.member_id);
    let json = app.get(&path, Some(&token)).await.body;
    // A browser gets HTML without asking for a format.
    let r = app
        .client
        .get(app.url(&path))
        .bearer_auth(&token)
        .header("accept", "text/html,application/xhtml+xml;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = r.text().await.unwrap();
    let page = parse_page(&html);

    // Self-contained: nothing is loaded from elsewhere.
    for (name, attrs) in &page.elements {
        assert_ne!(name, "script");
        assert_ne!(name, "link");
        for (k, v) in attrs {
            if k == "src" || (k == "href" && name != "a") {
                panic!("{name} loads {v}");
            }
            if k == "href" {
                assert!(v.starts_with('#'), "external link {v}");
            }
        }
    }

    // Every number a reader sees is a number of the JSON report (which is
    // checked for leaks above), German-formatted, or an axis tick.
    let mut allowed: std::collections::HashSet<String> = std::collections::HashSet::new();
    for leaf in leaves(&json) {
        if let Some(x) = leaf.as_f64() {
            allowed.insert(de(x));
            allowed.insert(de_number(x, 0));
            allowed.insert(format!("{x}"));
        }
        if let Some(s) = leaf.as_str() {
            allowed.extend(number_words(s));
        }
    }
    let date = json["generated_at"].as_str().unwrap();
    let german_date = format!("{}.{}.{}", &date[8..10], &date[5..7], &date[..4]);
    allowed.insert(german_date);
    for y in 2015..=2024 {
        allowed.insert(y.to_string());
    }
    // Fixed numbers of the German text (units, the A4 margins, "10.000 EW").
    // The noise flags' bands (rule 17): 2 % and 5 %.
    for fixed in [
        "10.000", "1.000", "100", "25", "75", "7", "1", "3", "2", "5",
    ] {
        allowed.insert(fixed.to_string());
    }
    // The appendix quotes the catalogue (dates, question numbers of the
    // national statistics): fixed text, no member's data.
    let catalog = vergleichsring_catalog::Catalog::bundled().unwrap();
    for d in &catalog.domains {
        for b in &d.basic_figures {
            for t in [&b.definition, &b.source].into_iter().flatten() {
                allowed.extend(number_words(t));
            }
            allowed.extend(number_words(&b.label));
        }
    }
    let mut shown = 0;
    for (text, classes) in &page.texts {
        if classes.iter().any(|c| c == "tick") {
            continue;
        }
        for w in number_words(text) {
            shown += 1;
            assert!(
                allowed.contains(&w),
                "'{w}' in '{text}' is not in the JSON report"
            );
        }
    }
    assert!(shown > 200, "only {shown} numbers shown");

    // No other member's name or id; the own name is there.
    let all_text: String = page
        .texts
        .iter()
        .map(|(t, _)| t.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(all_text.contains(&me.name));
    for other in ring.members.iter().filter(|m| m.member_id != me.member_id) {
        assert!(
            !html.contains(&other.member_id),
            "{} leaked",
            other.member_id
        );
        assert!(
            me.name.contains(&other.name) || !html.contains(&other.name),
            "{} leaked",
            other.name
        );
    }

    // One band chart and one line chart per key figure, each with a title
    // and a description; in aggregate_only mode no bars.
    let figures: usize = json["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key_figures"].as_array().unwrap().len())
        .sum();
    let svgs: Vec<_> = page.elements.iter().filter(|(n, _)| n == "svg").collect();
    assert_eq!(svgs.len(), 2 * figures);
    for (_, attrs) in &svgs {
        assert!(attrs.iter().any(|(k, v)| k == "role" && v == "img"));
        assert!(attrs.iter().any(|(k, _)| k == "aria-labelledby"));
    }
    assert_eq!(
        page.elements.iter().filter(|(n, _)| n == "title").count(),
        1 + svgs.len()
    );
    let class_count = |class: &str| {
        page.elements
            .iter()
            .filter(|(_, a)| a.iter().any(|(k, v)| k == "class" && v == class))
            .count()
    };
    assert_eq!(class_count("bar") + class_count("bar own"), 0);
    let own_points: usize = json["domains"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["key_figures"].as_array().unwrap())
        .flat_map(|k| k["timeseries"].as_array().unwrap())
        .filter(|p| p["own"].is_number())
        .count();
    assert_eq!(class_count("point own"), own_points);
}
