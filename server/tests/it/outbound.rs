//! The one guarded way out: with private networks off, no value a tenant gives (a parameter naming a host, a
//! custom element's base URL, a callback URL) makes Tether connect inward, whatever form the address takes; the
//! answer names the field. With private networks allowed, the same values connect.

use crate::on_both_backends;
use crate::utils::{Backend, TestApp, expect_error, expect_json};
use app::hub::Proxy;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

on_both_backends!(
    no_tenant_value_reaches_an_internal_address,
    with_private_networks_allowed_the_same_values_connect,
    proxy_paths_that_climb_out_are_refused_before_reaching_the_upstream,
    values_with_control_characters_are_refused_when_saved,
    webhooks_signed_with_an_empty_key_are_refused,
    a_token_endpoint_that_cannot_be_reached_reads_the_same_whatever_the_port_did,
    refresh_proxy_and_revocation_of_a_stored_instance_follow_the_policy,
    a_stored_callback_that_resolves_inward_is_not_delivered_to,
);

/// A name the test's resolver points at loopback, as an internal DNS name would be.
const INWARD_NAME: &str = "inward.test";

/// A loopback listener that counts the connections it accepts and answers each with an empty 200.
struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Listener {
    async fn start() -> Listener {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buffer = [0u8; 4096];
                    let _ = socket.read(&mut buffer).await;
                    let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").await;
                });
            }
        });
        Listener { port, accepted }
    }

    fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Every form of "this machine" a tenant might try, each with the listener's port.
    fn inward_hosts(&self) -> Vec<String> {
        let port = self.port;
        ["127.0.0.1", "[::ffff:127.0.0.1]", "[::127.0.0.1]", "localhost", "localhost.", INWARD_NAME, "LOCALHOST"]
            .iter()
            .map(|host| format!("{host}:{port}"))
            .collect()
    }
}

async fn spawn(backend: Backend, allow_private: bool) -> TestApp {
    TestApp::spawn_with(backend, |config| {
        config.outbound.allow_private_network = allow_private;
        config.outbound.resolve_hosts.insert(INWARD_NAME.into(), vec![[127, 0, 0, 1].into()]);
    })
    .await
}

/// The requests a tenant can make that name a host, each with the field the refusal must name.
fn tenant_requests(host: &str) -> Vec<(&'static str, Value, &'static str)> {
    let oauth =
        json!({"oauth.api.key": "id", "oauth.api.secret": "secret", "oauth.callback.url": "https://app.example/cb"});
    let with = |extra: Value| {
        let mut configuration = oauth.clone();
        configuration.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        configuration
    };
    vec![
        (
            "/elements/zoho/instances",
            json!({"name": "z", "providerData": {"code": "c"}, "configuration": with(json!({"accounts-server": format!("https://{host}")}))}),
            "configuration.accounts-server",
        ),
        (
            "/elements/zoho/instances",
            json!({"name": "z", "providerData": {"code": "c"}, "configuration": with(json!({"accounts-server": format!("https://{host}/admin?x=")}))}),
            "configuration.accounts-server",
        ),
        (
            "/elements/agiloft/instances",
            json!({"name": "a", "providerData": {"code": "c"}, "configuration": with(json!({"hostname": host}))}),
            "configuration.hostname",
        ),
        (
            "/elements/zoho/instances",
            json!({"name": "z", "externalAuthentication": "initial",
                "configuration": with(json!({"accounts-server": format!("https://{host}"), "oauth.user.refresh_token": "r"}))}),
            "configuration.accounts-server",
        ),
        (
            "/elements/gitlab-pat/instances",
            json!({"name": "g", "configuration": {"hostname": host, "apiKey": "glpat-abc"}}),
            "configuration.hostname",
        ),
        (
            "/elements/test-public/instances",
            json!({"name": "e", "configuration": {"apiKey": "k", "event.notification.enabled": true,
                "event.vendor.type": "polling", "event.notification.callback.url": format!("https://{host}/hook"),
                "event.poller.configuration": {"things": {"url": "/hubs/general/things", "idField": "id"}}}}),
            "configuration.event.notification.callback.url",
        ),
    ]
}

