//! Breaker 29: attacks on the analysts' custom-group builder, custom group
//! names, the SQL console's downloads, the coordinator's publish preview
//! and the upload convention `N` (exists, value unknown), by a helper who
//! saw none of the tests of these features. Five are findings (marked
//! `ignore = "finding: ..."`, failing today): three participation oracles
//! (the builder's check, saved groups, the size-class filter), a bidi mark
//! left in group names, and a formula German Excel sees in the SQL CSV;
//! the others are attacks that held.

use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_engine::disclosure::Policy;
use vergleichsring_store::Role;

use crate::helpers::{TestApp, library_row};
use crate::web::{WebClient, hidden, signed_in_admin, signed_in_user};

const CITIES: usize = 12;
/// Reports figures; its name lacks "beta".
const X: &str = "05013000";
/// Registered, never reports; its name lacks "alpha".
const Y: &str = "05014000";

/// Twelve reporting cities named "Alpha-Beta Stadt i", X ("Alpha Ort",
/// reporting) and Y ("Beta Ort", not reporting), all kreisfrei in Land 05
/// of one size: every built-in group is the whole ring. Library 2024 is
/// bulk-imported (and so published).
async fn ring(app: &TestApp) -> Vec<String> {
    let cities: Vec<String> = (1..=CITIES).map(|i| format!("05{i:03}000")).collect();
    let names: Vec<String> = (1..=CITIES)
        .map(|i| format!("Alpha-Beta Stadt {i}"))
        .collect();
    let mut members: Vec<(&str, &str, &str)> = cities
        .iter()
        .zip(&names)
        .map(|(id, n)| (id.as_str(), n.as_str(), "kreisfreie_stadt"))
        .collect();
    members.push((X, "Alpha Ort", "kreisfreie_stadt"));
    members.push((Y, "Beta Ort", "kreisfreie_stadt"));
    app.register(&members).await;
    let mut rows: Vec<(&str, f64, f64)> = cities
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + i as f64 / 7.0))
        .collect();
    rows.push((X, 120_000.0, 1.9));
    app.library_bulk(2024, &rows).await;
    cities
}

async fn analyst_web(app: &TestApp) -> WebClient<'_> {
    signed_in_user(
        app,
        json!({"email": "ana@ring.example", "name": "Ana Lyse", "role": "analyst"}),
    )
    .await
}

