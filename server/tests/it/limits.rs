//! The server's edges: the REST API's per-organization rate limit (a burst, then 429 with `Retry-After`; other
//! organizations and the bucket's refill are unaffected; proxied calls are not counted), read timeouts for slow clients, JSON errors for
//! oversized bodies on every route, and lists that stay whole while instances are deleted under them.

use crate::utils::{Backend, TestApp, eventually};
use reqwest::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_over_its_rate_gets_429_with_retry_after() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.limits.api_calls_per_second = 0.5;
        config.limits.api_burst = 3;
    })
    .await;
    let other =
        app.hub.create_organization("Other", "boss@other.example", &tether::store::audit::Actor::Cli).await.unwrap();
    for call in 1..=3 {
        let allowed = app.as_admin(Method::GET, "/instances").send().await.unwrap();
        assert_eq!(allowed.status(), StatusCode::OK, "call {call} is within the burst");
    }
    let refused = app.as_admin(Method::GET, "/instances").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "one call comes back every 2 s: {retry_after}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("Too many requests"), "{body}");

    // Another organization has its own bucket.
    let theirs = app.as_tenant(&other, Method::GET, "/instances").send().await.unwrap();
    assert_eq!(theirs.status(), StatusCode::OK);
    // The bucket refills: after the wait it named, a call goes through again.
    eventually(5, "the bucket refills", || async {
        let again = app.as_admin(Method::GET, "/instances").send().await.unwrap();
        (again.status() == StatusCode::OK).then_some(())
    })
    .await;
}

/// Calls through an instance to its provider are not counted against the REST API's limit: far more of them than
/// its burst all go through, while the REST API's own calls still meet the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxied_calls_are_not_counted_against_the_rest_apis_limit() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.limits.api_calls_per_second = 0.5;
        config.limits.api_burst = 3;
    })
    .await;
    let upstream = crate::proxy::echo_upstream().await;
    // Two REST calls: the element and the instance.
    let (_, _, token) = crate::proxy::echo_instance(&app, &upstream).await;
    for _ in 0..4 {
        let calls = (0..8).map(|_| app.as_instance(&token, Method::GET, "/hubs/general/things").send());
        for answer in futures::future::join_all(calls).await {
            assert_eq!(answer.unwrap().status(), StatusCode::CREATED, "a proxied call is never refused with 429");
        }
    }
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.as_admin(Method::GET, "/instances").send().await.unwrap().status());
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "the REST API keeps its limit: {statuses:?}");
}

/// An instance may carry its own limit to keep within the provider's quota: calls past its burst get 429 with
/// `Retry-After` (or wait for their turn, when it says they may), other instances are not held back, and a limit
/// that is not a number is refused, naming the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_its_own_limit_gets_429_past_it() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.proxy.call_cache = std::time::Duration::ZERO).await;
    let upstream = crate::proxy::echo_upstream().await;
    let (_, id, token) = crate::proxy::echo_instance(&app, &upstream).await;
    let limit = |configuration: serde_json::Value| {
        app.as_admin(Method::PATCH, &format!("/instances/{id}"))
            .json(&serde_json::json!({"configuration": configuration}))
    };
    let refused = limit(serde_json::json!({"proxy.rate.limit": "fast"})).send().await.unwrap();
    crate::utils::expect_error(refused, StatusCode::BAD_REQUEST, "configuration.proxy.rate.limit").await;
    let set = limit(serde_json::json!({"proxy.rate.limit": "0.1", "proxy.rate.burst": "3"})).send().await.unwrap();
    assert_eq!(set.status(), StatusCode::OK);

    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let answer = app.as_instance(&token, Method::GET, "/hubs/general/things").send().await.unwrap();
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after = answer.headers().get("retry-after").map(|value| value.to_str().unwrap().to_owned());
        }
        statuses.push(answer.status());
    }
    assert_eq!(&statuses[..3], [StatusCode::CREATED; 3], "the burst passes");
    assert!(statuses[3..].contains(&StatusCode::TOO_MANY_REQUESTS), "past the burst, 429: {statuses:?}");
    assert!(
        retry_after.as_deref().is_some_and(|seconds| seconds.parse::<u64>().is_ok_and(|s| s >= 1)),
        "{retry_after:?}"
    );

    // Another instance has no limit of its own.
    let other = serde_json::json!({"name": "Echo 2", "configuration": {"tenant": "acme", "token": "upstream-secret"}});
    let other = app.as_admin(Method::POST, "/elements/test-echo/instances").json(&other).send().await.unwrap();
    let other = crate::utils::expect_json(other, StatusCode::OK).await["token"].as_str().unwrap().to_owned();
    for _ in 0..6 {
        let answer = app.as_instance(&other, Method::GET, "/hubs/general/things").send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::CREATED);
    }

    // Allowed to wait: calls past the burst wait for their turn instead (a turn every 100 ms here).
    let set = limit(serde_json::json!({"proxy.rate.limit": "10", "proxy.rate.burst": "1", "proxy.rate.wait": "5000"}));
    assert_eq!(set.send().await.unwrap().status(), StatusCode::OK);
    for _ in 0..4 {
        let answer = app.as_instance(&token, Method::GET, "/hubs/general/things").send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::CREATED, "a call past the burst waits for its turn");
    }
}

