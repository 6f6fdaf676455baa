//! Breaker 28b: the browser workspaces of analysts (custom-group builder,
//! explorer, SQL console), consultants, publishing, member registration
//! and data entry, attacked over HTTP. Tests of findings the product gets
//! wrong today are ignored with the finding; the others are attacks that
//! held.

use reqwest::StatusCode;
use serde_json::json;
use vergleichsring_store::Role;

use crate::helpers::TestApp;
use crate::web::{self, WebClient};

/// What the builder says when the audit would release the group.
const RELEASED: &str = "würde in der Veröffentlichung freigegeben";

async fn analyst(app: &TestApp) -> WebClient<'_> {
    web::signed_in_user(
        app,
        json!({"email": "ana@ring.example", "name": "Ana Lyse", "role": "analyst"}),
    )
    .await
}

async fn csrf_of(w: &mut WebClient<'_>, path: &str) -> String {
    let page = w.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
    web::hidden(&page.text, "csrf")
}

fn no_leak(app: &TestApp, status: StatusCode, text: &str) {
    assert!(!status.is_server_error(), "{status}: {text}");
    let dir = app.dir.path().to_string_lossy().to_string();
    for bad in [dir.as_str(), "panicked", "/work/", "RUST_BACKTRACE", ".rs:"] {
        assert!(!text.contains(bad), "leaks {bad}: {text}");
    }
}

/// A ring of 12 cities with 2024 library figures, named "Nord 1".."Nord 6"
/// and "Sued 7".."Sued 12", plus `extra` registered members without figures.
async fn named_ring(app: &TestApp, extra: &[(&str, &str)]) -> Vec<String> {
    renamed_ring(app, extra, &[]).await
}

/// `named_ring` with some members (by index) named otherwise.
async fn renamed_ring(
    app: &TestApp,
    extra: &[(&str, &str)],
    rename: &[(usize, &str)],
) -> Vec<String> {
    let ids: Vec<String> = (1..=12).map(|i| format!("05{i:03}000")).collect();
    let mut names: Vec<String> = (1..=12)
        .map(|i| {
            if i <= 6 {
                format!("Nord {i}")
            } else {
                format!("Sued {i}")
            }
        })
        .collect();
    for (i, n) in rename {
        names[*i] = n.to_string();
    }
    let mut members: Vec<(&str, &str, &str)> = ids
        .iter()
        .zip(&names)
        .map(|(id, n)| (id.as_str(), n.as_str(), "kreisfreie_stadt"))
        .collect();
    for (id, name) in extra {
        members.push((id, name, "kreisfreie_stadt"));
    }
    app.register(&members).await;
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + i as f64 / 10.0))
        .collect();
    app.library_bulk(2024, &rows).await;
    ids
}

async fn preview(
    w: &mut WebClient<'_>,
    csrf: &str,
    suche: &str,
    bereich: &str,
    jahr: &str,
) -> web::Page {
    w.post_form(
        "/web/analyse/gruppe",
        &[
            ("csrf", csrf),
            ("land", ""),
            ("art", ""),
            ("suche", suche),
            ("bereich", bereich),
            ("jahr", jahr),
            ("aktion", "pruefen"),
            ("id", ""),
            ("name", ""),
        ],
    )
    .await
}

async fn save(w: &mut WebClient<'_>, csrf: &str, suche: &str, id: &str, name: &str) -> web::Page {
    w.post_form(
        "/web/analyse/gruppe",
        &[
            ("csrf", csrf),
            ("land", ""),
            ("art", ""),
            ("suche", suche),
            ("bereich", "library"),
            ("jahr", "2024"),
            ("aktion", "speichern"),
            ("id", id),
            ("name", name),
        ],
    )
    .await
}

