//! Calls through an instance to the provider's API: pass-through with the credentials injected, refresh on
//! demand with one refresh for many concurrent calls, and a revoked grant answered with `INVALID_ACCESS_TOKEN`.

use crate::instance_management::stored_secrets;
use crate::instances::{code_from, oauth_configuration};
use crate::oauth::{CALLBACK, provider_element, setup, setup_with};
use crate::on_both_backends;
use crate::processes::OAuthProvider;
use crate::utils::{Backend, TestApp, eventually, expect_error, expect_json};
use app::hub::Proxy;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method as AxumMethod, Uri};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    calls_pass_through_with_the_credentials_injected,
    another_node_sees_a_change_when_its_cached_call_lapses,
    try_it_out_takes_the_proxy_path,
    fifty_concurrent_calls_on_an_expired_token_refresh_once,
    two_nodes_on_one_database_refresh_once,
    an_expiring_token_is_refreshed_ahead_once,
    a_token_shorter_than_the_margin_is_refreshed_once_not_on_every_call,
    credentials_go_in_a_form_or_json_body_when_the_element_says,
    a_revoked_grant_gets_invalid_access_token_until_reauthenticated,
);

/// An upstream API on loopback that answers 201 with a description of the request it got.
pub(crate) async fn echo_upstream() -> String {
    async fn echo(method: AxumMethod, uri: Uri, headers: HeaderMap, body: Bytes) -> (StatusCode, HeaderMap, String) {
        let names: serde_json::Map<String, Value> =
            headers.iter().map(|(name, value)| (name.to_string(), json!(value.to_str().unwrap_or_default()))).collect();
        let description = json!({
            "method": method.as_str(),
            "path": uri.path(),
            "query": uri.query(),
            "headers": names,
            "body": String::from_utf8_lossy(&body),
        });
        let mut answer = HeaderMap::new();
        answer.insert("x-upstream", "echo".parse().unwrap());
        answer.insert("content-type", "application/json".parse().unwrap());
        (StatusCode::CREATED, answer, description.to_string())
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(echo)).await.unwrap() });
    base
}

/// The echo element, whose API is `upstream`, and an instance of it: its id and token.
pub(crate) async fn echo_instance(app: &TestApp, upstream: &str) -> (Value, i64, String) {
    let element = json!({
        "key": "test-echo", "name": "Echo", "hub": "general", "auth": "custom",
        "api": {"baseUrl": format!("{upstream}/api/{{tenant}}"), "credentials": {"in": "header", "name": "X-Api-Token", "value": "Token {token}"},
            "headers": {"X-Tenant": "{tenant}"}},
        "parameters": [{"key": "tenant", "label": "Tenant"}, {"key": "token", "label": "Token", "secret": true}]
    });
    app.create_element(&element).await;
    let body = json!({"name": "Echo", "configuration": {"tenant": "acme", "token": "upstream-secret"}});
    let created = app.as_admin(Method::POST, "/elements/test-echo/instances").json(&body).send().await.unwrap();
    let created = expect_json(created, StatusCode::OK).await;
    (element, created["id"].as_i64().unwrap(), created["token"].as_str().unwrap().to_owned())
}

/// A GET through the instance at the node at `base_url`: the echo upstream's description of what it got, or the
/// error status.
async fn echoed_at(app: &TestApp, base_url: &str, token: &str) -> Result<Value, StatusCode> {
    let response = app.as_instance_at(base_url, token, Method::GET, "/hubs/general/things").send().await.unwrap();
    match response.status() {
        StatusCode::CREATED => Ok(response.json().await.unwrap()),
        status => Err(status),
    }
}

