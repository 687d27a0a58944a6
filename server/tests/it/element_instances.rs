//! Instances under their element (`/elements/{keyOrId}/instances…`), as Cloud Elements' clients manage them: each
//! route acts only on instances of the element it names, by key or id, and deleting answers 200.

use crate::on_both_backends;
use crate::utils::{Backend, TestApp, expect_error, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(instances_are_managed_under_their_element_only, deleting_an_instance_answers_200_in_every_form);

/// A custom API-key element `key`; its instances need only a name and a key.
fn api_key_element(key: &str) -> Value {
    json!({"key": key, "name": format!("Element {key}"), "hub": "general", "auth": "apiKey",
        "api": {"baseUrl": "https://api.example.com", "credentials": {"in": "header", "name": "x-api-key", "value": "{apiKey}"}},
        "parameters": [{"key": "apiKey", "label": "API key", "secret": true}]})
}

async fn instance_of(app: &TestApp, element: &str, name: &str) -> i64 {
    let body = json!({"name": name, "element": {"key": element}, "configuration": {"apiKey": "k-123"}});
    app.create_instance(&body).await.id.0
}

async fn instances_are_managed_under_their_element_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alpha = app.create_element(&api_key_element("alpha-crm")).await;
    app.create_element(&api_key_element("beta-crm")).await;
    let first = instance_of(&app, "alpha-crm", "first alpha").await;
    let second = instance_of(&app, "alpha-crm", "second alpha").await;
    let other = instance_of(&app, "beta-crm", "a beta").await;
    let call = |method: Method, path: &str| app.as_admin(method, &format!("/elements{path}"));

    for named in ["alpha-crm".to_owned(), alpha.id.0.to_string()] {
        let listed =
            expect_json(call(Method::GET, &format!("/{named}/instances")).send().await.unwrap(), StatusCode::OK).await;
        let ids: Vec<i64> =
            listed.as_array().unwrap().iter().map(|instance| instance["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [first, second], "listed under {named}");
        let one = call(Method::GET, &format!("/{named}/instances/{first}")).send().await.unwrap();
        assert_eq!(expect_json(one, StatusCode::OK).await["name"], "first alpha");
    }
    let paged = call(Method::GET, "/alpha-crm/instances?pageSize=1&page=2").send().await.unwrap();
    assert_eq!(expect_json(paged, StatusCode::OK).await[0]["id"], second);
    let unknown = call(Method::GET, "/no-such-element/instances").send().await.unwrap();
    expect_error(unknown, StatusCode::NOT_FOUND, "").await;

    // Another element's instance is unknown under this one, and nothing is done to it.
    let wrong = call(Method::GET, &format!("/alpha-crm/instances/{other}")).send().await.unwrap();
    expect_error(wrong, StatusCode::NOT_FOUND, "No instance").await;
    for method in [Method::PATCH, Method::PUT] {
        let renamed = call(method, &format!("/alpha-crm/instances/{other}")).json(&json!({"name": "taken"})).send();
        expect_error(renamed.await.unwrap(), StatusCode::NOT_FOUND, "No instance").await;
    }
    let deleted = call(Method::DELETE, &format!("/alpha-crm/instances/{other}")).send().await.unwrap();
    expect_error(deleted, StatusCode::NOT_FOUND, "No instance").await;
    let untouched = app.as_admin(Method::GET, &format!("/instances/{other}")).send().await.unwrap();
    assert_eq!(expect_json(untouched, StatusCode::OK).await["name"], "a beta");

    // Its own instances change and go.
    for (method, name) in [(Method::PATCH, "patched"), (Method::PUT, "put")] {
        let changed = call(method, &format!("/alpha-crm/instances/{first}")).json(&json!({"name": name})).send();
        assert_eq!(expect_json(changed.await.unwrap(), StatusCode::OK).await["name"], name);
    }
    let deleted = call(Method::DELETE, &format!("/alpha-crm/instances/{first}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let gone = app.as_admin(Method::GET, &format!("/instances/{first}")).send().await.unwrap();
    expect_error(gone, StatusCode::NOT_FOUND, "No instance").await;
}

async fn deleting_an_instance_answers_200_in_every_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_element(&api_key_element("gamma-crm")).await;
    let by_id = instance_of(&app, "gamma-crm", "by id").await;
    let deleted = app.as_admin(Method::DELETE, &format!("/instances/{by_id}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);

    let body = json!({"name": "by token", "element": {"key": "gamma-crm"}, "configuration": {"apiKey": "k-123"}});
    let token = app.create_instance(&body).await.token.as_str().to_owned();
    let deleted = app.as_instance(&token, Method::DELETE, "/instances").send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let gone = app.as_instance(&token, Method::GET, "/instances").send().await.unwrap();
    expect_error(gone, StatusCode::UNAUTHORIZED, "names no instance").await;
}