/// The preview must agree with the real disclosure: a group of five
/// registered members of which only two have figures is not disclosed
/// (rule 6: at least 5 members *with figures*), so the builder must not
/// tell the analyst it would be released.
#[tokio::test]
async fn breaker28b_preview_agrees_with_real_disclosure_for_sparse_group() {
    let app = TestApp::spawn().await;
    // Two members with figures and three without share the "Mix" names.
    let ids = renamed_ring(
        &app,
        &[
            ("05901000", "Mix Leer A"),
            ("05902000", "Mix Leer B"),
            ("05903000", "Mix Leer C"),
        ],
        &[(0, "Mix Voll 1"), (7, "Mix Voll 2")],
    )
    .await;
    let mut w = analyst(&app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/gruppe").await;
    let p = preview(&mut w, &csrf, "Mix", "library", "2024").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("5 Mitglieder ausgewählt"), "{}", p.text);
    let preview_says_released = p.text.contains(RELEASED);

    // The real thing: saved through the API and compared as the analyst.
    let made = app
        .post_json(
            "/api/v1/groups",
            Some(&app.analyst),
            &json!({"id": "mix", "name": "Mix", "member_ids": ["05901000", "05902000", "05903000", ids[0], ids[7]]}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let real = app
        .get(
            "/api/v1/comparisons/library/2024?figure=media_per_capita&group_by=mix",
            Some(&app.analyst),
        )
        .await;
    let real_released = real.status == StatusCode::OK
        && real.text.contains("\"mean\"")
        && !real.text.contains("suppress");
    assert_eq!(
        preview_says_released, real_released,
        "preview: {}\nreal {}: {}",
        p.text, real.status, real.text
    );
    assert!(!preview_says_released, "{}", p.text);
    assert!(p.text.contains("below_threshold"), "{}", p.text);
    assert_eq!(
        real.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        real.text
    );
    // The explorer refuses it as well, without internals.
    let explorer = w
        .get("/web/analyse?bereich=library&jahr=2024&kennzahl=media_per_capita&gruppierung=mix")
        .await;
    assert!(!explorer.status.is_success(), "{}", explorer.text);
    no_leak(&app, explorer.status, &explorer.text);
}

/// The audit's answer of the builder for `suche`, without the page around it.
fn verdict(text: &str) -> String {
    let start = text.find(r#"id="antwort""#).expect("a verdict");
    let rest = &text[start..];
    rest[..rest.find("</section>").unwrap_or(rest.len())].to_string()
}

/// The preview is no participation oracle: for a single member (a group
/// no one could save, rule 6 needs 5), it must not tell an analyst,
/// silently and unrecorded, whether that member has figures for the
/// year. Today its refusal counts the selection's members with figures.
#[tokio::test]
async fn breaker28b_preview_is_no_participation_oracle() {
    let app = TestApp::spawn().await;
    renamed_ring(&app, &[("05970000", "Einzel Ohne")], &[(3, "Einzel Mit")]).await;
    let mut w = analyst(&app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/gruppe").await;
    let with = preview(&mut w, &csrf, "Einzel Mit", "library", "2024").await;
    let without = preview(&mut w, &csrf, "Einzel Ohne", "library", "2024").await;
    assert_eq!(with.status, StatusCode::OK, "{}", with.text);
    assert_eq!(without.status, StatusCode::OK, "{}", without.text);
    assert!(
        with.text.contains("1 Mitglieder ausgewählt"),
        "{}",
        with.text
    );
    assert!(
        without.text.contains("1 Mitglieder ausgewählt"),
        "{}",
        without.text
    );
    assert!(!with.text.contains(RELEASED), "{}", with.text);
    assert_eq!(verdict(&with.text), verdict(&without.text));
}

/// Twenty cities of one Land and kind: 1..=15 with 120,000 inhabitants
/// (size class GK3), 16..=20 with 60,000 (GK4), or all 120,000 when
/// `uniform`. Names carry the tokens "xq" and "zq" so that the filter
/// selects two sets of 15 that leave out five members each: "xq" leaves
/// out 1 and 16..=19 (four of GK4), "zq" leaves out 2..=6 (all GK3).
async fn size_class_ring(app: &TestApp, uniform: bool) {
    let ids: Vec<String> = (1..=20).map(|i| format!("05{i:03}000")).collect();
    let names: Vec<String> = (1..=20)
        .map(|i| match i {
            7..=15 | 20 => format!("Ort xq zq {i}"),
            2..=6 => format!("Ort xq {i}"),
            _ => format!("Ort zq {i}"),
        })
        .collect();
    let members: Vec<(&str, &str, &str)> = ids
        .iter()
        .zip(&names)
        .map(|(id, n)| (id.as_str(), n.as_str(), "kreisfreie_stadt"))
        .collect();
    app.register(&members).await;
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let population = if uniform || i < 15 {
                120_000.0
            } else {
                60_000.0
            };
            (id.as_str(), population, 1.0 + i as f64 / 10.0)
        })
        .collect();
    app.library_bulk(2024, &rows).await;
}

/// The two verdicts of the builder for the selections "xq" and "zq".
async fn size_class_verdicts(app: &TestApp) -> (String, String) {
    let mut w = analyst(app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/gruppe").await;
    let x = preview(&mut w, &csrf, "xq", "library", "2024").await;
    let z = preview(&mut w, &csrf, "zq", "library", "2024").await;
    assert!(x.text.contains("15 Mitglieder ausgewählt"), "{}", x.text);
    assert!(z.text.contains("15 Mitglieder ausgewählt"), "{}", z.text);
    (verdict(&x.text), verdict(&z.text))
}

/// Control for the next test: when every city is in one size class, the
/// two selections (same size, same Land and kind) get the same answer.
#[tokio::test]
async fn breaker28b_size_class_control_same_answers() {
    let app = TestApp::spawn().await;
    size_class_ring(&app, true).await;
    let (x, z) = size_class_verdicts(&app).await;
    assert_eq!(x, z);
    assert!(x.contains(RELEASED), "{x}");
}

/// Two selections of 15 of the same Land and kind, each leaving out five
/// members, must not get answers that depend on which size class (a band
/// of the reported population) the left-out members are in: that would
/// let an analyst sort members into size classes by checking groups.
#[tokio::test]
#[ignore = "accepted: size classes follow from the population, a public structural figure (rule 13), so telling them is no disclosure; finding: rule 6's check against the published size-class groups answers 'differs from size_class:GK3 by 2' for one selection and releases the other, so the builder's check reveals which members are in which size class (a band of their reported population)"]
async fn breaker28b_preview_is_no_size_class_oracle() {
    let app = TestApp::spawn().await;
    size_class_ring(&app, false).await;
    let (x, z) = size_class_verdicts(&app).await;
    assert_eq!(x, z);
}

/// The same oracle through the API: two saved groups of 15 (same Land
/// and kind) are refused or compared depending on the size classes of
/// the members they leave out.
#[tokio::test]
#[ignore = "accepted: size classes follow from the population, a public structural figure (rule 13); finding: GET /api/v1/comparisons with a custom group answers 422 'differs from size_class:GK3 by 2' or 200 depending on the left-out members' size classes, the same size-class oracle as the builder's check"]
async fn breaker28b_api_custom_group_is_no_size_class_oracle() {
    let app = TestApp::spawn().await;
    size_class_ring(&app, false).await;
    let mut statuses = Vec::new();
    for (id, left_out) in [("xq", [1, 16, 17, 18, 19]), ("zq", [2, 3, 4, 5, 6])] {
        let members: Vec<String> = (1..=20)
            .filter(|i| !left_out.contains(i))
            .map(|i| format!("05{i:03}000"))
            .collect();
        let made = app
            .post_json(
                "/api/v1/groups",
                Some(&app.analyst),
                &json!({"id": id, "name": id, "member_ids": members}),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        let c = app
            .get(
                &format!("/api/v1/comparisons/library/2024?figure=media_per_capita&group_by={id}"),
                Some(&app.analyst),
            )
            .await;
        statuses.push((c.status, c.text));
    }
    assert_eq!(statuses[0].0, statuses[1].0, "{statuses:?}");
}

/// Members' grants to consultants are theirs: the builder's answer for a
/// group must not change when four of the five members a group leaves
/// out grant one consultant access (rule 13's coalitions in the audit).
/// Returns the verdicts for "Sued" (7 members; Nord 1..=5 left out)
/// without and with the grants.
async fn grant_verdicts(app: &TestApp) -> (String, String) {
    let ids = renamed_ring(app, &[], &[(5, "Sued 6")]).await;
    let mut w = analyst(app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/gruppe").await;
    let before = preview(&mut w, &csrf, "Sued", "library", "2024").await;
    assert!(
        before.text.contains("7 Mitglieder ausgewählt"),
        "{}",
        before.text
    );
    for id in &ids[..4] {
        let g = app
            .post_json(
                &format!("/api/v1/members/{id}/grants"),
                Some(&app.admin),
                &json!({"consultant_id": "kanzlei"}),
            )
            .await;
        assert!(g.status.is_success(), "{}", g.text);
    }
    let after = preview(&mut w, &csrf, "Sued", "library", "2024").await;
    (verdict(&before.text), verdict(&after.text))
}

#[tokio::test]
#[ignore = "open: rule 11 counts a consultant's grants as known, so any audit answer depends on them (see the note of issue 28); finding: the builder's check releases a group before and refuses it (rule 11, coalition) after four of the five left-out members grant one consultant access, so an analyst learns members' private grants by checking groups"]
async fn breaker28b_preview_is_no_grant_oracle() {
    let app = TestApp::spawn().await;
    let (before, after) = grant_verdicts(&app).await;
    assert!(before.contains(RELEASED), "{before}");
    assert_eq!(before, after);
}

/// A group the preview calls fine is disclosed when it is then saved and
/// explored, and the explorer shows it as the API does.
#[tokio::test]
async fn breaker28b_preview_then_save_then_explore_agree() {
    let app = TestApp::spawn().await;
    named_ring(&app, &[]).await;
    let mut w = analyst(&app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/gruppe").await;
    let p = preview(&mut w, &csrf, "Nord", "library", "2024").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("6 Mitglieder ausgewählt"), "{}", p.text);
    assert!(p.text.contains(RELEASED), "{}", p.text);
    // Nothing was recorded or saved by the check.
    let groups = app.get("/api/v1/groups", Some(&app.admin)).await;
    assert_eq!(
        groups.body.as_array().map(Vec::len),
        Some(0),
        "{}",
        groups.text
    );

    let saved = save(&mut w, &csrf, "Nord", "nord", "Nordstädte").await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let to = saved.location.unwrap();
    assert!(to.contains("gruppierung=nord"), "{to}");
    let explorer = w
        .get("/web/analyse?bereich=library&jahr=2024&kennzahl=media_per_capita&gruppierung=nord")
        .await;
    assert_eq!(explorer.status, StatusCode::OK, "{}", explorer.text);
    let api = app
        .get(
            "/api/v1/comparisons/library/2024?figure=media_per_capita&group_by=nord",
            Some(&app.analyst),
        )
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text);
    // Rule 6 on the complement: "Sued" differs from "all" by 6 and from
    // "nord" by 12; it is fine as well.
    let p = preview(&mut w, &csrf, "Sued", "library", "2024").await;
    assert!(p.text.contains(RELEASED), "{}", p.text);
}

/// A preview differing from the published "all" group by one member is
/// refused, as rule 6 wants (the preview is not a way around it), and a
/// registered member without figures in the selection changes nothing.
#[tokio::test]
async fn breaker28b_preview_refuses_all_but_one() {
    let app = TestApp::spawn().await;
    renamed_ring(&app, &[], &[(11, "Abseits")]).await;
    let mut w = analyst(&app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/gruppe").await;
    let p = preview(&mut w, &csrf, "", "library", "2024").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("12 Mitglieder ausgewählt"), "{}", p.text);
    assert!(p.text.contains(RELEASED), "{}", p.text);
    // "d " is in "Nord 1".."Sued 11" but not in "Abseits": 11 of 12.
    let p = preview(&mut w, &csrf, "d ", "library", "2024").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("11 Mitglieder ausgewählt"), "{}", p.text);
    assert!(!p.text.contains(RELEASED), "{}", p.text);
    assert!(p.text.contains("differencing"), "{}", p.text);
    // Saving it is possible, but the real comparison refuses it too.
    let saved = save(&mut w, &csrf, "d ", "fast_alle", "Fast alle").await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let real = app
        .get(
            "/api/v1/comparisons/library/2024?figure=media_per_capita&group_by=fast_alle",
            Some(&app.analyst),
        )
        .await;
    assert!(!real.status.is_success(), "{}", real.text);
    let explorer = w
        .get("/web/analyse?bereich=library&jahr=2024&kennzahl=media_per_capita&gruppierung=fast_alle")
        .await;
    assert!(!explorer.status.is_success(), "{}", explorer.text);
    no_leak(&app, explorer.status, &explorer.text);
}

/// The check is counted against `limits.queries_per_minute` (60) before
/// the work: even checks refused for a bad year use up the minute.
#[tokio::test]
async fn breaker28b_preview_rate_limited_before_work() {
    let app = TestApp::spawn().await;
    named_ring(&app, &[]).await;
    let mut w = analyst(&app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/gruppe").await;
    for i in 0..60 {
        let p = preview(&mut w, &csrf, "", "library", "kein-jahr").await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{i}: {}", p.text);
    }
    let p = preview(&mut w, &csrf, "", "library", "2024").await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{}", p.text);
    assert!(!p.text.contains(RELEASED), "{}", p.text);
    // The SQL console shares the minute.
    let q = w
        .post_form(
            "/web/analyse/sql",
            &[
                ("csrf", &csrf),
                ("sql", "SELECT 1 AS x FROM comparisons LIMIT 1"),
                ("format", "html"),
            ],
        )
        .await;
    assert_eq!(q.status, StatusCode::TOO_MANY_REQUESTS, "{}", q.text);
}

/// Members, consultants and strangers cannot use the builder; a post
/// without the session's CSRF token saves nothing.
#[tokio::test]
async fn breaker28b_builder_role_gates_and_csrf() {
    let app = TestApp::spawn().await;
    let ids = named_ring(&app, &[]).await;
    let t = app.token(Role::Member, Some(&ids[0])).await;
    let mut member = WebClient::new(&app);
    member.sign_in(&t).await;
    let page = member.get("/web/analyse/gruppe").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text);
    let overview = member.get("/web").await;
    let csrf = web::hidden(&overview.text, "csrf");
    let p = save(&mut member, &csrf, "Nord", "von_mitglied", "x").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);
    let p = preview(&mut member, &csrf, "Nord", "library", "2024").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);

    let mut consultant = web::signed_in_user(
        &app,
        json!({"email": "c@kanzlei.example", "name": "Cora Berat", "role": "consultant", "consultant_id": "kanzlei"}),
    )
    .await;
    let page = consultant.get("/web/analyse/gruppe").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text);
    let page = consultant
        .get("/web/analyse?bereich=library&jahr=2024")
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text);

    let mut stranger = WebClient::new(&app);
    let page = stranger.get("/web/analyse/gruppe").await;
    assert!(
        page.status == StatusCode::SEE_OTHER || page.status == StatusCode::UNAUTHORIZED,
        "{}",
        page.status
    );
    assert!(!page.text.contains("Nord 1"), "{}", page.text);

    let mut w = analyst(&app).await;
    let _ = csrf_of(&mut w, "/web/analyse/gruppe").await;
    let p = save(&mut w, "falsch", "Nord", "ohne_csrf", "x").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);
    let groups = app.get("/api/v1/groups", Some(&app.admin)).await;
    assert!(!groups.text.contains("ohne_csrf"), "{}", groups.text);
}

