//! The state log under a flood of sign-ins (issue 26): a token or an
//! account holds a bounded number of sessions, a start reads the newest
//! checkpoint and the changes after it, and personal tokens neither
//! multiply without bound nor multiply the rate limits.

use reqwest::StatusCode;
use vergleichsring_store::{AccountLimits, MAX_SESSIONS_PER_PRINCIPAL, NewUser, Role, Store};

use crate::helpers::TestApp;
use crate::web::{WebClient, hidden};

/// One member token with ten sessions (started through the store, as
/// another replica would: the web form allows only ten token sign-ins per
/// token in 15 minutes), then one more sign-in through the web page: it
/// ends the oldest session (its browser is signed out), the others go on.
#[tokio::test]
async fn one_token_holds_a_bounded_number_of_sessions() {
    let app = TestApp::spawn().await;
    app.register(&[("05315000", "Köln", "kreisfreie_stadt")])
        .await;
    let member = app.token(Role::Member, Some("05315000")).await;
    let store = Store::open(app.dir.path()).await.unwrap();
    let token_id = store.authenticate(&member).await.unwrap().token_id;
    let mut browsers = Vec::new();
    for _ in 0..MAX_SESSIONS_PER_PRINCIPAL {
        let id = store.start_session(&token_id).await.unwrap();
        browsers.push(WebClient::new(&app).with_session(&id));
    }
    for b in &mut browsers {
        let page = b.get("/web").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.text.contains("name=\"token\""), "signed in");
    }
    let mut newest = WebClient::new(&app);
    let page = newest.sign_in(&member).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let first = browsers[0].get("/web").await;
    assert!(
        first.text.contains("name=\"token\""),
        "the oldest session ended: the sign-in form again"
    );
    for b in browsers[1..].iter_mut().chain(std::iter::once(&mut newest)) {
        let page = b.get("/web").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.text.contains("name=\"token\""), "still signed in");
    }
    store.follow_state().await.unwrap();
    assert_eq!(store.live_sessions(), MAX_SESSIONS_PER_PRINCIPAL);
}

/// A thousand sign-ins and sign-outs, then a restart: the new process
/// starts from the newest checkpoint and reads fewer changes than the
/// checkpoint interval after it; a session started before the restart
/// still works and one ended before it does not.
#[tokio::test]
async fn a_restart_after_many_sign_ins_reads_one_checkpoint_and_the_rest() {
    let mut app = TestApp::spawn().await;
    app.register(&[("05315000", "Köln", "kreisfreie_stadt")])
        .await;
    let (_, record) = Store::create_token(
        app.dir.path(),
        Role::Member,
        Some("05315000".into()),
        None,
        vec![],
    )
    .await
    .unwrap();
    let store = Store::open(app.dir.path()).await.unwrap();
    let mut ended = String::new();
    for i in 0..600 {
        let id = store.start_session(&record.token_id).await.unwrap();
        if i < 599 {
            store.end_session(&id).await.unwrap();
            ended = id;
        }
    }
    let kept = store.start_session(&record.token_id).await.unwrap();
    app.restart().await;
    let fresh = Store::open(app.dir.path()).await.unwrap();
    let loaded = fresh.state_loaded();
    assert!(loaded.checkpoint.is_some_and(|c| c >= 1000), "{loaded:?}");
    assert!(loaded.changes < 500, "{loaded:?}");
    let mut old = WebClient::new(&app).with_session(&ended);
    assert!(old.get("/web").await.text.contains("name=\"token\""));
    let mut new = WebClient::new(&app).with_session(&kept);
    let page = new.get("/web").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("name=\"token\""), "{}", page.text);
}

/// An account makes personal tokens up to the limit and is told to revoke
/// one before the next; its tokens share one upload allowance.
#[tokio::test]
async fn personal_tokens_are_bounded_and_share_the_person_s_limits() {
    let app = TestApp::spawn().await;
    app.register(&[("05315000", "Köln", "kreisfreie_stadt")])
        .await;
    let store = Store::open(app.dir.path()).await.unwrap();
    let (user, code) = store
        .invite_user(
            "test",
            NewUser {
                email: "erika@koeln.example".into(),
                name: "Erika".into(),
                role: Role::Member,
                member_id: Some("05315000".into()),
                consultant_id: None,
                lead: false,
            },
        )
        .await
        .unwrap();
    store
        .accept_invitation(&code, "ein langes Passwort 42")
        .await
        .unwrap();
    let session = store.start_user_session(&user.user_id).await.unwrap();
    let mut erika = WebClient::new(&app).with_session(&session);
    let max = AccountLimits::default().personal_tokens;
    let mut tokens = Vec::new();
    for i in 0..=max {
        let page = erika.get("/web/schluessel").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let csrf = hidden(&page.text, "csrf");
        let label = format!("Skript {i}");
        let made = erika
            .post_form(
                "/web/schluessel",
                &[("csrf", &csrf), ("label", &label), ("bis", "")],
            )
            .await;
        if i < max {
            assert_eq!(made.status, StatusCode::OK, "{}", made.text);
            tokens.push(made.text);
        } else {
            assert_eq!(made.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                made.text.contains("so viele persönliche Schlüssel"),
                "{}",
                made.text
            );
        }
    }
    store.follow_state().await.unwrap();
    let personal: Vec<_> = store.personal_tokens(&user.user_id);
    assert_eq!(personal.len(), max);
    let marker = "Ihr neuer Schlüssel (er wird nur jetzt angezeigt): <code>";
    let tokens: Vec<String> = tokens
        .iter()
        .map(|page| {
            let start = page.find(marker).unwrap() + marker.len();
            page[start..].split('<').next().unwrap().to_string()
        })
        .collect();
    // Uploads of empty files through all ten tokens in turn: counted per
    // person, so the allowance of one token (30 a minute) is spent after
    // 30 of them, not 300.
    let per_minute = 30;
    let mut refused = None;
    for i in 0..(per_minute + 1) {
        let token = &tokens[i % tokens.len()];
        let answer = app
            .upload("library", 2024, token, "text/csv", bytes::Bytes::new())
            .await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(i);
            break;
        }
        assert_ne!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
    }
    assert_eq!(refused, Some(per_minute));
}
