//! What the proxy records of a call: its summary, and for a traced instance the headers with credentials masked
//! and the first bytes of each body. The answer's body is counted as it streams out, and the record is handed to
//! the hub once the last byte has gone (or the client went away).

use app::call_logs::{CallRecording, CallTrace, MASKED, RecordedCall};
use app::hub::SharedHub;
use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

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
pub fn masked_headers(headers: &HeaderMap, injected: &[&str]) -> Vec<(String, String)> {
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
fn body_excerpt(body: &[u8], limit: usize) -> (String, bool) {
    (String::from_utf8_lossy(&body[..body.len().min(limit)]).into_owned(), body.len() > limit)
}

/// The request's side of a trace: filled in before the answer comes back.
pub fn request_trace(headers: &HeaderMap, body: &[u8], injected: &[&str], limit: usize) -> CallTrace {
    let (request_body, request_body_truncated) = body_excerpt(body, limit);
    CallTrace {
        request_headers: masked_headers(headers, injected),
        request_body,
        request_body_truncated,
        ..Default::default()
    }
}

/// The answer's body, passed through as it streams, counted, and recorded once it ends.
pub struct RecordedBody {
    inner: Body,
    hub: SharedHub,
    /// Taken when handed to the hub, so it is handed over once.
    call: Option<RecordedCall>,
    started: Instant,
    /// For a traced call: the most of the body kept, and what was kept so far.
    excerpt_limit: Option<usize>,
    excerpt: Vec<u8>,
    truncated: bool,
}

impl RecordedBody {
    /// Wraps `inner` to record `call` when it ends; `started` is when the call arrived.
    pub fn wrap(inner: Body, hub: SharedHub, call: RecordedCall, started: Instant, recording: CallRecording) -> Body {
        let excerpt_limit = match recording {
            CallRecording::Trace { body_limit } => Some(body_limit),
            CallRecording::Off | CallRecording::Summary => None,
        };
        Body::new(RecordedBody {
            inner,
            hub,
            call: Some(call),
            started,
            excerpt_limit,
            excerpt: Vec::new(),
            truncated: false,
        })
    }

    fn count(&mut self, data: &Bytes) {
        if let Some(call) = &mut self.call {
            call.response_bytes += data.len() as u64;
        }
        if let Some(limit) = self.excerpt_limit {
            let room = limit.saturating_sub(self.excerpt.len());
            self.excerpt.extend_from_slice(&data[..data.len().min(room)]);
            self.truncated |= data.len() > room;
        }
    }

    fn finish(&mut self) {
        let Some(mut call) = self.call.take() else { return };
        call.duration_micros = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        if let Some(trace) = &mut call.trace {
            trace.response_body = String::from_utf8_lossy(&self.excerpt).into_owned();
            trace.response_body_truncated = self.truncated;
        }
        self.hub.record_call(call);
    }
}

impl http_body::Body for RecordedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.count(data);
                }
            }
            Poll::Ready(None) => this.finish(),
            Poll::Ready(Some(Err(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for RecordedBody {
    fn drop(&mut self) {
        self.finish();
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
