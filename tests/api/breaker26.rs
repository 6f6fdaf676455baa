//! Issue 26, points 3–5, tried as an attacker would: the state every
//! replica holds must not grow with what a member or an outsider does in a
//! loop, replicas must agree about sessions, a start from a checkpoint must
//! equal the whole log, and personal tokens stay within their limit.

use std::path::Path;
use std::sync::Arc;

use reqwest::StatusCode;
use vergleichsring_store::{NewUser, Role, Store, hash_token};

use crate::helpers::TestApp;
use crate::web::{WebClient, hidden};

const PASSWORD: &str = "ein langes Passwort";

/// The newest checkpoint of a data directory's state log, as bytes.
fn newest_checkpoint(root: &Path) -> (u64, usize) {
    let dir = root.join("lake/_state/checkpoint");
    let mut best: Option<(u64, usize)> = None;
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        let Some(seq) = name
            .strip_suffix(".json")
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let len = e.metadata().unwrap().len() as usize;
        if best.is_none_or(|(s, _)| seq > s) {
            best = Some((seq, len));
        }
    }
    best.expect("a checkpoint was written")
}

/// A fresh data directory with member 05315000 registered.
async fn ring() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path()).unwrap();
    Store::open(dir.path())
        .await
        .unwrap()
        .upsert_members(vec![vergleichsring_store::Member {
            member_id: "05315000".into(),
            name: "Stadt Köln".into(),
            kind: vergleichsring_catalog::MemberKind::KreisfreieStadt,
            structure: None,
        }])
        .await
        .unwrap();
    dir
}

/// An account with a password, made through the store.
async fn account(store: &Store, email: &str, role: Role, member: Option<&str>) -> String {
    let (user, code) = store
        .invite_user(
            "cli",
            NewUser {
                email: email.into(),
                name: "Eva Angreifer".into(),
                role,
                member_id: member.map(str::to_string),
                consultant_id: None,
                lead: false,
            },
        )
        .await
        .unwrap();
    store.accept_invitation(&code, PASSWORD).await.unwrap();
    user.user_id
}

/// A member user signed in on the web page (invited through the API, the
/// invitation accepted in the browser).
async fn signed_in_member<'a>(app: &'a TestApp, email: &str) -> (WebClient<'a>, String) {
    let made = app
        .post_json(
            "/api/v1/users",
            Some(&app.admin),
            &serde_json::json!({"email": email, "name": "Mia Mitglied", "role": "member", "member_id": "05315000"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let user_id = made.body["user_id"].as_str().unwrap().to_string();
    let link = made.body["invitation_path"].as_str().unwrap().to_string();
    let mut web = WebClient::new(app);
    let accepted = web
        .post_form(&link, &[("password", PASSWORD), ("password2", PASSWORD)])
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.text);
    (web, user_id)
}

/// Makes a personal token on the web page; `None` when refused.
async fn mint(web: &mut WebClient<'_>, label: &str) -> Option<String> {
    let page = web.get("/web/schluessel").await;
    let csrf = hidden(&page.text, "csrf");
    let made = web
        .post_form(
            "/web/schluessel",
            &[("csrf", &csrf), ("label", label), ("bis", "")],
        )
        .await;
    if made.status != StatusCode::OK {
        return None;
    }
    let start = made.text.find("vr_")?;
    Some(
        made.text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect(),
    )
}

/// Attack: a member user mints a personal token, signs in with it on the
/// web page ten times (each token is a principal of its own with ten
/// sessions), revokes it and mints the next. The cap is per principal, and
/// a revoked token's sessions stayed in the state until they expired
/// (8 h): the sessions every replica holds grew with the loop, 10 per
/// round, whatever the cap.
#[tokio::test]
async fn breaker26_sessions_of_revoked_tokens_leave_the_state() {
    let app = TestApp::spawn().await;
    app.register(&[("05315000", "Stadt Köln", "kreisfreie_stadt")])
        .await;
    let (mut web, user_id) = signed_in_member(&app, "eva@koeln.de").await;
    let rounds = 15;
    for round in 0..rounds {
        let token = mint(&mut web, &format!("r{round}")).await.expect("minted");
        // The first sign-in through the web page; the other nine as from
        // other addresses and replicas (one address may sign in with
        // tokens 30 times in 15 minutes).
        let mut browser = WebClient::new(&app);
        let page = browser.sign_in(&token).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
        let page = web.get("/web/schluessel").await;
        let csrf = hidden(&page.text, "csrf");
        let store = Store::open(app.dir.path()).await.unwrap();
        let token_id = store
            .personal_tokens(&user_id)
            .into_iter()
            .find(|t| !t.revoked)
            .unwrap()
            .token_id;
        for _ in 1..vergleichsring_store::MAX_SESSIONS_PER_PRINCIPAL {
            store.start_session(&token_id).await.unwrap();
        }
        let revoked = web
            .post_form(
                "/web/schluessel/sperren",
                &[("csrf", &csrf), ("token_id", &token_id)],
            )
            .await;
        assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.text);
    }
    let store = Store::open(app.dir.path()).await.unwrap();
    let live = store.live_sessions();
    // The user's own session and nothing of the revoked tokens.
    assert!(
        live <= vergleichsring_store::MAX_SESSIONS_PER_PRINCIPAL,
        "{live} live sessions after {rounds} rounds of mint, 10 sign-ins, revoke"
    );
}

/// Attack (no account needed, only a known address): every request of a
/// password reset stored a link that stays in the state (and in every
/// checkpoint) forever, used or expired. The form allows 5 per address
/// and 20 per network address every 15 minutes, per replica: unbounded
/// over time and with more addresses. The state must hold at most a
/// bounded number of links per account.
#[tokio::test]
async fn breaker26_password_resets_do_not_pile_up_in_the_state() {
    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path()).unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    account(&store, "opfer@example.org", Role::Analyst, None).await;
    let mut last = None;
    for _ in 0..1010 {
        last = store
            .request_password_reset("opfer@example.org")
            .await
            .unwrap();
    }
    let (seq, bytes) = newest_checkpoint(dir.path());
    assert!(seq >= 1000, "checkpoint at {seq}");
    // The newest link still works.
    let (_, code) = last.unwrap();
    assert!(
        store
            .reset_password(&code, "ein neues langes Passwort", false)
            .await
            .is_ok()
    );
    assert!(
        bytes < 16 * 1024,
        "the checkpoint at change {seq} holds {bytes} bytes after 1010 reset requests"
    );
}

