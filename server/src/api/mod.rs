//! The REST API under `/elements/api-v2`, compatible with Cloud Elements' instances API.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod call_logs;
pub mod call_record;
pub mod connect;
pub mod element_instances;
pub mod elements;
pub mod error;
pub mod events;
pub mod extract;
pub mod history;
pub mod instances;
pub mod limits;
pub mod openapi;
pub mod proxy;
pub mod response_nulls;
pub mod webhooks;

use app::hub::SharedHub;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::OriginalUri;
use axum::http::{Method, StatusCode};
use error::ApiError;

/// The base path every REST route lives under.
pub const BASE_PATH: &str = "/elements/api-v2";

/// Per-organization limits on REST calls: so many a second, in bursts of up to so many.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

/// The documented routes, and the OpenAPI document they make.
fn documented_routes() -> (Router<SharedHub>, utoipa::openapi::OpenApi) {
    utoipa_axum::router::OpenApiRouter::with_openapi(openapi::base_document())
        .merge(accounts::routes())
        .merge(audit::routes())
        .merge(connect::routes())
        .merge(webhooks::routes())
        .merge(elements::routes())
        .merge(instances::routes())
        .merge(element_instances::routes())
        .merge(events::routes())
        .merge(call_logs::routes())
        .merge(history::routes())
        .split_for_parts()
}

/// The REST API's OpenAPI 3.1 document, as `/openapi.json` serves it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::finish(documented_routes().1)
}

/// The REST API's routes, and the OpenAPI document they serve at `/openapi.json`, for the console to list.
pub fn router(
    hub: SharedHub,
    outbound: crate::providers::outbound::Outbound,
    max_body_bytes: usize,
    rate: RateLimit,
) -> (Router, utoipa::openapi::OpenApi) {
    let (documented, document) = documented_routes();
    let document = openapi::finish(document);
    // Serialized once: the router is cloned for every connection, and `Bytes` clones without copying.
    let served = axum::body::Bytes::from(serde_json::to_vec(&document).expect("the OpenAPI document serializes"));
    let serve_document = move || {
        let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
        std::future::ready((json, served.clone()))
    };
    let routes = documented
        .with_state(hub.clone())
        .merge(proxy::routes(hub, outbound))
        .route("/openapi.json", axum::routing::get(serve_document))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::Extension(limits::WebhookFailures::new(rate.per_second, rate.burst)));
    (limits::limited(routes, rate.per_second, rate.burst), document)
}

async fn unknown_route(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("No route for {method} {}", uri.path()))
}

async fn wrong_method(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not allowed on {}", uri.path()))
}
