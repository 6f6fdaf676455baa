//! Issue 26, second breaker: attacks on the sign-in throttles, the second
//! factor and the answers for known and unknown addresses, through the
//! real server. Each test asserts that the protection holds.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};

use crate::helpers::TestApp;
use crate::web::{WebClient, code_next, code_now, hidden};

const PASSWORD: &str = "ein langes Passwort";

/// A raw client from a loopback source address of its own (127.0.0.x is
/// one machine, but a different client address for the throttles).
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .build()
        .unwrap()
}

/// The sign-in cookie and nonce of a fresh sign-in form.
async fn login_form(app: &TestApp, http: &reqwest::Client) -> (String, String) {
    let r = http.get(app.url("/web")).send().await.unwrap();
    let cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let text = r.text().await.unwrap();
    (cookie, hidden(&text, "nonce"))
}

struct Answer {
    status: StatusCode,
    cookies: Vec<String>,
    headers: Vec<String>,
    text: String,
}

async fn post_login(
    app: &TestApp,
    http: &reqwest::Client,
    form: &(String, String),
    fields: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Answer {
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("nonce", &form.1));
    let mut req = http
        .post(app.url("/web/anmelden"))
        .header(COOKIE, &form.0)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&all).unwrap());
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let cookies = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().split('=').next().unwrap().to_string())
        .collect();
    let mut headers: Vec<String> = r
        .headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k != "date" && k != "content-length")
        .collect();
    headers.sort();
    Answer {
        status: r.status(),
        cookies,
        headers,
        text: r.text().await.unwrap(),
    }
}

async fn sign_in(app: &TestApp, http: &reqwest::Client, email: &str, password: &str) -> Answer {
    let form = login_form(app, http).await;
    post_login(
        app,
        http,
        &form,
        &[("email", email), ("password", password)],
        &[],
    )
    .await
}

/// An account with a password, made through an invitation; the web client
/// signed in with it.
async fn account<'a>(app: &'a TestApp, email: &str, member: &str) -> WebClient<'a> {
    let made = app
        .post_json(
            "/api/v1/users",
            Some(&app.admin),
            &serde_json::json!({"email": email, "name": "Person", "role": "member", "member_id": member}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let link = made.body["invitation_path"].as_str().unwrap().to_string();
    let mut web = WebClient::new(app);
    let accepted = web
        .post_form(&link, &[("password", PASSWORD), ("password2", PASSWORD)])
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.text);
    web
}

async fn ring() -> TestApp {
    let app = TestApp::spawn().await;
    app.register(&[("05315000", "Stadt Köln", "kreisfreie_stadt")])
        .await;
    app
}

