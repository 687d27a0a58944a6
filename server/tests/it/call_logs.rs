//! Call logs: each proxied call is recorded without its headers or bodies, a traced instance's calls with them
//! and with credentials masked, `GET /instances/{id}/logs` filters and pages them, and retention removes old
//! records.

use crate::on_both_backends;
use crate::proxy::echo_instance;
use crate::utils::{Backend, TestApp, expect_error, expect_json};
use axum::http::{StatusCode as AxumStatus, Uri};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

on_both_backends!(
    proxied_calls_are_logged_without_headers_or_bodies,
    traced_calls_keep_bodies_with_credentials_masked,
    retention_removes_old_records_and_traces_first,
    a_batch_keeps_the_calls_of_this_organizations_live_instances_only,
);

/// An upstream API on loopback: `…/status/{code}` answers that status, anything else 200; each with a small
/// JSON body naming the path.
async fn status_upstream() -> String {
    async fn answer(uri: Uri) -> (AxumStatus, [(&'static str, &'static str); 2], String) {
        let status = uri
            .path()
            .rsplit_once("/status/")
            .and_then(|(_, code)| code.parse::<u16>().ok())
            .and_then(|code| AxumStatus::from_u16(code).ok())
            .unwrap_or(AxumStatus::OK);
        let headers = [("content-type", "application/json"), ("x-upstream", "status")];
        (status, headers, json!({"path": uri.path(), "answer": "from upstream"}).to_string())
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(answer)).await.unwrap() });
    base
}

/// Sends a call through the instance and answers its request id, after reading the whole answer.
async fn call(app: &TestApp, token: &str, method: Method, path: &str, body: Option<&str>) -> String {
    let mut request = app.as_instance(token, method, &format!("/hubs/general/{path}"));
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    response.bytes().await.unwrap();
    request_id
}

async fn logs(app: &TestApp, id: i64, query: &str) -> Vec<Value> {
    let answer = app.as_admin(Method::GET, &format!("/instances/{id}/logs{query}")).send().await.unwrap();
    expect_json(answer, StatusCode::OK).await.as_array().unwrap().clone()
}

