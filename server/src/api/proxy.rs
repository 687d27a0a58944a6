//! `/hubs/{hub}/{*path}`: calls the provider's API through an instance, with its credentials injected.
//!
//! The request's method, query, headers and body go to the element's API base URL plus `path`, without the
//! hop-by-hop headers and without Tether's own `Authorization`. The provider's status, headers and body come back
//! as they are (the body streamed), with `Elements-Element-Instance-Id`. When the provider answers 401, the hub
//! refreshes an OAuth instance's tokens once and the request is sent once more; the request body is therefore
//! held in memory, up to the API's body limit.

use super::auth::ApiCaller;
use super::error::{ApiError, ApiResult};
use app::error::HubError;
use app::service::{ProviderCall, SharedHub};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRef, OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::any;
use secrecy::ExposeSecret;

/// The response header naming the instance a proxied call went through.
pub const INSTANCE_ID_HEADER: &str = "elements-element-instance-id";

/// Headers that belong to one connection, never forwarded (RFC 9110 section 7.6.1), and the ones Tether sets.
const NOT_FORWARDED: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
];

#[derive(Clone)]
pub struct ProxyState {
    hub: SharedHub,
    http: reqwest::Client,
}

impl FromRef<ProxyState> for SharedHub {
    fn from_ref(state: &ProxyState) -> SharedHub {
        state.hub.clone()
    }
}

pub fn routes(hub: SharedHub) -> Router {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("the HTTP client builds");
    Router::new().route("/hubs/{hub}/{*path}", any(proxy)).with_state(ProxyState { hub, http })
}

/// The headers to forward: all but the hop-by-hop ones, those the `Connection` header names, and Tether's own.
fn forwarded_headers(headers: &HeaderMap, extra_excluded: &[&str]) -> HeaderMap {
    let named_by_connection: Vec<String> = headers
        .get_all("connection")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            !NOT_FORWARDED.contains(&name)
                && !extra_excluded.contains(&name)
                && !named_by_connection.iter().any(|named| named == name)
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// The path after `/hubs/{hub}/`, as the client wrote it (still percent-encoded), and its query.
fn provider_path(uri: &axum::http::Uri, hub: &str) -> Result<String, ApiError> {
    let prefix = format!("{}/hubs/{hub}/", super::BASE_PATH);
    let path = uri.path().strip_prefix(&prefix).unwrap_or_default();
    if path.split('/').any(|segment| segment == ".." || segment == "." || segment.eq_ignore_ascii_case("%2e%2e")) {
        return Err(ApiError::bad_request("path: `.` and `..` segments are not allowed"));
    }
    Ok(path.to_owned())
}

struct Outgoing<'a> {
    method: Method,
    path: &'a str,
    query: Option<&'a str>,
    headers: HeaderMap,
    body: Bytes,
}

async fn send(http: &reqwest::Client, call: &ProviderCall, outgoing: &Outgoing<'_>) -> ApiResult<reqwest::Response> {
    let mut url = reqwest::Url::parse(&format!("{}/{}", call.base_url, outgoing.path))
        .map_err(|error| ApiError::bad_request(format!("path: not a valid URL path ({error})")))?;
    if let Some(query) = outgoing.query {
        url.set_query(Some(query));
    }
    if !call.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &call.query {
            pairs.append_pair(name, value.expose_secret());
        }
    }
    let mut headers = outgoing.headers.clone();
    for (name, value) in &call.headers {
        let name = HeaderName::try_from(name.as_str()).map_err(|_| HubError::Internal)?;
        let mut value = HeaderValue::try_from(value.expose_secret()).map_err(|_| HubError::Internal)?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    http.request(outgoing.method.clone(), url).headers(headers).body(outgoing.body.clone()).send().await.map_err(
        |error| {
            let detail = if error.is_timeout() { "timed out" } else { "could not be reached" };
            HubError::Provider {
                status: 502,
                message: format!("The provider's API {detail}"),
                provider_message: String::new(),
            }
            .into()
        },
    )
}

async fn proxy(
    State(state): State<ProxyState>,
    auth: ApiCaller,
    Path((hub, _)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let token = auth.element.ok_or_else(|| {
        HubError::Unauthorized("a call through an instance needs `Authorization: …, Element <token>`".into())
    })?;
    let path = provider_path(&uri, &hub)?;
    let mut call = state.hub.provider_call(&auth.caller, &token, &hub).await?;
    let injected: Vec<&str> = call.headers.iter().map(|(name, _)| name.as_str()).collect();
    let outgoing =
        Outgoing { method, path: &path, query: uri.query(), headers: forwarded_headers(&headers, &injected), body };
    let mut response = send(&state.http, &call, &outgoing).await?;
    if response.status() == StatusCode::UNAUTHORIZED {
        call = state.hub.provider_refused(&auth.caller, &token, &call).await?;
        response = send(&state.http, &call, &outgoing).await?;
    }
    let status = response.status();
    let mut answer = Response::builder().status(status);
    if let Some(answer_headers) = answer.headers_mut() {
        *answer_headers = forwarded_headers(response.headers(), &[]);
        answer_headers.insert(INSTANCE_ID_HEADER, HeaderValue::from(call.instance_id.0));
    }
    answer.body(Body::from_stream(response.bytes_stream())).map_err(|_| HubError::Internal.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_headers_stay_behind() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("authorization", "User u, Organization o"),
            ("transfer-encoding", "chunked"),
            ("accept", "application/json"),
            ("x-trace", "abc"),
            ("x-api-key", "the caller's"),
        ] {
            headers.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        let forwarded = forwarded_headers(&headers, &["x-api-key"]);
        let mut names: Vec<&str> = forwarded.keys().map(HeaderName::as_str).collect();
        names.sort();
        assert_eq!(names, ["accept", "x-trace"]);
    }

    #[test]
    fn dot_segments_are_refused() {
        let uri = |path: &str| format!("/elements/api-v2/hubs/crm/{path}").parse::<axum::http::Uri>().unwrap();
        assert_eq!(provider_path(&uri("contacts/42?x=1"), "crm").unwrap(), "contacts/42");
        for path in ["../admin", "a/./b", "a/%2E%2E/b"] {
            assert!(provider_path(&uri(path), "crm").is_err(), "{path}");
        }
    }
}
