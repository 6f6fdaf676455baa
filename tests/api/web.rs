//! The member web page over plain HTTP: who may sign in, CSRF and origin
//! checks, sessions ending with their token, and uploads refused with a
//! table that names row, column and rule while nothing is stored.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use vergleichsring_store::Role;

use crate::helpers::{TestApp, library_row};

/// A browser without a browser: cookies kept by hand.
pub(crate) struct WebClient<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) text: String,
    pub(crate) location: Option<String>,
}

impl<'a> WebClient<'a> {
    pub(crate) fn new(app: &'a TestApp) -> WebClient<'a> {
        WebClient {
            app,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let r = req
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            assert!(
                c.contains("HttpOnly") && c.contains("SameSite=Strict"),
                "{c}"
            );
            let (kv, _) = c.split_once(';').unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        Page {
            status: r.status(),
            location: r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string()),
            text: r.text().await.unwrap(),
        }
    }

    /// Carries a session started outside the browser (through the store).
    pub(crate) fn with_session(mut self, id: &str) -> WebClient<'a> {
        self.cookies.push(("vr_session".into(), id.into()));
        self
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(self.app.url(path));
        self.send(req).await
    }

    /// The body of a download, which must answer 200.
    pub(crate) async fn get_bytes(&mut self, path: &str) -> Vec<u8> {
        let r = self
            .http
            .get(self.app.url(path))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.bytes().await.unwrap().to_vec()
    }

    /// The body of a form's download, which must answer 200.
    pub(crate) async fn post_form_bytes(&mut self, path: &str, form: &[(&str, &str)]) -> Vec<u8> {
        let r = self
            .http
            .post(self.app.url(path))
            .header(COOKIE, self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.bytes().await.unwrap().to_vec()
    }

    pub(crate) async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self
            .http
            .post(self.app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap());
        self.send(req).await
    }

    pub(crate) async fn sign_in(&mut self, token: &str) -> Page {
        let page = self.get("/web").await;
        let nonce = hidden(&page.text, "nonce");
        self.post_form("/web/anmelden", &[("token", token), ("nonce", &nonce)])
            .await
    }

