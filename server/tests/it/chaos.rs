//! Chaos: three `tether` nodes on one PostgreSQL under a mixed load (API calls, proxied calls on tokens that keep
//! expiring at a rotating OAuth provider, polling instances, deliveries) while nodes are SIGKILLed and restarted
//! at random. Afterwards: no grant is lost, no event is lost, an event arrives twice only as a retry under its own
//! id, every instance was polled within tolerance, and no request got a 5xx except from a node about to die.
//!
//! `TETHER_CHAOS_SECONDS` sets how long the chaos lasts: 25 s in `make test`, 600 s in `make chaos`.

use crate::events::{Crm, Receiver, crm_element, crm_instance, second};
use crate::oauth::{CALLBACK, provider_element};
use crate::processes::{OAuthProvider, RunningBinary};
use crate::proxy::{believe_expiry, oauth_instance};
use crate::utils::{Backend, TestApp, eventually, expect_json};
use chrono::Utc;
use rand::Rng;
use reqwest::{Method, StatusCode};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NODES: usize = 3;
const POLLING_INSTANCES: usize = 3;
const OAUTH_INSTANCES: usize = 3;
/// The longest a change may take from the provider to the receiver, kills included: the poll lease of a killed
/// node lapses after the poll timeout (2 s) plus 5 s, and a delivery claimed by a killed node after the delivery
/// timeout (2 s) plus 5 s; a second kill may land on the node that took over.
const EVENT_TOLERANCE: Duration = Duration::from_secs(30);

/// Where each node is reachable now, and which life of it that is.
#[derive(Clone, Debug)]
struct NodeView {
    base_url: Option<String>,
    generation: u64,
}

/// One request of the load: to which life of which node, when, and how it ended.
#[derive(Debug)]
struct Outcome {
    node: usize,
    generation: u64,
    answered_at: Instant,
    status: Option<u16>,
    what: &'static str,
}

#[derive(Default)]
struct Ledger {
    outcomes: Vec<Outcome>,
    /// When each (node, generation) was killed.
    kills: BTreeMap<(usize, u64), Instant>,
    /// Contacts written at the provider, and when.
    written: Vec<(String, Instant)>,
}

fn chaos_seconds() -> u64 {
    std::env::var("TETHER_CHAOS_SECONDS").ok().and_then(|text| text.parse().ok()).unwrap_or(25)
}

