//! Sends requests to a provider's API with an instance's credentials: the one path both the REST proxy and the
//! console's "Try it out" take. Hop-by-hop headers and Tether's own `Authorization` stay behind; when the
//! provider answers 401, the hub refreshes an OAuth instance once and the request goes once more.

use crate::providers::outbound::{Outbound, OutboundError};
use app::error::HubError;
use app::hub::{BodyCredential, Caller, Hub, ProviderCall};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};

/// What stays as it is in a path segment of credentials: unreserved characters and `:` (RFC 3986 §3.3).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b':');

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

/// The headers to forward: all but the hop-by-hop ones, those the `Connection` header names, Tether's own, and
/// `extra_excluded`.
pub fn forwarded_headers(headers: &HeaderMap, extra_excluded: &[&str]) -> HeaderMap {
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

const CLIMBS_OUT: &str = "path: `.` and `..` segments are not allowed, nor backslashes or control characters";

/// Refuses a path that a URL parser would read as climbing out of the element's API base URL.
pub fn check_path(path: &str) -> Result<(), HubError> {
    if app::instances::climbs_out(path) {
        return Err(HubError::BadRequest(CLIMBS_OUT.into()));
    }
    Ok(())
}

/// A request for the provider, relative to the element's API base URL.
pub struct Outgoing<'a> {
    pub method: Method,
    /// Still percent-encoded, without a leading slash.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Sends one request with the call's credentials added.
pub(crate) async fn send(
    outbound: &Outbound,
    call: &ProviderCall,
    outgoing: &Outgoing<'_>,
) -> Result<reqwest::Response, HubError> {
    check_path(outgoing.path)?;
    let base = match &call.path_segment {
        // Encoded whole, so that no value can add segments or climb out.
        Some(segment) => format!("{}/{}/", call.base_url, utf8_percent_encode(segment.expose_secret(), SEGMENT)),
        None => format!("{}/", call.base_url),
    };
    let mut url = reqwest::Url::parse(&format!("{base}{}", outgoing.path))
        .map_err(|error| HubError::BadRequest(format!("path: not a valid URL path ({error})")))?;
    // What the parser made of the path must still lie under the base, whatever the path held.
    if !url.as_str().starts_with(&base) {
        return Err(HubError::BadRequest(CLIMBS_OUT.into()));
    }
    if let Some(query) = outgoing.query.filter(|query| !query.is_empty()) {
        url.set_query(Some(query));
    }
    let method = outgoing.method.as_str();
    if call.query.iter().any(|credential| credential.methods.admit(method)) {
        let mut pairs = url.query_pairs_mut();
        for credential in &call.query {
            if credential.methods.admit(method) {
                pairs.append_pair(&credential.name, credential.value.expose_secret());
            }
        }
    }
    let injected: Vec<&str> = call.headers.iter().map(|(name, _)| name.as_str()).collect();
    let mut headers = forwarded_headers(&outgoing.headers, &injected);
    for (name, value) in &call.headers {
        let name = HeaderName::try_from(name.as_str()).map_err(|_| HubError::Internal)?;
        let mut value = HeaderValue::try_from(value.expose_secret()).map_err(|_| HubError::Internal)?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    let body = with_body_credentials(&call.body, method, &mut headers, outgoing.body.clone())?;
    if let Some(signing) = &call.signing {
        crate::providers::request_signing::sign(signing, &outgoing.method, &url, &mut headers, &body)?;
    }
    let request = outbound.request(outgoing.method.clone(), url).headers(headers).body(body);
    outbound.send(request).await.map_err(|error| match error {
        OutboundError::Refused(refused) => HubError::BadRequest(format!("api.baseUrl: {refused}")),
        OutboundError::Failed(_) => HubError::Provider {
            status: 502,
            message: format!("The provider's API: {}", crate::providers::token_client::UNREACHABLE),
            provider_message: String::new(),
        },
    })
}

/// The request body with the credentials the element puts there: form fields appended to a form body, members
/// added to a JSON object. An empty body becomes one of that kind. A body of another kind is refused, since the
/// credentials could not go in it.
fn with_body_credentials(
    credentials: &[BodyCredential],
    method: &str,
    headers: &mut HeaderMap,
    body: Bytes,
) -> Result<Bytes, HubError> {
    let mut credentials = credentials.iter().filter(|credential| credential.goes_with(method)).peekable();
    let Some(first) = credentials.peek().copied() else { return Ok(body) };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let kind = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match first {
        BodyCredential::Form(..) => {
            if !body.is_empty() && kind != "application/x-www-form-urlencoded" {
                return Err(HubError::BadRequest(
                    "body: this element puts its credentials in a form body; send application/x-www-form-urlencoded"
                        .into(),
                ));
            }
            let mut form = String::from_utf8(body.to_vec())
                .map_err(|_| HubError::BadRequest("body: a form body must be UTF-8".into()))?;
            let mut fields = url::form_urlencoded::Serializer::new(String::new());
            for credential in credentials.by_ref() {
                if let BodyCredential::Form(name, value, _) = credential {
                    fields.append_pair(name, value.expose_secret());
                }
            }
            if !form.is_empty() && !form.ends_with('&') {
                form.push('&');
            }
            form.push_str(&fields.finish());
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
            Ok(Bytes::from(form))
        }
        BodyCredential::Json(..) => {
            let mut object = if body.is_empty() {
                serde_json::Map::new()
            } else {
                match serde_json::from_slice::<serde_json::Value>(&body) {
                    Ok(serde_json::Value::Object(object)) => object,
                    _ => {
                        return Err(HubError::BadRequest(
                            "body: this element puts its credentials in the JSON body; send a JSON object".into(),
                        ));
                    }
                }
            };
            for credential in credentials.by_ref() {
                if let BodyCredential::Json(name, value, _) = credential {
                    insert_at_path(&mut object, name, value.expose_secret())?;
                }
            }
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(Bytes::from(serde_json::Value::Object(object).to_string()))
        }
    }
}

/// Sets the member a dotted `path` names (`auth.key`), making the objects on the way; a member on the way that
/// is not an object is refused rather than overwritten.
fn insert_at_path(
    object: &mut serde_json::Map<String, serde_json::Value>,
    path: &str,
    value: &str,
) -> Result<(), HubError> {
    let (parents, last) = match path.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, path),
    };
    let mut target = object;
    for name in parents.into_iter().flat_map(|parents| parents.split('.')) {
        let member = target.entry(name.to_owned()).or_insert_with(|| serde_json::Value::Object(Default::default()));
        target = member.as_object_mut().ok_or_else(|| {
            HubError::BadRequest(format!("body: `{name}` must be an object, since this element puts credentials in it"))
        })?;
    }
    target.insert(last.to_owned(), serde_json::Value::String(value.to_owned()));
    Ok(())
}

