//! Client-credentials elements (RFC 6749 §4.4) against `oidc-provider`'s client credentials grant on loopback: an
//! instance gets its first token at creation, the refresher and the proxy renew it before it expires, a 401 renews
//! it once, refused credentials make it `valid: false`, and an outage is retried.

use crate::instance_management::stored_secrets;
use crate::on_both_backends;
use crate::processes::{OAUTH_CLIENT_SECRET, OAuthProvider};
use crate::proxy::{believe_expiry, read_instance};
use crate::utils::{Backend, TestApp, eventually, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(a_client_credentials_instance_lives_its_whole_life);

fn machine_element(provider: &OAuthProvider) -> Value {
    json!({
        "key": "test-machine", "name": "Machine API", "hub": "general", "auth": "clientCredentials",
        "oauth": {"tokenUrl": format!("{}/token", provider.issuer), "scopes": ["api"]},
        "api": {"baseUrl": format!("{}/test/api", provider.issuer), "credentials": {"in": "bearer"}}
    })
}

fn body(secret: &str) -> Value {
    json!({
        "element": {"key": "test-machine"}, "name": "Machine",
        "configuration": {"oauth.api.key": "tether-machine", "oauth.api.secret": secret}
    })
}

/// A call through the instance to the provider's API: its status and answer.
async fn call(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let answer = app.as_instance(token, Method::GET, "/hubs/general/me").send().await.unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

fn in_a_second() -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Lets the instance's access token run out at the provider while Tether still believes in it.
async fn run_out_behind_tethers_back(app: &TestApp, provider: &OAuthProvider, id: i64) {
    believe_expiry(app, id, "2999-01-01T00:00:00Z").await;
    let stale = stored_secrets(app, id).await["oauth.user.token"].as_str().unwrap().to_owned();
    let direct = format!("{}/test/api/me", provider.issuer);
    eventually(20, "the provider's token to run out", || async {
        let answer = reqwest::Client::new().get(&direct).bearer_auth(&stale).send().await.unwrap();
        (answer.status() == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
}

async fn a_client_credentials_instance_lives_its_whole_life(backend: Backend) {
    let provider = OAuthProvider::start_with_client_credentials_ttl(2);
    let app = TestApp::spawn_with(backend, |config| {
        config.proxy.call_cache = std::time::Duration::from_secs_f64(0.0);
        config.refresh.attempts = 2;
        config.refresh.retry = std::time::Duration::ZERO;
    })
    .await;
    app.create_element(&machine_element(&provider)).await;

    // Wrong credentials: a 400 with the provider's word, and nothing stored.
    let refused = app.as_admin(Method::POST, "/instances").json(&body("not-the-secret")).send().await.unwrap();
    let refused = expect_json(refused, StatusCode::BAD_REQUEST).await;
    assert!(refused["message"].as_str().unwrap().contains("OAuth client id and secret"), "{refused}");
    assert!(refused["providerMessage"].as_str().unwrap_or_default().contains("invalid_client"), "{refused}");
    let listed = expect_json(app.as_admin(Method::GET, "/instances").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(listed, json!([]));

    // Created with a first token for the default scope; the secrets are masked.
    let created = app.as_admin(Method::POST, "/instances").json(&body(OAUTH_CLIENT_SECRET)).send().await.unwrap();
    let created = expect_json(created, StatusCode::OK).await;
    let (id, token) = (created["id"].as_i64().unwrap(), created["token"].as_str().unwrap().to_owned());
    assert_eq!(created["configuration"]["oauth.api.secret"], "********");
    assert_eq!(created["configuration"]["oauth.user.token"], "********");
    assert_eq!(created["configuration"]["oauth.scope"], "api");
    assert!(created["configuration"]["oauth.user.token.expires_at"].is_string());
    assert_eq!(provider.grants("client_credentials").await, 2, "the refused request and the granted one");

    // Renewed by the refresher before it expires. (The tokens live two seconds, so a step may also renew one on its
    // own; each count below is taken just before the step it measures. This step comes before any call, because a
    // call may renew the token ahead, and the refresher leaves a token renewed ahead a minute ago alone.)
    believe_expiry(&app, id, &in_a_second()).await;
    let before = provider.grants("client_credentials").await;
    app.refresh_due_now().await;
    assert_eq!(provider.grants("client_credentials").await, before + 1);
    let renewed = read_instance(&app, id).await;
    assert!(renewed["health"]["lastRefreshedAt"].is_string(), "{renewed}");
    assert_eq!(renewed["health"]["failedRefreshes"], 0);
    assert_eq!(call(&app, &token).await, (StatusCode::OK, json!({"client": "tether-machine", "scope": "api"})));

    // Renewed on a 401: the provider's token ran out while Tether believed in it.
    run_out_behind_tethers_back(&app, &provider, id).await;
    let before = provider.grants("client_credentials").await;
    assert_eq!(call(&app, &token).await.0, StatusCode::OK);
    assert_eq!(provider.grants("client_credentials").await, before + 1, "one renewal for the refused call");

    // An outage when the next renewal is due: the call fails, the failure is counted for a retry, and the
    // instance stays valid; once the provider is back, the next call renews it.
    run_out_behind_tethers_back(&app, &provider, id).await;
    provider.stage_outage(503, None).await;
    assert_eq!(call(&app, &token).await.0, StatusCode::BAD_GATEWAY);
    let failing = read_instance(&app, id).await;
    assert_eq!((failing["valid"].clone(), failing["health"]["state"].clone()), (json!(true), json!("refresh_failing")));
    provider.end_outage().await;
    assert_eq!(call(&app, &token).await.0, StatusCode::OK);
    let healed = read_instance(&app, id).await;
    assert_eq!((healed["valid"].clone(), healed["health"]["failedRefreshes"].clone()), (json!(true), json!(0)));

    // New client credentials get a token at once; refused ones change nothing.
    let path = format!("/instances/{id}");
    let wrong = json!({"configuration": {"oauth.api.secret": "not-the-secret"}});
    let refused = app.as_admin(Method::PATCH, &path).json(&wrong).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let before = provider.grants("client_credentials").await;
    let again = json!({"configuration": {"oauth.api.secret": OAUTH_CLIENT_SECRET, "oauth.scope": "api"}});
    let changed = app.as_admin(Method::PATCH, &path).json(&again).send().await.unwrap();
    assert_eq!(expect_json(changed, StatusCode::OK).await["configuration"]["oauth.scope"], "api");
    assert_eq!(provider.grants("client_credentials").await, before + 1);
    assert_eq!(call(&app, &token).await.0, StatusCode::OK);

    // Credentials the provider no longer accepts: the instance is marked invalid, and calls say so.
    provider.stage_refusal(401, "invalid_client").await;
    believe_expiry(&app, id, "2020-01-01T00:00:00Z").await;
    let (status, answer) = call(&app, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(read_instance(&app, id).await["valid"], false);
}
