//! The one error type of the HTTP layer and its JSON form.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use vergleichsring_engine::EngineError;
use vergleichsring_store::StoreError;

/// An error answer: status, machine code, human sentence, optional details.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code, the `error` field.
    pub code: &'static str,
    /// Human sentence, the `message` field.
    pub message: String,
    /// Further fields merged into the body (e.g. `errors`).
    pub extra: Option<Value>,
}

impl ApiError {
    /// An error without details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn internal() -> ApiError {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed to answer this request; the operator can find details in the log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.code, "message": self.message});
        let retry_after = self
            .extra
            .as_ref()
            .and_then(|e| e.get("retry_after_seconds"))
            .and_then(Value::as_u64);
        if let (Some(Value::Object(extra)), Value::Object(map)) = (self.extra, &mut body) {
            map.extend(extra);
        }
        let mut response = (self.status, Json(body)).into_response();
        // A 429 says when to come back, in the header clients know.
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        use EngineError as E;
        match e {
            E::UnknownDomain(_) | E::UnknownFigure { .. } | E::NotFound(_) => {
                Self::not_found(e.to_string())
            }
            E::UnknownGroupBy(_) | E::BadRequest(_) => Self::bad_request(e.to_string()),
            E::GiveToGet { .. } => Self::new(StatusCode::FORBIDDEN, "give_to_get", e.to_string()),
            E::UnsupportedFormat(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_format",
                e.to_string(),
            ),
            E::Rejected(errors) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "validation_failed",
                message: format!(
                    "the upload was refused with {} error(s); nothing was stored",
                    errors.len()
                ),
                extra: Some(json!({ "errors": errors })),
            },
            E::Refused {
                code,
                reason,
                message,
            } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code,
                message,
                extra: Some(json!({ "reason": reason })),
            },
            E::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            E::Forbidden(m) => Self::forbidden(m),
            E::NotPublished { .. } => {
                Self::new(StatusCode::CONFLICT, "not_published", e.to_string())
            }
            E::NothingChanged { ref publication } => ApiError {
                status: StatusCode::CONFLICT,
                code: "nothing_changed",
                extra: Some(json!({ "publication": publication })),
                message: e.to_string(),
            },
            E::TooFewChanges {
                changed, threshold, ..
            } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "too_few_changes",
                message: e.to_string(),
                extra: Some(json!({ "changed_members": changed, "threshold": threshold })),
            },
            E::Store(StoreError::Invalid(m)) => Self::bad_request(m),
            E::Store(StoreError::Conflict(m)) => Self::new(StatusCode::CONFLICT, "conflict", m),
            E::Store(StoreError::NotFound(m)) => Self::not_found(m),
            E::Store(ref f @ StoreError::Frozen { .. }) => {
                Self::new(StatusCode::CONFLICT, "release_frozen", f.to_string())
            }
            ref other if other.is_resources_exhausted() => {
                tracing::warn!(error = %other, "query ran out of memory");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "resources_exhausted",
                    "the server is busy; try again shortly",
                )
            }
            other => {
                tracing::error!(error = %other, "request failed");
                Self::internal()
            }
        }
    }
}
