//! The HTTP contract written once: the OpenAPI document's frame
//! ([`ApiDoc`]: title, tags, security schemes), the bodies that have no
//! type elsewhere, the path and query parameter structs that the
//! handlers extract and the document describes (`contract/params.rs`),
//! and the response sets many operations share (`contract/responses.rs`).
//!
//! The paths themselves come from the `#[utoipa::path(...)]` annotation
//! next to each handler: `routes::api` registers every handler with
//! `utoipa_axum::routes!`, which builds the router and the document from
//! the same annotation, so the two cannot disagree. The answer types of the
//! engine, the catalogue, ingest and the store are described by mirrors in
//! `contract/schema/` (utoipa stays in this crate; `.ci/schemas.py` keeps
//! each mirror equal to its type). `routes/tests.rs` checks the schemas against
//! what the real types serialise to; `tests/api/openapi.rs` calls every
//! documented operation through the real server.

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use vergleichsring_engine::workflow::ExplanationInput;

mod params;
pub mod responses;
pub mod schema;

pub use params::*;

/// The frame of the OpenAPI document; `routes::document` adds every path
/// from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "vergleichsring",
        version = env!("CARGO_PKG_VERSION"),
        description = "Inter-municipal benchmarking: members upload basic figures per domain and year; the service computes key figures and releases peer statistics under disclosure control.\n\nAll API paths are under `/api/v1` and authenticate with `Authorization: Bearer TOKEN` (roles `admin`, `analyst`, `consultant`, `member`). Errors are JSON `{\"error\": code, \"message\": sentence, ...}` (schema `ErrorBody`) with the status that fits: 400 malformed request, 401 no or unknown token, 403 token not allowed, 404 unknown domain, figure, member or year, 409 conflict, 413 body too large, 415 unsupported upload format, 422 validation failed or disclosure refused. A 5xx never carries internal details. The member web page under `/web` answers HTML in German.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
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
        (name = "collections", description = "The coordinator's collection of a (domain, year): deadline, every member's status, reviews of warnings, approvals."),
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
/// JSON API (its body carries no internal details). Applied once the
/// paths are in (`routes::document`).
pub(crate) struct CommonAnswers;

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

/// The body of every error answer of the API.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `bad_request`, `unauthorized`,
    /// `forbidden`, `give_to_get`, `not_found`, `conflict`,
    /// `release_frozen`, `body_too_large`, `unsupported_format`,
    /// `validation_failed`, `invalid_member`, `group_refused`,
    /// `disclosure_refused`, `unsupported_report_format`,
    /// `resources_exhausted`, `rate_limited`, `internal_error`.
    #[schema(example = "not_found")]
    pub error: String,
    /// A sentence for people.
    pub message: String,
    /// With `validation_failed`: every reason the upload was refused
    /// (nothing was stored).
    #[schema(nullable = false)]
    pub errors: Option<Vec<schema::RowError>>,
    /// With `group_refused` and `disclosure_refused`: the rule that refuses,
    /// e.g. `below_threshold` or `differencing`.
    #[schema(nullable = false)]
    pub reason: Option<String>,
    /// With `rate_limited`: seconds until the request may be sent again
    /// (also the `Retry-After` header).
    #[schema(nullable = false)]
    pub retry_after_seconds: Option<u64>,
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
    pub domains: Vec<schema::Domain>,
    /// The built-in group dimensions usable as `group_by`.
    #[schema(example = json!(["all", "size_class", "land", "kind"]))]
    pub group_dimensions: Vec<String>,
    /// The KGSt size classes.
    pub size_classes: Vec<schema::SizeClass>,
    /// The checks every upload passes before the domain's rules.
    pub checks: Vec<schema::BuiltinCheck>,
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
    #[schema(value_type = Vec<schema::CustomGroup>)]
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
    #[schema(value_type = schema::ExplanationInput)]
    One(ExplanationInput),
    /// Several explanations, stored together.
    #[schema(value_type = Vec<schema::ExplanationInput>)]
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

