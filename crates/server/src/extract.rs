//! Typed extractors for path and query parameters of the API. The
//! parameter structs live in `contract/params.rs`, where they are also the OpenAPI description, so a
//! handler receives years as numbers and choices as enums instead of
//! parsing strings by hand. A parameter that does not fit answers 400 with
//! the JSON error body and a sentence naming the parameter, like every
//! other error of the API (axum's own rejections are plain text).

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The path parameters of a request, deserialised into `T`.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(path_error(e.into_kind())),
            // A route without the parameters its handler asks for is a
            // mistake in this crate, not in the request.
            Err(e) => Err(ApiError::from(
                vergleichsring_engine::EngineError::Internal(e.body_text()),
            )),
        }
    }
}

fn path_error(kind: axum::extract::path::ErrorKind) -> ApiError {
    use axum::extract::path::ErrorKind;
    match kind {
        ErrorKind::ParseErrorAtKey { key, value, .. } => {
            ApiError::bad_request(format!("{key} '{value}' is not a number"))
        }
        ErrorKind::DeserializeError {
            key,
            value,
            message,
        } => ApiError::bad_request(format!("{key} '{value}': {message}")),
        other => ApiError::bad_request(format!("malformed path: {other}")),
    }
}

/// The query parameters of a request, deserialised into `T`.
///
/// An empty value counts as absent (HTML forms send empty fields), and of a
/// parameter given twice the last one counts.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Deserialises a query string into `T` (see [`ApiQuery`]).
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        pairs.retain(|(k, _)| *k != key);
        if !value.is_empty() {
            pairs.push((key.into_owned(), value.into_owned()));
        }
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let message = e.inner().to_string();
        let value = pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("", |(_, v)| v.as_str());
        ApiError::bad_request(query_message(&key, value, &message))
    })
}

/// A sentence for a query parameter that does not fit: serde's messages
/// name neither the parameter nor its value.
fn query_message(key: &str, value: &str, message: &str) -> String {
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return format!("the query parameter '{name}' is required");
    }
    if let Some((_, expected)) = message
        .strip_prefix("unknown variant")
        .and_then(|m| m.split_once("expected "))
    {
        let expected = expected.replace('`', "");
        let expected = expected.strip_prefix("one of ").unwrap_or(&expected);
        return format!("{key} '{value}' must be {expected}");
    }
    if message.contains("digit") || message.contains("number") || message.contains("integer") {
        return format!("{key} '{value}' is not a number");
    }
    format!("the query parameter '{key}' is malformed: {message}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Q {
        figure: String,
        from: Option<i32>,
        status: Option<crate::contract::WarningFilter>,
    }

    fn message(query: &str) -> String {
        let e = parse_query::<Q>(query).unwrap_err();
        assert_eq!(e.code, "bad_request");
        e.message
    }

    #[test]
    fn query_values_are_typed_and_empty_ones_absent() {
        let q: Q = parse_query("figure=a&from=&from=2020&status=all&other=x").unwrap();
        assert_eq!(
            q,
            Q {
                figure: "a".into(),
                from: Some(2020),
                status: Some(crate::contract::WarningFilter::All),
            }
        );
        let q: Q = parse_query("figure=b%20c&from=2021&from=").unwrap();
        assert_eq!(q.figure, "b c");
        assert_eq!(q.from, None, "the last value counts, and it is empty");
    }

    #[test]
    fn query_rejections_name_the_parameter_and_value() {
        assert_eq!(message(""), "the query parameter 'figure' is required");
        assert_eq!(
            message("figure="),
            "the query parameter 'figure' is required"
        );
        assert_eq!(message("figure=a&from=zwei"), "from 'zwei' is not a number");
        assert_eq!(
            message("figure=a&from=99999999999"),
            "from '99999999999' is not a number"
        );
        assert_eq!(
            message("figure=a&status=closed"),
            "status 'closed' must be open or all"
        );
    }
}
