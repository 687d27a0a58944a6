//! The CallLogs capability: handing the calls made through instances to this node's recorder, reading an
//! instance's calls (after writing what is queued), the recording each instance gets, and what a trace keeps
//! (headers with credentials masked, the first bytes of each body).

use super::errors::OrInternal;
use super::service::HubService;
use crate::providers::provider_client::Outgoing;
use crate::store::call_logs::CallLogFilter;
use crate::store::instances::InstanceRecord;
use app::call_logs::{CallLog, CallLogQuery, CallRecording, CallTrace, MASKED, RecordedCall, StatusFilter};
use app::error::HubError;
use app::hub::ProviderCall;
use app::hub::{CallLogs, Caller};
use app::instances::InstanceTarget;
use app::paging::Page;
use axum::http::HeaderMap;

/// Header names whose values are credentials wherever they appear.
const CREDENTIAL_HEADERS: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];
/// Words that mark a header name as carrying a credential (`x-api-key`, `x-auth-token`, …).
const CREDENTIAL_WORDS: [&str; 5] = ["auth", "key", "token", "secret", "password"];

/// Whether a header's value is a credential: a header that always is, one of the element's own (`injected`), or
/// one whose name says so.
fn is_credential(name: &str, injected: &[&str]) -> bool {
    CREDENTIAL_HEADERS.contains(&name)
        || injected.contains(&name)
        || CREDENTIAL_WORDS.iter().any(|word| name.contains(word))
}

/// The headers as a trace keeps them: credentials masked, other values as text.
fn masked_headers(headers: &HeaderMap, injected: &[&str]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if is_credential(name.as_str(), injected) {
                MASKED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// The first `limit` bytes of a body as text, and whether there was more.
pub(super) fn body_excerpt(body: &[u8], limit: usize) -> (String, bool) {
    (String::from_utf8_lossy(&body[..body.len().min(limit)]).into_owned(), body.len() > limit)
}

/// For an instance that traces its calls: the trace of `outgoing`, sent through `call`, so far (the request and
/// the answer's headers), and the most of the answer's body to add to it.
pub fn begin_trace(
    call: &ProviderCall,
    outgoing: &Outgoing<'_>,
    answer_headers: &HeaderMap,
) -> Option<(CallTrace, usize)> {
    let CallRecording::Trace { body_limit } = call.recording else { return None };
    let injected: Vec<&str> = call.headers.iter().map(|(name, _)| name.as_str()).collect();
    let (request_body, request_body_truncated) = body_excerpt(&outgoing.body, body_limit);
    let trace = CallTrace {
        request_headers: masked_headers(&outgoing.headers, &injected),
        request_body,
        request_body_truncated,
        response_headers: masked_headers(answer_headers, &injected),
        ..Default::default()
    };
    Some((trace, body_limit))
}

impl HubService {
    /// How much of a call through `record` is recorded.
    pub(super) fn recording_for(&self, record: &InstanceRecord) -> CallRecording {
        let settings = &self.settings.call_logs;
        match (settings.enabled, record.trace_logging) {
            (false, _) => CallRecording::Off,
            (true, false) => CallRecording::Summary,
            (true, true) => CallRecording::Trace { body_limit: settings.trace_body_limit },
        }
    }

    /// Removes the call records past keeping at `now` (Unix milliseconds), as this node's recorder does every
    /// minute; answers how many rows went.
    pub async fn prune_call_logs(&self, now: i64) -> Result<u64, HubError> {
        self.store.prune_call_logs(self.settings.call_logs.retention(now)).await.or_internal()
    }
}

#[async_trait::async_trait]
impl CallLogs for HubService {
    fn record_call(&self, call: RecordedCall) {
        self.call_recorder.record(call);
    }

    async fn call_logs(
        &self,
        caller: &Caller,
        instance: &InstanceTarget,
        query: CallLogQuery,
    ) -> Result<Vec<CallLog>, HubError> {
        let (record, _) = self.target_instance(caller, instance).await?;
        let page = Page::of(query.page, query.page_size)?;
        let statuses = match query.status.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            None => (0, u16::MAX),
            Some(text) => StatusFilter::parse(text)
                .ok_or_else(|| HubError::invalid("status", format!("`{text}` is not a status or a class such as 4xx")))?
                .range(),
        };
        let filter = CallLogFilter {
            statuses,
            from: query.from.map_or(i64::MIN, |from| from.timestamp_millis()),
            to: query.to.map_or(i64::MAX, |to| to.timestamp_millis()),
        };
        self.call_recorder.flush().await;
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        self.store
            .call_logs(caller.organization_id, record.id, filter, i64::from(page.size()), offset)
            .await
            .or_internal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    #[test]
    fn credentials_are_masked_and_the_rest_kept() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "User u, Organization o, Element e"),
            ("x-api-key", "k"),
            ("x-custom-auth", "c"),
            ("x-shop", "acme"),
            ("accept", "application/json"),
        ] {
            headers.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        let shown = masked_headers(&headers, &["x-shop"]);
        let value = |name: &str| shown.iter().find(|(shown, _)| shown == name).map(|(_, value)| value.as_str());
        for name in ["authorization", "x-api-key", "x-custom-auth", "x-shop"] {
            assert_eq!(value(name), Some(MASKED), "{name}");
        }
        assert_eq!(value("accept"), Some("application/json"));
    }

    #[test]
    fn excerpts_stop_at_the_limit() {
        assert_eq!(body_excerpt(b"hello", 3), ("hel".to_owned(), true));
        assert_eq!(body_excerpt(b"hello", 5), ("hello".to_owned(), false));
    }
}
