//! Operations: request ids, `/metrics`, `/ready`, configuration precedence
//! through the real binary.

use reqwest::StatusCode;
use vergleichsring_store::Role;

use crate::helpers::free_port;
use crate::helpers::*;

/// The value of a Prometheus sample whose line starts with `prefix` (name
/// and labels as rendered), or 0 when it is not there yet.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_count_requests_uploads_suppressions_and_cache_hits() {
    let app = TestApp::spawn().await;
    let ids = app.city_ring(8, 10.0).await;
    let before = app.get("/metrics", None).await;
    assert_eq!(before.status, StatusCode::OK);
    let before = before.text;
    let member = app.token(Role::Member, Some(&ids[0])).await;
    let path = "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=size_class";
    // Three reads: one computed, one from the response cache, one 304.
    let first = app
        .client
        .get(app.url(path))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let second = app.get(path, Some(&member)).await;
    assert_eq!(second.status, StatusCode::OK);
    let third = app
        .client
        .get(app.url(path))
        .bearer_auth(&member)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), StatusCode::NOT_MODIFIED);
    // Five small towns form a size class of their own: published (five
    // changes), but a member of it has only four peers.
    app.register(&[
        ("09001001", "Dorf A", "kreisangehoerige_gemeinde"),
        ("09001002", "Dorf B", "kreisangehoerige_gemeinde"),
        ("09001003", "Dorf C", "kreisangehoerige_gemeinde"),
        ("09001004", "Dorf D", "kreisangehoerige_gemeinde"),
        ("09001005", "Dorf E", "kreisangehoerige_gemeinde"),
    ])
    .await;
    let rows = [
        ("09001001", 3_000.0, 1.0),
        ("09001002", 3_500.0, 1.2),
        ("09001003", 4_000.0, 1.3),
        ("09001004", 4_500.0, 1.5),
        ("09001005", 5_000.0, 1.7),
    ];
    app.library_bulk(2024, &rows).await;
    let small = app.token(Role::Member, Some("09001001")).await;
    let a = app.get(path, Some(&small)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.text.contains("below_threshold"), "{}", a.text);
    // One upload rejected for a rule.
    let bad = app
        .upload(
            "library",
            2024,
            &app.admin,
            "text/csv",
            bytes::Bytes::from_static(b"member_id,population,loans\n05001000,abc,1\n"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    let rule = bad.body["errors"][0]["rule"].as_str().unwrap().to_string();

    let after = app.get("/metrics", None).await.text;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    let route = "/api/v1/comparisons/{domain}/{year}";
    assert_eq!(
        delta(
            "vergleichsring_http_requests_total",
            &[("route", route), ("status", "200")]
        ),
        3.0,
        "{after}"
    );
    assert_eq!(
        delta(
            "vergleichsring_http_requests_total",
            &[("route", route), ("status", "304")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "vergleichsring_http_request_duration_seconds_count",
            &[("route", route)]
        ),
        4.0
    );
    assert!(after.contains("vergleichsring_http_request_duration_seconds_bucket{"));
    assert_eq!(
        delta(
            "vergleichsring_response_cache_total",
            &[("result", "not_modified")]
        ),
        1.0
    );
    assert!(delta("vergleichsring_response_cache_total", &[("result", "hit")]) >= 1.0);
    assert_eq!(
        delta(
            "vergleichsring_uploads_total",
            &[("outcome", "accepted"), ("domain", "library")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "vergleichsring_uploads_total",
            &[("outcome", "rejected"), ("rule", &rule)]
        ),
        1.0,
        "{after}"
    );
    assert!(
        delta(
            "vergleichsring_suppressed_groups_total",
            &[("reason", "below_threshold")]
        ) >= 1.0,
        "{after}"
    );
    let version = app.data_version("library", 2024).await;
    assert_eq!(
        sample(
            &after,
            "vergleichsring_lake_version",
            &[("domain", "library")]
        ),
        version.parse::<f64>().unwrap()
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_ready_reads_the_lake() {
    let app = TestApp::spawn().await;
    let a = app.client.get(app.url("/health")).send().await.unwrap();
    let id = a.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 16);
    let b = app.client.get(app.url("/health")).send().await.unwrap();
    assert_ne!(
        b.headers()["x-request-id"],
        id.as_str(),
        "ids are per request"
    );
    // The caller's id is kept (for tracing across services), also on errors.
    let c = app
        .client
        .get(app.url("/api/v1/nothing"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(c.status(), StatusCode::NOT_FOUND);
    assert_eq!(c.headers()["x-request-id"], "abc-123");
    let ready = app.get("/ready", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert_eq!(ready.body["status"], "ready");
    // A lake that cannot be read is not ready; liveness stays.
    let log = app.dir.path().join("lake/library/_delta_log");
    app.city_ring(1, 1.0).await;
    std::fs::remove_dir_all(&log).unwrap();
    let ready = app.get("/ready", None).await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text
    );
    assert_eq!(ready.body["error"], "lake_unreadable");
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
}

/// The `vergleichsring` binary built for these tests.
fn binary() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
}

/// A `serve` process over `dir`, killed when dropped.
pub struct Served {
    pub child: std::process::Child,
    pub addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `vergleichsring serve` with extra arguments and environment and
/// waits until `/health` answers on `port`.
pub async fn serve_binary(args: &[&str], env: &[(&str, &str)], port: u16) -> Served {
    let mut cmd = binary();
    cmd.arg("serve").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let served = Served {
        child,
        addr: format!("127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = client
            .get(format!("http://{}/health", served.addr))
            .send()
            .await
            && r.status() == StatusCode::OK
        {
            return served;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server did not come up on {}", served.addr);
}

/// An initialised data directory and an admin token for it.
async fn data_dir_with_admin() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    vergleichsring_store::Store::init(dir.path()).unwrap();
    let admin =
        vergleichsring_store::Store::create_token(dir.path(), Role::Admin, None, None, vec![])
            .await
            .unwrap()
            .0;
    (dir, admin)
}

/// `serve` over `dir` on a free port, with member 05001000 registered.
async fn serve_with_member(dir: &std::path::Path, admin: &str) -> (Served, String) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let served = serve_binary(
        &["--data-dir", dir.to_str().unwrap(), "--listen", &listen],
        &[],
        port,
    )
    .await;
    let r = reqwest::Client::new()
        .post(format!("http://{listen}/api/v1/members"))
        .bearer_auth(admin)
        .json(&serde_json::json!([{"member_id": "05001000", "name": "Stadt", "kind": "kreisfreie_stadt"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    (served, listen)
}

#[tokio::test]
async fn configuration_file_environment_and_flags_in_that_order() {
    let (dir, admin) = data_dir_with_admin().await;
    let (p_file, p_env, p_flag) = (free_port(), free_port(), free_port());
    let cfg = dir.path().join("ring.toml");
    std::fs::write(
        &cfg,
        format!(
            "listen = \"127.0.0.1:{p_file}\"\ndata_dir = \"{}\"\n[disclosure]\nthreshold = 6\nmedian_min = 6\n[lake]\nsecret_access_key = \"from-file-secret\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    // `config check` shows what wins, with the secret masked.
    let out = binary()
        .args(["config", "check"])
        .arg(&cfg)
        .env("VERGLEICHSRING_DISCLOSURE_THRESHOLD", "9")
        .env("VERGLEICHSRING_LISTEN", format!("127.0.0.1:{p_env}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("threshold = 9"), "{text}");
    assert!(text.contains("median_min = 6"), "{text}");
    assert!(
        text.contains(&format!("listen = \"127.0.0.1:{p_env}\"")),
        "{text}"
    );
    assert!(!text.contains("from-file-secret"), "{text}");
    assert!(
        text.contains("VERGLEICHSRING_DISCLOSURE_THRESHOLD"),
        "{text}"
    );
    // A bad value is refused with its source named, and exits non-zero.
    let out = binary()
        .args(["config", "check"])
        .arg(&cfg)
        .env("VERGLEICHSRING_DISCLOSURE_THRESHOLD", "2")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("disclosure.threshold = 2"));
    // `serve`: the environment beats the file ...
    let env_port = format!("127.0.0.1:{p_env}");
    let served = serve_binary(
        &["--config", cfg.to_str().unwrap()],
        &[("VERGLEICHSRING_LISTEN", &env_port)],
        p_env,
    )
    .await;
    drop(served);
    // ... and the flag beats the environment. The threshold of 9 from the
    // environment is the one the running server applies.
    let flag_port = format!("127.0.0.1:{p_flag}");
    let served = serve_binary(
        &["--config", cfg.to_str().unwrap(), "--listen", &flag_port],
        &[
            ("VERGLEICHSRING_LISTEN", &env_port),
            ("VERGLEICHSRING_DISCLOSURE_THRESHOLD", "9"),
        ],
        p_flag,
    )
    .await;
    let client = reqwest::Client::new();
    let url = |p: &str| format!("http://{}{p}", served.addr);
    let members: Vec<serde_json::Value> = (1..=9)
        .map(|i| serde_json::json!({"member_id": format!("05{i:03}000"), "name": "Stadt", "kind": "kreisfreie_stadt"}))
        .collect();
    let r = client
        .post(url("/api/v1/members"))
        .bearer_auth(&admin)
        .json(&members)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let ids: Vec<String> = (1..=9).map(|i| format!("05{i:03}000")).collect();
    let rows: Vec<(&str, f64, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + i as f64 / 10.0))
        .collect();
    let r = client
        .post(url("/api/v1/submissions/library/2024"))
        .bearer_auth(&admin)
        .header("Content-Type", PARQUET)
        .body(library_bulk_file(&rows))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let member = vergleichsring_store::Store::create_token(
        dir.path(),
        Role::Member,
        Some(ids[0].clone()),
        None,
        vec![],
    )
    .await
    .unwrap()
    .0;
    // 9 members: the requester sees 8 peers, below the threshold of 9.
    let r: serde_json::Value = client
        .get(url(
            "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=all",
        ))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["groups"][0]["reason"], "below_threshold", "{r}");
}

#[tokio::test]
async fn sigterm_finishes_the_upload_in_flight_then_exits() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (dir, admin) = data_dir_with_admin().await;
    let (mut served, listen) = serve_with_member(dir.path(), &admin).await;
    let client = reqwest::Client::new();
    // The upload's headers and half its body are sent, then SIGTERM, then
    // the rest: the server must still take, commit and answer it.
    let body = library_bulk_file(&[("05001000", 120_000.0, 1.0)]);
    let mut stream = tokio::net::TcpStream::connect(&listen).await.unwrap();
    let head = format!(
        "POST /api/v1/submissions/library/2024 HTTP/1.1\r\nHost: {listen}\r\nAuthorization: Bearer {admin}\r\nContent-Type: {PARQUET}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let half = body.len() / 2;
    stream.write_all(&body[..half]).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let pid = served.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // New connections are refused while the upload is still in flight.
    assert!(
        client
            .get(format!("http://{listen}/health"))
            .send()
            .await
            .is_err(),
        "the server took a new connection after SIGTERM"
    );
    stream.write_all(&body[half..]).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    // The process ends by itself, successfully.
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = served.child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = status.expect("the server did not exit after SIGTERM");
    assert!(status.success(), "{status}");
    // And the upload is stored.
    let store = vergleichsring_store::Store::open(dir.path()).await.unwrap();
    assert_eq!(store.data_version("library").await, Some(0));
}

#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let (dir, admin) = data_dir_with_admin().await;
    let port = free_port();
    let log = dir.path().join("server.log");
    let child = binary()
        .args(["serve", "--data-dir", dir.path().to_str().unwrap()])
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let served = Served {
        child,
        addr: format!("127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        if client
            .get(format!("http://{}/health", served.addr))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up);
    let r = client
        .post(format!("http://{}/api/v1/members", served.addr))
        .bearer_auth(&admin)
        .header("x-request-id", "trace-me-4711")
        .json(&serde_json::json!([{"member_id": "05001000", "name": "Stadt", "kind": "kreisfreie_stadt"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = client
        .post(format!(
            "http://{}/api/v1/submissions/library/2024",
            served.addr
        ))
        .bearer_auth(&admin)
        .header("x-request-id", "trace-me-4711")
        .header("Content-Type", PARQUET)
        .body(library_bulk_file(&[("05001000", 120_000.0, 1.0)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    drop(served);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert!(!lines.is_empty());
    let committed = lines
        .iter()
        .find(|l| l["message"] == "submission committed")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        committed["span"]["request_id"], "trace-me-4711",
        "{committed}"
    );
    assert_eq!(committed["level"], "INFO");
}

/// The access log is a Delta table in the lake that tools other than this
/// service read (here: its transaction log and Parquet files, as DuckDB or
/// Spark would), and a server that is stopped writes its last reads first.
#[tokio::test]
async fn the_access_log_is_a_delta_table_and_survives_a_stop() {
    let (dir, admin) = data_dir_with_admin().await;
    let (mut served, listen) = serve_with_member(dir.path(), &admin).await;
    let client = reqwest::Client::new();
    let r = client
        .post(format!("http://{listen}/api/v1/submissions/library/2024"))
        .bearer_auth(&admin)
        .header("Content-Type", PARQUET)
        .body(library_bulk_file(&[("05001000", 120_000.0, 1.0)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    for _ in 0..3 {
        let r = client
            .get(format!(
                "http://{listen}/api/v1/figures/library/2024?member_id=05001000"
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // SIGTERM: the server finishes and flushes, whatever its refresh tick.
    let stopped = std::process::Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = served.child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    let table = dir.path().join("lake/_access_log");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(table.join("_delta_log")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let action: serde_json::Value = serde_json::from_str(line).unwrap();
                if let Some(p) = action["add"]["path"].as_str() {
                    files.push(table.join(p));
                }
            }
        }
    }
    let mut rows = Vec::new();
    for f in files {
        let file = std::fs::File::open(f).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let column = |name: &str| {
                arrow::compute::cast(
                    batch.column_by_name(name).unwrap(),
                    &arrow::datatypes::DataType::Utf8,
                )
                .unwrap()
            };
            let (action, member) = (column("action"), column("member_id"));
            let text = |a: &arrow::array::ArrayRef, i: usize| {
                a.as_any()
                    .downcast_ref::<arrow::array::StringArray>()
                    .unwrap()
                    .value(i)
                    .to_string()
            };
            for i in 0..batch.num_rows() {
                rows.push((text(&action, i), text(&member, i)));
            }
        }
    }
    assert_eq!(
        rows,
        vec![("figures".to_string(), "05001000".to_string()); 3],
        "every read is in the table"
    );
}
