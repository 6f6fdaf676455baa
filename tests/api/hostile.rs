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

#[tokio::test]
async fn hostile_queries_are_refused_quickly_and_the_service_stays_up() {
    let app = TestApp::spawn().await;
    app.city_ring(8, 10.0).await;
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
    let member = app.token(vergleichsring_store::Role::Member, Some("05001000"));
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

    // The service answers, and nothing stored changed.
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
    let c = app
        .get(
            "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=all",
            Some(&app.analyst),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    let figures_after = app
        .get(
            "/api/v1/figures/library/2024?member_id=05001000",
            Some(&app.admin),
        )
        .await
        .body;
    assert_eq!(figures_before, figures_after);
}