/// Format of a peer report. The query carries it as a string so that an
/// unknown format answers 406 `unsupported_report_format` (the report's own
/// rule) rather than the 400 of a malformed parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
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

impl ReportFormat {
    /// The format named `value`, if there is one.
    pub fn parse(value: &str) -> Option<ReportFormat> {
        Some(match value {
            "html" => ReportFormat::Html,
            "json" => ReportFormat::Json,
            "csv" => ReportFormat::Csv,
            "xlsx" => ReportFormat::Xlsx,
            _ => return None,
        })
    }

    /// The name in the query (and the file extension of a download).
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::Xlsx => "xlsx",
        }
    }
}

/// Number format of a report's CSV.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CsvDialect {
    /// Commas and decimal points.
    #[default]
    En,
    /// Semicolons and decimal commas, as German spreadsheets expect.
    De,
}

/// Which warnings `GET /api/v1/warnings` lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WarningFilter {
    /// Only warnings without an explanation.
    #[default]
    Open,
    /// Every warning, explained or not.
    All,
}

/// Query of `GET /api/v1/publications`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicationsQuery {
    /// Only this domain.
    pub domain: Option<String>,
    /// Only this year.
    pub year: Option<i32>,
}

/// Answer of `DELETE /api/v1/members/{member_id}`.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct LeftMember {
    /// The member.
    #[serde(flatten)]
    #[schema(value_type = schema::Member)]
    pub member: vergleichsring_store::Member,
    /// The first year it is no longer in the ring.
    pub left_from_year: i32,
}

/// Query of `DELETE /api/v1/members/{member_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeaveQuery {
    /// The first year the member is no longer in the ring.
    #[param(example = 2026)]
    pub from_year: i32,
}

/// Query of `GET /api/v1/collections/{domain}/{year}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CollectionQuery {
    /// Only members in this status: `not_started`, `started`, `submitted`,
    /// `warnings_open`, `explained` or `approved`.
    #[param(example = json!("not_started"))]
    pub status: Option<String>,
    /// Only this member (admin); implied for a member token.
    pub member_id: Option<String>,
}

/// Body of `PUT /api/v1/collections/{domain}/{year}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeadlineBody {
    /// The last day to submit, an ISO date.
    #[schema(example = "2026-03-31")]
    pub deadline: String,
}

/// Body of `POST /api/v1/collections/{domain}/{year}/approvals`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ApprovalBody {
    /// The member whose current figures are approved.
    #[schema(example = "05315000")]
    pub member_id: String,
    /// The submission the coordinator looked at: the approval is refused
    /// (409) when newer figures have come since.
    #[serde(default)]
    pub submission_id: Option<String>,
}

/// Body of `POST /api/v1/collections/{domain}/{year}/reviews`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewBody {
    /// The member.
    pub member_id: String,
    /// The warning's rule id.
    pub rule: String,
    /// Accept (true) or ask back (false).
    pub accepted: bool,
    /// What the member should check; required when asking back.
    #[serde(default)]
    pub comment: String,
    /// The submission whose warning the coordinator looked at: refused
    /// (409) when newer figures have come since.
    #[serde(default)]
    pub submission_id: Option<String>,
}

/// Body of `POST /api/v1/collections/{domain}/{year}/reminders`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemindersBody {
    /// Remind the members in these statuses (default `not_started` and
    /// `started`); ignored when `member_ids` is given.
    #[serde(default)]
    pub statuses: Option<Vec<String>>,
    /// Remind exactly these members.
    #[serde(default)]
    pub member_ids: Option<Vec<String>>,
    /// The text with placeholders; default the German reminder.
    #[serde(default)]
    pub template: Option<String>,
    /// Send (true) or only preview (false, the default).
    #[serde(default)]
    pub send: bool,
}