/// Attack: a user mints a personal token and revokes it, in a loop. The
/// limit counts live tokens only, and every revoked token stayed in the
/// view (and in every checkpoint) forever (now it leaves the state); `valid_token_by_id`, which
/// every request of a token's web session runs, passes over all of them.
#[tokio::test]
async fn breaker26_revoked_personal_tokens_do_not_pile_up() {
    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path()).unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let user_id = account(&store, "skript@example.org", Role::Analyst, None).await;
    let user = store.user(&user_id).unwrap();
    for i in 0..510 {
        let (_, record) = store
            .issue_personal_token(&user, Some(format!("t{i}")), None)
            .await
            .unwrap();
        assert!(
            store
                .revoke_personal_token(&user_id, &record.token_id)
                .await
                .unwrap()
        );
    }
    let (seq, bytes) = newest_checkpoint(dir.path());
    assert!(
        bytes < 32 * 1024,
        "the checkpoint at change {seq} holds {bytes} bytes after 510 minted and revoked tokens"
    );
}

/// Attack: personal tokens made at once through the web form (one
/// session, many requests in parallel) and through a second replica at
/// the same moment: the limit (10) holds, as the check runs against the
/// latest log when the change is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker26_personal_token_limit_holds_under_concurrency() {
    let app = TestApp::spawn().await;
    app.register(&[("05315000", "Stadt Köln", "kreisfreie_stadt")])
        .await;
    let (_, user_id) = signed_in_member(&app, "renn@koeln.de").await;
    let other = Arc::new(Store::open(app.dir.path()).await.unwrap());
    let session = other.start_user_session(&user_id).await.unwrap();
    let mut web = WebClient::new(&app).with_session(&session);
    let page = web.get("/web/schluessel").await;
    let csrf = hidden(&page.text, "csrf");
    let user = other.user(&user_id).unwrap();
    let mut tasks = Vec::new();
    for i in 0..30 {
        if i % 2 == 0 {
            let other = other.clone();
            let user = user.clone();
            tasks.push(tokio::spawn(async move {
                other
                    .issue_personal_token(&user, Some(format!("r{i}")), None)
                    .await
                    .is_ok()
            }));
        } else {
            let url = app.url("/web/schluessel");
            let cookie = format!("vr_session={session}");
            let body = serde_urlencoded::to_string([
                ("csrf", csrf.as_str()),
                ("label", &format!("w{i}")),
                ("bis", ""),
            ])
            .unwrap();
            tasks.push(tokio::spawn(async move {
                let r = reqwest::Client::new()
                    .post(url)
                    .header("cookie", cookie)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                r.status() == StatusCode::OK && r.text().await.unwrap().contains("vr_")
            }));
        }
    }
    let mut made = 0;
    for t in tasks {
        made += t.await.unwrap() as usize;
    }
    let fresh = Store::open(app.dir.path()).await.unwrap();
    let live = fresh
        .personal_tokens(&user_id)
        .iter()
        .filter(|t| !t.revoked)
        .count();
    assert_eq!((made, live), (10, 10));
}

