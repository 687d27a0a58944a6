//! The console's door: server-side rendering of the Leptos app, its server functions, and the sign-in guard.

use crate::connect_steps::{connect_steps, is_connect_path};
use app::hub::SharedHub;
use app::server_fns::{CookiePolicy, session::session_token_from_headers};
use app::{App, shell};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};

/// The page open without a session.
const SIGN_IN_PATH: &str = "/signin";

pub fn router(
    hub: SharedHub,
    options: LeptosOptions,
    cookies: CookiePolicy,
    api_document: &utoipa::openapi::OpenApi,
) -> Router {
    let routes = generate_route_list(App);
    let operations = api_operations(api_document);
    let context = {
        let hub = hub.clone();
        move || {
            provide_context(hub.clone());
            provide_context(cookies);
            provide_context(operations.clone());
            app::server_fns::session::set_page_policy(&[]);
        }
    };
    let render_shell = {
        let options = options.clone();
        move || shell(options.clone())
    };
    let hashed_files = options.hash_files;
    Router::new()
        .leptos_routes_with_context(&options, routes, context.clone(), render_shell)
        .fallback(leptos_axum::file_and_error_handler_with_context(context, shell))
        .with_state(options)
        .layer(middleware::from_fn(error_statuses))
        .layer(middleware::from_fn_with_state(hub.clone(), require_session))
        .layer(middleware::from_fn_with_state(hub, connect_steps))
        .layer(middleware::from_fn(refuse_cross_site_posts))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(hashed_files, crate::site::cache_policy))
        .layer(crate::site::compression())
}

/// The largest server-function error answer read back to find its status; errors are short messages.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A server function that fails answers 500 whatever the failure; this gives its answer the status of the
/// `HubError` it carries (400 for a bad field, 404 for an unknown instance…), as the REST API would.
async fn error_statuses(request: Request, next: Next) -> Response {
    let is_server_function = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_server_function || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_LIMIT).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<app::error::HubError>(&bytes) {
        parts.status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The REST API's operations from its OpenAPI document, for the console's API page.
fn api_operations(document: &utoipa::openapi::OpenApi) -> app::types::ApiOperations {
    let mut operations = Vec::new();
    for (path, item) in &document.paths.paths {
        let methods = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, operation) in methods {
            let Some(operation) = operation else { continue };
            operations.push(app::types::ApiOperation {
                method: method.to_owned(),
                path: path.clone(),
                summary: operation.summary.clone().unwrap_or_default(),
                tag: operation.tags.as_ref().and_then(|tags| tags.first().cloned()).unwrap_or_default(),
            });
        }
    }
    app::types::ApiOperations(operations)
}

/// Headers on every console answer: no referrer to other sites, no MIME sniffing, no framing. The hosted connect
/// page sends no referrer at all: its URL holds the session's token.
async fn security_headers(request: Request, next: Next) -> Response {
    let referrer = if is_connect_path(request.uri().path()) { "no-referrer" } else { "same-origin" };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Whether a request's `Origin` names the host it was sent to. Browsers send `Origin` on every cross-site POST,
/// so a post without one did not come from another site's page.
fn origin_matches_host(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let host = headers.get(header::HOST).and_then(|host| host.to_str().ok()).unwrap_or_default();
    let origin = origin.to_str().ok().and_then(|origin| url::Url::parse(origin).ok());
    origin.is_some_and(|origin| {
        let authority = match origin.port() {
            Some(port) => format!("{}:{port}", origin.host_str().unwrap_or_default()),
            None => origin.host_str().unwrap_or_default().to_owned(),
        };
        authority.eq_ignore_ascii_case(host)
    })
}

/// Refuses server function calls and other non-GET requests that another site's page sent (CSRF), beyond what
/// the `SameSite=Lax` session cookie already stops: `Origin` must name this console, and `Sec-Fetch-Site` must
/// not say `cross-site`.
async fn refuse_cross_site_posts(request: Request, next: Next) -> Response {
    let reads = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let headers = request.headers();
    let cross_site = headers.get("sec-fetch-site").is_some_and(|site| site.as_bytes() == b"cross-site");
    if !reads && (cross_site || !origin_matches_host(headers)) {
        tracing::warn!(path = %request.uri().path(), "refused a cross-site request to the console");
        return (StatusCode::FORBIDDEN, "Requests to the console must come from its own pages.").into_response();
    }
    next.run(request).await
}

/// A page load, as opposed to an asset, a server function call or a file.
fn is_page_load(request: &Request) -> bool {
    let path = request.uri().path();
    let last_segment = path.rsplit('/').next().unwrap_or_default();
    request.method() == Method::GET
        && !path.starts_with("/pkg/")
        && !path.starts_with("/api/")
        && !last_segment.contains('.')
}

/// Sends page loads without a live session to the sign-in page, and signed-in users away from it. The hosted
/// connect page is for end users, who have no session.
async fn require_session(State(hub): State<SharedHub>, request: Request, next: Next) -> Response {
    if !is_page_load(&request) || is_connect_path(request.uri().path()) {
        return next.run(request).await;
    }
    let signed_in = match session_token_from_headers(request.headers()) {
        Some(token) => hub.resume_session(&token).await.is_ok(),
        None => false,
    };
    let path = request.uri().path();
    let on_sign_in_page = path == SIGN_IN_PATH || path == app::server_fns::SECOND_STEP_PATH;
    match (on_sign_in_page, signed_in) {
        (true, true) => Redirect::to("/").into_response(),
        (false, false) => {
            // Back to this page after signing in; the home page needs no reminder.
            let asked = request.uri().path_and_query().map(|path| path.as_str()).unwrap_or("/");
            match asked {
                "/" => Redirect::to(SIGN_IN_PATH).into_response(),
                asked => {
                    let next: String = form_urlencoded::byte_serialize(asked.as_bytes()).collect();
                    Redirect::to(&format!("{SIGN_IN_PATH}?next={next}")).into_response()
                }
            }
        }
        _ => next.run(request).await,
    }
}
