//! Per-organization rate limits on the REST API, on `tower_governor`: all calls made with one organization's
//! secret share one bucket; calls without credentials (providers' webhooks) share one bucket per path.

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

/// `router` with `per_second` calls per organization allowed, in bursts of up to `burst`; as it was when either is 0.
pub fn limited(router: Router, per_second: f64, burst: u32) -> Router {
    if !(per_second > 0.0 && per_second.is_finite()) || burst == 0 {
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
    router.layer(GovernorLayer::new(config).error_handler(refusal))
}