async fn calls_pass_through_with_the_credentials_injected(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let upstream = echo_upstream().await;
    let (element, id, token) = echo_instance(&app, &upstream).await;

    let response = app
        .as_instance(&token, Method::POST, "/hubs/general/things/42?limit=5&q=a%20b")
        .header("x-trace", "trace-1")
        .header("connection", "x-private")
        .header("x-private", "hop")
        .header("content-type", "application/json")
        .body(r#"{"hello":"world"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "the provider's status comes back");
    assert_eq!(response.headers()["x-upstream"], "echo");
    let length: usize = response.headers()["content-length"].to_str().unwrap().parse().unwrap();
    assert_eq!(response.headers()["elements-element-instance-id"], id.to_string().as_str());
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), length, "the provider's length comes back with its body");
    let seen: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/api/acme/things/42");
    assert_eq!(seen["query"], "limit=5&q=a%20b");
    assert_eq!(seen["body"], r#"{"hello":"world"}"#);
    let headers = &seen["headers"];
    assert_eq!(headers["x-api-token"], "Token upstream-secret");
    assert_eq!(headers["x-tenant"], "acme");
    assert_eq!(headers["x-trace"], "trace-1");
    assert!(headers.get("authorization").is_none(), "Tether's own credentials stay behind: {headers}");
    assert!(headers.get("x-private").is_none(), "headers named by Connection stay behind");

    // The node keeps the resolved call, and forgets it as soon as the element or the instance changes.
    let mut changed = element.clone();
    changed["api"]["headers"]["X-Tenant"] = json!("{tenant}-v2");
    let replaced = app.as_admin(Method::PUT, "/elements/test-echo").json(&changed).send().await.unwrap();
    expect_json(replaced, StatusCode::OK).await;
    assert_eq!(echoed_at(&app, &app.base_url, &token).await.unwrap()["headers"]["x-tenant"], "acme-v2");
    let rotated = json!({"configuration": {"token": "rotated-secret"}});
    let patched = app.as_admin(Method::PATCH, &format!("/instances/{id}")).json(&rotated).send().await.unwrap();
    expect_json(patched, StatusCode::OK).await;
    assert_eq!(echoed_at(&app, &app.base_url, &token).await.unwrap()["headers"]["x-api-token"], "Token rotated-secret");

    let wrong_hub = app.as_instance(&token, Method::GET, "/hubs/crm/things").send().await.unwrap();
    expect_error(wrong_hub, StatusCode::NOT_FOUND, "not crm").await;
    let without = app.as_admin(Method::GET, "/hubs/general/things").send().await.unwrap();
    expect_error(without, StatusCode::UNAUTHORIZED, "Element <token>").await;
    app.as_admin(Method::DELETE, &format!("/instances/{id}/enabled")).send().await.unwrap();
    let disabled = app.as_instance(&token, Method::GET, "/hubs/general/things").send().await.unwrap();
    expect_error(disabled, StatusCode::FORBIDDEN, "disabled").await;
    app.as_admin(Method::PUT, &format!("/instances/{id}/enabled")).send().await.unwrap();
    assert!(echoed_at(&app, &app.base_url, &token).await.is_ok(), "enabled again");
    app.as_admin(Method::DELETE, &format!("/instances/{id}")).send().await.unwrap();
    let deleted = app.as_instance(&token, Method::GET, "/hubs/general/things").send().await.unwrap();
    expect_error(deleted, StatusCode::UNAUTHORIZED, "names no instance").await;
}

/// Another node keeps the call it resolved for as long as its cache says, then sees what changed meanwhile.
async fn another_node_sees_a_change_when_its_cached_call_lapses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let upstream = echo_upstream().await;
    let (_, id, token) = echo_instance(&app, &upstream).await;
    let other = app.another_node(|config| config.proxy.call_cache = std::time::Duration::from_secs_f64(1.0)).await;
    assert!(echoed_at(&app, &other.base_url, &token).await.is_ok());
    app.as_admin(Method::DELETE, &format!("/instances/{id}/enabled")).send().await.unwrap();
    eventually(10, "the other node refuses the disabled instance", || async {
        (echoed_at(&app, &other.base_url, &token).await == Err(StatusCode::FORBIDDEN)).then_some(())
    })
    .await;
}

