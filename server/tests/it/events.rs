//! Events end to end: a poller against a local API whose objects change, providers' signed webhooks, delivery to
//! a local receiver that checks both signatures, retries on a compressed schedule, a restart and a SIGKILL with
//! work pending, two nodes sharing the queue, and bad event configurations refused by name.

use crate::on_both_backends;
use crate::processes::RunningBinary;
use crate::utils::{Backend, TestApp, eventually, expect_error, expect_json};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

on_both_backends!(
    polling_delivers_each_change_once_signed_both_ways,
    a_signed_webhook_is_delivered_and_a_forged_one_refused,
    failed_deliveries_retry_on_schedule_then_pause_until_redelivered,
    two_nodes_deliver_each_event_once,
    concurrent_claims_take_each_event_once,
    bad_event_configurations_are_refused_by_key,
    a_dropped_connection_is_retried_at_once,
);

pub(crate) const SIGNATURE_KEY: &str = "receiver-shared-key";
const WEBHOOK_SECRET: &str = "provider-webhook-secret";

fn hmac(key: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// The local CRM the poller watches: contacts whose `_info.lastUpdated` is GMT ISO text and whose `created` is
/// New York wall-clock time in `dd/MM/yyyy HH:mm:ss`; it honours `where=lastUpdated>'…'` as a provider would.
#[derive(Clone, Default)]
pub(crate) struct Crm {
    contacts: Arc<Mutex<BTreeMap<String, Value>>>,
    polls: Arc<AtomicUsize>,
}

impl Crm {
    pub(crate) async fn start() -> (Crm, String) {
        async fn list(State(crm): State<Crm>, RawQuery(query): RawQuery) -> Json<Value> {
            let query = query.unwrap_or_default();
            let decoded: String = url::form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "where")
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default();
            let since = decoded.trim_start_matches("lastUpdated>").trim_matches('\'').to_owned();
            let contacts: Vec<Value> = crm
                .contacts
                .lock()
                .unwrap()
                .values()
                .filter(|contact| contact["_info"]["lastUpdated"].as_str().unwrap() > since.as_str())
                .cloned()
                .collect();
            crm.polls.fetch_add(1, Ordering::SeqCst);
            Json(json!({ "total": contacts.len(), "contacts": contacts }))
        }
        let crm = Crm::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = axum::Router::new().route("/v1/contacts", axum::routing::get(list)).with_state(crm.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (crm, base)
    }

    /// Writes a contact as changed at `updated`, created at `created`.
    pub(crate) fn put(&self, id: &str, name: &str, created: DateTime<Utc>, updated: DateTime<Utc>) {
        let created_in_new_york = created.with_timezone(&chrono_tz::America::New_York);
        let contact = json!({
            "id": id,
            "name": name,
            "created": created_in_new_york.format("%d/%m/%Y %H:%M:%S").to_string(),
            "_info": {"lastUpdated": updated.format("%Y-%m-%dT%H:%M:%SZ").to_string()},
        });
        self.contacts.lock().unwrap().insert(id.to_owned(), contact);
    }

    pub(crate) fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }

    /// Waits until the poller has asked `more` more times than now.
    async fn wait_for_polls(&self, more: usize) {
        let target = self.polls() + more;
        eventually(30, "the poller asks again", || async { (self.polls() >= target).then_some(()) }).await;
    }
}

/// One delivery as the receiver saw it, both signatures checked.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub(crate) event_id: String,
    pub(crate) body: Value,
    pub(crate) at: std::time::Instant,
}

