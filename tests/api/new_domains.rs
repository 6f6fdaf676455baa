//! The two domains of issue 29, Volkshochschulen (`adult_education`) and
//! theatres (`theatre`), end to end through the server: the same figures
//! as CSV (German labels, semicolons, decimal commas), XLSX and Parquet
//! store the same values; each domain's rules refuse and warn; a member's
//! report has their sections with its own values as computed here. Also
//! the music schools' district subsidy, which issue 29 adds to the budget
//! balance.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;
use vergleichsring_catalog::Catalog;
use vergleichsring_store::Role;

use crate::helpers::{PARQUET, TestApp, parquet};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const NEW_DOMAINS: [&str; 2] = ["adult_education", "theatre"];

/// A member's figures by basic figure id, `None` where not reported.
type Figures = Vec<(String, Option<f64>)>;

/// The two valid rows of the domain's golden fixture (Köln, Düsseldorf).
fn fixture_rows(domain: &str) -> Vec<(String, Figures)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/golden/{domain}.csv"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .take(2)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let figures = header[2..]
                .iter()
                .zip(&cells[2..])
                .map(|(h, c)| (h.to_string(), c.parse::<f64>().ok()))
                .collect();
            (cells[0].to_string(), figures)
        })
        .collect()
}

/// The rows as a CSV of the German dialect, headed by the German labels.
fn german_csv(domain: &str, rows: &[(String, Figures)]) -> Vec<u8> {
    let catalog = Catalog::bundled().unwrap();
    let d = catalog.domain(domain).unwrap();
    let mut header = vec!["member_id".to_string()];
    header.extend(d.basic_figures.iter().map(|b| b.label.clone()));
    let mut out = header.join(";") + "\n";
    for (member, figures) in rows {
        let mut cells = vec![member.clone()];
        cells.extend(
            figures
                .iter()
                .map(|(_, v)| v.map_or(String::new(), |v| v.to_string().replace('.', ","))),
        );
        out += &(cells.join(";") + "\n");
    }
    out.into_bytes()
}

/// The rows as a workbook headed by the figure ids.
fn workbook(rows: &[(String, Figures)]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "member_id").unwrap();
    for (c, (id, _)) in rows[0].1.iter().enumerate() {
        sheet.write_string(0, c as u16 + 1, id).unwrap();
    }
    for (r, (member, figures)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, member).unwrap();
        for (c, (_, v)) in figures.iter().enumerate() {
            if let Some(v) = v {
                sheet.write_number(r, c as u16 + 1, *v).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

fn parquet_file(rows: &[(String, Figures)]) -> bytes::Bytes {
    let ids: Vec<&str> = rows.iter().map(|(m, _)| m.as_str()).collect();
    let columns: Vec<(&str, Vec<Option<f64>>)> = rows[0]
        .1
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), rows.iter().map(|(_, f)| f[i].1).collect()))
        .collect();
    parquet(Some(ids), &columns)
}

async fn two_cities(app: &TestApp) {
    app.register(&[
        ("05315000", "Stadt Köln", "kreisfreie_stadt"),
        ("05111000", "Stadt Düsseldorf", "kreisfreie_stadt"),
    ])
    .await;
}

#[tokio::test]
async fn each_new_domain_takes_csv_xlsx_and_parquet_alike() {
    let app = TestApp::spawn().await;
    two_cities(&app).await;
    for domain in NEW_DOMAINS {
        let rows = fixture_rows(domain);
        let uploads = [
            (2022, "text/csv", german_csv(domain, &rows)),
            (2023, XLSX, workbook(&rows)),
            (2024, PARQUET, parquet_file(&rows).to_vec()),
        ];
        for (year, content_type, body) in uploads {
            let a = app
                .upload(domain, year, &app.admin, content_type, body.into())
                .await;
            assert_eq!(
                a.status,
                StatusCode::CREATED,
                "{domain} {content_type}: {}",
                a.text
            );
            assert_eq!(a.body["rows"], 2);
            // Plausible figures, the same every year: no warning.
            assert_eq!(a.body["warnings"], Value::Array(vec![]), "{domain} {year}");
            for (member, figures) in &rows {
                let got = app
                    .get(
                        &format!("/api/v1/figures/{domain}/{year}?member_id={member}"),
                        Some(&app.admin),
                    )
                    .await;
                assert_eq!(got.status, StatusCode::OK, "{}", got.text);
                for (id, want) in figures {
                    assert_eq!(
                        got.body["basic"][id].as_f64(),
                        *want,
                        "{domain} {year} {content_type} {member} {id}"
                    );
                }
            }
        }
    }
}

