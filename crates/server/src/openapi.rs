//! The OpenAPI 3.1 document of the HTTP API, served at
//! `GET /api/v1/openapi.json`.
//!
//! It is generated from the code: every handler carries a
//! `#[utoipa::path(...)]` annotation next to it, and the answer types of the
//! engine, the catalogue and ingest derive `utoipa::ToSchema`. This module
//! only gathers them ([`ApiDoc`]) and adds what has no type of its own: the
//! error body, bodies the handlers build as JSON values and the parameter
//! groups shared by several endpoints. The types of `vergleichsring-store`
//! (members, groups, releases, …) derive `ToSchema` too. The unit tests
//! below check the schemas against what the real types serialise to (serde
//! attributes included); `tests/api/openapi.rs` checks the document against
//! the router.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Json;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use vergleichsring_catalog::{BuiltinCheck, Domain, SizeClass};
use vergleichsring_engine::workflow::ExplanationInput;
use vergleichsring_ingest::RowError;

use crate::{observe, routes, web};

/// The OpenAPI document: every path of the router, its parameters, bodies,
/// answers and errors.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "vergleichsring",
        version = env!("CARGO_PKG_VERSION"),
        description = "Inter-municipal benchmarking: members upload basic figures per domain and year; the service computes key figures and releases peer statistics under disclosure control.\n\nAll API paths are under `/api/v1` and authenticate with `Authorization: Bearer TOKEN` (roles `admin`, `analyst`, `consultant`, `member`). Errors are JSON `{\"error\": code, \"message\": sentence, ...}` (schema `ErrorBody`) with the status that fits: 400 malformed request, 401 no or unknown token, 403 token not allowed, 404 unknown domain, figure, member or year, 409 conflict, 413 body too large, 415 unsupported upload format, 422 validation failed or disclosure refused. A 5xx never carries internal details. The member web page under `/web` answers HTML in German.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        routes::root,
        routes::health,
        observe::ready,
        observe::metrics,
        openapi,
        routes::catalog,
        routes::list_members,
        routes::register_members,
        routes::submit,
        routes::list_submissions,
        routes::explain,
        routes::warnings,
        routes::archived_upload,
        routes::figures,
        routes::comparison,
        routes::timeseries,
        routes::query,
        routes::grant,
        routes::revoke_grant,
        routes::revoke_token,
        routes::access_log,
        routes::list_groups,
        routes::create_group,
        routes::report,
        routes::list_releases,
        routes::freeze_release,
        routes::reopen_release,
        routes::list_publications,
        routes::publish,
        web::home,
        web::login,
        web::logout,
        web::upload,
        web::explain,
        web::report,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes, &CommonAnswers),
    tags(
        (name = "service", description = "Health, readiness, metrics and this document; no token."),
        (name = "catalog", description = "Domains, basic and key figures, size classes, checks; no token."),
        (name = "members", description = "The ring's members."),
        (name = "submissions", description = "Uploads of basic figures, their warnings and explanations."),
        (name = "statistics", description = "A member's figures, peer comparisons, time series and the analysts' SQL, all after disclosure control."),
        (name = "access", description = "Consultants' grants, tokens and the access log."),
        (name = "groups", description = "Custom peer groups."),
        (name = "reports", description = "A member's peer report."),
        (name = "releases", description = "Frozen (domain, year) releases, readable later with `as_of`."),
        (name = "publications", description = "Audited publications of a (domain, year): the only source of statistics for non-admin callers (rules 9–11 of the disclosure rules)."),
        (name = "web", description = "The member web page: server-rendered HTML in German, signed in with a session cookie."),
    )
)]
pub struct ApiDoc;

/// Adds the two ways to authenticate: a bearer token for the API and the
/// session cookie of the web page.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token made with `vergleichsring token create`; the role (admin, analyst, consultant, member) decides what it may do.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "vr_session",
                "The web page's session, set by `POST /web/anmelden` for a member token (HttpOnly, SameSite=Strict).",
            ))),
        );
    }
}

/// What every operation shares, added once instead of on every handler:
/// the `x-request-id` header on every answer, and the generic 500 of the
/// JSON API (its body carries no internal details).
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            ContentBuilder, Ref, ResponseBuilder, Type, header::HeaderBuilder,
            schema::ObjectBuilder,
        };
        let request_id = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "The request's id: the caller's `x-request-id` if it sent a short printable one, else a new one. Every log line of the request carries it.",
            ))
            .build();
        let internal = ResponseBuilder::new()
            .description("The server failed; the body says so without details, which go to the log under the request id.")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for (path, item) in doc.paths.paths.iter_mut() {
            let api = path.starts_with("/api/v1/") && path != "/api/v1/openapi.json";
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                if api {
                    op.responses
                        .responses
                        .entry("500".to_string())
                        .or_insert_with(|| internal.clone().into());
                }
                for response in op.responses.responses.values_mut() {
                    if let utoipa::openapi::RefOr::T(r) = response {
                        r.headers
                            .insert("x-request-id".to_string(), request_id.clone());
                    }
                }
            }
        }
    }
}

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    summary = "This OpenAPI document",
    description = "The OpenAPI 3.1 document of every endpoint, generated from the code. No token.",
    responses(
        (status = 200, description = "The document.", body = Object, content_type = "application/json"),
    )
)]
pub async fn openapi() -> impl IntoResponse {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    Json(DOC.get_or_init(ApiDoc::openapi))
}