/// The team's callback endpoint: it answers with `status` and keeps every request, failing the test's later
/// assertions if a signature does not match.
#[derive(Clone)]
pub(crate) struct Receiver {
    seen: Arc<Mutex<Vec<Delivery>>>,
    bad_signatures: Arc<AtomicUsize>,
    status: Arc<AtomicU16>,
    url: String,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        async fn take(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> AxumStatus {
            let header =
                |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
            let id = header("webhook-id");
            let timestamp = header("webhook-timestamp");
            let elements = format!("sha256={}", STANDARD.encode(hmac(SIGNATURE_KEY, &[body.as_bytes()])));
            let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body.as_bytes()];
            let standard = format!("v1,{}", STANDARD.encode(hmac(SIGNATURE_KEY, &signed)));
            let valid = header("elements-webhook-signature") == elements
                && header("webhook-signature") == standard
                && header("elements-webhook-id") == id;
            if !valid {
                receiver.bad_signatures.fetch_add(1, Ordering::SeqCst);
            }
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            // An event's body names it `eventId`; a lifecycle webhook's, `id`.
            let named = body.get("eventId").or_else(|| body.get("id"));
            assert_eq!(named, Some(&Value::from(id.as_str())), "the body names the event the headers do");
            receiver.seen.lock().unwrap().push(Delivery { event_id: id, body, at: std::time::Instant::now() });
            AxumStatus::from_u16(receiver.status.load(Ordering::SeqCst)).unwrap()
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/tether", listener.local_addr().unwrap());
        let receiver = Receiver {
            seen: Arc::default(),
            bad_signatures: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            url,
        };
        let router = axum::Router::new().route("/hooks/tether", axum::routing::post(take)).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        receiver
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        assert_eq!(self.bad_signatures.load(Ordering::SeqCst), 0, "every delivery is signed both ways");
        self.seen.lock().unwrap().clone()
    }

    /// The changes delivered, as `(eventType, objectId)`, one per distinct event id, in arrival order.
    fn changes(&self) -> Vec<(String, String)> {
        let mut ids = std::collections::HashSet::new();
        self.deliveries()
            .into_iter()
            .filter(|delivery| ids.insert(delivery.event_id.clone()))
            .map(|delivery| {
                let change = &delivery.body["events"][0];
                (change["eventType"].as_str().unwrap().to_owned(), change["objectId"].as_str().unwrap().to_owned())
            })
            .collect()
    }

    async fn wait_for_events(&self, count: usize) -> Vec<(String, String)> {
        eventually(30, &format!("{count} events reach the receiver"), || async {
            let changes = self.changes();
            (changes.len() >= count).then_some(changes)
        })
        .await
    }
}

/// A custom CRM element over `api`, polling `contacts` by default and taking signed webhooks.
pub(crate) async fn crm_element(app: &TestApp, api: &str) {
    let element = json!({
        "key": "test-crm", "name": "Test CRM", "hub": "crm", "auth": "custom",
        "api": {"baseUrl": format!("{api}/v1"), "credentials": {"in": "header", "name": "X-Api-Key", "value": "{apiKey}"}},
        "parameters": [
            {"key": "apiKey", "label": "API key", "secret": true},
            {"key": "webhook.secret", "label": "Webhook secret", "secret": true, "required": false}
        ],
        "events": {
            "support": "both",
            "webhook": {
                "signature": {"header": "X-Crm-Signature", "secretParameter": "webhook.secret", "prefix": "sha256="},
                "changesField": "changes", "objectTypeField": "type", "objectIdField": "id", "eventTypeField": "action",
                "objectField": "data"
            }
        }
    });
    app.create_element(&element).await;
}

/// The seed's poller configuration, with `created` read in another pattern and timezone.
fn seed_poller() -> Value {
    json!({"contacts": {
        "url": "/hubs/crm/contacts?where=lastUpdated>'${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}'",
        "idField": "id",
        "datesConfiguration": {
            "updatedDateField": "_info.lastUpdated", "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss'Z'", "updatedDateTimezone": "GMT",
            "createdDateField": "created", "createdDateFormat": "dd/MM/yyyy HH:mm:ss", "createdDateTimezone": "America/New_York"
        }
    }})
}

/// Authenticates a CRM instance with events on; answers its id.
pub(crate) async fn crm_instance(app: &TestApp, receiver: &Receiver, vendor: &str) -> i64 {
    crm_instance_polling_every(app, receiver, vendor, "0.01").await
}

/// Like [`crm_instance`], polling every `minutes` when `vendor` is `polling`.
async fn crm_instance_polling_every(app: &TestApp, receiver: &Receiver, vendor: &str, minutes: &str) -> i64 {
    let body = json!({
        "element": {"key": "test-crm"},
        "name": format!("CRM by {vendor}"),
        "configuration": {
            "apiKey": "crm-key",
            "webhook.secret": WEBHOOK_SECRET,
            "event.notification.enabled": true,
            "event.vendor.type": vendor,
            "event.notification.callback.url": receiver.url,
            "event.poller.refresh_interval": minutes,
            "event.notification.signature.key": SIGNATURE_KEY,
            "event.poller.configuration": seed_poller(),
        }
    });
    let created = app.create_instance(&body).await;
    assert!(created.events_enabled);
    assert_eq!(created.configuration["event.notification.signature.key"], "********", "the key is masked");
    created.id.0
}

