//! Breaker 26c: attacks on the bound of a lead member's invitations
//! (`limits.member_accounts`) and on the defanging of user text in mails
//! (`mail::user_text`). Five tests were findings (dormant invitations
//! woken by a reset, an expired invitation squatting an address, invisible
//! characters or an accent mark beside a dot, UNC paths) and pass since
//! the fixes; the others are attacks that held.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::free_port;
use crate::operations::{Served, serve_binary};
use crate::people::{Helper, Jar, SECRETS_KEY, hidden, link_in, mail, mail_server};
use vergleichsring_server::mail::user_text;

const PASSWORD: &str = "ein langes Passwort";
const KOELN: &str = "05315000";
const DUESSELDORF: &str = "05111000";

/// A ring with mail and `[limits] member_accounts = limit` that can be
/// stopped, changed on disk and started again (or started twice over the
/// same data directory).
struct Ring {
    served: Vec<Served>,
    dir: tempfile::TempDir,
    config: PathBuf,
    admin: String,
    base: String,
    port: u16,
}

impl Ring {
    async fn start(mail: &Helper, limit: usize) -> Ring {
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
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let config = format!(
            "public_url = \"{base}\"\n[limits]\nmember_accounts = {limit}\n[mail]\nsmtp_host = \"localhost\"\nsmtp_port = {}\nfrom = \"Vergleichsring <ring@example.de>\"\nusername = \"vergleichsring\"\nca_file = \"{}\"\n",
            mail.port,
            mail.dir.path().join("cert.pem").display()
        );
        let file = dir.path().join("ring.toml");
        std::fs::write(&file, config).unwrap();
        let mut ring = Ring {
            served: Vec::new(),
            dir,
            config: file,
            admin,
            base,
            port,
        };
        ring.launch(port).await;
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/members", ring.base))
            .bearer_auth(&ring.admin)
            .json(&json!([
                {"member_id": KOELN, "name": "Stadt Köln", "kind": "kreisfreie_stadt"},
                {"member_id": DUESSELDORF, "name": "Stadt Düsseldorf", "kind": "kreisfreie_stadt"}
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        ring
    }

    /// One more process of the ring over the same data directory.
    async fn launch(&mut self, port: u16) -> String {
        let listen = format!("127.0.0.1:{port}");
        let served = serve_binary(
            &[
                "--config",
                self.config.to_str().unwrap(),
                "--data-dir",
                self.dir.path().to_str().unwrap(),
                "--listen",
                &listen,
            ],
            &[
                ("VERGLEICHSRING_MAIL_PASSWORD", "smtp-secret"),
                ("VERGLEICHSRING_SECRETS_KEY", SECRETS_KEY),
            ],
            port,
        )
        .await;
        self.served.push(served);
        format!("http://127.0.0.1:{port}")
    }

    fn stop(&mut self) {
        self.served.clear();
    }

    async fn restart(&mut self) {
        self.stop();
        let port = self.port;
        self.launch(port).await;
    }

    /// Admin invites a person over the API: the answer.
    async fn admin_invites(&self, body: Value) -> (StatusCode, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/users", self.base))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A lead of Köln, signed in through its invitation.
    async fn lead(&self, email: &str) -> Jar {
        let (status, made) = self
            .admin_invites(json!({"email": email, "name": "Lea Lead", "role": "member", "member_id": KOELN, "lead": true}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let path = made["invitation_path"].as_str().unwrap().to_string();
        let mut jar = Jar::new();
        let (status, _, body) = jar
            .post(
                &format!("{}{path}", self.base),
                &[("password", PASSWORD), ("password2", PASSWORD)],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        jar
    }

    /// The accounts of a member that were taken up and are enabled.
    async fn taken_up(&self, member_id: &str) -> Vec<String> {
        let users: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/users", self.base))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let list = users
            .as_array()
            .cloned()
            .or_else(|| users["users"].as_array().cloned())
            .unwrap_or_default();
        list.iter()
            .filter(|u| u["member_id"] == member_id && u["active"] == true && u["disabled"] != true)
            .map(|u| u["email"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Moves the ring's clock back for what the state log says happened:
    /// every lead's invitation counted and every invitation link made so
    /// far look 8 days old (the ring must be stopped).
    fn age_invitations(&self) {
        let log = find_dir(self.dir.path(), "log").expect("the state log");
        let eight_days = 8 * 24 * 3600;
        for entry in std::fs::read_dir(&log).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let mut event: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let mut changed = false;
            if let Some(changes) = event["changes"].as_array_mut() {
                for c in changes {
                    match c["change"].as_str() {
                        Some("colleague_invited") => {
                            let at = c["at"].as_i64().unwrap();
                            c["at"] = json!(at - eight_days);
                            changed = true;
                        }
                        Some("user_invited") => {
                            c["invitation"]["expires_at"] = json!("2001-01-01T00:00:00Z");
                            changed = true;
                        }
                        _ => {}
                    }
                }
            }
            if changed {
                std::fs::write(&path, serde_json::to_vec(&event).unwrap()).unwrap();
            }
        }
    }
}

/// The `_state/log` folder under a data directory.
fn find_dir(root: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(root).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if path.file_name().and_then(|n| n.to_str()) == Some(name)
                && path
                    .parent()
                    .and_then(|p| p.file_name())
                    .and_then(|n| n.to_str())
                    == Some("_state")
            {
                return Some(path);
            }
            if let Some(found) = find_dir(&path, name) {
                return Some(found);
            }
        }
    }
    None
}

/// The texts of the captured mails to `to` whose subject contains
/// `subject`, waiting up to 10 s for at least `at_least` of them.
async fn mails_to(server: &Helper, to: &str, subject: &str, at_least: usize) -> Vec<String> {
    let mut found = Vec::new();
    for _ in 0..100 {
        found.clear();
        let mut n = 1;
        while server.dir.path().join(format!("mail/{n:06}.eml")).exists() {
            let (rcpt, subj, text) = mail(server, n).await;
            if rcpt == to && subj.contains(subject) {
                found.push(text);
            }
            n += 1;
        }
        if found.len() >= at_least {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    found
}

/// The lead's CSRF token from its colleagues' page.
async fn csrf(jar: &mut Jar, base: &str) -> String {
    let (status, _, page) = jar.get(&format!("{base}/web/kollegen")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    hidden(&page, "csrf")
}

async fn invite(
    jar: &mut Jar,
    base: &str,
    csrf: &str,
    name: &str,
    email: &str,
) -> (StatusCode, String) {
    let (status, _, body) = jar
        .post(
            &format!("{base}/web/kollegen"),
            &[("csrf", csrf), ("name", name), ("email", email)],
        )
        .await;
    (status, body)
}

/// Sets a password through a link in a mail.
async fn set_password(link: &str) -> StatusCode {
    let mut jar = Jar::new();
    let (status, _, _) = jar
        .post(link, &[("password", PASSWORD), ("password2", PASSWORD)])
        .await;
    status
}

/// A dot that a mail program could take for part of a host name: not
/// defanged (`[.]`), after a non-space and before a non-space.
fn loose_dot(out: &str) -> bool {
    let c: Vec<char> = out.chars().collect();
    (1..c.len()).any(|i| {
        c[i] == '.'
            && !(c[i - 1] == '[' && c.get(i + 1) == Some(&']'))
            && !c[i - 1].is_whitespace()
            && c.get(i + 1)
                .is_some_and(|a| !a.is_whitespace() && *a != '.')
    })
}

// ---------------------------------------------------------------------
// The bound of a lead's invitations.
// ---------------------------------------------------------------------

/// An invitation a lead made counts for 7 days; the account it made, as
/// long as nobody sets its password, counts never. After 7 days the
/// account is still enabled and a password reset (which the notice for a
/// "taken" address even recommends) takes it up without any check of the
/// bound: week by week a lead gathers dormant accounts and wakes them all.
#[tokio::test]

async fn b26c_dormant_invitations_woken_by_a_reset_pass_the_bound() {
    let mailer = mail_server();
    let mut ring = Ring::start(&mailer, 2).await;
    let mut lead = ring.lead("lead@koeln.de").await;
    let base = ring.base.clone();
    let token = csrf(&mut lead, &base).await;
    // Week 1: the lead (1 account) invites one address it controls, and
    // the bound (2) is reached.
    let (status, page) = invite(&mut lead, &base, &token, "Schlaf Eins", "eins@koeln.de").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, _) = invite(&mut lead, &base, &token, "Zwei", "zwei@koeln.de").await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the bound holds within a week"
    );
    // Eight days later the invitation no longer counts ...
    ring.stop();
    ring.age_invitations();
    ring.restart().await;
    let (status, page) = invite(&mut lead, &base, &token, "Zwei", "zwei@koeln.de").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // ... and the dormant account of week 1 is woken by a reset.
    let mut anon = Jar::new();
    let (_, _, page) = anon.get(&format!("{base}/web/passwort-vergessen")).await;
    let nonce = hidden(&page, "nonce");
    let (status, _, page) = anon
        .post(
            &format!("{base}/web/passwort-vergessen"),
            &[("email", "eins@koeln.de"), ("nonce", &nonce)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let reset = mails_to(&mailer, "eins@koeln.de", "Neues Passwort", 1).await;
    if let Some(text) = reset.first() {
        let link = link_in(text, &base);
        set_password(&link).await;
    }
    let invited = mails_to(&mailer, "zwei@koeln.de", "Einladung", 1).await;
    if let Some(text) = invited.first() {
        let link = link_in(text, &base);
        set_password(&link).await;
    }
    let accounts = ring.taken_up(KOELN).await;
    assert!(
        accounts.len() <= 2,
        "limits.member_accounts = 2, yet Köln holds {accounts:?}"
    );
}

/// The account a lead's invitation made stays enabled and holds its
/// address for ever, also when the invitation expired unused: the admin
/// cannot invite that person into its own municipality (409), and a lead
/// there gets it "taken" (the person is told to reset the password of the
/// account in the other municipality). A lead can pre-empt the addresses
/// of another municipality's staff, and the dormant accounts pile up in
/// the state (up to limit a week per member, never removed).
#[tokio::test]

async fn b26c_expired_lead_invitation_squats_the_address() {
    let mailer = mail_server();
    let mut ring = Ring::start(&mailer, 30).await;
    let mut lead = ring.lead("lead@koeln.de").await;
    let base = ring.base.clone();
    let token = csrf(&mut lead, &base).await;
    let (status, page) = invite(
        &mut lead,
        &base,
        &token,
        "Kämmerin",
        "kaemmerin@duesseldorf.de",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    ring.stop();
    ring.age_invitations();
    ring.restart().await;
    let (status, answer) = ring
        .admin_invites(json!({"email": "kaemmerin@duesseldorf.de", "name": "Kämmerin", "role": "member", "member_id": DUESSELDORF}))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the Köln lead's expired invitation still holds the address: {answer}"
    );
}

/// Many invitations at once, half of them to a second process over the
/// same data directory, with the same session: exactly as many pass as the
/// bound leaves room for; a restart forgets nothing.
#[tokio::test]
async fn b26c_parallel_invitations_over_two_replicas_stay_bounded() {
    let mailer = mail_server();
    let mut ring = Ring::start(&mailer, 4).await;
    let mut lead = ring.lead("lead@koeln.de").await;
    let base = ring.base.clone();
    let second = ring.launch(free_port()).await;
    let token = csrf(&mut lead, &base).await;
    let cookie = lead.header();
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let url = if i % 2 == 0 { &base } else { &second };
        // Half free addresses, a quarter the lead's own (taken).
        let email = if i % 4 == 0 {
            "lead@koeln.de".to_string()
        } else {
            format!("flut{i}@koeln.de")
        };
        let req = client
            .post(format!("{url}/web/kollegen"))
            .header("cookie", cookie.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                serde_urlencoded::to_string([
                    ("csrf", token.as_str()),
                    ("name", "Flut"),
                    ("email", email.as_str()),
                ])
                .unwrap(),
            );
        tasks.push(tokio::spawn(
            async move { req.send().await.unwrap().status() },
        ));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::UNPROCESSABLE_ENTITY => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 3, "1 account + 3 invitations = the bound of 4");
    ring.restart().await;
    let token = csrf(&mut lead, &base).await;
    let (status, page) = invite(&mut lead, &base, &token, "Noch", "noch@koeln.de").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("1 Zugänge"), "{page}");
    assert!(page.contains("3 Einladungen"), "{page}");
}

/// An address with an account in another municipality answers, counts and
/// shows like a free one: the same page, the same count when refused, and
/// neither in the colleagues' list.
#[tokio::test]
async fn b26c_taken_and_free_addresses_look_alike_to_the_lead() {
    let mailer = mail_server();
    let ring = Ring::start(&mailer, 3).await;
    let (status, made) = ring
        .admin_invites(json!({"email": "x@duesseldorf.de", "name": "Xaver", "role": "member", "member_id": DUESSELDORF}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let path = made["invitation_path"].as_str().unwrap().to_string();
    assert_eq!(
        set_password(&format!("{}{path}", ring.base)).await,
        StatusCode::SEE_OTHER
    );
    let mut lead = ring.lead("lead@koeln.de").await;
    let base = ring.base.clone();
    let token = csrf(&mut lead, &base).await;
    let (s1, free) = invite(&mut lead, &base, &token, "Frei", "frei@koeln.de").await;
    let (s2, taken) = invite(&mut lead, &base, &token, "Frei", "x@duesseldorf.de").await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(
        free.replace("frei@koeln.de", "@"),
        taken.replace("x@duesseldorf.de", "@")
    );
    // Refused: the same page for a free and a taken address, counting both.
    let (s1, free) = invite(&mut lead, &base, &token, "Frei", "frei2@koeln.de").await;
    let (s2, taken) = invite(&mut lead, &base, &token, "Frei", "x@duesseldorf.de").await;
    assert_eq!(
        (s1, s2),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::UNPROCESSABLE_ENTITY
        )
    );
    assert_eq!(
        free.replace("frei2@koeln.de", "@"),
        taken.replace("x@duesseldorf.de", "@")
    );
    assert!(
        free.contains("1 Zugänge") && free.contains("2 Einladungen"),
        "{free}"
    );
    let (_, _, list) = lead.get(&format!("{base}/web/kollegen")).await;
    assert!(
        !list.contains("x@duesseldorf.de") && !list.contains("frei@koeln.de"),
        "{list}"
    );
    // The owner of the taken address got a notice, the free one an invitation.
    assert_eq!(
        mails_to(&mailer, "x@duesseldorf.de", "schon einen Zugang", 1)
            .await
            .len(),
        1
    );
    assert_eq!(
        mails_to(&mailer, "frei@koeln.de", "Einladung", 1)
            .await
            .len(),
        1
    );
}

// ---------------------------------------------------------------------
// Names in mails.
// ---------------------------------------------------------------------

/// A name a lead types cannot add a header, a line or a classic link to
/// the invitation: line breaks become spaces, schemes, `www.`, bare hosts
/// and addresses are defanged, the subject is the ring's own.
#[tokio::test]
async fn b26c_lead_typed_name_adds_no_header_line_or_classic_link() {
    let mailer = mail_server();
    let ring = Ring::start(&mailer, 30).await;
    let mut lead = ring.lead("lead@koeln.de").await;
    let base = ring.base.clone();
    let token = csrf(&mut lead, &base).await;
    let name = "Eve\r\nBcc: opfer@evil.example\r\nSubject: Konto gesperrt\r\n\r\nhttps://evil.example/login www.evil.example mailto:x@evil.example file:///c:/x ftp.evil.example";
    let (status, page) = invite(&mut lead, &base, &token, name, "eve@koeln.de").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let got = mails_to(&mailer, "eve@koeln.de", "Einladung zum Vergleichsring", 1).await;
    let text = got.first().expect("the invitation");
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("Guten Tag Eve Bcc[:]") || first.starts_with("Guten Tag Eve Bcc:"),
        "{first}"
    );
    assert!(
        !text.contains("\nBcc") && !text.contains("\nSubject"),
        "{text}"
    );
    for link in [
        "https://",
        "www.evil",
        "mailto:x",
        "evil.example",
        "file:",
        "ftp.evil",
    ] {
        assert!(!text.contains(link), "{link} in {text}");
    }
    // The only mail to opfer@ is none.
    assert!(
        mails_to(&mailer, "opfer@evil.example", "", 0)
            .await
            .is_empty()
    );
}

/// A soft hyphen (U+00AD, invisible) beside each dot keeps the dot from
/// being defanged (it is not a letter), yet the text reads
/// `www.evil.com/login`, a linkifier (linkify-it; Thunderbird's `www.`)
/// links it, and a browser drops the soft hyphen from the host (UTS 46):
/// a working link to www.evil.com in a mail from the ring.
#[tokio::test]

async fn b26c_soft_hyphen_beside_a_dot_leaves_a_link_in_the_invitation() {
    let mailer = mail_server();
    let ring = Ring::start(&mailer, 30).await;
    let mut lead = ring.lead("lead@koeln.de").await;
    let base = ring.base.clone();
    let token = csrf(&mut lead, &base).await;
    let name = "Eve, bitte zuerst: www.\u{ad}evil\u{ad}.com/login";
    let (status, page) = invite(&mut lead, &base, &token, name, "eve@koeln.de").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let got = mails_to(&mailer, "eve@koeln.de", "Einladung zum Vergleichsring", 1).await;
    let text = got.first().expect("the invitation");
    let shown: String = text.chars().filter(|c| *c != '\u{ad}').collect();
    assert!(!shown.contains("www.evil.com"), "{shown}");
    // The same for the other characters a host name drops, and an address.
    for name in [
        "evil\u{ad}.com/login",
        "evil\u{34f}.com/login",
        "evil\u{fe0f}.com/login",
        "eve@evil\u{ad}.com",
    ] {
        let out = user_text(name);
        assert!(!loose_dot(&out), "{name:?} -> {out:?}");
    }
}

/// A decomposed accent (e + U+0301) before the dot: the mark is not a
/// letter, so `evilé.de/anmeldung` keeps its dot, and an IDN-aware
/// linkifier links it to xn--evil-epa.de, a domain anybody can register.
#[test]

fn b26c_combining_mark_before_a_dot_leaves_an_idn_link() {
    for name in [
        "evile\u{301}.de/anmeldung",
        "Frau Mu\u{308}ller, mu\u{308}nchen\u{301}.de",
    ] {
        let out = user_text(name);
        assert!(!loose_dot(&out), "{name:?} -> {out:?}");
    }
}

/// `\\host\share` needs neither a colon nor a dot between letters, and
/// Outlook for Windows makes it a file link (SMB, or WebDAV with `@80`):
/// one click sends the person's Windows credentials (NTLM) to the host
/// named by a 32-bit number.
#[test]

fn b26c_unc_path_passes_user_text() {
    let out = user_text(r"Eve, Unterlagen: \\2130706433@80\anmeldung");
    assert!(!out.contains(r"\\"), "{out}");
}

/// What held: full-width and ideographic dots and colons, one-dot
/// leaders, a zero-width space (removed), schemes with a colon before a
/// space, `[.]` typed by hand; none of them leaves an ASCII `.` or `:`
/// that a mail program reads as part of a link.
#[test]
fn b26c_unicode_dots_and_colons_leave_no_ascii_link() {
    for name in [
        "www\u{ff0e}evil\u{ff0e}com",
        "evil\u{3002}com/login",
        "evil\u{ff61}com",
        "evil\u{2024}com",
        "https\u{ff1a}//evil",
        "evil.\u{200b}com",
        "evil\u{200b}.com",
        "https: //evil",
        "evil[.]com",
        "1.2.3.4",
        "xn--mnchen-3ya.de",
        "münchen.de",
        "data:text/html,x",
        "javascript:alert(1)",
    ] {
        let out = user_text(name);
        assert!(!loose_dot(&out), "{name:?} -> {out:?}");
        let c: Vec<char> = out.chars().collect();
        assert!(
            !(0..c.len()).any(|i| c[i] == ':'
                && !(i > 0 && c[i - 1] == '[')
                && c.get(i + 1).is_some_and(|a| !a.is_whitespace())),
            "{name:?} -> {out:?}"
        );
    }
}