fn pick_live(views: &Mutex<Vec<NodeView>>, turn: usize) -> Option<(usize, u64, String)> {
    let views = views.lock().unwrap();
    (0..NODES)
        .map(|offset| (turn + offset) % NODES)
        .find_map(|index| views[index].base_url.clone().map(|url| (index, views[index].generation, url)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_killed_at_random_lose_no_grant_and_no_event() {
    let provider = OAuthProvider::start(&[CALLBACK], false);
    let (crm, api) = Crm::start().await;
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(Backend::Postgres).await;
    app.create_element(&provider_element(&provider)).await;
    crm_element(&app, &api).await;
    let mut polling = Vec::new();
    for _ in 0..POLLING_INSTANCES {
        polling.push(crm_instance(&app, &receiver, "polling").await);
    }
    let mut oauth = Vec::new();
    for _ in 0..OAUTH_INSTANCES {
        oauth.push(oauth_instance(&app, &provider).await);
    }

    let environment = [
        ("DATABASE_URL", app.db.url.as_str()),
        ("TETHER_ALLOW_PRIVATE_NETWORK", "true"),
        ("TETHER_WORKER_TICK_MILLIS", "50"),
        ("TETHER_POLL_MIN_INTERVAL_SECONDS", "0"),
        ("TETHER_POLL_TIMEOUT_SECONDS", "2"),
        ("TETHER_DELIVERY_TIMEOUT_SECONDS", "2"),
        ("TETHER_DELIVERY_RETRY_SECONDS", "[1, 1, 2, 2, 5, 5, 10]"),
        ("TETHER_REFRESH_TIMEOUT_SECONDS", "3"),
        ("TETHER_REFRESH_RETRY_SECONDS", "1"),
        // The load moves token expiries in the database behind the nodes' backs; they must not cache them.
        ("TETHER_CALL_CACHE_SECONDS", "0"),
    ];
    let start_node = || RunningBinary::start(app.db.dir.path(), &environment);
    let mut running: Vec<Option<RunningBinary>> = (0..NODES).map(|_| Some(start_node())).collect();
    let views = Arc::new(Mutex::new(
        running
            .iter()
            .map(|node| NodeView { base_url: node.as_ref().map(|node| node.base_url.clone()), generation: 0 })
            .collect::<Vec<_>>(),
    ));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let admin = crate::utils::authorization(
        secrecy::ExposeSecret::expose_secret(&app.first.user_secret),
        secrecy::ExposeSecret::expose_secret(&app.first.organization_secret),
    );

    // The load: API calls, and proxied calls through the OAuth instances, each to the next live node.
    let mut load = Vec::new();
    for (what, tokens) in [("api", Vec::new()), ("proxy", oauth.iter().map(|(_, token)| token.clone()).collect())] {
        let (views, ledger, stop, http, admin) =
            (views.clone(), ledger.clone(), stop.clone(), http.clone(), admin.clone());
        load.push(tokio::spawn(async move {
            let mut turn = 0;
            while !stop.load(Ordering::SeqCst) {
                turn += 1;
                let Some((node, generation, base)) = pick_live(&views, turn) else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let request = if what == "api" {
                    http.get(format!("{base}/elements/api-v2/instances")).header("Authorization", &admin)
                } else {
                    let token = &tokens[turn % tokens.len()];
                    http.get(format!("{base}/elements/api-v2/hubs/general/me"))
                        .header("Authorization", format!("{admin}, Element {token}"))
                };
                let status = request.send().await.ok().map(|response| response.status().as_u16());
                let answered_at = Instant::now();
                ledger.lock().unwrap().outcomes.push(Outcome { node, generation, answered_at, status, what });
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        }));
    }
    // New contacts at the provider, for the pollers to find.
    {
        let (crm, ledger, stop) = (crm.clone(), ledger.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut number = 0;
            while !stop.load(Ordering::SeqCst) {
                number += 1;
                let id = format!("chaos-{number}");
                let now = second(Utc::now());
                crm.put(&id, "Chaos", now, now);
                ledger.lock().unwrap().written.push((id, Instant::now()));
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
        }));
    }
    // Tokens that keep expiring: the next call through the instance, or the refresher, must refresh.
    {
        let (stopped, ids) = (stop.clone(), oauth.iter().map(|(id, _)| *id).collect::<Vec<_>>());
        let app = &app;
        let expirer = async move {
            let mut turn = 0;
            while !stopped.load(Ordering::SeqCst) {
                believe_expiry(app, ids[turn % ids.len()], "2020-01-01T00:00:00Z").await;
                turn += 1;
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
        };
        // The chaos itself, on this task: kill a random node, bring it back a moment later.
        let chaos = async {
            let deadline = Instant::now() + Duration::from_secs(chaos_seconds());
            while Instant::now() < deadline {
                let pause = rand::thread_rng().gen_range(2000..4000);
                tokio::time::sleep(Duration::from_millis(pause)).await;
                let victim = rand::thread_rng().gen_range(0..NODES);
                let generation = {
                    let mut views = views.lock().unwrap();
                    views[victim].base_url = None;
                    views[victim].generation
                };
                running[victim].take().expect("the node is running").kill();
                ledger.lock().unwrap().kills.insert((victim, generation), Instant::now());
                tokio::time::sleep(Duration::from_millis(rand::thread_rng().gen_range(200..1500))).await;
                let node = tokio::task::block_in_place(start_node);
                let mut views = views.lock().unwrap();
                views[victim] = NodeView { base_url: Some(node.base_url.clone()), generation: generation + 1 };
                running[victim] = Some(node);
            }
            stop.store(true, Ordering::SeqCst);
        };
        tokio::join!(expirer, chaos);
    }
    for task in load {
        task.await.unwrap();
    }

    // No event lost: every contact reaches the receiver once per polling instance, under one event id, in time.
    let written = ledger.lock().unwrap().written.clone();
    let expected = written.len() * polling.len();
    let first_seen = eventually(90, &format!("{expected} events reach the receiver"), || async {
        let mut first_seen: BTreeMap<(i64, String), (Instant, BTreeSet<String>)> = BTreeMap::new();
        for delivery in receiver.deliveries() {
            let change = &delivery.body["events"][0];
            let key = (delivery.body["instanceId"].as_i64().unwrap(), change["objectId"].as_str().unwrap().to_owned());
            let entry = first_seen.entry(key).or_insert((delivery.at, BTreeSet::new()));
            entry.0 = entry.0.min(delivery.at);
            entry.1.insert(delivery.event_id.clone());
        }
        let complete = polling
            .iter()
            .all(|instance| written.iter().all(|(id, _)| first_seen.contains_key(&(*instance, id.clone()))));
        complete.then_some(first_seen)
    })
    .await;
    let mut slowest = Duration::ZERO;
    for ((instance, object), (at, ids)) in &first_seen {
        assert_eq!(ids.len(), 1, "instance {instance}, {object}: one event id, however often delivered: {ids:?}");
        if let Some((_, written_at)) = written.iter().find(|(id, _)| id == object) {
            slowest = slowest.max(at.saturating_duration_since(*written_at));
        }
    }
    assert!(slowest <= EVENT_TOLERANCE, "every instance was polled on time: the slowest event took {slowest:?}");

    // The load did refresh, rotating refresh tokens, while nodes died.
    let refreshes = provider.grants("refresh_token").await;
    assert!(refreshes as usize >= OAUTH_INSTANCES, "only {refreshes} refreshes happened under the chaos");

    // No grant lost: each OAuth instance refreshes once more, through each node.
    let views_now = views.lock().unwrap().clone();
    for (id, token) in &oauth {
        for view in &views_now {
            believe_expiry(&app, *id, "2020-01-01T00:00:00Z").await;
            let base = view.base_url.as_ref().unwrap();
            let answer = app.as_instance_at(base, token, Method::GET, "/hubs/general/me").send().await.unwrap();
            assert_eq!(expect_json(answer, StatusCode::OK).await["sub"], "alice", "instance {id} still refreshes");
        }
    }

    // No 5xx but from a node killed within a second of answering; no failed connection but to a killed node.
    let ledger = ledger.lock().unwrap();
    assert!(ledger.kills.len() >= 2, "the chaos killed nodes: {:?}", ledger.kills.len());
    let dying = |outcome: &Outcome| {
        ledger.kills.get(&(outcome.node, outcome.generation)).is_some_and(|killed| {
            killed.saturating_duration_since(outcome.answered_at) <= Duration::from_secs(1)
                || outcome.answered_at >= *killed
        })
    };
    for what in ["api", "proxy"] {
        let outcomes: Vec<&Outcome> = ledger.outcomes.iter().filter(|outcome| outcome.what == what).collect();
        let succeeded = outcomes.iter().filter(|outcome| outcome.status == Some(200)).count();
        assert!(succeeded > 20, "{what}: only {succeeded} calls succeeded");
        for outcome in &outcomes {
            match outcome.status {
                Some(200) => {}
                Some(status) if status >= 500 => assert!(dying(outcome), "{what}: a 5xx from a live node: {outcome:?}"),
                None => assert!(dying(outcome), "{what}: a failed connection to a live node: {outcome:?}"),
                Some(status) => panic!("{what}: answered {status}: {outcome:?}"),
            }
        }
    }
    eprintln!(
        "chaos: {} s, {} kills, {} calls, {} refreshes, {} events, slowest event {slowest:?}",
        chaos_seconds(),
        ledger.kills.len(),
        ledger.outcomes.len(),
        refreshes,
        first_seen.len()
    );
}
