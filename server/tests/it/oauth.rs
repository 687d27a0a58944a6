//! The authorization URL step of the OAuth 2.0 flow, against a real provider (`oidc-provider`) on loopback.

use crate::on_both_backends;
use crate::processes::{OAUTH_CLIENT_SECRET, OAuthProvider};
use crate::utils::{Backend, TestApp, expect_error, expect_json};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use std::collections::HashMap;

on_both_backends!(
    the_seed_flow_url_leads_to_a_code_the_provider_exchanges,
    pkce_on_request_adds_a_challenge_the_provider_enforces,
    bad_authorization_requests_name_the_problem,
);

pub const CALLBACK: &str = "http://127.0.0.1:9/callback";

/// A custom element for the provider, as an organization would define it.
pub fn provider_element(provider: &OAuthProvider) -> Value {
    json!({
        "key": "test-idp",
        "name": "Test identity provider",
        "hub": "general",
        "auth": "oauth2",
        "oauth": {
            "authorizationUrl": format!("{}/auth", provider.issuer),
            "tokenUrl": format!("{}/token", provider.issuer),
            "revokeUrl": format!("{}/token/revocation", provider.issuer),
            "scopes": ["openid", "offline_access"],
            "authorizationParams": {"prompt": "consent"}
        },
        "api": {"baseUrl": provider.issuer, "credentials": {"in": "bearer"}}
    })
}

pub async fn setup(backend: Backend, pkce_required: bool) -> (TestApp, OAuthProvider) {
    setup_with(backend, pkce_required, |_| {}).await
}

/// [`setup`] with Tether configured by `adjust`.
pub async fn setup_with(
    backend: Backend,
    pkce_required: bool,
    adjust: impl FnOnce(&mut tether::config::Config),
) -> (TestApp, OAuthProvider) {
    let provider = OAuthProvider::start(&[CALLBACK], pkce_required);
    let app = TestApp::spawn_with(backend, adjust).await;
    app.create_element(&provider_element(&provider)).await;
    (app, provider)
}

