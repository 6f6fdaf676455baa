//! The answers many operations share, written once: each type here is a
//! set of responses that a `#[utoipa::path]` annotation names in its
//! `responses(...)` list instead of repeating the tuples (for example
//! `responses((status = 200, ...), crate::contract::responses::AdminOnly)`).
//! The document they produce is the one the tuples produced.

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Type};

/// A response whose body is the API's JSON error (`ErrorBody`).
fn json_error(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

/// A response whose body is a string of `content_type` (a page, or axum's
/// plain-text rejection).
fn text(description: &str, content_type: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            content_type,
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        )
        .build()
        .into()
}

/// The responses of `set`, keyed by status.
fn responses(set: &[(&str, RefOr<Response>)]) -> BTreeMap<String, RefOr<Response>> {
    set.iter()
        .map(|(status, response)| (status.to_string(), response.clone()))
        .collect()
}

const NO_TOKEN: &str = "No token, or an unknown or revoked one.";

/// 401 of an API operation that needs a token.
pub struct TokenRequired;

impl IntoResponses for TokenRequired {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[("401", json_error(NO_TOKEN))])
    }
}

/// 401 and 403 of an API operation for admin tokens only.
pub struct AdminOnly;

impl IntoResponses for AdminOnly {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            ("401", json_error(NO_TOKEN)),
            ("403", json_error("The token is not an admin token.")),
        ])
    }
}

/// 401 of a web page that needs a session.
pub struct NotSignedIn;

impl IntoResponses for NotSignedIn {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[("401", text("Not signed in.", "text/html"))])
    }
}

/// 403 of a coordinator's page for any other account.
pub struct NotAdminPage;

impl IntoResponses for NotAdminPage {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[("403", text("Not an admin account.", "text/html"))])
    }
}

/// 403 of an analyst's page for any account but an analyst's or admin's.
pub struct NotAnalystPage;

impl IntoResponses for NotAnalystPage {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[(
            "403",
            text("Neither an analyst's nor an admin's account.", "text/html"),
        )])
    }
}

const NOT_A_FORM: &str = "Not a form (`application/x-www-form-urlencoded`).";

/// 415 of a web form: axum's rejection of a body that is not a form (its
/// 422 says more where a form answers 422 itself).
pub struct NotAForm;

impl IntoResponses for NotAForm {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[("415", text(NOT_A_FORM, "text/plain"))])
    }
}

/// 415 and 422 of a web form: axum's rejections of a body that is not a
/// form or lacks a field.
pub struct FormRejections;

impl IntoResponses for FormRejections {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            ("415", text(NOT_A_FORM, "text/plain")),
            ("422", text("A field of the form is missing.", "text/plain")),
        ])
    }
}
