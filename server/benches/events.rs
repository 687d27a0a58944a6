//! `make bench`: how fast Tether delivers signed events to a receiver on loopback, against the same receiver fed
//! signed requests directly in the same run, and how long an event waits from its creation to its delivery when
//! events arrive at the target rate.
//!
//! Tether runs in this process on SQLite with its workers on (the deliverer is woken when events are queued; its
//! tick is a second). Events are created through the provider webhook endpoint, many changes to a request.
//! The receiver checks each delivery's `Elements-Webhook-Signature` and notes when each event arrived.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tether::config::Config;

mod measure;
#[path = "../tests/it/utils.rs"]
#[allow(dead_code)]
mod utils;
use measure::{median, millis, p99};
use utils::{Backend, TestApp};

const SIGNATURE_KEY: &str = "bench-signature-key";
/// Events in the backlog that measures the delivery rate.
const BACKLOG: usize = 10_000;
/// Changes in one provider webhook.
const CHANGES_PER_WEBHOOK: usize = 100;
/// The delivery rate the latency is measured at, per second, and for how long.
const TARGET_RATE: usize = 2_000;
const PACED_SECONDS: usize = 5;
/// Webhooks per second while pacing: each carries `TARGET_RATE / PACED_WEBHOOKS` changes.
const PACED_WEBHOOKS: usize = 100;
/// Concurrent requests when the receiver is fed directly, as many as the deliverer sends at once by default.
const DIRECT_CONCURRENCY: usize = 16;

