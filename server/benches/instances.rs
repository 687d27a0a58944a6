//! `make bench`: the server-side cost of `POST /instances`, without the provider's own time; what call logs cost
//! the proxy; a fixed-time load on the proxy and the instances API; and how long the refresher takes over 10,000
//! and 100,000 expiring instances. The proxy beside nginx and direct calls is `scripts/bench-proxy.sh`, with
//! separate processes.
//!
//! Tether runs in this process on loopback with SQLite. The OAuth 2.0 element's token endpoint is a stub on
//! loopback that answers at once, and the same token request made straight to the stub is timed beside it, so
//! `POST /instances (oauth2) − direct token request` is Tether's own overhead. A basic-auth element (no provider
//! at all) and `GET /healthz` (the HTTP round trip alone) are measured in the same run for comparison.
//!
//! What call logs cost the proxy: two nodes, one recording each call and one with `proxy.call_logs` off, loaded
//! in turn, round after round, against the upstream answering at once.

use axum::extract::{Form, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tether::config::Config;
use tether::jobs::Workers;
use tether::jobs::refresh::RefreshPlan;

mod measure;
#[path = "../tests/it/utils.rs"]
#[allow(dead_code)]
mod utils;
use measure::{async_timings, median, millis, p95, p99, process_cpu_time};
use utils::{Backend, TestApp};

const ROUNDS: usize = 300;
const THROUGHPUT_CALLS: usize = 10_000;
const CONCURRENCY: usize = 16;
/// The code that the stub grants a token about to expire for.
const EXPIRING_CODE: &str = "expiring";
/// How often the refresh timing looks whether anything is still due.
const DONE_CHECK_INTERVAL: Duration = Duration::from_millis(20);

/// A loopback provider that answers at once and counts refresh grants.
struct StubProvider {
    base: String,
    refresh_grants: Arc<AtomicUsize>,
}

async fn stub_provider() -> StubProvider {
    let refresh_grants = Arc::new(AtomicUsize::new(0));
    let tokens = |State(refresh_grants): State<Arc<AtomicUsize>>, Form(form): Form<HashMap<String, String>>| async move {
        let refreshing = form.get("grant_type").map(String::as_str) == Some("refresh_token");
        if refreshing {
            refresh_grants.fetch_add(1, Ordering::Relaxed);
        }
        let expires_in = if form.get("code").map(String::as_str) == Some(EXPIRING_CODE) { 60 } else { 3600 };
        Json(json!({"access_token": format!("stub-access-{}", uuid::Uuid::new_v4()),
            "refresh_token": format!("stub-refresh-{}", uuid::Uuid::new_v4()),
            "expires_in": expires_in, "token_type": "Bearer"}))
    };
    let router = Router::new()
        .route("/token", post(tokens))
        .route("/me", get(|| async { "{}" }))
        .route("/api/things", get(|| async { r#"{"things":[1,2,3]}"# }))
        .with_state(refresh_grants.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.expect("the stub serves") });
    StubProvider { base, refresh_grants }
}

fn report(label: &str, samples: &[Duration]) {
    println!("{label:<44} {:>9.3} {:>9.3}", millis(median(samples)), millis(p95(samples)));
}

type Call = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Makes `calls` calls, `CONCURRENCY` at a time; answers the calls per second and the processor time this
/// process spent per call (client, proxy and upstream together: they share the machine).
async fn throughput(calls: usize, call: &dyn Fn() -> Call) -> (f64, Duration) {
    use futures::StreamExt;
    let (started, cpu_before) = (Instant::now(), process_cpu_time());
    futures::stream::iter((0..calls).map(|_| call())).buffer_unordered(CONCURRENCY).collect::<Vec<()>>().await;
    let rate = calls as f64 / started.elapsed().as_secs_f64();
    (rate, (process_cpu_time() - cpu_before) / calls as u32)
}

/// How long the fixed-time load runs.
const LOAD_SECONDS: u64 = 10;

/// What the fixed-time load saw: calls answered 2xx, calls that failed, and every call's time, sorted.
struct LoadResult {
    ok: usize,
    errors: usize,
    latencies: Vec<Duration>,
}

/// `CONCURRENCY` clients for `LOAD_SECONDS`, each going round a proxied call, a page of instances and one
/// instance; every answer but a 2xx counts as an error.
async fn fixed_time_load(http: reqwest::Client, requests: Vec<(String, String)>) -> LoadResult {
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECONDS);
    let requests = Arc::new(requests);
    let clients = (0..CONCURRENCY).map(|client| {
        let (http, requests) = (http.clone(), requests.clone());
        tokio::spawn(async move {
            let (mut ok, mut errors, mut latencies) = (0, 0, Vec::new());
            let mut turn = client;
            while Instant::now() < deadline {
                let (url, authorization) = &requests[turn % requests.len()];
                turn += 1;
                let started = Instant::now();
                let answer = http.get(url).header("authorization", authorization).send().await;
                let good = match answer {
                    Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                    Err(_) => false,
                };
                latencies.push(started.elapsed());
                if good { ok += 1 } else { errors += 1 }
            }
            (ok, errors, latencies)
        })
    });
    let mut result = LoadResult { ok: 0, errors: 0, latencies: Vec::new() };
    for client in futures::future::join_all(clients).await {
        let (ok, errors, latencies) = client.expect("a load client finishes");
        result.ok += ok;
        result.errors += errors;
        result.latencies.extend(latencies);
    }
    result.latencies.sort();
    result
}

/// How many expiring instances the refresher is timed over: `TETHER_BENCH_REFRESH_SIZES` (as `10000,100000`), or
/// 10,000 and 100,000.
fn refresh_sizes() -> Vec<usize> {
    std::env::var("TETHER_BENCH_REFRESH_SIZES")
        .ok()
        .map(|text| text.split(',').filter_map(|size| size.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000])
}

const COMMAND: &str = "cargo bench -p tether --bench instances";

/// Rounds of the call logs comparison, each loading the node with them on and then the one with them off.
const LOGGING_ROUNDS: usize = 5;

/// A node of its own with the API-key element of `provider` and one instance of it: its proxy URL for
/// `/things`, the authorization naming the instance, and the node (kept running while held).
async fn proxy_node(provider: &str, call_logs: bool) -> (String, String, TestApp) {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.proxy.call_logs = call_logs).await;
    app.create_element(&json!({"key": "bench-api", "name": "Bench API", "hub": "general", "auth": "apiKey",
        "api": {"baseUrl": format!("{provider}/api"), "credentials": {"in": "header", "name": "x-api-key", "value": "{apiKey}"}},
        "parameters": [{"key": "apiKey", "label": "API key", "secret": true}]}))
        .await;
    let instance = app
        .create_instance(&json!({"element": {"key": "bench-api"}, "name": "Proxied", "configuration": {"apiKey": "k"}}))
        .await;
    let authorization = format!(
        "{}, Element {}",
        utils::authorization(
            secrecy::ExposeSecret::expose_secret(&app.first.user_secret),
            secrecy::ExposeSecret::expose_secret(&app.first.organization_secret),
        ),
        instance.token.as_str()
    );
    (format!("{}/elements/api-v2/hubs/general/things", app.base_url), authorization, app)
}

/// Proxy throughput with call logs on over off, in alternating rounds; prints each round and records the median
/// ratio with the spread of the rounds' ratios, which is the noise.
async fn call_logging_cost(http: &reqwest::Client, provider: &str) {
    let (logged_url, logged_authorization, _logged) = proxy_node(provider, true).await;
    let (unlogged_url, unlogged_authorization, _unlogged) = proxy_node(provider, false).await;
    let caller = |url: String, authorization: String| {
        let http = http.clone();
        move || -> Call {
            let request = http.get(&url).header("authorization", &authorization);
            Box::pin(async move {
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
            })
        }
    };
    let (logged, unlogged) = (caller(logged_url, logged_authorization), caller(unlogged_url, unlogged_authorization));
    let mut ratios = Vec::with_capacity(LOGGING_ROUNDS);
    println!(
        "
call logs: proxy throughput with them on and off, {THROUGHPUT_CALLS} calls with {CONCURRENCY} callers"
    );
    for round in 1..=LOGGING_ROUNDS {
        let on = throughput(THROUGHPUT_CALLS, &logged).await.0;
        let off = throughput(THROUGHPUT_CALLS, &unlogged).await.0;
        println!("round {round}: on {on:.0}/s, off {off:.0}/s, ratio {:.3}", on / off);
        ratios.push(on / off);
    }
    ratios.sort_by(f64::total_cmp);
    let (lowest, middle, highest) = (ratios[0], ratios[ratios.len() / 2], ratios[ratios.len() - 1]);
    println!("median ratio {middle:.3}, rounds from {lowest:.3} to {highest:.3} (target: at least 0.95)");
    measure::record_figure(
        "proxy throughput with call logs on / off (median of rounds; lowest to highest round)",
        &format!("{middle:.3} ({lowest:.3} to {highest:.3})"),
        "at least 0.95",
        COMMAND,
    );
}

#[tokio::main]
async fn main() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let config = app.config.clone();
    let plan = RefreshPlan::from_config(&config);
    let hub = app.hub.clone();
    let base = format!("{}/elements/api-v2", app.base_url);
    let health = format!("{}/healthz", app.base_url);
    let stub = stub_provider().await;
    let provider = stub.base.clone();

    let http = reqwest::Client::new();
    let authorization = utils::authorization(
        secrecy::ExposeSecret::expose_secret(&app.first.user_secret),
        secrecy::ExposeSecret::expose_secret(&app.first.organization_secret),
    );
    let api = |method: reqwest::Method, path: &str| app.as_admin(method, path);
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
        app.create_element(&element).await;
    }
    let oauth_body = |code: &str| {
        json!({"element": {"key": "bench-oauth"}, "name": "Bench", "providerData": {"code": code},
            "configuration": {"oauth.api.key": "client", "oauth.api.secret": "secret", "oauth.callback.url": "https://example.com/cb"}})
    };
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
    let oauth = async_timings(ROUNDS, || create(oauth_body("any"))).await;
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
    measure::record_figure(
        "POST /instances overhead (oauth2, minus the provider's token request), median",
        &format!("{:.3} ms", millis(overhead)),
        "under 5 ms",
        COMMAND,
    );

    let api_instance = app
        .create_instance(
            &json!({"element": {"key": "bench-api"}, "name": "Proxied", "configuration": {"apiKey": "bench-key"}}),
        )
        .await;
    let element_token = api_instance.token.as_str().to_owned();
    let element_authorization = format!("{authorization}, Element {element_token}");
    call_logging_cost(&http, &provider).await;

    let load = fixed_time_load(
        http.clone(),
        vec![
            (format!("{base}/hubs/general/things"), element_authorization.clone()),
            (format!("{base}/instances?pageSize=20"), authorization.clone()),
            (format!("{base}/instances/{}", api_instance.id), authorization.clone()),
        ],
    )
    .await;
    let calls = load.ok + load.errors;
    println!(
        "\nload: {CONCURRENCY} clients for {LOAD_SECONDS} s on the proxy and the instances API: {calls} calls, {:.0}/s, {} errors, p50 {:.2} ms, p99 {:.2} ms",
        calls as f64 / LOAD_SECONDS as f64,
        load.errors,
        millis(median(&load.latencies)),
        millis(p99(&load.latencies))
    );
    measure::record_figure(
        &format!("load test: {CONCURRENCY} clients for {LOAD_SECONDS} s on the proxy and the instances API"),
        &format!(
            "{:.0}/s, {} errors in {calls}, p50 {:.2} ms, p99 {:.2} ms",
            calls as f64 / LOAD_SECONDS as f64,
            load.errors,
            millis(median(&load.latencies)),
            millis(p99(&load.latencies))
        ),
        "0 errors",
        COMMAND,
    );

    // Instances whose access tokens expire within the refresh margin, refreshed by the background workers as a
    // node runs them: the default tick and as many refreshes at once as the default configuration allows.
    let mut worker_config = config.clone();
    worker_config.workers.tick = Config::defaults().workers.tick;
    for size in refresh_sizes() {
        let made = Instant::now();
        futures::StreamExt::collect::<Vec<()>>(futures::StreamExt::buffer_unordered(
            futures::stream::iter((0..size).map(|_| create(oauth_body(EXPIRING_CODE)))),
            CONCURRENCY,
        ))
        .await;
        let made = made.elapsed();
        let grants_before = stub.refresh_grants.load(Ordering::Relaxed);
        let started = Instant::now();
        let workers = Workers::start(hub.clone(), &worker_config).expect("the workers start");
        loop {
            let now = tether::store::now_millis();
            let due = hub.store().instances_due_for_refresh(now, now + plan.margin.num_milliseconds(), now, 1).await;
            if due.expect("the refresher's query runs").is_empty() {
                break;
            }
            tokio::time::sleep(DONE_CHECK_INTERVAL).await;
        }
        let took = started.elapsed();
        workers.stop().await;
        let refreshed = stub.refresh_grants.load(Ordering::Relaxed) - grants_before;
        assert_eq!(refreshed, size, "each expiring instance is refreshed once");
        println!(
            "\nrefreshing {size} expiring instances against a loopback provider ({} at a time, the background workers on their default tick): {:.2} s, {:.0} a second (making them took {:.1} s)",
            worker_config.refresh.concurrency,
            took.as_secs_f64(),
            size as f64 / took.as_secs_f64(),
            made.as_secs_f64()
        );
        let target = if size >= 100_000 { "at most 60 s" } else { "" };
        measure::record_figure(
            &format!("refreshing {size} expiring instances (loopback provider)"),
            &format!("{:.1} s ({:.0}/s)", took.as_secs_f64(), size as f64 / took.as_secs_f64()),
            target,
            COMMAND,
        );
    }
}
