//! Lifecycle webhooks: endpoints managed over the REST API with bad ones refused by field; every lifecycle event
//! of a connection's life reaching a receiver that checks both signatures, each state change once; a test
//! delivery and a redelivery; and deliveries that survive a killed node.

use crate::events::{Delivery, Receiver, SIGNATURE_KEY};
use crate::hosted_connect::{connect_sandbox, sandbox_app};
use crate::on_both_backends;
use crate::processes::RunningBinary;
use crate::utils::{Backend, TestApp, eventually, expect_error, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    endpoints_are_managed_and_bad_ones_refused_by_field,
    a_connections_life_reaches_the_endpoint_once_each
);

/// Registers `url` for `events` (every one when empty); answers the endpoint.
pub async fn register_endpoint(app: &TestApp, url: &str, events: &[&str]) -> Value {
    let body = json!({"url": url, "signatureKey": SIGNATURE_KEY, "events": events});
    expect_json(app.as_admin(Method::POST, "/webhooks").json(&body).send().await.unwrap(), StatusCode::CREATED).await
}

/// The lifecycle events the receiver holds, one per event id, in arrival order.
pub fn lifecycle_events(receiver: &Receiver) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    receiver
        .deliveries()
        .into_iter()
        .filter(|delivery: &Delivery| seen.insert(delivery.event_id.clone()))
        .map(|delivery| delivery.body)
        .collect()
}

/// The events' types, sorted: deliveries go out several at once, so they may arrive in any order.
fn types(events: &[Value]) -> Vec<String> {
    let mut types: Vec<String> = events.iter().map(|event| event["type"].as_str().unwrap().to_owned()).collect();
    types.sort();
    types
}

/// The one event of `event_type`.
fn one<'a>(events: &'a [Value], event_type: &str) -> &'a Value {
    let matching: Vec<&Value> = events.iter().filter(|event| event["type"] == event_type).collect();
    assert_eq!(matching.len(), 1, "one {event_type}: {events:?}");
    matching[0]
}