/// A burst of 40 parallel wrong passwords for one account, from four client
/// addresses: at most five are checked, and the right password is refused
/// afterwards.
#[tokio::test]
async fn a_parallel_burst_gets_five_guesses_per_account() {
    let app = ring().await;
    account(&app, "burst@koeln.de", "05315000").await;
    let mut tasks = Vec::new();
    for i in 0..40u8 {
        let app_url = app.url("/web/anmelden");
        let http = client_from(10 + i % 4);
        let form = login_form(&app, &http).await;
        tasks.push(tokio::spawn(async move {
            let body = serde_urlencoded::to_string([
                ("email", "burst@koeln.de"),
                ("password", &format!("falsch {i} falsch falsch")),
                ("nonce", &form.1),
            ])
            .unwrap();
            http.post(app_url)
                .header(COOKIE, &form.0)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut checked = 0;
    for t in tasks {
        let s = t.await.unwrap();
        assert!(
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(&s),
            "{s}"
        );
        if s == StatusCode::UNAUTHORIZED {
            checked += 1;
        }
    }
    assert!(checked <= 5, "{checked} passwords checked");
    let right = sign_in(&app, &client_from(20), "burst@koeln.de", PASSWORD).await;
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        right.text
    );
}

/// Case, whitespace and Unicode variants of the address are one account
/// for the throttle (the Kelvin sign lower-cases to `k`).
#[tokio::test]
async fn address_variants_share_the_account_count() {
    let app = ring().await;
    account(&app, "kai@koeln.de", "05315000").await;
    let http = client_from(30);
    for (i, variant) in [
        "KAI@KOELN.DE",
        " kai@koeln.de ",
        "\u{212A}ai@koeln.de",
        "Kai@Koeln.De\t",
        "\u{3000}kai@koeln.de",
    ]
    .iter()
    .enumerate()
    {
        let a = sign_in(&app, &http, variant, &format!("falsch falsch {i}")).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{variant:?}");
    }
    let right = sign_in(&app, &client_from(31), "kai@koeln.de", PASSWORD).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
}

/// Without trusted proxies, `X-Forwarded-For` (and its friends) does not
/// make a new client address: the 21st guess from one address is refused.
#[tokio::test]
async fn forwarded_headers_do_not_rotate_the_address_without_trusted_proxies() {
    let app = ring().await;
    let http = client_from(40);
    let form = login_form(&app, &http).await;
    for i in 0..20u32 {
        let xff = format!("198.51.100.{i}");
        let ipv6 = format!("2001:db8:{i:x}::1");
        let a = post_login(
            &app,
            &http,
            &form,
            &[("email", &format!("nobody{i}@koeln.de")), ("password", "x")],
            &[
                ("x-forwarded-for", &xff),
                ("x-real-ip", &xff),
                ("forwarded", &format!("for=\"[{ipv6}]\"")),
            ],
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{i}: {}", a.text);
    }
    let a = post_login(
        &app,
        &http,
        &form,
        &[("email", "nobody99@koeln.de"), ("password", "x")],
        &[("x-forwarded-for", "203.0.113.7")],
    )
    .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.headers.contains(&"retry-after".to_string()));
}

/// Clients that hang up while their password is checked (or while they
/// wait for a check) leave no check taken: afterwards a sign-in from
/// another address is checked at once, not answered 503.
#[tokio::test]
async fn hung_up_sign_ins_leak_no_password_check() {
    let app = ring().await;
    account(&app, "late@koeln.de", "05315000").await;
    for round in 0..3u8 {
        let mut tasks = Vec::new();
        for i in 0..12u8 {
            let http = client_from(50 + round);
            let form = login_form(&app, &http).await;
            let url = app.url("/web/anmelden");
            tasks.push(tokio::spawn(async move {
                let body = serde_urlencoded::to_string([
                    ("email", format!("gone{round}-{i}@koeln.de").as_str()),
                    ("password", "falsch falsch falsch"),
                    ("nonce", &form.1),
                ])
                .unwrap();
                let _ = tokio::time::timeout(
                    Duration::from_millis(5),
                    http.post(url)
                        .header(COOKIE, &form.0)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                        .send(),
                )
                .await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    // Let the checks already running end.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let a = sign_in(&app, &client_from(60), "late@koeln.de", PASSWORD).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text);
}

/// A wrong password for a known address and any password for an unknown
/// one answer alike: status, page (without its nonce), cookies, headers,
/// and about the time.
#[tokio::test]
async fn sign_in_answers_alike_for_known_and_unknown_addresses() {
    let app = ring().await;
    account(&app, "known@koeln.de", "05315000").await;
    let strip = |t: &str| {
        let n = hidden(t, "nonce");
        t.replace(&n, "NONCE")
    };
    let mut times = (Vec::new(), Vec::new());
    let mut last = None;
    for i in 0..4u8 {
        // Each pair from its own address; each account once per address.
        let http = client_from(70 + i);
        let t = Instant::now();
        let known = sign_in(&app, &http, "known@koeln.de", "falsch falsch falsch").await;
        times.0.push(t.elapsed());
        let t = Instant::now();
        let unknown = sign_in(&app, &http, "unknown@koeln.de", "falsch falsch falsch").await;
        times.1.push(t.elapsed());
        assert_eq!(known.status, unknown.status);
        assert_eq!(known.cookies, unknown.cookies);
        assert_eq!(known.headers, unknown.headers);
        assert_eq!(strip(&known.text), strip(&unknown.text));
        last = Some(known.status);
    }
    assert_eq!(last, Some(StatusCode::UNAUTHORIZED));
    times.0.sort();
    times.1.sort();
    let (k, u) = (times.0[2].as_secs_f64(), times.1[2].as_secs_f64());
    assert!(
        (k - u).abs() < 0.5 * k.max(u) + 0.05,
        "known {k:.3}s, unknown {u:.3}s"
    );
}

/// Waits until the current TOTP step has at least 12 s left, so that a
/// test's codes stay in one step.
async fn early_in_step() {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        if now % 30 < 18 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Enrols the second factor of a signed-in client; its secret and
/// recovery codes.
async fn enrol(web: &mut WebClient<'_>) -> (String, Vec<String>) {
    let page = web.get("/web/zweiter-faktor").await;
    let secret = hidden(&page.text, "secret");
    let csrf = hidden(&page.text, "csrf");
    let enrolled = web
        .post_form(
            "/web/zweiter-faktor",
            &[
                ("csrf", &csrf),
                ("secret", &secret),
                ("code", &code_now(&secret)),
            ],
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.text);
    let recovery = enrolled
        .text
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect();
    (secret, recovery)
}

/// A session waiting for its second factor: its id and the form's CSRF.
async fn waiting(app: &TestApp, email: &str) -> (String, String) {
    let http = client_from(100);
    let form = login_form(app, &http).await;
    let body =
        serde_urlencoded::to_string([("email", email), ("password", PASSWORD), ("nonce", &form.1)])
            .unwrap();
    let r = http
        .post(app.url("/web/anmelden"))
        .header(COOKIE, &form.0)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().unwrap().strip_prefix("vr_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .find(|c| !c.is_empty())
        .unwrap();
    let page = http
        .get(app.url("/web/zweiter-faktor"))
        .header(COOKIE, format!("vr_session={id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (id.clone(), hidden(&page, "csrf"))
}

/// Sends a code for a session: status and the new session id, if any.
async fn send_code(
    app: &TestApp,
    session: &(String, String),
    code: &str,
) -> (StatusCode, Option<String>) {
    let r = client_from(101)
        .post(app.url("/web/zweiter-faktor"))
        .header(COOKIE, format!("vr_session={}", session.0))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("csrf", session.1.as_str()), ("code", code)]).unwrap())
        .send()
        .await
        .unwrap();
    let id = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().unwrap().strip_prefix("vr_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .find(|c| !c.is_empty());
    (r.status(), id)
}

/// Whether a session id opens the member's page.
async fn opens(app: &TestApp, id: &str) -> bool {
    client_from(102)
        .get(app.url("/web"))
        .header(COOKIE, format!("vr_session={id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Stadt Köln")
}

/// A code that is none of the codes the service accepts now.
fn wrong_code(secret: &str, n: u32) -> String {
    let bytes = vergleichsring_store::base32_decode(secret).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let taken: Vec<u32> = [now - 30, now, now + 30]
        .iter()
        .map(|t| vergleichsring_store::totp_code(&bytes, *t))
        .collect();
    (n * 7919..)
        .map(|c| c % 1_000_000)
        .find(|c| !taken.contains(c))
        .map(|c| format!("{c:06}"))
        .unwrap()
}

/// The enrolling code, the code of the step before the last used one, and
/// a used code again never confirm; a confirmed session's old id is dead.
#[tokio::test]
async fn used_steps_and_rotated_ids_never_confirm() {
    let app = ring().await;
    let mut web = account(&app, "zeit@koeln.de", "05315000").await;
    early_in_step().await;
    let (secret, _) = enrol(&mut web).await;
    let s = waiting(&app, "zeit@koeln.de").await;
    assert_eq!(
        send_code(&app, &s, &code_now(&secret)).await.0,
        StatusCode::UNAUTHORIZED,
        "the enrolling code"
    );
    let (status, new_id) = send_code(&app, &s, &code_next(&secret)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let new_id = new_id.unwrap();
    assert_ne!(new_id, s.0);
    assert!(opens(&app, &new_id).await);
    assert!(!opens(&app, &s.0).await, "the rotated-away id");
    // The old id cannot be confirmed again, not even with a fresh code.
    assert_ne!(
        send_code(&app, &s, &code_next(&secret)).await.0,
        StatusCode::SEE_OTHER
    );
    let t = waiting(&app, "zeit@koeln.de").await;
    for code in [
        code_now(&secret),
        code_next(&secret),
        format!(" {} ", code_next(&secret)),
        format!("0{}", code_next(&secret)),
    ] {
        assert_eq!(
            send_code(&app, &t, &code).await.0,
            StatusCode::UNAUTHORIZED,
            "{code:?}"
        );
    }
}

/// Twenty parallel wrong codes for one waiting session reach the check at
/// most five times, and the session ends: the right code does not
/// confirm it afterwards. Ten attempts for the account pause it: then the
/// right code in a fresh session is refused too.
#[tokio::test]
async fn parallel_codes_stay_within_five_per_session_and_ten_per_account() {
    let app = ring().await;
    let mut web = account(&app, "flut@koeln.de", "05315000").await;
    let (secret, recovery) = enrol(&mut web).await;
    let s = waiting(&app, "flut@koeln.de").await;
    let mut tasks = Vec::new();
    for n in 0..20u32 {
        let (url, s, code) = (
            app.url("/web/zweiter-faktor"),
            s.clone(),
            wrong_code(&secret, n + 1),
        );
        tasks.push(tokio::spawn(async move {
            client_from(103)
                .post(url)
                .header(COOKIE, format!("vr_session={}", s.0))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    serde_urlencoded::to_string([("csrf", s.1.as_str()), ("code", &code)]).unwrap(),
                )
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }));
    }
    let mut checked = 0;
    for t in tasks {
        if t.await.unwrap().contains("Noch ") {
            checked += 1;
        }
    }
    assert!(checked <= 4, "{checked} refusals with attempts left");
    early_in_step().await;
    assert_ne!(
        send_code(&app, &s, &code_next(&secret)).await.0,
        StatusCode::SEE_OTHER
    );
    // Five more on another session: ten for the account.
    let t = waiting(&app, "flut@koeln.de").await;
    for n in 0..5 {
        send_code(&app, &t, &wrong_code(&secret, 100 + n)).await;
    }
    let u = waiting(&app, "flut@koeln.de").await;
    assert_eq!(
        send_code(&app, &u, &recovery[0]).await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "a recovery code while paused"
    );
    assert_eq!(
        send_code(&app, &u, &code_next(&secret)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// One code (a TOTP step, or a recovery code) sent for two waiting sessions
/// at once confirms one of them.
#[tokio::test]
async fn one_code_confirms_one_of_two_racing_sessions() {
    let app = ring().await;
    let mut web = account(&app, "zwilling@koeln.de", "05315000").await;
    early_in_step().await;
    let (secret, recovery) = enrol(&mut web).await;
    for code in [code_next(&secret), recovery[3].clone()] {
        let a = waiting(&app, "zwilling@koeln.de").await;
        let b = waiting(&app, "zwilling@koeln.de").await;
        let (x, y) = tokio::join!(send_code(&app, &a, &code), send_code(&app, &b, &code));
        let confirmed = [x.0, y.0]
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count();
        assert_eq!(confirmed, 1, "{code}: {x:?} {y:?}");
    }
}

/// A server with a mail server configured (a port nobody listens on: the
/// mails fail, what is written before them stays) and a lead member.
struct MailApp {
    _dir: tempfile::TempDir,
    base: String,
    admin: String,
    _server: tokio::task::JoinHandle<()>,
}

impl MailApp {
    async fn spawn() -> MailApp {
        MailApp::spawn_with(true, Default::default()).await
    }

    async fn spawn_with(with_mail: bool, http: vergleichsring_server::HttpConfig) -> MailApp {
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        vergleichsring_store::Store::init(dir.path()).unwrap();
        let admin = vergleichsring_store::Store::create_token(
            dir.path(),
            vergleichsring_store::Role::Admin,
            None,
            None,
            vec![],
        )
        .await
        .unwrap()
        .0;
        let store = Arc::new(vergleichsring_store::Store::open(dir.path()).await.unwrap());
        let engine = Arc::new(
            vergleichsring_engine::Engine::new(store.clone(), Default::default())
                .await
                .unwrap(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mailer =
            vergleichsring_server::mail::Mailer::new(&vergleichsring_server::mail::MailConfig {
                host: "127.0.0.1".into(),
                port: 9,
                starttls: false,
                from: "Vergleichsring <ring@example.de>".into(),
                credentials: None,
                ca_pem: None,
                timeout: Duration::from_secs(1),
            })
            .unwrap();
        let state = vergleichsring_server::AppState::new(engine, store, http).with_accounts(
            Some(base.clone()),
            with_mail.then_some(mailer),
            None,
        );
        let server = tokio::spawn(async move {
            vergleichsring_server::serve(listener, state).await.unwrap();
        });
        let app = MailApp {
            _dir: dir,
            base,
            admin,
            _server: server,
        };
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/members", app.base))
            .bearer_auth(&app.admin)
            .json(&serde_json::json!([
                {"member_id": "05315000", "name": "Stadt Köln", "kind": "kreisfreie_stadt"},
                {"member_id": "05314000", "name": "Stadt Bonn", "kind": "kreisfreie_stadt"}
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        app
    }

    /// An account with a password; the session id of its sign-in.
    async fn account(&self, email: &str, member: &str, lead: bool) -> String {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/users", self.base))
            .bearer_auth(&self.admin)
            .json(&serde_json::json!({"email": email, "name": "Person", "role": "member", "member_id": member, "lead": lead}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let body: serde_json::Value = r.json().await.unwrap();
        let link = body["invitation_path"].as_str().unwrap();
        let r = client_from(110)
            .post(format!("{}{link}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                serde_urlencoded::to_string([("password", PASSWORD), ("password2", PASSWORD)])
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        r.headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|c| c.to_str().unwrap().strip_prefix("vr_session="))
            .map(|c| c.split(';').next().unwrap().to_string())
            .find(|c| !c.is_empty())
            .unwrap()
    }

    async fn get(&self, session: &str, path: &str) -> (StatusCode, String) {
        let r = client_from(111)
            .get(format!("{}{path}", self.base))
            .header(COOKIE, format!("vr_session={session}"))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn post(&self, session: &str, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let r = client_from(111)
            .post(format!("{}{path}", self.base))
            .header(COOKIE, format!("vr_session={session}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

/// A lead's invitation answers alike for an address with an account (of
/// another municipality) and one without, and the colleagues page does
/// not tell them apart afterwards either.
#[tokio::test]
async fn a_lead_cannot_tell_taken_addresses_from_the_colleagues_page() {
    let app = MailApp::spawn().await;
    let lead = app.account("lead@koeln.de", "05315000", true).await;
    app.account("taken@bonn.de", "05314000", false).await;
    let (_, page) = app.get(&lead, "/web/kollegen").await;
    let csrf = hidden(&page, "csrf");
    let mut answers = Vec::new();
    for email in ["taken@bonn.de", "free@bonn.de"] {
        let (status, text) = app
            .post(
                &lead,
                "/web/kollegen",
                &[("csrf", &csrf), ("name", "Karl"), ("email", email)],
            )
            .await;
        answers.push((status, text.replace(email, "EMAIL")));
    }
    assert_eq!(answers[0], answers[1], "the answers");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, after) = app.get(&lead, "/web/kollegen").await;
    assert_eq!(
        after.contains("taken@bonn.de"),
        after.contains("free@bonn.de"),
        "the colleagues page after the invitations lists one of them: {after}"
    );
}

/// Thirty parallel requests for a reset link to one address are served at
/// most five times (the limit on mails asked for), the rest 429.
#[tokio::test]
async fn a_parallel_burst_of_reset_requests_is_served_five_times() {
    let app = MailApp::spawn().await;
    app.account("reset@koeln.de", "05315000", false).await;
    let http = client_from(120);
    let r = http
        .get(format!("{}/web/passwort-vergessen", app.base))
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let nonce = hidden(&r.text().await.unwrap(), "nonce");
    let mut tasks = Vec::new();
    for i in 0..30u8 {
        let (http, url, cookie, nonce) = (
            client_from(121 + i % 3),
            format!("{}/web/passwort-vergessen", app.base),
            cookie.clone(),
            nonce.clone(),
        );
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .header(COOKIE, cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    serde_urlencoded::to_string([("email", "Reset@Koeln.de"), ("nonce", &nonce)])
                        .unwrap(),
                )
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut served = 0;
    for t in tasks {
        if t.await.unwrap() == StatusCode::OK {
            served += 1;
        }
    }
    assert!(served <= 5, "{served} served");
}

/// A name in an invitation mail carries no link a mail program would
/// make clickable: neither a scheme (`https://`), nor `www.`, nor a bare
/// host with a path (`anmeldung-vergleichsring.de/login`, which common
/// mail programs link), nor an e-mail or `mailto:` address.
#[tokio::test]
async fn names_in_mails_carry_no_bare_host_links() {
    let mailer = crate::people::mail_server();
    let port = crate::helpers::free_port();
    let ring = crate::people::ring(&mailer, None, port).await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/users", ring.base))
        .bearer_auth(&ring.admin)
        .json(&serde_json::json!({
            "email": "opfer@musterstadt.de",
            "name": "Eve, bitte zuerst anmelden: anmeldung-vergleichsring.de/login oder mailto:eve@evil.example =?utf-8?b?QmNjOiB4QGV2aWwuZXhhbXBsZQ==?=",
            "role": "member",
            "member_id": "05001000"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (to, subject, text) = crate::people::mail(&mailer, 1).await;
    assert_eq!(to, "opfer@musterstadt.de");
    assert!(!subject.contains("Eve"), "{subject}");
    assert!(
        !text.contains("Bcc: x@evil"),
        "an encoded word stays text: {text}"
    );
    let first = text.lines().next().unwrap();
    assert!(!first.contains("mailto:"), "{first}");
    assert!(!first.contains("anmeldung-vergleichsring.de/"), "{first}");
}

/// Two replicas over one data directory: one recovery code sent to both
/// at once, each for a waiting session of its own, confirms one of them;
/// a TOTP step used on one is used on the other.
#[tokio::test]
async fn a_recovery_code_on_two_replicas_confirms_once() {
    use std::sync::Arc;
    let app = ring().await;
    let mut web = account(&app, "zwei-repliken@koeln.de", "05315000").await;
    early_in_step().await;
    let (secret, recovery) = enrol(&mut web).await;
    // A second replica over the same directory.
    let store = Arc::new(
        vergleichsring_store::Store::open(app.dir.path())
            .await
            .unwrap(),
    );
    let engine = Arc::new(
        vergleichsring_engine::Engine::new(store.clone(), Default::default())
            .await
            .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = format!("http://{}", listener.local_addr().unwrap());
    let state = vergleichsring_server::AppState::new(engine, store, Default::default());
    let _server = tokio::spawn(async move {
        vergleichsring_server::serve(listener, state).await.unwrap();
    });
    let a = waiting(&app, "zwei-repliken@koeln.de").await;
    let b = waiting(&app, "zwei-repliken@koeln.de").await;
    let on_other = |s: (String, String), code: String| {
        let url = format!("{other}/web/zweiter-faktor");
        async move {
            client_from(104)
                .post(url)
                .header(COOKIE, format!("vr_session={}", s.0))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    serde_urlencoded::to_string([("csrf", s.1.as_str()), ("code", &code)]).unwrap(),
                )
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let (x, y) = tokio::join!(
        send_code(&app, &a, &recovery[0]),
        on_other(b.clone(), recovery[0].clone())
    );
    let confirmed = [x.0, y]
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(confirmed, 1, "{x:?} {y:?}");
    // The next step used on the first replica is used on the second.
    let c = waiting(&app, "zwei-repliken@koeln.de").await;
    let d = waiting(&app, "zwei-repliken@koeln.de").await;
    assert_eq!(
        send_code(&app, &c, &code_next(&secret)).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        on_other(d, code_next(&secret)).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn raw_sign_in(
    app: &MailApp,
    http: &reqwest::Client,
    email: &str,
    password: &str,
    xff: Option<&str>,
) -> StatusCode {
    let r = http.get(format!("{}/web", app.base)).send().await.unwrap();
    let cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let nonce = hidden(&r.text().await.unwrap(), "nonce");
    let mut req = http
        .post(format!("{}/web/anmelden", app.base))
        .header(COOKIE, cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("email", email),
                ("password", password),
                ("nonce", &nonce),
            ])
            .unwrap(),
        );
    if let Some(x) = xff {
        req = req.header("x-forwarded-for", x);
    }
    req.send().await.unwrap().status()
}

/// Behind a trusted proxy (127.0.0.1): what the client writes left of the
/// proxy's entry is never read, the addresses of one IPv6 /64 are one
/// client, and an IPv4-mapped IPv6 address is its IPv4 address.
#[tokio::test]
async fn behind_a_trusted_proxy_the_client_cannot_pick_its_address() {
    let app = MailApp::spawn_with(
        false,
        vergleichsring_server::HttpConfig {
            trusted_proxies: vergleichsring_server::TrustedProxies::parse(&["127.0.0.1"]).unwrap(),
            ..Default::default()
        },
    )
    .await;
    let http = client_from(1);
    // One /64, twenty addresses in it, each with made-up entries to the left.
    for i in 0..20u32 {
        let xff = format!("10.9.9.{i}, 2001:db8:{i:x}::7, [2001:db8:1:2::{i:x}]:4711");
        let s = raw_sign_in(
            &app,
            &http,
            &format!("n{i}@koeln.de"),
            "falsch falsch",
            Some(&xff),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{xff}");
    }
    let s = raw_sign_in(
        &app,
        &http,
        "n99@koeln.de",
        "falsch falsch",
        Some("2001:db8:1:2:ffff:ffff:ffff:fffe"),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the same /64");
    // IPv4 and its mapped form are one client.
    for i in 0..20u32 {
        let xff = if i % 2 == 0 {
            "::ffff:198.51.100.9"
        } else {
            "198.51.100.9"
        };
        let s = raw_sign_in(
            &app,
            &http,
            &format!("m{i}@koeln.de"),
            "falsch falsch",
            Some(xff),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{xff}");
    }
    let s = raw_sign_in(
        &app,
        &http,
        "m99@koeln.de",
        "falsch falsch",
        Some("::ffff:c633:6409"),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "the mapped address in hex"
    );
}

/// With one password check at a time and a short wait, bursts of guesses
/// are mostly answered 503 (their attempts given back), but never more
/// than five wrong passwords of one account are checked in a window.
#[tokio::test]
async fn given_back_attempts_never_make_a_sixth_check() {
    let app = MailApp::spawn_with(
        false,
        vergleichsring_server::HttpConfig {
            sign_ins: vergleichsring_server::SignInLimits {
                password_check_mib: 19,
                wait: Duration::from_millis(30),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    app.account("eng@koeln.de", "05315000", false).await;
    let app = std::sync::Arc::new(app);
    let mut checked = 0;
    let mut busy = 0;
    for round in 0..4u8 {
        let mut tasks = Vec::new();
        for i in 0..12u8 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                raw_sign_in(
                    &app,
                    &client_from(130 + round * 12 + i),
                    "eng@koeln.de",
                    "falsch falsch falsch",
                    None,
                )
                .await
            }));
        }
        for t in tasks {
            match t.await.unwrap() {
                StatusCode::UNAUTHORIZED => checked += 1,
                StatusCode::SERVICE_UNAVAILABLE => busy += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                s => panic!("{s}"),
            }
        }
    }
    assert!(checked <= 5, "{checked} checked, {busy} busy");
    let right = raw_sign_in(&app, &client_from(200), "eng@koeln.de", PASSWORD, None).await;
    assert_eq!(
        right,
        StatusCode::TOO_MANY_REQUESTS,
        "{checked} checked, {busy} busy"
    );
}

fn resident_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .map(|v| {
            v.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .unwrap()
                / 1024
        })
        .unwrap()
}

/// Sign-ins (and reset requests) with huge "addresses" from one client
/// address, refused or not, do not pile up in the throttle's memory: the
/// count of an account is not kept under a key as long as the address.
#[tokio::test]
async fn huge_addresses_do_not_fill_the_throttle_memory() {
    let app = MailApp::spawn().await;
    let http = client_from(210);
    let r = http.get(format!("{}/web", app.base)).send().await.unwrap();
    let cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let nonce = hidden(&r.text().await.unwrap(), "nonce");
    // Warm up (buffers the allocator keeps), then measure: with keys as
    // long as the addresses, memory grows with every request.
    let mut refused = 0;
    let mut before = 0;
    for i in 0..120u32 {
        if i == 40 {
            before = resident_mib();
        }
        let email = format!("{i}{}@x.de", "a".repeat(1_500_000));
        for path in ["/web/anmelden", "/web/passwort-vergessen"] {
            let s = http
                .post(format!("{}{path}", app.base))
                .header(COOKIE, &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    serde_urlencoded::to_string([
                        ("email", email.as_str()),
                        ("password", "x"),
                        ("nonce", &nonce),
                    ])
                    .unwrap(),
                )
                .send()
                .await
                .unwrap()
                .status();
            if s == StatusCode::TOO_MANY_REQUESTS {
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "the address allowance was used");
    let grown = resident_mib().saturating_sub(before);
    assert!(
        grown < 60,
        "{grown} MiB more after another 160 requests of 1.5 MB addresses"
    );
}

/// Token sign-ins: whitespace variants of one token are one token (ten
/// sign-ins, then 429), and thirty guesses from one address use its
/// allowance whatever tokens they try.
#[tokio::test]
async fn token_sign_ins_count_variants_and_guesses() {
    let app = ring().await;
    let token = app
        .token(vergleichsring_store::Role::Member, Some("05315000"))
        .await;
    let http = client_from(220);
    let form = login_form(&app, &http).await;
    for i in 0..10 {
        let variant = match i % 3 {
            0 => format!(" {token}"),
            1 => format!("{token}\t"),
            _ => format!("\n{token} "),
        };
        let a = post_login(
            &app,
            &http,
            &form,
            &[("email", " "), ("password", ""), ("token", &variant)],
            &[],
        )
        .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{i}");
    }
    let a = post_login(
        &app,
        &client_from(221),
        &login_form(&app, &client_from(221)).await,
        &[("email", ""), ("password", ""), ("token", &token)],
        &[],
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the eleventh sign-in with one token"
    );
    let http = client_from(222);
    let form = login_form(&app, &http).await;
    for i in 0..30 {
        let a = post_login(
            &app,
            &http,
            &form,
            &[
                ("email", ""),
                ("password", ""),
                ("token", &format!("vr_guess{i:04}")),
            ],
            &[],
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{i}");
    }
    let a = post_login(
        &app,
        &http,
        &form,
        &[("email", ""), ("password", ""), ("token", "vr_guess9999")],
        &[],
    )
    .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
}
