//! The lake on a real S3-compatible server (SeaweedFS, started by
//! `.ci/s3-server.sh`), with two `serve` processes over it: uploads through
//! either replica become visible through the other, concurrent commits from
//! both land once each, and a fresh process reads everything back.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_store::{Role, Store};

use crate::helpers::*;
use crate::operations::{Served, serve_binary};

/// The replicas look for other writers' commits this often.
const REFRESH_MILLIS: u64 = 200;
/// The bound the README states for an upload to become visible through
/// another replica (refresh interval plus reading the commit, with room for
/// a loaded CI machine).
const VISIBLE_WITHIN: Duration = Duration::from_secs(10);

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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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

#[tokio::test]
async fn two_replicas_share_a_lake_on_s3() {
    let Some(s3) = S3Server::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path()).unwrap();
    let admin = Store::create_token(dir.path(), Role::Admin, None, None, vec![])
        .await
        .unwrap()
        .0;
    let env = s3.env("ring-a");
    let a = replica(dir.path(), &env).await;
    let b = replica(dir.path(), &env).await;
    let client = reqwest::Client::new();

    // Members registered through A are known to B (shared data directory).
    let ids: Vec<String> = (1..=10).map(|i| format!("05{i:03}000")).collect();
    let members: Vec<Value> = ids
        .iter()
        .map(|id| json!({"member_id": id, "name": "Stadt", "kind": "kreisfreie_stadt"}))
        .collect();
    let r = client
        .post(format!("http://{}/api/v1/members", a.addr))
        .bearer_auth(&admin)
        .json(&members)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // An upload through A is visible through B.
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + i as f64 / 10.0))
        .collect();
    let first = upload(&client, &a.addr, &admin, library_bulk_file(&rows)).await;
    assert_eq!(first["data_version"], "1");
    let took = visible(&client, &b.addr, &admin, 1).await;
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
        (2..=11).collect::<Vec<_>>(),
        "one version per upload"
    );
    visible(&client, &a.addr, &admin, 11).await;
    visible(&client, &b.addr, &admin, 11).await;
    let path = "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=size_class";
    let (status, from_a) = get(&client, &a.addr, path, &admin).await;
    assert_eq!(status, StatusCode::OK);
    let (_, from_b) = get(&client, &b.addr, path, &admin).await;
    assert_eq!(from_a, from_b, "both replicas answer the same");
    let (_, subs) = get(&client, &b.addr, "/api/v1/submissions/library/2024", &admin).await;
    let subs: Vec<Value> = serde_json::from_str(&subs).unwrap();
    assert_eq!(subs.len(), 11, "every submission is listed once");

    // The tables are in the bucket, not in the data directory ...
    assert!(!dir.path().join("lake/library/_delta_log").exists());
    drop(a);
    drop(b);
    // ... and a fresh process reads them back from there.
    let c = replica(dir.path(), &env).await;
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
    assert_eq!(x["data_version"], "12");
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
    let (_, older) = get(&client, &c.addr, &format!("{path}&as_of=1"), &admin).await;
    let older: Value = serde_json::from_str(&older).unwrap();
    assert_eq!(older["data_version"], "1");

    // A backup of the bucket's lake, restored into a local data directory,
    // answers the same; and back into another prefix of the bucket too.
    let backups = tempfile::tempdir().unwrap();
    let to = backups.path().join("b");
    let bin = env!("CARGO_BIN_EXE_vergleichsring");
    let run = |args: &[&str], env: &[(String, String)]| {
        let out = std::process::Command::new(bin)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
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