/// The body of every error answer of the API.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `bad_request`, `unauthorized`,
    /// `forbidden`, `give_to_get`, `not_found`, `conflict`,
    /// `release_frozen`, `body_too_large`, `unsupported_format`,
    /// `validation_failed`, `invalid_member`, `group_refused`,
    /// `disclosure_refused`, `unsupported_report_format`,
    /// `resources_exhausted`, `internal_error`.
    #[schema(example = "not_found")]
    pub error: String,
    /// A sentence for people.
    pub message: String,
    /// With `validation_failed`: every reason the upload was refused
    /// (nothing was stored).
    #[schema(nullable = false)]
    pub errors: Option<Vec<RowError>>,
    /// With `group_refused` and `disclosure_refused`: the rule that refuses,
    /// e.g. `below_threshold` or `differencing`.
    #[schema(nullable = false)]
    pub reason: Option<String>,
}

/// `GET /health`.
#[derive(ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

/// `GET /ready`: the lake's state.
#[derive(ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    #[schema(example = "ready")]
    pub status: String,
    /// When ready: each domain's Delta table version (`null`: no commit yet).
    #[schema(nullable = false)]
    pub lake: Option<BTreeMap<String, Option<u64>>>,
    /// When not ready: `lake_unreadable`.
    #[schema(nullable = false)]
    pub error: Option<String>,
    /// When not ready: which table cannot be read.
    #[schema(nullable = false)]
    pub message: Option<String>,
}

/// `GET /api/v1/catalog`: what can be uploaded and compared.
#[derive(ToSchema)]
pub struct CatalogBody {
    /// The domains with their basic figures, key figures and rules.
    pub domains: Vec<Domain>,
    /// The built-in group dimensions usable as `group_by`.
    #[schema(example = json!(["all", "size_class", "land", "kind"]))]
    pub group_dimensions: Vec<String>,
    /// The KGSt size classes.
    pub size_classes: Vec<SizeClass>,
    /// The checks every upload passes before the domain's rules.
    pub checks: Vec<BuiltinCheck>,
}

/// A consultant's grant, as `POST /api/v1/members/{member_id}/grants`
/// answers it.
#[derive(ToSchema)]
pub struct Grant {
    /// The member that granted access.
    pub member_id: String,
    /// The consultant that may now read the member's data.
    pub consultant_id: String,
}

/// A custom group as members and consultants see it: without its members.
#[derive(serde::Serialize, ToSchema)]
pub struct GroupName {
    /// Id, usable as `group_by`.
    pub id: String,
    /// Name.
    pub name: String,
}

/// The answer of `GET /api/v1/groups`: analysts and admin get the members of
/// each group, members and consultants only ids and names.
#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
pub enum GroupListing {
    /// For analysts and admin.
    Full(Vec<vergleichsring_store::CustomGroup>),
    /// For members and consultants.
    Names(Vec<GroupName>),
}

/// The body of `POST /api/v1/submissions/{submission_id}/explanations`: one
/// explanation or an array of them.
#[derive(serde::Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ExplanationRequest {
    /// One explanation.
    One(ExplanationInput),
    /// Several explanations, stored together.
    Many(Vec<ExplanationInput>),
}

/// The JSON answer of `POST /api/v1/query`.
#[derive(ToSchema)]
pub struct QueryResult {
    /// The result's column names.
    #[schema(example = json!(["domain", "year", "group", "median"]))]
    pub columns: Vec<String>,
    /// The rows, each with one value per column.
    #[schema(example = json!([["library", 2024, "GK4", 3.9]]))]
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// The multipart form of `POST /web/hochladen`.
#[derive(ToSchema)]
pub struct UploadForm {
    /// The session's CSRF token, from the page's form.
    pub csrf: String,
    /// Domain id.
    pub domain: String,
    /// Reporting year, 1990 to 2100.
    pub year: i32,
    /// The file: `.csv`, `.xlsx` or `.parquet`, recognised by its name.
    #[schema(content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}

/// Format of a peer report.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ReportFormat {
    /// A self-contained page with charts.
    Html,
    /// The report's data.
    Json,
    /// One row per key figure and group.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// Query of `GET /api/v1/publications`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicationsQuery {
    /// Only this domain.
    pub domain: Option<String>,
    /// Only this year.
    pub year: Option<i32>,
}

/// Path: a domain and a year.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DomainYearPath {
    /// Domain id from the catalogue.
    #[param(example = json!("library"))]
    pub domain: String,
    /// Reporting year, 1990 to 2100.
    #[param(example = json!(2024))]
    pub year: i32,
}

