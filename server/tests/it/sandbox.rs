//! Tether Sandbox: off unless configured; when on, a whole instance's life against it over the REST API; and its
//! OAuth behaviour checked case by case against `oidc-provider`'s, with the token client Tether itself uses.

use crate::processes::{OAUTH_CLIENT_SECRET, OAuthProvider};
use crate::utils::{Backend, TestApp, eventually, expect_json};
use app::catalog::{TokenAuth, TokenBody};
use app::hub::ConsoleConnect;
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tether::hub::pkce_challenge;
use tether::providers::token_client::{ClientCredentials, TokenClient, TokenEndpoint, TokenError, TokenSet};

const CALLBACK: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-pkce-verifier-that-is-long-enough-0123456789";

fn query_of(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

pub(crate) async fn sandbox_app(adjust: impl FnOnce(&mut tether::config::Config)) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |config| {
        config.sandbox.enabled = true;
        config.sandbox.redirect_uris = vec![CALLBACK.into()];
        // Tether's own private-network rule stays as in production: the sandbox element needs no exception.
        config.outbound.allow_private_network = false;
        adjust(config);
    })
    .await
}

/// The sandbox's client secret, read from its control page as a user would.
pub(crate) async fn sandbox_client_secret(app: &TestApp) -> String {
    let page = app.http.get(format!("{}/sandbox", app.base_url)).send().await.unwrap().text().await.unwrap();
    let marker = r#"data-testid="client-secret">"#;
    let start = page.find(marker).expect("the control page shows the client secret") + marker.len();
    page[start..].split('<').next().unwrap().to_owned()
}