pub(crate) fn second(at: DateTime<Utc>) -> DateTime<Utc> {
    chrono::DurationRound::duration_trunc(at, chrono::Duration::seconds(1)).unwrap()
}

fn sorted(mut changes: Vec<(String, String)>) -> Vec<(String, String)> {
    changes.sort();
    changes
}

fn pair(event_type: &str, id: &str) -> (String, String) {
    (event_type.to_owned(), id.to_owned())
}

async fn polling_delivers_each_change_once_signed_both_ways(backend: Backend) {
    let (crm, api) = Crm::start().await;
    let receiver = Receiver::start().await;
    let long_ago = second(Utc::now()) - chrono::Duration::days(30);
    crm.put("c1", "Ada", long_ago, long_ago);
    let app = TestApp::spawn(backend).await;
    crm_element(&app, &api).await;
    crm_instance_polling_every(&app, &receiver, "polling", "15").await;
    let interval = std::time::Duration::from_secs(15 * 60);
    let one_second = std::time::Duration::from_secs(1);
    // Each poll, on the hub's clock: none a second before the interval is up, one once it is.
    let poll_after_interval = async |polls: usize| {
        app.advance(interval - one_second);
        app.poll_due_now().await;
        assert_eq!(crm.polls(), polls - 1, "poll {polls} is not due before its interval");
        app.advance(one_second);
        app.poll_due_now().await;
        assert_eq!(crm.polls(), polls, "poll {polls} is due once its interval is up");
        app.deliver_due_now().await;
    };

    poll_after_interval(1).await;
    assert!(receiver.deliveries().is_empty(), "an object unchanged since events were enabled is no event");
    let now = second(Utc::now());
    crm.put("c2", "Grace", now, now);
    crm.put("c1", "Ada L.", long_ago, now);
    poll_after_interval(2).await;
    assert_eq!(sorted(receiver.changes()), [pair("CREATED", "c2"), pair("UPDATED", "c1")]);

    // Later polls see the same versions again (the overlap and the provider's filter return them): no events.
    poll_after_interval(3).await;
    assert_eq!(receiver.changes().len(), 2, "{:?}", receiver.changes());
    let delivered = receiver.deliveries();
    assert_eq!(delivered.len(), 2, "no retries were needed");
    let body = &delivered.iter().find(|delivery| delivery.body["events"][0]["objectId"] == "c2").unwrap().body;
    assert_eq!(body["elementKey"], "test-crm");
    assert_eq!(body["events"][0]["objectType"], "contacts");
    assert_eq!(body["raw"]["name"], "Grace", "the raw object comes along");
    assert!(body["notificationId"].is_string());
}

/// The poller runs in a `tether` process that stops between polls, once cleanly and once by SIGKILL: changes
/// made while it is down arrive once it is back, and nothing arrives twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_polls_loses_and_repeats_nothing() {
    let (crm, api) = Crm::start().await;
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    crm_element(&app, &api).await;
    crm_instance(&app, &receiver, "polling").await;
    let environment = [
        ("DATABASE_URL", app.db.url.as_str()),
        ("TETHER_ALLOW_PRIVATE_NETWORK", "true"),
        ("TETHER_WORKER_TICK_MILLIS", "50"),
        ("TETHER_POLL_MIN_INTERVAL_SECONDS", "0"),
        // A poll cut short by SIGKILL holds its lease this long plus 5 s; the restarted node then takes over.
        ("TETHER_POLL_TIMEOUT_SECONDS", "2"),
    ];
    let mut expected = Vec::new();
    for (round, stop) in [(1, "SIGTERM"), (2, "SIGKILL"), (3, "SIGTERM")] {
        let node = RunningBinary::start(app.db.dir.path(), &environment);
        crm.wait_for_polls(2).await;
        let now = second(Utc::now());
        crm.put(&format!("r{round}"), "new", now, now);
        expected.push(pair("CREATED", &format!("r{round}")));
        if round > 1 {
            crm.put(&format!("r{}", round - 1), "changed", now - chrono::Duration::seconds(1), now);
            expected.push(pair("UPDATED", &format!("r{}", round - 1)));
        }
        let changes = receiver.wait_for_events(expected.len()).await;
        assert_eq!(sorted(changes), sorted(expected.clone()), "round {round}");
        // A change while the node is down arrives after it restarts.
        match stop {
            "SIGKILL" => node.kill(),
            _ => {
                node.stop();
            }
        }
        let later = second(Utc::now()) + chrono::Duration::seconds(1);
        crm.put(&format!("down{round}"), "made while down", later, later);
        expected.push(pair("CREATED", &format!("down{round}")));
    }
    let _node = RunningBinary::start(app.db.dir.path(), &environment);
    let changes = receiver.wait_for_events(expected.len()).await;
    crm.wait_for_polls(3).await;
    assert_eq!(sorted(receiver.changes()), sorted(expected.clone()));
    assert_eq!(changes.len(), expected.len());
    let ids: Vec<String> = receiver.deliveries().into_iter().map(|delivery| delivery.event_id).collect();
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), distinct.len(), "with a receiver that always answers 200, each event arrives once");
}

