//! The one error type of the HTTP layer and its JSON form. Conversions
//! from the engine's and the store's errors only decide the answer; an
//! error the operator must see travels in the response as a [`Failure`]
//! and is logged once, by [`log_failures`], the middleware around every
//! route (the web page's errors included).

use axum::Json;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
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
    /// What the log says about it, for errors the operator must see.
    failure: Option<Failure>,
}

/// An error's details for the operator's log, carried in the response's
/// extensions from where the error was made to [`log_failures`].
#[derive(Clone, Debug)]
pub struct Failure {
    /// A warning (the server was busy) rather than an error.
    busy: bool,
    /// The error's own text, which the answer does not show.
    detail: String,
}

impl Failure {
    fn log(&self) {
        if self.busy {
            tracing::warn!(error = %self.detail, "query ran out of memory");
        } else {
            tracing::error!(error = %self.detail, "request failed");
        }
    }

    /// Puts the failure, if any, into a response for [`log_failures`].
    pub(crate) fn attach(failure: Option<Failure>, response: &mut Response) {
        if let Some(f) = failure {
            response.extensions_mut().insert(f);
        }
    }
}

/// Middleware: logs the [`Failure`] of an answer, once, inside the
/// request's span.
pub async fn log_failures(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(failure) = response.extensions().get::<Failure>() {
        failure.log();
    }
    response
}

impl ApiError {
    /// An error without details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
            failure: None,
        }
    }

    /// The details for the log, taken out (the web page carries them on).
    pub(crate) fn take_failure(&mut self) -> Option<Failure> {
        self.failure.take()
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

    fn internal(detail: String) -> ApiError {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed to answer this request; the operator can find details in the log",
        );
        e.failure = Some(Failure {
            busy: false,
            detail,
        });
        e
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
        Failure::attach(self.failure, &mut response);
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
                failure: None,
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
                failure: None,
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
                failure: None,
            },
            E::TooFewChanges {
                changed, threshold, ..
            } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "too_few_changes",
                message: e.to_string(),
                extra: Some(json!({ "changed_members": changed, "threshold": threshold })),
                failure: None,
            },
            E::Store(StoreError::Invalid(m)) => Self::bad_request(m),
            E::Store(StoreError::Conflict(m)) => Self::new(StatusCode::CONFLICT, "conflict", m),
            E::Store(StoreError::NotFound(m)) => Self::not_found(m),
            E::Store(ref f @ StoreError::Frozen { .. }) => {
                Self::new(StatusCode::CONFLICT, "release_frozen", f.to_string())
            }
            ref other if other.is_resources_exhausted() => {
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "resources_exhausted",
                    "the server is busy; try again shortly",
                );
                e.failure = Some(Failure {
                    busy: true,
                    detail: other.to_string(),
                });
                e
            }
            other => Self::internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    /// The store's errors answer as the engine passes them on.
    fn from(e: StoreError) -> Self {
        Self::from(EngineError::from(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_carry_their_details_to_the_log_not_to_the_client() {
        let response = ApiError::from(EngineError::Internal("disk on fire".into())).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let failure = response.extensions().get::<Failure>();
        assert!(failure.is_some_and(|f| !f.busy && f.detail.contains("disk on fire")));
        // What the client sees is decided by the answer alone.
        let refused = ApiError::from(StoreError::NotFound("no such user".into())).into_response();
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        assert!(refused.extensions().get::<Failure>().is_none());
    }
}