fn signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SIGNATURE_KEY.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// When each event (by object id) reached the receiver, and how many deliveries had a bad signature.
#[derive(Clone, Default)]
struct Receiver {
    arrivals: Arc<Mutex<HashMap<String, Instant>>>,
    bad_signatures: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(&self) -> String {
        async fn take(State(receiver): State<Receiver>, headers: HeaderMap, body: axum::body::Bytes) -> StatusCode {
            let at = Instant::now();
            let signed = headers.get("elements-webhook-signature").and_then(|value| value.to_str().ok());
            if signed != Some(signature(&body).as_str()) {
                *receiver.bad_signatures.lock().unwrap() += 1;
            }
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if let Some(id) = body["events"][0]["objectId"].as_str() {
                receiver.arrivals.lock().unwrap().entry(id.to_owned()).or_insert(at);
            }
            StatusCode::OK
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let router = axum::Router::new().route("/hook", axum::routing::post(take)).with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.expect("the receiver serves") });
        url
    }

    fn arrived(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }

    async fn wait_for(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while self.arrived() < count {
            assert!(Instant::now() < deadline, "only {} of {count} events arrived", self.arrived());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn arrival(&self, id: &str) -> Option<Instant> {
        self.arrivals.lock().unwrap().get(id).copied()
    }
}

fn changes(prefix: &str, range: std::ops::Range<usize>) -> Value {
    json!({"changes": range.map(|n| json!({"type": "contacts", "id": format!("{prefix}{n}"), "action": "updated"})).collect::<Vec<_>>()})
}

#[tokio::main]
async fn main() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.workers.enabled = true;
        config.workers.tick = Config::defaults().workers.tick;
    })
    .await;
    let base = format!("{}/elements/api-v2", app.base_url);
    let receiver = Receiver::default();
    let callback = receiver.start().await;

    let http = reqwest::Client::new();
    let element = json!({
        "key": "bench-events", "name": "Bench events", "hub": "crm", "auth": "custom",
        "api": {"baseUrl": "https://crm.example/v1", "credentials": {"in": "header", "name": "X-Api-Key", "value": "{apiKey}"}},
        "parameters": [{"key": "apiKey", "label": "API key", "secret": true}],
        "events": {"support": "webhooks", "webhook": {"changesField": "changes", "objectTypeField": "type",
            "objectIdField": "id", "eventTypeField": "action"}}
    });
    app.create_element(&element).await;
    let instance = json!({"element": {"key": "bench-events"}, "name": "Bench events", "configuration": {
        "apiKey": "k", "event.notification.enabled": true, "event.notification.callback.url": callback,
        "event.notification.signature.key": SIGNATURE_KEY}});
    let created = app.create_instance(&instance).await;
    let webhook_url = format!("{base}/events/bench-events/{}", created.id);
    let send_webhook = |payload: Value| {
        let request = http.post(&webhook_url).json(&payload);
        async move {
            let response = request.send().await.expect("the webhook is taken");
            assert_eq!(response.status(), 202);
        }
    };

    // The receiver fed directly: signed bodies of the same shape, 16 at a time.
    let started = Instant::now();
    futures::stream::iter(0..BACKLOG)
        .for_each_concurrent(DIRECT_CONCURRENCY, |n| {
            let body = json!({"eventId": n.to_string(), "events": [{"objectId": format!("direct{n}"), "objectType": "contacts", "eventType": "UPDATED"}]}).to_string();
            let request = http.post(&callback).header("elements-webhook-signature", signature(body.as_bytes())).body(body);
            async move {
                request.send().await.expect("the receiver answers").bytes().await.unwrap();
            }
        })
        .await;
    let direct_rate = BACKLOG as f64 / started.elapsed().as_secs_f64();

    // A backlog through Tether: created as fast as the webhook endpoint takes them, delivered by the deliverer.
    let before = receiver.arrived();
    let started = Instant::now();
    for from in (0..BACKLOG).step_by(CHANGES_PER_WEBHOOK) {
        send_webhook(changes("backlog", from..from + CHANGES_PER_WEBHOOK)).await;
    }
    let created_in = started.elapsed();
    receiver.wait_for(before + BACKLOG).await;
    let tether_rate = BACKLOG as f64 / started.elapsed().as_secs_f64();

    // Events at the target rate: each webhook's events are created when its 202 comes back.
    let per_webhook = TARGET_RATE / PACED_WEBHOOKS;
    let mut created_at = Vec::new();
    let mut pace = tokio::time::interval(Duration::from_secs(1) / PACED_WEBHOOKS as u32);
    for round in 0..PACED_SECONDS * PACED_WEBHOOKS {
        pace.tick().await;
        let from = round * per_webhook;
        send_webhook(changes("paced", from..from + per_webhook)).await;
        created_at.push((from, Instant::now()));
    }
    let paced_total = PACED_SECONDS * TARGET_RATE;
    receiver.wait_for(before + BACKLOG + paced_total).await;
    let mut latencies: Vec<Duration> = created_at
        .iter()
        .flat_map(|(from, at)| {
            (*from..from + per_webhook)
                .map(|n| receiver.arrival(&format!("paced{n}")).unwrap().saturating_duration_since(*at))
        })
        .collect();
    latencies.sort();

    let bad = *receiver.bad_signatures.lock().unwrap();
    println!("Signed event deliveries to a loopback receiver, SQLite, {BACKLOG} events");
    println!("  receiver fed directly, {DIRECT_CONCURRENCY} at a time:   {direct_rate:>8.0} per second");
    println!(
        "  delivered by Tether (backlog created in {:.2} s): {tether_rate:>8.0} per second (target: at least {TARGET_RATE})",
        created_in.as_secs_f64()
    );
    println!("  ratio Tether / direct: {:.2}", tether_rate / direct_rate);
    println!(
        "Creation to delivery at {TARGET_RATE} events per second for {PACED_SECONDS} s: median {:.1} ms, p99 {:.1} ms (target: p99 at most 100 ms)",
        millis(median(&latencies)),
        millis(p99(&latencies))
    );
    println!("deliveries with a bad signature: {bad}");
    let command = "cargo bench -p tether --bench events";
    measure::record_figure(
        "event deliveries, backlog of 10,000 (Tether / receiver fed directly)",
        &format!("{tether_rate:.0}/s ({:.2}x)", tether_rate / direct_rate),
        &format!("at least {TARGET_RATE}/s"),
        command,
    );
    measure::record_figure(
        &format!("event creation to delivery at {TARGET_RATE}/s, p50 / p99"),
        &format!("{:.1} / {:.1} ms", millis(median(&latencies)), millis(p99(&latencies))),
        "p99 at most 100 ms",
        command,
    );
    assert_eq!(bad, 0, "every delivery is signed with the instance's key");
}
