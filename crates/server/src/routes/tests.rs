//! Unit tests of the OpenAPI document that `routes::document` assembles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

fn doc() -> Value {
    serde_json::to_value(super::document()).unwrap()
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), op));
        }
    }
    out
}

#[test]
fn openapi_document_is_3_1_and_named() {
    let d = doc();
    assert!(
        d["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        d["openapi"]
    );
    assert_eq!(d["info"]["title"], "vergleichsring");
    assert_eq!(d["info"]["version"], env!("CARGO_PKG_VERSION"));
    let schemes = &d["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
}

/// Every operation has a summary, a description, a tag, a unique
/// operation id and at least one answer; every one that reads a token
/// documents 401 and, where the role matters, 403; every JSON error of
/// the API is an `ErrorBody`.
#[test]
fn openapi_operations_are_described_with_their_errors() {
    let d = doc();
    let tags: BTreeSet<&str> = d["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(&d) {
        let at = format!("{method} {path}");
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{at}: no summary"
        );
        assert!(
            op["description"].as_str().is_some_and(|s| s.len() > 20),
            "{at}: no description"
        );
        let tag = op["tags"][0].as_str().unwrap_or_default();
        assert!(tags.contains(tag), "{at}: tag '{tag}' is not declared");
        assert!(
            ids.insert(op["operationId"].as_str().unwrap().to_string()),
            "{at}: duplicate operation id"
        );
        let responses = op["responses"].as_object().unwrap();
        assert!(!responses.is_empty(), "{at}: no responses");
        for (status, r) in responses {
            assert!(
                r["description"].as_str().is_some_and(|s| !s.is_empty()),
                "{at} {status}: no description"
            );
        }
        let bearer = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        // The web page's session is required unless an empty
        // requirement (`{}`) makes it optional.
        let session = op["security"].as_array().is_some_and(|s| {
            s.iter().any(|r| r.get("session").is_some())
                && !s
                    .iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
        });
        assert_eq!(
            bearer,
            path.starts_with("/api/v1/")
                && !matches!(path.as_str(), "/api/v1/catalog" | "/api/v1/openapi.json"),
            "{at}: bearer security"
        );
        if bearer {
            assert!(responses.contains_key("401"), "{at}: 401 missing");
        }
        if session {
            assert!(responses.contains_key("401"), "{at}: 401 missing");
            assert!(responses.contains_key("403"), "{at}: 403 missing");
        }
        if path.starts_with("/api/v1/") {
            for (status, r) in responses {
                if status.starts_with('4') && status != "401" || status.starts_with('5') {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{at} {status}: errors are ErrorBody"
                    );
                }
            }
            if responses.contains_key("401") {
                assert_eq!(
                    responses["401"]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{at} 401"
                );
            }
        }
    }
}

/// Every `$ref` points at a schema the document holds.
#[test]
fn openapi_answers_carry_the_request_id_and_api_operations_their_500() {
    let d = doc();
    for (path, method, op) in operations(&d) {
        let responses = op["responses"].as_object().unwrap();
        for (status, r) in responses {
            assert!(
                r["headers"]["x-request-id"].is_object(),
                "{method} {path} {status}: no x-request-id"
            );
        }
        if path.starts_with("/api/v1/") && path != "/api/v1/openapi.json" {
            assert_eq!(
                responses["500"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path}"
            );
        }
    }
}

