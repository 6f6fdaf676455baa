//! Hostile inputs of issue 14 through the real server: each is refused with
//! a 4xx naming the rule, quickly, without growing the server's memory, and
//! the service goes on answering (the process is this test's own, so its
//! resident memory is the server's).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

/// The resident memory of this process in bytes (Linux).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

const LIMIT: u64 = 1536 * 1024 * 1024;

/// `/health` and a member's comparison answer.
async fn reads_answer(app: &TestApp, member: &str) {
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
    let c = app
        .get(
            "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=all",
            Some(member),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
}

#[tokio::test]
async fn hostile_queries_are_refused_quickly_and_the_service_stays_up() {
    let app = TestApp::spawn().await;
    app.city_ring(8, 10.0).await;
    let member = app
        .token(vergleichsring_store::Role::Member, Some("05001000"))
        .await;
    let figures_before = app
        .get(
            "/api/v1/figures/library/2024?member_id=05001000",
            Some(&app.admin),
        )
        .await
        .body;
    for (sql, says) in [
        (
            "SELECT cardinality(generate_series(1, 500000000))",
            "cardinality",
        ),
        ("SELECT repeat('x', 3000000000)", "repeat"),
        (
            "SELECT * FROM generate_series(1, 1000000000)",
            "table function",
        ),
        (
            "SELECT sum(a.n + b.n + c.n + d.n) FROM comparisons a, comparisons b, comparisons c, comparisons d",
            "equality condition",
        ),
        (
            "SELECT count(*) FROM comparisons a JOIN comparisons b ON a.n < b.n",
            "equality condition",
        ),
        (
            "WITH a AS (SELECT \"group\" || \"group\" AS s FROM comparisons) SELECT s || s FROM a",
            "||",
        ),
        ("SELECT 1/0", "failed"),
    ] {
        let started = Instant::now();
        let a = app
            .post_json("/api/v1/query", Some(&app.analyst), &json!({ "sql": sql }))
            .await;
        let took = started.elapsed();
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{sql}: {}", a.text);
        assert_eq!(a.body["error"], "bad_request", "{sql}");
        let message = a.body["message"].as_str().unwrap().to_lowercase();
        assert!(message.contains(says), "{sql}: {message}");
        assert!(took < Duration::from_secs(12), "{sql} took {took:?}");
        assert!(rss() < LIMIT, "{sql}: resident memory {} bytes", rss());
    }
    // A sheet of two cells whose range would be 17 billion cells.
    let sparse = std::fs::read("fixtures/uploads/bad/sparse_extent.xlsx").unwrap();
    let started = Instant::now();
    let a = app
        .upload(
            "library",
            2024,
            &member,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            sparse.into(),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.body["errors"][0]["rule"], "too_many_columns");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(rss() < LIMIT, "resident memory {} bytes", rss());

    // Eight hostile queries at once: reads still answer within a second.
    let hostile: Vec<_> = (0..8)
        .map(|i| {
            let client = app.client.clone();
            let url = app.url("/api/v1/query");
            let analyst = app.analyst.clone();
            tokio::spawn(async move {
                let sql = format!(
                    "SELECT sum(a.n * b.n * {i}) FROM comparisons a, comparisons b, comparisons c"
                );
                client
                    .post(url)
                    .bearer_auth(analyst)
                    .json(&json!({ "sql": sql }))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let started = Instant::now();
    reads_answer(&app, &member).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    for h in hostile {
        assert!(h.await.unwrap().is_client_error());
    }

    // The service answers, and nothing stored changed.
    reads_answer(&app, &member).await;
    let figures_after = app
        .get(
            "/api/v1/figures/library/2024?member_id=05001000",
            Some(&app.admin),
        )
        .await
        .body;
    assert_eq!(figures_before, figures_after);
}

/// The worker processes of this test's server: children of this process
/// started as `vergleichsring worker`, with their CPU ticks so far.
fn workers() -> Vec<(u32, u64)> {
    let me = std::process::id().to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The fields after the command's closing parenthesis: state, ppid, …
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if fields.get(1) == Some(&me.as_str()) && cmdline.split(|b| *b == 0).any(|a| a == b"worker")
        {
            let ticks = fields
                .get(11)
                .and_then(|u| u.parse::<u64>().ok())
                .unwrap_or(0)
                + fields
                    .get(12)
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0);
            out.push((pid, ticks));
        }
    }
    out
}

/// A workbook that takes the decoder a while: many rows of numbers.
fn slow_workbook() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "member_id").unwrap();
    for c in 1..8u16 {
        sheet.write_string(0, c, format!("f{c}")).unwrap();
    }
    for r in 1..60_000u32 {
        sheet.write_string(r, 0, "05001000").unwrap();
        for c in 1..8u16 {
            sheet
                .write_number(r, c, f64::from(r % 97 + u32::from(c)))
                .unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

/// A worker killed with SIGKILL in the middle of decoding an upload: the
/// upload is refused with a reason, nothing is stored, the server stays up
/// and the next upload works.
#[tokio::test]
async fn a_worker_killed_mid_upload_refuses_it_and_the_next_one_works() {
    let app = TestApp::spawn().await;
    app.city_ring(8, 10.0).await;
    let version = app.data_version("library", 2024).await;
    let body = slow_workbook();
    assert!(body.len() < 2 * 1024 * 1024, "{} bytes", body.len());
    let upload = {
        let client = app.client.clone();
        let url = app.url("/api/v1/submissions/library/2024");
        let admin = app.admin.clone();
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(admin)
                .header(
                    "Content-Type",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
                .body(body)
                .send()
                .await
                .unwrap()
        })
    };
    // The busy worker is the one whose CPU time grows.
    let started = Instant::now();
    let mut seen: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
    let killed = loop {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no worker got busy"
        );
        let busy = workers().into_iter().find(|(pid, ticks)| {
            seen.insert(*pid, *ticks)
                .is_some_and(|before| *ticks > before)
        });
        if let Some((pid, _)) = busy {
            let status = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            break pid;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let r = upload.await.unwrap();
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        status.is_client_error() || status.is_server_error(),
        "killed worker {killed}: {status} {body}"
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("decoder stopped"), "{body}");
    assert_eq!(app.data_version("library", 2024).await, version);
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
    // The next upload works (a new worker is started for it).
    let next = app
        .upload(
            "library",
            2024,
            &app.admin,
            crate::helpers::PARQUET,
            crate::helpers::library_bulk_file(&[("05001000", 120_000.0, 1.5)]),
        )
        .await;
    assert_eq!(next.status, StatusCode::CREATED, "{}", next.text);
    assert_ne!(app.data_version("library", 2024).await, version);
}

/// Parquet files of a few KB that take a decoder minutes (found by
/// `examples/fuzz_workers.rs`): each is refused at the time limit, its
/// worker is killed (no core keeps burning), and nothing is stored.
#[tokio::test]
async fn slow_files_are_refused_at_the_time_limit_and_their_worker_killed() {
    let limit = Duration::from_secs(2);
    let app = TestApp::spawn_with_upload_timeout(limit).await;
    app.city_ring(8, 10.0).await;
    let version = app.data_version("library", 2024).await;
    let mut files: Vec<_> = std::fs::read_dir("fixtures/uploads/slow")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for path in files {
        let started = Instant::now();
        let a = app
            .upload(
                "library",
                2024,
                &app.admin,
                crate::helpers::PARQUET,
                std::fs::read(&path).unwrap().into(),
            )
            .await;
        let took = started.elapsed();
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path:?}: {}",
            a.text
        );
        assert_eq!(a.body["errors"][0]["rule"], "too_slow", "{path:?}");
        assert!(
            took < limit + Duration::from_secs(2),
            "{path:?} took {took:?}"
        );
        // No worker keeps decoding it.
        let before = workers();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = workers();
        for (pid, ticks) in after {
            let earlier = before
                .iter()
                .find(|(p, _)| *p == pid)
                .map_or(ticks, |w| w.1);
            assert!(
                ticks <= earlier + 1,
                "worker {pid} is still busy after {path:?}"
            );
        }
    }
    assert_eq!(app.data_version("library", 2024).await, version);
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
    assert!(rss() < LIMIT);
}
