//! `/hubs/{hub}/{*path}`: calls the provider's API through an instance, with its credentials injected.
//!
//! The request's method, query, headers and body go to the element's API base URL plus `path`, without the
//! hop-by-hop headers and without Tether's own `Authorization`. The provider's status, headers and body come back
//! as they are (the body streamed), with `Elements-Element-Instance-Id`; a JSON answer loses its `null` members
//! unless the instance's `filter.response.nulls` is `false`. When the provider answers 401, the hub
//! refreshes an OAuth instance's tokens once and the request is sent once more; the request body is therefore
//! held in memory, up to the API's body limit. Each call that reaches the provider is recorded in the instance's
//! call logs once its answer has gone out.

use super::auth::ApiCaller;
use super::call_record::RecordedBody;
use super::error::{ApiError, ApiResult};
use super::extract::ApiBytes;
use super::response_nulls;
use crate::hub::begin_trace;
use crate::providers::outbound::Outbound;
use crate::providers::provider_client::{Outgoing, Through, call_through, check_path, forwarded_headers};
use app::call_logs::{CallRecording, RecordedCall};
use app::error::HubError;
use app::hub::SharedHub;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::Response;
use axum::routing::any;
use std::time::Instant;

/// The response header naming the instance a proxied call went through.
pub const INSTANCE_ID_HEADER: &str = "elements-element-instance-id";

#[derive(Clone)]
pub struct ProxyState {
    hub: SharedHub,
    outbound: Outbound,
}

impl FromRef<ProxyState> for SharedHub {
    fn from_ref(state: &ProxyState) -> SharedHub {
        state.hub.clone()
    }
}

pub fn routes(hub: SharedHub, outbound: Outbound) -> Router {
    Router::new().route("/hubs/{hub}/{*path}", any(proxy)).with_state(ProxyState { hub, outbound })
}

/// The path after `/hubs/{hub}/`, as the client wrote it (still percent-encoded), and its query.
fn provider_path(uri: &axum::http::Uri, hub: &str) -> Result<String, ApiError> {
    // The first `/hubs/{hub}/` is the route's own: the base path before it names no hub.
    let marker = format!("/hubs/{hub}/");
    let path = uri.path().split_once(&marker).map(|(_, path)| path).unwrap_or_default();
    check_path(path)?;
    Ok(path.to_owned())
}

async fn proxy(
    State(state): State<ProxyState>,
    auth: ApiCaller,
    Path((hub, _)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    method: Method,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Response> {
    let started = Instant::now();
    let at = crate::store::now_millis();
    let token = auth.element.ok_or_else(|| {
        HubError::Unauthorized("a call through an instance needs `Authorization: …, Element <token>`".into())
    })?;
    let path = provider_path(&uri, &hub)?;
    let outgoing = Outgoing { method, path: &path, query: uri.query(), headers, body };
    let Through { call, response, refreshed } =
        call_through(state.hub.as_ref(), &state.outbound, &auth.caller, &token, &hub, &outgoing).await?;
    let status = response.status();
    let mut answer = Response::builder().status(status);
    let mut answer_headers = forwarded_headers(response.headers(), &[]);
    answer_headers.insert(INSTANCE_ID_HEADER, HeaderValue::from(call.instance_id.0));
    let trace = begin_trace(&call, &outgoing, response.headers()).map(|(trace, _)| trace);
    let body = if call.filter_nulls && response_nulls::filterable(response.headers()) {
        let (body, shortened) = response_nulls::filtered_body(response).await;
        if shortened {
            answer_headers.remove(axum::http::header::CONTENT_LENGTH);
        }
        body
    } else {
        // Streamed as it arrives; a length the provider gave is kept.
        Body::new(reqwest::Body::from(response))
    };
    if let Some(headers) = answer.headers_mut() {
        *headers = answer_headers;
    }
    let body = match call.recording {
        CallRecording::Off => body,
        recording => {
            let record = RecordedCall {
                organization_id: auth.caller.organization_id,
                instance_id: call.instance_id,
                at,
                method: outgoing.method.to_string(),
                path: format!("/{path}"),
                status: status.as_u16(),
                duration_micros: 0,
                request_bytes: outgoing.body.len() as u64,
                response_bytes: 0,
                refreshed,
                request_id: crate::telemetry::current_request_id(),
                trace,
            };
            RecordedBody::wrap(body, state.hub.clone(), record, started, recording)
        }
    };
    answer.body(body).map_err(|_| HubError::Internal.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_refused() {
        let uri = |path: &str| format!("/elements/api-v2/hubs/crm/{path}").parse::<axum::http::Uri>().unwrap();
        assert_eq!(provider_path(&uri("contacts/42?x=1"), "crm").unwrap(), "contacts/42");
        for path in ["../admin", "a/./b", "a/%2E%2E/b", "a\\..\\..\\healthz", "a/.%2e/b", "a%2F..%2Fb", "a/%5c../b"] {
            assert!(provider_path(&uri(path), "crm").is_err(), "{path}");
        }
    }
}