/// Hostile ids are refused with 422, never 5xx; an HTML name is shown
/// escaped on the builder and the explorer.
#[tokio::test]
async fn breaker28b_builder_hostile_ids_and_html_names() {
    let app = TestApp::spawn().await;
    named_ring(&app, &[("05960000", "<script>alert('m')</script> Nord")]).await;
    let mut w = analyst(&app).await;
    let page = w.get("/web/analyse/gruppe?suche=script").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("<script>alert"), "{}", page.text);
    let csrf = web::hidden(&page.text, "csrf");
    let long = "a".repeat(10_000);
    for id in [
        "<b>x</b>",
        long.as_str(),
        "grüppe",
        "all",
        "land",
        "../../etc",
        "x\u{202e}y",
    ] {
        let p = save(&mut w, &csrf, "Nord", id, "Name").await;
        assert_eq!(
            p.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{id}: {}",
            p.text
        );
        no_leak(&app, p.status, &p.text);
        assert!(!p.text.contains("<b>x</b>"), "{}", p.text);
    }
    // A hostile id in a check comes back in the refusal, escaped.
    let p = w
        .post_form(
            "/web/analyse/gruppe",
            &[
                ("csrf", &csrf),
                ("land", "05001000"),
                ("art", ""),
                ("suche", ""),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("aktion", "pruefen"),
                ("id", "<img src=x onerror=alert(2)>"),
                ("name", "<b>n</b>"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("1 Mitglieder ausgewählt"), "{}", p.text);
    assert!(!p.text.contains("<img src=x"), "{}", p.text);
    assert!(!p.text.contains(RELEASED), "{}", p.text);
    let p = save(
        &mut w,
        &csrf,
        "Nord",
        "html_name",
        "<img src=x onerror=alert(1)>",
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let explorer = w.get(&p.location.unwrap()).await;
    assert!(!explorer.status.is_server_error(), "{}", explorer.text);
    assert!(!explorer.text.contains("<img src=x"), "{}", explorer.text);
    assert!(explorer.text.contains("&lt;img"), "{}", explorer.text);
}

/// Group names are free text that every member and consultant sees in
/// the group list: they should be bounded and cleaned like member names
/// (200 characters, no control or bidi characters).
#[tokio::test]
async fn breaker28b_group_names_are_bounded_and_plain() {
    let app = TestApp::spawn().await;
    named_ring(&app, &[]).await;
    let mut w = analyst(&app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/gruppe").await;
    let long = format!("Nord{}", "x".repeat(10_000));
    let p = save(&mut w, &csrf, "Nord", "lang", &long).await;
    assert!(!p.status.is_server_error(), "{}", p.status);
    let p = save(
        &mut w,
        &csrf,
        "Sued",
        "bidi",
        "Sued\u{202e}nedeirF\u{7}\nzweite Zeile",
    )
    .await;
    assert!(!p.status.is_server_error(), "{}", p.status);
    let groups = app.get("/api/v1/groups", Some(&app.admin)).await;
    for g in groups.body.as_array().unwrap() {
        let name = g["name"].as_str().unwrap();
        assert!(
            name.chars().count() <= 200,
            "{} chars",
            name.chars().count()
        );
        assert!(
            !name
                .chars()
                .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{name:?}"
        );
    }
}

/// Hostile domains and years in the builder's check and the explorer are
/// 4xx with nothing internal in the answer.
#[tokio::test]
async fn breaker28b_builder_and_explorer_hostile_domain_year() {
    let app = TestApp::spawn().await;
    named_ring(&app, &[]).await;
    let mut w = analyst(&app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/gruppe").await;
    for (bereich, jahr) in [
        ("../../etc/passwd", "2024"),
        ("<x>", "2024"),
        ("", "2024"),
        ("library", "99999999999"),
        ("library", "-2024"),
        ("library", "1989"),
        ("library", "2101"),
        ("library", "2023"),
        ("museum", "2024"),
    ] {
        let p = preview(&mut w, &csrf, "Nord", bereich, jahr).await;
        no_leak(&app, p.status, &p.text);
        assert!(!p.text.contains("<x>"), "{}", p.text);
    }
    for q in [
        "bereich=..%2F..&jahr=2024",
        "bereich=library&jahr=2023",
        "bereich=library&jahr=2024&kennzahl=%3Cx%3E",
        "bereich=library&jahr=2024&gruppierung=keine",
        "bereich=library&jahr=2024&kennzahl=population",
        "bereich=library&jahr=99999",
    ] {
        let p = w.get(&format!("/web/analyse?{q}")).await;
        no_leak(&app, p.status, &p.text);
        assert!(!p.text.contains("<x>"), "{}", p.text);
    }
    // A basic figure (not a key figure) is not explorable.
    let p = w
        .get("/web/analyse?bereich=library&jahr=2024&kennzahl=loans&gruppierung=all")
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", p.text);
}

/// The explorer shows no more than the API gives the analyst: a group
/// below the threshold has no statistics on the page.
#[tokio::test]
async fn breaker28b_explorer_no_more_than_api() {
    let app = TestApp::spawn().await;
    named_ring(&app, &[]).await;
    let mut w = analyst(&app).await;
    let page = w
        .get("/web/analyse?bereich=library&jahr=2024&kennzahl=media_per_capita&gruppierung=all")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    // No member's id or name appears among the statistics.
    for i in 1..=12 {
        let id = format!("05{i:03}000");
        assert!(!page.text.contains(&id), "{id}: {}", page.text);
    }
    let api = app
        .get(
            "/api/v1/comparisons/library/2024?figure=media_per_capita&group_by=all",
            Some(&app.analyst),
        )
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text);
    let n = api.text.contains("\"n\":12");
    assert!(n, "{}", api.text);
}

/// The SQL console's CSV download neutralises cells that a spreadsheet
/// would run as a formula.
#[tokio::test]
async fn breaker28b_sql_csv_neutralises_formulas() {
    let app = TestApp::spawn().await;
    named_ring(&app, &[]).await;
    let mut w = analyst(&app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/sql").await;
    let body = w
        .post_form_bytes(
            "/web/analyse/sql",
            &[
                ("csrf", &csrf),
                (
                    "sql",
                    "SELECT '=HYPERLINK(\"http://evil.example\";\"x\")' AS a, '@SUM(1+1)' AS b FROM comparisons LIMIT 1",
                ),
                ("format", "csv"),
            ],
        )
        .await;
    let text = String::from_utf8(body).unwrap();
    for line in text.lines().skip(1) {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with('=') && !cell.starts_with('@'),
                "formula cell {cell:?} in {text}"
            );
        }
    }
}

/// The SQL console's XLSX download writes text cells as text, never as
/// formulas, and neutralises a leading `=` (with an apostrophe).
#[tokio::test]
async fn breaker28b_sql_xlsx_has_no_formulas() {
    use calamine::Reader;
    let app = TestApp::spawn().await;
    named_ring(&app, &[]).await;
    let mut w = analyst(&app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/sql").await;
    let body = w
        .post_form_bytes(
            "/web/analyse/sql",
            &[
                ("csrf", &csrf),
                (
                    "sql",
                    "SELECT '=HYPERLINK(\"http://evil.example\";\"x\")' AS a, '=1+2' AS b FROM comparisons LIMIT 1",
                ),
                ("format", "xlsx"),
            ],
        )
        .await;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(body)).unwrap();
    let mut texts = 0;
    for name in wb.sheet_names() {
        let formulas = wb.worksheet_formula(&name).unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "formulas in {name}"
        );
        let range = wb.worksheet_range(&name).unwrap();
        for (_, _, c) in range.used_cells() {
            let text = c.to_string();
            assert!(!text.starts_with('='), "{text:?} would run as a formula");
            texts += usize::from(text.contains("=1+2"));
        }
    }
    assert_eq!(texts, 1, "the text is kept, neutralised");
}

/// Refused and failing queries in the console are 400 with no internals;
/// reading files or other tables is refused.
#[tokio::test]
async fn breaker28b_sql_console_errors_and_files() {
    let app = TestApp::spawn().await;
    named_ring(&app, &[]).await;
    let mut w = analyst(&app).await;
    let csrf = csrf_of(&mut w, "/web/analyse/sql").await;
    for sql in [
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM read_parquet('figures.parquet')",
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/'",
        "SELECT * FROM submissions",
        "SELECT * FROM figures",
        "SELECT nonsense(",
        "SELECT 1/0 FROM comparisons",
    ] {
        for format in ["html", "csv", "xlsx", "parquet", "pdf"] {
            let p = w
                .post_form(
                    "/web/analyse/sql",
                    &[("csrf", &csrf), ("sql", sql), ("format", format)],
                )
                .await;
            no_leak(&app, p.status, &p.text);
            assert!(!p.text.contains("root:"), "{}", p.text);
            if p.status == StatusCode::TOO_MANY_REQUESTS {
                return;
            }
        }
    }
}

/// A consultant reads only reports of members that granted it access, and
/// a revoked grant ends that at once for an open session; path tricks do
/// not help.
#[tokio::test]
async fn breaker28b_consultant_reports_follow_live_grants() {
    let app = TestApp::spawn().await;
    let ids = named_ring(&app, &[]).await;
    let mut c = web::signed_in_user(
        &app,
        json!({"email": "c@kanzlei.example", "name": "Cora Berat", "role": "consultant", "consultant_id": "kanzlei"}),
    )
    .await;
    let before = c
        .get(&format!("/web/beratung/bericht/{}/2024", ids[0]))
        .await;
    assert_eq!(before.status, StatusCode::FORBIDDEN, "{}", before.text);
    let g = app
        .post_json(
            &format!("/api/v1/members/{}/grants", ids[0]),
            Some(&app.admin),
            &json!({"consultant_id": "kanzlei"}),
        )
        .await;
    assert!(g.status.is_success(), "{}", g.text);
    let ok = c
        .get(&format!("/web/beratung/bericht/{}/2024", ids[0]))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let home = c.get("/web/beratung").await;
    assert!(home.text.contains(&ids[0]), "{}", home.text);
    assert!(!home.text.contains(&ids[1]), "{}", home.text);
    for path in [
        format!("/web/beratung/bericht/{}/2024", ids[1]),
        format!("/web/beratung/bericht/{}/2024?format=xlsx", ids[1]),
        format!("/web/beratung/bericht/{}/2024?format=csv", ids[1]),
        format!("/web/beratung/bericht/{}%2F..%2F{}/2024", ids[0], ids[1]),
        format!("/web/beratung/bericht/{}%20/2024", ids[0]),
        format!("/web/beratung/bericht/{},{}/2024", ids[0], ids[1]),
        format!("/web/beratung/bericht/{}/abc", ids[0]),
        format!("/web/beratung/bericht/{}/1800", ids[0]),
        format!("/web/beratung/bericht/{}/99999999999", ids[0]),
        "/web/beratung/bericht/%2A/2024".to_string(),
    ] {
        let p = c.get(&path).await;
        assert!(
            p.status == StatusCode::FORBIDDEN
                || p.status == StatusCode::NOT_FOUND
                || p.status == StatusCode::BAD_REQUEST,
            "{path}: {} {}",
            p.status,
            p.text
        );
        no_leak(&app, p.status, &p.text);
    }
    // Granted, but a year without figures or out of range: 4xx.
    for year in ["2023", "1990", "2100"] {
        let p = c
            .get(&format!(
                "/web/beratung/bericht/{}/{year}?format=csv",
                ids[0]
            ))
            .await;
        assert!(
            p.status.is_client_error(),
            "{year}: {} {}",
            p.status,
            p.text
        );
        no_leak(&app, p.status, &p.text);
    }
    let r = app
        .delete(
            &format!("/api/v1/members/{}/grants/kanzlei", ids[0]),
            Some(&app.admin),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    for format in ["", "?format=xlsx", "?format=csv"] {
        let after = c
            .get(&format!("/web/beratung/bericht/{}/2024{format}", ids[0]))
            .await;
        assert_eq!(
            after.status,
            StatusCode::FORBIDDEN,
            "{format}: {}",
            after.text
        );
    }
    let home = c.get("/web/beratung").await;
    assert!(!home.text.contains(&ids[0]), "{}", home.text);
}

/// Members and analysts have no consultant workspace.
#[tokio::test]
async fn breaker28b_consultant_workspace_role_gate() {
    let app = TestApp::spawn().await;
    let ids = named_ring(&app, &[]).await;
    let t = app.token(Role::Member, Some(&ids[0])).await;
    let mut member = WebClient::new(&app);
    member.sign_in(&t).await;
    for path in [
        "/web/beratung".to_string(),
        format!("/web/beratung/bericht/{}/2024", ids[0]),
        format!("/web/beratung/bericht/{}/2024", ids[1]),
    ] {
        let p = member.get(&path).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}: {}", p.text);
    }
    let mut a = analyst(&app).await;
    let p = a
        .get(&format!("/web/beratung/bericht/{}/2024", ids[1]))
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);
}