/// A custom element with a public base URL, to carry event settings.
fn public_element() -> Value {
    json!({
        "key": "test-public", "name": "Public", "hub": "general", "auth": "apiKey",
        "api": {"baseUrl": "https://api.public.example", "credentials": {"in": "header", "name": "x-key", "value": "{apiKey}"}},
        "parameters": [{"key": "apiKey", "label": "API key", "secret": true}],
        "events": {"support": "polling"}
    })
}

/// A custom element whose base URL is `base`.
fn element_at(key: &str, base: &str) -> Value {
    json!({
        "key": key, "name": key, "hub": "general", "auth": "apiKey",
        "api": {"baseUrl": base, "credentials": {"in": "header", "name": "x-key", "value": "{apiKey}"}},
        "parameters": [{"key": "apiKey", "label": "API key", "secret": true}]
    })
}

async fn instance_count(app: &TestApp) -> usize {
    let listed = expect_json(app.as_admin(Method::GET, "/instances").send().await.unwrap(), StatusCode::OK).await;
    listed.as_array().unwrap().len()
}

async fn no_tenant_value_reaches_an_internal_address(backend: Backend) {
    let app = spawn(backend, false).await;
    let listener = Listener::start().await;
    app.create_element(&public_element()).await;
    for host in listener.inward_hosts() {
        for (path, body, field) in tenant_requests(&host) {
            let answer = app.as_admin(Method::POST, path).json(&body).send().await.unwrap();
            expect_error(answer, StatusCode::BAD_REQUEST, &format!("{field}:")).await;
        }
    }
    // A custom element's base URL: a literal internal address is refused when the element is saved; a name is
    // resolved, and refused, when an instance is made.
    let literal = element_at("test-literal", &format!("https://127.0.0.1:{}/api", listener.port));
    let refused = app.as_admin(Method::POST, "/elements").json(&literal).send().await.unwrap();
    expect_error(refused, StatusCode::BAD_REQUEST, "api.baseUrl:").await;
    let named = element_at("test-named", &format!("https://{INWARD_NAME}:{}/api", listener.port));
    app.create_element(&named).await;
    let body = json!({"name": "n", "configuration": {"apiKey": "k"}});
    let refused = app.as_admin(Method::POST, "/elements/test-named/instances").json(&body).send().await.unwrap();
    expect_error(refused, StatusCode::BAD_REQUEST, "api.baseUrl:").await;

    assert_eq!(listener.connections(), 0, "a refused destination was connected to");
    assert_eq!(instance_count(&app).await, 0, "nothing is stored for a refused request");
}

async fn with_private_networks_allowed_the_same_values_connect(backend: Backend) {
    let app = spawn(backend, true).await;
    let listener = Listener::start().await;
    let mut expected = 0;
    for host in [format!("127.0.0.1:{}", listener.port), format!("{INWARD_NAME}:{}", listener.port)] {
        let body = json!({"name": "g", "configuration": {"hostname": host, "apiKey": "glpat-abc"}});
        // Creating it checks the key with the element's verification call. The listener speaks plain HTTP to an
        // https URL, so the check fails as an unreachable provider, but only after connecting.
        let created = app.as_admin(Method::POST, "/elements/gitlab-pat/instances").json(&body).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::BAD_GATEWAY);
        expected += 1;
        assert_eq!(listener.connections(), expected, "{host} was not connected to");
    }
    let named = element_at("test-named", &format!("http://localhost:{}/api", listener.port));
    app.create_element(&named).await;
    let body = json!({"name": "n", "configuration": {"apiKey": "k"}});
    let created = app.as_admin(Method::POST, "/elements/test-named/instances").json(&body).send().await.unwrap();
    let token = expect_json(created, StatusCode::OK).await["token"].as_str().unwrap().to_owned();
    let answer = app.as_instance(&token, Method::GET, "/hubs/general/things").send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(listener.connections(), expected + 1);
}

/// An upstream that records every path it is asked for and answers 200.
async fn recording_upstream() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let handler = move |uri: axum::http::Uri| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(uri.path().to_owned());
            "ok"
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(handler)).await.unwrap() });
    (base, seen)
}

