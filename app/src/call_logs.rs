//! Call logs: the record of each call made through an instance by the proxy, as `GET /instances/{id}/logs` and
//! the instance page show it. Headers and bodies are kept only for an instance with `traceLoggingEnabled`, and
//! then with the values of credential headers masked.

use crate::instances::InstanceId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What replaces the value of a header that carries a credential.
pub const MASKED: &str = "********";

/// One call through an instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallLog {
    pub id: i64,
    pub instance_id: InstanceId,
    /// When the call arrived.
    pub at: DateTime<Utc>,
    pub method: String,
    /// The path after the hub, without the query string.
    pub path: String,
    /// The provider's status, or Tether's own when the call did not reach the provider.
    pub status: u16,
    /// From the call's arrival to the last byte of the answer.
    pub duration_ms: f64,
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// True when the provider refused the access token and the call was sent again after a refresh.
    pub refreshed: bool,
    /// The `x-request-id` the call was answered with.
    pub request_id: Option<String>,
    /// Headers and bodies, for an instance with trace logging on.
    pub trace: Option<CallTrace>,
}

/// What an instance with trace logging on keeps of a call: headers with credentials masked, and the first bytes
/// of each body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallTrace {
    pub request_headers: Vec<(String, String)>,
    pub request_body: String,
    pub request_body_truncated: bool,
    pub response_headers: Vec<(String, String)>,
    pub response_body: String,
    pub response_body_truncated: bool,
}

/// How much of a proxied call through an instance is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallRecording {
    /// Nothing: call logs are off on this node.
    Off,
    /// Time, method, path, status, duration and sizes.
    Summary,
    /// Besides the summary, masked headers and up to `body_limit` bytes of each body.
    Trace { body_limit: usize },
}

/// A finished proxied call, as the proxy hands it over to be recorded.
#[derive(Clone, Debug)]
pub struct RecordedCall {
    pub organization_id: crate::types::OrganizationId,
    pub instance_id: InstanceId,
    /// Unix milliseconds.
    pub at: i64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub duration_micros: u64,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub refreshed: bool,
    pub request_id: Option<String>,
    pub trace: Option<CallTrace>,
}

/// Which statuses a listing shows: a class such as `4xx`, or one status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Every status from `n00` to `n99`.
    Class(u16),
    Exactly(u16),
}

impl StatusFilter {
    pub fn parse(text: &str) -> Option<StatusFilter> {
        let text = text.trim().to_ascii_lowercase();
        if let Some(class) = text.strip_suffix("xx") {
            return class.parse::<u16>().ok().filter(|class| (1..=5).contains(class)).map(StatusFilter::Class);
        }
        text.parse::<u16>().ok().filter(|status| (100..=599).contains(status)).map(StatusFilter::Exactly)
    }

    /// The statuses it matches, from and to (both included).
    pub fn range(self) -> (u16, u16) {
        match self {
            StatusFilter::Class(class) => (class * 100, class * 100 + 99),
            StatusFilter::Exactly(status) => (status, status),
        }
    }
}

/// The query of `GET /instances/{id}/logs`: newest first, paged by the one paging rule.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallLogQuery {
    /// `2xx`, `4xx`, `5xx` and the like, or one status such as `404`.
    #[serde(default)]
    pub status: Option<String>,
    /// Calls at or after this time (RFC 3339).
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Calls before this time (RFC 3339).
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub page_size: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filters_name_a_class_or_one_status() {
        assert_eq!(StatusFilter::parse("4xx").map(StatusFilter::range), Some((400, 499)));
        assert_eq!(StatusFilter::parse(" 5XX ").map(StatusFilter::range), Some((500, 599)));
        assert_eq!(StatusFilter::parse("404").map(StatusFilter::range), Some((404, 404)));
        for wrong in ["", "6xx", "0xx", "99", "600", "ok", "4x"] {
            assert_eq!(StatusFilter::parse(wrong), None, "{wrong}");
        }
    }
}