/// Two servers' stores on one lake mint tokens for one account at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker26_personal_token_limit_holds_across_replicas() {
    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path()).unwrap();
    let a = Arc::new(Store::open(dir.path()).await.unwrap());
    let b = Arc::new(Store::open(dir.path()).await.unwrap());
    let user_id = account(&a, "zwei@example.org", Role::Analyst, None).await;
    b.follow_state().await.unwrap();
    let user = a.user(&user_id).unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        let user = user.clone();
        tasks.push(tokio::spawn(async move {
            s.issue_personal_token(&user, Some(format!("x{i}")), None)
                .await
                .is_ok()
        }));
    }
    let mut made = 0;
    for t in tasks {
        made += t.await.unwrap() as usize;
    }
    let fresh = Store::open(dir.path()).await.unwrap();
    let live = fresh.personal_tokens(&user_id).len();
    assert_eq!((made, live), (10, 10));
}

/// Writes one change of the state log as another replica would: the next
/// number, put-if-absent.
fn write_change(root: &Path, seq: u64, change: serde_json::Value) {
    let path = root.join(format!("lake/_state/log/{seq:020}.json"));
    let event = serde_json::json!({
        "seq": seq,
        "at": chrono::Utc::now().to_rfc3339(),
        "by": "replica-b",
        "changes": [change],
    });
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap();
    std::io::Write::write_all(&mut f, serde_json::to_string(&event).unwrap().as_bytes()).unwrap();
}