async fn endpoints_are_managed_and_bad_ones_refused_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created =
        register_endpoint(&app, "https://hooks.example/tether", &["instance.created", "instance.created"]).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["signatureKey"], "********", "the key is never shown");
    assert_eq!(created["events"], json!(["instance.created"]));

    let patch = json!({"events": ["instance.invalid", "connect.failed"], "url": "https://hooks.example/v2"});
    let patched = app.as_admin(Method::PATCH, &format!("/webhooks/{id}")).json(&patch).send().await.unwrap();
    let patched = expect_json(patched, StatusCode::OK).await;
    assert_eq!((&patched["url"], &patched["events"]), (&json!("https://hooks.example/v2"), &patch["events"]));
    let listed = expect_json(app.as_admin(Method::GET, "/webhooks").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(listed, json!([patched]));

    let bad: Vec<(Value, &str)> = vec![
        (json!({"url": "ftp://hooks.example", "signatureKey": SIGNATURE_KEY}), "url:"),
        (json!({"url": "not a url", "signatureKey": SIGNATURE_KEY}), "url:"),
        (json!({"url": "https://hooks.example", "signatureKey": "short"}), "signatureKey:"),
        (
            json!({"url": "https://hooks.example", "signatureKey": SIGNATURE_KEY, "events": ["instance.gone"]}),
            "events[0]:",
        ),
        (json!({"url": "https://hooks.example", "signatureKey": SIGNATURE_KEY, "colour": "red"}), "colour"),
    ];
    for (body, field) in bad {
        let refused = app.as_admin(Method::POST, "/webhooks").json(&body).send().await.unwrap();
        expect_error(refused, StatusCode::BAD_REQUEST, field).await;
    }
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints").fetch_one(app.hub.store().pool()).await.unwrap();
    assert_eq!(count, 1, "nothing was stored for a refused endpoint");

    // Another organization sees none of it.
    let other =
        app.hub.create_organization("Other", "boss@other.example", &tether::store::audit::Actor::Cli).await.unwrap();
    let theirs = app.as_tenant(&other, Method::GET, &format!("/webhooks/{id}")).send().await.unwrap();
    expect_error(theirs, StatusCode::NOT_FOUND, "No webhook endpoint").await;

    let deleted = app.as_admin(Method::DELETE, &format!("/webhooks/{id}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app.as_admin(Method::GET, &format!("/webhooks/{id}")).send().await.unwrap();
    expect_error(gone, StatusCode::NOT_FOUND, "No webhook endpoint").await;

    // Where the outbound policy forbids private addresses, an endpoint there is refused by its field.
    let strict = TestApp::spawn_with(backend, |config| config.outbound.allow_private_network = false).await;
    let body = json!({"url": "http://127.0.0.1:9/hooks", "signatureKey": SIGNATURE_KEY});
    let refused = strict.as_admin(Method::POST, "/webhooks").json(&body).send().await.unwrap();
    expect_error(refused, StatusCode::BAD_REQUEST, "url:").await;
}

async fn a_connections_life_reaches_the_endpoint_once_each(backend: Backend) {
    let app = sandbox_app(backend).await;
    let receiver = Receiver::start().await;
    let endpoint = register_endpoint(&app, receiver.url(), &[]).await;
    let endpoint = endpoint["id"].as_str().unwrap().to_owned();
    let only_created = Receiver::start().await;
    register_endpoint(&app, only_created.url(), &["instance.created"]).await;

    // Made through a connect session: instance.created, with the end user and tags, and no secret.
    let (id, token) = connect_sandbox(&app, "user-5", None).await;
    app.deliver_due_now().await;
    let events = lifecycle_events(&receiver);
    assert_eq!(types(&events), ["instance.created"]);
    let instance = &events[0]["instance"];
    assert_eq!(instance["id"].as_i64(), Some(id));
    assert_eq!((&instance["element"], &instance["endUser"]["id"]), (&json!("sandbox"), &json!("user-5")));
    assert_eq!(instance["tags"], json!(["lifecycle"]));
    assert_eq!(instance["health"]["state"], "valid");
    assert!(!events[0].to_string().contains(&token), "no token in the body");
    assert_eq!(types(&lifecycle_events(&only_created)), ["instance.created"]);

    // The provider forgets every grant: one proxied call is refused and the instance turns invalid, once.
    let revoked = app.http.post(format!("{}/sandbox/control/revoke", app.base_url)).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    for _ in 0..2 {
        let refused = app.as_instance(&token, Method::GET, "/hubs/crm/contacts").send().await.unwrap();
        assert!(refused.status().is_client_error(), "{}", refused.status());
    }
    app.refresh_due_now().await;
    app.deliver_due_now().await;
    let events = lifecycle_events(&receiver);
    assert_eq!(types(&events), ["instance.created", "instance.invalid"]);
    let invalid = one(&events, "instance.invalid");
    assert_eq!(invalid["instance"]["health"]["state"], "invalid");
    assert!(invalid["reason"].as_str().is_some_and(|reason| !reason.is_empty()), "{invalid}");

    // A reconnect session restores it: the same id and token, reauthenticated and recovered, once each.
    let (again, same_token) = connect_sandbox(&app, "user-5", Some(id)).await;
    assert_eq!((again, same_token.as_str()), (id, token.as_str()));
    app.deliver_due_now().await;
    let events = lifecycle_events(&receiver);
    assert_eq!(
        types(&events),
        ["instance.created", "instance.invalid", "instance.reauthenticated", "instance.recovered"]
    );
    assert_eq!(one(&events, "instance.recovered")["instance"]["health"]["state"], "valid");

    // A declined consent: connect.failed, naming the end user and why.
    let session = json!({"endUser": {"id": "user-6"}, "elements": ["sandbox"]});
    let created = app.as_admin(Method::POST, "/connect/sessions").json(&session).send().await.unwrap();
    let link = expect_json(created, StatusCode::CREATED).await["token"].as_str().unwrap().to_owned();
    crate::hosted_connect::consent_and_return(&app, &format!("/connect/{link}/sandbox"), false).await;
    // Deleted.
    let deleted = app.as_admin(Method::DELETE, &format!("/instances/{id}")).send().await.unwrap();
    assert!(deleted.status().is_success());
    app.deliver_due_now().await;
    let events = lifecycle_events(&receiver);
    assert_eq!(events.len(), 6);
    let failed = one(&events, "connect.failed");
    assert_eq!(failed["endUser"]["id"], "user-6");
    assert!(failed["reason"].as_str().unwrap().contains("declined"), "{failed}");
    assert_eq!(one(&events, "instance.deleted")["instance"]["id"].as_i64(), Some(id));

    // A test delivery goes to the one endpoint; the log shows each answer; a redelivery sends the same event.
    let test = app.as_admin(Method::POST, &format!("/webhooks/{endpoint}/test")).send().await.unwrap();
    let test = expect_json(test, StatusCode::ACCEPTED).await;
    assert_eq!((test["eventType"].as_str(), test["status"].as_str()), (Some("webhook.test"), Some("PENDING")));
    app.deliver_due_now().await;
    one(&lifecycle_events(&receiver), "webhook.test");
    assert_eq!(lifecycle_events(&only_created).len(), 1, "the other endpoint heard only its own events");
    let log = app.as_admin(Method::GET, &format!("/webhooks/{endpoint}/deliveries")).send().await.unwrap();
    let log = expect_json(log, StatusCode::OK).await;
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 7);
    assert!(log.iter().all(|delivery| delivery["status"] == "NOTIFIED" && delivery["lastResponseCode"] == 200));
    let first = log.last().unwrap();
    let before = receiver.deliveries().len();
    let path = format!("/webhooks/{endpoint}/deliveries/{}/redeliver", first["id"].as_str().unwrap());
    assert_eq!(app.as_admin(Method::POST, &path).send().await.unwrap().status(), StatusCode::ACCEPTED);
    app.deliver_due_now().await;
    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), before + 1);
    assert_eq!(deliveries.last().unwrap().event_id, first["eventId"].as_str().unwrap(), "the same event again");
}

