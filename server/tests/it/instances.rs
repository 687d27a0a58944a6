//! Authenticating element instances over the REST API, against a real OAuth provider on loopback.

use crate::oauth::{CALLBACK, authorization_url, provider_element, query_of, seed_query, setup};
use crate::on_both_backends;
use crate::processes::{OAUTH_CLIENT_SECRET, OAuthProvider};
use crate::utils::{Backend, TestApp, expect_error, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    the_seed_flow_creates_an_instance_with_every_seed_field,
    a_pkce_flow_needs_its_state_and_is_single_use,
    a_reused_code_or_a_different_callback_stores_nothing,
    basic_instances_take_validated_parameters,
    an_existing_refresh_token_provisions_an_instance,
    custom_parameter_instances_take_choices_and_defaults,
    bad_instance_requests_name_the_problem,
    a_wrong_client_secret_and_an_outage_read_differently,
    a_parameter_named_in_provider_data_is_kept,
    an_instance_without_a_refresh_token_says_it_cannot_be_renewed,
);

pub async fn code_from(app: &TestApp, provider: &OAuthProvider, extra_query: &str) -> (String, String) {
    let url = authorization_url(app, &format!("{}{extra_query}", seed_query())).await;
    let callback = provider.authorize(url.as_str(), "alice", true).await;
    let returned = query_of(&callback);
    (returned["code"].clone(), returned["state"].clone())
}

pub fn oauth_configuration() -> Value {
    json!({"oauth.api.key": "tether-post", "oauth.api.secret": OAUTH_CLIENT_SECRET, "oauth.callback.url": CALLBACK})
}

pub async fn instance_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM instances").fetch_one(app.hub.store().pool()).await.unwrap()
}

