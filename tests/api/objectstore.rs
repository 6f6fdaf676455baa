//! The lake on a real S3-compatible server (SeaweedFS, started by
//! `.ci/s3-server.sh`), with two `serve` processes over it, each with its
//! own empty data directory: the bucket is all they share. Members, tokens,
//! revocations, custom-group releases, web sessions and the access log move
//! between them; uploads through either replica become visible through the
//! other, concurrent commits from both land once each, and a fresh process
//! reads everything back.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::operations::{Served, serve_binary};

/// The replicas look for other writers' commits this often.
const REFRESH_MILLIS: u64 = 200;
/// The bound the README states for an upload to become visible through
/// another replica (refresh interval plus reading the commit, with room for
/// a loaded CI machine).
const VISIBLE_WITHIN: Duration = Duration::from_secs(10);
/// The bound the README states for a revocation (or a sign-out) through one
/// replica to hold at another: `lake.refresh_millis` + 1 s.
const REVOKED_WITHIN: Duration = Duration::from_millis(REFRESH_MILLIS + 1000);

/// A SeaweedFS server under a temporary directory, stopped when dropped.
struct S3Server {
    dir: tempfile::TempDir,
    endpoint: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/s3-server.sh")
}

impl S3Server {
    /// Starts the server (installing it from PyPI on first use) with the
    /// bucket `vergleichsring`. `None` when it cannot be installed outside CI.
    fn start() -> Option<S3Server> {
        let dir = tempfile::tempdir().unwrap();
        // A base port with room above it (the server uses up to base+10004).
        let base = (21_000..29_000)
            .step_by(37)
            .skip((std::process::id() % 200) as usize)
            .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
            .unwrap();
        let out = std::process::Command::new("bash")
            .arg(script())
            .args([
                "start",
                dir.path().to_str().unwrap(),
                &base.to_string(),
                "vergleichsring",
            ])
            .output()
            .unwrap();
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr).to_string();
            assert!(
                std::env::var_os("CI").is_none(),
                "the S3 server did not start under CI: {why}"
            );
            eprintln!("skipped: no S3 server ({why})");
            return None;
        }
        Some(S3Server {
            dir,
            endpoint: format!("http://127.0.0.1:{base}"),
        })
    }

    /// The configuration of a replica on this server, as environment.
    fn env(&self, prefix: &str) -> Vec<(String, String)> {
        vec![
            (
                "VERGLEICHSRING_LAKE_URL".into(),
                format!("s3://vergleichsring/{prefix}"),
            ),
            ("VERGLEICHSRING_LAKE_ENDPOINT".into(), self.endpoint.clone()),
            (
                "VERGLEICHSRING_LAKE_ACCESS_KEY_ID".into(),
                "vergleichsring".into(),
            ),
            (
                "VERGLEICHSRING_LAKE_SECRET_ACCESS_KEY".into(),
                "vergleichsring-secret".into(),
            ),
            ("VERGLEICHSRING_LAKE_ALLOW_HTTP".into(), "true".into()),
            (
                "VERGLEICHSRING_LAKE_REFRESH_MILLIS".into(),
                REFRESH_MILLIS.to_string(),
            ),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(script())
            .args(["stop", self.dir.path().to_str().unwrap()])
            .output();
    }
}

/// A replica: `serve` over `data_dir` with the lake on the S3 server.
async fn replica(data_dir: &Path, env: &[(String, String)]) -> Served {
    let port = crate::helpers::free_port();
    let listen = format!("127.0.0.1:{port}");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    serve_binary(
        &[
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--listen",
            &listen,
        ],
        &env,
        port,
    )
    .await
}

