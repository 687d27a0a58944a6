//! The hub's one error type, shared by the REST API, the console's server functions and the storage behind them.

use serde::{Deserialize, Serialize};

/// Everything the hub can answer instead of a result. Each variant maps to one HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum HubError {
    /// Bad input; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    /// Missing or wrong credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Known caller, not allowed.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; try again after this many seconds.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_seconds: u64 },
    /// The provider refused (400) or failed (502); `provider_message` is its own words.
    #[error("{message}")]
    Provider { status: u16, message: String, provider_message: String },
    /// Something failed inside Tether; the detail is logged where it happened, never answered.
    #[error("Internal error; the request id identifies it in the server log")]
    Internal,
    /// The console could not reach the server or read its answer.
    #[error("{0}")]
    Transport(String),
}

impl HubError {
    /// Bad input, its message naming the field: `configuration.apiKey: required`.
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> HubError {
        HubError::BadRequest(format!("{field}: {problem}"))
    }

    /// What a person reads: the message, and for a provider's failure also the provider's own words.
    pub fn explained(&self) -> String {
        match self {
            HubError::Provider { message, provider_message, .. } if !provider_message.is_empty() => {
                format!("{message}. The provider said: {provider_message}")
            }
            other => other.to_string(),
        }
    }

    /// The HTTP status both doors answer this error with.
    pub fn status(&self) -> u16 {
        match self {
            HubError::BadRequest(_) => 400,
            HubError::Unauthorized(_) => 401,
            HubError::Forbidden(_) => 403,
            HubError::NotFound(_) => 404,
            HubError::Conflict(_) => 409,
            HubError::TooManyRequests { .. } => 429,
            HubError::Provider { status, .. } if (400..600).contains(status) => *status,
            HubError::Provider { .. } => 502,
            HubError::Internal | HubError::Transport(_) => 500,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for HubError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        HubError::Transport(value.to_string())
    }
}