pub fn query_of(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

pub async fn authorization_url(app: &TestApp, query: &str) -> Url {
    let response = app.as_admin(Method::GET, &format!("/elements/test-idp/oauth/url?{query}")).send().await.unwrap();
    let body = expect_json(response, StatusCode::OK).await;
    assert_eq!(body["element"], "test-idp");
    Url::parse(body["oauthUrl"].as_str().unwrap()).unwrap()
}

pub fn seed_query() -> String {
    format!("apiKey=tether-post&apiSecret={OAUTH_CLIENT_SECRET}&callbackUrl={}", urlencode(CALLBACK))
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn the_seed_flow_url_leads_to_a_code_the_provider_exchanges(backend: Backend) {
    let (app, provider) = setup(backend, false).await;
    let url = authorization_url(&app, &seed_query()).await;
    assert!(url.as_str().starts_with(&format!("{}/auth?", provider.issuer)));
    let query = query_of(&url);
    assert_eq!(query["client_id"], "tether-post");
    assert_eq!(query["redirect_uri"], CALLBACK);
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["scope"], "openid offline_access");
    assert_eq!(query["state"], "test-idp", "the element key is the default state");
    assert_eq!(query["prompt"], "consent");
    assert!(!query.contains_key("code_challenge"));

    let callback = provider.authorize(url.as_str(), "alice", true).await;
    let returned = query_of(&callback);
    assert!(callback.as_str().starts_with(CALLBACK), "{callback}");
    assert_eq!(returned["state"], "test-idp");
    assert_eq!(returned["iss"], provider.issuer, "RFC 9207 issuer in the response");

    // The code is real: the provider exchanges it for tokens.
    let tokens: Value = provider.exchange(&returned["code"], CALLBACK).await.json().await.unwrap();
    assert!(tokens["access_token"].is_string() && tokens["refresh_token"].is_string(), "{tokens}");

    // The caller's state and scope are passed through.
    let custom = authorization_url(&app, &format!("{}&state=my-state-42&scope=openid", seed_query())).await;
    assert_eq!(query_of(&custom)["state"], "my-state-42");
    assert_eq!(query_of(&custom)["scope"], "openid");
}

async fn pkce_on_request_adds_a_challenge_the_provider_enforces(backend: Backend) {
    let (app, provider) = setup(backend, true).await;

    // Without pkce=true the seed flow sends no challenge, and a provider that insists on PKCE refuses it.
    let plain = authorization_url(&app, &seed_query()).await;
    let refused = provider.authorize(plain.as_str(), "alice", true).await;
    assert_eq!(query_of(&refused)["error"], "invalid_request", "{refused}");

    let url = authorization_url(&app, &format!("{}&pkce=true", seed_query())).await;
    let query = query_of(&url);
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"].len(), 43);
    assert_ne!(query["state"], "test-idp", "a PKCE flow gets a state of its own");
    let callback = provider.authorize(url.as_str(), "alice", true).await;
    let returned = query_of(&callback);
    assert!(returned.contains_key("code"), "{callback}");
    assert_eq!(returned["state"], query["state"]);

    // The provider will not exchange that code without the verifier, which only Tether holds, encrypted.
    let without_verifier = provider.exchange(&returned["code"], CALLBACK).await;
    assert_eq!(without_verifier.status(), StatusCode::BAD_REQUEST);
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oauth_flows WHERE pkce = 1")
        .fetch_one(app.hub.store().pool())
        .await
        .unwrap();
    assert_eq!(pending, 1);

    let chosen = authorization_url(&app, &format!("{}&pkce=true&state=caller-state", seed_query())).await;
    assert_eq!(query_of(&chosen)["state"], "caller-state");
}

async fn bad_authorization_requests_name_the_problem(backend: Backend) {
    let (app, _provider) = setup(backend, false).await;
    let callback = urlencode(CALLBACK);
    for (path, status, needle) in [
        (
            format!("/elements/test-idp/oauth/url?apiSecret=s&callbackUrl={callback}"),
            StatusCode::BAD_REQUEST,
            "apiKey: required",
        ),
        (
            format!("/elements/test-idp/oauth/url?apiKey=k&callbackUrl={callback}"),
            StatusCode::BAD_REQUEST,
            "apiSecret: required",
        ),
        (
            "/elements/test-idp/oauth/url?apiKey=k&apiSecret=s".to_owned(),
            StatusCode::BAD_REQUEST,
            "callbackUrl: required",
        ),
        (
            "/elements/test-idp/oauth/url?apiKey=k&apiSecret=s&callbackUrl=not-a-url".to_owned(),
            StatusCode::BAD_REQUEST,
            "callbackUrl:",
        ),
        (
            format!("/elements/test-idp/oauth/url?{}&pkce=maybe", seed_query()),
            StatusCode::BAD_REQUEST,
            "pkce: must be true or false",
        ),
        (
            format!("/elements/test-idp/oauth/url?{}&colour=red", seed_query()),
            StatusCode::BAD_REQUEST,
            "colour: is not a parameter",
        ),
        (format!("/elements/no-such/oauth/url?{}", seed_query()), StatusCode::NOT_FOUND, "No element"),
        (
            format!("/elements/test-idp/oauth/url?{}&siteAddress=x", seed_query()),
            StatusCode::BAD_REQUEST,
            "siteAddress:",
        ),
    ] {
        let response = app.as_admin(Method::GET, &path).send().await.unwrap();
        expect_error(response, status, needle).await;
    }

    // A basic-auth element has no authorization URL.
    let basic = app.as_admin(Method::GET, "/elements?authType=basic&pageSize=1").send().await.unwrap();
    let basic_key = expect_json(basic, StatusCode::OK).await[0]["key"].as_str().unwrap().to_owned();
    let response =
        app.as_admin(Method::GET, &format!("/elements/{basic_key}/oauth/url?{}", seed_query())).send().await.unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, "does not authenticate with OAuth 2.0").await;

    // Built-in templates take element parameters and siteAddress.
    let zendesk = app
        .as_admin(Method::GET, &format!("/elements/zendesk/oauth/url?{}&siteAddress=acme", seed_query()))
        .send()
        .await
        .unwrap();
    let zendesk = expect_json(zendesk, StatusCode::OK).await;
    assert!(zendesk["oauthUrl"].as_str().unwrap().starts_with("https://acme.zendesk.com/oauth/authorizations/new?"));
    let bad_site = app
        .as_admin(Method::GET, &format!("/elements/zendesk/oauth/url?{}&subdomain=Not%20Valid", seed_query()))
        .send()
        .await
        .unwrap();
    expect_error(bad_site, StatusCode::BAD_REQUEST, "subdomain: does not match").await;
    let salesforce =
        app.as_admin(Method::GET, &format!("/elements/sfdc/oauth/url?{}", seed_query())).send().await.unwrap();
    let salesforce = expect_json(salesforce, StatusCode::OK).await;
    assert!(
        salesforce["oauthUrl"].as_str().unwrap().starts_with("https://login.salesforce.com/services/oauth2/authorize?")
    );
    let missing =
        app.as_admin(Method::GET, &format!("/elements/zendesk/oauth/url?{}", seed_query())).send().await.unwrap();
    expect_error(missing, StatusCode::BAD_REQUEST, "oauth.authorizationUrl: needs the parameter(s) subdomain").await;

    // Another organization cannot use this organization's element.
    let other =
        app.hub.create_organization("Other", "boss@other.example", &tether::store::audit::Actor::Cli).await.unwrap();
    let hidden = app
        .as_tenant(&other, Method::GET, &format!("/elements/test-idp/oauth/url?{}", seed_query()))
        .send()
        .await
        .unwrap();
    expect_error(hidden, StatusCode::NOT_FOUND, "No element").await;
}