/// The builder's answer (`aktion=pruefen`) for the members whose name
/// contains `suche`, as the section "Antwort der Prüfung".
async fn check(web: &mut WebClient<'_>, suche: &str) -> String {
    let page = web
        .get(&format!(
            "/web/analyse/gruppe?bereich=library&jahr=2024&suche={suche}"
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csrf = hidden(&page.text, "csrf");
    let answer = web
        .post_form(
            "/web/analyse/gruppe",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("suche", suche),
                ("aktion", "pruefen"),
                ("id", "probe"),
                ("name", "Probe"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let start = answer
        .text
        .find("Antwort der Prüfung")
        .unwrap_or_else(|| panic!("no verdict: {}", answer.text));
    let rest = &answer.text[start..];
    rest[..rest.find("</section>").unwrap_or(rest.len())].to_string()
}

fn released(verdict: &str) -> bool {
    verdict.contains("würde in der Veröffentlichung freigegeben")
}

/// Two selections of 13 members each, differing only in which one
/// non-member of the selection is left out: the check's answer must not
/// depend on whether the left-out member reported figures.
#[tokio::test]
#[ignore = "finding: the builder's check of a large selection refuses it for differing from the published group 'all' by 1 member exactly when the one member left out has figures, so an analyst learns any member's participation"]
async fn breaker29_builder_check_tells_whether_a_left_out_member_reported() {
    let app = TestApp::spawn().await;
    ring(&app).await;
    let mut web = analyst_web(&app).await;
    // "beta": the cities and Y, without X (who reported).
    let without_x = check(&mut web, "beta").await;
    // "alpha": the cities and X, without Y (who did not).
    let without_y = check(&mut web, "alpha").await;
    assert_eq!(
        released(&without_x),
        released(&without_y),
        "the check tells who reported:\nwithout X: {without_x}\nwithout Y: {without_y}"
    );
    assert!(
        !without_x.contains("by 1 member"),
        "the refusal counts the members with figures: {without_x}"
    );
}

/// The size-class filter lists members by the class the publication
/// fixed; X and Y are towns of the same (public) population, so the
/// filter must treat them alike whether or not they reported.
#[tokio::test]
async fn breaker29_size_class_filter_lists_who_reported() {
    let app = TestApp::spawn().await;
    ring(&app).await;
    let mut web = analyst_web(&app).await;
    let page = web
        .get("/web/analyse/gruppe?bereich=library&jahr=2024&klasse=GK3")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    // (X and Y are not in the official register, so neither has a class
    // now; before, X's class came from the publication.)
    assert_eq!(
        page.text.contains(X),
        page.text.contains(Y),
        "the class filter tells who reported"
    );
}

/// The same oracle through saved groups and `GET /api/v1/comparisons`.
#[tokio::test]
#[ignore = "finding: a saved custom group of all members but one is refused (422) when that member has figures and released when it has none, so comparisons over custom groups tell any member's participation"]
async fn breaker29_saved_groups_tell_whether_a_left_out_member_reported() {
    let app = TestApp::spawn().await;
    let cities = ring(&app).await;
    let mut statuses = Vec::new();
    for (id, extra) in [("ohne_x", Y), ("ohne_y", X)] {
        let mut ids = cities.clone();
        ids.push(extra.to_string());
        let made = app
            .post_json(
                "/api/v1/groups",
                Some(&app.analyst),
                &json!({"id": id, "name": id, "member_ids": ids}),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        let a = app
            .get(
                &format!("/api/v1/comparisons/library/2024?figure=media_per_capita&group_by={id}"),
                Some(&app.analyst),
            )
            .await;
        assert!(a.status != StatusCode::INTERNAL_SERVER_ERROR, "{}", a.text);
        statuses.push((a.status, a.text));
    }
    assert_eq!(
        statuses[0].0, statuses[1].0,
        "participation shows: {statuses:?}"
    );
}

/// A selection below the threshold is refused from its size: one member
/// with figures and one without get the same answer, and nothing is saved.
#[tokio::test]
async fn breaker29_small_selections_answer_alike() {
    let app = TestApp::spawn().await;
    ring(&app).await;
    let mut web = analyst_web(&app).await;
    let x = check(&mut web, "Alpha%20Ort").await;
    let y = check(&mut web, "Beta%20Ort").await;
    assert!(!released(&x) && !released(&y), "{x}\n{y}");
    assert_eq!(x.replace("Alpha", ""), y.replace("Beta", ""));
    // The same through the API: refused when saved, so never compared.
    let made = app
        .post_json(
            "/api/v1/groups",
            Some(&app.analyst),
            &json!({"id": "einer", "name": "Einer", "member_ids": [X, X, X, X, X]}),
        )
        .await;
    assert_eq!(
        made.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        made.text
    );
    let groups = app.get("/api/v1/groups", Some(&app.analyst)).await;
    assert_eq!(groups.body, json!([]), "{}", groups.text);
}

/// What a name must not hold once stored: control and bidi characters.
fn plain(name: &str) -> bool {
    name.chars().count() <= 200
        && !name.chars().any(|c| {
            c.is_control()
                || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
}

async fn group_names(app: &TestApp) -> Vec<String> {
    let member = app.token(Role::Member, Some(X)).await;
    let mut names = Vec::new();
    for token in [&app.analyst, &member] {
        let list = app.get("/api/v1/groups", Some(token)).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        for g in list.body.as_array().unwrap() {
            names.push(g["name"].as_str().unwrap().to_string());
        }
    }
    names
}

/// Names with line breaks, overrides, isolates and 5,000 characters, over
/// the API and the builder: stored as one plain line of at most 200.
#[tokio::test]
async fn breaker29_group_names_are_one_plain_line() {
    let app = TestApp::spawn().await;
    let cities = ring(&app).await;
    let hostile = [
        "Ruhr\r\nStädte",
        "Ruhr\u{202e}etdätS",
        "\u{2067}Ruhr\u{2069} Städte\u{200f}",
        "Tab\tund\u{0}Null\u{7f}",
        &"Lang".repeat(1250),
        "\u{85}Nächste Zeile\u{2028}Trenner",
    ];
    for (i, name) in hostile.iter().enumerate() {
        let made = app
            .post_json(
                "/api/v1/groups",
                Some(&app.analyst),
                &json!({"id": format!("g{i}"), "name": name, "member_ids": cities}),
            )
            .await;
        assert!(
            made.status == StatusCode::CREATED || made.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            made.text
        );
        if made.status == StatusCode::CREATED {
            assert!(plain(made.body["name"].as_str().unwrap()), "{}", made.text);
        }
    }
    // The builder saves with a name taken from the form as typed.
    let mut web = analyst_web(&app).await;
    let page = web
        .get("/web/analyse/gruppe?bereich=library&jahr=2024")
        .await;
    let csrf = hidden(&page.text, "csrf");
    let saved = web
        .post_form(
            "/web/analyse/gruppe",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("suche", "beta"),
                ("aktion", "speichern"),
                ("id", "web_gruppe"),
                ("name", "Zeile\neins\u{202d}\u{2066}zwei"),
            ],
        )
        .await;
    let why = saved.text.find("<main>").map_or("", |i| &saved.text[i..]);
    assert!(saved.status.is_redirection(), "{why}");
    let names = group_names(&app).await;
    assert!(names.len() >= 2, "{names:?}");
    for n in &names {
        assert!(plain(n), "{n:?}");
    }
    // The explorer with the group shows the plain name only.
    let explorer = web
        .get("/web/analyse?bereich=library&jahr=2024&gruppierung=web_gruppe")
        .await;
    assert!(
        explorer.status.is_success() || explorer.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{} {}",
        explorer.status,
        explorer.text
    );
    assert!(!explorer.text.contains('\u{202d}') && !explorer.text.contains('\u{2066}'));
}

/// U+061C ARABIC LETTER MARK is a bidi control (Unicode's Bidi_Control
/// property, like U+200E/U+200F): it must not stay in a group's name.
#[tokio::test]

async fn breaker29_group_name_keeps_no_arabic_letter_mark() {
    let app = TestApp::spawn().await;
    let cities = ring(&app).await;
    let made = app
        .post_json(
            "/api/v1/groups",
            Some(&app.analyst),
            &json!({"id": "alm", "name": "Ruhr\u{61c}1202 Städte", "member_ids": cities}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    for n in group_names(&app).await {
        assert!(plain(&n), "{n:?}");
    }
}

/// Runs SQL on the console and returns status and body bytes.
async fn sql(web: &mut WebClient<'_>, query: &str, format: &str) -> (StatusCode, Vec<u8>) {
    let page = web.get("/web/analyse/sql").await;
    let csrf = hidden(&page.text, "csrf");
    let p = web
        .post_form(
            "/web/analyse/sql",
            &[("csrf", &csrf), ("sql", query), ("format", format)],
        )
        .await;
    (p.status, p.text.into_bytes())
}

const HOSTILE_SQL: &str = "SELECT '=HYPERLINK(\"http://x\")' AS \"=a\", '+1+1' AS b, '-2+3' AS c, \
     '@SUM(A1)' AS d, 'x;=1+1' AS e, 'x\t=1+1' AS f, '\r=1' AS g, 'a,=1' AS h, \
     lower('=CMD()') AS i, upper(\"group\") AS j, n FROM comparisons LIMIT 3";

/// No CSV cell (split on commas, semicolons or tabs, as Excel may) and no
/// XLSX cell starts a formula.
#[tokio::test]
async fn breaker29_sql_downloads_hold_no_formula() {
    let app = TestApp::spawn().await;
    ring(&app).await;
    let mut web = analyst_web(&app).await;
    let (status, csv) = sql(&mut web, HOSTILE_SQL, "csv").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&csv));
    let mut cells = 0;
    for record in csv_records(&String::from_utf8(csv.clone()).unwrap()) {
        for field in &record {
            for part in field.split([';', '\t']) {
                cells += 1;
                assert!(
                    !part.starts_with(['=', '+', '-', '@', '\r']),
                    "a formula cell {part:?} in {field:?}"
                );
            }
        }
    }
    assert!(cells > 11, "{}", String::from_utf8_lossy(&csv));
    let (status, xlsx) = {
        let page = web.get("/web/analyse/sql").await;
        let csrf = hidden(&page.text, "csrf");
        let bytes = web
            .post_form_bytes(
                "/web/analyse/sql",
                &[("csrf", &csrf), ("sql", HOSTILE_SQL), ("format", "xlsx")],
            )
            .await;
        (StatusCode::OK, bytes)
    };
    assert_eq!(status, StatusCode::OK);
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
    let name = book.sheet_names()[0].clone();
    let formulas = book.worksheet_formula(&name).unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "formulas in the workbook"
    );
    let range = book.worksheet_range(&name).unwrap();
    for (_, _, cell) in range.used_cells() {
        let text = cell.to_string();
        assert!(!text.starts_with(['=', '+', '@']), "{text:?}");
    }
}

/// German Excel opens a comma-separated file with one cell per line (it
/// splits on semicolons, which is why text is neutralised after them): a
/// negative number in the first column then starts a cell that the rest
/// of the line makes a formula (`-1,5+A1*0` is -1.5 + A1 × 0).
#[tokio::test]

async fn breaker29_sql_csv_line_is_no_formula_in_german_excel() {
    let app = TestApp::spawn().await;
    ring(&app).await;
    let mut web = analyst_web(&app).await;
    let (status, csv) = sql(
        &mut web,
        "SELECT -1 AS a, '5+A1*0' AS b FROM comparisons LIMIT 1",
        "csv",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&csv));
    for line in String::from_utf8(csv).unwrap().lines() {
        for cell in line.split([';', '\t']) {
            let plain_number = cell.replace(',', ".").parse::<f64>().is_ok();
            assert!(
                plain_number || !cell.starts_with(['=', '+', '-', '@']),
                "German Excel runs {cell:?} as a formula"
            );
        }
    }
}

/// A refused query says why (400, no internals); an unknown format is
/// refused; every post counts against the rate limit before the work.
#[tokio::test]
async fn breaker29_sql_refusals_explained_and_counted_first() {
    let app = TestApp::spawn().await;
    ring(&app).await;
    let mut web = analyst_web(&app).await;
    let page = web.get("/web/analyse/sql").await;
    let csrf = hidden(&page.text, "csrf");
    let mut posts = 0;
    for (query, format) in [
        ("SELECT * FROM members", "csv"),
        ("SELECT * FROM generate_series(1, 100000000)", "xlsx"),
        ("SELECT 1/0 FROM comparisons", "csv"),
        ("DROP TABLE comparisons", "parquet"),
        ("SELECT n FROM comparisons", "exe"),
        ("SELECT n FROM comparisons; SELECT 1", "html"),
    ] {
        posts += 1;
        let p = web
            .post_form(
                "/web/analyse/sql",
                &[("csrf", &csrf), ("sql", query), ("format", format)],
            )
            .await;
        if p.status == StatusCode::OK {
            continue; // 1/0 may be a null
        }
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{query}: {}", p.text);
        assert!(
            p.text.contains("Abgewiesen") || p.text.contains("Format"),
            "{query}: {}",
            p.text
        );
        for internal in ["panicked", "src/", "DataFusion error", "Internal"] {
            assert!(!p.text.contains(internal), "{query}: {}", p.text);
        }
    }
    // Refused forms count: the 61st post of the minute is a 429.
    let mut limited = false;
    for _ in posts..61 {
        let p = web
            .post_form(
                "/web/analyse/sql",
                &[("csrf", &csrf), ("sql", "SELECT 1"), ("format", "bogus")],
            )
            .await;
        if p.status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    let last = web
        .post_form(
            "/web/analyse/sql",
            &[
                ("csrf", &csrf),
                ("sql", "SELECT n FROM comparisons"),
                ("format", "html"),
            ],
        )
        .await;
    assert!(
        limited || last.status == StatusCode::TOO_MANY_REQUESTS,
        "{}",
        last.status
    );
    // The builder's check shares the limit, counted before its work.
    let g = web
        .get("/web/analyse/gruppe?bereich=library&jahr=2024")
        .await;
    let csrf = hidden(&g.text, "csrf");
    let c = web
        .post_form(
            "/web/analyse/gruppe",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "x"),
                ("aktion", "pruefen"),
            ],
        )
        .await;
    assert_eq!(c.status, StatusCode::TOO_MANY_REQUESTS, "{}", c.text);
}

/// The number just before `marker` in the page's text.
fn number_before(text: &str, marker: &str) -> usize {
    let end = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker}: {text}"));
    let digits: String = text[..end]
        .chars()
        .rev()
        .skip_while(|c| c.is_whitespace())
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .filter(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}

async fn preview(web: &mut WebClient<'_>, extra: &[(&str, &str)]) -> crate::web::Page {
    let page = web
        .get("/web/veroeffentlichen?bereich=library&jahr=2024")
        .await;
    let csrf = hidden(&page.text, "csrf");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("bereich", "library"),
        ("jahr", "2024"),
        ("aktion", "veroeffentlichen"),
    ];
    form.extend_from_slice(extra);
    web.post_form("/web/veroeffentlichen", &form).await
}

/// The preview records nothing (no publication, no ledger entry, the same
/// answers after it) and says what the publication then does.
#[tokio::test]
async fn breaker29_publish_preview_records_nothing_and_agrees() {
    let app = TestApp::spawn_with_policy(Policy {
        auto_publish: false,
        ..Policy::default()
    })
    .await;
    ring(&app).await;
    let publications = || app.get("/api/v1/publications?domain=library", Some(&app.admin));
    let before = publications().await.text;
    let ask = "/api/v1/comparisons/library/2024?figure=media_per_capita&group_by=all";
    let answer_before = app.get(ask, Some(&app.analyst)).await;
    let mut web = signed_in_admin(&app).await;
    let mut pages = Vec::new();
    for _ in 0..3 {
        let p = preview(&mut web, &[("bestaetigt", "nein")]).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.text);
        pages.push(p.text);
    }
    assert_eq!(publications().await.text, before, "the preview published");
    let answer_after = app.get(ask, Some(&app.analyst)).await;
    assert_eq!(answer_before.status, answer_after.status);
    assert_eq!(answer_before.body, answer_after.body);
    let changed = number_before(&pages[0], " Mitglieder haben seit");
    let audit = number_before(&pages[0], " allein wegen der Prüfung");
    let done = app
        .post_json(
            "/api/v1/publications/library/2024",
            Some(&app.admin),
            &json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text);
    assert_eq!(
        done.body["changed_members"],
        json!(changed),
        "{}",
        done.text
    );
    assert_eq!(
        done.body["suppressed_by_audit"],
        json!(audit),
        "{}",
        done.text
    );
    // After it: nothing to preview, and still nothing recorded.
    let after = publications().await.text;
    let p = preview(&mut web, &[]).await;
    assert!(p.status.is_success(), "{}", p.text);
    assert!(p.text.contains("nichts geändert"), "{}", p.text);
    assert_eq!(publications().await.text, after);
}

/// No other role reaches the preview; hostile values give a 4xx without
/// internals.
#[tokio::test]
async fn breaker29_publish_preview_for_admins_only_and_hostile_values() {
    let app = TestApp::spawn_with_policy(Policy {
        auto_publish: false,
        ..Policy::default()
    })
    .await;
    ring(&app).await;
    let before = app
        .get("/api/v1/publications?domain=library", Some(&app.admin))
        .await
        .text;
    let member = app.token(Role::Member, Some(X)).await;
    let consultant = app.consultant("c9", &[X]).await;
    let analyst = analyst_web(&app).await;
    let mut by_token = Vec::new();
    for token in [&member, &consultant] {
        let mut web = WebClient::new(&app);
        web.sign_in(token).await;
        by_token.push(web);
    }
    for mut web in std::iter::once(analyst).chain(by_token) {
        let page = web.get("/web/analyse").await;
        let csrf = if page.text.contains("name=\"csrf\"") {
            hidden(&page.text, "csrf")
        } else {
            "x".to_string()
        };
        for confirm in ["", "ja"] {
            let p = web
                .post_form(
                    "/web/veroeffentlichen",
                    &[
                        ("csrf", &csrf),
                        ("bereich", "library"),
                        ("jahr", "2024"),
                        ("aktion", "veroeffentlichen"),
                        ("bestaetigt", confirm),
                    ],
                )
                .await;
            assert!(p.status.is_client_error(), "{}: {}", p.status, p.text);
            assert!(!p.text.contains("Was die Veröffentlichung täte"));
        }
    }
    let mut web = signed_in_admin(&app).await;
    let page = web
        .get("/web/veroeffentlichen?bereich=library&jahr=2024")
        .await;
    let csrf = hidden(&page.text, "csrf");
    for (bereich, jahr, aktion) in [
        ("../../etc/passwd", "2024", "veroeffentlichen"),
        ("library", "99999999999", "veroeffentlichen"),
        ("library", "-2147483648", "veroeffentlichen"),
        ("library", "1989", "veroeffentlichen"),
        ("library", "2024", "<script>alert(1)</script>"),
        ("library\u{0}", "2024", "veroeffentlichen"),
        ("library", "２０２４", "veroeffentlichen"),
        ("museum", "2024", "veroeffentlichen"),
        ("library", "2101", "einfrieren"),
    ] {
        let p = web
            .post_form(
                "/web/veroeffentlichen",
                &[
                    ("csrf", &csrf),
                    ("bereich", bereich),
                    ("jahr", jahr),
                    ("aktion", aktion),
                ],
            )
            .await;
        let ok_museum = bereich == "museum" && p.status == StatusCode::OK;
        assert!(
            p.status.is_client_error() || ok_museum,
            "{bereich} {jahr} {aktion}: {} {}",
            p.status,
            p.text
        );
        for internal in ["panicked", "src/", "Internal", "<script>alert"] {
            assert!(!p.text.contains(internal), "{bereich} {jahr}: {}", p.text);
        }
    }
    let after = app
        .get("/api/v1/publications?domain=library", Some(&app.admin))
        .await
        .text;
    assert_eq!(before, after);
}

/// A member's CSV upload of library 2024 with `cells` (figure id, text) in
/// place of the valid row's values.
fn csv_with(cells: &[(&str, &str)]) -> bytes::Bytes {
    let mut row: Vec<(String, String)> = library_row(120_000.0, 1.0)
        .into_iter()
        .map(|(k, v)| (k.to_string(), format!("{v}")))
        .collect();
    for (k, v) in cells {
        match row.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v.to_string(),
            None => row.push((k.to_string(), v.to_string())),
        }
    }
    let header: Vec<String> = row.iter().map(|(k, _)| k.clone()).collect();
    let values: Vec<String> = row.iter().map(|(_, v)| v.clone()).collect();
    let quote = |v: &String| format!("\"{}\"", v.replace('"', "\"\""));
    let line = |r: &[String]| r.iter().map(quote).collect::<Vec<_>>().join(",");
    format!("{}\n{}\n", line(&header), line(&values)).into()
}