/// Publishing: only admins, only confirmed, never 5xx for unknown domains
/// or years, freezing twice is a conflict.
#[tokio::test]
async fn breaker28b_publish_gates_and_confirmation() {
    let app = TestApp::spawn().await;
    let ids = named_ring(&app, &[]).await;
    let mut a = analyst(&app).await;
    let p = a
        .get("/web/veroeffentlichen?bereich=library&jahr=2024")
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);
    let csrf = csrf_of(&mut a, "/web/analyse/sql").await;
    let p = a
        .post_form(
            "/web/veroeffentlichen",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("aktion", "einfrieren"),
                ("bestaetigt", "ja"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);

    let mut admin = web::signed_in_admin(&app).await;
    let csrf = csrf_of(
        &mut admin,
        "/web/veroeffentlichen?bereich=library&jahr=2024",
    )
    .await;
    // Without confirmation nothing happens.
    for bestaetigt in ["", "JA", "ja ", "1", "true"] {
        let p = admin
            .post_form(
                "/web/veroeffentlichen",
                &[
                    ("csrf", &csrf),
                    ("bereich", "library"),
                    ("jahr", "2024"),
                    ("aktion", "einfrieren"),
                    ("bestaetigt", bestaetigt),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::OK, "{bestaetigt:?}: {}", p.text);
    }
    let more = app
        .upload(
            "library",
            2024,
            &app.admin,
            crate::helpers::PARQUET,
            crate::helpers::library_bulk_file(&[(ids[0].as_str(), 120_000.0, 1.05)]),
        )
        .await;
    assert_eq!(
        more.status,
        StatusCode::CREATED,
        "not frozen: {}",
        more.text
    );
    // Without the CSRF token: refused.
    let p = admin
        .post_form(
            "/web/veroeffentlichen",
            &[
                ("csrf", "x"),
                ("bereich", "library"),
                ("jahr", "2024"),
                ("aktion", "einfrieren"),
                ("bestaetigt", "ja"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);
    // Confirmed twice: done, then a conflict.
    let form = |aktion: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("bereich", "library".to_string()),
            ("jahr", "2024".to_string()),
            ("aktion", aktion.to_string()),
            ("bestaetigt", "ja".to_string()),
        ]
    };
    let f = form("einfrieren");
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = admin.post_form("/web/veroeffentlichen", &f).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text);
    let second = admin.post_form("/web/veroeffentlichen", &f).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text);
    for (bereich, jahr, aktion) in [
        ("nope", "2024", "veroeffentlichen"),
        ("<x>", "2024", "einfrieren"),
        ("library", "1800", "einfrieren"),
        ("library", "99999999999", "veroeffentlichen"),
        ("library", "2019", "veroeffentlichen"),
        ("library", "2024", "loeschen"),
        ("museum", "2024", "veroeffentlichen"),
    ] {
        let p = admin
            .post_form(
                "/web/veroeffentlichen",
                &[
                    ("csrf", &csrf),
                    ("bereich", bereich),
                    ("jahr", jahr),
                    ("aktion", aktion),
                    ("bestaetigt", "ja"),
                ],
            )
            .await;
        no_leak(&app, p.status, &p.text);
        assert!(!p.text.contains("<x>"), "{}", p.text);
    }
    for q in [
        "bereich=nope&jahr=2024",
        "bereich=library&jahr=abc",
        "bereich=library&jahr=3000",
    ] {
        let p = admin.get(&format!("/web/veroeffentlichen?{q}")).await;
        no_leak(&app, p.status, &p.text);
    }
}

