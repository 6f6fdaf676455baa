//! Nothing lost: many concurrent uploads end in one consistent history, and
//! a server killed with SIGKILL at random moments keeps every upload it
//! acknowledged, exactly, and none it refused.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use vergleichsring_store::{Role, Store};

use crate::helpers::{PARQUET, TestApp, free_port, library_file};

fn member_ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("09{i:03}000")).collect()
}

#[tokio::test]
async fn two_hundred_concurrent_uploads_from_fifty_members_stay_consistent() {
    let app = TestApp::spawn().await;
    let ids = member_ids(50);
    let members: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|id| (id.as_str(), "Gemeinde", "kreisangehoerige_gemeinde"))
        .collect();
    app.register(&members).await;
    let mut tokens: Vec<String> = Vec::new();
    for id in &ids {
        tokens.push(app.token(Role::Member, Some(id)).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..200 {
        let member = k % 50;
        let scale = 1.0 + k as f64 / 1000.0;
        let url = app.url("/api/v1/submissions/library/2024");
        let client = app.client.clone();
        let token = tokens[member].clone();
        tasks.spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("Content-Type", PARQUET)
                .body(library_file(None, 40_000.0, scale))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            (member, scale, status, body)
        });
    }
    let mut accepted: HashMap<usize, Vec<(u64, f64, String)>> = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (member, scale, status, body) = done.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let version: u64 = body["data_version"].as_str().unwrap().parse().unwrap();
        accepted.entry(member).or_default().push((
            version,
            scale,
            body["submission_id"].as_str().unwrap().to_string(),
        ));
    }
    let mut versions: Vec<u64> = accepted.values().flatten().map(|a| a.0).collect();
    versions.sort();
    versions.dedup();
    assert_eq!(
        versions.len(),
        200,
        "every acknowledged upload is its own version"
    );
    for (member, uploads) in &accepted {
        let id = &ids[*member];
        let (_, scale, sid) = uploads.iter().max_by_key(|u| u.0).unwrap();
        let f = app
            .get(
                &format!("/api/v1/figures/library/2024?member_id={id}"),
                Some(&app.admin),
            )
            .await;
        assert_eq!(
            f.body["submission_id"],
            sid.as_str(),
            "the latest acknowledged upload is current"
        );
        assert_eq!(
            f.body["basic"]["loans"].as_f64(),
            Some(40_000.0 * 4.0 * scale)
        );
        let history = app
            .get("/api/v1/submissions/library/2024", Some(&tokens[*member]))
            .await;
        assert_eq!(history.body.as_array().unwrap().len(), 4);
    }
    let all = app
        .get("/api/v1/submissions/library/2024", Some(&app.admin))
        .await;
    assert_eq!(all.body.as_array().unwrap().len(), 200);
}

/// A deterministic pseudo-random sequence, so a failing round can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

#[tokio::test]
async fn the_same_file_uploaded_many_times_at_once_is_stored_each_time() {
    let app = TestApp::spawn().await;
    let id = "09001000";
    app.register(&[(id, "Gemeinde", "kreisangehoerige_gemeinde")])
        .await;
    let token = app.token(Role::Member, Some(id)).await;
    let body = library_file(None, 20_000.0, 1.0);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (client, url, token, body) = (
            app.client.clone(),
            app.url("/api/v1/submissions/library/2024"),
            token.clone(),
            body.clone(),
        );
        tasks.spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("Content-Type", PARQUET)
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        });
    }
    let mut versions: Vec<u64> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (status, text) = done.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        versions.push(body["data_version"].as_str().unwrap().parse().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=12).collect::<Vec<u64>>(), "one commit each");
    // Every row carries the version of its own commit: the submissions
    // list one data version each, 1 to 12.
    let list = app
        .get("/api/v1/submissions/library/2024", Some(&token))
        .await
        .body;
    let mut listed: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["data_version"].as_str().unwrap().parse().unwrap())
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, (1..=12).collect::<Vec<u64>>());
}

async fn start_server(dir: &std::path::Path, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start");
}

