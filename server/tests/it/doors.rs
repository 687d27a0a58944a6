//! Each door alone, over the fake hub: what the REST API and the console read from a request, what they pass
//! the hub, and how they answer the hub's errors, with no storage behind it.

use crate::fake_hub::{FAKE_ORGANIZATION_SECRET, FAKE_USER_SECRET, FakeHub};
use app::error::HubError;
use app::hub::SharedHub;
use app::instances::InstanceQuery;
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use tether::api::{RateLimit, router};
use tether::providers::outbound::{Outbound, OutboundSettings};

/// The REST API alone on a free loopback port, over `hub`; answers its base URL.
async fn rest_door(hub: Arc<FakeHub>) -> String {
    let outbound = Outbound::new(OutboundSettings::default());
    let shared: SharedHub = hub;
    let (routes, _) = router(shared, outbound, 1024 * 1024, RateLimit { per_second: 0.0, burst: 1 });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    format!("http://{address}")
}

async fn get(base: &str, path: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("Authorization", format!("User {FAKE_USER_SECRET}, Organization {FAKE_ORGANIZATION_SECRET}"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_rest_door_passes_the_hub_the_query_it_read() {
    let hub = Arc::new(FakeHub::default());
    let base = rest_door(hub.clone()).await;
    let (status, body) =
        get(&base, "/instances?tags%5B%5D=blue&tags[]=green&element=sfdc&endUserId=u%2D7&page=2&pageSize=5").await;
    assert_eq!((status, body), (StatusCode::OK, serde_json::json!([])));
    let expected = InstanceQuery {
        tags: vec!["blue".into(), "green".into()],
        element: Some("sfdc".into()),
        end_user_id: Some("u-7".into()),
        page: Some(2),
        page_size: Some(5),
    };
    assert_eq!(*hub.queries.lock().unwrap(), [expected]);
    assert_eq!(hub.calls(), ["authenticate", "list_instances"]);
}

#[tokio::test]
async fn the_rest_door_refuses_what_it_cannot_read_before_asking_the_hub() {
    let hub = Arc::new(FakeHub::default());
    let base = rest_door(hub.clone()).await;
    let (status, body) = get(&base, "/instances?colour=red").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("unknown field `colour`"), "{body}");
    let anonymous = reqwest::get(format!("{base}/instances")).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(hub.calls(), ["authenticate"], "the listing never reached the hub");
}

#[tokio::test]
async fn the_rest_door_answers_each_hub_error_with_its_status_and_message() {
    let hub = Arc::new(FakeHub::default());
    let base = rest_door(hub.clone()).await;
    let errors = [
        (HubError::BadRequest("name: required".into()), 400, "name: required"),
        (HubError::Unauthorized("who are you".into()), 401, "who are you"),
        (HubError::Forbidden("admins only".into()), 403, "admins only"),
        (HubError::NotFound("no such thing".into()), 404, "no such thing"),
        (HubError::Conflict("taken".into()), 409, "taken"),
        (HubError::TooManyRequests { message: "slow down".into(), retry_after_seconds: 7 }, 429, "slow down"),
        (
            HubError::Provider { status: 502, message: "the provider failed".into(), provider_message: "boom".into() },
            502,
            "the provider failed",
        ),
        (HubError::Internal, 500, "Internal error"),
    ];
    for (error, status, message) in errors {
        *hub.answer.lock().unwrap() = Some(error);
        let (answered, body) = get(&base, "/instances").await;
        assert_eq!(answered.as_u16(), status, "{body}");
        assert!(body["message"].as_str().unwrap().starts_with(message), "{body}");
    }
    // A refusal to hurry says when to come back.
    *hub.answer.lock().unwrap() =
        Some(HubError::TooManyRequests { message: "slow down".into(), retry_after_seconds: 7 });
    let response = reqwest::Client::new()
        .get(format!("{base}/instances"))
        .header("Authorization", format!("User {FAKE_USER_SECRET}, Organization {FAKE_ORGANIZATION_SECRET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "7");
}

/// The console alone on a free loopback port, over `hub`; answers its base URL.
async fn console_door(hub: Arc<FakeHub>) -> String {
    let shared: SharedHub = hub;
    let options = leptos::prelude::LeptosOptions::builder().output_name("tether").build();
    let cookies = app::server_fns::CookiePolicy { secure: false, max_age_seconds: 3600 };
    let document = utoipa::openapi::OpenApiBuilder::new().build();
    let routes = tether::console::router(shared, options, cookies, &document);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    format!("http://{address}")
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn the_console_door_opens_pages_only_for_a_session_the_hub_resumes() {
    let hub = Arc::new(FakeHub::default());
    let base = console_door(hub.clone()).await;
    let load = |cookie: Option<&str>| {
        let mut request = no_redirects().get(format!("{base}/instances"));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", format!("tether_session={cookie}"));
        }
        request.send()
    };
    let location =
        |response: &reqwest::Response| response.headers().get("location").map(|at| at.to_str().unwrap().to_owned());

    let anonymous = load(None).await.unwrap();
    assert!(anonymous.status().is_redirection(), "{}", anonymous.status());
    assert_eq!(location(&anonymous).as_deref(), Some("/signin?next=%2Finstances"), "back here after signing in");
    assert!(hub.calls().is_empty(), "no cookie, nothing to ask the hub: {:?}", hub.calls());

    let stale = load(Some("an-ended-session")).await.unwrap();
    assert_eq!(location(&stale).as_deref(), Some("/signin?next=%2Finstances"));
    assert_eq!(hub.calls(), ["resume_session"]);

    let signed_in = load(Some(crate::fake_hub::FAKE_SESSION)).await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert!(signed_in.text().await.unwrap().contains("<html"), "the page is rendered");
    let away = no_redirects()
        .get(format!("{base}/signin"))
        .header("Cookie", format!("tether_session={}", crate::fake_hub::FAKE_SESSION))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&away).as_deref(), Some("/"), "a signed-in user is sent away from the sign-in page");
}

#[tokio::test]
async fn the_console_door_answers_each_hub_error_with_its_status_and_refuses_other_sites() {
    let hub = Arc::new(FakeHub::default());
    let base = console_door(hub.clone()).await;
    let call = |origin: &str| {
        no_redirects()
            .post(format!("{base}/api/instance_table"))
            .header("Cookie", format!("tether_session={}", crate::fake_hub::FAKE_SESSION))
            .header("Origin", origin.to_owned())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("query[page]=2")
            .send()
    };
    let own = base.clone();
    let listed = call(&own).await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(listed.json::<Value>().await.unwrap(), serde_json::json!({"cards": [], "total": 0, "elements": []}));
    assert_eq!(hub.calls(), ["resume_session", "instance_table"]);

    for (error, status, message) in [
        (HubError::BadRequest("name: required".into()), 400, "name: required"),
        (HubError::Forbidden("admins only".into()), 403, "admins only"),
        (HubError::NotFound("no such thing".into()), 404, "no such thing"),
        (HubError::Conflict("taken".into()), 409, "taken"),
        (HubError::Internal, 500, "Internal"),
    ] {
        *hub.answer.lock().unwrap() = Some(error);
        let answered = call(&own).await.unwrap();
        assert_eq!(answered.status().as_u16(), status);
        let body = answered.text().await.unwrap();
        assert!(body.contains(message), "{status}: {body}");
    }

    let before = hub.calls().len();
    let forged = call("https://elsewhere.example").await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(hub.calls().len(), before, "another site's call never reaches the hub");
}