/// Attack: replicas disagree about which session the cap ends. A session
/// is stamped with its start and expiry by the replica that starts it,
/// before it wins its number; a replica whose clock is behind (or a start
/// that waited for its number across a second) gives a later-numbered
/// session an earlier expiry. Applying the 11th start, a replica that
/// applies it while that session is still live ends the oldest-numbered
/// session, one that applies it after the expiry (a replica started later)
/// drops the expired one instead and keeps the oldest: one session is
/// signed out on one replica and live on the other for up to 8 h.
#[tokio::test]
async fn breaker26_replicas_agree_which_session_the_cap_ends() {
    let dir = ring().await;
    let (_, record) = Store::create_token(
        dir.path(),
        Role::Member,
        Some("05315000".into()),
        None,
        vec![],
    )
    .await
    .unwrap();
    let a = Store::open(dir.path()).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..9 {
        ids.push(a.start_session(&record.token_id).await.unwrap());
    }
    // Replica B, its clock 8 h minus 3 s behind... or simply late: its
    // session expires in 3 s, though started after the nine.
    let now = chrono::Utc::now();
    let seq = std::fs::read_dir(dir.path().join("lake/_state/log"))
        .unwrap()
        .count() as u64;
    let skewed = "b-session-cookie";
    write_change(
        dir.path(),
        seq + 1,
        serde_json::json!({
            "change": "session_started",
            "key": hash_token(skewed),
            "session": {
                "token_id": record.token_id,
                "pending": false,
                "started_at": (now - chrono::Duration::hours(8) + chrono::Duration::seconds(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "expires_at": (now + chrono::Duration::seconds(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }
        }),
    );
    // The eleventh start, applied by A at once (B's session not yet
    // expired).
    let eleventh = a.start_session(&record.token_id).await.unwrap();
    let held = a.live_sessions();
    tokio::time::sleep(std::time::Duration::from_millis(4200)).await;
    // A replica started now reads the same log.
    let c = Store::open(dir.path()).await.unwrap();
    assert!(c.session(&eleventh).await.is_some());
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            a.session(id).await.is_some(),
            c.session(id).await.is_some(),
            "session {i}: replica A and a replica started later disagree"
        );
    }
    assert_eq!(held, 10, "the cap holds on A");
    assert_eq!(a.live_sessions(), c.live_sessions());
}

/// A state made of every kind of change a checkpoint must keep, over more
/// than one checkpoint: a start from the checkpoint equals a start from
/// the whole log (the checkpoints removed).
#[tokio::test]
async fn breaker26_a_start_from_a_checkpoint_equals_the_whole_log() {
    let dir = ring().await;
    let s = Store::open(dir.path()).await.unwrap();
    let (_, admin) = Store::create_token(dir.path(), Role::Admin, None, None, vec![])
        .await
        .unwrap();
    s.follow_state().await.unwrap();
    let (_, member_token) = Store::create_token(
        dir.path(),
        Role::Member,
        Some("05315000".into()),
        None,
        vec![],
    )
    .await
    .unwrap();
    s.follow_state().await.unwrap();
    s.revoke_token(&admin.token_id, &member_token.token_id)
        .await
        .unwrap();
    let u1 = account(&s, "a@example.org", Role::Analyst, None).await;
    let u2 = account(&s, "b@example.org", Role::Analyst, None).await;
    s.disable_user("cli", &u2).await.unwrap();
    let (_, open_code) = s
        .invite_user(
            "cli",
            NewUser {
                email: "c@example.org".into(),
                name: "Offen".into(),
                role: Role::Analyst,
                member_id: None,
                consultant_id: None,
                lead: false,
            },
        )
        .await
        .unwrap();
    let user = s.user(&u1).unwrap();
    let (_, p1) = s.issue_personal_token(&user, None, None).await.unwrap();
    let (_, _p2) = s.issue_personal_token(&user, None, None).await.unwrap();
    s.revoke_personal_token(&u1, &p1.token_id).await.unwrap();
    let (_, reset) = s
        .request_password_reset("a@example.org")
        .await
        .unwrap()
        .unwrap();
    let mut sessions = Vec::new();
    // Enough sign-ins for two checkpoints, with sign-outs between.
    for i in 0..1100 {
        let id = s.start_user_session(&u1).await.unwrap();
        if i % 3 == 0 {
            s.end_session(&id).await.unwrap();
        }
        sessions.push(id);
    }
    let (at, _) = newest_checkpoint(dir.path());
    assert!(at >= 1000);
    // A copy without checkpoints reads the whole log.
    let whole = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), whole.path());
    std::fs::remove_dir_all(whole.path().join("lake/_state/checkpoint")).unwrap();
    std::fs::remove_file(whole.path().join("lake/_state/_last_checkpoint")).unwrap();
    let from_checkpoint = Store::open(dir.path()).await.unwrap();
    let from_log = Store::open(whole.path()).await.unwrap();
    assert!(from_checkpoint.state_loaded().checkpoint.is_some());
    assert!(from_checkpoint.state_loaded().changes < 500);
    assert_eq!(from_log.state_loaded().checkpoint, None);
    for (x, y) in [(&from_checkpoint, &from_log), (&from_checkpoint, &s)] {
        assert_eq!(x.users(), y.users());
        let tokens = |st: &Store| {
            let mut t: Vec<_> = st.tokens().unwrap().into_iter().map(|(r, _)| r).collect();
            t.sort_by(|a, b| a.token_id.cmp(&b.token_id));
            serde_json::to_value(t).unwrap()
        };
        assert_eq!(tokens(x), tokens(y));
        assert_eq!(x.live_sessions(), y.live_sessions());
        for id in &sessions {
            assert_eq!(x.session(id).await, y.session(id).await);
        }
        assert_eq!(
            x.invitation(&open_code).await.map(|(u, _)| u.user_id),
            y.invitation(&open_code).await.map(|(u, _)| u.user_id)
        );
        assert_eq!(
            x.invitation(&reset).await.is_some(),
            y.invitation(&reset).await.is_some()
        );
    }
    assert_eq!(from_checkpoint.live_sessions(), 10);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Two replicas taking turns writing, each writing checkpoints when its
/// own count says so: a start still reads one checkpoint and fewer than
/// 500 changes.
#[tokio::test]
async fn breaker26_two_writers_keep_the_start_short() {
    let dir = ring().await;
    let a = Store::open(dir.path()).await.unwrap();
    let b = Store::open(dir.path()).await.unwrap();
    let (_, record) = Store::create_token(
        dir.path(),
        Role::Member,
        Some("05315000".into()),
        None,
        vec![],
    )
    .await
    .unwrap();
    for i in 0..1300 {
        let s = if i % 2 == 0 { &a } else { &b };
        let id = s.start_session(&record.token_id).await.unwrap();
        if i % 5 == 0 {
            s.end_session(&id).await.unwrap();
        }
    }
    let fresh = Store::open(dir.path()).await.unwrap();
    let loaded = fresh.state_loaded();
    assert!(loaded.checkpoint.is_some());
    assert!(loaded.changes < 500, "{loaded:?}");
    assert_eq!(fresh.live_sessions(), 10);
    let checkpoints = std::fs::read_dir(dir.path().join("lake/_state/checkpoint"))
        .unwrap()
        .count();
    // 1,560 changes: a checkpoint per writer and 500 of its view, at most.
    assert!(checkpoints <= 8, "{checkpoints} checkpoints");
}

/// Attack by a lead member: colleagues invited without a limit. Each
/// invitation added an account and its link to the state for good (the
/// lead cannot disable them; an unaccepted link stays after it expires),
/// and each accepted account is a person of its own for the upload and
/// query limits. Now a member's accounts taken up plus its leads'
/// invitations of the last 7 days stay below `limits.member_accounts`
/// (30), checked inside the commit: 40 invitations sent at once, to free
/// and to taken addresses, get 29 through (the lead's own account is the
/// 30th), and the mail server receives exactly as many mails. Taken
/// addresses count like free ones, so the bound tells nothing about
/// which addresses have accounts.
#[tokio::test]
async fn breaker26_a_lead_member_invites_within_a_bound() {
    use crate::people::{Jar, Ring, hidden, link_in, mail, mail_server, ring};
    let mailer = mail_server();
    let port = crate::helpers::free_port();
    let ring = ring(&mailer, None, port).await;
    let Ring { base, admin, .. } = &ring;
    let http = reqwest::Client::new();
    for body in [
        serde_json::json!({"email": "lea@musterstadt.de", "name": "Lea Lead", "role": "member", "member_id": "05001000", "lead": true}),
        serde_json::json!({"email": "ana@ring.example", "name": "Ana Analyse", "role": "analyst"}),
    ] {
        let r = http
            .post(format!("{base}/api/v1/users"))
            .bearer_auth(admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
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
    let cookie = lead.header();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..40 {
        // Every fourth to an address with an account elsewhere in the ring.
        let email = if i % 4 == 0 {
            "ana@ring.example".to_string()
        } else {
            format!("puppe{i}@lead-eigene-domain.example")
        };
        let form = serde_urlencoded::to_string([
            ("csrf", csrf.as_str()),
            ("name", &format!("Puppe {i}")),
            ("email", &email),
        ])
        .unwrap();
        let request = lead
            .client
            .post(format!("{base}/web/kollegen"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie.clone())
            .body(form);
        sends.spawn(async move {
            let r = request.send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        });
    }
    let answers: Vec<(StatusCode, String)> = sends.join_all().await;
    let sent = answers
        .iter()
        .filter(|(status, page)| *status == StatusCode::OK && page.contains("per E-Mail unterwegs"))
        .count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::UNPROCESSABLE_ENTITY)
        .collect();
    assert_eq!(sent, 29, "{answers:?}");
    assert_eq!(refused.len(), 11, "{answers:?}");
    assert!(
        refused[0].1.contains("höchstens 30 möglich"),
        "the page says the bound: {}",
        refused[0].1
    );
    assert!(refused[0].1.contains("1 Zugänge"), "{}", refused[0].1);
    // The two invitations by admin, then 29 mails (invitations and
    // notices), and no more.
    let (_, _, _) = mail(&mailer, 31).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mails = std::fs::read_dir(mailer.dir.path().join("mail"))
        .unwrap()
        .count();
    assert_eq!(mails, 31);
}