/// A GET sent over a plain TCP connection exactly as written, and the whole answer.
async fn raw_get(base_url: &str, target: &str, authorization: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(base_url.trim_start_matches("http://")).await.unwrap();
    let request =
        format!("GET {target} HTTP/1.1\r\nhost: x\r\nauthorization: {authorization}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

async fn proxy_paths_that_climb_out_are_refused_before_reaching_the_upstream(backend: Backend) {
    use app::instances::{InstanceId, TryRequest};

    use secrecy::ExposeSecret;
    let app = TestApp::spawn(backend).await;
    let (upstream, seen) = recording_upstream().await;
    let element = element_at("test-base", &format!("{upstream}/base/v1"));
    app.create_element(&element).await;
    let body = json!({"name": "b", "configuration": {"apiKey": "k"}});
    let created = app.as_admin(Method::POST, "/elements/test-base/instances").json(&body).send().await.unwrap();
    let created = expect_json(created, StatusCode::OK).await;
    let (id, token) = (InstanceId(created["id"].as_i64().unwrap()), created["token"].as_str().unwrap().to_owned());

    // Sent as written: a client library would resolve the dots itself before sending.
    let authorization = format!(
        "{}, Element {token}",
        crate::utils::authorization(
            app.first.user_secret.expose_secret(),
            app.first.organization_secret.expose_secret()
        )
    );
    for path in
        ["a\\..\\..\\..\\..\\healthz", "a/%2e%2e/%2E%2E/x", "a%2f..%2f..%2fx", "a/.%2e/.%2e/x", "a%5c..%5c..%5cx"]
    {
        let answer = raw_get(&app.base_url, &format!("/elements/api-v2/hubs/general/{path}"), &authorization).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(answer.contains("\"message\":\"path:"), "{path}: {answer}");
    }
    let session = crate::utils::open_session(&app.hub, &app.first.admin.email_address, &app.first.password).await;
    for path in ["a/.\t./.\t./x", "a/.\n./.\n./x", "a\\..\\..\\x", "a/.\r./x", "a/%2E%2e/x"] {
        let request = TryRequest {
            method: "GET".into(),
            path: path.into(),
            query: String::new(),
            headers: vec![],
            body: String::new(),
        };
        let refused = app.hub.try_request(&session.caller, id, request).await.unwrap_err();
        assert!(refused.to_string().starts_with("path:"), "{path:?}: {refused}");
    }
    let fine = app.as_instance(&token, Method::GET, "/hubs/general/things/a.b").send().await.unwrap();
    assert_eq!(fine.status(), StatusCode::OK);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, ["/base/v1/things/a.b"], "the upstream saw only the call inside the base path");
}

async fn values_with_control_characters_are_refused_when_saved(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_element(&public_element()).await;
    for value in ["a\r\nx-injected: 1", "a\nb", "nul\0", "del\u{7f}"] {
        let body = json!({"name": "c", "configuration": {"apiKey": value}});
        let refused = app.as_admin(Method::POST, "/elements/test-public/instances").json(&body).send().await.unwrap();
        expect_error(refused, StatusCode::BAD_REQUEST, "configuration.apiKey: must not hold control characters").await;
    }
    let body = json!({"name": "c", "configuration": {"apiKey": "fine"}});
    let created = app.as_admin(Method::POST, "/elements/test-public/instances").json(&body).send().await.unwrap();
    let id = expect_json(created, StatusCode::OK).await["id"].as_i64().unwrap();
    let patch = json!({"configuration": {"apiKey": "x\ry"}});
    let refused = app.as_admin(Method::PATCH, &format!("/instances/{id}")).json(&patch).send().await.unwrap();
    expect_error(refused, StatusCode::BAD_REQUEST, "configuration.apiKey:").await;
}

async fn webhooks_signed_with_an_empty_key_are_refused(backend: Backend) {
    use hmac::{Hmac, Mac};
    let app = TestApp::spawn(backend).await;
    let mut element = element_at("test-signed", "https://api.signed.example");
    element["parameters"] = json!([{"key": "apiKey", "label": "API key", "secret": true},
        {"key": "webhookSecret", "label": "Webhook secret", "secret": true, "required": false}]);
    element["events"] = json!({"support": "webhooks", "webhook": {
        "signature": {"header": "x-signature", "secretParameter": "webhookSecrett", "encoding": "hex", "prefix": ""}}});
    let refused = app.as_admin(Method::POST, "/elements").json(&element).send().await.unwrap();
    expect_error(refused, StatusCode::BAD_REQUEST, "events.webhook.signature.secretParameter:").await;

    element["events"]["webhook"]["signature"]["secretParameter"] = json!("webhookSecret");
    app.create_element(&element).await;
    // An instance that never got its webhook secret: the key is empty, and nothing signed with it is taken.
    let body = json!({"name": "s", "configuration": {"apiKey": "k", "event.notification.enabled": true,
        "event.vendor.type": "webhooks", "event.notification.callback.url": "https://receiver.example/hook"}});
    let created = app.as_admin(Method::POST, "/elements/test-signed/instances").json(&body).send().await.unwrap();
    let id = expect_json(created, StatusCode::OK).await["id"].as_i64().unwrap();
    let payload = br#"{"id": "1", "objectType": "things"}"#;
    let signed_with_nothing =
        hex::encode(Hmac::<sha2::Sha256>::new_from_slice(b"").unwrap().chain_update(payload).finalize().into_bytes());
    let url = format!("{}/elements/api-v2/events/test-signed/{id}", app.base_url);
    let answer =
        app.http.post(&url).header("x-signature", &signed_with_nothing).body(&payload[..]).send().await.unwrap();
    let refused_signature = expect_error(answer, StatusCode::UNAUTHORIZED, "could be verified").await;
    // The route tells an unknown instance and a bad signature apart in nothing.
    let unknown = format!("{}/elements/api-v2/events/test-signed/{}", app.base_url, id + 1000);
    let answer =
        app.http.post(&unknown).header("x-signature", &signed_with_nothing).body(&payload[..]).send().await.unwrap();
    let refused_unknown = expect_error(answer, StatusCode::UNAUTHORIZED, "could be verified").await;
    assert_eq!(refused_signature.replace(&id.to_string(), "N"), refused_unknown.replace(&(id + 1000).to_string(), "N"));
}

async fn a_token_endpoint_that_cannot_be_reached_reads_the_same_whatever_the_port_did(backend: Backend) {
    let app = spawn(backend, true).await;
    let element = json!({
        "key": "test-oracle", "name": "Oracle", "hub": "general", "auth": "oauth2",
        "oauth": {"authorizationUrl": "http://127.0.0.1:{port}/auth", "tokenUrl": "http://127.0.0.1:{port}/token"},
        "api": {"baseUrl": "http://127.0.0.1:{port}/api", "credentials": {"in": "bearer"}},
        "parameters": [{"key": "port", "label": "Port"}]
    });
    app.create_element(&element).await;
    // A closed port, and one that takes the connection and drops it without a word.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dropping = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dropping_port = dropping.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = dropping.accept().await {
            drop(socket);
        }
    });
    let mut answers = Vec::new();
    for port in [closed, dropping_port] {
        let body = json!({"name": "o", "providerData": {"code": "c"}, "configuration": {
            "oauth.api.key": "id", "oauth.api.secret": "secret", "oauth.callback.url": "https://app.example/cb",
            "port": port.to_string()}});
        let answer = app.as_admin(Method::POST, "/elements/test-oracle/instances").json(&body).send().await.unwrap();
        let answer = expect_json(answer, StatusCode::BAD_GATEWAY).await;
        answers.push((answer["message"].clone(), answer["providerMessage"].clone()));
    }
    assert_eq!(answers[0], answers[1], "a closed port and a dropped connection must read the same");
    assert!(answers[0].1.as_str().unwrap().contains("could not reach the provider"), "{answers:?}");
}

