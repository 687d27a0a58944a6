//! `make bench`: the server-side cost of `POST /instances`, without the provider's own time, and the cost the
//! proxy adds to a provider call.
//!
//! Tether runs in this process on loopback with SQLite. The OAuth 2.0 element's token endpoint is a stub on
//! loopback that answers at once, and the same token request made straight to the stub is timed beside it, so
//! `POST /instances (oauth2) − direct token request` is Tether's own overhead. A basic-auth element (no provider
//! at all) and `GET /healthz` (the HTTP round trip alone) are measured in the same run for comparison. The proxy
//! is measured against direct calls to the same loopback upstream: latency one call at a time, and throughput
//! with concurrent callers.

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::time::Duration;
use tether::Tether;
use tether::config::Config;

mod measure;
use measure::{async_timings, median, micros, millis, p95};

const ROUNDS: usize = 300;
const PROXY_ROUNDS: usize = 2000;
const CONCURRENCY: usize = 16;

/// A token endpoint that grants any code at once.
async fn stub_provider() -> String {
    let tokens = || async {
        Json(
            json!({"access_token": "stub-access", "refresh_token": "stub-refresh", "expires_in": 3600, "token_type": "Bearer"}),
        )
    };
    let router = Router::new()
        .route("/token", post(tokens))
        .route("/me", get(|| async { "{}" }))
        .route("/api/things", get(|| async { r#"{"things":[1,2,3]}"# }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.expect("the stub serves") });
    base
}

fn report(label: &str, samples: &[Duration]) {
    println!("{label:<44} {:>9.3} {:>9.3}", millis(median(samples)), millis(p95(samples)));
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let tether = Tether::open(Config::for_tests(dir.path(), None)).await.expect("tether opens");
    let first = tether::bootstrap::first_start(&tether.hub, &tether.config)
        .await
        .expect("first start")
        .expect("a new database has no organization");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base = format!("http://{}/elements/api-v2", listener.local_addr().unwrap());
    let health = format!("http://{}/healthz", listener.local_addr().unwrap());
    tokio::spawn(async move { tether.serve(listener, std::future::pending()).await.expect("tether serves") });
    let provider = stub_provider().await;

    let http = reqwest::Client::new();
    let authorization = format!(
        "User {}, Organization {}",
        secrecy::ExposeSecret::expose_secret(&first.user_secret),
        secrecy::ExposeSecret::expose_secret(&first.organization_secret)
    );
    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}{path}")).header("Authorization", &authorization)
    };
    for element in [
        json!({"key": "bench-oauth", "name": "Bench OAuth", "hub": "general", "auth": "oauth2",
            "oauth": {"authorizationUrl": format!("{provider}/auth"), "tokenUrl": format!("{provider}/token")},
            "api": {"baseUrl": format!("{provider}/me"), "credentials": {"in": "bearer"}}}),
        json!({"key": "bench-api", "name": "Bench API", "hub": "general", "auth": "apiKey",
            "api": {"baseUrl": format!("{provider}/api"), "credentials": {"in": "header", "name": "x-api-key", "value": "{apiKey}"}},
            "parameters": [{"key": "apiKey", "label": "API key", "secret": true}]}),
        json!({"key": "bench-basic", "name": "Bench basic", "hub": "general", "auth": "basic",
            "api": {"baseUrl": "https://{account}.example.com/api", "credentials": {"in": "basic"}},
            "parameters": [{"key": "account", "label": "Account", "pattern": "^[a-z]+$"},
                {"key": "username", "label": "User name"},
                {"key": "password", "label": "Password", "type": "password", "secret": true}]}),
    ] {
        let created = api(reqwest::Method::POST, "/elements").json(&element).send().await.unwrap();
        assert!(created.status().is_success(), "{}", created.text().await.unwrap());
    }
    let oauth_body = json!({"element": {"key": "bench-oauth"}, "name": "Bench", "providerData": {"code": "any"},
        "configuration": {"oauth.api.key": "client", "oauth.api.secret": "secret", "oauth.callback.url": "https://example.com/cb"}});
    let basic_body = json!({"element": {"key": "bench-basic"}, "name": "Bench",
        "configuration": {"account": "acme", "username": "ada", "password": "a-password"}});

    let create = |body: Value| {
        let request = api(reqwest::Method::POST, "/instances").json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap();
        }
    };
    let oauth = async_timings(ROUNDS, || create(oauth_body.clone())).await;
    let direct = async_timings(ROUNDS, || {
        let request =
            http.post(format!("{provider}/token")).form(&[("grant_type", "authorization_code"), ("code", "any")]);
        async move {
            request.send().await.unwrap().bytes().await.unwrap();
        }
    })
    .await;
    let basic = async_timings(ROUNDS, || create(basic_body.clone())).await;
    let round_trip = async_timings(ROUNDS, || {
        let request = http.get(&health);
        async move {
            request.send().await.unwrap().bytes().await.unwrap();
        }
    })
    .await;

    let api_instance: Value = api(reqwest::Method::POST, "/elements/bench-api/instances")
        .json(&json!({"name": "Proxied", "configuration": {"apiKey": "bench-key"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let element_token = api_instance["token"].as_str().expect("the instance is created").to_owned();
    let proxied_url = format!("{base}/hubs/general/things");
    let direct_url = format!("{provider}/api/things");
    let proxied_call = || {
        let request =
            http.get(&proxied_url).header("Authorization", format!("{authorization}, Element {element_token}"));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap();
        }
    };
    let direct_call = || {
        let request = http.get(&direct_url).header("x-api-key", "bench-key");
        async move {
            request.send().await.unwrap().bytes().await.unwrap();
        }
    };
    let proxied = async_timings(PROXY_ROUNDS, proxied_call).await;
    let direct_api = async_timings(PROXY_ROUNDS, direct_call).await;
    let throughput = |call: &dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>| {
        let started = std::time::Instant::now();
        let calls: Vec<_> = (0..PROXY_ROUNDS).map(|_| call()).collect();
        async move {
            futures_in_waves(calls, CONCURRENCY).await;
            PROXY_ROUNDS as f64 / started.elapsed().as_secs_f64()
        }
    };
    let direct_rate = throughput(&|| Box::pin(direct_call())).await;
    let proxied_rate = throughput(&|| Box::pin(proxied_call())).await;

    println!("POST /instances on SQLite, {ROUNDS} rounds each, milliseconds");
    println!("{:<44} {:>9} {:>9}", "", "median", "p95");
    report("POST /instances (oauth2, stub provider)", &oauth);
    report("the stub's token request made directly", &direct);
    report("POST /instances (basic, no provider)", &basic);
    report("GET /healthz (HTTP round trip alone)", &round_trip);
    let overhead = median(&oauth).saturating_sub(median(&direct));
    println!(
        "server-side overhead of an oauth2 POST /instances: {:.3} ms median (target: under 5 ms); {:.1}x a bare round trip",
        millis(overhead),
        millis(median(&oauth)) / millis(median(&round_trip)).max(0.001)
    );

    println!("\nthe proxy against direct calls to the same loopback upstream, {PROXY_ROUNDS} calls each");
    println!("{:<44} {:>9} {:>9} {:>9}", "milliseconds", "p50", "p99", "");
    let p99 = |samples: &[Duration]| samples[samples.len() * 99 / 100];
    for (label, samples) in [("direct", &direct_api), ("through the proxy", &proxied)] {
        println!("{label:<44} {:>9.3} {:>9.3}", millis(median(samples)), millis(p99(samples)));
    }
    println!(
        "added latency: p50 {:.0} µs (target: at most 200 µs), p99 {:.0} µs",
        micros(median(&proxied).saturating_sub(median(&direct_api))),
        micros(p99(&proxied).saturating_sub(p99(&direct_api)))
    );
    println!(
        "throughput with {CONCURRENCY} callers: direct {direct_rate:.0}/s, proxied {proxied_rate:.0}/s, ratio {:.2} (target: at least 0.8)",
        proxied_rate / direct_rate
    );
}

/// Runs the calls `width` at a time.
async fn futures_in_waves(calls: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>, width: usize) {
    use futures::StreamExt;
    futures::stream::iter(calls).buffer_unordered(width).collect::<Vec<()>>().await;
}
