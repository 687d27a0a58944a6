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
use axum::extract::{FromRef, FromRequest, Request, State};
use axum::http::HeaderValue;
use axum::response::Response;
use axum::routing::any;
use std::borrow::Cow;
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

/// The hub and the path after `/hubs/{hub}/` in the route's own path (the base path already stripped), the path
/// as the client wrote it (still percent-encoded).
fn hub_and_path(route_path: &str) -> Result<(Cow<'_, str>, &str), ApiError> {
    let rest = route_path.strip_prefix("/hubs/").unwrap_or_default();
    let (hub, path) = rest.split_once('/').unwrap_or((rest, ""));
    let hub = percent_encoding::percent_decode_str(hub)
        .decode_utf8()
        .map_err(|_| ApiError::bad_request("hub: not valid UTF-8"))?;
    check_path(path)?;
    Ok((hub, path))
}

async fn proxy(State(state): State<ProxyState>, auth: ApiCaller, request: Request) -> ApiResult<Response> {
    let started = Instant::now();
    let at = crate::store::now_millis();
    let token = auth.element.ok_or_else(|| {
        HubError::Unauthorized("a call through an instance needs `Authorization: …, Element <token>`".into())
    })?;
    let (parts, body) = request.into_parts();
    let (hub, path) = hub_and_path(parts.uri.path())?;
    // Read with the request's extensions, which carry the body limit.
    let mut body = Request::new(body);
    *body.extensions_mut() = parts.extensions;
    let ApiBytes(body) = ApiBytes::from_request(body, &state).await?;
    let outgoing = Outgoing { method: parts.method, path, query: parts.uri.query(), headers: parts.headers, body };
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
    fn the_hub_and_path_are_read_and_dot_segments_refused() {
        let (hub, path) = hub_and_path("/hubs/crm/contacts/42").unwrap();
        assert_eq!((hub.as_ref(), path), ("crm", "contacts/42"));
        assert_eq!(hub_and_path("/hubs/cr%6D/a%2Fb").unwrap(), (Cow::Borrowed("crm"), "a%2Fb"));
        assert!(hub_and_path("/hubs/%FF/contacts").is_err());
        for path in ["../admin", "a/./b", "a/%2E%2E/b", "a\\..\\..\\healthz", "a/.%2e/b", "a%2F..%2Fb", "a/%5c../b"] {
            assert!(hub_and_path(&format!("/hubs/crm/{path}")).is_err(), "{path}");
        }
    }
}
