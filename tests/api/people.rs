//! People (issue 17) through the real `serve` binary, with a real mail
//! server (aiosmtpd: STARTTLS, AUTH, every message captured as a file) and
//! a real OpenID Connect provider (oidc-provider: authorisation code flow
//! with PKCE), both started by `.ci/` scripts: invitations and password
//! resets by e-mail, sign-in through the provider, and the attacks on them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::free_port;
use crate::operations::{Served, serve_binary};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// A server started by a `.ci/` script, stopped when dropped.
pub struct Helper {
    script: &'static str,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Helper {
    fn start(script: &'static str, env: &[(&str, String)]) -> Helper {
        // A free port can be taken by another test's server between
        // `free_port` and the helper's bind (the suite runs tests in
        // parallel): a helper that exits during startup gets two more
        // tries on other ports.
        let mut why = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let out = std::process::Command::new("bash")
                .arg(repo().join(script))
                .args(["start", dir.path().to_str().unwrap(), &port.to_string()])
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .output()
                .unwrap();
            if out.status.success() {
                return Helper { script, dir, port };
            }
            why = String::from_utf8_lossy(&out.stderr).to_string();
        }
        panic!("{script} start: {why}");
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(repo().join(self.script))
            .args(["stop", self.dir.path().to_str().unwrap()])
            .output();
    }
}

/// The mail server: STARTTLS with its own certificate, AUTH required.
pub fn mail_server() -> Helper {
    Helper::start(".ci/smtp-capture.sh", &[])
}

/// The provider, with one client for a service at `public_url` and the
/// people in `accounts` (`sub`, `email`, `name`).
pub fn provider(public_url: &str, accounts: &Value) -> Helper {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), accounts.to_string()).unwrap();
    let (file, path) = file.keep().unwrap();
    drop(file);
    Helper::start(
        ".ci/oidc-provider.sh",
        &[
            ("OIDC_CLIENT_ID", "vergleichsring".into()),
            ("OIDC_CLIENT_SECRET", "provider-secret".into()),
            (
                "OIDC_REDIRECT_URIS",
                format!("{public_url}/web/anmelden/sso/rueckkehr"),
            ),
            ("OIDC_ACCOUNTS", path.display().to_string()),
        ],
    )
}

