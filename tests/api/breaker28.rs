//! Breaker 28: attacks on the collections (API, coordinator pages, the
//! member's entry form), by a helper who saw none of our tests. Eight were
//! findings (an approval or acceptance of figures the coordinator never
//! saw, a formula behind a semicolon in the CSV, an approval surviving a
//! question asked after it, values rounded in the form, drafts of members
//! that left and of frozen years), fixed since; the others are attacks
//! that held.

use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_store::Role;

use crate::helpers::{PARQUET, TestApp, library_file};
use crate::web::{WebClient, hidden, signed_in_admin};

const A: &str = "05001000";
const B: &str = "05002000";

/// Two registered cities and a member token for each.
async fn two_members(app: &TestApp) -> (String, String) {
    app.register(&[
        (A, "Stadt Aheim", "kreisfreie_stadt"),
        (B, "Stadt Beheim", "kreisfreie_stadt"),
    ])
    .await;
    (
        app.token(Role::Member, Some(A)).await,
        app.token(Role::Member, Some(B)).await,
    )
}

/// One member's row of the admin's view of library 2024.
async fn row(app: &TestApp, member: &str) -> Value {
    let a = app
        .get(
            &format!("/api/v1/collections/library/2024?member_id={member}"),
            Some(&app.admin),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.body["members"][0].clone()
}

async fn upload_own(app: &TestApp, token: &str, scale: f64) {
    let a = app
        .upload(
            "library",
            2024,
            token,
            PARQUET,
            library_file(None, 120_000.0, scale),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
}

/// Accepts every warning of a member's current figures, so that only the
/// submission decides an approval.
async fn accept_all(app: &TestApp, member: &str) {
    let r = row(app, member).await;
    for w in r["warnings"].as_array().into_iter().flatten() {
        let a = app
            .post_json(
                "/api/v1/collections/library/2024/reviews",
                Some(&app.admin),
                &json!({"member_id": member, "rule": w["rule"], "accepted": true}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }
}

/// A member signed in on the web page with its token.
async fn member_web<'a>(app: &'a TestApp, token: &str) -> WebClient<'a> {
    let mut w = WebClient::new(app);
    let p = w.sign_in(token).await;
    assert!(
        p.status.is_redirection() || p.status.is_success(),
        "{}",
        p.text
    );
    w
}

#[tokio::test]
async fn breaker28_member_reads_only_its_own_row() {
    let app = TestApp::spawn().await;
    let (ta, tb) = two_members(&app).await;
    upload_own(&app, &tb, 1.0).await;
    // Another member named outright.
    let a = app
        .get(
            &format!("/api/v1/collections/library/2024?member_id={B}"),
            Some(&ta),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    // A status filter that fits only the other member.
    let a = app
        .get(
            "/api/v1/collections/library/2024?status=submitted",
            Some(&ta),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(
        !a.text.contains(B) && !a.text.contains("Beheim"),
        "{}",
        a.text
    );
    let counts: u64 = a.body["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counts, 1, "counts of others leak: {}", a.text);
    // The CSV.
    let a = app
        .get_accept("/api/v1/collections/library/2024", &ta, "text/csv")
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(
        !a.text.contains(B) && !a.text.contains("Beheim"),
        "{}",
        a.text
    );
    assert!(a.text.contains(A), "{}", a.text);
    // Same id with a case or whitespace trick.
    for trick in [format!("{B}%20"), format!("%20{B}"), format!("{B}%00")] {
        let a = app
            .get(
                &format!("/api/v1/collections/library/2024?member_id={trick}"),
                Some(&ta),
            )
            .await;
        assert!(!a.text.contains("Beheim"), "{trick}: {}", a.text);
    }
}

#[tokio::test]
async fn breaker28_analyst_consultant_and_members_are_refused_coordinator_actions() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    upload_own(&app, &ta, 1.0).await;
    let consultant = app.consultant("c1", &[A]).await;
    for t in [&app.analyst, &consultant] {
        for q in ["", "?member_id=05001000"] {
            let a = app
                .get(&format!("/api/v1/collections/library/2024{q}"), Some(t))
                .await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{q}: {}", a.text);
        }
    }
    for t in [&app.analyst, &consultant, &ta] {
        let put = app
            .client
            .put(app.url("/api/v1/collections/library/2024"))
            .bearer_auth(t)
            .json(&json!({"deadline": "2026-03-31"}))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::FORBIDDEN);
        let a = app
            .post_json(
                "/api/v1/collections/library/2024/approvals",
                Some(t),
                &json!({"member_id": A}),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
        let a = app
            .post_json(
                "/api/v1/collections/library/2024/reviews",
                Some(t),
                &json!({"member_id": A, "rule": "x", "accepted": true}),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
        let a = app
            .post_json(
                "/api/v1/collections/library/2024/reminders",
                Some(t),
                &json!({}),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    }
    assert_ne!(row(&app, A).await["status"], "approved");
}

#[tokio::test]
async fn breaker28_member_and_token_sessions_never_reach_coordinator_pages() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    upload_own(&app, &ta, 1.0).await;
    let pages = [
        "/web/sammlung",
        "/web/sammlung?bereich=library&jahr=2024",
        "/web/sammlung/export?bereich=library&jahr=2024&format=csv",
        "/web/sammlung/export?bereich=library&jahr=2024&format=xlsx",
        "/web/sammlung/mitglied?bereich=library&jahr=2024&mitglied=05002000",
        "/web/pruefung?bereich=library&jahr=2024",
    ];
    let mut member = member_web(&app, &ta).await;
    let csrf = hidden(&member.get("/web").await.text, "csrf");
    for p in pages {
        let page = member.get(p).await;
        assert!(
            page.status == StatusCode::FORBIDDEN || page.status == StatusCode::UNAUTHORIZED,
            "{p}: {} {}",
            page.status,
            page.text
        );
        assert!(!page.text.contains("Beheim"), "{p}");
    }
    let approve = member
        .post_form(
            "/web/sammlung/freigabe",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("mitglied", A),
            ],
        )
        .await;
    assert_eq!(approve.status, StatusCode::FORBIDDEN, "{}", approve.text);
    assert_ne!(row(&app, A).await["status"], "approved");
    // An admin token (no account, no second factor) signed in on the page.
    let mut token_admin = WebClient::new(&app);
    token_admin.sign_in(&app.admin).await;
    for p in pages {
        let page = token_admin.get(p).await;
        assert_ne!(page.status, StatusCode::OK, "{p}: {}", page.text);
        assert!(!page.text.contains("Beheim"), "{p}");
    }
    let mut analyst = WebClient::new(&app);
    analyst.sign_in(&app.analyst).await;
    for p in pages {
        let page = analyst.get(p).await;
        assert_ne!(page.status, StatusCode::OK, "{p}: {}", page.text);
    }
}

#[tokio::test]
async fn breaker28_entry_form_stays_with_the_signed_in_member() {
    let app = TestApp::spawn().await;
    let (ta, tb) = two_members(&app).await;
    upload_own(&app, &tb, 1.3).await;
    let mut member = member_web(&app, &ta).await;
    let page = member.get("/web/erfassung?bereich=library&jahr=2024").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csrf = hidden(&page.text, "csrf");
    // Another member's figures must not appear on A's form or template.
    for p in [
        "/web/erfassung?bereich=library&jahr=2024&member_id=05002000",
        "/web/erfassung?bereich=library&jahr=2024&mitglied=05002000",
    ] {
        let page = member.get(p).await;
        assert!(!page.text.contains("234.000"), "{p}: B's visits leak");
        assert!(!page.text.contains("Beheim"), "{p}");
    }
    let template = member
        .get_bytes("/web/erfassung/vorlage?bereich=library&jahr=2024&member_id=05002000")
        .await;
    let text = sheet_text(&template);
    assert!(text.contains(A) && !text.contains(B), "{text}");
    // Draft with fields naming another member.
    let p = member
        .post_form(
            "/web/erfassung",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("aktion", "entwurf"),
                ("member_id", B),
                ("f_member_id", B),
                ("mitglied", B),
                ("f_bogus", "5"),
                ("f_population", "99"),
            ],
        )
        .await;
    assert!(
        p.status == StatusCode::SEE_OTHER || p.status.is_client_error(),
        "{} {}",
        p.status,
        p.text
    );
    let b = row(&app, B).await;
    assert_eq!(b["status"], "submitted", "{b}");
    assert_ne!(b["last_change_by"], row(&app, A).await["last_change_by"]);
    // Submitting: a complete row, with B named in every way a form can.
    let mut form: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.clone()),
        ("bereich".into(), "library".into()),
        ("jahr".into(), "2024".into()),
        ("aktion".into(), "einreichen".into()),
        ("member_id".into(), B.into()),
        ("f_member_id".into(), B.into()),
    ];
    for (k, v) in crate::helpers::library_row(77_777.0, 1.0) {
        form.push((format!("f_{k}"), format!("{v}").replace('.', ",")));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let before_b = row(&app, B).await["submission_id"].clone();
    let p = member.post_form("/web/erfassung", &form).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    assert_eq!(row(&app, B).await["submission_id"], before_b);
    assert!(row(&app, A).await["submission_id"].is_string());
    let figures = app.get("/api/v1/figures/library/2024", Some(&tb)).await;
    assert_eq!(figures.status, StatusCode::OK, "{}", figures.text);
    assert!(!figures.text.contains("77777"), "{}", figures.text);
    let own = app.get("/api/v1/figures/library/2024", Some(&ta)).await;
    assert!(own.text.contains("77777"), "{}", own.text);
}

/// Every cell's text of the first sheet of a workbook.
fn sheet_text(bytes: &[u8]) -> String {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn breaker28_entry_years_and_actions_out_of_range_store_nothing() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    let mut member = member_web(&app, &ta).await;
    let csrf = hidden(
        &member
            .get("/web/erfassung?bereich=library&jahr=2024")
            .await
            .text,
        "csrf",
    );
    for (jahr, aktion) in [
        ("1989", "entwurf"),
        ("2101", "entwurf"),
        ("99999999999999", "entwurf"),
        ("-1", "entwurf"),
        ("2024", "freigeben"),
        ("2024", ""),
    ] {
        let p = member
            .post_form(
                "/web/erfassung",
                &[
                    ("csrf", &csrf),
                    ("bereich", "library"),
                    ("jahr", jahr),
                    ("aktion", aktion),
                    ("f_population", "1000"),
                ],
            )
            .await;
        assert_eq!(
            p.status,
            StatusCode::BAD_REQUEST,
            "{jahr} {aktion}: {}",
            p.text
        );
    }
    for q in ["jahr=1989", "jahr=2101", "jahr=abc", "jahr=1990"] {
        let p = member
            .get(&format!("/web/erfassung?bereich=library&{q}"))
            .await;
        assert!(p.status.as_u16() < 500, "{q}: {} {}", p.status, p.text);
        let p = member
            .get(&format!("/web/erfassung/vorlage?bereich=library&{q}"))
            .await;
        assert!(p.status.as_u16() < 500, "{q}: {} {}", p.status, p.text);
    }
    assert_eq!(row(&app, A).await["status"], "not_started");
}

#[tokio::test]
async fn breaker28_extreme_values_in_the_form_never_crash() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    let mut member = member_web(&app, &ta).await;
    let csrf = hidden(
        &member
            .get("/web/erfassung?bereich=library&jahr=2024")
            .await
            .text,
        "csrf",
    );
    let huge = format!("1{}", "0".repeat(400));
    for v in [
        "1e400",
        "NaN",
        "inf",
        "-inf",
        "1e308",
        "-0",
        "1e-320",
        "9.999.999.999.999.999.999,99",
        huge.as_str(),
        "1e99999999999999999999999",
    ] {
        for aktion in ["entwurf", "einreichen"] {
            let p = member
                .post_form(
                    "/web/erfassung",
                    &[
                        ("csrf", &csrf),
                        ("bereich", "library"),
                        ("jahr", "2024"),
                        ("aktion", aktion),
                        ("f_population", v),
                    ],
                )
                .await;
            assert!(
                p.status.as_u16() < 500,
                "{v} {aktion}: {} {}",
                p.status,
                p.text
            );
            // 20 posts: within the allowance of 30 a minute.
            assert_ne!(p.status, StatusCode::TOO_MANY_REQUESTS, "{v}");
            let page = member.get("/web/erfassung?bereich=library&jahr=2024").await;
            assert_eq!(page.status, StatusCode::OK, "{v}: {}", page.text);
            assert!(!page.text.contains("NaN") && !page.text.contains("inf\""));
        }
    }
    let r = row(&app, A).await;
    assert!(
        r["status"] == "started" || r["status"] == "not_started",
        "{r}"
    );
}

#[tokio::test]
async fn breaker28_draft_flood_is_limited_before_the_state_log() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    let mut member = member_web(&app, &ta).await;
    let csrf = hidden(
        &member
            .get("/web/erfassung?bereich=library&jahr=2024")
            .await
            .text,
        "csrf",
    );
    let (mut saved, mut refused) = (0, 0);
    for i in 0..45 {
        let n = format!("{}", 1000 + i);
        let p = member
            .post_form(
                "/web/erfassung",
                &[
                    ("csrf", &csrf),
                    ("bereich", "library"),
                    ("jahr", "2024"),
                    ("aktion", "entwurf"),
                    ("f_population", &n),
                ],
            )
            .await;
        match p.status {
            StatusCode::SEE_OTHER => saved += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            s => panic!("{s}: {}", p.text),
        }
    }
    assert!(saved <= 31, "{saved} drafts in a burst");
    assert!(refused >= 14, "{refused}");
}