/// Member registration: admins only; hostile names are cleaned or
/// refused; keys that do not fit the kind are refused.
#[tokio::test]
async fn breaker28b_member_registration_hostile() {
    let app = TestApp::spawn().await;
    let mut a = analyst(&app).await;
    let p = a.get("/web/mitglieder").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);
    let csrf = csrf_of(&mut a, "/web/analyse/sql").await;
    let p = a
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
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);
    let members = app.get("/api/v1/members", Some(&app.admin)).await;
    assert!(!members.text.contains("05315000"), "{}", members.text);

    let mut admin = web::signed_in_admin(&app).await;
    let csrf = csrf_of(&mut admin, "/web/mitglieder").await;
    let long = "K".repeat(10_000);
    for (id, name, kind, ok) in [
        (
            "05315000",
            "<script>alert(1)</script>",
            "kreisfreie_stadt",
            true,
        ),
        ("05111000", long.as_str(), "kreisfreie_stadt", true),
        (
            "05112000",
            "Duis\u{0}burg\u{7}\r\nX",
            "kreisfreie_stadt",
            true,
        ),
        ("05113000", "\u{1}\u{2}\u{200b}", "kreisfreie_stadt", false),
        ("05114000", "", "kreisfreie_stadt", false),
        ("05315000", "Köln", "landkreis", false),
        ("05", "Zu kurz", "kreisfreie_stadt", false),
        ("<b>1</b>", "Html", "kreisfreie_stadt", false),
        ("05116000", "Art", "bundesland", false),
    ] {
        let p = admin
            .post_form(
                "/web/mitglieder",
                &[
                    ("csrf", &csrf),
                    ("member_id", id),
                    ("name", name),
                    ("kind", kind),
                ],
            )
            .await;
        no_leak(&app, p.status, &p.text);
        assert!(!p.text.contains("<script>alert"), "{}", p.text);
        assert!(!p.text.contains("<b>1</b>"), "{}", p.text);
        if ok {
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{id}: {}", p.text);
        } else {
            assert_eq!(
                p.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{id} {name:?} {kind}: {}",
                p.text
            );
        }
    }
    let members = app.get("/api/v1/members", Some(&app.admin)).await;
    for m in members.body.as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        assert!(!name.trim().is_empty(), "{}", members.text);
        assert!(name.chars().count() <= 200, "{}", name.len());
        assert!(!name.chars().any(char::is_control), "{name:?}");
    }
    assert!(
        members.text.contains("\"kreisfreie_stadt\""),
        "{}",
        members.text
    );
    let page = admin.get("/web/mitglieder?ags=05315000").await;
    assert!(!page.text.contains("<script>alert"), "{}", page.text);
}

