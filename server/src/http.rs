//! The HTTP stack: one router over both doors (REST API and console), plus `/healthz`, `/metrics` and request context.

use crate::api;
use crate::config::Config;
use crate::console;
use crate::hub::HubService;
use crate::site;
use crate::telemetry::{metrics, with_request_id};
use app::hub::SharedHub;
use app::server_fns::CookiePolicy;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// The response header that carries each request's id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

pub fn router(hub: Arc<HubService>, config: &Config) -> Router {
    let shared: SharedHub = hub.clone();
    // Install the recorder before the first request, so no early counts are lost.
    let prometheus = metrics();
    let options = site::leptos_options(&config.server.site_root, config.server.listen);
    let rate = api::RateLimit { per_second: config.limits.api_calls_per_second, burst: config.limits.api_burst };
    let cookies = CookiePolicy {
        secure: config.serves_https(),
        max_age_seconds: config.server.session_lifetime.as_secs() as i64,
    };
    let (api_routes, api_document) =
        api::router(shared.clone(), hub.outbound().clone(), config.limits.max_body_bytes, rate);
    Router::new()
        .route(
            "/healthz",
            get({
                let hub = hub.clone();
                move || healthz(hub.clone())
            }),
        )
        .route("/metrics", get(move || render_metrics(hub.clone(), prometheus)))
        .nest(api::BASE_PATH, api_routes)
        .merge(console::router(shared, options, cookies, &api_document))
        .layer(middleware::from_fn(request_context))
}

/// Prometheus metrics, with the instance health gauges brought up to date first.
async fn render_metrics(
    hub: Arc<HubService>,
    prometheus: &'static metrics_exporter_prometheus::PrometheusHandle,
) -> String {
    if let Err(error) = hub.publish_health_metrics().await {
        tracing::warn!(%error, "could not count instance health for /metrics");
    }
    prometheus.render()
}

async fn healthz(hub: Arc<HubService>) -> Response {
    match hub.store().ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// A path as the log may show it: a hosted connect page's path holds its session's token, which is masked.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix(crate::hub::CONNECT_PAGE_PATH).and_then(|rest| rest.strip_prefix('/')) {
        Some(rest) => {
            let after_token = rest.find('/').map_or("", |slash| &rest[slash..]);
            format!("{}/********{after_token}", crate::hub::CONNECT_PAGE_PATH).into()
        }
        None => path.into(),
    }
}

/// Gives each request an id, a log span carrying it, a completion log line and metrics.
///
/// Only the method and the path are logged: query strings and headers may carry secrets.
async fn request_context(request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let method = request.method().clone();
    let path = loggable_path(request.uri().path());
    let span = tracing::info_span!("request", id = %id, method = %method, path = %path);
    let started = Instant::now();
    let mut response = with_request_id(id.clone(), next.run(request)).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    span.in_scope(|| tracing::info!(status, elapsed_ms = elapsed.as_millis() as u64, "request finished"));
    count_request(&method, status, elapsed);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// The most (method, status) pairs a thread keeps metric handles for; others are looked up each time.
const KEPT_REQUEST_METRICS: usize = 64;

thread_local! {
    /// The request counter and duration histogram of each (method, status) seen on this thread, so that a request
    /// costs no label formatting and no registry lookup.
    static REQUEST_METRICS: std::cell::RefCell<std::collections::HashMap<(Method, u16), (metrics::Counter, metrics::Histogram)>> =
        std::cell::RefCell::default();
}

/// Counts one finished request in `tether_http_requests_total` and `tether_http_request_duration_seconds`.
fn count_request(method: &Method, status: u16, elapsed: std::time::Duration) {
    let lookup = || {
        let counter = metrics::counter!("tether_http_requests_total", "method" => method.to_string(), "status" => status.to_string());
        let histogram = metrics::histogram!("tether_http_request_duration_seconds", "method" => method.to_string());
        (counter, histogram)
    };
    let record = |(counter, histogram): &(metrics::Counter, metrics::Histogram)| {
        counter.increment(1);
        histogram.record(elapsed.as_secs_f64());
    };
    REQUEST_METRICS.with_borrow_mut(|kept| {
        let key = (method.clone(), status);
        if kept.contains_key(&key) || kept.len() < KEPT_REQUEST_METRICS {
            record(kept.entry(key).or_insert_with(lookup));
        } else {
            record(&lookup());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn a_connect_token_never_reaches_the_log() {
        assert_eq!(loggable_path("/connect/s3cret-token"), "/connect/********");
        assert_eq!(loggable_path("/connect/s3cret-token/sandbox"), "/connect/********/sandbox");
        assert_eq!(loggable_path("/connect.js"), "/connect.js");
        assert_eq!(loggable_path("/instances"), "/instances");
    }
}
