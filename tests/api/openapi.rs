//! The OpenAPI document at `/api/v1/openapi.json` against the router, both
//! ways: every documented operation reaches a handler (not the fallback,
//! not 405) and answers one of its documented statuses and content types;
//! and every route the router registers is documented.
//!
//! Axum cannot list its routes, so the second direction reads them from the
//! router's source (`crates/server/src/lib.rs` and `web.rs`): the
//! `.route("PATH", get(..).post(..))` calls, with the prefix of the
//! `.nest("/api/v1", api)` that mounts them. Anything that parser does not
//! understand (another `.nest`, `.merge`, `any(..)`, `route_service`) fails
//! the test instead of being skipped.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

const LIB_RS: &str = include_str!("../../crates/server/src/lib.rs");
const WEB_RS: &str = include_str!("../../crates/server/src/web/mod.rs");

/// What the router's fallback answers for a path no route matches.
const FALLBACK: &str = "no such endpoint; the API lives under /api/v1";

const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// Rust source with string literals and comments blanked out (replaced by
/// spaces, so that offsets stay valid): brackets and semicolons in route
/// paths and comments do not count as code. Enough for a router function,
/// which holds no raw strings.
fn code_only(src: &str) -> Vec<u8> {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                out[i] = b' ';
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    out[i] = b' ';
                    i += 1;
                }
                out[i] = b' ';
                i += 1;
            }
            i += 1;
        } else {
            i += 1;
        }
    }
    out
}

/// The offset just after the bracket that closes the one at `open`.
fn closing(code: &[u8], open: usize) -> usize {
    let mut depth = 0i32;
    for (i, &c) in code.iter().enumerate().skip(open) {
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced brackets from offset {open}")
}

/// The first string literal in `src`.
fn first_string(src: &str) -> String {
    let start = src.find('"').expect("a string literal") + 1;
    let len = src[start..].find('"').expect("a closed string literal");
    src[start..start + len].to_string()
}

/// The body of a file's `pub fn router(..)`: its source, and the same with
/// strings and comments blanked (same offsets).
struct RouterFn {
    src: &'static str,
    code: Vec<u8>,
}

impl RouterFn {
    fn of(file: &'static str) -> RouterFn {
        let at = file.find("pub fn router(").expect("pub fn router(");
        let rest = &file[at..];
        let code = code_only(rest);
        let open = code.iter().position(|&c| c == b'{').expect("a body");
        let end = closing(&code, open);
        RouterFn {
            src: &rest[open + 1..end - 1],
            code: code[open + 1..end - 1].to_vec(),
        }
    }

    fn code(&self, span: (usize, usize)) -> &str {
        std::str::from_utf8(&self.code[span.0..span.1]).unwrap()
    }

    /// Top-level statements: split at semicolons outside brackets; the last
    /// one, without a semicolon, is the router that is returned.
    fn statements(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut depth = 0i32;
        let mut from = 0;
        for (i, &c) in self.code.iter().enumerate() {
            match c {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b';' if depth == 0 => {
                    out.push((from, i));
                    from = i + 1;
                }
                _ => {}
            }
        }
        out.push((from, self.code.len()));
        out
    }

    /// The argument lists of every `.NAME(..)` call in a span: each as its
    /// source and its blanked code.
    fn calls(&self, span: (usize, usize), name: &str) -> Vec<(&'static str, &str)> {
        let needle = format!(".{name}(");
        let text = self.code(span);
        text.match_indices(&needle)
            .map(|(i, _)| {
                let open = span.0 + i + needle.len() - 1;
                let end = closing(&self.code, open);
                (&self.src[open + 1..end - 1], self.code((open + 1, end - 1)))
            })
            .collect()
    }

    /// The (METHOD, PATH) of every `.route(PATH, METHODS)` in a span, each
    /// path behind `prefix`.
    fn routes(&self, span: (usize, usize), prefix: &str) -> Vec<(String, String)> {
        let text = self.code(span);
        for unsupported in [".route_service(", ".nest_service(", ".fallback_service("] {
            assert!(
                !text.contains(unsupported),
                "the router uses `{unsupported}`: teach tests/api/openapi.rs to read it"
            );
        }
        let mut out = Vec::new();
        for (args_src, args_code) in self.calls(span, "route") {
            let comma = args_code.find(',').expect("route(path, methods)");
            let path = format!("{prefix}{}", first_string(&args_src[..comma]));
            let methods = &args_code[comma + 1..];
            let mut found = 0;
            for (i, _) in methods.match_indices('(') {
                let before = methods[..i].trim_end();
                let name_start = before
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(0, |p| p + 1);
                let name = &before[name_start..];
                let preceded = before[..name_start].trim_end();
                // A method router is `get(..)` first or `.post(..)` in the
                // chain; `DefaultBodyLimit::max(..)` or `.layer(..)` are not.
                if !(preceded.is_empty() || preceded.ends_with('.')) {
                    continue;
                }
                assert!(
                    !matches!(name, "any" | "on" | "on_service") && !name.ends_with("_service"),
                    "{path} uses `{name}(..)`: teach tests/api/openapi.rs to read it"
                );
                if METHODS.contains(&name) {
                    out.push((name.to_uppercase(), path.clone()));
                    found += 1;
                }
            }
            assert!(found > 0, "no method in the route {path}");
        }
        out
    }
}

/// Every (METHOD, path) the service's router registers, read from source.
fn registered_routes() -> BTreeSet<(String, String)> {
    let lib = RouterFn::of(LIB_RS);
    let statements = lib.statements();
    let (root, built) = statements.split_last().unwrap();
    // Where each router built in a `let` is mounted: `.nest("PREFIX", name)`.
    let nests: Vec<(String, String)> = lib
        .calls(*root, "nest")
        .into_iter()
        .map(|(src, code)| {
            let comma = code.find(',').expect("nest(prefix, router)");
            (
                code[comma + 1..].trim().to_string(),
                first_string(&src[..comma]),
            )
        })
        .collect();
    assert_eq!(
        nests.len(),
        built.len(),
        "every .nest mounts one router built in router(): {nests:?}"
    );
    let mut routes = BTreeSet::new();
    for &s in built {
        let t = lib.code(s).trim();
        let Some(rest) = t.strip_prefix("let ") else {
            panic!("unexpected statement in router(): {t}");
        };
        let name = rest.split([' ', '=', ':']).next().unwrap();
        assert!(
            rest.contains("Router::new()"),
            "`{name}` is not a router built here"
        );
        let prefix = nests
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("router `{name}` is not mounted with .nest"))
            .1
            .clone();
        routes.extend(lib.routes(s, &prefix));
    }
    routes.extend(lib.routes(*root, ""));
    // `.merge(web::router(..))` adds the web page's routes as they are.
    let merges = lib.calls(*root, "merge");
    assert_eq!(merges.len(), 1, "teach tests/api/openapi.rs the new .merge");
    assert!(merges[0].1.trim_start().starts_with("web::router("));
    let web = RouterFn::of(WEB_RS);
    let web_statements = web.statements();
    assert_eq!(web_statements.len(), 1, "web::router is one expression");
    routes.extend(web.routes(web_statements[0], ""));
    routes
}

