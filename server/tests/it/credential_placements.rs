//! Built-in elements whose providers read credentials from more than one place, from basic credentials made of
//! templates, from a base64-encoded header, or from a path segment: each, pointed at a loopback API that echoes
//! what it got, sends exactly what its provider's documentation asks for. Definitions that could not be applied
//! to one request are refused.

use crate::on_both_backends;
use crate::provider_emulator::at_emulator;
use crate::proxy::echo_upstream;
use crate::utils::{Backend, TestApp, expect_json};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    built_in_elements_put_credentials_where_their_providers_read_them,
    placements_that_cannot_share_a_request_are_refused,
);

/// The built-in element `key` as a custom element `echo-{key}` whose API is the echo upstream, and an instance
/// of it with `values`: the definition and the instance's token.
async fn echoed_instance(app: &TestApp, upstream: &str, key: &str, values: Value) -> (Value, i64, String) {
    let element = app.as_admin(Method::GET, &format!("/elements/{key}")).send().await.unwrap();
    let mut definition = expect_json(element, StatusCode::OK).await["definition"].clone();
    definition["key"] = json!(format!("echo-{key}"));
    definition["aliases"] = json!([]);
    definition["api"]["baseUrl"] = at_emulator(&definition["api"]["baseUrl"], &format!("{upstream}/{key}"));
    app.create_element(&definition).await;
    let body = json!({"name": key, "configuration": values});
    let created = app.as_admin(Method::POST, &format!("/elements/echo-{key}/instances")).json(&body).send().await;
    let instance = expect_json(created.unwrap(), StatusCode::OK).await;
    (definition, instance["id"].as_i64().unwrap(), instance["token"].as_str().unwrap().to_owned())
}

/// What the echo upstream heard of one call through the instance.
async fn heard(app: &TestApp, definition: &Value, token: &str, path: &str, body: Option<&str>) -> Value {
    let hub = definition["hub"].as_str().unwrap();
    let mut request = app.as_instance(token, Method::POST, &format!("/hubs/{hub}/{path}"));
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    expect_json(request.send().await.unwrap(), StatusCode::CREATED).await
}

fn body_of(heard: &Value) -> Value {
    serde_json::from_str(heard["body"].as_str().unwrap()).unwrap()
}

