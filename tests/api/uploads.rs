//! Uploads as municipalities make them: every good variant of
//! `fixtures/uploads/good` round-trips to the same figures, and every input
//! of the bad corpus in `fixtures/uploads/bad` gets its documented status
//! and rule, while the server keeps serving and the lake stays unchanged.
//! The files come from `fixtures/uploads/make_fixtures.py`.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::Value;
use vergleichsring_store::Role;

use crate::helpers::TestApp;

fn dir(which: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/uploads")
        .join(which)
}

fn manifest(which: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir(which).join("manifest.json")).unwrap()).unwrap()
}

async fn ring(app: &TestApp) {
    app.register(&[
        ("05315000", "Stadt Köln", "kreisfreie_stadt"),
        ("05111000", "Stadt Düsseldorf", "kreisfreie_stadt"),
        ("05382", "Rhein-Sieg-Kreis", "landkreis"),
    ])
    .await;
}

fn file(which: &str, name: &str) -> Bytes {
    Bytes::from(std::fs::read(dir(which).join(name)).unwrap())
}

#[tokio::test]
async fn every_writer_and_variant_round_trips() {
    let app = TestApp::spawn().await;
    ring(&app).await;
    let m = manifest("good");
    let files = m["files"].as_array().unwrap();
    assert!(files.len() >= 25);
    for f in files {
        let name = f["file"].as_str().unwrap();
        let a = app
            .upload(
                "library",
                2024,
                &app.admin,
                f["content_type"].as_str().unwrap(),
                file("good", name),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{name}: {}", a.text);
        assert_eq!(a.body["rows"], 3, "{name}");
        let missing: Vec<&str> = f["missing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for (member, expected) in m["expected"].as_object().unwrap() {
            let got = app
                .get(
                    &format!("/api/v1/figures/library/2024?member_id={member}"),
                    Some(&app.admin),
                )
                .await;
            assert_eq!(got.status, StatusCode::OK, "{name} {member}");
            assert_eq!(got.body["submission_id"], a.body["submission_id"], "{name}");
            for (figure, want) in expected.as_object().unwrap() {
                let have = &got.body["basic"][figure];
                let want = if missing.contains(&figure.as_str()) {
                    &Value::Null
                } else {
                    want
                };
                match (want.as_f64(), have.as_f64()) {
                    (Some(w), Some(h)) => assert!(
                        (w - h).abs() <= 1e-9 * w.abs().max(1.0),
                        "{name} {member} {figure}: {h} != {w}"
                    ),
                    (None, None) => {}
                    other => panic!("{name} {member} {figure}: {other:?}"),
                }
            }
        }
        // The exact bytes are archived and can be fetched back.
        let hash = a.body["upload_sha256"].as_str().unwrap();
        let r = app
            .client
            .get(app.url(&format!("/api/v1/uploads/{hash}")))
            .bearer_auth(&app.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.bytes().await.unwrap(), file("good", name), "{name}");
    }
}

#[tokio::test]
async fn the_bad_corpus_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    ring(&app).await;
    let member = app.token(Role::Member, Some("05111000")).await;
    let ok = app
        .upload(
            "library",
            2024,
            &app.admin,
            "application/vnd.apache.parquet",
            file("good", "pyarrow_snappy.parquet"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    let version = app.data_version("library", 2024).await;
    let figures = app
        .get(
            "/api/v1/figures/library/2024?member_id=05315000",
            Some(&app.admin),
        )
        .await
        .body;
    let corpus = manifest("bad");
    let corpus = corpus.as_array().unwrap();
    assert!(corpus.len() >= 40, "the corpus has {} files", corpus.len());
    let mut failures = Vec::new();
    for case in corpus {
        let name = case["file"].as_str().unwrap();
        let token = if case["token"] == "member" {
            &member
        } else {
            &app.admin
        };
        let a = app
            .upload(
                "library",
                2024,
                token,
                case["content_type"].as_str().unwrap(),
                file("bad", name),
            )
            .await;
        let status = case["status"].as_u64().unwrap() as u16;
        let rules: Vec<&str> = case["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let got: Vec<&str> = a.body["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e["rule"].as_str()).collect())
            .unwrap_or_default();
        if a.status.as_u16() != status
            || (!rules.is_empty() && !got.iter().any(|g| rules.contains(g)))
        {
            failures.push(format!(
                "{name}: {} {:?}, expected {status} {rules:?}: {}",
                a.status,
                got,
                a.text.chars().take(300).collect::<String>()
            ));
        }
        if let Some(errors) = a.body["errors"].as_array() {
            for e in errors {
                assert!(
                    !e["message"].as_str().unwrap_or("").is_empty(),
                    "{name}: an error without message"
                );
            }
        }
        assert_eq!(
            app.get("/health", None).await.status,
            StatusCode::OK,
            "{name} broke the server"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(app.data_version("library", 2024).await, version);
    assert_eq!(
        app.get(
            "/api/v1/figures/library/2024?member_id=05315000",
            Some(&app.admin)
        )
        .await
        .body,
        figures
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_upload_prints_a_table_and_fails_on_rejection() {
    let app = TestApp::spawn().await;
    ring(&app).await;
    let member = app.token(Role::Member, Some("05111000")).await;
    let run = |token: &str, path: PathBuf| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
            .args([
                "upload",
                "--url",
                &app.url(""),
                "--token",
                token,
                "--domain",
                "library",
                "--year",
                "2024",
            ])
            .arg(path)
            .output()
            .unwrap()
    };
    let ok = tokio::task::block_in_place(|| {
        run(
            &app.admin,
            dir("good").join("semicolon_decimal_comma_bom.csv"),
        )
    });
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{out}");
    assert!(out.starts_with("Accepted: submission sub_"), "{out}");
    let refused = tokio::task::block_in_place(|| run(&member, dir("bad").join("ragged.csv")));
    let out = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(2), "{out}");
    assert!(out.contains("row") && out.contains("ragged_row"), "{out}");
    let unknown = tokio::task::block_in_place(|| run(&member, dir("bad").join("manifest.json")));
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains(".parquet, .csv or .xlsx"));
}
