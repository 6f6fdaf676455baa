//! Unit tests of the web page: cookies, the origin check and sessions.

use super::*;

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

#[test]
fn sessions_expire_and_are_bounded() {
    let s = Sessions::default();
    let (id, csrf) = s.create("tok".into());
    assert_eq!(s.get(&id), Some(("tok".to_string(), csrf)));
    s.remove(&id);
    assert_eq!(s.get(&id), None);
    assert_ne!(random_hex(), random_hex());
}
