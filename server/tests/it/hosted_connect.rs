//! The hosted connect page as an end user without JavaScript meets it: plain page loads, links and form posts,
//! with no console cookie. The sandbox is connected through its consent page and lands on the team's redirect
//! URL with the new instance, which carries the end user and the tags; a declined consent, a used, expired or
//! withdrawn link and an element the session leaves out are each refused with nothing made; a reconnect keeps
//! the instance's id and token; a basic element connects through its form.

use crate::connect::basic_element_session;
use crate::on_both_backends;
use crate::sandbox::{sandbox_client_secret, sandbox_consent};
use crate::utils::{Backend, TestApp, expect_json};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use std::collections::HashMap;

on_both_backends!(
    an_end_user_connects_the_sandbox_and_lands_on_the_teams_page,
    refused_links_and_choices_make_nothing,
    a_reconnect_keeps_the_instances_id_and_token,
    a_basic_element_connects_through_its_form,
);

const DONE_URL: &str = "http://localhost:4000/connected";

pub(crate) async fn sandbox_app(backend: Backend) -> TestApp {
    let app = TestApp::spawn_with(backend, |config| config.sandbox.enabled = true).await;
    let secret = sandbox_client_secret(&app).await;
    let saved = json!({"apiKey": tether::sandbox::CLIENT_ID, "apiSecret": secret,
        "callbackUrl": format!("{}/oauth/callback", app.base_url)});
    let put = app.as_admin(Method::PUT, "/elements/sandbox/oauth/app").json(&saved).send().await.unwrap();
    assert!(put.status().is_success(), "the sandbox's OAuth app is saved: {}", put.status());
    let urls = json!({"urls": [DONE_URL]});
    expect_json(app.as_admin(Method::PUT, "/connect/redirect-urls").json(&urls).send().await.unwrap(), StatusCode::OK)
        .await;
    app
}

/// A new session's `(id, token)`.
async fn new_session(app: &TestApp, body: Value) -> (String, String) {
    let created = app.as_admin(Method::POST, "/connect/sessions").json(&body).send().await.unwrap();
    let created = expect_json(created, StatusCode::CREATED).await;
    (created["id"].as_str().unwrap().to_owned(), created["token"].as_str().unwrap().to_owned())
}

/// A browser with JavaScript off: it follows nothing by itself and keeps no cookie.
async fn get(app: &TestApp, path_or_url: &str) -> reqwest::Response {
    let url =
        if path_or_url.starts_with("http") { path_or_url.to_owned() } else { format!("{}{path_or_url}", app.base_url) };
    app.http.get(url).send().await.unwrap()
}

fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "a 303, not {}", response.status());
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// A page's HTML without the markers hydration places between text pieces.
async fn page_text(app: &TestApp, path: &str) -> String {
    let page = get(app, path).await;
    assert_eq!(page.status(), StatusCode::OK, "{path}");
    page.text().await.unwrap().replace("<!>", "")
}

async fn instance_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM instances").fetch_one(app.hub.store().pool()).await.unwrap()
}

async fn session_state(app: &TestApp, id: &str) -> Value {
    expect_json(app.as_admin(Method::GET, &format!("/connect/sessions/{id}")).send().await.unwrap(), StatusCode::OK)
        .await
}

/// Consents at the sandbox for the flow `start` leads to, and answers Tether's answer to the provider's redirect.
pub(crate) async fn consent_and_return(app: &TestApp, start: &str, approve: bool) -> reqwest::Response {
    let provider = location(&get(app, start).await);
    assert!(provider.starts_with(&format!("{}/sandbox/oauth/authorize", app.base_url)), "{provider}");
    let callback = sandbox_consent(&provider, "ada", approve).await;
    assert_eq!(callback.path(), "/oauth/callback");
    get(app, callback.as_str()).await
}

