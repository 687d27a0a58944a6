//! The REST API's per-organization rate limit: a burst, then 429 with `Retry-After`; other organizations and the
//! bucket's refill are unaffected.

use crate::utils::{Backend, TestApp, eventually};
use reqwest::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_over_its_rate_gets_429_with_retry_after() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.api_rate_limit_per_second = 0.5;
        config.api_rate_limit_burst = 3;
    })
    .await;
    let other = app.hub.create_organization("Other", "boss@other.example", "test").await.unwrap();
    for call in 1..=3 {
        let allowed = app.as_admin(Method::GET, "/instances").send().await.unwrap();
        assert_eq!(allowed.status(), StatusCode::OK, "call {call} is within the burst");
    }
    let refused = app.as_admin(Method::GET, "/instances").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "one call comes back every 2 s: {retry_after}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("Too many requests"), "{body}");

    // Another organization has its own bucket.
    let theirs = app.as_tenant(&other, Method::GET, "/instances").send().await.unwrap();
    assert_eq!(theirs.status(), StatusCode::OK);
    // The bucket refills: after the wait it named, a call goes through again.
    eventually(5, "the bucket refills", || async {
        let again = app.as_admin(Method::GET, "/instances").send().await.unwrap();
        (again.status() == StatusCode::OK).then_some(())
    })
    .await;
}