/// A token endpoint on loopback that grants a short-lived token to every request, and counts them.
async fn granting_listener() -> (u16, Arc<AtomicUsize>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let grant = move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            axum::Json(json!({"access_token": "a", "refresh_token": "r", "expires_in": 1, "token_type": "bearer"}))
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(grant)).await.unwrap() });
    (port, requests)
}

/// An instance stored while private networks were allowed is refreshed, proxied and revoked by a node where they
/// are not: each of those requests is refused before it is sent.
async fn refresh_proxy_and_revocation_of_a_stored_instance_follow_the_policy(backend: Backend) {
    let app = spawn(backend, true).await;
    let (port, requests) = granting_listener().await;
    let element = json!({
        "key": "test-stored", "name": "Stored", "hub": "general", "auth": "oauth2",
        "oauth": {"authorizationUrl": format!("http://127.0.0.1:{port}/auth"), "tokenUrl": format!("http://127.0.0.1:{port}/token"),
            "revokeUrl": format!("http://127.0.0.1:{port}/revoke")},
        "api": {"baseUrl": format!("http://127.0.0.1:{port}/api"), "credentials": {"in": "bearer"}}
    });
    app.create_element(&element).await;
    let body = json!({"name": "s", "providerData": {"code": "c"}, "configuration": {
        "oauth.api.key": "id", "oauth.api.secret": "secret", "oauth.callback.url": "https://app.example/cb"}});
    let created = app.as_admin(Method::POST, "/elements/test-stored/instances").json(&body).send().await.unwrap();
    let created = expect_json(created, StatusCode::OK).await;
    let (id, token) = (created["id"].as_i64().unwrap(), created["token"].as_str().unwrap().to_owned());
    assert_eq!(requests.load(Ordering::SeqCst), 1, "the code exchange reached the token endpoint");

    let strict = app.another_node(|config| config.outbound.allow_private_network = false).await;
    // The token expires within the refresh margin, so the call would refresh first.
    let call = app.as_instance_at(&strict.base_url, &token, Method::GET, "/hubs/general/things").send().await.unwrap();
    assert!(call.status().is_client_error(), "{}", call.status());
    let deleted =
        app.as_instance_at(&strict.base_url, &token, Method::DELETE, &format!("/instances/{id}")).send().await.unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    assert_eq!(requests.load(Ordering::SeqCst), 1, "refresh, proxy and revocation sent nothing");
}