/// Connects the sandbox as `end_user` through a new session tagged `lifecycle`, or reconnects `instance`;
/// answers the instance's id and token.
pub(crate) async fn connect_sandbox(app: &TestApp, end_user: &str, instance: Option<i64>) -> (i64, String) {
    let body = match instance {
        Some(id) => json!({"endUser": {"id": end_user}, "instanceId": id}),
        None => json!({"endUser": {"id": end_user}, "elements": ["sandbox"], "tags": ["lifecycle"]}),
    };
    let (session, token) = new_session(app, body).await;
    location(&consent_and_return(app, &format!("/connect/{token}/sandbox"), true).await);
    let id = session_state(app, &session).await["instanceId"].as_i64().expect("the session connected an instance");
    let instance = app.as_admin(Method::GET, &format!("/instances/{id}")).send().await.unwrap();
    (id, expect_json(instance, StatusCode::OK).await["token"].as_str().unwrap().to_owned())
}

async fn an_end_user_connects_the_sandbox_and_lands_on_the_teams_page(backend: Backend) {
    let app = sandbox_app(backend).await;
    let body = json!({"endUser": {"id": "user-7", "email": "ada@example.com"}, "elements": ["sandbox"],
        "tags": ["customer-7"], "redirectUrl": DONE_URL});
    let (id, token) = new_session(&app, body).await;

    let page = get(&app, &format!("/connect/{token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers["referrer-policy"], "no-referrer", "the token in the URL never leaves as a referrer");
    assert!(headers.get("set-cookie").is_none(), "no cookie is set");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("form-action 'self' http://localhost:4000;"), "{policy}");
    let html = page.text().await.unwrap();
    let team = format!("data-testid=\"connect-team\" class=\"connect-team\">{}<", app.first.organization.name);
    assert!(html.contains(&team), "the team's name shows: {html}");
    assert!(html.contains(&format!("href=\"/connect/{token}/sandbox\"")), "the sandbox is a plain link");
    assert!(!html.contains(tether::sandbox::CLIENT_ID), "the end user never sees the client id");

    // The provider's authorization URL carries PKCE and a state of Tether's own.
    let provider = Url::parse(&location(&get(&app, &format!("/connect/{token}/sandbox")).await)).unwrap();
    let query: HashMap<String, String> = provider.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(query["state"].starts_with("connect-") && query["state"].len() > 40, "{query:?}");
    assert_eq!(query["redirect_uri"], format!("{}/oauth/callback", app.base_url));

    let landed = consent_and_return(&app, &format!("/connect/{token}/sandbox"), true).await;
    let landed = Url::parse(&location(&landed)).unwrap();
    let outcome: HashMap<String, String> = landed.query_pairs().into_owned().collect();
    assert_eq!(landed.as_str().split('?').next().unwrap(), DONE_URL);
    assert_eq!((outcome["status"].as_str(), outcome["element"].as_str()), ("connected", "sandbox"));
    let instance_id: i64 = outcome["instanceId"].parse().unwrap();

    let instance = app.as_admin(Method::GET, &format!("/instances/{instance_id}")).send().await.unwrap();
    let instance = expect_json(instance, StatusCode::OK).await;
    assert_eq!(instance["endUser"], json!({"id": "user-7", "email": "ada@example.com"}));
    assert_eq!(instance["tags"], json!(["customer-7"]));
    assert_eq!(instance["user"]["id"].as_i64(), Some(app.first.admin.id.0), "made under the session's maker");
    let mine = app.as_admin(Method::GET, "/instances?endUserId=user-7").send().await.unwrap();
    let mine = expect_json(mine, StatusCode::OK).await;
    assert_eq!(mine.as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect::<Vec<_>>(), [instance_id]);
    let nobody = app.as_admin(Method::GET, "/instances?endUserId=user-8").send().await.unwrap();
    assert_eq!(expect_json(nobody, StatusCode::OK).await, json!([]));

    let shown = session_state(&app, &id).await;
    assert_eq!((shown["state"].as_str(), shown["instanceId"].as_i64()), (Some("completed"), Some(instance_id)));
    let done = page_text(&app, &format!("/connect/{token}")).await;
    assert!(done.contains("Connected to Tether Sandbox"), "{done}");
    assert!(!done.contains("tether-connect-result"), "no popup opener is told without an allowed origin");
}

async fn refused_links_and_choices_make_nothing(backend: Backend) {
    let app = sandbox_app(backend).await;
    app.create_element(&crate::instances::basic_element()).await;
    let session = |elements: Value| json!({"endUser": {"id": "user-9"}, "elements": elements, "redirectUrl": DONE_URL, "expiresInMinutes": 5});

    // Declined at the provider: back on the page, which says so and offers the choices again.
    let (id, token) = new_session(&app, session(json!(["sandbox"]))).await;
    let back = location(&consent_and_return(&app, &format!("/connect/{token}/sandbox"), false).await);
    assert_eq!(back, format!("/connect/{token}"));
    let page = page_text(&app, &back).await;
    assert!(page.contains("data-reason=\"declined\"") && page.contains("You declined access"), "{page}");
    assert!(page.contains(&format!("/connect/{token}/sandbox")), "the sandbox can be tried again");
    assert_eq!(session_state(&app, &id).await["state"], "open");

    // An element the session leaves out, though the organization has it.
    let back = location(&get(&app, &format!("/connect/{token}/test-basic")).await);
    let page = page_text(&app, &back).await;
    assert!(page.contains("test-basic is not among the accounts this link can connect"), "{page}");
    let posted = app
        .http
        .post(format!("{}/connect/{token}/test-basic", app.base_url))
        .form(&[("account", "acme"), ("username", "ada"), ("password", "pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&posted), format!("/connect/{token}"));

    // Withdrawn by the team.
    let deleted = app.as_admin(Method::DELETE, &format!("/connect/sessions/{id}")).send().await.unwrap();
    assert!(deleted.status().is_success());
    let back = location(&get(&app, &format!("/connect/{token}/sandbox")).await);
    assert!(page_text(&app, &back).await.contains("This link was withdrawn"));

    // Expired on the hub's clock, even with a flow started before.
    let (_, token) = new_session(&app, session(json!(["sandbox"]))).await;
    let provider = location(&get(&app, &format!("/connect/{token}/sandbox")).await);
    app.advance(std::time::Duration::from_secs(6 * 60));
    let callback = sandbox_consent(&provider, "ada", true).await;
    let back = location(&get(&app, callback.as_str()).await);
    assert!(page_text(&app, &back).await.contains("This link has expired"));

    // Used: the same flow's redirect again, and a new start, both refused.
    app.advance(std::time::Duration::ZERO);
    let (_, token) = new_session(&app, session(json!(["sandbox"]))).await;
    let provider = location(&get(&app, &format!("/connect/{token}/sandbox")).await);
    let callback = sandbox_consent(&provider, "ada", true).await;
    location(&get(&app, callback.as_str()).await);
    let made = instance_count(&app).await;
    let replayed = get(&app, callback.as_str()).await;
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
    assert!(replayed.text().await.unwrap().contains("expired or was already completed"));
    let back = location(&get(&app, &format!("/connect/{token}/sandbox")).await);
    let page = page_text(&app, &back).await;
    assert!(page.contains("Connected to Tether Sandbox"), "the page shows what the link connected: {page}");
    assert!(!page.contains(&format!("/connect/{token}/sandbox")), "and offers nothing more to connect");

    // A token no session has.
    let unknown = get(&app, "/connect/not-a-token").await;
    assert_eq!(unknown.status(), StatusCode::OK, "the page renders, saying so");
    assert!(unknown.text().await.unwrap().contains("This connect link is not valid"));
    let unknown = get(&app, "/connect/not-a-token/sandbox").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(instance_count(&app).await, made, "only the one completed session made an instance");
    assert_eq!(made, 1);
}

async fn a_reconnect_keeps_the_instances_id_and_token(backend: Backend) {
    let app = sandbox_app(backend).await;
    let (_, token) = new_session(&app, json!({"endUser": {"id": "user-1"}, "elements": ["sandbox"]})).await;
    let landed = consent_and_return(&app, &format!("/connect/{token}/sandbox"), true).await;
    assert_eq!(location(&landed), format!("/connect/{token}"), "with no redirect URL, the page says what happened");
    let instance = app.as_admin(Method::GET, "/instances?endUserId=user-1").send().await.unwrap();
    let instance = expect_json(instance, StatusCode::OK).await[0].clone();
    let id = instance["id"].as_i64().unwrap();
    let disable = app.as_admin(Method::PUT, &format!("/instances/{id}/enabled")).json(&json!(false));
    assert!(disable.send().await.unwrap().status().is_success());

    let body = json!({"endUser": {"id": "user-1"}, "instanceId": id, "redirectUrl": DONE_URL});
    let (_, token) = new_session(&app, body).await;
    let page = page_text(&app, &format!("/connect/{token}")).await;
    assert!(page.contains(&format!("Reconnect {}", instance["name"].as_str().unwrap())), "{page}");
    let landed = Url::parse(&location(&consent_and_return(&app, &format!("/connect/{token}/sandbox"), true).await));
    let outcome: HashMap<String, String> = landed.unwrap().query_pairs().into_owned().collect();
    assert_eq!(outcome["instanceId"], id.to_string(), "the same instance");
    let after =
        expect_json(app.as_admin(Method::GET, &format!("/instances/{id}")).send().await.unwrap(), StatusCode::OK);
    let after = after.await;
    assert_eq!(after["token"], instance["token"], "the same token");
    assert_eq!((after["disabled"].as_bool(), after["valid"].as_bool()), (Some(false), Some(true)));
    assert_eq!(instance_count(&app).await, 1);
}

async fn a_basic_element_connects_through_its_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, token) = basic_element_session(&app).await;
    // The element's link leads to its form, which posts back to the same path.
    let form_page = get(&app, &format!("/connect/{token}/test-basic")).await;
    assert_eq!(form_page.status(), StatusCode::OK);
    let html = form_page.text().await.unwrap();
    assert!(html.contains(&format!("action=\"/connect/{token}/test-basic\"")) && html.contains("name=\"password\""));

    let post = |fields: Vec<(&'static str, &'static str)>| {
        app.http.post(format!("{}/connect/{token}/test-basic", app.base_url)).form(&fields).send()
    };
    let refused = post(vec![("account", "NOT VALID"), ("username", "ada"), ("password", "pw")]).await.unwrap();
    let back = location(&refused);
    let page = page_text(&app, &back).await;
    assert!(page.contains("account") && page.contains("data-reason=\"refused\""), "{page}");
    assert_eq!(instance_count(&app).await, 0);

    // Fields that are not the element's own are dropped, not stored.
    let made = post(vec![("account", "acme"), ("username", "ada"), ("password", "pw"), ("oauth.api.key", "x")]);
    let landed = Url::parse(&location(&made.await.unwrap())).unwrap();
    let instance_id: i64 = landed.query_pairs().find(|(k, _)| k == "instanceId").unwrap().1.parse().unwrap();
    let instance = app.as_admin(Method::GET, &format!("/instances/{instance_id}")).send().await.unwrap();
    let instance = expect_json(instance, StatusCode::OK).await;
    assert_eq!(instance["endUser"]["id"], "user-42");
    assert_eq!(instance["configuration"]["password"], "********");
    assert!(instance["configuration"].get("oauth.api.key").is_none(), "{instance}");
    assert_eq!(session_state(&app, &id).await["state"], "completed");
}
