//! The OpenAPI document at `/api/v1/openapi.json` against the router, both
//! ways.
//!
//! The router and the document are built from the same typed contract:
//! `vergleichsring_server::document()` and the router both come from
//! `routes::api`, which registers every handler with `utoipa_axum::routes!`
//! from its `#[utoipa::path]` annotation, and the handlers extract the
//! parameter structs the document describes. So the tests check that the
//! served document is that contract, that every documented operation
//! reaches a handler (not the fallback, not 405) and answers one of its
//! documented statuses and content types, and that every method the
//! contract leaves out of a path is refused with 405 (nothing is routed
//! beside the contract).

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

/// What the router's fallback answers for a path no route matches.
const FALLBACK: &str = "no such endpoint; the API lives under /api/v1";

const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

fn documented(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

async fn fetch_document(app: &TestApp) -> Value {
    let resp = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    resp.json().await.unwrap()
}

#[tokio::test]
async fn openapi_document_is_served_as_openapi_3_1() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1"), "openapi {version}");
    assert_eq!(doc["info"]["title"], "vergleichsring");
    assert!(!doc["info"]["version"].as_str().unwrap().is_empty());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // No token needed, and the document describes itself.
    assert!(doc["paths"]["/api/v1/openapi.json"]["get"].is_object());
}

/// The served document is the typed contract, and it holds the routes
/// every client relies on.
#[tokio::test]
async fn openapi_served_document_is_the_typed_contract() {
    let app = TestApp::spawn().await;
    let served = fetch_document(&app).await;
    let contract = serde_json::to_value(vergleichsring_server::document()).unwrap();
    assert_eq!(served, contract);
    let operations: BTreeSet<(String, String)> = documented(&served)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    for (method, path) in [
        ("GET", "/health"),
        ("GET", "/"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/members"),
        ("POST", "/api/v1/members"),
        ("PATCH", "/api/v1/members/{member_id}"),
        ("DELETE", "/api/v1/members/{member_id}"),
        ("POST", "/api/v1/tokens"),
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/users"),
        ("DELETE", "/api/v1/users/{user_id}"),
        ("DELETE", "/api/v1/users/{user_id}/second-factor"),
        ("GET", "/web/einladung/{code}"),
        ("POST", "/web/einladung/{code}"),
        ("GET", "/web/kollegen"),
        ("POST", "/web/kollegen"),
        ("GET", "/web/zweiter-faktor"),
        ("POST", "/web/zweiter-faktor"),
        ("GET", "/web/schluessel"),
        ("POST", "/web/schluessel"),
        ("POST", "/web/schluessel/sperren"),
        ("POST", "/api/v1/submissions/{domain}/{year}"),
        ("POST", "/api/v1/submissions/{submission_id}/explanations"),
        (
            "DELETE",
            "/api/v1/members/{member_id}/grants/{consultant_id}",
        ),
        ("POST", "/web/hochladen"),
        ("GET", "/web/bericht/{year}"),
    ] {
        assert!(
            operations.contains(&(method.to_string(), path.to_string())),
            "{method} {path} not in {operations:?}"
        );
    }
}

/// Nothing is routed beside the contract: on every documented path, each
/// method the document does not name answers 405 (axum answers HEAD with
/// GET's handler, and OPTIONS and TRACE are not served at all).
#[tokio::test]
async fn openapi_undocumented_methods_are_not_routed() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        let path: String = template
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                continue;
            }
            let resp = client
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    app.url(&path),
                )
                .bearer_auth(&app.admin)
                .send()
                .await
                .unwrap();
            assert_eq!(
                resp.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: an undocumented method is routed"
            );
            checked += 1;
        }
    }
    assert!(checked >= 100, "{checked} methods checked");
}

/// The media type of a `Content-Type` value, without parameters.
fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// Every documented operation, called with its documented example
/// parameters, reaches its handler and answers one of its documented
/// statuses with a documented content type.
#[tokio::test]
async fn openapi_every_documented_operation_is_routed() {
    let app = TestApp::spawn().await;
    app.city_ring(8, 10.0).await;
    let doc = fetch_document(&app).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The check below is only worth something if the fallback answers as
    // it is expected to.
    let miss = app.get("/api/v1/no-such-endpoint", None).await;
    assert_eq!(miss.status, StatusCode::NOT_FOUND);
    assert_eq!(miss.body["message"], FALLBACK);

    let operations = documented(&doc);
    assert!(operations.len() >= 30, "{} operations", operations.len());
    for (method, template, op) in operations {
        let at = format!("{method} {template}");
        let mut path = template.clone();
        let mut query = Vec::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap();
            let example = match &p["example"] {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            };
            match p["in"].as_str().unwrap() {
                "path" => {
                    let value = example
                        .unwrap_or_else(|| panic!("{at}: path parameter {name} has no example"));
                    path = path.replace(&format!("{{{name}}}"), &value);
                }
                "query" if p["required"] == true => {
                    let value = example
                        .unwrap_or_else(|| panic!("{at}: query parameter {name} has no example"));
                    query.push((name.to_string(), value));
                }
                _ => {}
            }
        }
        assert!(!path.contains('{'), "{at}: {path} keeps a parameter");
        let mut req = client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&path),
            )
            .query(&query);
        if op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()))
        {
            req = req.bearer_auth(&app.admin);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{at}: {text}");
        if status == StatusCode::NOT_FOUND {
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            assert_ne!(
                body["message"], FALLBACK,
                "{at} ({path}) reached the fallback"
            );
        }
        let response = &op["responses"][status.as_str()];
        assert!(
            response.is_object(),
            "{at} ({path}) answered {status}, which is not documented: {text}"
        );
        if let (Some(media), Some(actual)) = (response["content"].as_object(), &content_type) {
            assert!(
                media.keys().any(|k| essence(k) == essence(actual)),
                "{at} ({path}) answered {status} as {actual}, documented as {:?}",
                media.keys().collect::<Vec<_>>()
            );
        }
    }
}
