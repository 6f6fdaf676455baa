//! `vergleichsring migrate` on a data directory written by the file-based
//! store (commit fe4ca8c, `fixtures/legacy-files/`, made by its `make.py`):
//! `serve` refuses it until it is migrated, the migration is idempotent,
//! and afterwards every answer that version gave is given again, byte for
//! byte as JSON, with the same tokens; backup and restore keep them.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::free_port;
use crate::operations::serve_binary;

fn fixture() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/legacy-files"
    ))
}

/// The fixture's data directory, unpacked into a new temporary directory.
fn unpacked() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("tar")
        .arg("xzf")
        .arg(fixture().join("data.tar.gz"))
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let data = dir.path().join("data");
    (dir, data)
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
        .args(args)
        .output()
        .unwrap()
}

/// Asks every recorded question of a served directory and compares the
/// answers with those the file-based version gave.
async fn answers_as_before(data: &Path) {
    let tokens: Value =
        serde_json::from_slice(&std::fs::read(fixture().join("tokens.json")).unwrap()).unwrap();
    let answers: Vec<Value> =
        serde_json::from_slice(&std::fs::read(fixture().join("answers.json")).unwrap()).unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // The recorded answers were given before the perturbation of rule 14
    // existed: a ring that turns it off answers exactly as before.
    let served = serve_binary(
        &["--data-dir", data.to_str().unwrap(), "--listen", &listen],
        &[
            ("VERGLEICHSRING_DISCLOSURE_NOISE_MIN", "0"),
            ("VERGLEICHSRING_DISCLOSURE_NOISE_MAX", "0"),
        ],
        port,
    )
    .await;
    let client = reqwest::Client::new();
    let get = |path: &str, role: &str| {
        client
            .get(format!("http://{}{path}", served.addr))
            .bearer_auth(tokens[role].as_str().unwrap())
            .send()
    };
    for a in &answers {
        let path = a["path"].as_str().unwrap();
        let r = get(path, a["role"].as_str().unwrap()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let mut body: Value = r.json().await.unwrap();
        match path {
            // Reads since the migration are logged after the old ones.
            "/api/v1/access-log" => {
                let old = a["body"].as_array().unwrap();
                let new = body.as_array().unwrap();
                assert!(new.len() >= old.len(), "{new:?}");
                assert_eq!(&new[..old.len()], old.as_slice(), "{path}");
            }
            // When a token was last used is per process.
            "/api/v1/tokens" => {
                for t in body.as_array_mut().unwrap() {
                    t.as_object_mut().unwrap().remove("last_used_at");
                }
                assert_eq!(body, a["body"], "{path}");
            }
            _ => assert_eq!(body, a["body"], "{path}"),
        }
    }
    // The token revoked before the migration stays revoked.
    let r = get("/api/v1/members", "revoked").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_file_based_data_directory_migrates_and_answers_as_before() {
    let (_tmp, data) = unpacked();
    let dir = data.to_str().unwrap();

    // Not migrated: serve stops with a sentence saying what to run.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
        .args(["serve", "--data-dir", dir, "--listen", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains(&format!("run `vergleichsring migrate --data-dir {dir}`")),
        "{why}"
    );
    // The command line refuses to write tokens into it too.
    let token = cli(&["token", "create", "--data-dir", dir, "--role", "admin"]);
    assert!(!token.status.success());

    let first = cli(&["migrate", "--data-dir", dir]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(
        said.contains("40 members, 5 tokens, 2 grants, 1 groups, 1 explanations, 1 releases"),
        "{said}"
    );
    let again = cli(&["migrate", "--data-dir", dir]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to do"));
    // One change of the state log holds the migration; running it again
    // wrote nothing.
    let log: Vec<_> = std::fs::read_dir(data.join("lake/_state/log"))
        .unwrap()
        .collect();
    assert_eq!(log.len(), 1);

    answers_as_before(&data).await;

    // A backup of the migrated directory, restored, answers the same.
    let backups = tempfile::tempdir().unwrap();
    let to = backups.path().join("backup");
    let restored = backups.path().join("restored");
    let made = cli(&["backup", "--data-dir", dir, "--to", to.to_str().unwrap()]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let back = cli(&[
        "restore",
        "--from",
        to.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    answers_as_before(&restored).await;
}
