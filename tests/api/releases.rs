//! Frozen releases: uploads refused while frozen, and `as_of` answers that
//! come out byte for byte as they did, after corrections, reopening, new
//! members and a restart.

use reqwest::StatusCode;
use vergleichsring_store::Role;

use crate::helpers::*;

async fn bytes(app: &TestApp, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let r = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_release_is_reproduced_byte_for_byte_after_corrections() {
    let mut app = TestApp::spawn().await;
    let ids = app.city_ring(8, 10.0).await;
    let member = app.token(Role::Member, Some(&ids[0])).await;
    let comparison = "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=size_class";
    let (status, live_before) = bytes(&app, comparison, &member).await;
    assert_eq!(status, StatusCode::OK);
    let version_before = app.data_version("library", 2024).await;

    // Only admin freezes; a second freeze is a conflict.
    assert_eq!(
        app.post_json(
            "/api/v1/releases/library/2024",
            Some(&member),
            &serde_json::json!({})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let frozen = app.freeze("library", 2024).await;
    assert_eq!(frozen.status, StatusCode::CREATED, "{}", frozen.text);
    let id = frozen.body["id"].as_str().unwrap().to_string();
    assert_eq!(id, "library-2024-1");
    // Freezing is a commit of its own (a table property, no data), so that
    // the Delta log orders it against uploads from any process.
    let version_at_freeze = app.data_version("library", 2024).await;
    assert_eq!(
        version_at_freeze.parse::<u64>().unwrap(),
        version_before.parse::<u64>().unwrap() + 1
    );
    assert_eq!(frozen.body["data_version"], version_at_freeze.as_str());
    let (_, live_at_freeze) = bytes(&app, comparison, &member).await;
    let (_, admin_at_freeze) = bytes(&app, comparison, &app.admin).await;
    let (a, b) = (
        serde_json::from_slice::<serde_json::Value>(&live_before).unwrap(),
        serde_json::from_slice::<serde_json::Value>(&live_at_freeze).unwrap(),
    );
    assert_eq!(a["groups"], b["groups"], "freezing changes no number");
    let again = app.freeze("library", 2024).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // Everything asked `as_of` the release right after freezing.
    let report = format!("/api/v1/reports/{}/2024", ids[0]);
    let mut before = Vec::new();
    // A data version is admin's (rule 12); everyone else asks for
    // publications and releases.
    let by_version = format!("{comparison}&as_of={version_at_freeze}");
    let refused = app.get(&by_version, Some(&member)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let (status, admin_by_version) = bytes(&app, &by_version, &app.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(admin_by_version, admin_at_freeze);
    let asked = [
        format!("{comparison}&as_of={id}"),
        format!("{comparison}&as_of={id}"),
        format!("/api/v1/timeseries/library/loans_per_capita?group_by=size_class&as_of={id}"),
        format!("{report}?as_of={id}&format=json"),
        format!("{report}?as_of={id}&format=html"),
        format!("{report}?as_of={id}&format=csv"),
        format!("{report}?as_of={id}&format=xlsx"),
    ];
    let etag_at_freeze = app
        .client
        .get(app.url(&asked[0]))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap()
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    for path in &asked {
        let (status, body) = bytes(&app, path, &member).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
        before.push(body);
    }
    // The comparison as of the release is the one that was live then.
    assert_eq!(before[0], live_at_freeze);
    assert_eq!(before[1], live_at_freeze);
    let json: serde_json::Value = serde_json::from_slice(&before[3]).unwrap();
    assert_eq!(json["as_of"], id.as_str());
    assert_eq!(json["releases"][0]["id"], id.as_str());
    assert!(String::from_utf8_lossy(&before[4]).contains(&id));
    // The CSV names the data version, the release and the state per row;
    // the freeze changed no figure, so the member's statistics are those of
    // the publication before it, at the data version before the freeze.
    let csv = String::from_utf8_lossy(&before[5]).to_string();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    // The columns of rule 17 (quintile and noise flags) follow them.
    assert_eq!(
        header[header.len() - 7..header.len() - 4],
        ["data_version", "release", "as_of"]
    );
    let library_row = csv.lines().find(|l| l.starts_with("library,")).unwrap();
    let cells: Vec<&str> = library_row.split(',').collect();
    assert_eq!(
        cells[cells.len() - 7..cells.len() - 4],
        [version_before.as_str(), id.as_str(), id.as_str()],
        "{library_row}"
    );

    // Frozen: uploads are refused with 409 and store nothing.
    let upload = app
        .upload(
            "library",
            2024,
            &member,
            PARQUET,
            library_file(Some(&ids[0]), 120_000.0, 3.0),
        )
        .await;
    assert_eq!(upload.status, StatusCode::CONFLICT, "{}", upload.text);
    assert_eq!(upload.body["error"], "release_frozen");
    assert!(upload.text.contains(&id));
    assert_eq!(app.data_version("library", 2024).await, version_at_freeze);
    // Other years are open.
    let other = app
        .upload(
            "library",
            2023,
            &member,
            PARQUET,
            library_file(Some(&ids[0]), 120_000.0, 1.0),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);

    // Reopen, correct, add a member, rename one: the live answers change ...
    let reopened = app
        .post_json(
            "/api/v1/releases/library/2024/reopen",
            Some(&app.admin),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.text);
    assert!(reopened.body["reopened_at"].is_string());
    let fixed = app
        .upload(
            "library",
            2024,
            &member,
            PARQUET,
            library_file(Some(&ids[0]), 120_000.0, 3.0),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::CREATED, "{}", fixed.text);
    app.register(&[
        ("05900000", "Neustadt", "kreisfreie_stadt"),
        (ids[1].as_str(), "Umbenannt", "kreisfreie_stadt"),
    ])
    .await;
    app.library_bulk(2024, &[("05900000", 120_000.0, 0.5)])
        .await;
    // Admin reads the live state, which changed; the member reads the
    // publication, which two changes do not replace (rule 10).
    let (_, admin_now) = bytes(&app, comparison, &app.admin).await;
    assert_ne!(admin_now, admin_at_freeze);
    let (_, live_now) = bytes(&app, comparison, &member).await;
    assert_eq!(live_now, live_at_freeze);
    let (_, by_version_now) = bytes(&app, &by_version, &app.admin).await;
    assert_eq!(by_version_now, admin_at_freeze);
    // An answer as of the release keeps its ETag through later uploads.
    let r = app
        .client
        .get(app.url(&asked[0]))
        .bearer_auth(&member)
        .header("If-None-Match", &etag_at_freeze)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    // ... and the release's do not, also after a restart (no caches) and
    // after the ring raised its threshold: the release and the publication
    // keep the settings they were made with.
    assert!(frozen.body["disclosure"]["threshold"] == 5);
    for round in 0..3 {
        if round == 2 {
            app.restart_with_policy(vergleichsring_engine::disclosure::Policy {
                threshold: 12,
                ..Default::default()
            })
            .await;
            // A publication keeps the settings it was made with: the
            // member's answer stays as published.
            let (_, live) = bytes(&app, comparison, &member).await;
            assert_eq!(live, live_at_freeze);
        }
        for (path, old) in asked.iter().zip(&before) {
            // Only a release keeps the settings; a plain data version is
            // answered under the ring's current ones.
            if round == 2 && !path.contains(&id) {
                continue;
            }
            let (status, body) = bytes(&app, path, &member).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(
                body == *old,
                "round {round}: {path} changed:\n{}\n---\n{}",
                String::from_utf8_lossy(old),
                String::from_utf8_lossy(&body)
            );
        }
        if round == 0 {
            app.restart().await;
        }
    }
    // The live report lists the release with its reopening.
    let live: serde_json::Value = app
        .get(&format!("{report}?format=json"), Some(&member))
        .await
        .body;
    assert_eq!(live["releases"][0]["id"], id.as_str());
    assert!(live["releases"][0]["reopened_at"].is_string());
    assert!(live.get("as_of").is_none());
    let list = app.get("/api/v1/releases", Some(&member)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().unwrap().len(), 1);

    // Bad `as_of` values are 400 with a sentence.
    for bad in ["library-2024-9", "abc", "999", "1.2"] {
        let a = app
            .get(&format!("{comparison}&as_of={bad}"), Some(&member))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.text);
        assert!(
            a.body["message"].as_str().unwrap().contains("as_of"),
            "{}",
            a.text
        );
    }
    // Reopening what is open is a conflict.
    let twice = app
        .post_json(
            "/api/v1/releases/library/2024/reopen",
            Some(&app.admin),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
}

/// The freeze is a commit in the Delta log, not only a line in the data
/// directory: a process with a data directory of its own over the same lake
/// refuses uploads for the frozen year too.
#[tokio::test]
async fn a_freeze_holds_for_every_process_on_the_lake() {
    use std::sync::Arc;
    use vergleichsring_engine::disclosure::Policy;
    use vergleichsring_engine::{Engine, EngineError, SubmitRequest};
    use vergleichsring_store::{LakeLocation, Member, Store, StoreError};

    let lake_dir = tempfile::tempdir().unwrap();
    let lake = LakeLocation {
        url: Some(url::Url::from_directory_path(lake_dir.path()).unwrap()),
        options: Default::default(),
    };
    let ring = vergleichsring_synth::generate(20, 2024..=2024, 9).unwrap();
    let members: Vec<Member> = ring
        .members
        .iter()
        .map(|m| Member {
            member_id: m.member_id.clone(),
            name: m.name.clone(),
            kind: m.kind,
            structure: None,
        })
        .collect();
    let mut engines = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let store = Arc::new(
            Store::open_with_lake(dir.path(), lake.clone())
                .await
                .unwrap(),
        );
        store.upsert_members(members.clone()).await.unwrap();
        engines.push(Engine::new(store, Policy::default()).await.unwrap());
        dirs.push(dir);
    }
    let library = ring.figures.iter().find(|f| f.domain == "library").unwrap();
    let request = || SubmitRequest {
        domain: "library".into(),
        year: 2024,
        content_type: PARQUET.into(),
        body: vergleichsring_synth::to_parquet_bytes(&library.batch).unwrap(),
        token_id: "test".into(),
        own_member: None,
    };
    engines[0].submit(request()).await.unwrap();
    let release = engines[0].freeze("library", 2024, "admin").await.unwrap();
    match engines[1].submit(request()).await {
        Err(EngineError::Store(StoreError::Frozen { release: id, .. })) => {
            assert_eq!(id, release.id)
        }
        other => panic!("the other process took an upload for a frozen year: {other:?}"),
    }
    engines[0].reopen("library", 2024, "admin").await.unwrap();
    let outcome = engines[1].submit(request()).await.unwrap();
    // Upload, freeze, reopen, upload: four commits.
    assert_eq!(outcome.data_version, "4");
}