#[test]
fn openapi_references_resolve() {
    fn walk(v: &Value, refs: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    refs.insert(r.clone());
                }
                m.values().for_each(|x| walk(x, refs));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, refs)),
            _ => {}
        }
    }
    let d = doc();
    let mut refs = BTreeSet::new();
    walk(&d, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(
            d["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
}

/// The properties a schema of the document names.
fn properties(d: &Value, schema: &str) -> BTreeSet<String> {
    d["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {schema}"))
        .keys()
        .cloned()
        .collect()
}

/// The keys a value serialises to.
fn keys(v: impl serde::Serialize) -> BTreeSet<String> {
    serde_json::to_value(v)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// The schemas written here for types of other crates and for bodies
/// built as JSON values have exactly the fields of the real answers
/// (every optional field filled, so that none is skipped).
#[test]
fn openapi_schemas_match_what_is_served() {
    use vergleichsring_store as store;
    let d = doc();
    let member = store::Member {
        member_id: "05315000".into(),
        name: "Stadt Köln".into(),
        kind: vergleichsring_catalog::MemberKind::KreisfreieStadt,
        structure: Some(store::GivenStructure {
            area_km2: 405.0,
            degurba: 1.0,
        }),
    };
    assert_eq!(properties(&d, "Member"), keys(&member));
    let group = store::CustomGroup {
        id: "g".into(),
        name: "G".into(),
        member_ids: vec![],
    };
    assert_eq!(properties(&d, "CustomGroup"), keys(&group));
    assert_eq!(
        properties(&d, "GroupName"),
        keys(json!({"id": "g", "name": "G"}))
    );
    let access = store::AccessEntry {
        at: "t".into(),
        token_id: "t".into(),
        role: "admin".into(),
        action: "figures".into(),
        member_id: "m".into(),
        domain: Some("library".into()),
        year: Some(2024),
    };
    assert_eq!(properties(&d, "AccessEntry"), keys(&access));
    let explanation = store::Explanation {
        submission_id: "s".into(),
        member_id: "m".into(),
        rule: "r".into(),
        text: "t".into(),
        explained_by: "t".into(),
        explained_at: "t".into(),
    };
    assert_eq!(properties(&d, "Explanation"), keys(&explanation));
    let warning = vergleichsring_engine::workflow::WarningStatus {
        domain: "library".into(),
        year: 2024,
        submission_id: "s".into(),
        member_id: "m".into(),
        rule: "r".into(),
        figure: "f".into(),
        message: "m".into(),
        message_de: "m".into(),
        open: false,
        explanation: Some(explanation),
        review: Some(store::Review {
            submission_id: "s".into(),
            member_id: "m".into(),
            rule: "r".into(),
            accepted: false,
            comment: "c".into(),
            by: "b".into(),
            at: "t".into(),
        }),
    };
    assert_eq!(properties(&d, "WarningStatus"), keys(&warning));
    let release = store::DataRelease {
        id: "library-2024-1".into(),
        domain: "library".into(),
        year: 2024,
        data_version: "3".into(),
        data_versions: BTreeMap::new(),
        frozen_at: "t".into(),
        frozen_by: "t".into(),
        reopened_at: Some("t".into()),
        reopened_by: Some("t".into()),
        disclosure: Some(serde_json::json!({"threshold": 5})),
    };
    assert_eq!(properties(&d, "DataRelease"), keys(&release));
    let report = vergleichsring_engine::report::Report {
        member_id: "m".into(),
        member_name: "M".into(),
        year: 2024,
        generated_at: "t".into(),
        data_versions: BTreeMap::new(),
        publications: BTreeMap::from([(
            "library".to_string(),
            vergleichsring_engine::compare::PublicationRef {
                id: "library-2024-p1".into(),
                published_at: "t".into(),
            },
        )]),
        as_of: Some("library-2024-1".into()),
        releases: vec![release],
        domains: vec![],
        method: vergleichsring_engine::report::Method {
            quantiles: "q",
            groups: vec![],
            suppression: vec![],
            noise: Some("n"),
        },
    };
    assert_eq!(properties(&d, "Report"), keys(&report));
    assert_eq!(
        properties(&d, "Health"),
        keys(json!({"status": "ok"})),
        "routes::health"
    );
    assert_eq!(
        properties(&d, "Grant"),
        keys(json!({"member_id": "m", "consultant_id": "c"})),
        "routes::grant"
    );
    assert_eq!(
        properties(&d, "CatalogBody"),
        keys(json!({"domains": [], "group_dimensions": [], "size_classes": [], "checks": []})),
        "routes::catalog"
    );
    let errors = [
        crate::error::ApiError::not_found("x"),
        vergleichsring_engine::EngineError::Rejected(vec![]).into(),
        vergleichsring_engine::EngineError::Refused {
            code: "group_refused",
            reason: "below_threshold",
            message: "x".into(),
        }
        .into(),
    ];
    let error_fields = properties(&d, "ErrorBody");
    for e in errors {
        let body = {
            use axum::response::IntoResponse;
            let response = e.into_response();
            let bytes = body_bytes(response);
            serde_json::from_slice::<Value>(&bytes).unwrap()
        };
        let k = keys(&body);
        assert!(k.is_subset(&error_fields), "{k:?} not in {error_fields:?}");
    }
}

/// The bytes of a response body (the error bodies are ready at once).
fn body_bytes(response: axum::response::Response) -> bytes::Bytes {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        .unwrap()
}