#[tokio::test]
async fn breaker28_form_reads_back_a_draft_as_typed() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    let mut member = member_web(&app, &ta).await;
    let csrf = hidden(
        &member
            .get("/web/erfassung?bereich=library&jahr=2024")
            .await
            .text,
        "csrf",
    );
    let p = member
        .post_form(
            "/web/erfassung",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("aktion", "entwurf"),
                ("f_staff_fte", "12,3456789"),
                ("f_population", "0,0000004"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let page = member.get("/web/erfassung?bereich=library&jahr=2024").await;
    let back = |name: &str| -> f64 {
        hidden(&page.text, name)
            .replace('.', "")
            .replace(',', ".")
            .parse()
            .unwrap()
    };
    assert_eq!(back("f_staff_fte"), 12.3456789);
    assert_eq!(back("f_population"), 0.0000004);
}

#[tokio::test]
async fn breaker28_csv_export_has_no_formula_behind_a_semicolon() {
    let app = TestApp::spawn().await;
    let evil = "Stadt;=cmd|' /C calc'!A0;x";
    app.register(&[(A, evil, "kreisfreie_stadt")]).await;
    let api = app
        .get_accept("/api/v1/collections/library/2024", &app.admin, "text/csv")
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text);
    let mut admin = signed_in_admin(&app).await;
    let web = String::from_utf8(
        admin
            .get_bytes("/web/sammlung/export?bereich=library&jahr=2024&format=csv")
            .await,
    )
    .unwrap();
    for csv in [&api.text, &web] {
        assert!(csv.contains("cmd|"), "{csv}");
        for line in csv.lines() {
            for cell in line.split([';', '\t']) {
                let cell = cell.trim_start_matches('"');
                assert!(
                    !cell.starts_with(['=', '+', '-', '@']),
                    "a formula cell for a ';' reader: {cell:?} in {line}"
                );
            }
        }
    }
}