#[tokio::test]
async fn sigkill_at_random_moments_loses_no_acknowledged_upload() {
    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path()).unwrap();
    let ids = member_ids(8);
    let members: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(r#"{{"member_id":"{id}","name":"G","kind":"kreisangehoerige_gemeinde"}}"#)
        })
        .collect();
    let members: Vec<vergleichsring_store::Member> =
        serde_json::from_str(&format!("[{}]", members.join(","))).unwrap();
    Store::open(dir.path())
        .await
        .unwrap()
        .upsert_members(members)
        .await
        .unwrap();
    let admin = Store::create_token(dir.path(), Role::Admin, None, None, vec![])
        .await
        .unwrap()
        .0;
    let mut tokens: Vec<String> = Vec::new();
    for id in &ids {
        tokens.push(
            Store::create_token(dir.path(), Role::Member, Some(id.clone()), None, vec![])
                .await
                .unwrap()
                .0,
        );
    }
    let client = reqwest::Client::new();
    let mut rng = Lcg(7);
    // (member, loans) of every acknowledged upload, by submission id.
    let mut acknowledged: Vec<(String, usize, f64)> = Vec::new();
    for round in 0..20 {
        let port = free_port();
        let mut server = start_server(dir.path(), port).await;
        let mut tasks = tokio::task::JoinSet::new();
        for k in 0..12 {
            let member = (round * 12 + k) % ids.len();
            let scale = 1.0 + (round * 100 + k) as f64 / 10_000.0;
            // Every fourth upload breaks a rule, so refusals are exercised too.
            let broken = k % 4 == 3;
            let body = if broken {
                library_file(None, 40_000.0, scale).slice(0..100)
            } else {
                library_file(None, 40_000.0, scale)
            };
            let req = client
                .post(format!(
                    "http://127.0.0.1:{port}/api/v1/submissions/library/2024"
                ))
                .bearer_auth(&tokens[member])
                .header("Content-Type", PARQUET)
                .body(body);
            tasks.spawn(async move {
                let r = req.send().await;
                let answer = match r {
                    Ok(r) => {
                        let status = r.status();
                        Some((status, r.json::<Value>().await.ok()))
                    }
                    Err(_) => None,
                };
                (member, scale, broken, answer)
            });
        }
        // Kill anywhere from before the first upload lands to after the last.
        tokio::time::sleep(Duration::from_millis(50 + rng.next(1500))).await;
        server.kill().unwrap();
        server.wait().unwrap();
        while let Some(done) = tasks.join_next().await {
            let (member, scale, broken, answer) = done.unwrap();
            if let Some((status, Some(body))) = answer {
                if status == StatusCode::CREATED {
                    assert!(!broken, "a broken upload was accepted");
                    let sid = body["submission_id"].as_str().unwrap().to_string();
                    acknowledged.push((sid, member, 40_000.0 * 4.0 * scale));
                } else {
                    assert!(
                        broken || status.is_server_error(),
                        "round {round}: {status} {body}"
                    );
                }
            }
        }
        // After the restart every acknowledged upload is there, exactly.
        let port = free_port();
        let mut server = start_server(dir.path(), port).await;
        for (sid, member, loans) in &acknowledged {
            let r = client
                .get(format!("http://127.0.0.1:{port}/api/v1/figures/library/2024?member_id={}&submission_id={sid}", ids[*member]))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                StatusCode::OK,
                "round {round}: acknowledged submission {sid} is missing"
            );
            let body: Value = r.json().await.unwrap();
            assert_eq!(
                body["basic"]["loans"].as_f64(),
                Some(*loans),
                "round {round}: {sid}"
            );
        }
        // The table reads cleanly: every submission lists, comparisons answer.
        let r = client
            .get(format!(
                "http://127.0.0.1:{port}/api/v1/submissions/library/2024"
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let listed: Value = r.json().await.unwrap();
        for s in listed.as_array().unwrap() {
            assert!(
                s["rows"].as_u64().unwrap() == 1,
                "a refused or partial upload is in the history: {s}"
            );
        }
        let r = client
            .get(format!("http://127.0.0.1:{port}/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=all"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        server.kill().unwrap();
        server.wait().unwrap();
    }
    assert!(
        !acknowledged.is_empty(),
        "no upload was acknowledged in 20 rounds"
    );
    println!(
        "{} acknowledged uploads survived 20 SIGKILLs",
        acknowledged.len()
    );
}
