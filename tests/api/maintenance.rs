//! `compact`, `backup` and `restore` through the real binary: the restored
//! service answers byte for byte as the original did, and compaction
//! changes no answer.

use std::path::Path;

use reqwest::StatusCode;
use vergleichsring_store::Role;

use crate::helpers::*;
use crate::operations::serve_binary;

pub(crate) fn run(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The answers compared before and after: comparisons of every domain for
/// admin, a member's report and a release's comparison.
fn paths(member: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (domain, figure) in [
        ("library", first_key_figure("library")),
        ("museum", first_key_figure("museum")),
        ("music_school", first_key_figure("music_school")),
    ] {
        for by in ["all", "size_class", "land"] {
            out.push(format!(
                "/api/v1/comparisons/{domain}/2024?figure={figure}&group_by={by}"
            ));
        }
    }
    out.push(format!(
        "/api/v1/comparisons/library/2024?figure={}&group_by=size_class&as_of=library-2024-1",
        first_key_figure("library")
    ));
    out.push(format!(
        "/api/v1/reports/{member}/2024?format=json&as_of=library-2024-1"
    ));
    out
}

async fn answers(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    paths: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for p in paths {
        let r = client
            .get(format!("{base}{p}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{p}");
        out.push(r.text().await.unwrap());
    }
    out
}

/// An answer without its data version, which compaction moves on.
fn without_version(text: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    if let Some(o) = v.as_object_mut() {
        o.remove("data_version");
    }
    v
}

#[tokio::test]
async fn backup_restore_and_compact_keep_every_answer() {
    let mut app = TestApp::spawn().await;
    let ring = app.load_ring(40, 2022..=2024, 5).await;
    let member = &ring.members[3].member_id;
    let frozen = app.freeze("library", 2024).await;
    assert_eq!(frozen.status, StatusCode::CREATED);
    let paths = paths(member);
    let base = format!("http://{}", app.addr);
    let before = answers(&app.client, &base, &app.admin, &paths).await;
    let data = app.dir.path().to_str().unwrap().to_string();

    // A backup while the service runs.
    let backups = tempfile::tempdir().unwrap();
    let to = backups.path().join("b1");
    let (ok, out) = run(&["backup", "--data-dir", &data, "--to", to.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(to.join("backup.json").exists());
    // Not into a directory that holds something.
    let (ok, out) = run(&["backup", "--data-dir", &data, "--to", to.to_str().unwrap()]);
    assert!(!ok && out.contains("not empty"), "{out}");

    // Compaction merges files and changes no answer but data versions.
    let files = |dir: &Path| {
        std::fs::read_dir(dir.join("lake/library"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
            })
            .count()
    };
    let (ok, out) = run(&["compact", "--data-dir", &data]);
    assert!(ok, "{out}");
    // Three uploads made three files; they are merged into one. The old
    // files stay for time travel.
    assert!(out.contains("library: 3 files, 3 merged into 1"), "{out}");
    assert!(files(app.dir.path()) >= 4);
    app.restart().await;
    let base = format!("http://{}", app.addr);
    let compacted = answers(&app.client, &base, &app.admin, &paths).await;
    for ((p, a), b) in paths.iter().zip(&before).zip(&compacted) {
        if p.contains("as_of=") {
            assert_eq!(a, b, "{p}: a release must not change with compaction");
        } else {
            assert_eq!(without_version(a), without_version(b), "{p}");
        }
    }
    // Uploads still work after compaction, at the next version.
    let version = app.data_version("library", 2023).await;
    let token = app.token(Role::Member, Some(member)).await;
    let a = app
        .upload(
            "library",
            2023,
            &token,
            PARQUET,
            library_file(Some(member), 50_000.0, 1.0),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(
        a.body["data_version"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap(),
        version.parse::<u64>().unwrap() + 1
    );

    // Restore into a new data directory: identical answers, byte for byte.
    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("ring");
    let (ok, out) = run(&[
        "restore",
        "--from",
        to.to_str().unwrap(),
        "--data-dir",
        target.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let (ok, out) = run(&[
        "restore",
        "--from",
        to.to_str().unwrap(),
        "--data-dir",
        target.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("already holds"), "{out}");
    let port = crate::helpers::free_port();
    let listen = format!("127.0.0.1:{port}");
    let served = serve_binary(
        &["--data-dir", target.to_str().unwrap(), "--listen", &listen],
        &[],
        port,
    )
    .await;
    // The tokens came along: the same admin token works.
    let after = answers(&app.client, &format!("http://{listen}"), &app.admin, &paths).await;
    for ((p, a), b) in paths.iter().zip(&before).zip(&after) {
        assert_eq!(a, b, "{p} differs after restore");
    }
    drop(served);
}
