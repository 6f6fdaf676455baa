//! Sign-ins under attack (issue 26): bursts of wrong passwords from one
//! address and from many behind a trusted proxy, forged `X-Forwarded-For`
//! without one, a flood of token sign-ins, and what a worker process can
//! see of the server's secrets.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_engine::Engine;
use vergleichsring_engine::disclosure::Policy;
use vergleichsring_server::{AppState, HttpConfig, SignInLimits, TrustedProxies};
use vergleichsring_store::{Role, Store};

use crate::helpers::{PARQUET, library_file};

const PASSWORD: &str = "ein langes Passwort";

/// A server with sign-in settings of its own, over a fresh data directory.
struct Ring {
    dir: tempfile::TempDir,
    base: String,
    admin: String,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Ring {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Ring {
    async fn start(proxies: &[&str], sign_ins: SignInLimits) -> Ring {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let admin = Store::create_token(dir.path(), Role::Admin, None, None, vec![])
            .await
            .unwrap()
            .0;
        let store = Arc::new(Store::open(dir.path()).await.unwrap());
        let engine = Arc::new(Engine::new(store.clone(), Policy::default()).await.unwrap());
        let state = AppState::new(
            engine,
            store,
            HttpConfig {
                trusted_proxies: TrustedProxies::parse(proxies).unwrap(),
                sign_ins,
                ..HttpConfig::default()
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            vergleichsring_server::serve(listener, state).await.unwrap();
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        Ring {
            dir,
            base,
            admin,
            http,
            server,
        }
    }

    /// Invites an account through the API and sets its password.
    async fn account(&self, email: &str) {
        self.http
            .post(format!("{}/api/v1/members", self.base))
            .bearer_auth(&self.admin)
            .json(&json!([{"member_id": "05315000", "name": "Stadt Köln", "kind": "kreisfreie_stadt"}]))
            .send()
            .await
            .unwrap();
        let made: Value = self
            .http
            .post(format!("{}/api/v1/users", self.base))
            .bearer_auth(&self.admin)
            .json(
                &json!({"email": email, "name": "Anna", "role": "member", "member_id": "05315000"}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let link = made["invitation_path"].as_str().unwrap();
        let r = self
            .http
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
    }

    /// A sign-in request with the double-submit nonce, from `forwarded`
    /// if given: (status, `Retry-After`).
    fn sign_in(
        &self,
        form: Vec<(&'static str, String)>,
        forwarded: Option<String>,
    ) -> impl std::future::Future<Output = (StatusCode, Option<u64>)> + Send + 'static + use<> {
        let mut form = form;
        form.push(("nonce", "n0nce".to_string()));
        let mut req = self
            .http
            .post(format!("{}/web/anmelden", self.base))
            .header("cookie", "vr_login=n0nce")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&form).unwrap());
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        async move {
            let r = req.send().await.unwrap();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            (r.status(), retry)
        }
    }

    fn password(
        &self,
        email: &str,
        password: &str,
        forwarded: Option<String>,
    ) -> impl std::future::Future<Output = (StatusCode, Option<u64>)> + Send + 'static + use<> {
        self.sign_in(
            vec![
                ("email", email.to_string()),
                ("password", password.to_string()),
            ],
            forwarded,
        )
    }

    /// A gauge or counter of `/metrics` (0 when not recorded yet).
    async fn metric(&self, name: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }
}

/// Sends all requests at once and counts the statuses; every refusal
/// carries `Retry-After`, and nothing else than 401, 429 and 503 comes back.
async fn burst(
    requests: Vec<impl std::future::Future<Output = (StatusCode, Option<u64>)> + Send + 'static>,
) -> (usize, usize, usize) {
    let tasks: Vec<_> = requests.into_iter().map(tokio::spawn).collect();
    let (mut wrong, mut attempts, mut busy) = (0, 0, 0);
    for t in tasks {
        let (status, retry) = t.await.unwrap();
        match status {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => attempts += 1,
            StatusCode::SERVICE_UNAVAILABLE => busy += 1,
            other => panic!("unexpected {other}"),
        }
        if status != StatusCode::UNAUTHORIZED {
            assert!(
                retry.is_some_and(|s| s >= 1),
                "{status} without Retry-After"
            );
        }
    }
    (wrong, attempts, busy)
}

/// 300 wrong passwords at once from one address are counted before they
/// are checked: no more argon2 checks than the account allows, the rest
/// refused with 429; then even the right password is refused until the
/// window has passed.
#[tokio::test]
async fn a_burst_of_wrong_passwords_from_one_address_is_counted_before_argon2() {
    let window = Duration::from_secs(6);
    let ring = Ring::start(
        &[],
        SignInLimits {
            window,
            ..SignInLimits::default()
        },
    )
    .await;
    ring.account("anna@koeln.de").await;
    let accepted = ring.metric("vergleichsring_password_checks_total").await;
    assert_eq!(accepted, 1.0, "the invitation's hash ran under the guard");
    let started = std::time::Instant::now();
    let (wrong, attempts, busy) = burst(
        (0..300)
            .map(|_| ring.password("anna@koeln.de", "falsch falsch falsch", None))
            .collect(),
    )
    .await;
    assert!(
        started.elapsed() < window,
        "the burst ended within the window"
    );
    assert!(
        wrong <= 5,
        "{wrong} wrong passwords were checked, 5 allowed"
    );
    assert!(
        wrong + busy <= 5,
        "{busy} waited for a check beyond the limit"
    );
    assert_eq!(wrong + attempts + busy, 300);
    let checks = ring.metric("vergleichsring_password_checks_total").await - accepted;
    assert_eq!(checks, wrong as f64, "only counted attempts were checked");
    assert!(ring.metric("vergleichsring_password_checks_peak").await <= 4.0);

    // The right password, within the window: refused as well.
    let (status, retry) = ring.password("anna@koeln.de", PASSWORD, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.unwrap() <= window.as_secs());
    // After the window: signed in.
    tokio::time::sleep(window.saturating_sub(started.elapsed()) + Duration::from_millis(300)).await;
    let (status, _) = ring.password("anna@koeln.de", PASSWORD, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

/// 300 wrong passwords from 300 addresses through a trusted proxy, each
/// at another account: no address or account is over its limit, so the
/// bound on checks at once is what holds; the requests that find no free
/// check within the wait get 503. Then 300 addresses at one account: the
/// account's limit holds whatever the addresses.
#[tokio::test]
async fn a_burst_from_many_addresses_runs_at_most_the_permitted_checks_at_once() {
    let limits = SignInLimits {
        wait: Duration::from_millis(250),
        ..SignInLimits::default()
    };
    let permits = limits.permits() as f64;
    assert_eq!(permits, 4.0);
    let ring = Ring::start(&["127.0.0.1"], limits).await;
    ring.account("anna@koeln.de").await;
    let before = ring.metric("vergleichsring_password_checks_total").await;
    let (wrong, attempts, busy) = burst(
        (0..300)
            .map(|i| {
                ring.password(
                    &format!("guess{i}@koeln.de"),
                    "falsch falsch falsch",
                    Some(format!("198.51.{}.{}", i / 200, i % 200 + 1)),
                )
            })
            .collect(),
    )
    .await;
    assert_eq!(attempts, 0, "no address or account was over its limit");
    assert!(busy > 0, "the burst outran the checks: {wrong} checked");
    assert!(wrong >= 1);
    let checks = ring.metric("vergleichsring_password_checks_total").await - before;
    assert_eq!(checks, wrong as f64);
    let peak = ring.metric("vergleichsring_password_checks_peak").await;
    assert!(
        (1.0..=permits).contains(&peak),
        "{peak} checks ran at once, {permits} allowed"
    );
    assert_eq!(
        ring.metric("vergleichsring_password_checks_running").await,
        0.0
    );

    // One account from 300 addresses: its limit of 5 holds; checks that
    // found no permit gave their attempt back, so keep going until the
    // account is closed.
    let mut checked = 0;
    for round in 0..20 {
        let (wrong, attempts, _) = burst(
            (0..300)
                .map(|i| {
                    ring.password(
                        "anna@koeln.de",
                        "falsch falsch falsch",
                        Some(format!("203.0.{round}.{}", i % 250 + 1)),
                    )
                })
                .collect(),
        )
        .await;
        checked += wrong;
        if attempts == 300 {
            break;
        }
    }
    assert!(
        checked <= 5,
        "{checked} guesses at one account were checked"
    );
    let (status, _) = ring
        .password("anna@koeln.de", PASSWORD, Some("192.0.2.77".into()))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// Without trusted proxies, `X-Forwarded-For` is anyone's to write: 20
/// wrong passwords with 20 different headers from one peer are 20 from
/// one address, and the 21st is refused.
#[tokio::test]
async fn forwarded_headers_are_ignored_without_trusted_proxies() {
    let ring = Ring::start(&[], SignInLimits::default()).await;
    for i in 0..20 {
        let (status, _) = ring
            .password(
                &format!("guess{i}@koeln.de"),
                "falsch falsch falsch",
                Some(format!("203.0.113.{i}")),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, retry) = ring
        .password(
            "another@koeln.de",
            "falsch falsch falsch",
            Some("198.51.100.9".into()),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.unwrap() > 60);
    // A proxy that is trusted is believed: another client, another count.
    let ring = Ring::start(&["127.0.0.0/8"], SignInLimits::default()).await;
    for i in 0..21 {
        let (status, _) = ring
            .password(
                &format!("guess{i}@koeln.de"),
                "falsch falsch falsch",
                Some(format!("203.0.113.{i}")),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

/// The number of objects in the state log.
fn state_log_len(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("lake/_state/log"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))
        })
        .count()
}

/// Token sign-ins are counted before the token is looked up: beyond the
/// limit they are refused, and the state log does not grow.
#[tokio::test]
async fn a_flood_of_token_sign_ins_is_refused_before_the_state_log() {
    let ring = Ring::start(&["127.0.0.1"], SignInLimits::default()).await;
    ring.account("anna@koeln.de").await;
    let token = Store::create_token(
        ring.dir.path(),
        Role::Member,
        Some("05315000".into()),
        None,
        vec![],
    )
    .await
    .unwrap()
    .0;
    // The server reads the token another process wrote on its next look.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = state_log_len(ring.dir.path());
    let sign_in = |from: &str| ring.sign_in(vec![("token", token.clone())], Some(from.to_string()));
    let mut signed_in = 0;
    for i in 0..10 {
        let (status, _) = sign_in(&format!("192.0.2.{i}")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "sign-in {i}");
        signed_in += 1;
    }
    let after_allowed = state_log_len(ring.dir.path());
    assert!(after_allowed - before <= signed_in);
    // Beyond the token's limit, from anywhere, all at once.
    let (wrong, attempts, busy) = burst(
        (0..200)
            .map(|i| sign_in(&format!("198.51.100.{}", i % 250)))
            .collect(),
    )
    .await;
    assert_eq!((wrong, busy), (0, 0));
    assert_eq!(attempts, 200);
    assert_eq!(
        state_log_len(ring.dir.path()),
        after_allowed,
        "refused sign-ins wrote nothing"
    );
    // Per address: guessed tokens from one address stop after 30.
    let mut statuses = Vec::new();
    for i in 0..31 {
        let (status, _) = ring
            .sign_in(
                vec![("token", format!("guess-{i}"))],
                Some("203.0.113.5".into()),
            )
            .await;
        statuses.push(status);
    }
    assert!(
        statuses[..30]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED)
    );
    assert_eq!(statuses[30], StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(state_log_len(ring.dir.path()), after_allowed);
}

/// The real binary with secrets in its environment: its worker processes
/// have none of it, no new privileges, a seccomp filter, and limits on
/// open files and processes.
#[tokio::test]
async fn workers_see_no_secret_of_the_server() {
    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path()).unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let member: vergleichsring_store::Member = serde_json::from_value(
        json!({"member_id": "09001000", "name": "G", "kind": "kreisangehoerige_gemeinde"}),
    )
    .unwrap();
    store.upsert_members(vec![member]).await.unwrap();
    drop(store);
    let token = Store::create_token(
        dir.path(),
        Role::Member,
        Some("09001000".into()),
        None,
        vec![],
    )
    .await
    .unwrap()
    .0;
    let port = crate::helpers::free_port();
    let secrets_key = "ab".repeat(32);
    let aws_secret = "wJalrXUtnFEMI-test-secret-for-the-worker";
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("VERGLEICHSRING_SECRETS_KEY", &secrets_key)
        .env("AWS_SECRET_ACCESS_KEY", aws_secret)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..400 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let check = async {
        assert!(up, "the server did not start");
        let r = client
            .post(format!("{base}/api/v1/submissions/library/2024"))
            .bearer_auth(&token)
            .header("Content-Type", PARQUET)
            .body(library_file(None, 40_000.0, 1.0))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        // The server itself has the secrets (else this test shows nothing).
        let own = std::fs::read(format!("/proc/{}/environ", server.id())).unwrap();
        assert!(String::from_utf8_lossy(&own).contains(&secrets_key));
        let workers = workers_of(server.id());
        assert!(!workers.is_empty(), "the upload's worker is kept idle");
        for pid in workers {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
            let environ = String::from_utf8_lossy(&environ);
            assert!(!environ.contains(&secrets_key), "{environ}");
            assert!(!environ.contains(aws_secret), "{environ}");
            assert!(!environ.contains("VERGLEICHSRING_"), "{environ}");
            assert!(!environ.contains("AWS_"), "{environ}");
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            assert!(status.contains("NoNewPrivs:\t1"), "{status}");
            assert!(status.contains("Seccomp:\t2"), "{status}");
            let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
            let limit = |name: &str| {
                limits
                    .lines()
                    .find(|l| l.starts_with(name))
                    .map(|l| {
                        l[name.len()..]
                            .split_whitespace()
                            .next()
                            .unwrap()
                            .to_string()
                    })
                    .unwrap()
            };
            assert_eq!(limit("Max open files"), "64", "{limits}");
            assert_eq!(limit("Max processes"), "256", "{limits}");
        }
    };
    let outcome = tokio::time::timeout(Duration::from_secs(120), check).await;
    let _ = server.kill();
    let _ = server.wait();
    outcome.unwrap();
}

/// The children of `parent` started as `vergleichsring worker`.
fn workers_of(parent: u32) -> Vec<u32> {
    let parent = parent.to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if ppid == Some(parent.as_str()) && cmdline.split(|b| *b == 0).any(|a| a == b"worker") {
            out.push(pid);
        }
    }
    out
}