/// Data entry shows a member its own figures and drafts only; other
/// members' drafts never appear; other roles are turned away.
#[tokio::test]
async fn breaker28b_entry_isolated_between_members() {
    let app = TestApp::spawn().await;
    let ids = named_ring(&app, &[]).await;
    let tb = app.token(Role::Member, Some(&ids[1])).await;
    let mut b = WebClient::new(&app);
    b.sign_in(&tb).await;
    let page = b.get("/web/erfassung?bereich=library&jahr=2025").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csrf = web::hidden(&page.text, "csrf");
    let d = b
        .post_form(
            "/web/erfassung",
            &[
                ("csrf", &csrf),
                ("bereich", "library"),
                ("jahr", "2025"),
                ("aktion", "entwurf"),
                ("f_loans", "987654321"),
                ("member_id", &ids[0]),
            ],
        )
        .await;
    assert_eq!(d.status, StatusCode::SEE_OTHER, "{}", d.text);
    let mine = b.get("/web/erfassung?bereich=library&jahr=2025").await;
    assert!(mine.text.contains("987.654.321"), "{}", mine.text);

    let ta = app.token(Role::Member, Some(&ids[0])).await;
    let mut a = WebClient::new(&app);
    a.sign_in(&ta).await;
    for q in [
        "bereich=library&jahr=2025".to_string(),
        format!("bereich=library&jahr=2025&member_id={}", ids[1]),
        format!("bereich=library&jahr=2025&mitglied={}", ids[1]),
    ] {
        let p = a.get(&format!("/web/erfassung?{q}")).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.text);
        assert!(!p.text.contains("987.654.321"), "{q}: {}", p.text);
        assert!(!p.text.contains("987654321"), "{q}: {}", p.text);
    }
    let r = a
        .get(&format!(
            "/web/erfassung/vorlage?bereich=library&jahr=2025&member_id={}",
            ids[1]
        ))
        .await;
    assert!(!r.text.contains("987654321"), "template leaks the draft");
    // B's 2024 loans (480000 * 1.1 = 528000) are not in A's form.
    let p = a.get("/web/erfassung?bereich=library&jahr=2024").await;
    assert!(!p.text.contains("528.000"), "{}", p.text);

    let mut an = analyst(&app).await;
    for path in [
        "/web/erfassung",
        "/web/erfassung?bereich=library&jahr=2024",
        "/web/erfassung/vorlage?bereich=library&jahr=2024",
    ] {
        let p = an.get(path).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}: {}", p.text);
    }
}

