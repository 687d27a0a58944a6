//! Request extractors whose failures are API errors naming the bad field, never axum's plain-text rejections.

use super::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body. Errors say where: `emailAddress: invalid type…` or `body: missing field …`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let declared = request.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_owned);
        if let Some(content_type) = &declared
            && !content_type.to_ascii_lowercase().starts_with("application/json")
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Type must be application/json, not {content_type}"),
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(body_rejection)?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A raw body, for routes that take any bytes (the proxy, providers' webhooks).
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(request, state).await.map(ApiBytes).map_err(body_rejection)
    }
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&rejection);
    while let Some(error) = source {
        if error.is::<crate::connections::BodyTimedOut>() {
            return ApiError::new(StatusCode::REQUEST_TIMEOUT, "body: did not arrive in time");
        }
        source = error.source();
    }
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body: larger than this server accepts")
    } else {
        ApiError::bad_request(format!("body: could not be read ({})", rejection.body_text()))
    }
}

/// Parses JSON, naming the path of the first problem.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("body: expected a JSON object, found nothing"));
    }
    // Every body Tether takes is an object; an array would otherwise be read field by field, by position.
    if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request("body: expected a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        // "." is the whole body; "?" is where the JSON broke off before a field was known.
        let field = if path == "." || path == "?" { "body".to_owned() } else { path };
        let detail = error.inner().to_string();
        let detail = detail.split(" at line ").next().unwrap_or(&detail);
        ApiError::bad_request(format!("{field}: {detail}"))
    })
}

/// Query parameters; an unknown parameter or a bad value is a 400 that names it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// The one reader of query strings: a repeated parameter (`tags[]=a&tags[]=b`) fills a list, and an unknown
/// parameter or a bad value is a 400 that names it.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer = serde_html_form::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." || path == "?" { "query".to_owned() } else { path };
        ApiError::bad_request(format!("{field}: {}", error.inner()))
    })
}

/// Path parameters; a value of the wrong type is a 400 that names the parameter.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection: PathRejection| ApiError::bad_request(format!("path: {}", rejection.body_text())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        email_address: String,
        count: Option<u32>,
    }

    fn message(json: &str) -> String {
        parse_json::<Body>(json.as_bytes()).unwrap_err().message
    }

    #[test]
    fn messages_name_the_field() {
        assert_eq!(message(r#"{}"#), "body: missing field `emailAddress`");
        assert!(message(r#"{"emailAddress": 5}"#).starts_with("emailAddress: invalid type"));
        assert!(message(r#"{"emailAddress": "a", "count": "x"}"#).starts_with("count: invalid type"));
        assert_eq!(message("{"), "body: EOF while parsing an object");
        assert_eq!(message("  "), "body: expected a JSON object, found nothing");
        assert_eq!(message("[1]"), "body: expected a JSON object");
    }
}
