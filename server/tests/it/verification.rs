//! New API-key, basic and custom instances are checked with the element's verification call before they are
//! stored: refused credentials are a 400 quoting the provider, an unreachable or failing provider a 502, and
//! nothing is stored either way.

use crate::on_both_backends;
use crate::utils::{Backend, TestApp, expect_json};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(credentials_are_checked_before_an_instance_is_stored);

/// An API that knows one key, echoes a wrong one in its refusal (as some do), and fails on `/down`.
async fn checking_upstream() -> String {
    async fn me(headers: HeaderMap) -> (AxumStatus, axum::Json<Value>) {
        let key = headers.get("x-api-key").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
        if key == "the-good-key" {
            (AxumStatus::OK, axum::Json(json!({"id": "me"})))
        } else {
            (AxumStatus::UNAUTHORIZED, axum::Json(json!({"message": format!("invalid api key {key}")})))
        }
    }
    let app = axum::Router::new()
        .route("/api/me", axum::routing::get(me))
        .route("/api/down", axum::routing::get(|| async { AxumStatus::SERVICE_UNAVAILABLE }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn element(key: &str, base_url: &str, verify_path: &str) -> Value {
    json!({
        "key": key, "name": key, "hub": "general", "auth": "apiKey",
        "api": {"baseUrl": base_url, "credentials": {"in": "header", "name": "X-Api-Key", "value": "{apiKey}"},
            "verify": {"path": verify_path}},
        "parameters": [{"key": "apiKey", "label": "API key", "secret": true}]
    })
}

async fn create(app: &TestApp, key: &str, api_key: &str) -> reqwest::Response {
    let body = json!({"name": "Checked", "configuration": {"apiKey": api_key}});
    app.as_admin(Method::POST, &format!("/elements/{key}/instances")).json(&body).send().await.unwrap()
}

async fn instance_count(app: &TestApp) -> usize {
    let listed = expect_json(app.as_admin(Method::GET, "/instances").send().await.unwrap(), StatusCode::OK).await;
    listed.as_array().unwrap().len()
}

async fn credentials_are_checked_before_an_instance_is_stored(backend: Backend) {
    let upstream = checking_upstream().await;
    let app = TestApp::spawn(backend).await;
    app.create_element(&element("checked", &format!("{upstream}/api"), "/me")).await;

    let refused = expect_json(create(&app, "checked", "a-wrong-key").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(refused["message"], "The provider refused the credentials");
    let quoted = refused["providerMessage"].as_str().unwrap();
    assert!(quoted.starts_with("HTTP 401") && quoted.contains("invalid api key"), "{quoted}");
    assert!(!quoted.contains("a-wrong-key"), "the key the provider echoed is masked: {quoted}");
    assert_eq!(instance_count(&app).await, 0);

    expect_json(create(&app, "checked", "the-good-key").await, StatusCode::OK).await;
    assert_eq!(instance_count(&app).await, 1);

    // A provider that fails, or cannot be reached, cannot say the credentials are wrong: 502, nothing stored.
    app.create_element(&element("checked-down", &format!("{upstream}/api"), "/down")).await;
    let failing = expect_json(create(&app, "checked-down", "the-good-key").await, StatusCode::BAD_GATEWAY).await;
    assert!(failing["providerMessage"].as_str().unwrap().starts_with("HTTP 503"), "{failing}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}/api", closed.local_addr().unwrap());
    drop(closed);
    app.create_element(&element("checked-nowhere", &nowhere, "/me")).await;
    expect_json(create(&app, "checked-nowhere", "the-good-key").await, StatusCode::BAD_GATEWAY).await;
    assert_eq!(instance_count(&app).await, 1);
}