async fn get(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
) -> (StatusCode, String) {
    let r = client
        .get(format!("http://{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn upload(client: &reqwest::Client, base: &str, token: &str, body: bytes::Bytes) -> Value {
    let r = client
        .post(format!("http://{base}/api/v1/submissions/library/2024"))
        .bearer_auth(token)
        .header("Content-Type", PARQUET)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

/// The data version a replica reports for library 2024.
async fn version(client: &reqwest::Client, base: &str, token: &str) -> u64 {
    let (_, text) = get(
        client,
        base,
        "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=all",
        token,
    )
    .await;
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["data_version"].as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// Waits until `base` reports at least `wanted`; returns how long it took.
async fn visible(client: &reqwest::Client, base: &str, token: &str, wanted: u64) -> Duration {
    let started = Instant::now();
    while version(client, base, token).await < wanted {
        assert!(
            started.elapsed() < VISIBLE_WITHIN,
            "{base} did not see data version {wanted} within {VISIBLE_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// The value of the first hidden input with that name.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The value a response sets for a cookie.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Runs the binary with arguments and environment; its standard output.
fn run(args: &[&str], env: &[(String, String)]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Waits until `check` holds, at most `within`; returns how long it took.
async fn within<F, Fut>(within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "{what} not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn two_replicas_share_a_lake_on_s3() {
    let Some(s3) = S3Server::start() else {
        return;
    };
    // Separate, empty data directories: nothing is shared but the bucket.
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let env = s3.env("ring-a");
    // The first admin token, on the command line (the one step that needs
    // a shell); it goes into the bucket, not the directory.
    let admin = run(
        &[
            "token",
            "create",
            "--data-dir",
            dir_a.path().to_str().unwrap(),
            "--role",
            "admin",
        ],
        &env,
    )
    .trim()
    .to_string();
    let a = replica(dir_a.path(), &env).await;
    let b = replica(dir_b.path(), &env).await;
    let dir = dir_a;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |base: &str, path: &str, token: &str, body: Value| {
        client
            .post(format!("http://{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };

    // Admin registers members and makes a member token through A ...
    let ids: Vec<String> = (1..=14).map(|i| format!("05{i:03}000")).collect();
    let members: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"member_id": id, "name": format!("Stadt {i}"), "kind": "kreisfreie_stadt"}))
        .collect();
    let r = post(&a.addr, "/api/v1/members", &admin, json!(members))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = post(
        &a.addr,
        "/api/v1/tokens",
        &admin,
        json!({"role": "member", "member_id": ids[0], "label": "Stadtbibliothek"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: Value = r.json().await.unwrap();
    let member = made["token"].as_str().unwrap().to_string();
    let member_token_id = made["token_id"].as_str().unwrap().to_string();
    // ... and the member uploads and reads through B at once.
    let r = client
        .post(format!("http://{}/api/v1/submissions/library/2023", b.addr))
        .bearer_auth(&member)
        .header("Content-Type", PARQUET)
        .body(library_bulk_file(&[(ids[0].as_str(), 120_000.0, 1.0)]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let (status, figures) = get(&client, &b.addr, "/api/v1/figures/library/2023", &member).await;
    assert_eq!(status, StatusCode::OK, "{figures}");

    // The member's web session, started through A, works through B.
    let page = client
        .get(format!("http://{}/web", a.addr))
        .send()
        .await
        .unwrap();
    let login = set_cookie(&page, "vr_login").unwrap();
    let nonce = hidden(&page.text().await.unwrap(), "nonce");
    let r = client
        .post(format!("http://{}/web/anmelden", a.addr))
        .header("cookie", format!("vr_login={login}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("token", member.as_str()), ("nonce", &nonce)]).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = format!("vr_session={}", set_cookie(&r, "vr_session").unwrap());
    let web = |base: String| {
        let (client, session) = (client.clone(), session.clone());
        async move {
            client
                .get(format!("http://{base}/web"))
                .header("cookie", session)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let through_b = web(b.addr.clone()).await;
    assert!(through_b.contains("Stadt 0"), "{through_b}");
    let csrf = hidden(&through_b, "csrf");
    // Signing out through B ends the session for A too.
    let r = client
        .post(format!("http://{}/web/abmelden", b.addr))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("csrf", csrf.as_str())]).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    within(REVOKED_WITHIN, "signed out through A", || {
        let page = web(a.addr.clone());
        async move { !page.await.contains("Stadt 0") }
    })
    .await;

    // Admin revokes the member's token through A; B refuses it within the
    // bound the README states (refresh interval + 1 s).
    let r = client
        .delete(format!("http://{}/api/v1/tokens/{member_token_id}", a.addr))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let took = within(REVOKED_WITHIN, "B refuses the revoked token", || {
        let (client, base, member) = (client.clone(), b.addr.clone(), member.clone());
        async move {
            get(&client, &base, "/api/v1/figures/library/2023", &member)
                .await
                .0
                == StatusCode::UNAUTHORIZED
        }
    })
    .await;
    eprintln!("revocation through A held at B after {took:?}");

    // An upload through A is visible through B.
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + i as f64 / 10.0))
        .collect();
    let first = upload(&client, &a.addr, &admin, library_bulk_file(&rows)).await;
    assert_eq!(first["data_version"], "2");
    let took = visible(&client, &b.addr, &admin, 2).await;
    eprintln!("upload through A visible through B after {took:?}");

    // Concurrent uploads through both replicas: each lands exactly once, at
    // its own version, whichever replica took it.
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let base = if i % 2 == 0 {
            a.addr.clone()
        } else {
            b.addr.clone()
        };
        let (client, admin) = (client.clone(), admin.clone());
        let body = library_bulk_file(&[(id.as_str(), 120_000.0, 2.0 + i as f64)]);
        tasks.push(tokio::spawn(async move {
            upload(&client, &base, &admin, body).await
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        let v = t.await.unwrap();
        versions.push(v["data_version"].as_str().unwrap().parse::<u64>().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(
        versions,
        (3..=16).collect::<Vec<_>>(),
        "one version per upload"
    );
    visible(&client, &a.addr, &admin, 16).await;
    visible(&client, &b.addr, &admin, 16).await;

    // Two analysts release a differencing pair of custom groups at the same
    // moment, one through each replica: exactly one is released.
    let r = post(
        &a.addr,
        "/api/v1/publications/library/2024",
        &admin,
        json!({}),
    )
    .await
    .unwrap();
    // Published now, or already by the uploads (then too few or nothing
    // changed since).
    let (status, text) = (r.status(), r.text().await.unwrap());
    assert!(
        status == StatusCode::CREATED
            || text.contains("too_few_changes")
            || text.contains("nothing_changed"),
        "{status}: {text}"
    );
    let analyst = |base: String| {
        let post = post(&base, "/api/v1/tokens", &admin, json!({"role": "analyst"}));
        async move {
            let made: Value = post.await.unwrap().json().await.unwrap();
            made["token"].as_str().unwrap().to_string()
        }
    };
    let (analyst_a, analyst_b) = (analyst(a.addr.clone()).await, analyst(b.addr.clone()).await);
    for (base, token, id, n) in [
        (&a.addr, &analyst_a, "west", 7),
        (&b.addr, &analyst_b, "west_plus", 8),
    ] {
        let r = post(
            base,
            "/api/v1/groups",
            token,
            json!({"id": id, "name": id, "member_ids": ids[..n]}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let published = |base: String| {
        let client = client.clone();
        let admin = admin.clone();
        async move {
            let (_, text) = get(
                &client,
                &base,
                "/api/v1/publications?domain=library&year=2024",
                &admin,
            )
            .await;
            serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.as_array().map(Vec::len))
        }
    };
    let on_a = published(a.addr.clone()).await;
    within(VISIBLE_WITHIN, "B sees A's publication", || {
        let n = published(b.addr.clone());
        async move { n.await == on_a }
    })
    .await;
    let ask = |base: String, token: String, group: &str| {
        let client = client.clone();
        let path =
            format!("/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by={group}");
        tokio::spawn(async move { get(&client, &base, &path, &token).await })
    };
    let race = [
        ask(a.addr.clone(), analyst_a.clone(), "west"),
        ask(b.addr.clone(), analyst_b.clone(), "west_plus"),
    ];
    let mut outcomes = Vec::new();
    for t in race {
        outcomes.push(t.await.unwrap());
    }
    let released = outcomes
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .count();
    let refused: Vec<&String> = outcomes
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNPROCESSABLE_ENTITY)
        .map(|(_, t)| t)
        .collect();
    assert_eq!(released, 1, "{outcomes:?}");
    assert_eq!(refused.len(), 1, "{outcomes:?}");
    assert!(refused[0].contains("differencing"), "{}", refused[0]);
    let path = "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=size_class";
    let (status, from_a) = get(&client, &a.addr, path, &admin).await;
    assert_eq!(status, StatusCode::OK);
    let (_, from_b) = get(&client, &b.addr, path, &admin).await;
    assert_eq!(from_a, from_b, "both replicas answer the same");
    let (_, subs) = get(&client, &b.addr, "/api/v1/submissions/library/2024", &admin).await;
    let subs: Vec<Value> = serde_json::from_str(&subs).unwrap();
    assert_eq!(subs.len(), 15, "every submission is listed once");

    // The access log holds the reads of both replicas: the member's own
    // figures read through B, and admin's read of them through A.
    let (status, _) = get(
        &client,
        &a.addr,
        &format!("/api/v1/figures/library/2023?member_id={}", ids[0]),
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let admin_id = {
        let (_, list) = get(&client, &b.addr, "/api/v1/tokens", &admin).await;
        let list: Vec<Value> = serde_json::from_str(&list).unwrap();
        list.iter().find(|t| t["role"] == "admin").unwrap()["token_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    within(
        VISIBLE_WITHIN,
        "both replicas' reads in the access log",
        || {
            let (client, base, admin) = (client.clone(), b.addr.clone(), admin.clone());
            let (member_id, admin_id) = (member_token_id.clone(), admin_id.clone());
            async move {
                let (_, log) = get(&client, &base, "/api/v1/access-log", &admin).await;
                let log: Vec<Value> = serde_json::from_str(&log).unwrap_or_default();
                let read_by = |token: &str| {
                    log.iter()
                        .any(|e| e["action"] == "figures" && e["token_id"] == token)
                };
                read_by(&member_id) && read_by(&admin_id)
            }
        },
    )
    .await;

    // The tables and the state are in the bucket, not in the data
    // directories ...
    for d in [dir.path(), dir_b.path()] {
        assert!(!d.join("lake/library/_delta_log").exists());
        assert!(!d.join("lake/_state").exists());
        assert!(!d.join("members.json").exists() && !d.join("tokens.json").exists());
    }
    drop(a);
    drop(b);
    // ... and a fresh process with another empty directory reads them back.
    let dir_c = tempfile::tempdir().unwrap();
    let c = replica(dir_c.path(), &env).await;
    let (_, again) = get(&client, &c.addr, path, &admin).await;
    assert_eq!(again, from_a, "read back from S3 after a restart");
    // A release frozen on S3 is reproduced with time travel there too.
    let r = client
        .post(format!("http://{}/api/v1/releases/library/2024", c.addr))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // The freeze is a commit (a table property): same numbers, next version.
    let (_, frozen) = get(&client, &c.addr, path, &admin).await;
    let (x, y): (Value, Value) = (
        serde_json::from_str(&frozen).unwrap(),
        serde_json::from_str(&from_a).unwrap(),
    );
    assert_eq!(x["groups"], y["groups"]);
    assert_eq!(x["data_version"], "17");
    let from_a = frozen;
    // Replica-wide: an upload for the frozen year is refused by any process.
    let refused = client
        .post(format!("http://{}/api/v1/submissions/library/2024", c.addr))
        .bearer_auth(&admin)
        .header("Content-Type", PARQUET)
        .body(library_bulk_file(&rows[..1]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let (_, as_of) = get(
        &client,
        &c.addr,
        &format!("{path}&as_of=library-2024-1"),
        &admin,
    )
    .await;
    assert_eq!(as_of, from_a);
    let (_, older) = get(&client, &c.addr, &format!("{path}&as_of=2"), &admin).await;
    let older: Value = serde_json::from_str(&older).unwrap();
    assert_eq!(older["data_version"], "2");

    // A backup of the bucket's lake, restored into a local data directory,
    // answers the same; and back into another prefix of the bucket too.
    let backups = tempfile::tempdir().unwrap();
    let to = backups.path().join("b");
    let data = dir.path().to_str().unwrap();
    run(
        &["backup", "--data-dir", data, "--to", to.to_str().unwrap()],
        &env,
    );
    let local = tempfile::tempdir().unwrap();
    let local_dir = local.path().join("ring");
    run(
        &[
            "restore",
            "--from",
            to.to_str().unwrap(),
            "--data-dir",
            local_dir.to_str().unwrap(),
        ],
        &[],
    );
    let d = replica(&local_dir, &[]).await;
    let (_, restored) = get(&client, &d.addr, path, &admin).await;
    assert_eq!(restored, from_a, "restored from S3 into a local lake");
    let other = tempfile::tempdir().unwrap();
    let other_dir = other.path().join("ring");
    let env_b = s3.env("ring-b");
    run(
        &[
            "restore",
            "--from",
            to.to_str().unwrap(),
            "--data-dir",
            other_dir.to_str().unwrap(),
        ],
        &env_b,
    );
    let e = replica(&other_dir, &env_b).await;
    let (_, restored) = get(&client, &e.addr, path, &admin).await;
    assert_eq!(
        restored, from_a,
        "restored into another prefix of the bucket"
    );
    let (_, as_of) = get(
        &client,
        &e.addr,
        &format!("{path}&as_of=library-2024-1"),
        &admin,
    )
    .await;
    assert_eq!(as_of, from_a);
}
