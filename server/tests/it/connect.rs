//! Connect sessions over the REST API: the allowed redirect URLs, a session made, shown, expired on the hub's clock
//! and ended, a reconnect session, every bad request refused by field with nothing made, and the Account page's
//! list of redirect URLs.

use crate::instances::basic_element;
use crate::on_both_backends;
use crate::utils::{Backend, TestApp, expect_error, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    a_session_is_made_shown_expired_and_ended,
    a_reconnect_session_names_its_instances_element,
    bad_sessions_are_refused_by_field_and_nothing_is_made,
    the_account_page_keeps_the_redirect_urls,
);

const DONE_URL: &str = "https://app.example/connected";

async fn allow_redirects(app: &TestApp) {
    let urls = json!({"urls": [DONE_URL, "http://localhost:3000/done", DONE_URL]});
    let set = app.as_admin(Method::PUT, "/connect/redirect-urls").json(&urls).send().await.unwrap();
    let saved = expect_json(set, StatusCode::OK).await;
    assert_eq!(saved, json!({"urls": ["http://localhost:3000/done", DONE_URL]}), "sorted, once each");
    let read = expect_json(app.as_admin(Method::GET, "/connect/redirect-urls").send().await.unwrap(), StatusCode::OK);
    assert_eq!(read.await, saved);
}

/// A session for end user `user-42` to connect the basic test element, which it adds; answers `(id, token)`.
pub async fn basic_element_session(app: &TestApp) -> (String, String) {
    app.create_element(&basic_element()).await;
    allow_redirects(app).await;
    let body = json!({"endUser": {"id": "user-42"}, "elements": ["test-basic"], "redirectUrl": DONE_URL});
    let created = create_session(app, &body).await;
    (created["id"].as_str().unwrap().to_owned(), created["token"].as_str().unwrap().to_owned())
}

async fn create_session(app: &TestApp, body: &Value) -> Value {
    let created = app.as_admin(Method::POST, "/connect/sessions").json(body).send().await.unwrap();
    expect_json(created, StatusCode::CREATED).await
}

async fn session(app: &TestApp, id: &str) -> Value {
    expect_json(app.as_admin(Method::GET, &format!("/connect/sessions/{id}")).send().await.unwrap(), StatusCode::OK)
        .await
}

async fn stored_sessions(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM connect_sessions").fetch_one(app.hub.store().pool()).await.unwrap()
}

