//! OAuth 1.0a elements against a real OAuth 1.0a provider on loopback (PyPI `oauthlib`'s server endpoints):
//! Cloud Elements' flow (a request token from `oauth/token`, `oauth/url` with `requestToken`, the callback's
//! `oauth_token` and `oauth_verifier` in `providerData`), the flow where `oauth/url` gets the request token itself,
//! a wrong verifier, proxied calls the provider checks the signature of (query and form fields included), the
//! hosted connect page, and re-authentication with a new verifier.

use crate::instance_management::stored_secrets;
use crate::on_both_backends;
use crate::processes::{OAUTH1_CONSUMER_KEY, OAUTH1_CONSUMER_SECRET, OAuth1Provider};
use crate::utils::{Backend, TestApp, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

on_both_backends!(
    an_oauth1_instance_is_made_and_its_calls_are_signed,
    an_end_user_connects_an_oauth1_element_and_an_instance_reauthenticates,
);

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

const DONE_URL: &str = "http://localhost:4000/connected";

/// A browser with JavaScript off: the answer's `Location`, which must be a 303.
async fn see_other(app: &TestApp, url: &str) -> String {
    let answer = app.http.get(url).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{url}: {}", answer.text().await.unwrap_or_default());
    answer.headers()["location"].to_str().unwrap().to_owned()
}

async fn an_end_user_connects_an_oauth1_element_and_an_instance_reauthenticates(backend: Backend) {
    let provider = OAuth1Provider::start();
    let app = TestApp::spawn(backend).await;
    app.create_element(&element(&provider)).await;
    let saved = json!({"apiKey": OAUTH1_CONSUMER_KEY, "apiSecret": OAUTH1_CONSUMER_SECRET,
        "callbackUrl": format!("{}/oauth/callback", app.base_url)});
    let put = app.as_admin(Method::PUT, "/elements/test-oauth1/oauth/app").json(&saved).send().await.unwrap();
    expect_json(put, StatusCode::OK).await;
    let urls = json!({"urls": [DONE_URL]});
    expect_json(app.as_admin(Method::PUT, "/connect/redirect-urls").json(&urls).send().await.unwrap(), StatusCode::OK)
        .await;
    let session = json!({"endUser": {"id": "end-user-7"}, "elements": ["test-oauth1"], "redirectUrl": DONE_URL});
    let new_session = || async {
        let created = app.as_admin(Method::POST, "/connect/sessions").json(&session).send().await.unwrap();
        let created = expect_json(created, StatusCode::CREATED).await;
        (created["id"].as_str().unwrap().to_owned(), created["token"].as_str().unwrap().to_owned())
    };

    // Declined at the provider: back on the session's page, nothing made.
    let (_, token) = new_session().await;
    let at_provider = see_other(&app, &format!("{}/connect/{token}/test-oauth1", app.base_url)).await;
    assert!(at_provider.starts_with(&format!("{}/oauth/authorize?oauth_token=", provider.url)), "{at_provider}");
    let callback = provider.authorize(&at_provider, false).await;
    let back = see_other(&app, callback.as_str()).await;
    assert!(back.starts_with(&format!("/connect/{token}")), "{back}");
    let listed = expect_json(app.as_admin(Method::GET, "/instances").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(listed, json!([]));

    // Approved: the instance is made for the end user, and the browser goes to the team's page.
    let (id, token) = new_session().await;
    let at_provider = see_other(&app, &format!("{}/connect/{token}/test-oauth1", app.base_url)).await;
    let callback = provider.authorize(&at_provider, true).await;
    assert!(callback.as_str().starts_with(&format!("{}/oauth/callback?state=connect-", app.base_url)), "{callback}");
    let done = see_other(&app, callback.as_str()).await;
    assert!(done.starts_with(&format!("{DONE_URL}?status=connected&instanceId=")), "{done}");
    let state = app.as_admin(Method::GET, &format!("/connect/sessions/{id}")).send().await.unwrap();
    let instance_id = expect_json(state, StatusCode::OK).await["instanceId"].as_i64().unwrap();
    let instance = expect_json(
        app.as_admin(Method::GET, &format!("/instances/{instance_id}")).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(instance["endUser"]["id"], "end-user-7");
    let instance_token = instance["token"].as_str().unwrap().to_owned();
    let me = app.as_instance(&instance_token, Method::GET, "/hubs/general/me").send().await.unwrap();
    let first_access_token = expect_json(me, StatusCode::OK).await["token"].clone();

    // Re-authenticated through the API with a new verifier: same id and token, a new access token.
    let path = format!("/elements/test-oauth1/oauth/url?{}", client_query(OAUTH1_CONSUMER_SECRET));
    let url = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    let callback = callback_values(&provider.authorize(url["oauthUrl"].as_str().unwrap(), true).await);
    let patch = json!({"providerData": {"oauth_token": callback["oauth_token"], "oauth_verifier": callback["oauth_verifier"]},
        "configuration": {"oauth.callback.url": CALLBACK}});
    let patched = app.as_admin(Method::PATCH, &format!("/instances/{instance_id}")).json(&patch).send().await.unwrap();
    let patched = expect_json(patched, StatusCode::OK).await;
    assert_eq!((patched["id"].as_i64(), patched["token"].as_str()), (Some(instance_id), Some(instance_token.as_str())));
    let me = app.as_instance(&instance_token, Method::GET, "/hubs/general/me").send().await.unwrap();
    let second_access_token = expect_json(me, StatusCode::OK).await["token"].clone();
    assert_ne!(first_access_token, second_access_token);
}