/// Posts a provider webhook for `instance`, signed with `secret`.
async fn provider_webhook(app: &TestApp, instance: i64, payload: &Value, secret: &str) -> reqwest::Response {
    let body = payload.to_string();
    let signature = format!("sha256={}", hex::encode(hmac(secret, &[body.as_bytes()])));
    app.http
        .post(format!("{}/elements/api-v2/events/test-crm/{instance}", app.base_url))
        .header("content-type", "application/json")
        .header("x-crm-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn contact_change(action: &str, id: &str) -> Value {
    json!({"changes": [{"type": "contacts", "id": id, "action": action, "data": {"id": id, "name": "Linus"}}]})
}

async fn events_of(app: &TestApp, instance: i64, query: &str) -> Vec<Value> {
    let path = format!("/instances/{instance}/events{query}");
    let listed = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    listed.as_array().unwrap().clone()
}

async fn a_signed_webhook_is_delivered_and_a_forged_one_refused(backend: Backend) {
    let receiver = Receiver::start().await;
    // The deliverer runs here by hand: this test is about what is delivered, not when.
    let app = TestApp::spawn(backend).await;
    crm_element(&app, "http://127.0.0.1:9").await;
    let id = crm_instance(&app, &receiver, "webhooks").await;

    let taken = provider_webhook(&app, id, &contact_change("contact.created", "w1"), WEBHOOK_SECRET).await;
    assert_eq!(expect_json(taken, StatusCode::ACCEPTED).await["events"], 1);
    assert!(receiver.changes().is_empty(), "nothing goes out until the deliverer runs");
    app.deliver_due_now().await;
    assert_eq!(receiver.changes(), [pair("CREATED", "w1")]);
    let delivered = receiver.deliveries();
    assert_eq!(delivered[0].body["raw"], json!({"id": "w1", "name": "Linus"}));

    let forged = provider_webhook(&app, id, &contact_change("contact.deleted", "w2"), "not-the-secret").await;
    expect_error(forged, StatusCode::UNAUTHORIZED, "could be verified").await;
    let unsigned = app
        .http
        .post(format!("{}/elements/api-v2/events/test-crm/{id}", app.base_url))
        .json(&contact_change("contact.deleted", "w3"))
        .send()
        .await
        .unwrap();
    expect_error(unsigned, StatusCode::UNAUTHORIZED, "could be verified").await;
    let wrong_element = app
        .http
        .post(format!("{}/elements/api-v2/events/another/{id}", app.base_url))
        .json(&contact_change("contact.deleted", "w4"))
        .send()
        .await
        .unwrap();
    // The route tells nothing of which instances exist: a wrong element reads as a bad signature.
    expect_error(wrong_element, StatusCode::UNAUTHORIZED, "could be verified").await;

    // The log holds the one real event, delivered; a later signed one still goes through.
    let taken = provider_webhook(&app, id, &contact_change("contact.updated", "w1"), WEBHOOK_SECRET).await;
    assert_eq!(expect_json(taken, StatusCode::ACCEPTED).await["events"], 1);
    app.deliver_due_now().await;
    assert_eq!(receiver.changes(), [pair("CREATED", "w1"), pair("UPDATED", "w1")]);
    let logged = events_of(&app, id, "?status=NOTIFIED").await;
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert!(logged.iter().all(|event| event["source"] == "webhooks" && event["lastResponseCode"] == 200));
    assert_eq!(events_of(&app, id, "").await.len(), 2, "forged webhooks left nothing behind");
}

async fn failed_deliveries_retry_on_schedule_then_pause_until_redelivered(backend: Backend) {
    let receiver = Receiver::start().await;
    let schedule = [60, 300, 1800].map(std::time::Duration::from_secs);
    let app = TestApp::spawn_with(backend, |config| config.delivery.retry = schedule.to_vec()).await;
    crm_element(&app, "http://127.0.0.1:9").await;
    let id = crm_instance(&app, &receiver, "webhooks").await;
    let one_second = std::time::Duration::from_secs(1);

    // The receiver fails three times, then takes it: each retry waits its whole wait on the hub's clock, and
    // repeats the event id.
    receiver.answer(500);
    provider_webhook(&app, id, &contact_change("created", "r1"), WEBHOOK_SECRET).await;
    app.deliver_due_now().await;
    assert_eq!(receiver.deliveries().len(), 1, "the first attempt goes at once");
    for (retry, wait) in schedule.iter().enumerate() {
        app.advance(*wait - one_second);
        app.deliver_due_now().await;
        assert_eq!(receiver.deliveries().len(), retry + 1, "retry {retry} is not due a second before {wait:?}");
        if retry == schedule.len() - 1 {
            receiver.answer(200);
        }
        app.advance(one_second);
        app.deliver_due_now().await;
        assert_eq!(receiver.deliveries().len(), retry + 2, "retry {retry} is due {wait:?} after the attempt before");
    }
    let attempts = receiver.deliveries();
    assert!(attempts.iter().all(|attempt| attempt.event_id == attempts[0].event_id), "retries repeat the event id");
    let path = format!("/instances/{id}/events/{}", attempts[0].event_id);
    let event = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!((event["status"].as_str(), event["attempts"].as_i64()), (Some("NOTIFIED"), Some(4)), "{event}");
    assert_eq!(event["payload"]["eventId"], attempts[0].event_id.as_str());
    // The detail shows the headers the last attempt went out with.
    let headers: Vec<(String, String)> =
        serde_json::from_value(event["headers"].clone()).expect("the headers as [name, value] pairs");
    let headers: std::collections::HashMap<String, String> = headers.into_iter().collect();
    assert_eq!(headers["webhook-id"], attempts[0].event_id);
    assert_eq!(headers["elements-webhook-id"], attempts[0].event_id);
    assert!(headers["webhook-timestamp"].parse::<i64>().is_ok(), "{headers:?}");
    assert!(headers["elements-webhook-signature"].starts_with("sha256="), "{headers:?}");
    assert!(headers["webhook-signature"].starts_with("v1,"), "{headers:?}");

    // A receiver that keeps failing exhausts the schedule: the event fails, and later ones wait as QUEUED.
    receiver.answer(503);
    provider_webhook(&app, id, &contact_change("created", "r2"), WEBHOOK_SECRET).await;
    app.deliver_due_now().await;
    for wait in schedule {
        assert!(events_of(&app, id, "?status=FAILED").await.is_empty(), "the event fails only once retries are spent");
        app.advance(wait);
        app.deliver_due_now().await;
    }
    let failed = events_of(&app, id, "?status=FAILED").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["attempts"], 4);
    assert_eq!(failed[0]["lastResponseCode"], 503);
    provider_webhook(&app, id, &contact_change("created", "r3"), WEBHOOK_SECRET).await;
    let queued = events_of(&app, id, "?status=QUEUED").await;
    assert_eq!(queued.len(), 1, "a paused subscription queues new events");
    app.advance(schedule[2]);
    app.deliver_due_now().await;
    let tried = receiver.deliveries().len();
    assert_eq!(tried, 8, "nothing goes out while deliveries are paused");

    // Redelivering the instance's events releases both, in one go, once the receiver is back.
    receiver.answer(200);
    let released = app.as_admin(Method::POST, &format!("/instances/{id}/events/redeliver")).send().await.unwrap();
    assert_eq!(expect_json(released, StatusCode::OK).await["released"], 2);
    app.deliver_due_now().await;
    assert_eq!(receiver.changes(), [pair("CREATED", "r1"), pair("CREATED", "r2"), pair("CREATED", "r3")]);
    assert_eq!(receiver.deliveries().len(), tried + 2, "one more attempt for each");

    // 410 Gone stops the retries at once.
    receiver.answer(410);
    provider_webhook(&app, id, &contact_change("created", "r4"), WEBHOOK_SECRET).await;
    app.deliver_due_now().await;
    let gone = events_of(&app, id, "?status=FAILED").await;
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!((gone[0]["attempts"].as_i64(), gone[0]["lastResponseCode"].as_i64()), (Some(1), Some(410)));
}