    async fn upload(&mut self, csrf: &str, year: &str, name: &str, bytes: &[u8]) -> Page {
        let boundary = "----vergleichsring-test";
        let mut body = Vec::new();
        for (k, v) in [("csrf", csrf), ("domain", "library"), ("year", year)] {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .http
            .post(self.app.url("/web/hochladen"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(req).await
    }
}

/// The value of the first hidden input with that name.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A semicolon CSV of one valid library row, with some cells replaced.
fn csv(member_id: &str, replace: &[(&str, &str)]) -> String {
    let row = library_row(120_000.0, 1.0);
    let header: Vec<&str> = row.iter().map(|(k, _)| *k).collect();
    let cells: Vec<String> = row
        .iter()
        .map(|(k, v)| {
            replace
                .iter()
                .find(|(r, _)| r == k)
                .map_or_else(|| format!("{v}").replace('.', ","), |(_, x)| x.to_string())
        })
        .collect();
    format!(
        "member_id;{}\r\n{member_id};{}\r\n",
        header.join(";"),
        cells.join(";")
    )
}

async fn seven_members(app: &TestApp) -> Vec<String> {
    app.city_ring(7, 10.0).await
}

#[tokio::test]
async fn only_members_sign_in_and_forms_need_their_csrf_token() {
    let app = TestApp::spawn().await;
    let ids = seven_members(&app).await;
    let member = app.token(Role::Member, Some(&ids[0])).await;

    // Without a session: the sign-in form; protected pages answer 401.
    let mut web = WebClient::new(&app);
    let page = web.get("/web").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Zugangsschlüssel"));
    assert_eq!(
        web.get("/web/bericht/2024").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(web.get("/").await.location.as_deref(), Some("/web"));

    // The sign-in form needs the nonce of its cookie.
    let mut stranger = WebClient::new(&app);
    let p = stranger
        .post_form("/web/anmelden", &[("token", &member), ("nonce", "guess")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(stranger.cookies.iter().all(|(k, _)| k != "vr_session"));

    // Other roles are sent to the API; unknown tokens are refused.
    for (token, status) in [
        (app.admin.clone(), StatusCode::FORBIDDEN),
        (app.analyst.clone(), StatusCode::FORBIDDEN),
        (app.consultant("c", &[&ids[0]]).await, StatusCode::FORBIDDEN),
        ("vr_nonsense".to_string(), StatusCode::UNAUTHORIZED),
    ] {
        let mut w = WebClient::new(&app);
        assert_eq!(w.sign_in(&token).await.status, status);
        assert!(w.cookies.iter().all(|(k, _)| k != "vr_session"));
    }

    // A member signs in and sees its page.
    let p = web.sign_in(&member).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let home = web.get("/web").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text.contains("Zahlen hochladen"));
    assert!(home.text.contains("/web/bericht/2024"));
    let csrf = hidden(&home.text, "csrf");
    let version = app.data_version("library", 2024).await;

    // An upload without the CSRF token, or from another site, is refused
    // and stores nothing.
    let file = csv(&ids[0], &[]);
    let p = web.upload("wrong", "2024", "b.csv", file.as_bytes()).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let req = web
        .http
        .post(app.url("/web/erklaeren"))
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("csrf", csrf.as_str()),
                ("submission_id", "x"),
                ("rule", "r"),
                ("text", "t"),
            ])
            .unwrap(),
        );
    assert_eq!(web.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.data_version("library", 2024).await, version);

    // The member's report through the session: HTML with its own name.
    let report = web.get("/web/bericht/2024").await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.text.contains("<h1>Stadt</h1>"));
    let xlsx = web.get("/web/bericht/2024?format=xlsx").await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert_eq!(
        web.get("/web/bericht/2023").await.status,
        StatusCode::FORBIDDEN
    );

    // Revoking the token ends the session.
    let token_id = app
        .get("/api/v1/access-log", Some(&app.admin))
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["member_id"] == ids[0].as_str() && e["role"] == "member")
        .map(|e| e["token_id"].as_str().unwrap().to_string())
        .expect("the report read is in the access log");
    let r = app
        .delete(&format!("/api/v1/tokens/{token_id}"), Some(&app.admin))
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_eq!(
        web.get("/web/bericht/2024").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Signing out clears the cookie.
    let mut w = WebClient::new(&app);
    let other = app.token(Role::Member, Some(&ids[1])).await;
    w.sign_in(&other).await;
    let csrf = hidden(&w.get("/web").await.text, "csrf");
    let p = w.post_form("/web/abmelden", &[("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(w.cookies.iter().all(|(k, _)| k != "vr_session"));
}

#[tokio::test]
async fn a_refused_upload_shows_row_column_and_rule_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let ids = seven_members(&app).await;
    let member = app.token(Role::Member, Some(&ids[0])).await;
    let mut web = WebClient::new(&app);
    web.sign_in(&member).await;
    let csrf = hidden(&web.get("/web").await.text, "csrf");
    let version = app.data_version("library", 2024).await;

    // A negative stock and a word where a number belongs.
    let file = csv(&ids[0], &[("stock", "-5"), ("loans", "viele")]);
    let p = web
        .upload(&csrf, "2024", "zahlen.csv", file.as_bytes())
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("Nicht gespeichert"));
    let rows: Vec<&str> = p.text.split(r#"<tr class="rejection">"#).skip(1).collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .any(|r| r.contains("<td>loans</td>") && r.contains("not_a_number")),
        "{}",
        p.text
    );
    assert!(rows.iter().all(|r| r.contains(r#"<td class="num">1</td>"#)));

    // Unknown extensions, empty files and other member's rows are refused too.
    let p = web.upload(&csrf, "2024", "zahlen.pdf", b"%PDF").await;
    assert_eq!(p.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let p = web.upload(&csrf, "2024", "leer.csv", b"").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    let file = csv(&ids[1], &[]);
    let p = web
        .upload(&csrf, "2024", "fremd.csv", file.as_bytes())
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    let p = web.upload(&csrf, "1800", "z.csv", b"member_id\r\n").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.data_version("library", 2024).await, version);
    // A frozen year is refused with a sentence that says why and whom to ask.
    let frozen = app.freeze("library", 2024).await;
    assert_eq!(frozen.status, StatusCode::CREATED);
    let version = app.data_version("library", 2024).await;
    let file = csv(&ids[0], &[]);
    let p = web
        .upload(&csrf, "2024", "korrektur.csv", file.as_bytes())
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.text);
    assert!(p.text.contains("eingefroren") && p.text.contains("library-2024-1"));
    assert_eq!(app.data_version("library", 2024).await, version);
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
}

/// Fair share (issue 14): a token's 31st upload within a minute gets 429
/// with `Retry-After`, through the API and then the web page (in German),
/// and an analyst's 61st query too; admin's uploads are not limited, and
/// other tokens keep their own allowance.
#[tokio::test]
async fn too_many_uploads_or_queries_answer_429_with_the_time_to_wait() {
    let app = TestApp::spawn().await;
    let ids = seven_members(&app).await;
    let member = app.token(Role::Member, Some(&ids[0])).await;
    let file = csv(&ids[0], &[]);
    let upload = |token: String| {
        let app = &app;
        let file = file.clone();
        async move {
            app.client
                .post(app.url("/api/v1/submissions/library/2024"))
                .bearer_auth(token)
                .header("Content-Type", "text/csv")
                .body(file)
                .send()
                .await
                .unwrap()
        }
    };
    // Signed in on the web page before the allowance runs out, so that its
    // upload below follows the refusal at once: the bucket refills by one
    // every 2 s, and a sign-in on a busy machine took longer than that.
    let mut web = WebClient::new(&app);
    web.sign_in(&member).await;
    let csrf = hidden(&web.get("/web").await.text, "csrf");
    // The bucket refills by one every 2 s while the uploads run, so the
    // first refusal comes after 30 and a few more.
    let mut accepted = 0;
    let r = loop {
        let r = upload(member.clone()).await;
        if r.status() != StatusCode::CREATED {
            break r;
        }
        accepted += 1;
        assert!(accepted <= 40, "no limit after {accepted} uploads");
    };
    // The web page shares the token's allowance and says it in German.
    let p = web
        .upload(&csrf, "2024", "zahlen.csv", file.as_bytes())
        .await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{}", p.text);
    assert!(p.text.contains("Bitte warten Sie"), "{}", p.text);
    assert!(accepted >= 30, "refused after {accepted}");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(body["retry_after_seconds"], wait);

    // Another member and admin are not held up.
    let other = app.token(Role::Member, Some(&ids[1])).await;
    let r = app
        .client
        .post(app.url("/api/v1/submissions/library/2024"))
        .bearer_auth(&other)
        .header("Content-Type", "text/csv")
        .body(csv(&ids[1], &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    for _ in 0..35 {
        assert_eq!(
            upload(app.admin.clone()).await.status(),
            StatusCode::CREATED
        );
    }

    // Queries: 60 a minute per token.
    let q = serde_json::json!({"sql": "SELECT count(*) FROM comparisons"});
    let mut answered = 0;
    let a = loop {
        let a = app.post_json("/api/v1/query", Some(&app.analyst), &q).await;
        if a.status != StatusCode::OK {
            break a;
        }
        answered += 1;
        assert!(answered <= 80, "no limit after {answered} queries");
    };
    assert!(answered >= 60, "refused after {answered}");
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text);
    assert_eq!(a.body["error"], "rate_limited");
}

/// A person invited by admin sets a password through the link (once), signs
/// in with it, and is throttled after five wrong passwords; a disabled
/// account's session ends at once.
#[tokio::test]
async fn invited_users_set_a_password_sign_in_and_are_throttled() {
    let app = TestApp::spawn().await;
    app.register(&[("05315000", "Stadt Köln", "kreisfreie_stadt")])
        .await;
    let invite = |body: serde_json::Value| {
        let app = &app;
        async move {
            app.post_json("/api/v1/users", Some(&app.admin), &body)
                .await
        }
    };
    let bad = invite(serde_json::json!({"email": "nicht-gueltig", "name": "X", "role": "member", "member_id": "05315000"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    let bad = invite(serde_json::json!({"email": "a@b.de", "name": "X", "role": "member", "member_id": "05999000"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let member = app.token(Role::Member, Some("05315000")).await;
    let forbidden = app
        .post_json(
            "/api/v1/users",
            Some(&member),
            &serde_json::json!({"email": "a@b.de", "name": "X", "role": "admin"}),
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let made = invite(serde_json::json!({
        "email": "Anna.Schmidt@Stadt-Koeln.de", "name": "Anna Schmidt",
        "role": "member", "member_id": "05315000", "lead": true
    }))
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.body["email"], "anna.schmidt@stadt-koeln.de");
    assert_eq!(made.body["active"], false);
    assert!(!made.text.contains("argon2"));
    let again = invite(
        serde_json::json!({"email": "anna.schmidt@stadt-koeln.de", "name": "A", "role": "analyst"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let link = made.body["invitation_path"].as_str().unwrap().to_string();
    let user_id = made.body["user_id"].as_str().unwrap().to_string();

    let mut web = WebClient::new(&app);
    let page = web.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Anna Schmidt"), "{}", page.text);
    let set = |a: &'static str, b: &'static str| [("password", a), ("password2", b)];
    let differ = web
        .post_form(&link, &set("ein langes Passwort", "ein anderes Passwort"))
        .await;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    let short = web.post_form(&link, &set("kurz", "kurz")).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let accepted = web
        .post_form(&link, &set("ein langes Passwort", "ein langes Passwort"))
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.text);
    let home = web.get("/web").await;
    assert!(
        home.text.contains("Stadt Köln"),
        "signed in at once: {}",
        home.text
    );
    // The link works once.
    let mut other = WebClient::new(&app);
    assert_eq!(other.get(&link).await.status, StatusCode::NOT_FOUND);
    let reused = other
        .post_form(&link, &set("noch ein Passwort!", "noch ein Passwort!"))
        .await;
    assert_eq!(reused.status, StatusCode::NOT_FOUND);

    // Password sign-in, and the throttle after five failures.
    let mut fresh = WebClient::new(&app);
    for _ in 0..5 {
        let page = fresh.get("/web").await;
        let nonce = hidden(&page.text, "nonce");
        let wrong = fresh
            .post_form(
                "/web/anmelden",
                &[
                    ("email", "anna.schmidt@stadt-koeln.de"),
                    ("password", "falsch falsch falsch"),
                    ("nonce", &nonce),
                ],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
        assert!(
            wrong
                .text
                .contains("E-Mail-Adresse oder Passwort sind falsch")
        );
    }
    let page = fresh.get("/web").await;
    let nonce = hidden(&page.text, "nonce");
    let blocked = fresh
        .post_form(
            "/web/anmelden",
            &[
                ("email", "anna.schmidt@stadt-koeln.de"),
                ("password", "ein langes Passwort"),
                ("nonce", &nonce),
            ],
        )
        .await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password: {}",
        blocked.text
    );

    // Listed without a hash; disabled, its session ends at once.
    let list = app.get("/api/v1/users", Some(&app.admin)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body[0]["active"], true);
    assert!(!list.text.contains("argon2"));
    let gone = app
        .delete(&format!("/api/v1/users/{user_id}"), Some(&app.admin))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let home = web.get("/web").await;
    assert!(
        !home.text.contains("Stadt Köln"),
        "the session ended: {}",
        home.text
    );
    assert_eq!(
        app.delete("/api/v1/users/u_nobody", Some(&app.admin))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// The first admin is invited on the command line; the link works through
/// the running server, and the account is ready once the password is set.
#[tokio::test]
async fn the_first_admin_is_invited_on_the_command_line() {
    let app = TestApp::spawn().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
        .args([
            "user",
            "create-admin",
            "--data-dir",
            app.dir.path().to_str().unwrap(),
            "--email",
            "betrieb@ring.example",
            "--name",
            "Ring-Betrieb",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(link.starts_with("/web/einladung/"), "{link}");
    let mut web = WebClient::new(&app);
    assert_eq!(web.get(&link).await.status, StatusCode::OK);
    let ready = web
        .post_form(
            &link,
            &[
                ("password", "ein sehr langes Passwort"),
                ("password2", "ein sehr langes Passwort"),
            ],
        )
        .await;
    // The admin is signed in, but must enrol the second factor first:
    // until then the session opens nothing else.
    assert_eq!(ready.status, StatusCode::SEE_OTHER, "{}", ready.text);
    assert_eq!(ready.location.as_deref(), Some("/web/zweiter-faktor"));
    let home = web.get("/web").await;
    assert_eq!(home.location.as_deref(), Some("/web/zweiter-faktor"));
    for page in ["/web/benutzer", "/web/schluessel"] {
        let refused = web.get(page).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{page}");
        assert!(refused.text.contains("zweiter Faktor"), "{}", refused.text);
    }
    let enrol = web.get("/web/zweiter-faktor").await;
    assert!(
        enrol.text.contains("Zweiter Faktor einrichten"),
        "{}",
        enrol.text
    );
    let list = app.get("/api/v1/users", Some(&app.admin)).await;
    assert_eq!(list.body[0]["role"], "admin");
    assert_eq!(list.body[0]["active"], true);
    assert_eq!(list.body[0]["invited_by"], "cli");
}

/// Accepts an invitation made through the API and returns the signed-in
/// web client.
pub(crate) async fn signed_in_user<'a>(app: &'a TestApp, body: serde_json::Value) -> WebClient<'a> {
    let made = app
        .post_json("/api/v1/users", Some(&app.admin), &body)
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let link = made.body["invitation_path"].as_str().unwrap().to_string();
    let mut web = WebClient::new(app);
    let accepted = web
        .post_form(
            &link,
            &[
                ("password", "ein langes Passwort"),
                ("password2", "ein langes Passwort"),
            ],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.text);
    web
}

/// A lead member sees its municipality's accounts; without a mail server
/// it invites nobody (invitations by leads go out by e-mail only, see
/// `accounts_attack.rs`); a member without the flag, or signed in with a
/// token, cannot; every form needs its CSRF token.
#[tokio::test]
async fn lead_members_invite_colleagues_of_their_own_municipality() {
    let app = TestApp::spawn().await;
    app.register(&[
        ("05315000", "Stadt Köln", "kreisfreie_stadt"),
        ("05111000", "Stadt Düsseldorf", "kreisfreie_stadt"),
    ])
    .await;
    let mut lead = signed_in_user(
        &app,
        serde_json::json!({"email": "lead@koeln.de", "name": "Lea Lead", "role": "member", "member_id": "05315000", "lead": true}),
    )
    .await;
    let page = lead.get("/web").await;
    assert!(page.text.contains("/web/kollegen"), "{}", page.text);
    let page = lead.get("/web/kollegen").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("lead@koeln.de"));
    let csrf = hidden(&page.text, "csrf");
    let wrong = lead
        .post_form(
            "/web/kollegen",
            &[
                ("csrf", "falsch"),
                ("name", "Karl"),
                ("email", "karl@koeln.de"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // Without a mail server a lead invites nobody: the invitation goes
    // out by e-mail only, so that the page cannot say whether an address
    // has an account (`accounts_attack.rs` invites with one).
    assert!(
        !page.text.contains(r#"action="/web/kollegen""#),
        "{}",
        page.text
    );
    let refused = lead
        .post_form(
            "/web/kollegen",
            &[
                ("csrf", &csrf),
                ("name", "Karl Kollege"),
                ("email", "karl@koeln.de"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);
    let users = app.get("/api/v1/users", Some(&app.admin)).await;
    assert!(
        !users.text.contains("karl@koeln.de"),
        "nobody was invited: {}",
        users.text
    );
    let mut colleague = signed_in_user(
        &app,
        serde_json::json!({"email": "karl@koeln.de", "name": "Karl Kollege", "role": "member", "member_id": "05315000"}),
    )
    .await;
    assert!(colleague.get("/web").await.text.contains("Stadt Köln"));
    // Without the flag, the page and the form are refused.
    assert_eq!(
        colleague.get("/web/kollegen").await.status,
        StatusCode::FORBIDDEN
    );
    let csrf = hidden(&colleague.get("/web").await.text, "csrf");
    let refused = colleague
        .post_form(
            "/web/kollegen",
            &[("csrf", &csrf), ("name", "X"), ("email", "x@koeln.de")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Signed in with a member token: no lead either.
    let token = app.token(Role::Member, Some("05111000")).await;
    let mut by_token = WebClient::new(&app);
    assert_eq!(by_token.sign_in(&token).await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        by_token.get("/web/kollegen").await.status,
        StatusCode::FORBIDDEN
    );
    // Not signed in at all.
    assert_eq!(
        WebClient::new(&app).get("/web/kollegen").await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// The six-digit code of a base32 secret now.
pub(crate) fn code_now(secret: &str) -> String {
    let bytes = vergleichsring_store::base32_decode(secret).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("{:06}", vergleichsring_store::totp_code(&bytes, now))
}

/// The six-digit code of the step after the current one, which the
/// service accepts too (clocks drift): the code after the enrolling
/// one, whose step is used up (RFC 6238 §5.2).
pub(crate) fn code_next(secret: &str) -> String {
    let bytes = vergleichsring_store::base32_decode(secret).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("{:06}", vergleichsring_store::totp_code(&bytes, now + 30))
}

/// Signs in with the password and returns the page it leads to.
async fn password_sign_in(web: &mut WebClient<'_>, email: &str, password: &str) -> Page {
    let page = web.get("/web").await;
    let nonce = hidden(&page.text, "nonce");
    web.post_form(
        "/web/anmelden",
        &[("email", email), ("password", password), ("nonce", &nonce)],
    )
    .await
}

/// A user enrols the TOTP second factor with the QR code's secret; from
/// then on a sign-in needs the app's code (each once) or a recovery code
/// (each once) after the password.
#[tokio::test]
async fn the_second_factor_is_enrolled_and_then_asked_after_the_password() {
    let app = TestApp::spawn().await;
    app.register(&[("05315000", "Stadt Köln", "kreisfreie_stadt")])
        .await;
    let mut web = signed_in_user(
        &app,
        serde_json::json!({"email": "zwei@koeln.de", "name": "Zoe Zwei", "role": "member", "member_id": "05315000"}),
    )
    .await;
    let page = web.get("/web/zweiter-faktor").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("<svg"), "a QR code");
    let secret = hidden(&page.text, "secret");
    let csrf = hidden(&page.text, "csrf");
    let wrong = web
        .post_form(
            "/web/zweiter-faktor",
            &[("csrf", &csrf), ("secret", &secret), ("code", "000000")],
        )
        .await;
    assert!(wrong.status == StatusCode::UNPROCESSABLE_ENTITY || code_now(&secret) == "000000");
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
    let recovery: Vec<String> = enrolled
        .text
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect();
    assert_eq!(recovery.len(), 10, "{}", enrolled.text);

    // A new sign-in waits for the code.
    let mut again = WebClient::new(&app);
    let signed = password_sign_in(&mut again, "zwei@koeln.de", "ein langes Passwort").await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.location.as_deref(), Some("/web/zweiter-faktor"));
    assert!(
        !again.get("/web").await.text.contains("Stadt Köln"),
        "not before the code"
    );
    let form = again.get("/web/zweiter-faktor").await;
    let csrf = hidden(&form.text, "csrf");
    let bad = again
        .post_form("/web/zweiter-faktor", &[("csrf", &csrf), ("code", "12345")])
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let forged = again
        .post_form(
            "/web/zweiter-faktor",
            &[("csrf", "falsch"), ("code", &code_now(&secret))],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // The enrolling code's step is used: the next step's code confirms.
    let code = code_next(&secret);
    let ok = again
        .post_form("/web/zweiter-faktor", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    assert!(again.get("/web").await.text.contains("Stadt Köln"));

    // The same code does not open a third session; a recovery code does,
    // once.
    let mut third = WebClient::new(&app);
    password_sign_in(&mut third, "zwei@koeln.de", "ein langes Passwort").await;
    let csrf = hidden(&third.get("/web/zweiter-faktor").await.text, "csrf");
    let replay = third
        .post_form("/web/zweiter-faktor", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "a code works once");
    let rescued = third
        .post_form(
            "/web/zweiter-faktor",
            &[("csrf", &csrf), ("code", &recovery[0])],
        )
        .await;
    assert_eq!(rescued.status, StatusCode::SEE_OTHER);
    let mut fourth = WebClient::new(&app);
    password_sign_in(&mut fourth, "zwei@koeln.de", "ein langes Passwort").await;
    let csrf = hidden(&fourth.get("/web/zweiter-faktor").await.text, "csrf");
    let reused = fourth
        .post_form(
            "/web/zweiter-faktor",
            &[("csrf", &csrf), ("code", &recovery[0])],
        )
        .await;
    assert_eq!(
        reused.status,
        StatusCode::UNAUTHORIZED,
        "a recovery code works once"
    );
}

/// A user makes personal tokens for scripts on the web page: each works
/// with the user's rights, is shown once, and stops working when revoked
/// or when the account is disabled. A token's session has none.
#[tokio::test]
async fn users_make_and_revoke_personal_tokens_for_scripts() {
    let app = TestApp::spawn().await;
    app.register(&[("05315000", "Stadt Köln", "kreisfreie_stadt")])
        .await;
    let made = app
        .post_json(
            "/api/v1/users",
            Some(&app.admin),
            &serde_json::json!({"email": "skript@koeln.de", "name": "Sven Skript", "role": "member", "member_id": "05315000"}),
        )
        .await;
    let user_id = made.body["user_id"].as_str().unwrap().to_string();
    let link = made.body["invitation_path"].as_str().unwrap().to_string();
    let mut web = WebClient::new(&app);
    web.post_form(
        &link,
        &[
            ("password", "ein langes Passwort"),
            ("password2", "ein langes Passwort"),
        ],
    )
    .await;
    let page = web.get("/web/schluessel").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = hidden(&page.text, "csrf");
    let past = web
        .post_form(
            "/web/schluessel",
            &[("csrf", &csrf), ("label", "alt"), ("bis", "2001-01-01")],
        )
        .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    let forged = web
        .post_form(
            "/web/schluessel",
            &[("csrf", "falsch"), ("label", "x"), ("bis", "")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut tokens = Vec::new();
    for label in ["Nachtlauf", "Excel-Export"] {
        let made = web
            .post_form(
                "/web/schluessel",
                &[("csrf", &csrf), ("label", label), ("bis", "")],
            )
            .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.text);
        let start = made.text.find("vr_").expect("the token is shown");
        tokens.push(
            made.text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>(),
        );
    }
    // It works with the user's rights: its own member's figures, nobody else's.
    let own = app.get("/api/v1/members", Some(&tokens[0])).await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.body.as_array().unwrap().len(), 1);
    // What it does names the person and the token: the stored upload (the
    // access log takes the same `Caller::actor`).
    let member_id = own.body[0]["member_id"].as_str().unwrap().to_string();
    let up = app
        .upload(
            "library",
            2024,
            &tokens[0],
            "text/csv",
            csv(&member_id, &[]).into(),
        )
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.text);
    let listed = app
        .get("/api/v1/submissions/library/2024", Some(&tokens[0]))
        .await;
    let by = listed.body[0]["submitted_by"].as_str().unwrap().to_string();
    assert!(
        by.starts_with(&format!("user:{user_id}/")) && by.len() > user_id.len() + 6,
        "{by}"
    );
    assert_eq!(
        app.get("/api/v1/access-log", Some(&tokens[0])).await.status,
        StatusCode::FORBIDDEN
    );
    let listed = app.get("/api/v1/tokens", Some(&app.admin)).await;
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["owner"] == user_id.as_str())
    );
    // Revoked on the page: refused at once.
    let page = web.get("/web/schluessel").await;
    let token_id = hidden(&page.text, "token_id");
    let revoked = web
        .post_form(
            "/web/schluessel/sperren",
            &[("csrf", &csrf), ("token_id", &token_id)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let unknown = web
        .post_form(
            "/web/schluessel/sperren",
            &[("csrf", &csrf), ("token_id", "000000000000")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v1/members", Some(&tokens[0])).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/members", Some(&tokens[1])).await.status,
        StatusCode::OK
    );
    // The account disabled: its other token ends too.
    app.delete(&format!("/api/v1/users/{user_id}"), Some(&app.admin))
        .await;
    assert_eq!(
        app.get("/api/v1/members", Some(&tokens[1])).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A member token's session has no personal tokens.
    let token = app.token(Role::Member, Some("05315000")).await;
    let mut by_token = WebClient::new(&app);
    by_token.sign_in(&token).await;
    assert_eq!(
        by_token.get("/web/schluessel").await.status,
        StatusCode::FORBIDDEN
    );
}

/// An admin user with its second factor enrolled, signed in.
pub(crate) async fn signed_in_admin(app: &TestApp) -> WebClient<'_> {
    let mut web = signed_in_user(
        app,
        serde_json::json!({"email": "betrieb@ring.example", "name": "Olaf Betrieb", "role": "admin"}),
    )
    .await;
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
    web
}

/// Every POST of the web page, as the OpenAPI document lists them, is
/// refused from another site (by `Sec-Fetch-Site` and by `Origin`), and
/// with a wrong CSRF token, nonce or link code; every form of a session
/// carries a CSRF token. A form added later is walked too.
#[tokio::test]
async fn every_form_refuses_other_sites_and_wrong_secrets() {
    let app = TestApp::spawn().await;
    let ids = seven_members(&app).await;
    let mut member = signed_in_user(
        &app,
        serde_json::json!({"email": "lea@ring.example", "name": "Lea Lead", "role": "member", "member_id": ids[0], "lead": true}),
    )
    .await;
    let mut admin = signed_in_admin(&app).await;
    let doc = app.get("/api/v1/openapi.json", None).await.body;
    let mut walked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(post) = item.get("post") else {
            continue;
        };
        if !path.starts_with("/web") {
            continue;
        }
        walked += 1;
        let url = path.replace("{code}", &"0".repeat(48));
        let content = &post["requestBody"]["content"];
        let Some(schema) = content.get("application/x-www-form-urlencoded") else {
            // The upload is the one multipart form: its CSRF token is
            // checked like the others'.
            assert!(content.get("multipart/form-data").is_some(), "{path}");
            let page = member.upload("wrong", "2024", "a.csv", b"x").await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
            continue;
        };
        let fields: Vec<String> = schema["schema"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let session = post["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("session").is_some()));
        let nonce = fields.iter().any(|f| f == "nonce");
        assert!(
            !session || fields.iter().any(|f| f == "csrf"),
            "{path} acts for a session without a CSRF token"
        );
        assert!(
            session || nonce || path.contains("{code}"),
            "{path} has neither a session's CSRF token, a nonce nor a link's code"
        );
        let form: Vec<(&str, &str)> = fields.iter().map(|f| (f.as_str(), "x")).collect();
        let web = if path.starts_with("/web/benutzer")
            || path.starts_with("/web/sammlung")
            || path.starts_with("/web/mitglieder")
            || path.starts_with("/web/veroeffentlichen")
            || path.starts_with("/web/analyse")
        {
            &mut admin
        } else {
            &mut member
        };
        // From another site: refused before anything else.
        for (header, value) in [
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ] {
            let req = web
                .http
                .post(app.url(&url))
                .header(header, value)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string(&form).unwrap());
            let page = web.send(req).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} with {header}");
        }
        // With the session, but a wrong secret.
        let page = web.post_form(&url, &form).await;
        let expected: &[StatusCode] = if path.contains("{code}") {
            &[StatusCode::NOT_FOUND]
        } else if path == "/web/passwort-vergessen" {
            // Without a mail server the form is not there at all.
            &[StatusCode::FORBIDDEN, StatusCode::NOT_FOUND]
        } else {
            &[StatusCode::FORBIDDEN]
        };
        assert!(
            expected.contains(&page.status),
            "{path} with a wrong secret: {} {}",
            page.status,
            page.text
        );
    }
    assert!(walked >= 14, "only {walked} forms walked");
    // Both sessions still work: nothing above signed anybody out.
    assert_eq!(member.get("/web/kollegen").await.status, StatusCode::OK);
    assert_eq!(admin.get("/web/benutzer").await.status, StatusCode::OK);
}

/// A member user reaches nothing of another member: not its submissions'
/// warnings, not the admin's user list of it, not another user's tokens;
/// and its invitations land in its own municipality whatever the form
/// says.
#[tokio::test]
async fn a_member_user_reaches_nothing_of_another_member() {
    let app = TestApp::spawn().await;
    let ids = seven_members(&app).await;
    let other = app.token(Role::Member, Some(&ids[1])).await;
    let theirs = app
        .upload(
            "library",
            2024,
            &other,
            "text/csv",
            csv(&ids[1], &[]).into(),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.text);
    let submission = theirs.body["submission_id"].as_str().unwrap().to_string();
    let mut web = signed_in_user(
        &app,
        serde_json::json!({"email": "lea@ring.example", "name": "Lea Lead", "role": "member", "member_id": ids[0], "lead": true}),
    )
    .await;
    let page = web.get("/web/kollegen").await;
    let csrf = hidden(&page.text, "csrf");

    // Explaining another member's warning: no such submission of hers.
    let explained = web
        .post_form(
            "/web/erklaeren",
            &[
                ("csrf", &csrf),
                ("submission_id", &submission),
                ("rule", "yoy_change"),
                ("text", "Umbau"),
            ],
        )
        .await;
    assert_eq!(
        explained.status,
        StatusCode::NOT_FOUND,
        "{}",
        explained.text
    );
    let warnings = app
        .get(
            &format!("/api/v1/warnings?member_id={}&status=all", ids[1]),
            Some(&app.admin),
        )
        .await;
    assert!(
        !warnings.text.contains("Umbau"),
        "nothing was stored: {}",
        warnings.text
    );

    // The admin's pages are not hers.
    for path in [
        format!("/web/benutzer?mitglied={}", ids[1]),
        "/web/benutzer".to_string(),
    ] {
        assert_eq!(web.get(&path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let p = web
        .post_form(
            "/web/benutzer",
            &[
                ("csrf", &csrf),
                ("name", "Eve"),
                ("email", "eve@ring.example"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    // An invitation naming the other member invites nobody there: without
    // a mail server a lead invites nobody at all (with one, the invitee
    // lands in the lead's municipality: `accounts_attack.rs`).
    let p = web
        .post_form(
            "/web/kollegen",
            &[
                ("csrf", &csrf),
                ("name", "Max"),
                ("email", "max@ring.example"),
                ("member_id", &ids[1]),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", p.text);
    let users = app.get("/api/v1/users", Some(&app.admin)).await;
    assert!(!users.text.contains("max@ring.example"), "{}", users.text);
}

/// The admin's page invites for every role, says what is wrong with an
/// invitation, and disables an account, whose session ends at once; its
/// own account it cannot disable there.
#[tokio::test]
async fn the_admin_invites_and_disables_users_on_its_page() {
    let app = TestApp::spawn().await;
    let ids = seven_members(&app).await;
    let mut admin = signed_in_admin(&app).await;
    let page = admin.get("/web/benutzer").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = hidden(&page.text, "csrf");
    let invite = |name: &'static str, email: &'static str, role: &'static str, member: String| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.to_string()),
            ("email", email.to_string()),
            ("role", role.to_string()),
            ("member_id", member),
            ("consultant_id", String::new()),
        ]
    };
    for (form, message) in [
        (
            invite("Nina", "nina@ring.example", "member", String::new()),
            "registrierten Mitglieds",
        ),
        (
            invite("Nina", "nina@ring.example", "kaiser", ids[0].clone()),
            "Rolle",
        ),
        (
            invite("Nina", "keine-adresse", "member", ids[0].clone()),
            "gültige E-Mail-Adresse",
        ),
    ] {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let p = admin.post_form("/web/benutzer", &pairs).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
        assert!(p.text.contains(message), "{message}: {}", p.text);
    }
    let form = invite("Nina Neu", "nina@ring.example", "member", ids[0].clone());
    let mut pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.push(("lead", "1"));
    let p = admin.post_form("/web/benutzer", &pairs).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let start = p.text.find("/web/einladung/").unwrap();
    let link: String = p.text[start..].split('<').next().unwrap().to_string();
    let again = admin.post_form("/web/benutzer", &pairs).await;
    assert!(again.text.contains("schon einen Zugang"), "{}", again.text);
    let listed = admin
        .get(&format!("/web/benutzer?mitglied={}", ids[0]))
        .await;
    assert!(listed.text.contains("nina@ring.example"), "{}", listed.text);
    assert!(
        !listed.text.contains("betrieb@ring.example"),
        "only the member's"
    );

    // Nina accepts and is signed in, as a lead member.
    let mut nina = WebClient::new(&app);
    let accepted = nina
        .post_form(
            &link,
            &[
                ("password", "ein langes Passwort"),
                ("password2", "ein langes Passwort"),
            ],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.text);
    assert_eq!(nina.get("/web/kollegen").await.status, StatusCode::OK);

    // Disabled on the page: her session ends at once.
    let users = app.get("/api/v1/users", Some(&app.admin)).await;
    let id_of = |email: &str| {
        users
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap()["user_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let nina_id = id_of("nina@ring.example");
    let p = admin
        .post_form(
            "/web/benutzer/sperren",
            &[("csrf", &csrf), ("user_id", &nina_id)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    assert_eq!(
        nina.get("/web/kollegen").await.status,
        StatusCode::UNAUTHORIZED
    );
    // A second factor reset: the admin's own (signed in elsewhere) is
    // removed, its sessions end, and the next sign-in must enrol again.
    let olaf = id_of("betrieb@ring.example");
    let mut other_browser = WebClient::new(&app);
    let signed = password_sign_in(
        &mut other_browser,
        "betrieb@ring.example",
        "ein langes Passwort",
    )
    .await;
    assert_eq!(signed.location.as_deref(), Some("/web/zweiter-faktor"));
    let r = app
        .delete(
            &format!("/api/v1/users/{olaf}/second-factor"),
            Some(&app.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        admin.get("/web/benutzer").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        other_browser.get("/web/zweiter-faktor").await.status,
        StatusCode::UNAUTHORIZED,
        "the waiting session ended too"
    );
    let again = password_sign_in(&mut admin, "betrieb@ring.example", "ein langes Passwort").await;
    assert_eq!(again.location.as_deref(), Some("/web/zweiter-faktor"));
    assert_eq!(
        admin.get("/web/benutzer").await.status,
        StatusCode::FORBIDDEN
    );
    let page = admin.get("/web/zweiter-faktor").await;
    assert!(
        page.text.contains("Zweiter Faktor einrichten"),
        "{}",
        page.text
    );
    let secret = hidden(&page.text, "secret");
    let csrf_enrol = hidden(&page.text, "csrf");
    let enrolled = admin
        .post_form(
            "/web/zweiter-faktor",
            &[
                ("csrf", &csrf_enrol),
                ("secret", &secret),
                ("code", &code_now(&secret)),
            ],
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::OK);
    let page = admin.get("/web/benutzer").await;
    let csrf = hidden(&page.text, "csrf");
    let unknown = admin
        .post_form(
            "/web/benutzer/zweiter-faktor",
            &[("csrf", &csrf), ("user_id", "u_0000000000000000")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let own = admin
        .post_form(
            "/web/benutzer/sperren",
            &[("csrf", &csrf), ("user_id", &id_of("betrieb@ring.example"))],
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    let unknown = admin
        .post_form(
            "/web/benutzer/sperren",
            &[("csrf", &csrf), ("user_id", "u_0000000000000000")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/web/benutzer").await.status, StatusCode::OK);
}