/// Uploads one row of figures (the fixture's Köln row with `changes`) as
/// admin.
async fn upload_changed(
    app: &TestApp,
    domain: &str,
    year: i32,
    changes: &[(&str, f64)],
) -> crate::helpers::Answer {
    let mut rows = fixture_rows(domain);
    rows.truncate(1);
    for (id, v) in changes {
        let slot = rows[0].1.iter_mut().find(|(f, _)| f == id).unwrap();
        slot.1 = Some(*v);
    }
    app.upload(domain, year, &app.admin, PARQUET, parquet_file(&rows))
        .await
}

fn rules_of(answer: &Value, kind: &str) -> Vec<String> {
    answer[kind]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["rule"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A rule case: domain, changed figures, `errors` or `warnings`, rule.
type Case = (
    &'static str,
    &'static [(&'static str, f64)],
    &'static str,
    &'static str,
);

#[tokio::test]
async fn the_new_domains_rules_refuse_and_warn() {
    let app = TestApp::spawn().await;
    two_cities(&app).await;
    let cases: [Case; 6] = [
        // Fewer than 3 teaching hours a course cannot be.
        (
            "adult_education",
            &[
                ("teaching_hours", 1_000.0),
                ("teaching_hours_languages", 500.0),
            ],
            "errors",
            "hours_min_3_per_course",
        ),
        (
            "adult_education",
            &[("staff_pedagogical_fte", 14.0)],
            "errors",
            "pedagogical_fte_max_staff",
        ),
        // 30 enrolments a course are possible but odd.
        (
            "adult_education",
            &[("enrolments", 18_000.0)],
            "warnings",
            "enrolments_per_course_range",
        ),
        (
            "theatre",
            &[("visits", 200_000.0)],
            "errors",
            "visits_max_offered",
        ),
        (
            "theatre",
            &[("income_tickets", 3_500_000.0)],
            "errors",
            "income_tickets_max_own",
        ),
        // Sold out and more (standing places): a warning.
        (
            "theatre",
            &[("visits", 170_000.0)],
            "warnings",
            "utilisation_over_100",
        ),
    ];
    for (domain, changes, kind, rule) in cases {
        let before = app.data_version(domain, 2023).await;
        let a = upload_changed(&app, domain, 2023, changes).await;
        let rules = rules_of(&a.body, kind);
        assert!(
            rules.contains(&rule.to_string()),
            "{domain} {rule}: {}",
            a.text
        );
        if kind == "errors" {
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
            let e = &a.body["errors"][0];
            assert_eq!(e["row"], 1, "{e}");
            assert_eq!(e["member_id"], "05315000", "{e}");
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
            assert_eq!(
                app.data_version(domain, 2023).await,
                before,
                "nothing stored"
            );
        } else {
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        }
    }
    // Year over year: 40 % more teaching hours and visits than in 2023.
    for (domain, changes, rule) in [
        (
            "adult_education",
            [("teaching_hours", 25_200.0)],
            "yoy_teaching_hours",
        ),
        ("theatre", [("visits", 168_000.0)], "yoy_visits"),
    ] {
        let ok = upload_changed(&app, domain, 2023, &[]).await;
        assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
        let a = upload_changed(&app, domain, 2024, &changes).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        assert!(
            rules_of(&a.body, "warnings").contains(&rule.to_string()),
            "{}",
            a.text
        );
    }
}

/// A key figure of the member's own figures, computed here.
fn own(
    g: &vergleichsring_synth::Generated,
    domain: &str,
    member: &str,
    f: impl Fn(&dyn Fn(&str) -> f64) -> f64,
) -> f64 {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Float64Type;
    let batch = &g
        .figures
        .iter()
        .find(|x| x.domain == domain && x.year == 2024)
        .unwrap()
        .batch;
    let ids = batch.column(0).as_string::<i32>();
    let row = (0..ids.len()).find(|&i| ids.value(i) == member).unwrap();
    let get = |id: &str| {
        let a = batch
            .column_by_name(id)
            .unwrap()
            .as_primitive::<Float64Type>();
        if a.is_null(row) {
            f64::NAN
        } else {
            a.value(row)
        }
    };
    f(&get)
}