/// Form fields for figures of another domain, or unknown fields, are not
/// stored in a member's draft.
#[tokio::test]
async fn breaker28b_entry_other_domain_fields_ignored() {
    let app = TestApp::spawn().await;
    let ids = named_ring(&app, &[]).await;
    let t = app.token(Role::Member, Some(&ids[2])).await;
    let mut m = WebClient::new(&app);
    m.sign_in(&t).await;
    let page = m.get("/web/erfassung?bereich=museum&jahr=2025").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csrf = web::hidden(&page.text, "csrf");
    let d = m
        .post_form(
            "/web/erfassung",
            &[
                ("csrf", &csrf),
                ("bereich", "museum"),
                ("jahr", "2025"),
                ("aktion", "entwurf"),
                ("f_loans", "7777777"),
                ("f_../../x", "1"),
            ],
        )
        .await;
    assert!(!d.status.is_server_error(), "{}", d.text);
    let lib = m.get("/web/erfassung?bereich=library&jahr=2025").await;
    assert!(!lib.text.contains("7.777.777"), "{}", lib.text);
    let mus = m.get("/web/erfassung?bereich=museum&jahr=2025").await;
    assert!(!mus.text.contains("7.777.777"), "{}", mus.text);
    for (bereich, jahr) in [("<x>", "2025"), ("library", "1989"), ("library", "x")] {
        let p = m
            .get(&format!("/web/erfassung?bereich={bereich}&jahr={jahr}"))
            .await;
        no_leak(&app, p.status, &p.text);
        assert!(!p.text.contains("<x>"), "{}", p.text);
    }
}