/// Two nodes with workers on one database: a burst of events is delivered, each once.
async fn two_nodes_deliver_each_event_once(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(backend, |config| config.workers.enabled = true).await;
    let _other = app.another_node(|config| config.workers.enabled = true).await;
    crm_element(&app, "http://127.0.0.1:9").await;
    let id = crm_instance(&app, &receiver, "webhooks").await;
    const EVENTS: usize = 40;
    let payload = json!({"changes": (0..EVENTS).map(|n| json!({"type": "contacts", "id": format!("n{n}"), "action": "updated"})).collect::<Vec<_>>()});
    assert_eq!(
        expect_json(provider_webhook(&app, id, &payload, WEBHOOK_SECRET).await, StatusCode::ACCEPTED).await["events"],
        EVENTS
    );
    receiver.wait_for_events(EVENTS).await;
    eventually(10, "every event is NOTIFIED", || async {
        (events_of(&app, id, "?status=NOTIFIED&pageSize=100").await.len() == EVENTS).then_some(())
    })
    .await;
    assert_eq!(receiver.deliveries().len(), EVENTS, "each event was delivered once by one of the nodes");
}

/// With a ten-minute tick, queued events still go out at once: queueing wakes the deliverer, and a pass that
/// took a full batch is followed by another instead of waiting for the tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_events_wake_the_deliverer_and_full_batches_continue() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.workers.enabled = true;
        config.workers.tick = std::time::Duration::from_millis(600_000);
    })
    .await;
    crm_element(&app, "http://127.0.0.1:9").await;
    let id = crm_instance(&app, &receiver, "webhooks").await;
    // Several of the deliverer's batches (16 deliveries at once, four rounds to a pass).
    const EVENTS: usize = 450;
    let payload = json!({"changes": (0..EVENTS).map(|n| json!({"type": "contacts", "id": format!("w{n}"), "action": "updated"})).collect::<Vec<_>>()});
    provider_webhook(&app, id, &payload, WEBHOOK_SECRET).await;
    assert_eq!(receiver.wait_for_events(EVENTS).await.len(), EVENTS);
}