/// The `n`th captured message (1-based): its recipient, subject and
/// decoded text; waits up to 10 s for it.
pub async fn mail(server: &Helper, n: usize) -> (String, String, String) {
    let file = server.dir.path().join(format!("mail/{n:06}.eml"));
    for _ in 0..200 {
        if file.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let raw = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("no message {n} ({e}) in {}", file.display()));
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let header = |name: &str| {
        head.split("\r\n")
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let encoding = header("Content-Transfer-Encoding").to_ascii_lowercase();
    let text = match encoding.as_str() {
        "base64" => {
            let joined: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .unwrap(),
            )
            .unwrap()
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.to_string(),
    };
    (header("X-Envelope-To"), header("Subject"), text)
}

/// Decodes quoted-printable text (RFC 2045): soft line breaks and `=XX`.
fn quoted_printable(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The first link to the service in a text.
pub fn link_in(text: &str, base: &str) -> String {
    let start = text
        .find(base)
        .unwrap_or_else(|| panic!("no link to {base} in {text}"));
    text[start..].split_whitespace().next().unwrap().to_string()
}

/// The data directory, configuration and process of a ring with mail and
/// a provider; `admin` is an admin token, `base` the public address.
pub struct Ring {
    /// The process, killed when the ring is dropped.
    pub _served: Served,
    /// The data directory, removed when the ring is dropped.
    pub _dir: tempfile::TempDir,
    pub admin: String,
    pub base: String,
}

/// `serve` with `[mail]` (trusting the mail server's certificate, the
/// password from the environment) and `[oidc]` (the secret from the
/// environment); member 05001000 is registered.
pub async fn ring(mail: &Helper, provider: Option<&Helper>, port: u16) -> Ring {
    ring_with(mail, provider, port, "").await
}

/// [`ring`] with more keys for `[oidc]`.
pub async fn ring_with(
    mail: &Helper,
    provider: Option<&Helper>,
    port: u16,
    oidc_extra: &str,
) -> Ring {
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
    let base = format!("http://127.0.0.1:{port}");
    let mut config = format!(
        "public_url = \"{base}\"\n[mail]\nsmtp_host = \"localhost\"\nsmtp_port = {}\nfrom = \"Vergleichsring <ring@example.de>\"\nusername = \"vergleichsring\"\nca_file = \"{}\"\n",
        mail.port,
        mail.dir.path().join("cert.pem").display()
    );
    if let Some(p) = provider {
        config.push_str(&format!(
            "[oidc]\nissuer = \"http://127.0.0.1:{}\"\nclient_id = \"vergleichsring\"\nlabel = \"Mit dem Landesportal anmelden\"\n{oidc_extra}\n",
            p.port
        ));
    }
    let file = dir.path().join("ring.toml");
    std::fs::write(&file, config).unwrap();
    let listen = format!("127.0.0.1:{port}");
    let served = serve_binary(
        &[
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--listen",
            &listen,
        ],
        &[
            ("VERGLEICHSRING_MAIL_PASSWORD", "smtp-secret"),
            ("VERGLEICHSRING_OIDC_CLIENT_SECRET", "provider-secret"),
            ("VERGLEICHSRING_SECRETS_KEY", SECRETS_KEY),
        ],
        port,
    )
    .await;
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/members"))
        .bearer_auth(&admin)
        .json(&json!([{"member_id": "05001000", "name": "Stadt Musterstadt", "kind": "kreisfreie_stadt"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    Ring {
        _served: served,
        _dir: dir,
        admin,
        base,
    }
}

/// The ring's key for sealed secrets in these tests.
pub const SECRETS_KEY: &str = "8f14e45fceea167a5a36dedd4bea2543c9f0f895fb98ab9159f51fd0297e236d";

/// A client that follows no redirects and keeps the cookies it is given,
/// by name, for every host (the service's and the provider's names
/// differ).
pub struct Jar {
    pub client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

impl Jar {
    pub fn new() -> Jar {
        Jar {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn keep(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (k, rest) = v.split_once('=').unwrap();
            let value = rest.split(';').next().unwrap();
            if value.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), value.to_string());
            }
        }
    }

    pub fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, url: &str) -> (StatusCode, Option<String>, String) {
        let req = self.client.get(url);
        self.send(req).await
    }

    pub async fn post(
        &mut self,
        url: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let req = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap());
        self.send(req).await
    }

    /// Sends with the jar's cookies and keeps the ones set: status,
    /// `Location` and body.
    async fn send(&mut self, req: reqwest::RequestBuilder) -> (StatusCode, Option<String>, String) {
        let r = req.header("cookie", self.header()).send().await.unwrap();
        self.keep(&r);
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (r.status(), location, r.text().await.unwrap())
    }
}

/// The value of the first hidden input with that name.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// Follows redirects (absolute or relative to `base`) until one leaves for
/// `stop` or a page answers; the last status, location and body.
pub async fn follow(jar: &mut Jar, mut url: String, stop: &str) -> (StatusCode, String, String) {
    for _ in 0..10 {
        let (status, location, body) = jar.get(&url).await;
        match location {
            Some(l) if status.is_redirection() => {
                let next = if l.starts_with("http") {
                    l
                } else {
                    let origin: String = url.split('/').take(3).collect::<Vec<_>>().join("/");
                    format!("{origin}{l}")
                };
                if next.starts_with(stop) {
                    return (status, next, body);
                }
                url = next;
            }
            _ => return (status, url, body),
        }
    }
    panic!("too many redirects from {url}");
}

/// Signs `email` in at the provider, starting at the service's button
/// (with an invitation code, if given); the provider's redirect back to
/// the service, not yet followed.
pub async fn provider_sign_in(
    jar: &mut Jar,
    ring: &Ring,
    email: &str,
    invitation: Option<&str>,
) -> String {
    let start = match invitation {
        Some(c) => format!("{}/web/anmelden/sso?einladung={c}", ring.base),
        None => format!("{}/web/anmelden/sso", ring.base),
    };
    let (status, login, page) = follow(jar, start, &ring.base).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("E-Mail-Adresse"), "{page}");
    let action = format!("{login}/login");
    let (status, location, body) = jar.post(&action, &[("login", email)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, back, _) = follow(jar, location.unwrap(), &ring.base).await;
    assert!(back.contains("/web/anmelden/sso/rueckkehr?"), "{back}");
    back
}

#[tokio::test]
async fn invitations_resets_and_single_sign_on_through_the_real_server() {
    let mailer = mail_server();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let idp = provider(
        &base,
        &json!([
            {"sub": "portal-erika", "email": "Erika.Analyse@Ring.example", "name": "Erika Analyse"},
            {"sub": "portal-mallory", "email": "mallory@ring.example", "name": "Mallory"}
        ]),
    );
    let ring = ring(&mailer, Some(&idp), port).await;
    let api = reqwest::Client::new();

    // Admin invites a member user over the API: the e-mail goes out
    // through STARTTLS and AUTH, and its link is the one in the answer.
    let r = api
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(&ring.admin)
        .json(&json!({"email": "Bea.Bibliothek@Musterstadt.de", "name": "Bea Bibliothek", "role": "member", "member_id": "05001000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let invited: Value = r.json().await.unwrap();
    assert_eq!(invited["email_sent"], true, "{invited}");
    let (to, subject, text) = mail(&mailer, 1).await;
    assert_eq!(to, "bea.bibliothek@musterstadt.de");
    assert!(subject.contains("Einladung"), "{subject}");
    assert!(text.contains("Guten Tag Bea Bibliothek"), "{text}");
    let link = link_in(&text, &base);
    assert_eq!(
        link,
        format!("{base}{}", invited["invitation_path"].as_str().unwrap())
    );

    // Session fixation: a session id the attacker planted is never
    // adopted; accepting the invitation issues a new one.
    let mut bea = Jar::new();
    bea.cookies.insert("vr_session".into(), "a".repeat(64));
    let (status, _, page) = bea.get(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Mit dem Landesportal anmelden"), "{page}");
    let (status, location, _) = bea
        .post(
            &link,
            &[
                ("password", "Bücherei und Bildung"),
                ("password2", "Bücherei und Bildung"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/web"));
    let session = bea.cookies["vr_session"].clone();
    assert_ne!(session, "a".repeat(64));
    let (_, _, overview) = bea.get(&format!("{base}/web")).await;
    assert!(overview.contains("Stadt Musterstadt"), "{overview}");
    let mut planted = Jar::new();
    planted.cookies.insert("vr_session".into(), "a".repeat(64));
    let (_, _, page) = planted.get(&format!("{base}/web")).await;
    assert!(page.contains("<h1>Anmelden</h1>"), "{page}");
    // The link is used up.
    let (status, _, _) = Jar::new().get(&link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A forgotten password: the form answers the same for an unknown
    // address (no mail) and a known one (a mail with a one-hour link).
    let mut anon = Jar::new();
    for email in ["niemand@musterstadt.de", "bea.bibliothek@musterstadt.de"] {
        let (_, _, form) = anon.get(&format!("{base}/web/passwort-vergessen")).await;
        let nonce = hidden(&form, "nonce");
        let (status, _, page) = anon
            .post(
                &format!("{base}/web/passwort-vergessen"),
                &[("email", email), ("nonce", &nonce)],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("Wenn es zu dieser Adresse einen Zugang gibt"),
            "{page}"
        );
    }
    let (to, subject, text) = mail(&mailer, 2).await;
    assert_eq!(to, "bea.bibliothek@musterstadt.de");
    assert!(subject.contains("Passwort"), "{subject}");
    assert!(!mailer.dir.path().join("mail/000003.eml").exists());
    let reset = link_in(&text, &base);
    assert!(reset.contains("/web/passwort-neu/"), "{reset}");
    // A reset link is no invitation, and the invitation page refuses it.
    let (status, _, _) = anon
        .get(&reset.replace("/web/passwort-neu/", "/web/einladung/"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, page) = anon
        .post(
            &reset,
            &[
                ("password", "Ein neues Passwort!"),
                ("password2", "Ein neues Passwort!"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // Every session of the account ended with the new password.
    let (_, _, page) = bea.get(&format!("{base}/web")).await;
    assert!(page.contains("<h1>Anmelden</h1>"), "{page}");
    let (status, _, _) = anon
        .post(
            &reset,
            &[
                ("password", "Noch ein Passwort!!"),
                ("password2", "Noch ein Passwort!!"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a reset link works once");
    let (_, _, form) = bea.get(&format!("{base}/web")).await;
    let nonce = hidden(&form, "nonce");
    let (status, location, _) = bea
        .post(
            &format!("{base}/web/anmelden"),
            &[
                ("email", "bea.bibliothek@musterstadt.de"),
                ("password", "Ein neues Passwort!"),
                ("nonce", &nonce),
                ("token", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/web"));

    // Single sign-on: an analyst invited by e-mail signs in through the
    // provider, which knows her address in other letter case; the account
    // is linked to her subject from now on.
    let r = api
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(&ring.admin)
        .json(&json!({"email": "erika.analyse@ring.example", "name": "Erika Analyse", "role": "analyst"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let mut erika = Jar::new();
    let back = provider_sign_in(&mut erika, &ring, "erika.analyse@ring.example", None).await;
    // The answer belongs to Erika's browser only: without her flow cookie,
    // or with a state changed, it is refused.
    let (status, _, _) = Jar::new().get(&back).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let forged = back.replace("state=", "state=x");
    let mut copy = Jar::new();
    copy.cookies = erika.cookies.clone();
    let (status, _, _) = copy.get(&forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, page) = erika.get(&back).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("http-equiv=\"refresh\""), "{page}");
    assert!(erika.cookies.contains_key("vr_session"));
    assert!(
        !erika.cookies.contains_key("vr_sso"),
        "the flow cookie is cleared"
    );
    let (_, _, home) = erika.get(&format!("{base}/web")).await;
    assert!(
        home.contains("Erika Analyse") && home.contains("Analyse"),
        "{home}"
    );
    // A code is redeemed once: the same answer again signs in nobody.
    let mut replay = Jar::new();
    replay.cookies = copy.cookies.clone();
    let (status, _, _) = replay.get(&back).await;
    assert_ne!(status, StatusCode::OK);
    assert!(!replay.cookies.contains_key("vr_session"));
    let users: Value = api
        .get(format!("{base}/api/v1/users"))
        .bearer_auth(&ring.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let erika_user = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "erika.analyse@ring.example")
        .unwrap()
        .clone();
    assert_eq!(erika_user["single_sign_on"], true);
    assert_eq!(erika_user["active"], true);

    // An invitation link planted in another person's browser links
    // nothing: the provider vouches for another address than the
    // invitation's, and the invitation stays open for its person.
    let r = api
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(&ring.admin)
        .json(&json!({"email": "gregor@ring.example", "name": "Gregor", "role": "analyst"}))
        .send()
        .await
        .unwrap();
    let gregor: Value = r.json().await.unwrap();
    let path = gregor["invitation_path"].as_str().unwrap().to_string();
    let code = path.rsplit('/').next().unwrap().to_string();
    let mut planted = Jar::new();
    let back = provider_sign_in(&mut planted, &ring, "mallory@ring.example", Some(&code)).await;
    let (status, _, _) = planted.get(&back).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!planted.cookies.contains_key("vr_session"));
    let (status, _, _) = Jar::new().get(&format!("{base}{path}")).await;
    assert_eq!(status, StatusCode::OK, "the invitation is still open");

    // A person the provider knows but the ring never invited gets no
    // session.
    let mut mallory = Jar::new();
    let back = provider_sign_in(&mut mallory, &ring, "mallory@ring.example", None).await;
    let (status, _, page) = mallory.get(&back).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(!mallory.cookies.contains_key("vr_session"));

    // Disabling Erika ends her session at once, and her personal token.
    let (_, _, tokens) = erika.get(&format!("{base}/web/schluessel")).await;
    let csrf = hidden(&tokens, "csrf");
    let (status, _, page) = erika
        .post(
            &format!("{base}/web/schluessel"),
            &[("csrf", &csrf), ("label", "Auswertung"), ("bis", "")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let token = page
        .split("vr_")
        .nth(1)
        .map(|rest| format!("vr_{}", rest.split('<').next().unwrap()))
        .unwrap();
    let me = api
        .get(format!("{base}/api/v1/members"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let r = api
        .delete(format!(
            "{base}/api/v1/users/{}",
            erika_user["user_id"].as_str().unwrap()
        ))
        .bearer_auth(&ring.admin)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (_, _, page) = erika.get(&format!("{base}/web")).await;
    assert!(page.contains("<h1>Anmelden</h1>"), "{page}");
    let r = api
        .get(format!("{base}/api/v1/members"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // And the provider signs her in to nothing any more.
    let mut again = Jar::new();
    let back = provider_sign_in(&mut again, &ring, "erika.analyse@ring.example", None).await;
    let (status, _, _) = again.get(&back).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    drop(ring);
}

/// With `link_by_email = false` the provider's address alone links
/// nothing: the invited person signs in through the invitation's link, and
/// from then on by subject.
#[tokio::test]
async fn a_ring_can_link_accounts_by_invitation_only() {
    let mailer = mail_server();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let idp = provider(
        &base,
        &json!([{"sub": "portal-kai", "email": "kai@ring.example", "name": "Kai"}]),
    );
    let ring = ring_with(&mailer, Some(&idp), port, "link_by_email = false").await;
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(&ring.admin)
        .json(&json!({"email": "kai@ring.example", "name": "Kai", "role": "analyst"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let invited: Value = r.json().await.unwrap();
    let code = invited["invitation_path"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let mut kai = Jar::new();
    let back = provider_sign_in(&mut kai, &ring, "kai@ring.example", None).await;
    let (status, _, _) = kai.get(&back).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the address alone links nothing"
    );
    // A new browser: the provider would otherwise remember the person.
    let mut kai = Jar::new();
    let back = provider_sign_in(&mut kai, &ring, "kai@ring.example", Some(&code)).await;
    let (status, _, _) = kai.get(&back).await;
    assert_eq!(status, StatusCode::OK);
    let mut later = Jar::new();
    let back = provider_sign_in(&mut later, &ring, "kai@ring.example", None).await;
    let (status, _, _) = later.get(&back).await;
    assert_eq!(status, StatusCode::OK, "linked by subject now");
    // The invitation was used by the sign-in.
    let (status, _, _) = Jar::new()
        .get(&format!(
            "{base}{}",
            invited["invitation_path"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