async fn the_seed_flow_creates_an_instance_with_every_seed_field(backend: Backend) {
    let (app, provider) = setup(backend, false).await;
    let (code, state) = code_from(&app, &provider, "").await;
    assert_eq!(state, "test-idp");
    let body = json!({
        "element": {"key": "test-idp"},
        "providerData": {"code": code},
        "configuration": oauth_configuration(),
        "tags": ["Docs"],
        "name": "API Instance",
        "retrieveObjectsAfterInstantiation": true
    });
    let created =
        expect_json(app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap(), StatusCode::OK).await;
    for field in [
        "id",
        "name",
        "createdDate",
        "token",
        "element",
        "elementId",
        "tags",
        "provisionInteractions",
        "valid",
        "disabled",
        "maxCacheSize",
        "cacheTimeToLive",
        "providerData",
        "configuration",
        "eventsEnabled",
        "traceLoggingEnabled",
        "cachingEnabled",
        "externalAuthentication",
        "user",
    ] {
        assert!(created.get(field).is_some(), "{field} missing from {created}");
    }
    assert_eq!(created["name"], "API Instance");
    assert_eq!(created["tags"], json!(["Docs"]));
    assert_eq!(created["valid"], true);
    assert_eq!(created["element"]["key"], "test-idp");
    assert_eq!(created["externalAuthentication"], "none");
    assert_eq!(created["user"]["id"], json!(app.first.admin.id.0));
    let token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43);
    let configuration = &created["configuration"];
    assert_eq!(configuration["oauth.api.key"], "tether-post");
    assert_eq!(configuration["oauth.callback.url"], CALLBACK);
    for secret in ["oauth.api.secret", "oauth.user.token", "oauth.user.refresh_token"] {
        assert_eq!(configuration[secret], "********", "{secret} is masked");
    }
    assert!(configuration["oauth.user.token.expires_at"].is_string());

    let id = created["id"].as_i64().unwrap();
    let read =
        expect_json(app.as_admin(Method::GET, &format!("/instances/{id}")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(read["token"], token.as_str());
    assert_eq!(read["configuration"], created["configuration"]);

    // The instance table holds no provider token or instance token in the clear.
    let stored: String =
        sqlx::query_scalar("SELECT configuration FROM instances").fetch_one(app.hub.store().pool()).await.unwrap();
    assert!(!stored.contains(OAUTH_CLIENT_SECRET) && !stored.contains(&token));

    let other =
        app.hub.create_organization("Other", "boss@other.example", &tether::store::audit::Actor::Cli).await.unwrap();
    let hidden = app.as_tenant(&other, Method::GET, &format!("/instances/{id}")).send().await.unwrap();
    expect_error(hidden, StatusCode::NOT_FOUND, "No instance").await;
}

async fn a_pkce_flow_needs_its_state_and_is_single_use(backend: Backend) {
    let (app, provider) = setup(backend, true).await;
    let (code, state) = code_from(&app, &provider, "&pkce=true").await;
    let body = |code: &str, state: &str| json!({"name": "PKCE", "providerData": {"code": code, "state": state}, "configuration": oauth_configuration()});
    let unknown = app
        .as_admin(Method::POST, "/elements/test-idp/instances")
        .json(&body(&code, "not-the-state"))
        .send()
        .await
        .unwrap();
    expect_error(unknown, StatusCode::BAD_REQUEST, "providerData.state:").await;
    let created =
        app.as_admin(Method::POST, "/elements/test-idp/instances").json(&body(&code, &state)).send().await.unwrap();
    expect_json(created, StatusCode::OK).await;
    let replayed =
        app.as_admin(Method::POST, "/elements/test-idp/instances").json(&body(&code, &state)).send().await.unwrap();
    expect_error(replayed, StatusCode::BAD_REQUEST, "providerData.state:").await;
    assert_eq!(instance_count(&app).await, 1);
}

async fn a_reused_code_or_a_different_callback_stores_nothing(backend: Backend) {
    let (app, provider) = setup(backend, false).await;
    let (code, _) = code_from(&app, &provider, "").await;
    let body = json!({"element": {"key": "test-idp"}, "name": "First", "providerData": {"code": code}, "configuration": oauth_configuration()});
    expect_json(app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap(), StatusCode::OK).await;
    let reused = app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap();
    let message = expect_error(reused, StatusCode::BAD_REQUEST, "refused").await;
    assert!(!message.is_empty());
    assert_eq!(instance_count(&app).await, 1);

    let (code, _) = code_from(&app, &provider, "").await;
    let mut configuration = oauth_configuration();
    configuration["oauth.callback.url"] = json!("http://127.0.0.1:9/elsewhere");
    let body = json!({"element": {"key": "test-idp"}, "name": "Second", "providerData": {"code": code}, "configuration": configuration});
    let mismatched = app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap();
    expect_error(mismatched, StatusCode::BAD_REQUEST, "configuration.oauth.callback.url: differs").await;
    assert_eq!(instance_count(&app).await, 1);

    assert_eq!(instance_count(&app).await, 1);
}

/// A basic-auth custom element, `test-basic`, with a patterned, a plain and a secret parameter.
pub fn basic_element() -> Value {
    json!({
        "key": "test-basic", "name": "Basic service", "hub": "general", "auth": "basic",
        "api": {"baseUrl": "https://{account}.example.com/api", "credentials": {"in": "basic"}},
        "parameters": [
            {"key": "account", "label": "Account", "pattern": "^[a-z]+$"},
            {"key": "username", "label": "User name"},
            {"key": "password", "label": "Password", "type": "password", "secret": true}
        ],
        "objects": [{"name": "contacts", "vendorName": "Contact", "type": "object"}]
    })
}

async fn basic_instances_take_validated_parameters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_element(&basic_element()).await;
    let body = |configuration: Value| json!({"name": "Basic", "configuration": configuration, "retrieveObjectsAfterInstantiation": true});
    let created = app
        .as_admin(Method::POST, "/elements/test-basic/instances")
        .json(&body(json!({"account": "acme", "username": "ada", "password": "hunter2-hunter2"})))
        .send()
        .await
        .unwrap();
    let created = expect_json(created, StatusCode::OK).await;
    assert_eq!(created["configuration"]["username"], "ada");
    assert_eq!(created["configuration"]["password"], "********");
    assert_eq!(created["objects"][0]["name"], "contacts");
    let missing = app
        .as_admin(Method::POST, "/elements/test-basic/instances")
        .json(&body(json!({"account": "acme", "username": "ada"})))
        .send()
        .await
        .unwrap();
    expect_error(missing, StatusCode::BAD_REQUEST, "configuration.password: required").await;
    let pattern = app
        .as_admin(Method::POST, "/elements/test-basic/instances")
        .json(&body(json!({"account": "ACME!", "username": "ada", "password": "p"})))
        .send()
        .await
        .unwrap();
    expect_error(pattern, StatusCode::BAD_REQUEST, "account: does not match").await;
    // A key the element does not read does not stand in for a required one.
    let unknown = app
        .as_admin(Method::POST, "/elements/test-basic/instances")
        .json(&body(json!({"colour": "red"})))
        .send()
        .await
        .unwrap();
    expect_error(unknown, StatusCode::BAD_REQUEST, "configuration.account: required").await;
    assert_eq!(instance_count(&app).await, 1);
}