#[tokio::test]
async fn breaker28_xlsx_and_csv_exports_neutralise_formula_names() {
    let app = TestApp::spawn().await;
    app.register(&[
        (
            A,
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "kreisfreie_stadt",
        ),
        (B, "@SUM(1+1)*cmd|' /C calc'!A0", "kreisfreie_stadt"),
        ("05003000", "+1+1", "kreisfreie_stadt"),
        ("05004000", "-1+1", "kreisfreie_stadt"),
        ("05005000", "\t=1+1", "kreisfreie_stadt"),
    ])
    .await;
    let mut admin = signed_in_admin(&app).await;
    let xlsx = admin
        .get_bytes("/web/sammlung/export?bereich=library&jahr=2024&format=xlsx")
        .await;
    {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx.clone())).unwrap();
        let name = book.sheet_names()[0].clone();
        let formulas = book.worksheet_formula(&name).unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "a formula in the export"
        );
        let range = book.worksheet_range(&name).unwrap();
        for r in range.rows().skip(1) {
            let name = r[1].to_string();
            assert!(!name.starts_with(['=', '+', '-', '@', '\t']), "{name:?}");
        }
    }
    let csv = String::from_utf8(
        admin
            .get_bytes("/web/sammlung/export?bereich=library&jahr=2024&format=csv")
            .await,
    )
    .unwrap();
    for cell in csv_cells(&csv) {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{cell:?}"
        );
    }
}

/// Every cell of a comma CSV (quotes as RFC 4180 writes them).
fn csv_cells(text: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if cell.is_empty() => quoted = true,
            (',' | '\n', false) => cells.push(std::mem::take(&mut cell)),
            ('\r', false) => {}
            (c, _) => cell.push(c),
        }
    }
    if !cell.is_empty() {
        cells.push(cell);
    }
    cells
}

#[tokio::test]
async fn breaker28_api_approval_of_a_reviewed_submission_does_not_approve_a_newer_one() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    upload_own(&app, &ta, 1.0).await;
    accept_all(&app, A).await;
    let seen = row(&app, A).await["submission_id"]
        .as_str()
        .unwrap()
        .to_string();
    // The member uploads other figures while the coordinator decides.
    upload_own(&app, &ta, 1.02).await;
    accept_all(&app, A).await;
    let newer = row(&app, A).await["submission_id"].clone();
    assert_ne!(newer, json!(seen));
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/approvals",
            Some(&app.admin),
            &json!({"member_id": A, "submission_id": seen}),
        )
        .await;
    let r = row(&app, A).await;
    assert!(
        a.status.is_client_error() || r["status"] != "approved",
        "approved {newer} although the coordinator named {seen}: {} / {r}",
        a.text
    );
}

#[tokio::test]
async fn breaker28_web_approval_after_a_new_upload_does_not_approve_unseen_figures() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    upload_own(&app, &ta, 1.0).await;
    accept_all(&app, A).await;
    let seen = row(&app, A).await["submission_id"].clone();
    let mut admin = signed_in_admin(&app).await;
    let page = admin
        .get("/web/sammlung/mitglied?bereich=library&jahr=2024&mitglied=05001000")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("/web/sammlung/freigabe"),
        "{}",
        page.text
    );
    let csrf = hidden(&page.text, "csrf");
    // The form exactly as the page shows it: every hidden field.
    let form_start = page.text.find("action=\"/web/sammlung/freigabe\"").unwrap();
    let form_html = &page.text[form_start..];
    let form_html = &form_html[..form_html.find("</form>").unwrap()];
    let mut fields: Vec<(String, String)> = Vec::new();
    for part in form_html.split("<input").skip(1) {
        let name = part
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let value = part
            .split("value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        fields.push((name.to_string(), value.to_string()));
    }
    assert!(fields.iter().any(|(k, v)| k == "csrf" && *v == csrf));
    // Meanwhile the member uploads other figures.
    upload_own(&app, &ta, 1.02).await;
    accept_all(&app, A).await;
    let newer = row(&app, A).await["submission_id"].clone();
    assert_ne!(newer, seen);
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let p = admin.post_form("/web/sammlung/freigabe", &form).await;
    assert!(p.status.as_u16() < 500, "{}", p.text);
    let r = row(&app, A).await;
    assert_ne!(
        r["status"], "approved",
        "figures {newer} approved from a page that showed {seen}: {r}"
    );
}

