//! The proxy's answer body that records its call: counted (and for a traced instance, its first bytes kept) as it
//! streams out, and handed to the hub once the last byte has gone (or the client went away).

use app::call_logs::{CallRecording, RecordedCall};
use app::hub::SharedHub;
use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

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
