//! The 25 providers teams connect most, each through its built-in element against its emulation
//! (`end2end/provider-emulator/server.py`, which plays each provider's token endpoint and one API call with the
//! habits its documentation describes). The element is the catalog's own definition with the provider's address
//! swapped for the emulator's, and each one lives the same life: connected with a code (and PKCE where the element
//! uses it), a call through the proxy, its access token renewed after the provider refuses it and again before it
//! expires (the kept refresh token, or the rotated one, must still work), the user revoking the app, and the
//! grant revoked at the provider when the instance is deleted.

use crate::instance_management::stored_secrets;
use crate::processes::ScriptServer;
use crate::proxy::{believe_expiry, read_instance};
use crate::utils::{Backend, TestApp, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

crate::on_both_backends!(each_provider_lives_its_whole_life_against_its_emulation);

pub const PROVIDERS: [&str; 25] = [
    "sfdc",
    "hubspot",
    "google",
    "microsoft",
    "slack",
    "github",
    "box",
    "dropbox",
    "quickbooks",
    "xero",
    "zoom",
    "atlassian",
    "notion",
    "shopify",
    "zendesk",
    "pipedrive",
    "intercom",
    "asana",
    "linear",
    "docusign",
    "stripe",
    "mailchimp",
    "keap",
    "zoho",
    "strava",
];

const CALLBACK: &str = "https://app.example/oauth/callback";

impl ScriptServer {
    /// The provider emulator; its client is `emulated-client` with the secret `emulated-secret`.
    pub fn provider_emulator() -> ScriptServer {
        Self::start_script("provider-emulator/server.py", "PROVIDER_EMULATOR_READY", "python3 alone")
    }
}

/// A URL template with the provider's address replaced by the emulator's: `https://{subdomain}.zendesk.com/oauth`
/// becomes `http://127.0.0.1:PORT/zendesk/oauth`. A template that starts with a value the token answer gives
/// (`{instance_url}/services`) is left as it is: the emulator answers its own address there.
pub(crate) fn at_emulator(template: &Value, base: &str) -> Value {
    let one = |text: &str| -> String {
        match text.strip_prefix("https://") {
            Some(rest) => format!("{base}{}", rest.find('/').map(|slash| &rest[slash..]).unwrap_or("")),
            None => text.to_owned(),
        }
    };
    match template {
        Value::String(text) => json!(one(text)),
        Value::Array(alternatives) => {
            Value::Array(alternatives.iter().map(|text| json!(one(text.as_str().unwrap()))).collect())
        }
        other => other.clone(),
    }
}

/// The built-in element `key`, made a custom element `emu-{key}` that calls the emulator.
async fn emulated_element(app: &TestApp, key: &str, emulator: &str) -> Value {
    let element = app.as_admin(Method::GET, &format!("/elements/{key}")).send().await.unwrap();
    let mut definition = expect_json(element, StatusCode::OK).await["definition"].clone();
    let base = format!("{emulator}/{key}");
    definition["key"] = json!(format!("emu-{key}"));
    definition["aliases"] = json!([]);
    for field in ["authorizationUrl", "tokenUrl", "refreshUrl", "revokeUrl"] {
        if let Some(url) = definition["oauth"].get(field) {
            definition["oauth"][field] = at_emulator(url, &base);
        }
    }
    definition["api"]["baseUrl"] = at_emulator(&definition["api"]["baseUrl"], &base);
    app.create_element(&definition).await;
    definition
}

/// A value for each required parameter that has no default.
fn parameter_values(definition: &Value) -> BTreeMap<String, String> {
    let parameters = definition["parameters"].as_array().cloned().unwrap_or_default();
    parameters
        .iter()
        .filter(|parameter| parameter["required"] != json!(false) && parameter.get("default").is_none())
        .map(|parameter| {
            let value = parameter["options"].get(0).and_then(Value::as_str).unwrap_or("acme");
            (parameter["key"].as_str().unwrap().to_owned(), value.to_owned())
        })
        .collect()
}

async fn emulator_json(emulator: &str, method: Method, path: &str) -> Value {
    let answer = reqwest::Client::new().request(method, format!("{emulator}/test/{path}")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "the emulator's {path}");
    answer.json().await.unwrap()
}

/// Connects an instance of `emu-{key}`: the authorization URL, the emulated consent, and `POST /instances` with
/// the code and whatever the provider added to the redirect. Answers the instance.
async fn connect(app: &TestApp, key: &str, definition: &Value) -> Value {
    let values = parameter_values(definition);
    let pkce = definition["oauth"]["pkce"] != json!(false);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("apiKey", "emulated-client").append_pair("apiSecret", "emulated-secret");
    query.append_pair("callbackUrl", CALLBACK).append_pair("pkce", &pkce.to_string());
    for (name, value) in &values {
        query.append_pair(name, value);
    }
    let path = format!("/elements/emu-{key}/oauth/url?{}", query.finish());
    let url = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let consent = browser.get(url["oauthUrl"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(consent.status(), StatusCode::FOUND, "{key}: {}", consent.text().await.unwrap_or_default());
    let redirect = reqwest::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    assert!(redirect.as_str().starts_with(CALLBACK), "{key}: {redirect}");
    let provider_data: serde_json::Map<String, Value> =
        redirect.query_pairs().map(|(name, value)| (name.into_owned(), json!(value))).collect();
    let mut configuration = json!({
        "oauth.api.key": "emulated-client", "oauth.api.secret": "emulated-secret", "oauth.callback.url": CALLBACK
    });
    // A value the provider sent to the callback (Zoho's `accounts-server`, Shopify's `shop` for its `subdomain`) is
    // the instance's, not the form's.
    let from_callback: Vec<&str> = definition["oauth"]["callbackValues"]
        .as_object()
        .map(|renamed| renamed.values().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let from_form = |name: &String| !provider_data.contains_key(name) && !from_callback.contains(&name.as_str());
    for (name, value) in values.into_iter().filter(|(name, _)| from_form(name)) {
        configuration[name] = json!(value);
    }
    let body = json!({
        "element": {"key": format!("emu-{key}")}, "name": format!("Emulated {key}"),
        "providerData": provider_data, "configuration": configuration
    });
    let created = app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap();
    let status = created.status();
    let created: Value = created.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::OK, "{key}: connecting answered {created}");
    created
}

/// A call through the instance: its status, and the emulator's answer.
async fn call(app: &TestApp, definition: &Value, token: &str) -> (StatusCode, Value) {
    let path = format!("/hubs/{}/emulator/check", definition["hub"].as_str().unwrap());
    let answer = app.as_instance(token, Method::GET, &path).send().await.unwrap();
    (answer.status(), answer.json().await.unwrap_or(Value::Null))
}

async fn one_providers_life(app: &TestApp, emulator: &str, key: &str) {
    let profile = emulator_json(emulator, Method::GET, &format!("{key}/profile")).await;
    let counts_path = format!("{key}/counts");
    let counts = || emulator_json(emulator, Method::GET, &counts_path);
    let definition = emulated_element(app, key, emulator).await;
    let created = connect(app, key, &definition).await;
    let (id, token) = (created["id"].as_i64().unwrap(), created["token"].as_str().unwrap().to_owned());
    assert_eq!(counts().await["exchanges"], 1, "{key}");
    let expires_at = &created["configuration"]["oauth.user.token.expires_at"];
    assert_eq!(expires_at.is_string(), !profile["expires"].is_null(), "{key}: expiry {expires_at}");
    // Where the provider says when the refresh token itself expires (GitHub, Shopify, QuickBooks), the instance's
    // health tells it.
    let says_refresh_expiry = ["refresh_token_expires_in", "x_refresh_token_expires_in"]
        .iter()
        .any(|field| profile["extra"].get(field).is_some());
    let refresh_expiry = &created["health"]["refreshTokenExpiresAt"];
    assert_eq!(refresh_expiry.is_string(), says_refresh_expiry, "{key}: refresh token expiry {refresh_expiry}");
    if key == "shopify" {
        assert_eq!(created["configuration"]["subdomain"], "acme-emulated", "the shop on the redirect names the store");
    }

    // A call through the proxy carries the access token where the element puts it.
    let (status, seen) = call(app, &definition, &token).await;
    assert_eq!(status, StatusCode::OK, "{key}: {seen}");
    assert_eq!(seen["provider"], key);

    let refreshable = profile["refresh"] == json!(true);
    if refreshable {
        // The provider refuses the access token: one refresh, and the call goes through.
        let kept = stored_secrets(app, id).await["oauth.user.refresh_token"].clone();
        emulator_json(emulator, Method::POST, &format!("{key}/expire-access")).await;
        let (status, seen) = call(app, &definition, &token).await;
        assert_eq!(status, StatusCode::OK, "{key}: after the provider refused the access token: {seen}");
        assert_eq!(counts().await["refreshes"], 1, "{key}");
        let now_kept = stored_secrets(app, id).await["oauth.user.refresh_token"].clone();
        assert_eq!(now_kept != kept, profile["rotate"] == json!(true), "{key}: the refresh token rotated or stayed");

        // Due to expire: refreshed ahead, with the refresh token kept now, rotated or not.
        believe_expiry(app, id, "2001-01-01T00:00:00Z").await;
        let (status, seen) = call(app, &definition, &token).await;
        assert_eq!(status, StatusCode::OK, "{key}: after the expiry: {seen}");
        assert_eq!(counts().await["refreshes"], 2, "{key}");
    }

    // The user revokes the app at the provider: the instance is no longer valid, and calls say why.
    emulator_json(emulator, Method::POST, &format!("{key}/revoke-all")).await;
    if refreshable {
        believe_expiry(app, id, "2001-01-01T00:00:00Z").await;
    }
    let (status, refused) = call(app, &definition, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{key}: {refused}");
    if refreshable {
        assert!(refused["message"].as_str().unwrap_or_default().contains("INVALID_ACCESS_TOKEN"), "{key}: {refused}");
        assert_eq!(read_instance(app, id).await["valid"], false, "{key}: a refused grant makes the instance invalid");
    }

    // Deleting an instance revokes its grant where the provider has a revocation endpoint.
    if definition["oauth"].get("revokeUrl").is_some() {
        let fresh = connect(app, key, &definition).await;
        let before = counts().await["revocations"].as_i64().unwrap();
        let deleted = app.as_admin(Method::DELETE, &format!("/instances/{}", fresh["id"])).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::OK, "{key}");
        assert!(counts().await["revocations"].as_i64().unwrap() > before, "{key}: the grant was revoked");
    }
}

async fn each_provider_lives_its_whole_life_against_its_emulation(backend: Backend) {
    let emulator = ScriptServer::provider_emulator();
    // Every call resolves the instance afresh, so that an expiry written to the database is seen at once.
    let app = TestApp::spawn_with(backend, |config| config.proxy.call_cache = std::time::Duration::ZERO).await;
    for key in PROVIDERS {
        one_providers_life(&app, &emulator.url, key).await;
    }
}