#[tokio::test]
async fn breaker28_new_upload_undoes_an_approval_and_reviews() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    // Nothing to approve yet.
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/approvals",
            Some(&app.admin),
            &json!({"member_id": A}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    upload_own(&app, &ta, 1.0).await;
    accept_all(&app, A).await;
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/approvals",
            Some(&app.admin),
            &json!({"member_id": A}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(row(&app, A).await["status"], "approved");
    upload_own(&app, &ta, 1.02).await;
    let r = row(&app, A).await;
    assert_ne!(r["status"], "approved", "{r}");
    assert!(r["approval"].is_null(), "{r}");
    for w in r["warnings"].as_array().into_iter().flatten() {
        assert_eq!(w["accepted"], false, "an old acceptance carried over: {r}");
    }
    // A review of a rule the current figures do not have.
    for rule in ["no_such_rule", "", "../../x", "loans_yoy\n"] {
        let a = app
            .post_json(
                "/api/v1/collections/library/2024/reviews",
                Some(&app.admin),
                &json!({"member_id": A, "rule": rule, "accepted": true}),
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{rule:?}: {}", a.text);
    }
    // Approval and review of a member not in the ring, or of another year.
    for (path, body) in [
        (
            "/api/v1/collections/library/2024/approvals",
            json!({"member_id": "09999000"}),
        ),
        (
            "/api/v1/collections/library/2023/approvals",
            json!({"member_id": A}),
        ),
        (
            "/api/v1/collections/library/2101/approvals",
            json!({"member_id": A}),
        ),
    ] {
        let a = app.post_json(path, Some(&app.admin), &body).await;
        assert!(
            a.status == StatusCode::NOT_FOUND || a.status == StatusCode::CONFLICT,
            "{path}: {}",
            a.text
        );
    }
}

#[tokio::test]
async fn breaker28_reminders_without_mail_record_nothing() {
    let app = TestApp::spawn().await;
    two_members(&app).await;
    // Not open yet.
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/reminders",
            Some(&app.admin),
            &json!({"send": true}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    let put = app
        .client
        .put(app.url("/api/v1/collections/library/2024"))
        .bearer_auth(&app.admin)
        .json(&json!({"deadline": "2026-03-31"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (client, url, admin) = (
            app.client.clone(),
            app.url("/api/v1/collections/library/2024/reminders"),
            app.admin.clone(),
        );
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(admin)
                .json(&json!({"member_ids": [A, B, A], "send": true}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CONFLICT);
    }
    for m in [A, B] {
        assert_eq!(row(&app, m).await["reminders"], 0);
    }
    // Bad shapes.
    for body in [
        json!({"member_ids": ["09999000"]}),
        json!({"statuses": ["bogus"]}),
        json!({"template": "x".repeat(5001)}),
        json!({"bcc": "evil@example.com"}),
        json!({"send": "yes"}),
    ] {
        let a = app
            .post_json(
                "/api/v1/collections/library/2024/reminders",
                Some(&app.admin),
                &body,
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text);
    }
    // A preview's text: header lines or placeholders from a name stay text.
    app.register(&[(
        A,
        "Aheim\r\nBcc: evil@example.com {link} {kommune}",
        "kreisfreie_stadt",
    )])
    .await;
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/reminders",
            Some(&app.admin),
            &json!({"template": "Subject: x\r\nBcc: a@b.c\n{kommune} {unknown} {", "member_ids": [A]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(!a.text.contains('\r'), "{}", a.text);
}

#[tokio::test]
async fn breaker28_coordinator_query_params_never_crash() {
    let app = TestApp::spawn().await;
    app.city_ring(3, 10.0).await;
    let mut admin = signed_in_admin(&app).await;
    for q in [
        "bereich=library&jahr=2024&seite=0",
        "bereich=library&jahr=2024&seite=-1",
        "bereich=library&jahr=2024&seite=18446744073709551615",
        "bereich=library&jahr=2024&seite=99999999999999999999999",
        "bereich=library&jahr=2024&suche=%C3%9F%E2%80%AE%F0%9F%92%A5",
        "bereich=library&jahr=2024&suche=%C4%B0",
        "bereich=library&jahr=2024&status=bogus",
        "bereich=library&jahr=2024&status=",
        "bereich=library&jahr=-2147483648",
        "bereich=library&jahr=2147483647",
        "bereich=library&jahr=1989",
        "bereich=..%2F..&jahr=2024",
        "bereich=library&jahr=2024&erledigt=%3Cscript%3E",
    ] {
        for path in ["/web/sammlung", "/web/pruefung"] {
            let p = admin.get(&format!("{path}?{q}")).await;
            assert!(
                p.status.as_u16() < 500,
                "{path}?{q}: {} {}",
                p.status,
                p.text
            );
            assert!(!p.text.contains("<script>"), "{path}?{q}");
        }
    }
    for q in [
        "bereich=library&jahr=2024&format=pdf",
        "bereich=library&jahr=2024&format=csv&status=bogus",
        "bereich=library&jahr=3000&format=csv",
    ] {
        let p = admin.get(&format!("/web/sammlung/export?{q}")).await;
        assert!(p.status.is_client_error(), "{q}: {} {}", p.status, p.text);
    }
    for m in ["09999000", "", "%0D%0ALocation:%20//evil"] {
        let p = admin
            .get(&format!(
                "/web/sammlung/mitglied?bereich=library&jahr=2024&mitglied={m}"
            ))
            .await;
        assert!(p.status.is_client_error(), "{m}: {} {}", p.status, p.text);
    }
    for q in ["?status=bogus", "?member_id=09999000"] {
        let a = app
            .get(
                &format!("/api/v1/collections/library/2024{q}"),
                Some(&app.admin),
            )
            .await;
        assert!(a.status.is_client_error(), "{q}: {}", a.text);
    }
}

#[tokio::test]
async fn breaker28_web_posts_redirect_only_within_the_site() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    upload_own(&app, &ta, 1.0).await;
    accept_all(&app, A).await;
    let mut admin = signed_in_admin(&app).await;
    let page = admin.get("/web/sammlung?bereich=library&jahr=2024").await;
    let csrf = hidden(&page.text, "csrf");
    let sid = current_submission(&app).await;
    let evil = [
        "//evil.example",
        "library\r\nLocation: //evil.example",
        "https://evil.example/",
        "library&jahr=1&x=//evil",
    ];
    let mut locations = Vec::new();
    for e in evil {
        for (path, form) in [
            (
                "/web/sammlung/freigabe",
                vec![("bereich", e), ("jahr", "2024"), ("mitglied", A)],
            ),
            (
                "/web/sammlung/freigabe",
                vec![("bereich", "library"), ("jahr", "2024"), ("mitglied", e)],
            ),
            (
                "/web/sammlung/frist",
                vec![("bereich", e), ("jahr", "2024"), ("frist", "2026-03-31")],
            ),
            (
                "/web/sammlung/pruefung",
                vec![
                    ("bereich", "library"),
                    ("jahr", "2024"),
                    ("mitglied", e),
                    ("regel", "x"),
                    ("entscheidung", "akzeptieren"),
                    ("zurueck", e),
                ],
            ),
        ] {
            let mut form = form;
            form.push(("csrf", &csrf));
            form.push(("einreichung", &sid));
            let p = admin.post_form(path, &form).await;
            assert!(
                p.status.as_u16() < 500,
                "{path} {e:?}: {} {}",
                p.status,
                p.text
            );
            if let Some(l) = p.location {
                locations.push(l);
            }
        }
    }
    // The good approval's redirect, for comparison.
    let p = admin
        .post_form(
            "/web/sammlung/freigabe",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("mitglied", A),
                ("einreichung", &sid),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    locations.push(p.location.unwrap());
    for l in locations {
        assert!(l.starts_with("/web/") && !l.starts_with("//"), "{l}");
        assert!(!l.contains("evil") && !l.contains('\n'), "{l}");
    }
}

/// The submission that holds member A's current library figures of 2024
/// (what the coordinator's page shows and its forms send).
async fn current_submission(app: &TestApp) -> String {
    row(app, A).await["submission_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn breaker28_web_accept_after_a_new_upload_does_not_accept_an_unseen_warning() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    // Turnover 16.7: the warning turnover_range.
    upload_own(&app, &ta, 5.0).await;
    let r = row(&app, A).await;
    assert!(
        r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["rule"] == "turnover_range"),
        "{r}"
    );
    let mut admin = signed_in_admin(&app).await;
    let page = admin
        .get("/web/sammlung/mitglied?bereich=library&jahr=2024&mitglied=05001000")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csrf = hidden(&page.text, "csrf");
    let shown = hidden(&page.text, "einreichung");
    // Meanwhile: figures with a far larger turnover (33), never shown.
    upload_own(&app, &ta, 10.0).await;
    let p = admin
        .post_form(
            "/web/sammlung/pruefung",
            &[
                ("csrf", &csrf),
                ("einreichung", &shown),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("mitglied", A),
                ("regel", "turnover_range"),
                ("zurueck", ""),
                ("kommentar", ""),
                ("entscheidung", "akzeptieren"),
            ],
        )
        .await;
    assert!(p.status.as_u16() < 500, "{}", p.text);
    let r = row(&app, A).await;
    let w = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["rule"] == "turnover_range")
        .unwrap()
        .clone();
    assert_eq!(
        w["accepted"], false,
        "a warning of figures uploaded after the page was accepted: {r}"
    );
}

#[tokio::test]
async fn breaker28_template_uploads_back_the_same_figures() {
    let app = TestApp::spawn().await;
    let (ta, tb) = two_members(&app).await;
    let odd: Vec<crate::helpers::Col<'_>> = crate::helpers::library_row(120_000.0, 1.0)
        .into_iter()
        .map(|(k, v)| {
            let v = if k == "staff_fte" {
                24.123_456_789_012
            } else {
                v
            };
            (k, vec![Some(v)])
        })
        .collect();
    let a = app
        .upload(
            "library",
            2024,
            &ta,
            PARQUET,
            crate::helpers::parquet(None, &odd),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let before = app.get("/api/v1/figures/library/2024", Some(&ta)).await;
    let mut member = member_web(&app, &ta).await;
    let bytes = member
        .get_bytes("/web/erfassung/vorlage?bereich=library&jahr=2024")
        .await;
    // The other member's token cannot store A's template as its own.
    let a = app
        .upload(
            "library",
            2024,
            &tb,
            vergleichsring_ingest::XLSX_TYPE,
            bytes.clone().into(),
        )
        .await;
    assert!(a.status.is_client_error(), "{}", a.text);
    let a = app
        .upload(
            "library",
            2024,
            &ta,
            vergleichsring_ingest::XLSX_TYPE,
            bytes.into(),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let after = app.get("/api/v1/figures/library/2024", Some(&ta)).await;
    assert_eq!(before.body["basic"], after.body["basic"], "{}", after.text);
}

#[tokio::test]
async fn breaker28_names_and_texts_stay_text_on_coordinator_pages() {
    let app = TestApp::spawn().await;
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    app.register(&[(A, evil, "kreisfreie_stadt")]).await;
    let ta = app.token(Role::Member, Some(A)).await;
    upload_own(&app, &ta, 5.0).await;
    let mut admin = signed_in_admin(&app).await;
    let page = admin.get("/web/sammlung?bereich=library&jahr=2024").await;
    let csrf = hidden(&page.text, "csrf");
    let p = admin
        .post_form(
            "/web/sammlung/frist",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("frist", "2026-03-31"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let p = admin
        .post_form(
            "/web/sammlung/pruefung",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("mitglied", A),
                ("regel", "turnover_range"),
                (
                    "kommentar",
                    "<script>alert(3)</script>\r\nBcc: x@evil.example",
                ),
                ("entscheidung", "zurueckfragen"),
                ("einreichung", &current_submission(&app).await),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let mut texts = Vec::new();
    for path in [
        "/web/sammlung?bereich=library&jahr=2024",
        "/web/sammlung?bereich=library&jahr=2024&suche=%3Cscript%3E",
        "/web/sammlung/mitglied?bereich=library&jahr=2024&mitglied=05001000",
        "/web/pruefung?bereich=library&jahr=2024",
    ] {
        let p = admin.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.text);
        texts.push(p.text);
    }
    let p = admin
        .post_form(
            "/web/sammlung/erinnerung",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("wer", "warnings_open"),
                ("text", "<script>alert(4)</script> {kommune}"),
                ("aktion", "vorschau"),
            ],
        )
        .await;
    assert!(p.status.as_u16() < 500, "{}", p.text);
    texts.push(p.text);
    let mut member = member_web(&app, &ta).await;
    texts.push(member.get("/web").await.text);
    texts.push(
        member
            .get("/web/erfassung?bereich=library&jahr=2024")
            .await
            .text,
    );
    for t in texts {
        assert!(
            !t.contains("<script>alert") && !t.contains("<img src=x"),
            "{t}"
        );
    }
}

/// Invites a member user through the API; with `take_up`, sets its
/// password through the invitation link. Returns the user id.
async fn member_user(
    app: &TestApp,
    email: &str,
    name: &str,
    member: &str,
    take_up: bool,
) -> String {
    let a = app
        .post_json(
            "/api/v1/users",
            Some(&app.admin),
            &json!({"email": email, "name": name, "role": "member", "member_id": member}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    if take_up {
        let path = a.body["invitation_path"].as_str().unwrap().to_string();
        let mut w = WebClient::new(app);
        let page = w.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let p = w
            .post_form(
                &path,
                &[
                    ("password", "ein-langes-Passwort-42"),
                    ("password2", "ein-langes-Passwort-42"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    }
    a.body["user_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn breaker28_reminders_go_to_taken_up_enabled_accounts_only() {
    let app = TestApp::spawn().await;
    two_members(&app).await;
    member_user(&app, "anna@a.example", "Anna {link} {kommune}", A, true).await;
    let disabled = member_user(&app, "bert@a.example", "Bert", A, true).await;
    member_user(&app, "carl@a.example", "Carl", A, false).await;
    member_user(&app, "dora@b.example", "Dora www.evil.example", B, true).await;
    let a = app
        .delete(&format!("/api/v1/users/{disabled}"), Some(&app.admin))
        .await;
    assert!(a.status.is_success(), "{}", a.text);
    let put = app
        .client
        .put(app.url("/api/v1/collections/library/2024"))
        .bearer_auth(&app.admin)
        .json(&json!({"deadline": "2026-03-31"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/reminders",
            Some(&app.admin),
            &json!({"member_ids": [B, A]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["sent"], false, "{}", a.text);
    assert_eq!(a.body["reminded"], json!([[A, 1], [B, 1]]), "{}", a.text);
    let preview = a.body["preview"].as_str().unwrap();
    // The name's placeholders are not filled in again.
    assert!(preview.contains("Anna {link} {kommune}"), "{preview}");
    assert!(!preview.contains("Bert") && !preview.contains("Carl"));
    // A preview records nothing.
    assert_eq!(row(&app, A).await["reminders"], 0);
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/reminders",
            Some(&app.admin),
            &json!({"member_ids": [B], "template": "{name} {kommune}"}),
        )
        .await;
    let preview = a.body["preview"].as_str().unwrap();
    assert!(!preview.contains("www.evil.example"), "{preview}");
}

#[tokio::test]
async fn breaker28_asking_back_after_approval_does_not_leave_it_approved() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    upload_own(&app, &ta, 5.0).await;
    accept_all(&app, A).await;
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/approvals",
            Some(&app.admin),
            &json!({"member_id": A}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/reviews",
            Some(&app.admin),
            &json!({"member_id": A, "rule": "turnover_range", "accepted": false,
                    "comment": "Bitte den Umsatz prüfen."}),
        )
        .await;
    let r = row(&app, A).await;
    let waiting = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["open"] == true);
    assert!(
        a.status == StatusCode::CONFLICT || !(waiting && r["status"] == "approved"),
        "approved with a warning waiting for the member: {r}"
    );
}

#[tokio::test]
async fn breaker28_malformed_entry_forms_are_refused_without_5xx() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    let (cookie, csrf) = raw_session(&app, &ta).await;
    // The hand-made session works: a plain draft is saved.
    let ok = app
        .client
        .post(app.url("/web/erfassung"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &cookie)
        .body(format!(
            "csrf={csrf}&bereich=library&jahr=2024&aktion=entwurf&f_population=1"
        ))
        .send()
        .await
        .unwrap();
    assert!(
        ok.status().is_redirection() || ok.status().is_success(),
        "{}",
        ok.status()
    );
    let many: String = (0..20_000).map(|i| format!("&f_x{i}=1")).collect();
    let bodies = [
        format!("csrf={csrf}&bereich=library&jahr=2024&aktion=entwurf&f_population=%FF%FE"),
        format!(
            "csrf={csrf}&bereich=library&jahr=2024&aktion=entwurf&f_population=1&f_population=2"
        ),
        format!("csrf={csrf}&bereich=library&jahr=2024&aktion=entwurf&aktion=einreichen"),
        format!("csrf={csrf}&bereich=library&aktion=entwurf"),
        "bereich=library&jahr=2024&aktion=entwurf&f_population=1".to_string(),
        format!("csrf={csrf}x&bereich=library&jahr=2024&aktion=entwurf&f_population=1"),
        format!("csrf={csrf}&bereich=..%2Fmuseum&jahr=2024&aktion=entwurf"),
        format!("csrf={csrf}&bereich=library&jahr=2024&aktion=entwurf{many}"),
        format!("csrf={csrf}&bereich=library&jahr=2024&aktion=entwurf&f_population=%00"),
    ];
    for body in bodies {
        let r = app
            .client
            .post(app.url("/web/erfassung"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &cookie)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(
            status.as_u16() < 500,
            "{status}: {}",
            &body[..body.len().min(200)]
        );
    }
}

/// Signs in with a member token by hand: the cookie header of the session
/// and the form's CSRF token.
async fn raw_session(app: &TestApp, token: &str) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut cookies: Vec<String> = Vec::new();
    let keep = |r: &reqwest::Response, cookies: &mut Vec<String>| {
        for c in r.headers().get_all("set-cookie") {
            let kv = c.to_str().unwrap().split(';').next().unwrap().to_string();
            let name = kv.split('=').next().unwrap().to_string();
            cookies.retain(|k| !k.starts_with(&format!("{name}=")));
            cookies.push(kv);
        }
    };
    let r = http.get(app.url("/web")).send().await.unwrap();
    keep(&r, &mut cookies);
    let nonce = hidden(&r.text().await.unwrap(), "nonce");
    let r = http
        .post(app.url("/web/anmelden"))
        .header("cookie", cookies.join("; "))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("token", token), ("nonce", &nonce)]).unwrap())
        .send()
        .await
        .unwrap();
    keep(&r, &mut cookies);
    let r = http
        .get(app.url("/web/erfassung?bereich=library&jahr=2024"))
        .header("cookie", cookies.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csrf = hidden(&r.text().await.unwrap(), "csrf");
    (cookies.join("; "), csrf)
}

#[tokio::test]
async fn breaker28_parallel_reminders_send_one_mail() {
    let smtp = crate::people::mail_server();
    let port = crate::helpers::free_port();
    let ring = crate::people::ring(&smtp, None, port).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{}/api/v1/users", ring.base))
        .bearer_auth(&ring.admin)
        .json(&json!({"email": "anna@stadt.example", "name": "Anna", "role": "member", "member_id": A}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let invited: Value = r.json().await.unwrap();
    let path = invited["invitation_path"].as_str().unwrap();
    let r = http
        .post(format!("{}{path}", ring.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("password=ein-langes-Passwort-42&password2=ein-langes-Passwort-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The invitation is message 1.
    let (to, _, _) = crate::people::mail(&smtp, 1).await;
    assert!(to.contains("anna@stadt.example"), "{to}");
    let r = http
        .put(format!("{}/api/v1/collections/library/2024", ring.base))
        .bearer_auth(&ring.admin)
        .json(&json!({"deadline": "2026-03-31"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (http, url, admin) = (
            http.clone(),
            format!("{}/api/v1/collections/library/2024/reminders", ring.base),
            ring.admin.clone(),
        );
        let body = if i % 2 == 0 {
            json!({"member_ids": [A, A], "send": true})
        } else {
            json!({"statuses": ["not_started"], "send": true})
        };
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(admin)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }));
    }
    let mut reminded = 0;
    for t in tasks {
        let out = t.await.unwrap();
        reminded += out["reminded"].as_array().unwrap().len();
    }
    assert_eq!(reminded, 1, "reminded more than once in parallel");
    let (to, subject, text) = crate::people::mail(&smtp, 2).await;
    assert!(to.contains("anna@stadt.example"), "{to}");
    assert!(subject.contains("Erinnerung"), "{subject}");
    assert!(text.contains("31.03.2026"), "{text}");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        !smtp.dir.path().join("mail/000003.eml").exists(),
        "a second reminder went out"
    );
    let r: Value = http
        .get(format!(
            "{}/api/v1/collections/library/2024?member_id={A}",
            ring.base
        ))
        .bearer_auth(&ring.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["members"][0]["reminders"], 1, "{r}");
}

#[tokio::test]
async fn breaker28_member_that_left_saves_no_drafts() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    let mut member = member_web(&app, &ta).await;
    let csrf = hidden(
        &member
            .get("/web/erfassung?bereich=library&jahr=2024")
            .await
            .text,
        "csrf",
    );
    let a = app
        .delete(
            &format!("/api/v1/members/{A}?from_year=2024"),
            Some(&app.admin),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.text);
    // An upload for 2024 is refused now.
    let up = app
        .upload(
            "library",
            2024,
            &ta,
            PARQUET,
            library_file(None, 120_000.0, 1.0),
        )
        .await;
    assert!(up.status.is_client_error(), "{}", up.text);
    let p = member
        .post_form(
            "/web/erfassung",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2030"),
                ("aktion", "entwurf"),
                ("f_population", "1000"),
            ],
        )
        .await;
    assert!(
        p.status.is_client_error(),
        "a draft for a year the member is not in: {} {}",
        p.status,
        p.text
    );
}

#[tokio::test]
async fn breaker28_admin_account_without_second_factor_and_other_roles_are_kept_out() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    upload_own(&app, &ta, 1.0).await;
    // An admin account that set its password but has no second factor.
    let a = app
        .post_json(
            "/api/v1/users",
            Some(&app.admin),
            &json!({"email": "neu@ring.example", "name": "Neu", "role": "admin"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let path = a.body["invitation_path"].as_str().unwrap().to_string();
    let mut w = WebClient::new(&app);
    w.get(&path).await;
    let p = w
        .post_form(
            &path,
            &[
                ("password", "ein-langes-Passwort-42"),
                ("password2", "ein-langes-Passwort-42"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    for path in [
        "/web/sammlung?bereich=library&jahr=2024",
        "/web/sammlung/export?bereich=library&jahr=2024&format=csv",
        "/web/sammlung/mitglied?bereich=library&jahr=2024&mitglied=05001000",
        "/web/pruefung?bereich=library&jahr=2024",
    ] {
        let page = w.get(path).await;
        assert_ne!(page.status, StatusCode::OK, "{path}: {}", page.text);
        assert!(!page.text.contains("Aheim"), "{path}");
    }
    // Analyst and consultant accounts and tokens have no entry form.
    for body in [
        json!({"email": "ana@ring.example", "name": "Ana", "role": "analyst"}),
        json!({"email": "kon@ring.example", "name": "Kon", "role": "consultant", "consultant_id": "c1"}),
    ] {
        let a = app
            .post_json("/api/v1/users", Some(&app.admin), &body)
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        let path = a.body["invitation_path"].as_str().unwrap().to_string();
        let mut w = WebClient::new(&app);
        w.get(&path).await;
        w.post_form(
            &path,
            &[
                ("password", "ein-langes-Passwort-42"),
                ("password2", "ein-langes-Passwort-42"),
            ],
        )
        .await;
        for path in [
            "/web/erfassung?bereich=library&jahr=2024",
            "/web/erfassung/vorlage?bereich=library&jahr=2024",
            "/web/sammlung?bereich=library&jahr=2024",
        ] {
            let page = w.get(path).await;
            assert_ne!(page.status, StatusCode::OK, "{body} {path}: {}", page.text);
        }
    }
    let consultant = app.consultant("c1", &[A]).await;
    for t in [&app.analyst, &consultant] {
        let mut w = WebClient::new(&app);
        w.sign_in(t).await;
        for path in [
            "/web/erfassung?bereich=library&jahr=2024",
            "/web/erfassung/vorlage?bereich=library&jahr=2024",
        ] {
            let page = w.get(path).await;
            assert_ne!(page.status, StatusCode::OK, "{path}: {}", page.text);
        }
    }
}

#[tokio::test]
async fn breaker28_frozen_year_saves_no_drafts() {
    let app = TestApp::spawn().await;
    let ids = app.city_ring(5, 10.0).await;
    let a = app.freeze("library", 2024).await;
    assert!(a.status.is_success(), "{}", a.text);
    let token = app.token(Role::Member, Some(&ids[0])).await;
    let mut member = member_web(&app, &token).await;
    let csrf = hidden(
        &member
            .get("/web/erfassung?bereich=library&jahr=2024")
            .await
            .text,
        "csrf",
    );
    let p = member
        .post_form(
            "/web/erfassung",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("aktion", "einreichen"),
                ("f_population", "1000"),
            ],
        )
        .await;
    assert!(p.status.is_client_error(), "{} {}", p.status, p.text);
    let p = member
        .post_form(
            "/web/erfassung",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("aktion", "entwurf"),
                ("f_population", "1000"),
            ],
        )
        .await;
    assert_eq!(
        p.status,
        StatusCode::CONFLICT,
        "a draft for a frozen year: {} {}",
        p.status,
        p.text
    );
}

#[tokio::test]
async fn breaker28_asking_back_needs_a_real_comment() {
    let app = TestApp::spawn().await;
    let (ta, _) = two_members(&app).await;
    upload_own(&app, &ta, 5.0).await;
    let long = "ß".repeat(2001);
    for comment in [
        "",
        "   ",
        "\u{200b}\u{2060}\u{feff}",
        "\r\n\t\r\n",
        "\u{202e}",
        long.as_str(),
    ] {
        let a = app
            .post_json(
                "/api/v1/collections/library/2024/reviews",
                Some(&app.admin),
                &json!({"member_id": A, "rule": "turnover_range", "accepted": false, "comment": comment}),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{comment:?}: {}", a.text);
    }
    let mut admin = signed_in_admin(&app).await;
    let page = admin.get("/web/sammlung?bereich=library&jahr=2024").await;
    let csrf = hidden(&page.text, "csrf");
    let sid = current_submission(&app).await;
    for comment in ["\u{200b}", "\u{feff}\u{2060}", long.as_str()] {
        let p = admin
            .post_form(
                "/web/sammlung/pruefung",
                &[
                    ("csrf", &csrf),
                    ("bereich", "library"),
                    ("jahr", "2024"),
                    ("mitglied", A),
                    ("regel", "turnover_range"),
                    ("kommentar", comment),
                    ("entscheidung", "zurueckfragen"),
                    ("einreichung", &sid),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{comment:?}: {}", p.text);
    }
    let r = row(&app, A).await;
    assert!(
        r["warnings"][0]["review"].is_null(),
        "a review was stored: {r}"
    );
    let ok = "ß".repeat(2000);
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/reviews",
            Some(&app.admin),
            &json!({"member_id": A, "rule": "turnover_range", "accepted": false, "comment": ok}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(row(&app, A).await["status"], "warnings_open");
}

#[tokio::test]
async fn breaker28_reminder_mail_keeps_names_and_template_in_the_body() {
    let smtp = crate::people::mail_server();
    let port = crate::helpers::free_port();
    let ring = crate::people::ring(&smtp, None, port).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{}/api/v1/members", ring.base))
        .bearer_auth(&ring.admin)
        .json(&json!([{"member_id": A, "name": "Stadt\r\nBcc: evil@example.com\r\n\r\nhttp://evil.example {link}", "kind": "kreisfreie_stadt"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = http
        .post(format!("{}/api/v1/users", ring.base))
        .bearer_auth(&ring.admin)
        .json(&json!({"email": "anna@stadt.example", "name": "Anna\r\nCc: x@evil.example", "role": "member", "member_id": A}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let invited: Value = r.json().await.unwrap();
    let path = invited["invitation_path"].as_str().unwrap();
    let r = http
        .post(format!("{}{path}", ring.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("password=ein-langes-Passwort-42&password2=ein-langes-Passwort-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    crate::people::mail(&smtp, 1).await;
    let r = http
        .put(format!("{}/api/v1/collections/library/2024", ring.base))
        .bearer_auth(&ring.admin)
        .json(&json!({"deadline": "2026-03-31"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let template = "Zeile eins {name}\n.\nZeile drei {kommune}\r\nBcc: b@evil.example\nEnde {link}";
    let r = http
        .post(format!(
            "{}/api/v1/collections/library/2024/reminders",
            ring.base
        ))
        .bearer_auth(&ring.admin)
        .json(&json!({"member_ids": [A], "template": template, "send": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (to, subject, text) = crate::people::mail(&smtp, 2).await;
    assert_eq!(to, "anna@stadt.example");
    assert!(subject.starts_with("Erinnerung"), "{subject}");
    assert!(
        text.contains("Zeile drei") && text.contains("Ende"),
        "{text}"
    );
    assert!(!text.contains("http://evil.example"), "{text}");
    // Only the service's own link.
    assert!(text.contains(&format!("Ende {}/web", ring.base)), "{text}");
    let raw = std::fs::read_to_string(smtp.dir.path().join("mail/000002.eml")).unwrap();
    let head = raw.split("\r\n\r\n").next().unwrap();
    assert!(
        !head.to_ascii_lowercase().contains("\nbcc:")
            && !head.to_ascii_lowercase().contains("\ncc:"),
        "{head}"
    );
}

#[tokio::test]
async fn breaker28_bulk_upload_warnings_stay_with_their_member() {
    let app = TestApp::spawn().await;
    let (ta, tb) = two_members(&app).await;
    // One admin file: A plain, B with a turnover of 16.7 (a warning).
    app.library_bulk(2024, &[(A, 120_000.0, 1.0), (B, 130_000.0, 5.0)])
        .await;
    let a = row(&app, A).await;
    let b = row(&app, B).await;
    assert_eq!(a["submission_id"], b["submission_id"]);
    assert!(
        b["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["rule"] == "turnover_range"),
        "{b}"
    );
    assert_eq!(a["warnings"], json!([]), "B's warning on A's row: {a}");
    let own = app.get("/api/v1/collections/library/2024", Some(&ta)).await;
    assert!(
        !own.text.contains("turnover_range") && !own.text.contains(B),
        "{}",
        own.text
    );
    // A review of B's warning names B; as A it is refused.
    let r = app
        .post_json(
            "/api/v1/collections/library/2024/reviews",
            Some(&app.admin),
            &json!({"member_id": A, "rule": "turnover_range", "accepted": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // Approving A is not held up by B's warning; B stays open.
    let r = app
        .post_json(
            "/api/v1/collections/library/2024/approvals",
            Some(&app.admin),
            &json!({"member_id": A}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .post_json(
            "/api/v1/collections/library/2024/approvals",
            Some(&app.admin),
            &json!({"member_id": B}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    // B's own page and form show nothing of A.
    let mut web = member_web(&app, &tb).await;
    for p in ["/web", "/web/erfassung?bereich=library&jahr=2024"] {
        let page = web.get(p).await;
        assert_eq!(page.status, StatusCode::OK, "{p}");
        assert!(!page.text.contains("Aheim"), "{p}");
    }
}

#[tokio::test]
async fn breaker28_question_and_answer_round_trip() {
    let app = TestApp::spawn().await;
    let (ta, tb) = two_members(&app).await;
    upload_own(&app, &ta, 5.0).await;
    let sub = row(&app, A).await["submission_id"]
        .as_str()
        .unwrap()
        .to_string();
    let explain = |token: String, body: Value| {
        let app = &app;
        let sub = sub.clone();
        async move {
            app.post_json(
                &format!("/api/v1/submissions/{sub}/explanations"),
                Some(&token),
                &body,
            )
            .await
        }
    };
    // B cannot explain A's warning, not even naming A.
    for body in [
        json!({"rule": "turnover_range", "text": "von B"}),
        json!({"rule": "turnover_range", "text": "von B", "member_id": A}),
    ] {
        let a = explain(tb.clone(), body).await;
        assert!(a.status.is_client_error(), "{}", a.text);
    }
    assert_eq!(row(&app, A).await["status"], "warnings_open");
    let a = explain(
        ta.clone(),
        json!({"rule": "turnover_range", "text": "Sommeraktion"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(row(&app, A).await["status"], "explained");
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/reviews",
            Some(&app.admin),
            &json!({"member_id": A, "rule": "turnover_range", "accepted": false, "comment": "Bitte belegen."}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(row(&app, A).await["status"], "warnings_open");
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/approvals",
            Some(&app.admin),
            &json!({"member_id": A}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    // The same answer again answers the question.
    let a = explain(
        ta.clone(),
        json!({"rule": "turnover_range", "text": "Sommeraktion"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let r = row(&app, A).await;
    assert_eq!(r["status"], "explained", "{r}");
    let a = app
        .post_json(
            "/api/v1/collections/library/2024/approvals",
            Some(&app.admin),
            &json!({"member_id": A}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
}