/// A path template with its parameter names blanked: OpenAPI holds two
/// templates that differ only in names to be the same path, and the router
/// names a segment by the first route that uses it.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

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

#[test]
fn openapi_route_parser_reads_the_router() {
    let routes = registered_routes();
    for expected in [
        ("GET", "/health"),
        ("GET", "/"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/members"),
        ("POST", "/api/v1/members"),
        ("POST", "/api/v1/submissions/{domain}/{year}"),
        (
            "DELETE",
            "/api/v1/members/{member_id}/grants/{consultant_id}",
        ),
        ("POST", "/web/hochladen"),
        ("GET", "/web/bericht/{year}"),
    ] {
        assert!(
            routes.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} not found in {routes:?}"
        );
    }
    // `DefaultBodyLimit::max(..)` and `.layer(..)` are not methods.
    assert!(!routes.iter().any(|(m, _)| m == "MAX" || m == "LAYER"));
}

/// Every route the router registers is documented, and nothing else is.
#[tokio::test]
async fn openapi_documents_exactly_the_routes_of_the_router() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;
    let in_doc: BTreeSet<(String, String)> = documented(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, shape(&p)))
        .collect();
    let in_router: BTreeSet<(String, String)> = registered_routes()
        .into_iter()
        .map(|(m, p)| (m, shape(&p)))
        .collect();
    let undocumented: Vec<_> = in_router.difference(&in_doc).collect();
    let unrouted: Vec<_> = in_doc.difference(&in_router).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes without documentation (add #[utoipa::path] and list them in crates/server/src/openapi.rs): {undocumented:?}; documented but not routed: {unrouted:?}"
    );
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