/// How a call through an instance went.
pub struct Through {
    /// The call that was used last.
    pub call: ProviderCall,
    pub response: reqwest::Response,
    /// True when the provider refused the first try and the call was sent again after a refresh.
    pub refreshed: bool,
}

/// Sends `outgoing` through the instance named by `token`, whose element is in `hub_name`: credentials added,
/// refreshed once after a 401.
pub async fn call_through(
    hub: &dyn Hub,
    outbound: &Outbound,
    caller: &Caller,
    token: &SecretString,
    hub_name: &str,
    outgoing: &Outgoing<'_>,
) -> Result<Through, HubError> {
    let call = hub.provider_call(caller, token, hub_name).await?;
    let response = send(outbound, &call, outgoing).await?;
    if response.status() != StatusCode::UNAUTHORIZED {
        return Ok(Through { call, response, refreshed: false });
    }
    let call = hub.provider_refused(caller, token, &call).await?;
    let response = send(outbound, &call, outgoing).await?;
    Ok(Through { call, response, refreshed: true })
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
    fn paths_a_url_parser_would_read_as_climbing_out_are_refused() {
        for path in
            ["a\\..\\..\\healthz", "a/.\t./b", "a/.\n./b", "a/%2e%2E/b", "a%2f..%2fb", "a/%5C..", "x\u{7f}", "a\0b"]
        {
            assert!(check_path(path).is_err(), "{path:?}");
        }
        for path in ["contacts/42", "projects/group%2Fproject", "files/a.b/..c", "v1/.well-known"] {
            assert!(check_path(path).is_ok(), "{path:?}");
        }
    }
}
