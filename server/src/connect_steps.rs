//! The hosted connect page's steps that are not page loads: starting an element (`GET /connect/{token}/{element}`,
//! a 303 to the provider for OAuth 2.0), posting an element's form, and the provider's redirect to
//! `/oauth/callback` for a connect session's flow. They run before the console's sign-in guard: the end user has
//! no console account.

use crate::hub::{CONNECT_PAGE_PATH, CONNECT_STATE_PREFIX, CONSOLE_CALLBACK_PATH};
use app::connect::ConnectStep;
use app::error::HubError;
use app::hub::SharedHub;
use app::instances::OAuthCallback;
use axum::extract::{FromRequest, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use secrecy::SecretString;
use std::collections::BTreeMap;

/// The query parameter, and hidden form field, that carries the origin of the team's page that opened a popup.
const POPUP_ORIGIN: &str = "origin";

/// Whether a path is one of the hosted connect page's.
pub fn is_connect_path(path: &str) -> bool {
    path.strip_prefix(CONNECT_PAGE_PATH).is_some_and(|rest| rest.starts_with('/'))
}

/// The token and element of `/connect/{token}/{element}`.
fn token_and_element(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix(CONNECT_PAGE_PATH)?.strip_prefix('/')?;
    let (token, element) = rest.split_once('/')?;
    let decode =
        |text: &str| percent_encoding::percent_decode_str(text).decode_utf8().ok().map(|text| text.into_owned());
    let (token, element) = (decode(token)?, decode(element)?);
    (!token.is_empty() && !element.is_empty() && !element.contains('/')).then_some((token, element))
}

/// A query string's pairs, decoded.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

fn pair<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// Answers a connect step, or passes anything else on to the console.
pub async fn connect_steps(State(hub): State<SharedHub>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let pairs = query_pairs(request.uri().query());
    if request.method() == Method::GET && path == CONSOLE_CALLBACK_PATH {
        let connect_flow = pair(&pairs, "state").is_some_and(|state| state.starts_with(CONNECT_STATE_PREFIX));
        if !connect_flow {
            return next.run(request).await;
        }
        let callback = OAuthCallback::from_pairs(pairs.iter().map(|(name, value)| (name.as_str(), value.as_str())));
        return respond(hub.complete_connect_authorization(callback).await);
    }
    let Some((token, element)) = token_and_element(&path) else {
        return next.run(request).await;
    };
    let token = SecretString::from(token);
    match *request.method() {
        Method::GET => {
            let origin = match app::hub::request_origin(request.headers()) {
                Ok(origin) => origin,
                Err(error) => return spent_page(&error),
            };
            let popup_origin = pair(&pairs, POPUP_ORIGIN);
            match hub.start_connect(&token, &element, &origin, popup_origin).await {
                Ok(ConnectStep::ShowForm) => next.run(request).await,
                Ok(ConnectStep::Redirect(url)) => Redirect::to(&url).into_response(),
                Err(error) => spent_page(&error),
            }
        }
        Method::POST => {
            let form = match axum::Form::<Vec<(String, String)>>::from_request(request, &()).await {
                Ok(axum::Form(form)) => form,
                Err(rejection) => return rejection.into_response(),
            };
            let popup_origin = pair(&form, POPUP_ORIGIN).map(str::to_owned);
            let values: BTreeMap<String, String> = form.into_iter().filter(|(key, _)| key != POPUP_ORIGIN).collect();
            respond(hub.submit_connect_form(&token, &element, values, popup_origin.as_deref()).await)
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

/// A step's answer: a 303 to where the browser goes next, or the page for a link that no longer works.
fn respond(next: Result<String, HubError>) -> Response {
    match next {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(error) => spent_page(&error),
    }
}

/// The page for a step whose link or flow is unknown, used or expired: it says so and creates nothing.
fn spent_page(error: &HubError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let message = html_escape::encode_text(&error.to_string()).into_owned();
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>Connect an account</title>\
         <link rel=\"stylesheet\" href=\"/pkg/tether.css\"></head><body><main class=\"connect\"><div \
         class=\"connect-card\"><h1>This link does not work</h1><p class=\"form-error\" role=\"alert\" \
         data-testid=\"connect-error\">{message}</p><p>Go back to the app and start again.</p></div></main></body></html>"
    );
    let mut response = (status, Html(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_two_segments_under_connect_name_an_element() {
        assert_eq!(token_and_element("/connect/abc/hubspot"), Some(("abc".into(), "hubspot".into())));
        assert_eq!(token_and_element("/connect/abc/a%2Fb"), None, "an element key holds no slash");
        for path in ["/connect/abc", "/connect//x", "/connect/abc/", "/connect/a/b/c", "/connector/a/b"] {
            assert_eq!(token_and_element(path), None, "{path}");
        }
        assert!(is_connect_path("/connect/abc") && !is_connect_path("/connect.js") && !is_connect_path("/connector"));
    }
}