/// An OAuth instance of the `test-idp` element, whose API is the provider itself (`/me`, the userinfo endpoint).
pub async fn oauth_instance(app: &TestApp, provider: &OAuthProvider) -> (i64, String) {
    let (code, _) = code_from(app, provider, "").await;
    let body = json!({"element": {"key": "test-idp"}, "name": "Proxied", "providerData": {"code": code}, "configuration": oauth_configuration()});
    let created =
        expect_json(app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap(), StatusCode::OK).await;
    (created["id"].as_i64().unwrap(), created["token"].as_str().unwrap().to_owned())
}

/// Sets when Tether believes the instance's access token expires: in its configuration, and in the column the
/// background refresher finds expiring tokens by. A node's call cache does not see this change; a test that makes
/// it after a call the node may have kept turns the cache off.
pub async fn believe_expiry(app: &TestApp, id: i64, expires_at: &str) {
    let configuration: String = sqlx::query_scalar("SELECT configuration FROM instances WHERE id = $1")
        .bind(id)
        .fetch_one(app.hub.store().pool())
        .await
        .unwrap();
    let mut configuration: Value = serde_json::from_str(&configuration).unwrap();
    configuration["oauth.user.token.expires_at"] = json!(expires_at);
    let millis = chrono::DateTime::parse_from_rfc3339(expires_at).unwrap().timestamp_millis();
    sqlx::query("UPDATE instances SET configuration = $1, access_token_expires_at = $2 WHERE id = $3")
        .bind(configuration.to_string())
        .bind(millis)
        .bind(id)
        .execute(app.hub.store().pool())
        .await
        .unwrap();
}

pub async fn read_instance(app: &TestApp, id: i64) -> Value {
    expect_json(app.as_admin(Method::GET, &format!("/instances/{id}")).send().await.unwrap(), StatusCode::OK).await
}

/// Fifty calls at once through the instance: every one must succeed.
async fn fifty_calls(app: &TestApp, token: &str) {
    let calls = (0..50).map(|_| app.as_instance(token, Method::GET, "/hubs/general/me").send());
    for answer in futures::future::join_all(calls).await {
        assert_eq!(expect_json(answer.unwrap(), StatusCode::OK).await["sub"], "alice");
    }
}

