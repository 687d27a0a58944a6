//! How the hub's capabilities fail: the generic internal error (logged once, here), bad input naming its field, and
//! uniqueness conflicts.

use crate::store::StoreError;
use app::error::HubError;

/// Logs an unexpected failure's detail, once, here, and answers the generic `HubError::Internal`.
pub fn internal_error(error: impl std::fmt::Display) -> HubError {
    tracing::error!(%error, "internal error");
    HubError::Internal
}

/// Turns an unexpected failure into `HubError::Internal` through [`internal_error`].
pub trait OrInternal<T> {
    fn or_internal(self) -> Result<T, HubError>;
}

impl<T, E: std::fmt::Display> OrInternal<T> for Result<T, E> {
    fn or_internal(self) -> Result<T, HubError> {
        self.map_err(internal_error)
    }
}

/// A uniqueness conflict becomes `Conflict` with `message`; anything else is internal.
pub(super) fn conflict_or_internal(error: StoreError, message: impl FnOnce() -> String) -> HubError {
    match error {
        StoreError::Conflict => HubError::Conflict(message()),
        other => internal_error(other),
    }
}