async fn built_in_elements_put_credentials_where_their_providers_read_them(backend: Backend) {
    let upstream = echo_upstream().await;
    let app = TestApp::spawn(backend).await;

    // Zendesk's API tokens: basic credentials of `{email}/token` and the token.
    let values = json!({"subdomain": "acme", "username": "ada@example.com", "password": "zdToken1"});
    let (definition, _, token) = echoed_instance(&app, &upstream, "zendesk-api-key", values).await;
    let seen = heard(&app, &definition, &token, "api/v2/tickets.json", None).await;
    let expected = format!("Basic {}", STANDARD.encode("ada@example.com/token:zdToken1"));
    assert_eq!(seen["headers"]["authorization"], json!(expected), "{seen}");

    // ConnectSecure: one header of the tenant, client id and secret, base64-encoded.
    let values =
        json!({"base_url": "pod1.myconnectsecure.com", "tenant": "acme", "username": "cid-7", "password": "cs-secret"});
    let (definition, _, token) = echoed_instance(&app, &upstream, "connectsecure", values).await;
    let seen = heard(&app, &definition, &token, "w/company", None).await;
    assert_eq!(seen["headers"]["client-auth-token"], json!(STANDARD.encode("acme+cid-7:cs-secret")), "{seen}");
    assert_eq!(seen["headers"]["accept"], "application/json");

    // Telegram: the bot token is a path segment, encoded whole, and stays out of the call logs.
    let (definition, id, token) =
        echoed_instance(&app, &upstream, "telegram", json!({"apiKey": "123456:AbC-d_x"})).await;
    let seen = heard(&app, &definition, &token, "getMe", None).await;
    assert_eq!(seen["path"], "/telegram/bot123456:AbC-d_x/getMe", "{seen}");
    let logs = app.as_admin(Method::GET, &format!("/instances/{id}/logs")).send().await.unwrap();
    let logs = expect_json(logs, StatusCode::OK).await;
    assert_eq!(logs[0]["path"], "/getMe", "{logs}");
    assert!(!logs.to_string().contains("AbC-d"), "{logs}");
    // A value that would add segments or climb out stays one segment.
    app.create_element(&json!({
        "key": "test-path", "name": "Path", "hub": "general", "auth": "apiKey",
        "api": {"baseUrl": format!("{upstream}/api"), "credentials": {"in": "path", "value": "v{apiKey}"}},
        "parameters": [{"key": "apiKey", "label": "API key", "secret": true}]
    }))
    .await;
    let body = json!({"name": "path", "configuration": {"apiKey": "1/../../admin?x#y"}});
    let created = app.as_admin(Method::POST, "/elements/test-path/instances").json(&body).send().await;
    let token = expect_json(created.unwrap(), StatusCode::OK).await["token"].as_str().unwrap().to_owned();
    let seen = heard(&app, &json!({"hub": "general"}), &token, "things", None).await;
    assert_eq!(seen["path"], "/api/v1%2F..%2F..%2Fadmin%3Fx%23y/things", "{seen}");

    // Adyntel: the key and the account's email, both members of the JSON body.
    let values = json!({"apiKey": "hd-abc-123", "email": "ada@example.com"});
    let (definition, _, token) = echoed_instance(&app, &upstream, "adyntel", values).await;
    let seen = heard(&app, &definition, &token, "google", Some(r#"{"company_domain": "example.com"}"#)).await;
    let expected = json!({"company_domain": "example.com", "api_key": "hd-abc-123", "email": "ada@example.com"});
    assert_eq!(body_of(&seen), expected);

    // Pipeline CRM: the API key and the app key, both in the query, after the caller's.
    let values = json!({"apiKey": "abcdefghij0123456789", "appKey": "0123456789abcdef0123456789abcdef"});
    let (definition, _, token) = echoed_instance(&app, &upstream, "pipelinecrm", values).await;
    let seen = heard(&app, &definition, &token, "api/v3/deals.json?page=2", None).await;
    assert_eq!(seen["query"], "page=2&api_key=abcdefghij0123456789&app_key=0123456789abcdef0123456789abcdef", "{seen}");

    // Fiber AI: the key in the query of a GET, in the JSON body of a POST, and not both.
    let (definition, _, token) = echoed_instance(&app, &upstream, "fiber-ai", json!({"apiKey": "fiber-key-1"})).await;
    let hub = definition["hub"].as_str().unwrap();
    let answer = app.as_instance(&token, Method::GET, &format!("/hubs/{hub}/v1/get-org-credits")).send().await;
    let seen = expect_json(answer.unwrap(), StatusCode::CREATED).await;
    assert_eq!((seen["query"].as_str(), seen["body"].as_str()), (Some("apiKey=fiber-key-1"), Some("")), "{seen}");
    let seen = heard(&app, &definition, &token, "v1/company-search", Some(r#"{"searchParams": {}}"#)).await;
    assert_eq!(seen["query"], Value::Null, "{seen}");
    assert_eq!(body_of(&seen), json!({"searchParams": {}, "apiKey": "fiber-key-1"}));

    // SAGE: the account number, login and key in the body's `auth` object, beside the caller's members.
    let values = json!({"acctId": "256432", "loginId": "ada", "apiKey": "0123456789abcdef0123456789abcdef"});
    let (definition, _, token) = echoed_instance(&app, &upstream, "sage-member", values).await;
    let seen = heard(&app, &definition, &token, "ConnectAPI", Some(r#"{"serviceId": 103, "apiVer": 130}"#)).await;
    let expected = json!({"serviceId": 103, "apiVer": 130,
        "auth": {"acctId": "256432", "loginId": "ada", "key": "0123456789abcdef0123456789abcdef"}});
    assert_eq!(body_of(&seen), expected);
    let hub = definition["hub"].as_str().unwrap();
    let clashing = app
        .as_instance(&token, Method::POST, &format!("/hubs/{hub}/ConnectAPI"))
        .header("content-type", "application/json")
        .body(r#"{"auth": "mine"}"#)
        .send()
        .await
        .unwrap();
    let refused = expect_json(clashing, StatusCode::BAD_REQUEST).await;
    assert!(refused["message"].as_str().unwrap().starts_with("body: `auth` must be an object"), "{refused}");
}

async fn placements_that_cannot_share_a_request_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = |name: &str, value: &str| json!({"in": name, "name": "k", "value": value});
    for (credentials, field, needle) in [
        (json!([key("form", "{apiKey}"), key("json", "{apiKey}")]), "api.credentials", "not both"),
        (
            json!([{"in": "path", "value": "a{apiKey}"}, {"in": "path", "value": "b{apiKey}"}]),
            "api.credentials",
            "at most one path",
        ),
        (json!({"in": "path", "value": "v1/{apiKey}"}), "api.credentials.value", "one path segment"),
        (json!([key("query", "{apiKey}"), key("header", "{nothing}")]), "api.credentials[1].value", "{nothing}"),
        (json!({"in": "basic", "username": "{apiKey}/token"}), "api.credentials.password", "{password}"),
        (json!({"in": "json", "name": "auth..key", "value": "{apiKey}"}), "api.credentials.name", "between dots"),
        (
            json!({"in": "query", "name": "k", "value": "{apiKey}", "methods": ["get"]}),
            "api.credentials.methods",
            "upper-case",
        ),
        (json!([]), "api", "at least one placement"),
    ] {
        let definition = json!({
            "key": "test-placements", "name": "Placements", "hub": "general", "auth": "apiKey",
            "api": {"baseUrl": "https://api.example.com", "credentials": credentials},
            "parameters": [{"key": "apiKey", "label": "API key", "secret": true}]
        });
        let answer = app.as_admin(Method::POST, "/elements").json(&definition).send().await.unwrap();
        let refused = expect_json(answer, StatusCode::BAD_REQUEST).await;
        let message = refused["message"].as_str().unwrap();
        assert!(message.starts_with(field) && message.contains(needle), "{credentials}: {message}");
    }
}