async fn an_existing_refresh_token_provisions_an_instance(backend: Backend) {
    let (app, provider) = setup(backend, false).await;
    let (code, _) = code_from(&app, &provider, "").await;
    let tokens: Value = provider.exchange(&code, CALLBACK).await.json().await.unwrap();
    let mut configuration = oauth_configuration();
    configuration["oauth.user.refresh_token"] = tokens["refresh_token"].clone();
    let body = json!({"element": {"key": "test-idp"}, "name": "Imported", "externalAuthentication": "initial", "configuration": configuration});
    let created =
        expect_json(app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(created["externalAuthentication"], "initial");
    assert_eq!(created["configuration"]["oauth.user.refresh_token"], "********");

    let mut bogus = oauth_configuration();
    bogus["oauth.user.refresh_token"] = json!("not-a-refresh-token");
    let body = json!({"element": {"key": "test-idp"}, "name": "Bogus", "externalAuthentication": "initial", "configuration": bogus});
    let refused = app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap();
    let response: Value = refused.json().await.unwrap();
    assert!(response["providerMessage"].as_str().unwrap().contains("invalid_grant"), "{response}");
    assert_eq!(instance_count(&app).await, 1);
}

/// Every required field missing in turn, wrong types, unknown elements, malformed and oversized bodies: each is a
/// 4xx JSON error naming the problem, and nothing is stored.
async fn bad_instance_requests_name_the_problem(backend: Backend) {
    let provider = OAuthProvider::start(&[CALLBACK], false);
    let app = TestApp::spawn_with(backend, |config| config.limits.max_body_bytes = 16 * 1024).await;
    for element in [crate::oauth::provider_element(&provider), basic_element()] {
        app.create_element(&element).await;
    }
    let complete = json!({
        "element": {"key": "test-idp"},
        "name": "x",
        "providerData": {"code": "a-code"},
        "configuration": oauth_configuration()
    });
    let without = |pointer: &str| {
        let mut body = complete.clone();
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        body.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(field);
        body
    };
    let with = |pointer: &str, value: Value| {
        let mut body = complete.clone();
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        body.pointer_mut(parent).unwrap().as_object_mut().unwrap().insert(field.to_owned(), value);
        body
    };
    let basic =
        |configuration: Value| json!({"element": {"key": "test-basic"}, "name": "b", "configuration": configuration});
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (without("/element"), StatusCode::BAD_REQUEST, "element: required"),
        (without("/name"), StatusCode::BAD_REQUEST, "missing field `name`"),
        (without("/providerData"), StatusCode::BAD_REQUEST, "providerData.code: required"),
        (without("/configuration/oauth.api.key"), StatusCode::BAD_REQUEST, "configuration.oauth.api.key: required"),
        (
            without("/configuration/oauth.api.secret"),
            StatusCode::BAD_REQUEST,
            "configuration.oauth.api.secret: required",
        ),
        (
            without("/configuration/oauth.callback.url"),
            StatusCode::BAD_REQUEST,
            "configuration.oauth.callback.url: required",
        ),
        (
            basic(json!({"account": "acme", "password": "p"})),
            StatusCode::BAD_REQUEST,
            "configuration.username: required",
        ),
        (
            basic(json!({"account": "acme", "username": "u"})),
            StatusCode::BAD_REQUEST,
            "configuration.password: required",
        ),
        (with("/name", json!(5)), StatusCode::BAD_REQUEST, "name: invalid type"),
        (with("/name", json!("  ")), StatusCode::BAD_REQUEST, "name:"),
        (with("/tags", json!("docs")), StatusCode::BAD_REQUEST, "tags: invalid type"),
        (with("/tags", json!([""])), StatusCode::BAD_REQUEST, "tags[0]:"),
        (with("/providerData", json!("code")), StatusCode::BAD_REQUEST, "providerData: invalid type"),
        (with("/providerData/code", json!(7)), StatusCode::BAD_REQUEST, "providerData.code: invalid type"),
        (with("/configuration", json!([])), StatusCode::BAD_REQUEST, "configuration: invalid type"),
        (
            with("/configuration/oauth.api.key", json!({"a": 1})),
            StatusCode::BAD_REQUEST,
            "configuration.oauth.api.key: must be",
        ),
        (
            with("/configuration/oauth.user.token.expires_at", json!("2099-01-01T00:00:00Z")),
            StatusCode::BAD_REQUEST,
            "configuration.oauth.user.token.expires_at: is set from the provider's token answers",
        ),
        (with("/externalAuthentication", json!("later")), StatusCode::BAD_REQUEST, "externalAuthentication: must be"),
        (
            with("/retrieveObjectsAfterInstantiation", json!("yes")),
            StatusCode::BAD_REQUEST,
            "retrieveObjectsAfterInstantiation: invalid type",
        ),
        (
            with("/element", json!({"key": "no-such-element"})),
            StatusCode::NOT_FOUND,
            "No element with key or id no-such-element",
        ),
        // An element read back from an answer carries more fields; without `key` or `id` it names none.
        (with("/element", json!({"name": "test-idp"})), StatusCode::BAD_REQUEST, "element: required"),
        (json!([complete.clone()]), StatusCode::BAD_REQUEST, "body: expected a JSON object"),
        (with("/name", json!("x".repeat(20 * 1024))), StatusCode::PAYLOAD_TOO_LARGE, "body: larger than"),
    ];
    for (body, status, needle) in cases {
        let response = app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap();
        expect_error(response, status, needle).await;
    }
    for (content_type, body, status, needle) in [
        ("application/json", "{\"name\": ", StatusCode::BAD_REQUEST, "name: EOF while parsing"),
        ("application/json", "", StatusCode::BAD_REQUEST, "body: expected a JSON object"),
        ("text/plain", "name=x", StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json"),
    ] {
        let response = app
            .as_admin(Method::POST, "/instances")
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        expect_error(response, status, needle).await;
    }
    assert_eq!(instance_count(&app).await, 0);
}

async fn custom_parameter_instances_take_choices_and_defaults(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let element = json!({
        "key": "test-custom", "name": "Custom service", "hub": "general", "auth": "custom",
        "api": {"baseUrl": "https://{subdomain}.example.com/{region}", "credentials": {"in": "header", "name": "X-Api-Token", "value": "{token}"}},
        "parameters": [
            {"key": "subdomain", "label": "Subdomain", "pattern": "^[a-z0-9-]+$"},
            {"key": "token", "label": "API token", "type": "password", "secret": true},
            {"key": "region", "label": "Region", "type": "choice", "options": ["eu", "us"], "required": false, "default": "eu"},
            {"key": "sandbox", "label": "Sandbox", "type": "boolean", "required": false}
        ]
    });
    app.create_element(&element).await;
    let create = |configuration: Value| {
        app.as_admin(Method::POST, "/elements/test-custom/instances")
            .json(&json!({"name": "Custom", "configuration": configuration}))
            .send()
    };
    let created = create(json!({"subdomain": "acme", "token": "custom-token-value", "sandbox": true})).await.unwrap();
    let created = expect_json(created, StatusCode::OK).await;
    let configuration = &created["configuration"];
    assert_eq!(configuration["subdomain"], "acme");
    assert_eq!(configuration["token"], "********");
    assert_eq!(configuration["region"], "eu", "the default fills an absent optional parameter");
    assert_eq!(configuration["sandbox"], "true", "booleans are kept as text");
    let wrong_choice = create(json!({"subdomain": "acme", "token": "t", "region": "mars"})).await.unwrap();
    expect_error(wrong_choice, StatusCode::BAD_REQUEST, "region: must be one of eu, us").await;
    let missing = create(json!({"subdomain": "acme"})).await.unwrap();
    expect_error(missing, StatusCode::BAD_REQUEST, "configuration.token: required").await;
    assert_eq!(instance_count(&app).await, 1);
}

/// A provider that refuses the client and a provider that is down are told apart, each with the provider's own
/// words, and neither stores anything.
async fn a_wrong_client_secret_and_an_outage_read_differently(backend: Backend) {
    let (app, provider) = setup(backend, false).await;
    let body = |code: &str, secret: &str| {
        let mut configuration = oauth_configuration();
        configuration["oauth.api.secret"] = json!(secret);
        json!({"element": {"key": "test-idp"}, "name": "Refused", "providerData": {"code": code}, "configuration": configuration})
    };
    // The provider checks the secret only at its token endpoint: the authorization URL carries the client id alone.
    let wrong_query = seed_query().replace(OAUTH_CLIENT_SECRET, "not-the-secret");
    let url = authorization_url(&app, &wrong_query).await;
    let code = query_of(&provider.authorize(url.as_str(), "alice", true).await)["code"].clone();
    let wrong = app.as_admin(Method::POST, "/instances").json(&body(&code, "not-the-secret")).send().await.unwrap();
    let wrong = expect_json(wrong, StatusCode::BAD_REQUEST).await;
    assert!(wrong["message"].as_str().unwrap().contains("check the OAuth client id and secret"), "{wrong}");
    assert!(wrong["providerMessage"].as_str().unwrap().contains("invalid_client"), "{wrong}");

    provider.stage_outage(503, None).await;
    let (code, _) = code_from(&app, &provider, "").await;
    let down = app.as_admin(Method::POST, "/instances").json(&body(&code, OAUTH_CLIENT_SECRET)).send().await.unwrap();
    let down = expect_json(down, StatusCode::BAD_GATEWAY).await;
    assert!(down["message"].as_str().unwrap().contains("unavailable right now"), "{down}");
    assert!(down["providerMessage"].as_str().unwrap().contains("503"), "{down}");
    assert_ne!(wrong["message"], down["message"]);
    assert_eq!(instance_count(&app).await, 0);
}

/// QuickBooks' `realmId` comes back on the callback, and Cloud Elements clients send it in `providerData`: an
/// element with a parameter of that name takes it from there.
async fn a_parameter_named_in_provider_data_is_kept(backend: Backend) {
    let (app, provider) = setup(backend, false).await;
    let mut element = provider_element(&provider);
    element["key"] = json!("test-realm");
    element["parameters"] = json!([{"key": "realmId", "label": "Company id"}]);
    element["api"]["baseUrl"] = json!(format!("{}/v3/company/{{realmId}}", provider.issuer));
    app.create_element(&element).await;
    let url = app.as_admin(Method::GET, &format!("/elements/test-realm/oauth/url?{}", seed_query())).send().await;
    let url = expect_json(url.unwrap(), StatusCode::OK).await;
    let callback = provider.authorize(url["oauthUrl"].as_str().unwrap(), "alice", true).await;
    let body = json!({
        "element": {"key": "test-realm"},
        "providerData": {"code": query_of(&callback)["code"], "realmId": "4620816365", "dataSource": "QBO"},
        "configuration": oauth_configuration(),
        "name": "Books"
    });
    let created =
        expect_json(app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(created["configuration"]["realmId"], "4620816365");
    assert!(created["configuration"].get("dataSource").is_none(), "a field the element does not name is not kept");
}

/// Some providers send a refresh token only on the first consent, or only for an offline scope: an instance
/// created without one says Tether cannot renew it, so that its owner re-authenticates in time.
async fn an_instance_without_a_refresh_token_says_it_cannot_be_renewed(backend: Backend) {
    let (app, provider) = setup(backend, false).await;
    let mut renewable = Vec::new();
    for extra_query in ["", "&scope=openid"] {
        let (code, _) = code_from(&app, &provider, extra_query).await;
        let body = json!({"element": {"key": "test-idp"}, "providerData": {"code": code},
            "configuration": oauth_configuration(), "name": format!("scope{extra_query}")});
        let created = app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap();
        let created = expect_json(created, StatusCode::OK).await;
        assert!(created["health"]["accessTokenExpiresAt"].is_string());
        renewable.push(created["health"]["renewable"].clone());
    }
    assert_eq!(renewable, [json!(true), json!(false)], "offline_access brings a refresh token; openid alone none");
}
