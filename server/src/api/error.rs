//! The REST API's error answer: `{"requestId", "message"}` with the status that fits the failure.

use crate::telemetry::current_request_id;
use app::error::HubError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error as the REST API answers it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub provider_message: Option<String>,
    /// Seconds for the `Retry-After` header of a 429.
    pub retry_after_seconds: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), provider_message: None, retry_after_seconds: None }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<HubError> for ApiError {
    fn from(error: HubError) -> ApiError {
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut answer = ApiError::new(status, error.to_string());
        match error {
            HubError::Provider { provider_message, .. } => answer.provider_message = Some(provider_message),
            HubError::TooManyRequests { retry_after_seconds, .. } => {
                answer.retry_after_seconds = Some(retry_after_seconds)
            }
            _ => {}
        }
        answer
    }
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Error)]
pub(super) struct ErrorBody<'a> {
    /// Names the request in Tether's log.
    request_id: String,
    /// What went wrong, naming the field at fault.
    message: &'a str,
    /// The provider's own words, when a provider refused or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_message: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), message = %self.message, "request failed");
        } else {
            tracing::debug!(status = self.status.as_u16(), message = %self.message, "request refused");
        }
        let body = ErrorBody {
            request_id: current_request_id().unwrap_or_default(),
            message: &self.message,
            provider_message: self.provider_message.as_deref(),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