/// A receiver that keeps connections open but drops the second request on each without answering, as a server
/// does when it closes an idle keep-alive connection just as a request arrives on it. Answers its URL and the
/// number of requests it answered with 200.
async fn receiver_dropping_reused_connections() -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/tether", listener.local_addr().unwrap());
    let answered = Arc::new(AtomicUsize::new(0));
    let counter = answered.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                for request in 1.. {
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if socket.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = value.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    socket.read_exact(&mut body).await.unwrap();
                    if request == 2 {
                        return;
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    socket.get_mut().write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.unwrap();
                }
            });
        }
    });
    (url, answered)
}

/// A delivery whose connection the receiver drops is sent again at once on a new connection, within the same
/// attempt, rather than waiting for the first retry.
async fn a_dropped_connection_is_retried_at_once(backend: Backend) {
    let (url, answered) = receiver_dropping_reused_connections().await;
    let app = TestApp::spawn_with(backend, |config| {
        config.workers.enabled = true;
        config.delivery.retry = vec![std::time::Duration::from_secs(600)];
    })
    .await;
    crm_element(&app, "http://127.0.0.1:9").await;
    let receiver = Receiver { url, ..Receiver::start().await };
    let id = crm_instance(&app, &receiver, "webhooks").await;
    for (sent, object) in ["d1", "d2"].into_iter().enumerate() {
        provider_webhook(&app, id, &contact_change("updated", object), WEBHOOK_SECRET).await;
        eventually(30, &format!("event {object} is answered"), || async {
            (answered.load(Ordering::SeqCst) > sent).then_some(())
        })
        .await;
    }
    let notified = events_of(&app, id, "?status=NOTIFIED").await;
    assert_eq!(notified.len(), 2, "{notified:?}");
    assert!(notified.iter().all(|event| event["attempts"] == 1), "one attempt each: {notified:?}");
}