/// Reads from `stream` until the server closes it, answering what it sent; fails if that takes over `within`.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: std::time::Duration) -> String {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut received))
        .await
        .expect("the server closed the connection in time")
        .expect("reading works");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_after_the_read_timeouts() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.limits.header_read_timeout = std::time::Duration::from_secs(1);
        config.limits.body_read_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    // Headers that never end: the connection is closed, with nothing served.
    let mut slow_headers = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow_headers.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-a: ").await.unwrap();
    let answer = read_until_closed(&mut slow_headers, std::time::Duration::from_secs(20)).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    // A body that never ends: 408 in the API's error shape, and the connection closed.
    let mut slow_body = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = "POST /elements/api-v2/events/sandbox/1 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                   content-length: 100\r\n\r\n{\"a\"";
    slow_body.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut slow_body, std::time::Duration::from_secs(20)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"requestId\"") && answer.contains("body: did not arrive in time"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_on_the_proxy_and_webhook_routes_get_json_errors() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.limits.max_body_bytes = 1024).await;
    let large = vec![b'x'; 4096];
    for path in ["/events/sandbox/1", "/hubs/general/things"] {
        let answer = app.as_instance("not-a-token", Method::POST, path).body(large.clone()).send().await.unwrap();
        let message = crate::utils::expect_error(answer, StatusCode::PAYLOAD_TOO_LARGE, "body:").await;
        assert!(message.contains("larger"), "{path}: {message}");
    }
}

crate::on_both_backends!(listing_while_others_delete_never_fails);

async fn listing_while_others_delete_never_fails(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.limits.api_calls_per_second = 0.0).await;
    let element = serde_json::json!({
        "key": "test-plain", "name": "Plain", "hub": "general", "auth": "apiKey",
        "api": {"baseUrl": "https://api.plain.example", "credentials": {"in": "header", "name": "x-key", "value": "{apiKey}"}},
        "parameters": [{"key": "apiKey", "label": "API key", "secret": true}]
    });
    let created = app.as_admin(Method::POST, "/elements").json(&element).send().await.unwrap();
    crate::utils::expect_json(created, StatusCode::OK).await;
    let mut ids = Vec::new();
    for n in 0..60 {
        let body = serde_json::json!({"name": format!("i{n}"), "configuration": {"apiKey": "k"}});
        let created = app.as_admin(Method::POST, "/elements/test-plain/instances").json(&body).send().await.unwrap();
        ids.push(crate::utils::expect_json(created, StatusCode::OK).await["id"].as_i64().unwrap());
    }
    let app = std::sync::Arc::new(app);
    let mut calls = tokio::task::JoinSet::new();
    for id in ids {
        let app = app.clone();
        calls.spawn(
            async move { app.as_admin(Method::DELETE, &format!("/instances/{id}")).send().await.unwrap().status() },
        );
    }
    for _ in 0..200 {
        let app = app.clone();
        calls.spawn(async move { app.as_admin(Method::GET, "/instances").send().await.unwrap().status() });
    }
    let mut statuses = Vec::new();
    while let Some(status) = calls.join_next().await {
        statuses.push(status.unwrap());
    }
    let failed: Vec<_> = statuses.iter().filter(|status| status.is_server_error()).collect();
    assert!(failed.is_empty(), "{} of {} calls failed: {failed:?}", failed.len(), statuses.len());
    assert!(statuses.iter().all(|status| status.is_success()), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unsigned_webhooks_keeps_no_signed_one_out() {
    use hmac::{Hmac, Mac};
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.limits.api_calls_per_second = 0.5;
        config.limits.api_burst = 3;
    })
    .await;
    let element = serde_json::json!({
        "key": "test-signed", "name": "Signed", "hub": "general", "auth": "apiKey",
        "api": {"baseUrl": "https://api.signed.example", "credentials": {"in": "header", "name": "x-key", "value": "{apiKey}"}},
        "parameters": [{"key": "apiKey", "label": "API key", "secret": true},
            {"key": "webhookSecret", "label": "Webhook secret", "secret": true}],
        "events": {"support": "webhooks", "webhook": {
            "signature": {"header": "x-signature", "secretParameter": "webhookSecret", "encoding": "hex", "prefix": ""},
            "objectTypeField": "objectType", "objectIdField": "id", "eventTypeField": "eventType"}}
    });
    let created = app.as_admin(Method::POST, "/elements").json(&element).send().await.unwrap();
    crate::utils::expect_json(created, StatusCode::OK).await;
    let body = serde_json::json!({"name": "s", "configuration": {"apiKey": "k", "webhookSecret": "s3cret",
        "event.notification.enabled": true, "event.vendor.type": "webhooks",
        "event.notification.callback.url": "https://receiver.example/hook"}});
    let created = app.as_admin(Method::POST, "/elements/test-signed/instances").json(&body).send().await.unwrap();
    let id = crate::utils::expect_json(created, StatusCode::OK).await["id"].as_i64().unwrap();
    let url = format!("{}/elements/api-v2/events/test-signed/{id}", app.base_url);
    let payload = br#"{"id": "1", "objectType": "things", "eventType": "UPDATED"}"#;
    let mut flood = Vec::new();
    for _ in 0..20 {
        flood.push(app.http.post(&url).header("x-signature", "00").body(&payload[..]).send().await.unwrap().status());
    }
    assert!(flood[..3].iter().all(|status| *status == StatusCode::UNAUTHORIZED), "{flood:?}");
    assert!(
        flood[3..].iter().all(|status| *status == StatusCode::TOO_MANY_REQUESTS),
        "unverified ones are limited: {flood:?}"
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(payload);
    let signature = hex::encode(mac.finalize().into_bytes());
    for _ in 0..5 {
        let signed = app.http.post(&url).header("x-signature", &signature).body(&payload[..]).send().await.unwrap();
        let status = signed.status();
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "a signed webhook passes whatever the flood: {}",
            signed.text().await.unwrap()
        );
    }
}