/// A callback URL saved while private networks were allowed, whose name resolves to loopback: a deliverer on a node
/// where they are not records the refusal, and the receiver hears nothing.
async fn a_stored_callback_that_resolves_inward_is_not_delivered_to(backend: Backend) {
    let app = spawn(backend, true).await;
    let listener = Listener::start().await;
    let element = json!({
        "key": "test-hooked", "name": "Hooked", "hub": "general", "auth": "apiKey",
        "api": {"baseUrl": "https://api.hooked.example", "credentials": {"in": "header", "name": "x-key", "value": "{apiKey}"}},
        "parameters": [{"key": "apiKey", "label": "API key", "secret": true}],
        "events": {"support": "webhooks", "webhook": {"objectTypeField": "objectType", "objectIdField": "id", "eventTypeField": "eventType"}}
    });
    app.create_element(&element).await;
    let body = json!({"name": "h", "configuration": {"apiKey": "k", "event.notification.enabled": true,
        "event.vendor.type": "webhooks", "event.notification.callback.url": format!("http://{INWARD_NAME}:{}/hook", listener.port)}});
    let created = app.as_admin(Method::POST, "/elements/test-hooked/instances").json(&body).send().await.unwrap();
    let id = expect_json(created, StatusCode::OK).await["id"].as_i64().unwrap();
    let webhook = format!("{}/elements/api-v2/events/test-hooked/{id}", app.base_url);
    let change = json!({"id": "7", "objectType": "things", "eventType": "UPDATED"});
    expect_json(app.http.post(&webhook).json(&change).send().await.unwrap(), StatusCode::ACCEPTED).await;

    let strict = |config: &mut tether::config::Config| {
        config.outbound.allow_private_network = false;
        config.outbound.resolve_hosts.insert(INWARD_NAME.into(), vec![[127, 0, 0, 1].into()]);
    };
    let node = app.another_node(strict).await;
    let mut config = app.db.config();
    strict(&mut config);
    let plan = tether::jobs::deliver::DeliveryPlan::from_config(&config, &node.hub);
    tether::jobs::deliver::deliver_due(node.hub.clone(), plan).await.unwrap();

    assert_eq!(listener.connections(), 0, "the deliverer connected to a refused address");
    let events = app.as_admin(Method::GET, &format!("/instances/{id}/events")).send().await.unwrap();
    let events = expect_json(events, StatusCode::OK).await;
    let event = &events.as_array().unwrap()[0];
    assert_eq!(event["attempts"], 1, "{event}");
    let error = event["lastError"].as_str().unwrap_or_default();
    assert!(error.contains("resolves to a loopback address"), "{event}");
}