/// Many claims racing over one queue, as many nodes' deliverers do: each event goes to exactly one of them.
async fn concurrent_claims_take_each_event_once(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(backend).await;
    crm_element(&app, "http://127.0.0.1:9").await;
    let id = crm_instance(&app, &receiver, "webhooks").await;
    const EVENTS: usize = 300;
    let payload = json!({"changes": (0..EVENTS).map(|n| json!({"type": "contacts", "id": format!("q{n}"), "action": "updated"})).collect::<Vec<_>>()});
    provider_webhook(&app, id, &payload, WEBHOOK_SECRET).await;
    let claimers = (0..8).map(|_| {
        let store = app.hub.store().clone();
        tokio::spawn(async move {
            let mut claimed = Vec::new();
            loop {
                let now = tether::store::now_millis();
                let batch = store.claim_due_deliveries(now, now + 60_000, 7).await.unwrap();
                if batch.is_empty() {
                    return claimed;
                }
                claimed.extend(batch.into_iter().map(|event| event.id));
            }
        })
    });
    let claimed: Vec<String> =
        futures::future::join_all(claimers).await.into_iter().flat_map(|claims| claims.unwrap()).collect();
    let distinct: std::collections::HashSet<&String> = claimed.iter().collect();
    assert_eq!(distinct.len(), EVENTS, "every event was claimed");
    assert_eq!(claimed.len(), EVENTS, "no event was claimed twice");
}

/// The environment of a node over `app`'s database that delivers every 50 ms and retries every 0.2 s, for tests
/// that kill and restart it.
pub(crate) fn quick_delivery_environment(app: &TestApp) -> [(&'static str, &str); 5] {
    [
        ("DATABASE_URL", app.db.url.as_str()),
        ("TETHER_ALLOW_PRIVATE_NETWORK", "true"),
        ("TETHER_WORKER_TICK_MILLIS", "50"),
        ("TETHER_DELIVERY_RETRY_SECONDS", "[0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]"),
        ("TETHER_DELIVERY_TIMEOUT_SECONDS", "2"),
    ]
}

/// Events pending at a receiver that fails are all delivered after a SIGKILL and a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_deliveries_survive_sigkill() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    crm_element(&app, "http://127.0.0.1:9").await;
    let id = crm_instance(&app, &receiver, "webhooks").await;
    let environment = quick_delivery_environment(&app);
    receiver.answer(500);
    let node = RunningBinary::start(app.db.dir.path(), &environment);
    const EVENTS: usize = 10;
    let payload = json!({"changes": (0..EVENTS).map(|n| json!({"type": "contacts", "id": format!("k{n}"), "action": "created"})).collect::<Vec<_>>()});
    provider_webhook(&app, id, &payload, WEBHOOK_SECRET).await;
    eventually(30, "the node is retrying", || async { (receiver.deliveries().len() >= EVENTS).then_some(()) }).await;
    node.kill();
    let pending = events_of(&app, id, "?status=PENDING").await.len();
    assert_eq!(pending, EVENTS, "nothing was delivered while the receiver failed");
    receiver.answer(200);
    let node = RunningBinary::start(app.db.dir.path(), &environment);
    let changes = receiver.wait_for_events(EVENTS).await;
    assert_eq!(changes.len(), EVENTS);
    eventually(30, "every event is NOTIFIED", || async {
        (events_of(&app, id, "?status=NOTIFIED").await.len() == EVENTS).then_some(())
    })
    .await;
    node.stop();
}