async fn a_session_is_made_shown_expired_and_ended(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_element(&basic_element()).await;
    allow_redirects(&app).await;
    let body = json!({"endUser": {"id": "user-42", "email": "Ada@Example.com", "displayName": "Ada"},
        "elements": ["test-basic", "test-basic"], "tags": ["customer-42"], "redirectUrl": DONE_URL});
    let before = chrono::Utc::now();
    let created = create_session(&app, &body).await;
    let (id, token) = (created["id"].as_str().unwrap(), created["token"].as_str().unwrap());
    assert!(token.len() >= 32, "{created}");
    assert_eq!(created["url"], format!("{}/connect/{token}", app.base_url));
    let expires: chrono::DateTime<chrono::Utc> = created["expiresAt"].as_str().unwrap().parse().unwrap();
    let lifetime = expires - before;
    assert!((29..=30).contains(&lifetime.num_minutes()), "30 minutes by default: {lifetime}");

    let shown = session(&app, id).await;
    assert_eq!(shown["state"], "open");
    assert_eq!(shown["endUser"], json!({"id": "user-42", "email": "ada@example.com", "displayName": "Ada"}));
    assert_eq!((&shown["elements"], &shown["tags"]), (&json!(["test-basic"]), &json!(["customer-42"])));
    assert_eq!(shown["redirectUrl"], DONE_URL);
    assert!(!shown.to_string().contains(token), "the token is shown only once");
    let (digest, account): (String, i64) =
        sqlx::query_as("SELECT token_digest, account_id FROM connect_sessions WHERE id = $1")
            .bind(id)
            .fetch_one(app.hub.store().pool())
            .await
            .unwrap();
    assert_ne!(digest, token, "the token is kept only as its digest");
    assert_eq!(account, app.account_id(), "the session remembers the account it connects for");

    // Another organization sees none of it.
    let other =
        app.hub.create_organization("Other", "boss@other.example", &tether::store::audit::Actor::Cli).await.unwrap();
    let theirs = app.as_tenant(&other, Method::GET, &format!("/connect/sessions/{id}")).send().await.unwrap();
    expect_error(theirs, StatusCode::NOT_FOUND, "No connect session").await;
    let ended_by_them = app.as_tenant(&other, Method::DELETE, &format!("/connect/sessions/{id}")).send().await;
    expect_error(ended_by_them.unwrap(), StatusCode::NOT_FOUND, "No connect session").await;

    // Unused past its expiry, on the hub's clock, it reads as expired.
    app.advance(std::time::Duration::from_secs(29 * 60));
    assert_eq!(session(&app, id).await["state"], "open");
    app.advance(std::time::Duration::from_secs(61));
    assert_eq!(session(&app, id).await["state"], "expired");

    // A week at most; ending an open session closes it, and ending it again changes nothing.
    let week = create_session(&app, &json!({"endUser": {"id": "user-7"}, "expiresInMinutes": 10080})).await;
    let week_id = week["id"].as_str().unwrap();
    assert_eq!(
        session(&app, week_id).await["elements"],
        json!([]),
        "no list: every element the organization can connect"
    );
    for _ in 0..2 {
        let ended = app.as_admin(Method::DELETE, &format!("/connect/sessions/{week_id}")).send().await.unwrap();
        assert_eq!(ended.status(), StatusCode::NO_CONTENT);
        assert_eq!(session(&app, week_id).await["state"], "ended");
    }
    let expired = app.as_admin(Method::DELETE, &format!("/connect/sessions/{id}")).send().await.unwrap();
    assert_eq!(expired.status(), StatusCode::NO_CONTENT);
    assert_eq!(session(&app, id).await["state"], "expired", "an expired session stays expired");
    let unknown = app.as_admin(Method::GET, "/connect/sessions/cs_nothing").send().await.unwrap();
    expect_error(unknown, StatusCode::NOT_FOUND, "No connect session with id cs_nothing").await;
}

async fn a_reconnect_session_names_its_instances_element(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_element(&basic_element()).await;
    let instance = app
        .create_instance(&json!({"element": {"key": "test-basic"}, "name": "Basic",
            "configuration": {"account": "acme", "username": "ada", "password": "a-password"}}))
        .await;
    let created = create_session(&app, &json!({"endUser": {"id": "user-1"}, "instanceId": instance.id})).await;
    let shown = session(&app, created["id"].as_str().unwrap()).await;
    assert_eq!(shown["instanceId"], instance.id.0);
    assert_eq!(shown["elements"], json!(["test-basic"]), "a reconnect offers its instance's element");
}

