//! OAuth 1.0a elements against a real OAuth 1.0a provider on loopback (PyPI `oauthlib`'s server endpoints):
//! Cloud Elements' flow (a request token from `oauth/token`, `oauth/url` with `requestToken`, the callback's
//! `oauth_token` and `oauth_verifier` in `providerData`), the flow where `oauth/url` gets the request token itself,
//! a wrong verifier, and proxied calls the provider checks the signature of (query and form fields included).

use crate::instance_management::stored_secrets;
use crate::on_both_backends;
use crate::processes::{OAUTH1_CONSUMER_KEY, OAUTH1_CONSUMER_SECRET, OAuth1Provider};
use crate::utils::{Backend, TestApp, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

on_both_backends!(an_oauth1_instance_is_made_and_its_calls_are_signed);

const CALLBACK: &str = "https://app.example/oauth1/callback";

fn element(provider: &OAuth1Provider) -> Value {
    json!({
        "key": "test-oauth1", "name": "Signed API", "hub": "general", "auth": "oauth1",
        "oauth": {
            "requestTokenUrl": format!("{}/oauth/request_token", provider.url),
            "authorizationUrl": format!("{}/oauth/authorize", provider.url),
            "tokenUrl": format!("{}/oauth/access_token", provider.url)
        },
        "api": {"baseUrl": format!("{}/api", provider.url), "credentials": {"in": "oauth1"}}
    })
}

fn client_query(secret: &str) -> String {
    let encode = |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    format!("apiKey={OAUTH1_CONSUMER_KEY}&apiSecret={}&callbackUrl={}", encode(secret), encode(CALLBACK))
}

fn callback_values(callback: &reqwest::Url) -> BTreeMap<String, String> {
    assert!(callback.as_str().starts_with(CALLBACK), "{callback}");
    callback.query_pairs().into_owned().collect()
}

fn instance_body(provider_data: Value) -> Value {
    json!({
        "element": {"key": "test-oauth1"}, "name": "Signed", "providerData": provider_data,
        "configuration": {
            "oauth.api.key": OAUTH1_CONSUMER_KEY, "oauth.api.secret": OAUTH1_CONSUMER_SECRET,
            "oauth.callback.url": CALLBACK
        }
    })
}

async fn an_oauth1_instance_is_made_and_its_calls_are_signed(backend: Backend) {
    let provider = OAuth1Provider::start();
    let app = TestApp::spawn(backend).await;
    app.create_element(&element(&provider)).await;

    // A wrong consumer secret: the provider refuses the request token, with its word.
    let path = format!("/elements/test-oauth1/oauth/token?{}", client_query("not-the-secret"));
    let refused = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(refused["providerMessage"].is_string(), "{refused}");

    // Cloud Elements' flow: the request token, then the authorization URL for it.
    let path = format!("/elements/test-oauth1/oauth/token?{}", client_query(OAUTH1_CONSUMER_SECRET));
    let request_token = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    let (token, secret) = (request_token["token"].as_str().unwrap(), request_token["secret"].as_str().unwrap());
    let path = format!("/elements/test-oauth1/oauth/url?{}&requestToken={token}", client_query(OAUTH1_CONSUMER_SECRET));
    let url = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    let oauth_url = url["oauthUrl"].as_str().unwrap();
    assert!(oauth_url.starts_with(&format!("{}/oauth/authorize?oauth_token={token}", provider.url)), "{url}");
    let callback = callback_values(&provider.authorize(oauth_url, true).await);
    assert_eq!(callback["oauth_token"], token);

    // A wrong verifier is a 400 naming the provider's answer, and makes nothing.
    let wrong =
        instance_body(json!({"oauth_token": token, "oauth_verifier": "wrongVerifier0123456789", "secret": secret}));
    let refused = app.as_admin(Method::POST, "/instances").json(&wrong).send().await.unwrap();
    let refused = expect_json(refused, StatusCode::BAD_REQUEST).await;
    assert!(refused["providerMessage"].as_str().is_some_and(|message| !message.is_empty()), "{refused}");
    let listed = expect_json(app.as_admin(Method::GET, "/instances").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(listed, json!([]));

    // The right one, with the secret as Cloud Elements' clients send it: the access token and its secret are kept
    // sealed and masked.
    let right = instance_body(json!({
        "oauth_token": token, "oauth_verifier": callback["oauth_verifier"], "secret": secret
    }));
    let created =
        expect_json(app.as_admin(Method::POST, "/instances").json(&right).send().await.unwrap(), StatusCode::OK).await;
    let (id, instance_token) = (created["id"].as_i64().unwrap(), created["token"].as_str().unwrap().to_owned());
    assert_eq!(created["configuration"]["oauth.user.token"], "********", "{created}");
    assert_eq!(created["configuration"]["oauth.user.token.secret"], "********", "{created}");
    assert_eq!(created["element"]["typeOauth"], true);
    let stored = stored_secrets(&app, id).await;
    let access_token = stored["oauth.user.token"].as_str().unwrap().to_owned();
    assert!(stored["oauth.user.token.secret"].as_str().is_some_and(|secret| !secret.is_empty()), "{stored}");

    // Proxied calls are signed: the provider checks each signature, with the query and a form body in it.
    let answer = app.as_instance(&instance_token, Method::GET, "/hubs/general/me?page=2&q=a%20b").send().await.unwrap();
    let seen = expect_json(answer, StatusCode::OK).await;
    assert_eq!(seen["token"], access_token.as_str());
    assert_eq!(seen["query"], json!({"page": "2", "q": "a b"}));
    let answer = app
        .as_instance(&instance_token, Method::POST, "/hubs/general/notes?draft=true")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("title=Hello%20there&tags=a%2Cb")
        .send()
        .await
        .unwrap();
    let seen = expect_json(answer, StatusCode::OK).await;
    assert_eq!(seen["form"], json!({"title": "Hello there", "tags": "a,b"}));
    let answer = app
        .as_instance(&instance_token, Method::PUT, "/hubs/general/notes/1")
        .json(&json!({"title": "JSON bodies are not part of the signature"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(answer, StatusCode::OK).await["method"], "PUT");

    // `oauth/url` without a request token gets one itself and remembers its secret: the instance is made from
    // the callback's values alone.
    let path = format!("/elements/test-oauth1/oauth/url?{}", client_query(OAUTH1_CONSUMER_SECRET));
    let url = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    let callback = callback_values(&provider.authorize(url["oauthUrl"].as_str().unwrap(), true).await);
    let from_callback =
        instance_body(json!({"oauth_token": callback["oauth_token"], "oauth_verifier": callback["oauth_verifier"]}));
    let second = app.as_admin(Method::POST, "/instances").json(&from_callback).send().await.unwrap();
    let second = expect_json(second, StatusCode::OK).await;
    assert_ne!(second["id"], created["id"]);

    // Used once: the same request token cannot make another instance without its secret.
    let again = app.as_admin(Method::POST, "/instances").json(&from_callback).send().await.unwrap();
    let again = expect_json(again, StatusCode::BAD_REQUEST).await;
    assert!(again["message"].as_str().unwrap().contains("providerData.secret"), "{again}");
}
