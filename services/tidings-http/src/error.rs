//! Errors at the HTTP edge: a status and a JSON body naming the offending field.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tidings_domain::FieldError;
use tidings_ingest::IngestError;
use tidings_ports::StoreError;
use tracing::error;
use utoipa::ToSchema;

use crate::auth::AuthError;

/// The body of every error answer: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code: `invalid_field`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `too_large`, `rate_limited`, `unavailable`, `internal`.
    pub code: &'static str,
    pub message: String,
    /// The offending field, when one field is to blame (dotted path for nested fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, detail: ErrorDetail { code, message: message.into(), field: None }, retry_after: None }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "invalid_field", message);
        error.detail.field = Some(field.into());
        error
    }

    /// 413: a body above the limit; nothing was read further.
    pub fn too_large(message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message);
        error.detail.field = Some("body".into());
        error
    }

    /// 429: the app's sends are above its rate; retry after `wait` (`Retry-After`).
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("this app's sends are above its rate; retry after {} ms", wait.as_millis()),
        );
        error.retry_after = Some(wait);
        error
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What the body says: the code, the message, the field at fault.
    pub fn detail(&self) -> &ErrorDetail {
        &self.detail
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let too_large = self.status == StatusCode::PAYLOAD_TOO_LARGE;
        let retry_after = self.retry_after;
        let mut response = (self.status, Json(ErrorBody { error: self.detail })).into_response();
        if let Some(wait) = retry_after {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        if too_large {
            // The rest of the body was never read, so the connection can't carry another
            // request: say so, or a client's pool would send its next request into it.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        let message = error.to_string();
        Self::field(error.field, message)
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Missing | AuthError::Invalid(_) => {
                Self::new(StatusCode::UNAUTHORIZED, "unauthorized", error.to_string())
            }
            AuthError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, "forbidden", error.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        error!(%error, "store error while serving a request");
        if error.is_retriable() {
            Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the store is unavailable; retry later")
        } else {
            Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Invalid(field) => field.into(),
            IngestError::NotFound(what) => Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found")),
            IngestError::Conflict(illegal) => Self::new(StatusCode::CONFLICT, "conflict", illegal.to_string()),
            superseded @ IngestError::Superseded(_) => {
                Self::new(StatusCode::CONFLICT, "conflict", superseded.to_string())
            }
            IngestError::Store(store) => store.into(),
            IngestError::Log(log) => {
                error!(error = %log, "event log error while serving a request");
                if log.is_retriable() {
                    Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "the event log is unavailable; nothing was accepted; retry",
                    )
                } else {
                    Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; nothing was accepted")
                }
            }
            other => {
                error!(error = %other, "unexpected ingest error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
        }
    }
}