/// The records of an RFC 4180 CSV text, fields unquoted.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

async fn own_figures(app: &TestApp, token: &str) -> Value {
    app.get("/api/v1/figures/library/2024", Some(token))
        .await
        .body
}

/// `N` in every spelling a spreadsheet gives: optional figures become no
/// value; lookalikes, `N` in a required figure or as a member id, and
/// mixtures are refused and store nothing.
#[tokio::test]
async fn breaker29_n_cells_in_csv_uploads() {
    let app = TestApp::spawn().await;
    app.register(&[(X, "Alpha Ort", "kreisfreie_stadt")]).await;
    let token = app.token(Role::Member, Some(X)).await;
    let accepted = app
        .upload(
            "library",
            2024,
            &token,
            "text/csv",
            csv_with(&[
                ("e_loans", " n "),
                ("events", "N"),
                ("income", "0"),
                ("acquisitions", "\u{a0}N"),
            ]),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text);
    let stored = own_figures(&app, &token).await;
    assert_eq!(stored["basic"]["e_loans"], Value::Null, "{stored}");
    assert_eq!(stored["basic"]["events"], Value::Null, "{stored}");
    assert_eq!(stored["basic"]["income"], json!(0.0), "{stored}");
    assert_eq!(stored["basic"]["loans"], json!(480_000.0), "{stored}");
    let refused = [
        vec![("loans", "N")],
        vec![("population", "n")],
        vec![("events", "\u{ff2e}")],
        vec![("events", "\u{39d}")],
        vec![("events", "NN")],
        vec![("events", "N0")],
        vec![("events", "'N")],
        vec![("events", "=\"N\"")],
        vec![("events", "N/A")],
        vec![("loans", "n"), ("events", "5")],
    ];
    for cells in &refused {
        let a = app
            .upload("library", 2024, &token, "text/csv", csv_with(cells))
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{cells:?}: {}",
            a.text
        );
        assert_eq!(own_figures(&app, &token).await, stored, "{cells:?} stored");
    }
    // An admin bulk upload naming member "N".
    let mut bulk = String::from("member_id,");
    let row = library_row(120_000.0, 1.0);
    bulk.push_str(&row.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(","));
    bulk.push_str("\nN,");
    bulk.push_str(
        &row.iter()
            .map(|(_, v)| v.to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    bulk.push('\n');
    let a = app
        .upload("library", 2024, &app.admin, "text/csv", bulk.into())
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(own_figures(&app, &token).await, stored);
}

/// XLSX: `N` as a text cell is no value; as a required figure, refused.
#[tokio::test]
async fn breaker29_n_cells_in_xlsx_uploads() {
    let app = TestApp::spawn().await;
    app.register(&[(X, "Alpha Ort", "kreisfreie_stadt")]).await;
    let token = app.token(Role::Member, Some(X)).await;
    let xlsx = |required_n: bool| {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let mut col = 0u16;
        for (k, v) in library_row(120_000.0, 1.0) {
            sheet.write_string(0, col, k).unwrap();
            if required_n && k == "stock" {
                sheet.write_string(1, col, "n").unwrap();
            } else {
                sheet.write_number(1, col, v).unwrap();
            }
            col += 1;
        }
        sheet.write_string(0, col, "events").unwrap();
        sheet.write_string(1, col, " N").unwrap();
        sheet.write_string(0, col + 1, "income").unwrap();
        sheet.write_boolean(1, col + 1, false).unwrap();
        bytes::Bytes::from(book.save_to_buffer().unwrap())
    };
    let t = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let refused = app.upload("library", 2024, &token, t, xlsx(true)).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    let none = app.get("/api/v1/figures/library/2024", Some(&token)).await;
    assert!(none.status.is_client_error(), "{}", none.text);
    let a = app.upload("library", 2024, &token, t, xlsx(false)).await;
    assert!(
        a.status == StatusCode::CREATED || a.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        a.text
    );
    if a.status == StatusCode::CREATED {
        let stored = own_figures(&app, &token).await;
        assert_eq!(stored["basic"]["events"], Value::Null, "{stored}");
        assert_ne!(stored["basic"]["income"], json!(1.0), "{stored}");
    }
}

/// The entry form: `N` for an optional figure is no value, for a required
/// one an error beside the field with nothing stored; lookalikes refused.
#[tokio::test]
async fn breaker29_n_in_the_entry_form() {
    let app = TestApp::spawn().await;
    app.register(&[(X, "Alpha Ort", "kreisfreie_stadt")]).await;
    let token = app.token(Role::Member, Some(X)).await;
    let mut web = WebClient::new(&app);
    web.sign_in(&token).await;
    let page = web.get("/web/erfassung?bereich=library&jahr=2024").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csrf = hidden(&page.text, "csrf");
    let form = |overrides: &[(&str, &str)]| {
        let mut f: Vec<(String, String)> = vec![
            ("csrf".into(), csrf.clone()),
            ("bereich".into(), "library".into()),
            ("jahr".into(), "2024".into()),
            ("aktion".into(), "einreichen".into()),
        ];
        for (k, v) in library_row(120_000.0, 1.0) {
            f.push((format!("f_{k}"), format!("{v}").replace('.', ",")));
        }
        for (k, v) in overrides {
            f.retain(|(name, _)| name != &format!("f_{k}"));
            f.push((format!("f_{k}"), v.to_string()));
        }
        f
    };
    for bad in [
        vec![("visits", "N")],
        vec![("staff_fte", " n ")],
        vec![("events", "\u{ff2e}")],
        vec![("events", "N\u{200b}")],
    ] {
        let f = form(&bad);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let p = web.post_form("/web/erfassung", &f).await;
        assert!(
            p.status.is_client_error(),
            "{bad:?}: {} {}",
            p.status,
            p.text
        );
        let none = app.get("/api/v1/figures/library/2024", Some(&token)).await;
        assert!(
            none.status.is_client_error(),
            "{bad:?} stored: {}",
            none.text
        );
    }
    let f = form(&[("events", "n"), ("e_loans", "N"), ("income", "0")]);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let p = web.post_form("/web/erfassung", &f).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    let stored = own_figures(&app, &token).await;
    assert_eq!(stored["basic"]["events"], Value::Null, "{stored}");
    assert_eq!(stored["basic"]["e_loans"], Value::Null, "{stored}");
    assert_eq!(stored["basic"]["income"], json!(0.0), "{stored}");
}