async fn bad_event_configurations_are_refused_by_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    crm_element(&app, "http://127.0.0.1:9").await;
    let poller_with_url = |url: &str| json!({"contacts": {"url": url, "idField": "id"}});
    let zone = |zone: &str| {
        json!({"contacts": {"url": "/hubs/crm/contacts", "idField": "id",
            "datesConfiguration": {"updatedDateField": "at", "updatedDateTimezone": zone}}})
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("event.vendor.type", json!("push"), "event.vendor.type"),
        ("event.notification.enabled", json!("sometimes"), "event.notification.enabled"),
        ("event.poller.refresh_interval", json!("<minutes>"), "event.poller.refresh_interval"),
        ("event.poller.refresh_interval", json!(-5), "event.poller.refresh_interval"),
        ("event.notification.callback.url", json!("mycoolapp.com"), "event.notification.callback.url"),
        ("event.poller.configuration", json!("not json"), "event.poller.configuration"),
        (
            "event.poller.configuration",
            poller_with_url("https://elsewhere.example/contacts"),
            "event.poller.configuration.contacts.url",
        ),
        (
            "event.poller.configuration",
            poller_with_url("/hubs/marketing/contacts"),
            "event.poller.configuration.contacts.url",
        ),
        (
            "event.poller.configuration",
            poller_with_url("/hubs/crm/../admin"),
            "event.poller.configuration.contacts.url",
        ),
        (
            "event.poller.configuration",
            poller_with_url("/hubs/crm/c?d=${gmtDate:yyyy-MM-dd'T}"),
            "event.poller.configuration.contacts.url",
        ),
        ("event.poller.configuration", json!({"contacts": {"url": "/hubs/crm/c"}}), "event.poller.configuration"),
        (
            "event.poller.configuration",
            zone("Mars/Olympus_Mons"),
            "event.poller.configuration.contacts.datesConfiguration.updatedDateTimezone",
        ),
        (
            "event.poller.configuration",
            json!({"contacts": {"url": "/hubs/crm/c", "idField": "id", "datesConfiguration": {"createdDateFormat": "yyyy-QQ"}}}),
            "event.poller.configuration.contacts.datesConfiguration.createdDateFormat",
        ),
        ("event.unknown.key", json!("x"), "event.unknown.key"),
    ];
    for (key, value, named) in cases {
        let mut configuration = json!({
            "apiKey": "k",
            "event.notification.enabled": true,
            "event.vendor.type": "polling",
            "event.notification.callback.url": "https://receiver.example/hook",
            "event.poller.refresh_interval": 15,
            "event.poller.configuration": seed_poller(),
        });
        configuration[key] = value.clone();
        let body = json!({"element": {"key": "test-crm"}, "name": "bad", "configuration": configuration});
        let answer = app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap();
        expect_error(answer, StatusCode::BAD_REQUEST, &format!("configuration.{named}:")).await;
    }
    let listed = expect_json(app.as_admin(Method::GET, "/instances").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(listed.as_array().unwrap().len(), 0, "nothing was stored for a refused configuration");

    // The seed's example, with its placeholders filled in, is taken as it is; a later PATCH is checked the same way.
    let seed = json!({
        "element": {"key": "test-crm"},
        "configuration": {
            "apiKey": "xxxxxxxxxxxxxxxxxx",
            "event.notification.enabled": true,
            "event.vendor.type": "polling",
            "event.notification.callback.url": "http://mycoolapp.com",
            "event.poller.refresh_interval": "15",
            "event.notification.signature.key": "xxxxxxxxxxxxxxxxxxxxxxxxx",
            "event.poller.configuration": crate::seeds::seed_000_poller_configuration()
        },
        "tags": ["seed"],
        "name": "Seed example"
    });
    let created =
        expect_json(app.as_admin(Method::POST, "/instances").json(&seed).send().await.unwrap(), StatusCode::OK).await;
    let id = created["id"].as_i64().unwrap();
    let poller: Value =
        serde_json::from_str(created["configuration"]["event.poller.configuration"].as_str().unwrap()).unwrap();
    assert_eq!(poller["contacts"]["idField"], "id");
    let patch = json!({"configuration": {"event.poller.refresh_interval": "soon"}});
    let refused = app.as_admin(Method::PATCH, &format!("/instances/{id}")).json(&patch).send().await.unwrap();
    expect_error(refused, StatusCode::BAD_REQUEST, "configuration.event.poller.refresh_interval:").await;
    let patch = json!({"configuration": {"event.poller.refresh_interval": "30", "event.notification.enabled": false}});
    let changed = expect_json(
        app.as_admin(Method::PATCH, &format!("/instances/{id}")).json(&patch).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["eventsEnabled"], false);
    assert_eq!(changed["configuration"]["event.poller.refresh_interval"], "30");
    assert_eq!(changed["configuration"]["event.notification.signature.key"], "********", "the key stays, masked");
}