/// Lifecycle webhooks pending at a failing endpoint are delivered after a SIGKILL and a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_lifecycle_webhooks_survive_sigkill() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    register_endpoint(&app, receiver.url(), &["instance.created"]).await;
    let environment = crate::events::quick_delivery_environment(&app);
    receiver.answer(500);
    let node = RunningBinary::start(app.db.dir.path(), &environment);
    app.create_element(&crate::instances::basic_element()).await;
    const INSTANCES: usize = 3;
    for n in 0..INSTANCES {
        let configuration = json!({"account": "acme", "username": format!("user{n}"), "password": "pw"});
        let body = json!({"name": format!("Basic {n}"), "configuration": configuration});
        let made = app.as_admin(Method::POST, "/elements/test-basic/instances").json(&body).send().await.unwrap();
        expect_json(made, StatusCode::OK).await;
    }
    eventually(30, "the node is retrying", || async { (lifecycle_events(&receiver).len() >= INSTANCES).then_some(()) })
        .await;
    node.kill();
    let notified: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'NOTIFIED'")
        .fetch_one(app.hub.store().pool())
        .await
        .unwrap();
    assert_eq!(notified, 0, "nothing was delivered while the endpoint failed");
    receiver.answer(200);
    let node = RunningBinary::start(app.db.dir.path(), &environment);
    eventually(30, "every lifecycle webhook is NOTIFIED", || async {
        let notified: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'NOTIFIED'")
            .fetch_one(app.hub.store().pool())
            .await
            .unwrap();
        (notified == INSTANCES as i64).then_some(())
    })
    .await;
    assert_eq!(types(&lifecycle_events(&receiver)), vec!["instance.created"; INSTANCES]);
    node.stop();
}