#[tokio::test]
async fn a_members_report_has_its_volkshochschule_and_theatre() {
    let app = TestApp::spawn().await;
    let g = app.load_ring(120, 2023..=2024, 5).await;
    let runs = |domain: &str, member: &str| {
        g.figures.iter().any(|f| {
            use arrow::array::AsArray;
            f.domain == domain
                && f.batch
                    .column(0)
                    .as_string::<i32>()
                    .iter()
                    .any(|id| id == Some(member))
        })
    };
    let me = g
        .members
        .iter()
        .find(|m| runs("theatre", &m.member_id) && runs("adult_education", &m.member_id))
        .expect("a member with a theatre and a Volkshochschule");
    let token = app.token(Role::Member, Some(&me.member_id)).await;
    let r = app
        .get(
            &format!("/api/v1/reports/{}/2024", me.member_id),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let section = |domain: &str| {
        r.body["domains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["domain"] == domain)
            .unwrap_or_else(|| panic!("no section {domain}"))
            .clone()
    };
    let value = |section: &Value, key: &str| {
        section["key_figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == key)
            .and_then(|k| k["own"].as_f64())
            .unwrap_or_else(|| panic!("no own {key}"))
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
    let theatre = section("theatre");
    assert_eq!(theatre["key_figures"].as_array().unwrap().len(), 12);
    let m = &me.member_id;
    let want = own(&g, "theatre", m, |r| {
        100.0 * r("income_own") / r("expenditure_total")
    });
    assert!(close(value(&theatre, "own_income_ratio"), want));
    let want = own(&g, "theatre", m, |r| r("visits") / r("performances"));
    assert!(close(value(&theatre, "visits_per_performance"), want));
    let vhs = section("adult_education");
    let want = own(&g, "adult_education", m, |r| {
        1000.0 * r("teaching_hours") / r("population")
    });
    assert!(close(value(&vhs, "teaching_hours_per_1000"), want));
    let want = own(&g, "adult_education", m, |r| {
        r("expenditure_total") / r("teaching_hours")
    });
    assert!(close(value(&vhs, "expenditure_per_hour"), want));

    // The HTML report names the sections and, in its appendix, the
    // definitions with their sources.
    let html = app
        .get(
            &format!("/api/v1/reports/{}/2024?format=html", me.member_id),
            Some(&token),
        )
        .await
        .text;
    for text in [
        "Theater und Orchester",
        "Einspielergebnis",
        "Volkshochschule",
        "Theaterstatistik",
        "Volkshochschul-Statistik",
    ] {
        assert!(html.contains(text), "{text}");
    }
}

/// A Kreis's money counts in a music school's budget balance: without
/// the district subsidy the income falls 200,000 EUR short of the
/// expenditure (a warning), with it the budget balances.
#[tokio::test]
async fn a_district_subsidy_balances_a_music_schools_budget() {
    let app = TestApp::spawn().await;
    two_cities(&app).await;
    let short = [("subsidy_municipal", 600_000.0), ("subsidy_district", 0.0)];
    let a = upload_changed(&app, "music_school", 2023, &short).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert!(
        rules_of(&a.body, "warnings").contains(&"budget_balance".to_string()),
        "{}",
        a.text
    );
    let funded = [
        ("subsidy_municipal", 600_000.0),
        ("subsidy_district", 200_000.0),
    ];
    let b = upload_changed(&app, "music_school", 2024, &funded).await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.text);
    assert!(
        !rules_of(&b.body, "warnings").contains(&"budget_balance".to_string()),
        "{}",
        b.text
    );
    let got = app
        .get(
            "/api/v1/figures/music_school/2024?member_id=05315000",
            Some(&app.admin),
        )
        .await;
    assert_eq!(got.body["basic"]["subsidy_district"], 200_000.0);
}