/// Tether with refresh-ahead off, and the provider with two-second access tokens; an instance whose access token
/// has just expired at the provider while Tether still believes in it.
pub async fn expired_at_the_provider(backend: Backend) -> (TestApp, OAuthProvider, i64, String) {
    let provider = OAuthProvider::start_with_access_ttl(&[CALLBACK], false, 2);
    let app = TestApp::spawn_with(backend, |config| config.refresh.margin = std::time::Duration::ZERO).await;
    app.create_element(&provider_element(&provider)).await;
    let (id, token) = oauth_instance(&app, &provider).await;
    let first = app.as_instance(&token, Method::GET, "/hubs/general/me").send().await.unwrap();
    assert_eq!(expect_json(first, StatusCode::OK).await["sub"], "alice", "the provider's API answers through Tether");
    assert_eq!(provider.grants("refresh_token").await, 0);
    let access_token = stored_secrets(&app, id).await["oauth.user.token"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while provider.is_active(&access_token).await {
        assert!(std::time::Instant::now() < deadline, "the access token never expired at the provider");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    believe_expiry(&app, id, "2999-01-01T00:00:00Z").await;
    (app, provider, id, token)
}

async fn two_nodes_on_one_database_refresh_once(backend: Backend) {
    let (app, provider, id, token) = expired_at_the_provider(backend).await;
    // The test moves the token's expiry in the database behind the nodes' backs, which a node's call cache
    // would see only once its entry lapsed: the other node keeps none.
    let other = app
        .another_node(|config| {
            config.refresh.margin = std::time::Duration::from_secs(0);
            config.proxy.call_cache = std::time::Duration::from_secs_f64(0.0);
        })
        .await;
    let calls = (0..50).map(|call| {
        let base = if call % 2 == 0 { &app.base_url } else { &other.base_url };
        app.as_instance_at(base, &token, Method::GET, "/hubs/general/me").send()
    });
    for answer in futures::future::join_all(calls).await {
        assert_eq!(expect_json(answer.unwrap(), StatusCode::OK).await["sub"], "alice");
    }
    assert_eq!(provider.grants("refresh_token").await, 1, "one refresh across both nodes");

    // The grant survived: the other node refreshes it again with the rotated refresh token.
    believe_expiry(&app, id, "2020-01-01T00:00:00Z").await;
    let again = app.as_instance_at(&other.base_url, &token, Method::GET, "/hubs/general/me").send().await.unwrap();
    assert_eq!(expect_json(again, StatusCode::OK).await["sub"], "alice");
    assert_eq!(provider.grants("refresh_token").await, 2);
}

async fn fifty_concurrent_calls_on_an_expired_token_refresh_once(backend: Backend) {
    // The provider refuses the expired token while Tether still believes in it: the 401 path.
    let (app, provider, _, token) = expired_at_the_provider(backend).await;
    fifty_calls(&app, &token).await;
    assert_eq!(provider.grants("refresh_token").await, 1, "one refresh for fifty refused calls");
}

async fn an_expiring_token_is_refreshed_ahead_once(backend: Backend) {
    // Each round moves the expiry in the database behind Tether's back, which a call kept in the cache by the
    // round before would not see until it lapsed.
    let (app, provider) =
        setup_with(backend, false, |config| config.proxy.call_cache = std::time::Duration::from_secs_f64(0.0)).await;
    let (id, token) = oauth_instance(&app, &provider).await;
    assert_eq!(read_instance(&app, id).await["health"]["lastRefreshedAt"], Value::Null);
    for refreshes in 1..=2 {
        // Tether sees the expiry itself; the second round uses the rotated refresh token of the first.
        believe_expiry(&app, id, "2020-01-01T00:00:00Z").await;
        let expiring = read_instance(&app, id).await;
        assert_eq!(expiring["health"]["state"], "expiring");
        assert_eq!(expiring["health"]["accessTokenExpiresAt"], "2020-01-01T00:00:00Z");
        fifty_calls(&app, &token).await;
        assert_eq!(provider.grants("refresh_token").await, refreshes, "one refresh for fifty calls");
        let refreshed = read_instance(&app, id).await;
        assert_eq!(refreshed["health"]["state"], "valid", "{refreshed}");
        assert!(refreshed["health"]["lastRefreshedAt"].is_string());
    }
}

/// An access token living 20 seconds against a 60-second margin: the margin is capped at half its lifetime, so a
/// new token is not "expiring" at once, thirty concurrent calls on an expiring one refresh it once, and the calls
/// after them use the new token.
async fn a_token_shorter_than_the_margin_is_refreshed_once_not_on_every_call(backend: Backend) {
    let provider = OAuthProvider::start_with_short_tokens(&[CALLBACK], 20);
    let app = TestApp::spawn_with(backend, |config| {
        config.refresh.margin = std::time::Duration::from_secs(60);
        config.proxy.call_cache = std::time::Duration::from_secs_f64(0.0);
    })
    .await;
    app.create_element(&provider_element(&provider)).await;
    let (id, token) = oauth_instance(&app, &provider).await;
    assert_eq!(read_instance(&app, id).await["health"]["state"], "valid", "a new 20-second token is not expiring");

    // A second before its end (Tether's belief; the provider still honours it), the token is expiring.
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    believe_expiry(&app, id, &soon).await;
    assert_eq!(read_instance(&app, id).await["health"]["state"], "expiring");
    assert_eq!(provider.grants("refresh_token").await, 0);
    let calls = (0..30).map(|_| app.as_instance(&token, Method::GET, "/hubs/general/me").send());
    for answer in futures::future::join_all(calls).await {
        assert_eq!(expect_json(answer.unwrap(), StatusCode::OK).await["sub"], "alice");
    }
    assert_eq!(provider.grants("refresh_token").await, 1, "one refresh for thirty calls");
    for _ in 0..5 {
        let answer = app.as_instance(&token, Method::GET, "/hubs/general/me").send().await.unwrap();
        assert_eq!(expect_json(answer, StatusCode::OK).await["sub"], "alice");
    }
    assert_eq!(provider.grants("refresh_token").await, 1, "the new 20-second token is used, not refreshed again");
}

async fn a_revoked_grant_gets_invalid_access_token_until_reauthenticated(backend: Backend) {
    let (app, provider) = setup(backend, false).await;
    let (id, token) = oauth_instance(&app, &provider).await;
    let refresh_token = stored_secrets(&app, id).await["oauth.user.refresh_token"].as_str().unwrap().to_owned();
    provider.revoke(&refresh_token).await;
    believe_expiry(&app, id, "2020-01-01T00:00:00Z").await;

    let refused = app.as_instance(&token, Method::GET, "/hubs/general/me").send().await.unwrap();
    expect_error(refused, StatusCode::UNAUTHORIZED, "INVALID_ACCESS_TOKEN").await;
    assert_eq!(provider.grants("refresh_token").await, 1, "a refused grant is not retried");
    let instance = read_instance(&app, id).await;
    assert_eq!(instance["valid"], false);
    assert_eq!(instance["health"]["state"], "invalid");
    assert!(instance["health"]["lastError"].as_str().unwrap().starts_with("invalid_grant"), "{instance}");
    assert!(instance["health"]["lastErrorAt"].is_string());
    let still = app.as_instance(&token, Method::GET, "/hubs/general/me").send().await.unwrap();
    expect_error(still, StatusCode::UNAUTHORIZED, "INVALID_ACCESS_TOKEN").await;
    assert_eq!(provider.grants("refresh_token").await, 1, "an invalid instance is not refreshed again");

    let (code, _) = code_from(&app, &provider, "").await;
    let patch = json!({"providerData": {"code": code}});
    let restored = app.as_admin(Method::PATCH, &format!("/instances/{id}")).json(&patch).send().await.unwrap();
    let restored = expect_json(restored, StatusCode::OK).await;
    assert_eq!((restored["valid"].as_bool(), restored["token"].as_str()), (Some(true), Some(token.as_str())));
    assert_eq!(restored["health"]["state"], "valid");
    let works = app.as_instance(&token, Method::GET, "/hubs/general/me").send().await.unwrap();
    assert_eq!(expect_json(works, StatusCode::OK).await["sub"], "alice");
}

async fn try_it_out_takes_the_proxy_path(backend: Backend) {
    use app::instances::{InstanceId, TryRequest};

    let app = TestApp::spawn(backend).await;
    let upstream = echo_upstream().await;
    let element = json!({
        "key": "test-echo", "name": "Echo", "hub": "general", "auth": "apiKey",
        "api": {"baseUrl": format!("{upstream}/api"), "credentials": {"in": "query", "name": "key", "value": "{apiKey}"}},
        "parameters": [{"key": "apiKey", "label": "API key", "secret": true}],
        "objects": [{"name": "things", "vendorName": "Thing", "type": "object"}]
    });
    app.create_element(&element).await;
    let body = json!({"name": "Echo", "configuration": {"apiKey": "query-secret"}});
    let created = app.as_admin(Method::POST, "/elements/test-echo/instances").json(&body).send().await.unwrap();
    let id = InstanceId(expect_json(created, StatusCode::OK).await["id"].as_i64().unwrap());
    let session = crate::utils::open_session(&app.hub, &app.first.admin.email_address, &app.first.password).await;
    let request = TryRequest {
        method: "post".into(),
        path: "/things/7".into(),
        query: "?a=1".into(),
        headers: vec![("X-Trace".into(), "t-1".into())],
        body: r#"{"x":1}"#.into(),
    };
    let answer = app.hub.try_request(&session.caller, id, request.clone()).await.unwrap();
    assert_eq!(answer.status, 201);
    assert!(answer.headers.iter().any(|(name, value)| name == "x-upstream" && value == "echo"));
    assert!(answer.body.contains("\n  \""), "JSON comes back pretty-printed: {}", answer.body);
    let seen: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!((seen["method"].as_str(), seen["path"].as_str()), (Some("POST"), Some("/api/things/7")));
    assert_eq!(seen["query"], "a=1&key=query-secret", "the credential joins the caller's query");
    assert_eq!(seen["headers"]["x-trace"], "t-1");
    assert_eq!(seen["headers"]["content-type"], "application/json");
    assert_eq!(seen["body"], r#"{"x":1}"#);
    // The call is in the instance's call logs, as a proxied one would be.
    let logs = app.as_admin(Method::GET, &format!("/instances/{}/logs", id.0)).send().await.unwrap();
    let logs = expect_json(logs, StatusCode::OK).await;
    assert_eq!((logs[0]["method"].as_str(), logs[0]["path"].as_str()), (Some("POST"), Some("/things/7")), "{logs}");
    assert_eq!((logs[0]["status"].as_u64(), logs[0]["requestBytes"].as_u64()), (Some(201), Some(7)), "{logs}");

    for (change, needle) in [
        (TryRequest { method: "FETCH ME".into(), ..request.clone() }, "method:"),
        (TryRequest { path: "a/../../admin".into(), ..request.clone() }, "segments are not allowed"),
        (TryRequest { headers: vec![("bad header".into(), "x".into())], ..request.clone() }, "headers:"),
    ] {
        let refused = app.hub.try_request(&session.caller, id, change).await.unwrap_err();
        assert!(refused.to_string().contains(needle), "{refused}");
    }
    app.as_admin(Method::DELETE, &format!("/instances/{id}/enabled")).send().await.unwrap();
    let disabled = app.hub.try_request(&session.caller, id, request).await.unwrap_err();
    assert!(matches!(disabled, app::error::HubError::Forbidden(_)), "{disabled}");
}

/// Elements whose providers read the key from the request body: a form field appended to the caller's form, or a
/// member added to the caller's JSON object; a body of another kind is refused rather than sent without the key.
async fn credentials_go_in_a_form_or_json_body_when_the_element_says(backend: Backend) {
    let upstream = echo_upstream().await;
    let app = TestApp::spawn(backend).await;
    let mut tokens = Vec::new();
    for (key, placement) in [
        ("test-form", json!({"in": "form", "name": "api_key", "value": "{apiKey}"})),
        ("test-json", json!({"in": "json", "name": "key", "value": "{apiKey}"})),
    ] {
        app.create_element(&json!({
            "key": key, "name": key, "hub": "general", "auth": "apiKey",
            "api": {"baseUrl": format!("{upstream}/api"), "credentials": placement},
            "parameters": [{"key": "apiKey", "label": "API key", "secret": true}]
        }))
        .await;
        let body = json!({"name": key, "configuration": {"apiKey": "body-secret"}});
        let created = app.as_admin(Method::POST, &format!("/elements/{key}/instances")).json(&body).send().await;
        tokens.push(expect_json(created.unwrap(), StatusCode::OK).await["token"].as_str().unwrap().to_owned());
    }
    let send = |token: &str, content_type: &str, body: &str| {
        app.as_instance(token, Method::POST, "/hubs/general/messages")
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
    };
    let form = "application/x-www-form-urlencoded";
    let heard = expect_json(send(&tokens[0], form, "text=hi%21").await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(heard["body"], "text=hi%21&api_key=body-secret");
    let empty = app.as_instance(&tokens[0], Method::GET, "/hubs/general/messages").send().await.unwrap();
    assert_eq!(expect_json(empty, StatusCode::CREATED).await["body"], "api_key=body-secret");
    let refused = send(&tokens[0], "application/json", "{}").await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    let message = r#"{"message": {"text": "hi"}}"#;
    let heard = expect_json(send(&tokens[1], "application/json", message).await.unwrap(), StatusCode::CREATED).await;
    let sent: Value = serde_json::from_str(heard["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, json!({"message": {"text": "hi"}, "key": "body-secret"}));
    assert_eq!(heard["headers"]["content-type"], "application/json");
    let refused = send(&tokens[1], "application/json", "[1, 2]").await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}