/// Path: a domain and a key figure.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DomainFigurePath {
    /// Domain id from the catalogue.
    #[param(example = json!("library"))]
    pub domain: String,
    /// Key figure id of the domain.
    #[param(example = json!("loans_per_capita"))]
    pub figure: String,
}

/// Path: a member.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// Official regional key of the member.
    #[param(example = json!("05315000"))]
    pub member_id: String,
}

/// Path: a member and a consultant.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GrantPath {
    /// Official regional key of the member.
    #[param(example = json!("05315000"))]
    pub member_id: String,
    /// The consultant's id.
    #[param(example = json!("c1"))]
    pub consultant_id: String,
}

/// Path: a member and a year.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberYearPath {
    /// Official regional key of the member.
    #[param(example = json!("05315000"))]
    pub member_id: String,
    /// Reporting year, 1990 to 2100.
    #[param(example = json!(2024))]
    pub year: i32,
}

/// Path: a year.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct YearPath {
    /// Reporting year, 1990 to 2100.
    #[param(example = json!(2024))]
    pub year: i32,
}

/// Path: a token.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    /// The token's public id (12 hex digits, printed when it was made).
    #[param(example = json!("3f9a1c0b7d2e"))]
    pub token_id: String,
}

/// Path: a submission.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SubmissionPath {
    /// Id of the submission, as the upload answered it.
    #[param(example = json!("sub_20240301T101500_0123456789abcdef"))]
    pub submission_id: String,
}

/// Path: an archived upload.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UploadPath {
    /// SHA-256 of the uploaded bytes (64 hex digits), as the upload answered it.
    #[param(example = json!("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"))]
    pub sha256: String,
}

/// The request header of a conditional GET.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct ConditionalHeaders {
    /// An `ETag` of an earlier answer: while it is current the answer is
    /// 304 without a body.
    #[param(rename = "If-None-Match")]
    pub if_none_match: Option<String>,
}

/// Query of `GET /api/v1/figures/{domain}/{year}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// The member; implied for a member token, required for admin.
    pub member_id: Option<String>,
    /// An earlier submission of the member instead of its current figures.
    pub submission_id: Option<String>,
}

/// Query of `GET /api/v1/comparisons/{domain}/{year}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComparisonQuery {
    /// Key figure id.
    #[param(example = json!("loans_per_capita"))]
    pub figure: String,
    /// `all` (default), `size_class`, `land`, `kind`, or a custom group id.
    #[param(example = json!("size_class"))]
    pub group_by: Option<String>,
    /// The member whose position to show; implied for a member token,
    /// required for a consultant, not allowed for an analyst.
    pub member_id: Option<String>,
    /// Read a past state: a publication id (e.g. `library-2024-p1`), a
    /// release id (e.g. `library-2024-1`), or (admin only) a data version
    /// of the domain.
    pub as_of: Option<String>,
}

/// Query of `GET /api/v1/timeseries/{domain}/{figure}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimeseriesQuery {
    /// `all` (default), `size_class`, `land`, `kind`, or a custom group id.
    pub group_by: Option<String>,
    /// The member whose values to show; implied for a member token,
    /// required for a consultant, not allowed for an analyst.
    pub member_id: Option<String>,
    /// First year.
    pub from: Option<i32>,
    /// Last year.
    pub to: Option<i32>,
    /// Read a past state: a publication or release id, or (admin only) a
    /// data version of the domain.
    pub as_of: Option<String>,
}

/// Query of `GET /api/v1/warnings`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WarningsQuery {
    /// Only this domain.
    pub domain: Option<String>,
    /// Only this year.
    pub year: Option<i32>,
    /// Only this member (admin); implied for a member token.
    pub member_id: Option<String>,
    /// `open` (default: unexplained only) or `all`.
    #[param(example = json!("open"))]
    pub status: Option<String>,
}

/// Query of `GET /api/v1/reports/{member_id}/{year}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The format; without it a browser (`Accept: text/html`) gets the page
    /// and every other client JSON.
    #[param(inline)]
    pub format: Option<ReportFormat>,
    /// Number format of the CSV: `en` (default) or `de` (semicolons,
    /// decimal comma).
    #[param(example = json!("de"))]
    pub dialect: Option<String>,
    /// Read a past state: a publication or release id, or (admin only) the
    /// data versions of every domain such as `12.7.9` (a report's
    /// `data_versions`, in catalogue order).
    pub as_of: Option<String>,
}

/// Query of `GET /web/bericht/{year}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebReportQuery {
    /// `xlsx` or `csv` (German number format) for a download; the page
    /// otherwise.
    #[param(example = json!("xlsx"))]
    pub format: Option<String>,
}

/// Query of `GET /web`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebHomeQuery {
    /// Present after an explanation was saved: the page confirms it.
    pub erklaert: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use super::*;

    fn doc() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
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
}
