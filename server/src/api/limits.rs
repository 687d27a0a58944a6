//! Rate limits on the REST API, on `tower_governor`: all calls made with one organization's secret share one
//! bucket, and other calls without credentials one bucket per path. Calls through an instance to its provider
//! (`/hubs/…`) are not counted: the limit protects Tether's API, not a provider's quota. Nor are providers' webhooks: a
//! flood of unsigned posts to an instance's URL must not keep its provider's signed ones out. Instead, the ones that
//! fail verification are limited per instance ([`WebhookFailures`]), and verified ones always pass.

use super::auth::parse_authorization;
use super::error::ApiError;
use axum::Router;
use axum::body::Body;
use axum::http::header::AUTHORIZATION;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tower_governor::GovernorError;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;

/// How often buckets that have refilled are forgotten, so keys seen once do not stay in memory.
const FORGET_FULL_BUCKETS_EVERY: Duration = Duration::from_secs(60);

/// Names a request's bucket: a digest of its Organization secret, or of its path when it has none.
#[derive(Clone, Copy, Debug)]
pub struct OrganizationKey;

impl KeyExtractor for OrganizationKey {
    type Key = [u8; 16];

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        let header = request.headers().get(AUTHORIZATION).and_then(|value| value.to_str().ok());
        let credentials = header.and_then(|header| parse_authorization(header).ok());
        let mut digest = Sha256::new();
        match &credentials {
            Some(credentials) => {
                digest.update(b"organization\0");
                digest.update(credentials.organization.expose_secret().as_bytes());
            }
            None => {
                digest.update(b"path\0");
                digest.update(request.uri().path().as_bytes());
            }
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest.finalize()[..16]);
        Ok(key)
    }
}

/// The REST API's answer when a bucket is empty: 429 with `Retry-After`, in the API's error shape.
fn refusal(error: GovernorError) -> Response<Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let seconds = wait_time.max(1);
            let mut refused = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many requests for this organization; retry in {seconds} s"),
            );
            refused.retry_after_seconds = Some(seconds);
            refused.into_response()
        }
        other => {
            tracing::error!(error = %other, "the rate limiter failed");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
        }
    }
}

/// Whether a request is a provider's webhook: a `POST /events/…` without Tether credentials.
fn is_provider_webhook<T>(request: &Request<T>) -> bool {
    request.method() == axum::http::Method::POST
        && request.uri().path().starts_with("/events/")
        && !request.headers().contains_key(AUTHORIZATION)
}

/// Whether a request is a call through an instance to its provider (`/hubs/…`). The REST API's limit protects
/// Tether's management API, not a provider's quota, so these are not counted against it.
fn is_proxied_call<T>(request: &Request<T>) -> bool {
    request.uri().path().starts_with("/hubs/")
}

/// Whether the limit is on: a positive, finite rate and a burst.
fn limit_is_on(per_second: f64, burst: u32) -> bool {
    per_second > 0.0 && per_second.is_finite() && burst > 0
}

/// Unverified provider webhooks, limited per instance: each instance may see `burst` of them at once and
/// `per_second` after that; past it, more are answered 429 rather than 401. Verified webhooks are never counted.
#[derive(Clone)]
pub struct WebhookFailures {
    limiter: Option<std::sync::Arc<governor::DefaultKeyedRateLimiter<i64>>>,
}

impl WebhookFailures {
    pub fn new(per_second: f64, burst: u32) -> WebhookFailures {
        let limiter = limit_is_on(per_second, burst).then(|| {
            let period = Duration::from_secs_f64(1.0 / per_second);
            let burst = std::num::NonZeroU32::new(burst).expect("a positive burst");
            let quota = governor::Quota::with_period(period).expect("a positive period").allow_burst(burst);
            std::sync::Arc::new(governor::RateLimiter::keyed(quota))
        });
        WebhookFailures { limiter }
    }

    /// Counts one failed verification for `instance`; answers the seconds to wait when its bucket is empty.
    pub fn note_failure(&self, instance: i64) -> Option<u64> {
        let limiter = self.limiter.as_ref()?;
        let refused = limiter.check_key(&instance).err()?;
        let wait = refused.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
        Some(wait.as_secs().max(1))
    }
}

/// `router` with `per_second` calls per organization allowed, in bursts of up to `burst`; as it was when either is 0.
/// Proxied calls and providers' webhooks go around the limit (see [`WebhookFailures`]).
pub fn limited(router: Router, per_second: f64, burst: u32) -> Router {
    if !limit_is_on(per_second, burst) {
        return router;
    }
    let config = GovernorConfigBuilder::default()
        .period(Duration::from_secs_f64(1.0 / per_second))
        .burst_size(burst)
        .key_extractor(OrganizationKey)
        .finish()
        .expect("a positive period and burst");
    let limiter = config.limiter().clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FORGET_FULL_BUCKETS_EVERY);
        loop {
            tick.tick().await;
            limiter.retain_recent();
        }
    });
    let counted = router.clone().layer(GovernorLayer::new(config).error_handler(refusal));
    Router::new().fallback_service(tower::service_fn(move |request: Request<Body>| {
        let uncounted = is_provider_webhook(&request) || is_proxied_call(&request);
        let route = if uncounted { router.clone() } else { counted.clone() };
        tower::ServiceExt::oneshot(route, request)
    }))
}
