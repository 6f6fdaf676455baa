//! Accounts under attack (issue 26): guessing second-factor codes and
//! recovery codes, replaying the enrolling code, a session id watched
//! before the second factor, names that try to write into mails,
//! addresses with a display name, a reset form and a lead's invitation
//! that could tell which addresses have accounts, and personal tokens
//! that outlive a reset. Everything through the real server.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, free_port};
use crate::operations::{Served, serve_binary};
use crate::people::{Jar, Ring, hidden, link_in, mail, mail_server, ring};
use crate::web::{code_next, code_now};

const PASSWORD: &str = "ein langes Passwort";

/// A member user of Stadt Köln invited by admin, with its password set,
/// signed in in a jar of its own; returns its user id too.
async fn member_user(app: &TestApp, email: &str) -> (Jar, String) {
    let made = app
        .post_json(
            "/api/v1/users",
            Some(&app.admin),
            &json!({"email": email, "name": "Zoe Zwei", "role": "member", "member_id": "05315000"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let link = made.body["invitation_path"].as_str().unwrap().to_string();
    let mut jar = Jar::new();
    let (status, _, body) = jar
        .post(
            &app.url(&link),
            &[("password", PASSWORD), ("password2", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    (jar, made.body["user_id"].as_str().unwrap().to_string())
}

/// Enrols the second factor in a signed-in jar with the app's current
/// code; returns the secret and the recovery codes.
async fn enrol(app: &TestApp, jar: &mut Jar) -> (String, Vec<String>) {
    let (_, _, page) = jar.get(&app.url("/web/zweiter-faktor")).await;
    let secret = hidden(&page, "secret");
    let csrf = hidden(&page, "csrf");
    let (status, _, page) = jar
        .post(
            &app.url("/web/zweiter-faktor"),
            &[
                ("csrf", &csrf),
                ("secret", &secret),
                ("code", &code_now(&secret)),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let recovery = page
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect();
    (secret, recovery)
}

/// A new sign-in with the password that waits for the second factor: the
/// jar and the form's CSRF token.
async fn waiting_session(app: &TestApp, email: &str) -> (Jar, String) {
    let mut jar = Jar::new();
    let (_, _, page) = jar.get(&app.url("/web")).await;
    let nonce = hidden(&page, "nonce");
    let (status, location, body) = jar
        .post(
            &app.url("/web/anmelden"),
            &[("email", email), ("password", PASSWORD), ("nonce", &nonce)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location.as_deref(), Some("/web/zweiter-faktor"));
    let (_, _, form) = jar.get(&app.url("/web/zweiter-faktor")).await;
    assert!(form.contains("Bestätigungscode"), "{form}");
    let csrf = hidden(&form, "csrf");
    (jar, csrf)
}

/// Sends a code for the jar's waiting session: status and page.
async fn send_code(app: &TestApp, jar: &mut Jar, csrf: &str, code: &str) -> (StatusCode, String) {
    let (status, _, page) = jar
        .post(
            &app.url("/web/zweiter-faktor"),
            &[("csrf", csrf), ("code", code)],
        )
        .await;
    (status, page)
}

/// A six-digit code that is none of the three the service accepts now.
fn wrong_code(secret: &str, n: u32) -> String {
    let valid = [code_now(secret), code_next(secret)];
    (n..)
        .map(|i| format!("{:06}", (i * 7919) % 1_000_000))
        .find(|c| !valid.contains(c))
        .unwrap()
}

/// Whether a jar's session is signed in (the overview, not the sign-in).
async fn signed_in(app: &TestApp, jar: &mut Jar) -> bool {
    let (_, _, page) = jar.get(&app.url("/web")).await;
    page.contains("Stadt Köln") && !page.contains("<h1>Anmelden</h1>")
}

async fn app_with_member() -> TestApp {
    let app = TestApp::spawn().await;
    app.register(&[("05315000", "Stadt Köln", "kreisfreie_stadt")])
        .await;
    app
}

/// The enrolling code does not confirm the next sign-in (RFC 6238 §5.2);
/// after five wrong codes the session has ended and the right code no
/// longer confirms it; a confirmed session continues under a new id and
/// the id seen before the second factor is worth nothing.
#[tokio::test]
async fn the_second_factor_takes_five_codes_a_step_once_and_rotates_the_session() {
    let app = app_with_member().await;
    let (mut jar, _) = member_user(&app, "zoe@koeln.de").await;
    let (secret, _) = enrol(&app, &mut jar).await;
    let enrolling = code_now(&secret);

    let (mut waiting, csrf) = waiting_session(&app, "zoe@koeln.de").await;
    let (status, page) = send_code(&app, &mut waiting, &csrf, &enrolling).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the enrolling code: {page}"
    );
    assert!(page.contains("Noch 4 Versuche"), "{page}");
    for n in 1..=3 {
        let (status, page) = send_code(&app, &mut waiting, &csrf, &wrong_code(&secret, n)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains(&format!("Noch {}", 4 - n)), "{page}");
    }
    let watched = waiting.cookies["vr_session"].clone();
    let (status, page) = send_code(&app, &mut waiting, &csrf, &wrong_code(&secret, 9)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Diese Anmeldung ist beendet"), "{page}");
    // The right code, with the session's cookie, confirms nothing now.
    waiting.cookies.insert("vr_session".into(), watched);
    let (status, _) = send_code(&app, &mut waiting, &csrf, &code_next(&secret)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!signed_in(&app, &mut waiting).await);

    // A fresh sign-in: the code confirms it under a new session id, and
    // the id from before the code is signed out.
    let (mut fresh, csrf) = waiting_session(&app, "zoe@koeln.de").await;
    let before = fresh.cookies["vr_session"].clone();
    let (status, _) = send_code(&app, &mut fresh, &csrf, &code_next(&secret)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let after = fresh.cookies["vr_session"].clone();
    assert_ne!(before, after, "the session id is rotated");
    assert!(signed_in(&app, &mut fresh).await);
    let mut watcher = Jar::new();
    watcher.cookies.insert("vr_session".into(), before);
    assert!(!signed_in(&app, &mut watcher).await, "the old id ended");
    let (status, _, _) = watcher.get(&app.url("/web/zweiter-faktor")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Ten thousand guesses in parallel at one waiting session: at most five
/// are checked (counted before the check), none confirms, and afterwards
/// the right code does not either.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_parallel_guesses_never_confirm_a_session() {
    let app = app_with_member().await;
    let (mut jar, _) = member_user(&app, "ziel@koeln.de").await;
    let (secret, _) = enrol(&app, &mut jar).await;
    let (waiting, csrf) = waiting_session(&app, "ziel@koeln.de").await;
    let cookie = format!("vr_session={}", waiting.cookies["vr_session"]);
    let valid = [code_now(&secret), code_next(&secret)];
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = app.url("/web/zweiter-faktor");
    let started = Instant::now();
    // 500 in flight at any moment: parallel enough to race any check
    // that counts after the work.
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(500));
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..10_000u64 {
        let code = format!("{:06}", (i * 104_729 + 17) % 1_000_000);
        let code = if valid.contains(&code) {
            "999999".to_string()
        } else {
            code
        };
        let (client, url, cookie, csrf) =
            (client.clone(), url.clone(), cookie.clone(), csrf.clone());
        let permit = in_flight.clone().acquire_owned().await.unwrap();
        guesses.spawn(async move {
            let r = client
                .post(&url)
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string([("csrf", csrf), ("code", code)]).unwrap())
                .send()
                .await
                .unwrap();
            let answer = (r.status(), r.text().await.unwrap());
            drop(permit);
            answer
        });
    }
    let answers: Vec<(StatusCode, String)> = guesses.join_all().await;
    let took = started.elapsed();
    assert!(
        answers.iter().all(|(s, _)| *s != StatusCode::SEE_OTHER),
        "a guess confirmed the session"
    );
    let checked = answers
        .iter()
        .filter(|(_, page)| page.contains("stimmt nicht"))
        .count();
    assert!(
        checked < 5,
        "{checked} guesses were checked and refused with attempts left"
    );
    let mut after = Jar::new();
    after
        .cookies
        .insert("vr_session".into(), waiting.cookies["vr_session"].clone());
    let (status, _) = send_code(&app, &mut after, &csrf, &code_next(&secret)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the right code after the flood"
    );
    assert!(!signed_in(&app, &mut after).await);
    eprintln!("10,000 guesses answered in {took:?}");
}

/// An account's waiting sessions share ten codes on a replica: then even
/// the right code and an unused recovery code wait (429 with
/// `Retry-After`). Recovery codes are counted like app codes: five wrong
/// ones end a session, whose right recovery code then confirms nothing,
/// while the code stays unused for the next sign-in.
#[tokio::test]
async fn recovery_codes_count_and_an_account_pauses_after_ten_codes() {
    let app = app_with_member().await;
    let (mut jar, _) = member_user(&app, "rita@koeln.de").await;
    let (secret, recovery) = enrol(&app, &mut jar).await;
    assert_eq!(recovery.len(), 10);

    let (mut first, csrf) = waiting_session(&app, "rita@koeln.de").await;
    for n in 0..5 {
        let guess = format!("{:010x}", 0x00de_adbe_ef00_u64 + n);
        let (status, _) = send_code(&app, &mut first, &csrf, &guess).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, page) = send_code(&app, &mut first, &csrf, &recovery[0]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{page}");
    assert!(!signed_in(&app, &mut first).await);

    let (mut second, csrf) = waiting_session(&app, "rita@koeln.de").await;
    for n in 0..5 {
        let (status, _) = send_code(&app, &mut second, &csrf, &wrong_code(&secret, n)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (mut third, csrf) = waiting_session(&app, "rita@koeln.de").await;
    for code in [code_next(&secret), recovery[0].clone()] {
        let r = Jar::new()
            .client
            .post(app.url("/web/zweiter-faktor"))
            .header(
                "cookie",
                format!("vr_session={}", third.cookies["vr_session"]),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("csrf", &csrf), ("code", &code)]).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((800..=900).contains(&wait), "Retry-After {wait}");
        assert!(r.text().await.unwrap().contains("Zu viele falsche Codes"));
    }
    assert!(!signed_in(&app, &mut third).await);
    // A restart forgets the pause (the counters are per process), not the
    // used step or recovery code: the unused recovery code confirms.
    let mut app = app;
    app.restart().await;
    let (mut fourth, csrf) = waiting_session(&app, "rita@koeln.de").await;
    let (status, _) = send_code(&app, &mut fourth, &csrf, &recovery[0]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(signed_in(&app, &mut fourth).await);
}

/// A used time step holds after a restart: the code that confirmed a
/// sign-in confirms no other, also when the server started again between
/// them (the step is in the state log, not in the process).
#[tokio::test]
async fn a_used_step_stays_used_after_a_restart() {
    let mut app = app_with_member().await;
    let (mut jar, _) = member_user(&app, "udo@koeln.de").await;
    let (secret, _) = enrol(&app, &mut jar).await;
    let code = code_next(&secret);
    let (mut one, csrf) = waiting_session(&app, "udo@koeln.de").await;
    assert_eq!(
        send_code(&app, &mut one, &csrf, &code).await.0,
        StatusCode::SEE_OTHER
    );
    app.restart().await;
    let (mut two, csrf) = waiting_session(&app, "udo@koeln.de").await;
    let (status, page) = send_code(&app, &mut two, &csrf, &code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{page}");
}

/// A name with line breaks and a link goes into the invitation mail as
/// one plain line with the link defanged; an address with a display name
/// or angle brackets is refused with 422 naming the field.
#[tokio::test]
async fn names_in_mails_stay_one_line_and_addresses_are_strict() {
    let mailer = mail_server();
    let ring = ring(&mailer, None, free_port()).await;
    let http = reqwest::Client::new();
    let invite = |body: serde_json::Value| {
        http.post(format!("{}/api/v1/users", ring.base))
            .bearer_auth(&ring.admin)
            .json(&body)
            .send()
    };
    for email in [
        "x<victim@corp.example>",
        "Eve <eve@musterstadt.de>",
        "eve@musterstadt.de (Eve)",
        "eve@musterstadt.de, victim@corp.example",
    ] {
        let r = invite(json!({"email": email, "name": "Eve", "role": "analyst"}))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_email", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("email:") && message.contains("angle brackets"),
            "{message}"
        );
    }
    let name =
        "Eve\r\nBcc: victim@corp.example\r\n\r\nBitte hier anmelden: https://evil.example/login";
    let r = invite(json!({"email": "eve@musterstadt.de", "name": name, "role": "analyst"}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        made["name"],
        "Eve Bcc: victim@corp.example Bitte hier anmelden: https://evil.example/login"
    );
    let (to, _, text) = mail(&mailer, 1).await;
    assert_eq!(to, "eve@musterstadt.de", "one recipient");
    let greeting = text.lines().next().unwrap();
    assert_eq!(
        greeting,
        "Guten Tag Eve Bcc: victim@corp[.]example Bitte hier anmelden: https[:]//evil[.]example/login,"
    );
    assert!(!text.contains("https://evil"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("Bcc")), "{text}");
    assert!(text.contains(&format!("{}/web/einladung/", ring.base)));
}

/// A TCP server that accepts connections and never says a word: a mail
/// server that holds every delivery until its timeout.
fn silent_mail_server() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// The forgotten-password form answers the same status and page, at once,
/// for an address with an account and one without, also while the mail
/// server holds every delivery: the link is written and mailed after the
/// answer.
#[tokio::test]
async fn the_reset_form_answers_alike_and_at_once_for_known_and_unknown_addresses() {
    let (_silent, smtp_port) = silent_mail_server();
    let dir = tempfile::tempdir().unwrap();
    vergleichsring_store::Store::init(dir.path()).unwrap();
    {
        let store = vergleichsring_store::Store::open(dir.path()).await.unwrap();
        store
            .invite_user(
                "cli",
                vergleichsring_store::NewUser {
                    email: "bekannt@ring.example".into(),
                    name: "Bekannt".into(),
                    role: vergleichsring_store::Role::Analyst,
                    member_id: None,
                    consultant_id: None,
                    lead: false,
                },
            )
            .await
            .unwrap();
    }
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("ring.toml");
    std::fs::write(
        &config,
        format!(
            "public_url = \"{base}\"\n[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\nstarttls = false\nfrom = \"ring@example.de\"\ntimeout_seconds = 30\n"
        ),
    )
    .unwrap();
    let _served: Served = serve_binary(
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
        &[],
        port,
    )
    .await;
    let mut answers = Vec::new();
    for email in [
        "bekannt@ring.example",
        "unbekannt@ring.example",
        "bekannt@ring.example",
        "unbekannt@ring.example",
    ] {
        let mut jar = Jar::new();
        // A handler that mails before it answers would wait for the silent
        // server: fail instead of waiting with it.
        jar.client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let (_, _, form) = jar.get(&format!("{base}/web/passwort-vergessen")).await;
        let nonce = hidden(&form, "nonce");
        let started = Instant::now();
        let (status, _, page) = jar
            .post(
                &format!("{base}/web/passwort-vergessen"),
                &[("email", email), ("nonce", &nonce)],
            )
            .await;
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(3),
            "{email} answered after {took:?}: the work ran before the answer"
        );
        answers.push((status, page));
    }
    assert_eq!(answers[0].0, StatusCode::OK, "{}", answers[0].1);
    assert!(
        answers[0]
            .1
            .contains("Wenn es zu dieser Adresse einen Zugang gibt")
    );
    for other in &answers[1..] {
        assert_eq!(other, &answers[0]);
    }
}

/// A lead member's invitation answers the same status and page for an
/// address with an account anywhere in the ring and for a free one; the
/// free one gets the invitation (for the lead's municipality), the taken
/// one a notice that it has an account.
#[tokio::test]
async fn a_lead_invitation_answers_alike_for_taken_and_free_addresses() {
    let mailer = mail_server();
    let ring = ring(&mailer, None, free_port()).await;
    let Ring { base, admin, .. } = &ring;
    let http = reqwest::Client::new();
    let invite = |body: serde_json::Value| {
        http.post(format!("{base}/api/v1/users"))
            .bearer_auth(admin)
            .json(&body)
            .send()
    };
    let r = invite(json!({"email": "lea@musterstadt.de", "name": "Lea Lead", "role": "member", "member_id": "05001000", "lead": true})).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = invite(json!({"email": "ana@ring.example", "name": "Ana Analyse", "role": "analyst"}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, _, text) = mail(&mailer, 1).await;
    let mut lead = Jar::new();
    let (status, _, _) = lead
        .post(
            &link_in(&text, base),
            &[("password", PASSWORD), ("password2", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = lead.get(&format!("{base}/web/kollegen")).await;
    let csrf = hidden(&page, "csrf");

    let mut answers = Vec::new();
    // Taken (another municipality's, and the ring's), then free.
    for email in ["ana@ring.example", "karl@musterstadt.de"] {
        let (status, _, page) = lead
            .post(
                &format!("{base}/web/kollegen"),
                &[
                    ("csrf", &csrf),
                    ("name", "Karl Kollege"),
                    ("email", email),
                    ("member_id", "05315000"),
                ],
            )
            .await;
        answers.push((status, page.replace(email, "ADDRESS")));
    }
    assert_eq!(answers[0].0, StatusCode::OK, "{}", answers[0].1);
    assert!(
        answers[0].1.contains("per E-Mail unterwegs"),
        "{}",
        answers[0].1
    );
    assert!(
        !answers[0].1.contains("/web/einladung/"),
        "no link on the page"
    );
    assert_eq!(answers[0], answers[1]);
    let (status, _, page) = lead
        .post(
            &format!("{base}/web/kollegen"),
            &[
                ("csrf", &csrf),
                ("name", "X"),
                ("email", "x<victim@corp.example>"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");

    // Behind the answers: a notice to the account, an invitation to the
    // free address, into the lead's municipality.
    let mut mails = [mail(&mailer, 3).await, mail(&mailer, 4).await];
    mails.sort();
    let (to, subject, text) = &mails[0];
    assert_eq!(to, "ana@ring.example");
    assert!(subject.contains("schon einen Zugang"), "{subject}");
    assert!(text.contains("Guten Tag Ana Analyse"), "{text}");
    assert!(!text.contains("/web/einladung/"), "{text}");
    let (to, subject, text) = &mails[1];
    assert_eq!(to, "karl@musterstadt.de");
    assert!(subject.contains("Einladung"), "{subject}");
    let mut karl = Jar::new();
    let (status, _, _) = karl
        .post(
            &link_in(text, base),
            &[("password", PASSWORD), ("password2", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, overview) = karl.get(&format!("{base}/web")).await;
    assert!(overview.contains("Stadt Musterstadt"), "{overview}");
}

/// Personal tokens end with a password reset and with a second-factor
/// reset unless the person (or admin) keeps them; the mails say so.
#[tokio::test]
async fn resets_end_personal_tokens_unless_kept() {
    let mailer = mail_server();
    let ring = ring(&mailer, None, free_port()).await;
    let Ring { base, admin, .. } = &ring;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(admin)
        .json(&json!({"email": "bea@musterstadt.de", "name": "Bea", "role": "member", "member_id": "05001000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let user_id = r.json::<serde_json::Value>().await.unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, _, text) = mail(&mailer, 1).await;
    let mut bea = Jar::new();
    let (status, _, _) = bea
        .post(
            &link_in(&text, base),
            &[("password", PASSWORD), ("password2", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let works = |token: String| {
        let http = http.clone();
        let url = format!("{base}/api/v1/members");
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                == StatusCode::OK
        }
    };
    let mut n_mail = 1;
    let mut next_mail = || {
        n_mail += 1;
        n_mail
    };

    // Two tokens; a reset without keeping them ends both.
    let tokens = [
        make_token(&mut bea, base).await,
        make_token(&mut bea, base).await,
    ];
    for t in &tokens {
        assert!(works(t.clone()).await);
    }
    let reset = reset_link(&mailer, base, next_mail()).await;
    let (status, _, page) = Jar::new()
        .post(&reset, &[("password", PASSWORD), ("password2", PASSWORD)])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("2 persönliche Zugangsschlüssel wurden gesperrt"),
        "{page}"
    );
    for t in &tokens {
        assert!(!works(t.clone()).await, "a token outlived the reset");
    }

    // Kept when the box is ticked.
    let mut bea = signed_in_jar(base, "bea@musterstadt.de").await;
    let kept = make_token(&mut bea, base).await;
    let reset = reset_link(&mailer, base, next_mail()).await;
    let (status, _, page) = Jar::new()
        .post(
            &reset,
            &[
                ("password", PASSWORD),
                ("password2", PASSWORD),
                ("keep_tokens", "ja"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(works(kept.clone()).await, "kept on request");

    // A second-factor reset ends them by default, and the notice says so;
    // `keep_tokens=true` keeps them.
    let reset_factor = |query: &'static str| {
        http.delete(format!(
            "{base}/api/v1/users/{user_id}/second-factor{query}"
        ))
        .bearer_auth(admin)
        .send()
    };
    let mut bea = signed_in_jar(base, "bea@musterstadt.de").await;
    let other = make_token(&mut bea, base).await;
    let r = reset_factor("?keep_tokens=true").await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(works(other.clone()).await);
    let (_, subject, text) = mail(&mailer, next_mail()).await;
    assert!(subject.contains("Zweiter Faktor"), "{subject}");
    assert!(!text.contains("gesperrt"), "{text}");
    let r = reset_factor("").await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!works(kept).await);
    assert!(!works(other).await);
    let (_, _, text) = mail(&mailer, next_mail()).await;
    assert!(
        text.contains("Ihre persönlichen Zugangsschlüssel (2) wurden dabei gesperrt"),
        "{text}"
    );
    let r = reset_factor("?keep_tokens=vielleicht").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// Makes a personal token on the web page of a signed-in jar.
async fn make_token(jar: &mut Jar, base: &str) -> String {
    let (_, _, page) = jar.get(&format!("{base}/web/schluessel")).await;
    let csrf = hidden(&page, "csrf");
    let (status, _, page) = jar
        .post(
            &format!("{base}/web/schluessel"),
            &[("csrf", &csrf), ("label", "Skript"), ("bis", "")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let start = page.find("vr_").expect("the token is shown");
    page[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Asks for a reset link for Bea and reads it from the `n`th mail, which
/// says that personal tokens end.
async fn reset_link(mailer: &crate::people::Helper, base: &str, n: usize) -> String {
    let mut jar = Jar::new();
    let (_, _, form) = jar.get(&format!("{base}/web/passwort-vergessen")).await;
    let nonce = hidden(&form, "nonce");
    let (status, _, _) = jar
        .post(
            &format!("{base}/web/passwort-vergessen"),
            &[("email", "bea@musterstadt.de"), ("nonce", &nonce)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, text) = mail(mailer, n).await;
    assert!(text.contains("Zugangsschlüssel sind gesperrt"), "{text}");
    link_in(&text, base)
}

/// A jar signed in with e-mail and password (an account without a second
/// factor).
async fn signed_in_jar(base: &str, email: &str) -> Jar {
    let mut jar = Jar::new();
    let (_, _, page) = jar.get(&format!("{base}/web")).await;
    let nonce = hidden(&page, "nonce");
    let (status, _, body) = jar
        .post(
            &format!("{base}/web/anmelden"),
            &[
                ("email", email),
                ("password", PASSWORD),
                ("nonce", &nonce),
                ("token", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    jar
}