async fn bad_sessions_are_refused_by_field_and_nothing_is_made(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_element(&basic_element()).await;
    allow_redirects(&app).await;
    let other =
        app.hub.create_organization("Other", "boss@other.example", &tether::store::audit::Actor::Cli).await.unwrap();
    let user = json!({"id": "user-1"});
    let cases = [
        (json!({}), StatusCode::BAD_REQUEST, "missing field `endUser`"),
        (json!({"endUser": {"id": " "}}), StatusCode::BAD_REQUEST, "endUser.id: must not be empty"),
        (json!({"endUser": {"id": "u", "email": "nope"}}), StatusCode::BAD_REQUEST, "endUser.email:"),
        (
            json!({"endUser": user, "elements": ["test-basic", "no-such"]}),
            StatusCode::BAD_REQUEST,
            "elements[1]: no element no-such",
        ),
        (
            json!({"endUser": user, "elements": ["hubspot"]}),
            StatusCode::BAD_REQUEST,
            "elements[0]: hubspot needs the organization's OAuth app",
        ),
        (
            json!({"endUser": user, "redirectUrl": "https://evil.example/steal"}),
            StatusCode::BAD_REQUEST,
            "redirectUrl: is not one of",
        ),
        (
            json!({"endUser": user, "expiresInMinutes": 0}),
            StatusCode::BAD_REQUEST,
            "expiresInMinutes: must be from 1 to 10080",
        ),
        (
            json!({"endUser": user, "expiresInMinutes": 10081}),
            StatusCode::BAD_REQUEST,
            "expiresInMinutes: must be from 1 to 10080",
        ),
        (json!({"endUser": user, "tags": [""]}), StatusCode::BAD_REQUEST, "tags[0]: must not be empty"),
        (json!({"endUser": user, "instanceId": 999_999}), StatusCode::NOT_FOUND, "No instance with id 999999"),
        (json!({"endUser": user, "colour": "red"}), StatusCode::BAD_REQUEST, "unknown field `colour`"),
    ];
    for (body, status, needle) in cases {
        let answer = app.as_admin(Method::POST, "/connect/sessions").json(&body).send().await.unwrap();
        expect_error(answer, status, needle).await;
    }
    // Another organization's instance is not found, not merely refused.
    let basic = json!({"element": {"key": "test-basic"}, "name": "Theirs",
        "configuration": {"account": "acme", "username": "ada", "password": "a-password"}});
    let element = app.as_tenant(&other, Method::POST, "/elements").json(&basic_element()).send().await.unwrap();
    expect_json(element, StatusCode::OK).await;
    let theirs = app.as_tenant(&other, Method::POST, "/instances").json(&basic).send().await.unwrap();
    let theirs = expect_json(theirs, StatusCode::OK).await;
    let reconnect = json!({"endUser": user, "instanceId": theirs["id"]});
    let answer = app.as_admin(Method::POST, "/connect/sessions").json(&reconnect).send().await.unwrap();
    expect_error(answer, StatusCode::NOT_FOUND, "No instance with id").await;
    assert_eq!(stored_sessions(&app).await, 0, "no refused request made a session");

    // Redirect URLs: https, or http on localhost, with no fragment; a bad one changes nothing.
    for (url, needle) in [
        ("http://app.example/done", "urls[1]: must be an https URL"),
        ("https://app.example/#top", "urls[1]: must have no #fragment"),
    ] {
        let set = app.as_admin(Method::PUT, "/connect/redirect-urls").json(&json!({"urls": [DONE_URL, url]})).send();
        expect_error(set.await.unwrap(), StatusCode::BAD_REQUEST, needle).await;
    }
    let kept = app.as_admin(Method::GET, "/connect/redirect-urls").send().await.unwrap();
    assert_eq!(expect_json(kept, StatusCode::OK).await["urls"], json!(["http://localhost:3000/done", DONE_URL]));
}

async fn the_account_page_keeps_the_redirect_urls(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let session = crate::utils::open_session(&app.hub, &app.first.admin.email_address, &app.first.password).await;
    let cookie = format!("tether_session={}", secrecy::ExposeSecret::expose_secret(&session.token));
    let call = |function: &str, form: Vec<(&str, &str)>| {
        app.http.post(format!("{}/api/{function}", app.base_url)).header("Cookie", &cookie).form(&form).send()
    };
    let saved =
        call("save_connect_redirect_urls", vec![("urls", " https://app.example/b \n\nhttp://localhost:3000/a\n")]);
    let saved = expect_json(saved.await.unwrap(), StatusCode::OK).await;
    assert_eq!(
        saved["urls"],
        json!(["http://localhost:3000/a", "https://app.example/b"]),
        "one a line, blanks skipped"
    );
    let read = expect_json(call("connect_redirect_urls", vec![]).await.unwrap(), StatusCode::OK).await;
    assert_eq!(read, saved);
    let api = expect_json(app.as_admin(Method::GET, "/connect/redirect-urls").send().await.unwrap(), StatusCode::OK);
    assert_eq!(api.await, saved, "the console and the API keep one list");

    let refused = call("save_connect_redirect_urls", vec![("urls", "https://app.example/b\nhttp://app.example/c")]);
    let refused = refused.await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("urls[1]: must be an https URL"));
    assert_eq!(expect_json(call("connect_redirect_urls", vec![]).await.unwrap(), StatusCode::OK).await, saved);

    let page = app.http.get(format!("{}/account", app.base_url)).header("Cookie", &cookie).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("Connect redirect URLs"), "the Account page shows the section");
    assert!(page.contains("https://app.example/b"), "with the saved URLs in its box");
}
