//! Unit tests of the web page: cookies, the origin check and sessions, and
//! that the pages escape what comes from outside.

use vergleichsring_catalog::Catalog;
use vergleichsring_engine::{SubmitOutcome, Warning};
use vergleichsring_ingest::RowError;

use super::*;
use crate::secrets::csrf_of;

#[test]
fn cookies_and_secrets() {
    let mut h = HeaderMap::new();
    h.insert(COOKIE, HeaderValue::from_static("a=1; vr_session=abc; b=2"));
    assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
    assert_eq!(cookie(&h, "missing"), None);
    assert!(same_secret("abc", "abc"));
    assert!(!same_secret("abc", "abd"));
    assert!(!same_secret("abc", "ab"));
    let c = set_cookie(&h, SESSION_COOKIE, "x", 60);
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
    h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    assert!(set_cookie(&h, SESSION_COOKIE, "x", 60).ends_with("; Secure"));
}

#[test]
fn cross_site_posts_are_refused() {
    let mut h = HeaderMap::new();
    h.insert(HOST, HeaderValue::from_static("ring.example:8080"));
    assert!(same_origin(&h).is_ok());
    h.insert(
        "origin",
        HeaderValue::from_static("http://ring.example:8080"),
    );
    assert!(same_origin(&h).is_ok());
    h.insert("origin", HeaderValue::from_static("http://evil.example"));
    assert!(same_origin(&h).is_err());
    h.remove("origin");
    h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
    assert!(same_origin(&h).is_err());
}

/// A session's CSRF token is its own: another session's differs, and it
/// is not the cookie's value.
#[test]
fn csrf_tokens_are_per_session() {
    let (a, b) = (random_hex(), random_hex());
    assert_ne!(a, b);
    assert_eq!(csrf_of(&a), csrf_of(&a));
    assert_ne!(csrf_of(&a), csrf_of(&b));
    assert_ne!(csrf_of(&a), a);
    assert_eq!(csrf_of(&a).len(), 64);
}

/// A member whose name and CSRF token try to break out of the markup.
fn hostile_member() -> Member {
    Member {
        caller: Caller {
            token_id: "t1".into(),
            on_behalf: None,
            role: Role::Member,
            member_id: Some("05001000".into()),
            consultant_id: None,
            grants: Default::default(),
        },
        member_id: "05001000".into(),
        name: r#"<script>alert("name")</script>"#.into(),
        csrf: r#""><script>csrf</script>"#.into(),
        lead: true,
        user: None,
    }
}

/// An accepted library upload with one warning.
fn saved(member: &Member, rule: &str, message_de: &str) -> SubmitOutcome {
    SubmitOutcome {
        submission_id: "sub_1".into(),
        domain: "library".into(),
        year: 2024,
        rows: 1,
        members: vec![member.member_id.clone()],
        data_version: "1".into(),
        upload_sha256: String::new(),
        format: "csv".into(),
        warnings: vec![Warning {
            member_id: member.member_id.clone(),
            figure: "loans".into(),
            rule: rule.into(),
            message: String::new(),
            message_de: message_de.into(),
            row: 1,
        }],
        publication: None,
    }
}

#[test]
fn pages_escape_what_comes_from_outside() -> Result<(), vergleichsring_catalog::CatalogError> {
    let catalog = Catalog::bundled()?;
    let member = hostile_member();
    let file = "<img src=x>&.csv";
    let outcome = saved(&member, r#"q" onmouseover="x"#, "<i>zu hoch</i>");
    let errors = [RowError {
        row: Some(1),
        member_id: Some("<u>".into()),
        column: Some("<s>".into()),
        rule: "not_a_number".into(),
        message: "<em>viele</em>".into(),
    }];
    let pages = [
        pages::upload_saved(&catalog, &member, "library", 2024, file, &outcome),
        pages::upload_refused(&catalog, &member, "library", 2024, file, &errors),
        pages::upload_frozen(&catalog, &member, "library", 2024, "<rel>"),
        pages::overview(&catalog, &member, true, &[], &[], &[]),
        pages::login("nonce", Some("<i>SSO</i>"), true, Some("<b>kaputt</b>")),
        layout::error_page("<script>x</script>"),
    ];
    for page in pages {
        let html = page.into_string();
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        for raw in [
            "<script>",
            "<img",
            "<i>",
            "<b>",
            "<u>",
            "<s>",
            "<em>",
            "<rel>",
            r#"q" onmouseover"#,
        ] {
            assert!(!html.contains(raw), "{raw} unescaped in {html}");
        }
    }
    Ok(())
}

#[test]
fn forms_keep_their_fields() -> Result<(), vergleichsring_catalog::CatalogError> {
    let member = hostile_member();
    let html = pages::login("abc123", None, false, None).into_string();
    assert!(html.contains(r#"<input type="hidden" name="nonce" value="abc123">"#));
    assert!(html.contains(r#"name="token""#) && !html.contains("role=\"alert\""));
    let html = layout::layout("T", Some(("Name", "tok")), maud::html! {}).into_string();
    assert!(html.contains(r#"<input type="hidden" name="csrf" value="tok">"#));
    assert!(html.contains("<title>T – Vergleichsring</title>"));
    // The style is sent as it is: entity-escaped quotes would break CSS.
    assert!(html.contains(r#"font-family: "Segoe UI""#));
    let catalog = Catalog::bundled()?;
    let html = pages::overview(&catalog, &member, false, &[], &[], &[]).into_string();
    assert!(html.contains("Noch keine Einreichungen.") && !html.contains("role=\"status\""));
    // Each warning's explanation form labels its own text area.
    let outcome = saved(&member, "yoy_loans", "zu hoch");
    let html =
        pages::upload_saved(&catalog, &member, "library", 2024, "a.csv", &outcome).into_string();
    assert!(html.contains(r#"<label for="x-sub_1-yoy_loans">Erklärung</label>"#));
    assert!(html.contains(r#"<textarea id="x-sub_1-yoy_loans" name="text""#));
    assert!(html.contains(r#"<input type="hidden" name="rule" value="yoy_loans">"#));
    Ok(())
}