/// Signs in on the sandbox's consent page as `login`, allowing or denying, and answers where it sends the
/// browser back to.
pub(crate) async fn sandbox_consent(authorization_url: &str, login: &str, approve: bool) -> Url {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(authorization_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the consent page is shown");
    let page = page.text().await.unwrap();
    let marker = r#"name="form" value=""#;
    let start = page.find(marker).expect("the consent form carries its token") + marker.len();
    let token = page[start..].split('"').next().unwrap().to_owned();
    let decision = if approve { "allow" } else { "deny" };
    let form = [("form", token.as_str()), ("login", login), ("password", "any"), ("decision", decision)];
    let answer = browser.post(authorization_url).form(&form).send().await.unwrap();
    assert!(answer.status().is_redirection(), "the consent answer redirects, not {}", answer.status());
    Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_sandbox_off_it_is_not_served_or_listed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for path in ["/sandbox", "/sandbox/oauth/authorize", "/sandbox/api/v1/contacts"] {
        let answer = app.http.get(format!("{}{path}", app.base_url)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let element = app.as_admin(Method::GET, "/elements/sandbox").send().await.unwrap();
    assert_eq!(element.status(), StatusCode::NOT_FOUND);
    let found = app.as_admin(Method::GET, "/elements?search=sandbox&pageSize=200").send().await.unwrap();
    let found = expect_json(found, StatusCode::OK).await;
    let keys: Vec<&str> = found.as_array().unwrap().iter().filter_map(|element| element["key"].as_str()).collect();
    assert!(!keys.is_empty(), "other elements still match the search");
    assert!(!keys.contains(&"sandbox"), "{keys:?}");

    let on = sandbox_app(|_| {}).await;
    let page = on.http.get(format!("{}/sandbox", on.base_url)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let element =
        expect_json(on.as_admin(Method::GET, "/elements/sandbox").send().await.unwrap(), StatusCode::OK).await;
    let expected_token_url = format!("{}/sandbox/oauth/token", on.base_url);
    assert_eq!(element["definition"]["oauth"]["tokenUrl"], expected_token_url.as_str());
}

/// Authenticates a sandbox instance over the REST API with events on by `vendor`; answers its id and token.
async fn sandbox_instance(app: &TestApp, secret: &str, vendor: &str) -> (i64, String) {
    sandbox_instance_as(app, secret, vendor, "ada").await
}

/// Like [`sandbox_instance`], consenting at the sandbox as `login`.
async fn sandbox_instance_as(app: &TestApp, secret: &str, vendor: &str, login: &str) -> (i64, String) {
    let query = format!(
        "apiKey={}&apiSecret={secret}&callbackUrl={}",
        tether::sandbox::CLIENT_ID,
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    );
    let url = app.as_admin(Method::GET, &format!("/elements/sandbox/oauth/url?{query}")).send().await.unwrap();
    let url = expect_json(url, StatusCode::OK).await;
    let callback = sandbox_consent(url["oauthUrl"].as_str().unwrap(), login, true).await;
    let returned = query_of(&callback);
    let body = json!({
        "element": {"key": "sandbox"},
        "providerData": {"code": returned["code"]},
        "name": format!("Sandbox by {vendor}"),
        "configuration": {
            "oauth.api.key": tether::sandbox::CLIENT_ID,
            "oauth.api.secret": secret,
            "oauth.callback.url": CALLBACK,
            "event.notification.enabled": true,
            "event.vendor.type": vendor,
            "event.notification.callback.url": "https://receiver.example/hooks",
            "event.poller.refresh_interval": "0.01",
        }
    });
    let created =
        expect_json(app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap(), StatusCode::OK).await;
    (created["id"].as_i64().unwrap(), created["token"].as_str().unwrap().to_owned())
}

/// The changes Tether logged for an instance, as `(source, eventType, objectType, objectId)`.
async fn logged_changes(app: &TestApp, instance: i64) -> Vec<(String, String, String, String)> {
    let events = app.as_admin(Method::GET, &format!("/instances/{instance}/events")).send().await.unwrap();
    let events = expect_json(events, StatusCode::OK).await;
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            let change = &event["change"];
            (text(&event["source"]), text(&change["eventType"]), text(&change["objectType"]), text(&change["objectId"]))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_instance_proxies_polls_hears_webhooks_and_survives_an_outage() {
    let app = sandbox_app(|config| {
        config.workers.enabled = true;
        config.poll.min_interval = std::time::Duration::ZERO;
        config.refresh.attempts = 2;
        config.refresh.retry = std::time::Duration::from_secs_f64(0.2);
        config.refresh.margin = std::time::Duration::from_secs(60);
        config.sandbox.access_token_lifetime = std::time::Duration::from_secs(70);
    })
    .await;
    let secret = sandbox_client_secret(&app).await;
    let (polled, polled_token) = sandbox_instance(&app, &secret, "polling").await;

    // The proxy carries the sandbox's bearer token: a contact created through Tether comes back listed.
    let created = app
        .as_instance(&polled_token, Method::POST, "/hubs/crm/contacts")
        .json(&json!({"name": "Ada Lovelace", "email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    let created = expect_json(created, StatusCode::CREATED).await;
    let contact = created["id"].as_str().unwrap().to_owned();
    assert!(created["_info"]["lastUpdated"].as_str().unwrap().ends_with('Z'));
    let me =
        expect_json(app.as_instance(&polled_token, Method::GET, "/hubs/crm/me").send().await.unwrap(), StatusCode::OK)
            .await;
    assert_eq!(me["login"], "ada");

    // The poller, with the element's default configuration, reports the contact as created.
    eventually(30, "a polled CREATED event for the contact", || async {
        let changes = logged_changes(&app, polled).await;
        changes
            .iter()
            .any(|(source, kind, object, id)| {
                source == "polling" && kind == "CREATED" && object == "contacts" && *id == contact
            })
            .then_some(())
    })
    .await;

    // A second instance takes webhooks: it subscribes through the proxy, and a change made on the control page
    // arrives signed with the client secret.
    let (hooked, hooked_token) = sandbox_instance(&app, &secret, "webhooks").await;
    let inbound = format!("{}/elements/api-v2/events/sandbox/{hooked}", app.base_url);
    let subscribed = app
        .as_instance(&hooked_token, Method::POST, "/hubs/crm/webhooks")
        .json(&json!({"url": inbound}))
        .send()
        .await
        .unwrap();
    expect_json(subscribed, StatusCode::CREATED).await;
    // With private networks off, the sandbox posts only to this node's webhook route, not elsewhere on loopback.
    let inward = app
        .as_instance(&hooked_token, Method::POST, "/hubs/crm/webhooks")
        .json(&json!({"url": format!("{}/healthz", app.base_url)}))
        .send()
        .await
        .unwrap();
    let inward = expect_json(inward, StatusCode::BAD_REQUEST).await;
    assert!(inward["message"].as_str().unwrap().starts_with("url:"), "{inward}");
    // Another sandbox user sees none of ada's subscriptions.
    let (_, other_token) = sandbox_instance_as(&app, &secret, "webhooks", "grace").await;
    let listed = app.as_instance(&other_token, Method::GET, "/hubs/crm/webhooks").send().await.unwrap();
    assert_eq!(expect_json(listed, StatusCode::OK).await, json!([]));
    let listed = app.as_instance(&hooked_token, Method::GET, "/hubs/crm/webhooks").send().await.unwrap();
    assert_eq!(expect_json(listed, StatusCode::OK).await.as_array().unwrap().len(), 1);
    let edit = [("id", contact.as_str()), ("name", "Ada King"), ("email", "ada@example.com")];
    let saved = app.http.post(format!("{}/sandbox/control/contacts", app.base_url)).form(&edit).send().await.unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    eventually(30, "a webhook UPDATED event for the contact", || async {
        let changes = logged_changes(&app, hooked).await;
        changes
            .iter()
            .any(|(source, kind, _, id)| source == "webhooks" && kind == "UPDATED" && *id == contact)
            .then_some(())
    })
    .await;
    // A forged webhook is refused.
    let forged = app
        .http
        .post(&inbound)
        .header(tether::sandbox::SIGNATURE_HEADER, "sha256=00")
        .body(r#"{"events":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    // With the token endpoint failing, the refresher's attempts fail until the instance is disabled. Access
    // tokens live 70 s and are refreshed 60 s ahead, so the first attempt comes 10 s after the sign-in.
    let outage = app.http.post(format!("{}/sandbox/control/outage", app.base_url)).form(&[("minutes", "5")]).send();
    assert_eq!(outage.await.unwrap().status(), StatusCode::SEE_OTHER);
    let disabled = eventually(40, "the instance is disabled after the failed attempts", || async {
        let instance = health_of(&app, polled).await;
        (instance["health"]["state"] == "disabled").then_some(instance)
    })
    .await;
    assert_eq!(disabled["health"]["failedRefreshes"], 2, "{disabled}");
    assert!(disabled["health"]["lastError"].as_str().unwrap().contains("unavailable"), "{disabled}");

    // Once the outage ends and the instance is enabled again, the refresher renews its token.
    let cleared = app.http.post(format!("{}/sandbox/control/outage", app.base_url)).form(&[("minutes", "0")]).send();
    assert_eq!(cleared.await.unwrap().status(), StatusCode::SEE_OTHER);
    let enabled = app.as_admin(Method::PUT, &format!("/instances/{polled}/enabled")).send().await.unwrap();
    expect_json(enabled, StatusCode::OK).await;
    eventually(30, "the refresher renews the token once the sandbox is back", || async {
        let instance = health_of(&app, polled).await;
        (instance["health"]["state"] == "valid" && instance["health"]["lastRefreshedAt"].is_string()).then_some(())
    })
    .await;
    let listed = app.as_instance(&polled_token, Method::GET, "/hubs/crm/contacts").send().await.unwrap();
    assert_eq!(expect_json(listed, StatusCode::OK).await.as_array().unwrap().len(), 1);

    // Revoking every grant on the control page: the next call is refused, and the refresh that follows gets
    // invalid_grant, so the instance needs authenticating again.
    let revoked = app.http.post(format!("{}/sandbox/control/revoke", app.base_url)).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let refused = app.as_instance(&polled_token, Method::GET, "/hubs/crm/contacts").send().await.unwrap();
    assert!(refused.status().is_client_error(), "{}", refused.status());
    eventually(30, "the instance is invalid once its grant is revoked", || async {
        (health_of(&app, polled).await["health"]["state"] == "invalid").then_some(())
    })
    .await;
    let page = app.http.get(format!("{}/sandbox", app.base_url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("0 live grant(s)"), "the page counts no live grant");
}

async fn health_of(app: &TestApp, instance: i64) -> Value {
    expect_json(app.as_admin(Method::GET, &format!("/instances/{instance}")).send().await.unwrap(), StatusCode::OK)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_page_refuses_posts_from_other_sites_and_bad_values() {
    let app = sandbox_app(|_| {}).await;
    let outage = app
        .http
        .post(format!("{}/sandbox/control/outage", app.base_url))
        .header("origin", "https://elsewhere.example")
        .form(&[("minutes", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(outage.status(), StatusCode::FORBIDDEN);
    let page = app.http.get(format!("{}/sandbox", app.base_url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("answers normally"), "the refused post changed nothing");
    let bad = app.http.post(format!("{}/sandbox/control/outage", app.base_url)).form(&[("minutes", "soon")]).send();
    assert_eq!(bad.await.unwrap().status(), StatusCode::BAD_REQUEST);
    let nameless = app.http.post(format!("{}/sandbox/control/contacts", app.base_url)).form(&[("name", " ")]).send();
    assert_eq!(nameless.await.unwrap().status(), StatusCode::BAD_REQUEST);
    let unauthenticated = app.http.get(format!("{}/sandbox/api/v1/contacts", app.base_url)).send().await.unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
}

/// One authorization server under test, driven the same way whichever it is.
struct Server {
    name: &'static str,
    authorize_url: String,
    token: TokenEndpoint,
    revocation: TokenEndpoint,
    client: ClientCredentials,
    scope: &'static str,
    _provider: Option<OAuthProvider>,
    _app: Option<TestApp>,
}

impl Server {
    async fn oidc_provider() -> Server {
        let provider = OAuthProvider::start(&[CALLBACK], false);
        let endpoint = |path: &str| TokenEndpoint {
            url: format!("{}{path}", provider.issuer).parse().unwrap(),
            auth: TokenAuth::Basic,
            body: TokenBody::Form,
            extra: BTreeMap::new(),
            fields: Default::default(),
        };
        Server {
            name: "oidc-provider",
            authorize_url: format!("{}/auth", provider.issuer).parse().unwrap(),
            token: endpoint("/token"),
            revocation: endpoint("/token/revocation"),
            client: ClientCredentials { id: "tether-basic".into(), secret: SecretString::from(OAUTH_CLIENT_SECRET) },
            scope: "openid offline_access",
            _provider: Some(provider),
            _app: None,
        }
    }

    async fn sandbox() -> Server {
        let app = sandbox_app(|_| {}).await;
        let secret = sandbox_client_secret(&app).await;
        let endpoint = |path: &str| TokenEndpoint {
            url: format!("{}/sandbox/oauth{path}", app.base_url).parse().unwrap(),
            auth: TokenAuth::Basic,
            body: TokenBody::Form,
            extra: BTreeMap::new(),
            fields: Default::default(),
        };
        Server {
            name: "sandbox",
            authorize_url: format!("{}/sandbox/oauth/authorize", app.base_url).parse().unwrap(),
            token: endpoint("/token"),
            revocation: endpoint("/revoke"),
            client: ClientCredentials { id: tether::sandbox::CLIENT_ID.into(), secret: SecretString::from(secret) },
            scope: tether::sandbox::SCOPE,
            _provider: None,
            _app: Some(app),
        }
    }

    /// Goes through sign-in and consent, and answers the redirect back to the client.
    async fn consent(&self, approve: bool) -> Url {
        let url = Url::parse_with_params(
            &self.authorize_url,
            &[
                ("client_id", self.client.id.as_str()),
                ("response_type", "code"),
                ("redirect_uri", CALLBACK),
                ("scope", self.scope),
                ("state", "conformance"),
                ("prompt", "consent"),
                ("code_challenge", &pkce_challenge(VERIFIER)),
                ("code_challenge_method", "S256"),
            ],
        )
        .unwrap();
        match &self._provider {
            Some(provider) => provider.authorize(url.as_str(), "alice", approve).await,
            None => sandbox_consent(url.as_str(), "alice", approve).await,
        }
    }

    async fn code(&self) -> SecretString {
        let returned = query_of(&self.consent(true).await);
        assert_eq!(returned["state"], "conformance", "{}: the state comes back", self.name);
        SecretString::from(returned["code"].clone())
    }

    async fn exchange(
        &self,
        tokens: &TokenClient,
        code: &SecretString,
        verifier: &str,
    ) -> Result<TokenSet, TokenError> {
        let verifier = SecretString::from(verifier);
        tokens.exchange_code(&self.token, &self.client, code, CALLBACK, Some(&verifier), &[]).await
    }

    async fn refresh(&self, tokens: &TokenClient, refresh: &SecretString) -> Result<TokenSet, TokenError> {
        tokens.refresh(&self.token, &self.client, refresh, &[]).await
    }
}

fn is_invalid_grant(outcome: &Result<TokenSet, TokenError>) -> bool {
    matches!(outcome, Err(TokenError::InvalidGrant { .. }))
}

/// The cases both servers must answer alike; each assertion names the server that broke it.
async fn conformance_cases(server: Server) {
    let name = server.name;
    let tokens = TokenClient::new(
        Duration::from_secs(10),
        tether::providers::outbound::Outbound::new(tether::providers::outbound::OutboundSettings {
            allow_private: true,
            ..Default::default()
        }),
    );

    // Declining consent sends the user back with access_denied and the state.
    let declined = query_of(&server.consent(false).await);
    assert_eq!(declined.get("error").map(String::as_str), Some("access_denied"), "{name}: {declined:?}");
    assert_eq!(declined["state"], "conformance", "{name}");

    // PKCE: a wrong verifier is refused; a code is good once.
    let code = server.code().await;
    let wrong = server.exchange(&tokens, &code, "another-verifier-that-is-long-enough-0123456789").await;
    assert!(is_invalid_grant(&wrong), "{name}: a wrong PKCE verifier gives invalid_grant, not {wrong:?}");
    let code = server.code().await;
    let granted = server.exchange(&tokens, &code, VERIFIER).await.unwrap_or_else(|error| panic!("{name}: {error:?}"));
    assert!(granted.expires_at.is_some(), "{name}: the access token's lifetime is given");
    let replayed = server.exchange(&tokens, &code, VERIFIER).await;
    assert!(is_invalid_grant(&replayed), "{name}: a used code gives invalid_grant, not {replayed:?}");
    // The replay revokes what the code granted: its refresh token is dead too.
    let from_replayed = granted.refresh_token.unwrap_or_else(|| panic!("{name}: a refresh token"));
    let revoked = server.refresh(&tokens, &from_replayed).await;
    assert!(is_invalid_grant(&revoked), "{name}: a replayed code revokes its grant, not {revoked:?}");
    let code = server.code().await;
    let granted = server.exchange(&tokens, &code, VERIFIER).await.unwrap_or_else(|error| panic!("{name}: {error:?}"));

    // Rotation: each refresh answers a new refresh token and a new access token.
    let first = granted.refresh_token.unwrap_or_else(|| panic!("{name}: a refresh token"));
    let rotated = server.refresh(&tokens, &first).await.unwrap_or_else(|error| panic!("{name}: {error:?}"));
    let second = rotated.refresh_token.unwrap_or_else(|| panic!("{name}: a rotated refresh token"));
    assert_ne!(second.expose_secret(), first.expose_secret(), "{name}: the refresh token rotates");
    assert_ne!(rotated.access_token.expose_secret(), granted.access_token.expose_secret(), "{name}");

    // Reuse: the old refresh token is refused, and showing it revokes the grant, so the newest one dies too.
    let reused = server.refresh(&tokens, &first).await;
    assert!(is_invalid_grant(&reused), "{name}: a reused refresh token gives invalid_grant, not {reused:?}");
    let after_reuse = server.refresh(&tokens, &second).await;
    assert!(is_invalid_grant(&after_reuse), "{name}: the grant is revoked after reuse, not {after_reuse:?}");

    // Revocation (RFC 7009): a revoked refresh token is refused; an unknown token is accepted silently.
    let code = server.code().await;
    let granted = server.exchange(&tokens, &code, VERIFIER).await.unwrap_or_else(|error| panic!("{name}: {error:?}"));
    let refresh = granted.refresh_token.unwrap_or_else(|| panic!("{name}: a refresh token"));
    tokens
        .revoke(&server.revocation, &server.client, &refresh, "refresh_token")
        .await
        .unwrap_or_else(|error| panic!("{name}: {error:?}"));
    let revoked = server.refresh(&tokens, &refresh).await;
    assert!(is_invalid_grant(&revoked), "{name}: a revoked refresh token gives invalid_grant, not {revoked:?}");
    let unknown = SecretString::from("not-a-token-either-server-issued");
    let silently = tokens.revoke(&server.revocation, &server.client, &unknown, "refresh_token").await;
    assert!(silently.is_ok(), "{name}: revoking an unknown token answers 200, not {silently:?}");

    // A wrong client secret is refused at the token endpoint.
    let code = server.code().await;
    let wrong_client = ClientCredentials { id: server.client.id.clone(), secret: SecretString::from("wrong") };
    let refused = tokens
        .exchange_code(&server.token, &wrong_client, &code, CALLBACK, Some(&SecretString::from(VERIFIER)), &[])
        .await;
    assert!(
        refused.is_err() && !is_invalid_grant(&refused),
        "{name}: a wrong secret is a client error, not {refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_cases_pass_against_oidc_provider() {
    conformance_cases(Server::oidc_provider().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_cases_pass_against_the_sandbox() {
    conformance_cases(Server::sandbox().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_flow_checks_and_keeps_a_new_instances_event_settings() {
    use app::instances::{ConsoleAuthentication, ConsoleNext, OAuthCallback};

    let app = sandbox_app(|_| {}).await;
    let secret = sandbox_client_secret(&app).await;
    let session = crate::utils::open_session(&app.hub, &app.first.admin.email_address, &app.first.password).await;
    let form = |callback_url: &str| ConsoleAuthentication {
        element: "sandbox".into(),
        instance: None,
        name: "Console with events".into(),
        tags: Vec::new(),
        configuration: BTreeMap::from([
            ("oauth.api.key".into(), tether::sandbox::CLIENT_ID.into()),
            ("oauth.api.secret".into(), secret.clone()),
            ("event.notification.enabled".into(), "true".into()),
            ("event.vendor.type".into(), "polling".into()),
            ("event.notification.callback.url".into(), callback_url.into()),
        ]),
        save_oauth_app: false,
    };
    let begin = |form| app.hub.begin_console_authentication(&session.caller, &session.token, &app.base_url, form);

    // A bad event setting is refused before the user is sent to the provider.
    let refused = begin(form("not a url")).await;
    let refused = refused.expect_err("a bad callback URL is refused").to_string();
    assert!(refused.contains("event.notification.callback.url"), "{refused}");

    let Ok(ConsoleNext::Provider { url }) = begin(form("https://receiver.example/hooks")).await else {
        panic!("an OAuth element goes to the provider")
    };
    let returned = query_of(&sandbox_consent(&url, "ada", true).await);
    let callback = OAuthCallback {
        code: returned.get("code").cloned(),
        state: returned.get("state").cloned(),
        ..OAuthCallback::default()
    };
    let id = app.hub.complete_console_authorization(&session.caller, &session.token, callback).await.unwrap();
    let instance = health_of(&app, id.0).await;
    assert_eq!(instance["eventsEnabled"], true, "{instance}");
    assert_eq!(instance["configuration"]["event.vendor.type"], "polling");
    let poller = instance["configuration"]["event.poller.configuration"].to_string();
    assert!(poller.contains("lastUpdated"), "the element's default poller is in effect: {poller}");
}