async fn proxied_calls_are_logged_without_headers_or_bodies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let upstream = status_upstream().await;
    let (_, id, token) = echo_instance(&app, &upstream).await;
    let body = r#"{"note": "private body text"}"#;
    let first = call(&app, &token, Method::POST, "things/42?limit=5&q=private-query", Some(body)).await;
    call(&app, &token, Method::GET, "things/status/404", None).await;
    let last = call(&app, &token, Method::GET, "things/status/503", None).await;

    let all = logs(&app, id, "").await;
    assert_eq!(all.len(), 3, "{all:?}");
    let newest = &all[0];
    assert_eq!((newest["method"].as_str(), newest["path"].as_str()), (Some("GET"), Some("/things/status/503")));
    assert_eq!(newest["status"], 503);
    assert_eq!(newest["requestId"], last.as_str());
    let oldest = &all[2];
    assert_eq!((oldest["method"].as_str(), oldest["path"].as_str()), (Some("POST"), Some("/things/42")));
    assert_eq!(oldest["status"], 200);
    assert_eq!(oldest["requestId"], first.as_str());
    assert_eq!(oldest["requestBytes"], body.len());
    assert!(oldest["responseBytes"].as_u64().unwrap() > 20, "{oldest}");
    assert!(oldest["durationMs"].as_f64().unwrap() > 0.0, "{oldest}");
    assert_eq!(oldest["refreshed"], false);
    assert!(all.iter().all(|call| call["trace"].is_null() && call["instanceId"] == id));
    let text = Value::from(all.clone()).to_string();
    for private in ["private body text", "private-query", "upstream-secret", "from upstream"] {
        assert!(!text.contains(private), "{private} is not kept without trace logging: {text}");
    }

    let statuses = |calls: Vec<Value>| calls.iter().map(|call| call["status"].as_u64().unwrap()).collect::<Vec<_>>();
    assert_eq!(statuses(logs(&app, id, "?status=4xx").await), [404]);
    assert_eq!(statuses(logs(&app, id, "?status=503").await), [503]);
    assert_eq!(statuses(logs(&app, id, "?pageSize=2&page=2").await), [200]);
    let before_any = oldest["at"].as_str().unwrap();
    assert!(logs(&app, id, &format!("?to={}", before_any.replace('+', "%2B"))).await.is_empty());
    assert_eq!(logs(&app, id, &format!("?from={}", before_any.replace('+', "%2B"))).await.len(), 3);
    let wrong = app.as_admin(Method::GET, &format!("/instances/{id}/logs?status=7xx")).send().await.unwrap();
    expect_error(wrong, StatusCode::BAD_REQUEST, "status").await;
    let missing = app.as_admin(Method::GET, "/instances/999999/logs").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn traced_calls_keep_bodies_with_credentials_masked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let upstream = status_upstream().await;
    let (_, id, token) = echo_instance(&app, &upstream).await;
    let patched = app
        .as_admin(Method::PATCH, &format!("/instances/{id}"))
        .json(&json!({"traceLoggingEnabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(patched, StatusCode::OK).await["traceLoggingEnabled"], true);
    let body = r#"{"note": "traced body text"}"#;
    call(&app, &token, Method::POST, "things", Some(body)).await;

    let all = logs(&app, id, "").await;
    assert_eq!(all.len(), 1);
    let trace = &all[0]["trace"];
    assert_eq!(trace["requestBody"], body);
    assert_eq!(trace["requestBodyTruncated"], false);
    assert!(trace["responseBody"].as_str().unwrap().contains("from upstream"), "{trace}");
    let header = |side: &str, name: &str| {
        trace[side].as_array().unwrap().iter().find(|pair| pair[0] == name).map(|pair| pair[1].clone())
    };
    assert_eq!(header("requestHeaders", "authorization"), Some(json!("********")));
    assert_eq!(header("requestHeaders", "content-type"), Some(json!("application/json")));
    assert_eq!(header("responseHeaders", "x-upstream"), Some(json!("status")));
    let text = Value::from(all).to_string();
    for secret in [
        token.as_str(),
        app.first.user_secret.expose_secret(),
        app.first.organization_secret.expose_secret(),
        "upstream-secret",
    ] {
        assert!(!text.contains(secret), "a credential is in the trace: {text}");
    }

    let off = app
        .as_admin(Method::PATCH, &format!("/instances/{id}"))
        .json(&json!({"traceLoggingEnabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(off, StatusCode::OK).await["traceLoggingEnabled"], false);
    call(&app, &token, Method::POST, "things", Some(body)).await;
    assert!(logs(&app, id, "").await[0]["trace"].is_null(), "trace logging off keeps no body");
}

async fn retention_removes_old_records_and_traces_first(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.proxy.call_log_max_per_instance = 2;
        config.proxy.call_log_max_age = std::time::Duration::from_secs(7 * 86_400);
        config.proxy.trace_max_age = std::time::Duration::from_secs(3600);
    })
    .await;
    let upstream = status_upstream().await;
    let (_, id, token) = echo_instance(&app, &upstream).await;
    let trace_on = json!({"traceLoggingEnabled": true});
    let patched = app.as_admin(Method::PATCH, &format!("/instances/{id}")).json(&trace_on).send().await.unwrap();
    expect_json(patched, StatusCode::OK).await;
    for n in 1..=4 {
        call(&app, &token, Method::GET, &format!("things/{n}"), None).await;
    }
    assert_eq!(logs(&app, id, "").await.len(), 4);

    let now = tether::store::now_millis();
    assert_eq!(app.hub.prune_call_logs(now).await.unwrap(), 2, "all but the newest two go");
    let kept: Vec<Value> = logs(&app, id, "").await;
    let paths: Vec<&str> = kept.iter().map(|call| call["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/things/4", "/things/3"]);
    assert!(kept.iter().all(|call| !call["trace"].is_null()));

    let two_hours = 2 * 3_600_000;
    assert_eq!(app.hub.prune_call_logs(now + two_hours).await.unwrap(), 0);
    let kept = logs(&app, id, "").await;
    assert_eq!(kept.len(), 2, "the records stay");
    assert!(kept.iter().all(|call| call["trace"].is_null()), "their headers and bodies go after an hour");

    let eight_days = 8 * 86_400_000;
    assert_eq!(app.hub.prune_call_logs(now + eight_days).await.unwrap(), 2);
    assert!(logs(&app, id, "").await.is_empty());
}

/// A recorded call through `instance` at `at`, as the proxy hands it over.
fn recorded(organization: app::types::OrganizationId, instance: i64, at: i64) -> app::call_logs::RecordedCall {
    app::call_logs::RecordedCall {
        organization_id: organization,
        instance_id: app::instances::InstanceId(instance),
        at,
        method: "GET".into(),
        path: format!("/things/{at}"),
        status: 200,
        duration_micros: 1_000,
        request_bytes: 0,
        response_bytes: 10,
        refreshed: false,
        request_id: None,
        trace: None,
    }
}

async fn a_batch_keeps_the_calls_of_this_organizations_live_instances_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let upstream = status_upstream().await;
    let (_, live, _) = echo_instance(&app, &upstream).await;
    let organization = app.first.organization.id;
    let other_organization = app::types::OrganizationId(organization.0 + 1);
    // More calls than one statement inserts, mixed with calls of a missing instance and of another organization.
    let mut batch = Vec::new();
    for at in 1..=250 {
        batch.push(recorded(organization, live, at));
        batch.push(recorded(organization, live + 1_000, at));
        batch.push(recorded(other_organization, live, at));
    }
    app.hub.store().insert_call_logs(&batch).await.unwrap();

    let filter = tether::store::call_logs::CallLogFilter { statuses: (100, 599), from: 0, to: i64::MAX };
    let stored =
        app.hub.store().call_logs(organization, app::instances::InstanceId(live), filter, 1_000, 0).await.unwrap();
    assert_eq!(stored.len(), 250);
    let mut paths: Vec<String> = stored.iter().map(|call| call.path.clone()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 250, "each call once");
    let missing = app.hub.store().call_logs(organization, app::instances::InstanceId(live + 1_000), filter, 1_000, 0);
    assert!(missing.await.unwrap().is_empty());
}
