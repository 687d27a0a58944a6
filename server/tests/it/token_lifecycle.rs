//! The token lifecycle beyond a single call: the failure policy (attempts, spacing on the hub's clock,
//! disabling, one email, the recovered notice), the background refresher ahead of expiry, the nightly sweep
//! claimed by one node, two Tether processes on one PostgreSQL refreshing a grant once, a refresh stored by
//! another node while this one waits for the lease, and a Tether killed in the middle of refreshes.

use crate::instances::{code_from, oauth_configuration};
use crate::oauth::{CALLBACK, provider_element};
use crate::on_both_backends;
use crate::processes::{OAuthProvider, RunningBinary, SmtpSink};
use crate::proxy::{believe_expiry, oauth_instance, read_instance};
use crate::utils::{Backend, TestApp, eventually, expect_error, expect_json};
use app::instances::InstanceId;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tether::config::Config;
use tether::jobs::refresh::{RefreshPlan, SWEEP_SCHEDULE, refresh_due, sweep_when_due};

on_both_backends!(
    a_provider_outage_disables_after_the_attempts_and_mails_once,
    a_refused_grant_is_announced_once_and_its_recovery_too,
    the_refresher_renews_a_token_before_it_expires,
    a_refresh_backlog_is_worked_off_pass_after_pass,
    a_slow_provider_holds_up_only_its_own_wave,
    the_nightly_sweep_runs_once_across_nodes,
    a_notice_for_a_state_the_instance_has_left_is_not_sent_late,
);

/// The provider, Tether configured by `adjust`, and the provider's element registered.
async fn start(backend: Backend, adjust: impl FnOnce(&mut Config)) -> (TestApp, OAuthProvider) {
    let provider = OAuthProvider::start(&[CALLBACK], false);
    let app = TestApp::spawn_with(backend, adjust).await;
    app.create_element(&provider_element(&provider)).await;
    (app, provider)
}

/// The organization's notices of one kind, from the outbox.
async fn notices(app: &TestApp, kind: &str) -> usize {
    let all = app.hub.store().notifications(app.first.organization.id, 100).await.unwrap();
    all.iter().filter(|notice| notice.notice.kind == kind).count()
}

async fn state_of(app: &TestApp, id: i64) -> Value {
    read_instance(app, id).await["health"].clone()
}

const ATTEMPTS: u32 = 4;

/// The instance's story from `GET /instances/{id}/history`, oldest first.
pub(crate) async fn history(app: &TestApp, id: i64) -> Vec<Value> {
    let answer = app.as_admin(Method::GET, &format!("/instances/{id}/history")).send().await.unwrap();
    let mut entries = expect_json(answer, StatusCode::OK).await.as_array().unwrap().clone();
    entries.reverse();
    entries
}

fn kinds(entries: &[Value]) -> Vec<&str> {
    entries.iter().map(|entry| entry["kind"].as_str().unwrap()).collect()
}

async fn a_provider_outage_disables_after_the_attempts_and_mails_once(backend: Backend) {
    let sink = SmtpSink::start();
    let (minute, one_second) = (std::time::Duration::from_secs(60), std::time::Duration::from_secs(1));
    let spacing = 5 * minute;
    let (app, provider) = start(backend, |config| {
        config.refresh.attempts = ATTEMPTS;
        config.refresh.retry = spacing;
        config.mail.smtp_url = Some(sink.url().into());
        config.refresh.margin = 5 * minute;
    })
    .await;
    let (id, token) = oauth_instance(&app, &provider).await;
    let receiver = crate::events::Receiver::start().await;
    crate::lifecycle_webhooks::register_endpoint(&app, receiver.url(), &[]).await;
    provider.stage_outage(503, None).await;
    believe_expiry(&app, id, &(chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339()).await;
    app.refresh_due_now().await;
    assert!(provider.refused_at().await.is_empty(), "a token with 30 minutes left is not refreshed yet");

    // Within the margin, on the hub's clock, the refresher tries on its own.
    app.advance(25 * minute + one_second);
    app.refresh_due_now().await;
    assert_eq!(provider.refused_at().await.len(), 1, "the token is within the margin: one attempt");
    let failing = state_of(&app, id).await;
    assert_eq!(failing["state"], "refresh_failing", "{failing}");
    assert_eq!(failing["failedRefreshes"], 1, "{failing}");
    assert!(failing["lastError"].as_str().unwrap().contains("unavailable"), "{failing}");
    // A call meanwhile adds no attempt of its own; the token still works until it expires.
    let meanwhile = app.as_instance(&token, Method::GET, "/hubs/general/me").send().await.unwrap();
    assert_eq!(expect_json(meanwhile, StatusCode::OK).await["sub"], "alice");
    assert_eq!(provider.refused_at().await.len(), 1, "the call waited for the retry");

    // Each retry waits its whole spacing; the last one disables the instance.
    for attempt in 2..=ATTEMPTS as usize {
        app.advance(spacing - one_second);
        app.refresh_due_now().await;
        assert_eq!(provider.refused_at().await.len(), attempt - 1, "attempt {attempt} waits its spacing");
        app.advance(one_second);
        app.refresh_due_now().await;
        assert_eq!(provider.refused_at().await.len(), attempt, "attempt {attempt} is due after the spacing");
    }
    let disabled = read_instance(&app, id).await;
    assert_eq!(disabled["health"]["state"], "disabled", "{disabled}");
    assert_eq!(disabled["disabled"], true);
    assert_eq!(disabled["health"]["failedRefreshes"], ATTEMPTS as i64);
    app.advance(spacing);
    app.refresh_due_now().await;
    assert_eq!(provider.refused_at().await.len(), ATTEMPTS as usize, "no attempt while disabled");
    let call = app.as_instance(&token, Method::GET, "/hubs/general/me").send().await.unwrap();
    expect_error(call, StatusCode::FORBIDDEN, "disabled").await;

    app.mail_due_now().await;
    let mail = sink.wait_for(1).await;
    assert!(mail[0].text.contains("Subject: Tether disabled the instance"), "{}", mail[0].text);
    assert_eq!(mail[0].recipients, vec![app.first.admin.email_address.clone()]);
    assert_eq!(notices(&app, "instance.disabled").await, 1);

    // The provider is back; enabling the instance brings it back, with one notice that says so.
    provider.end_outage().await;
    let enabled = app.as_admin(Method::PUT, &format!("/instances/{id}/enabled")).send().await.unwrap();
    expect_json(enabled, StatusCode::OK).await;
    app.refresh_due_now().await;
    let health = state_of(&app, id).await;
    assert_eq!(health["state"], "valid", "the refresher renews the token once the provider is back: {health}");
    assert!(health["lastRefreshedAt"].is_string(), "{health}");
    let works = app.as_instance(&token, Method::GET, "/hubs/general/me").send().await.unwrap();
    assert_eq!(expect_json(works, StatusCode::OK).await["sub"], "alice");
    app.mail_due_now().await;
    let mail = sink.wait_for(2).await;
    assert_eq!(mail.len(), 2, "one disabled notice, then one recovered notice");
    assert!(mail[1].text.contains("works again"), "{}", mail[1].text);
    assert_eq!(provider.refused_at().await.len(), ATTEMPTS as usize, "no attempt while disabled");
    assert_eq!((notices(&app, "instance.disabled").await, notices(&app, "instance.recovered").await), (1, 1));
    // The team's endpoint heard the same story, each change once: failing, disabled, recovered.
    app.deliver_due_now().await;
    let told: Vec<Value> = crate::lifecycle_webhooks::lifecycle_events(&receiver);
    let mut told: Vec<&str> = told.iter().map(|event| event["type"].as_str().unwrap()).collect();
    told.sort();
    assert_eq!(told, ["instance.disabled", "instance.recovered", "instance.refresh_failing"]);

    // The instance's own story has every step, with who made it and the provider's words.
    let story = history(&app, id).await;
    let failed = vec!["refresh_failed"; ATTEMPTS as usize];
    let expected = [vec!["created"], failed, vec!["disabled", "enabled", "recovered", "refreshed"]].concat();
    assert_eq!(kinds(&story), expected, "{story:?}");
    let user = format!("user:{}", app.first.admin.id);
    assert_eq!(story[0]["actor"], user.as_str());
    for (attempt, entry) in story[1..=ATTEMPTS as usize].iter().enumerate() {
        let detail = entry["detail"].as_str().unwrap();
        assert!(detail.starts_with(&format!("attempt {} of {ATTEMPTS}: ", attempt + 1)), "{detail}");
        assert!(detail.contains("unavailable"), "{detail}");
        assert_eq!(entry["actor"], "system");
    }
    let disabled = &story[ATTEMPTS as usize + 1];
    assert_eq!(disabled["actor"], "system", "the policy disabled it: {disabled}");
    assert_eq!(story[ATTEMPTS as usize + 2]["actor"], user.as_str(), "a user enabled it");
    let refreshed = story.last().unwrap()["detail"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(refreshed).is_ok(), "the new token's expiry: {refreshed}");
}

async fn a_refused_grant_is_announced_once_and_its_recovery_too(backend: Backend) {
    let (app, provider) = start(backend, |_| {}).await;
    let (id, token) = oauth_instance(&app, &provider).await;
    let secrets = crate::instance_management::stored_secrets(&app, id).await;
    provider.revoke(secrets["oauth.user.refresh_token"].as_str().unwrap()).await;
    believe_expiry(&app, id, "2020-01-01T00:00:00Z").await;
    for _ in 0..3 {
        let refused = app.as_instance(&token, Method::GET, "/hubs/general/me").send().await.unwrap();
        expect_error(refused, StatusCode::UNAUTHORIZED, "INVALID_ACCESS_TOKEN").await;
    }
    assert_eq!(provider.grants("refresh_token").await, 1, "a refused grant is not retried");
    assert_eq!(notices(&app, "instance.invalid").await, 1, "one notice however many calls fail");
    let outbox = app.hub.store().notifications(app.first.organization.id, 10).await.unwrap();
    assert_eq!(outbox[0].sent_at, None, "without SMTP the notice stays in the outbox");
    assert!(outbox[0].notice.body.contains("re-authenticate") || outbox[0].notice.body.contains("Re-authenticate"));

    let (code, _) = code_from(&app, &provider, "").await;
    let patch = json!({"providerData": {"code": code}, "configuration": oauth_configuration()});
    let restored = app.as_admin(Method::PATCH, &format!("/instances/{id}")).json(&patch).send().await.unwrap();
    assert_eq!(expect_json(restored, StatusCode::OK).await["health"]["state"], "valid");
    assert_eq!(notices(&app, "instance.recovered").await, 1);
    // A later, unrelated change announces nothing.
    let renamed = app.as_admin(Method::PATCH, &format!("/instances/{id}")).json(&json!({"name": "Renamed"})).send();
    expect_json(renamed.await.unwrap(), StatusCode::OK).await;
    let enabled = app.as_admin(Method::PUT, &format!("/instances/{id}/enabled")).send().await.unwrap();
    expect_json(enabled, StatusCode::OK).await;
    assert_eq!((notices(&app, "instance.invalid").await, notices(&app, "instance.recovered").await), (1, 1));
    let story = history(&app, id).await;
    assert_eq!(
        kinds(&story),
        ["created", "refresh_failed", "invalid", "reauthenticated", "recovered", "edited", "enabled"],
        "{story:?}"
    );
    assert!(story[1]["detail"].as_str().unwrap().starts_with("the provider refused the grant"), "{story:?}");
}

async fn the_refresher_renews_a_token_before_it_expires(backend: Backend) {
    // The refresher's pass runs here by hand: this test is about what it refreshes, not when it wakes.
    let (app, provider) = start(backend, |config| config.refresh.margin = std::time::Duration::from_secs(120)).await;
    let (id, _) = oauth_instance(&app, &provider).await;
    let (other, _) = oauth_instance(&app, &provider).await;
    app.refresh_due_now().await;
    assert_eq!(provider.grants("refresh_token").await, 0, "no token expires within the margin yet");
    believe_expiry(&app, id, &(chrono::Utc::now() + chrono::Duration::seconds(60)).to_rfc3339()).await;
    app.refresh_due_now().await;
    let renewed = state_of(&app, id).await;
    assert!(renewed["lastRefreshedAt"].is_string(), "{renewed}");
    assert_eq!(renewed["state"], "valid");
    let expires_at = chrono::DateTime::parse_from_rfc3339(renewed["accessTokenExpiresAt"].as_str().unwrap()).unwrap();
    assert!(expires_at > chrono::Utc::now() + chrono::Duration::minutes(30), "a new hour-long token: {renewed}");
    assert_eq!(provider.grants("refresh_token").await, 1, "only the expiring instance was refreshed");
    assert_eq!(state_of(&app, other).await["lastRefreshedAt"], Value::Null);
}

/// A pass that found a whole batch due and refreshed some of it says so, and its loop looks again at once
/// instead of waiting for the next tick; a whole batch that stood still (here, each instance leased by another
/// node) and a batch that is not whole wait for the tick.
async fn a_refresh_backlog_is_worked_off_pass_after_pass(backend: Backend) {
    let (app, provider) = start(backend, |_| {}).await;
    let mut ids = Vec::new();
    for seconds in [30, 40, 50] {
        let id = oauth_instance(&app, &provider).await.0;
        believe_expiry(&app, id, &(chrono::Utc::now() + chrono::Duration::seconds(seconds)).to_rfc3339()).await;
        ids.push(InstanceId(id));
    }
    let plan = RefreshPlan { batch: 2, ..RefreshPlan::from_config(&app.db.config()) };
    let store = app.hub.store();
    let an_hour_on = chrono::Utc::now().timestamp_millis() + 3_600_000;
    for id in &ids[..2] {
        assert!(store.take_refresh_lease(*id, "another-node", an_hour_on).await.unwrap());
    }
    assert!(!refresh_due(app.hub.clone(), plan.clone()).await.unwrap(), "the two soonest are busy elsewhere");
    assert_eq!(provider.grants("refresh_token").await, 0);
    for id in &ids[..2] {
        store.release_refresh_lease(*id, "another-node").await.unwrap();
    }
    assert!(refresh_due(app.hub.clone(), plan.clone()).await.unwrap(), "a whole batch refreshed: look again");
    assert_eq!(provider.grants("refresh_token").await, 2);
    assert!(!refresh_due(app.hub.clone(), plan.clone()).await.unwrap(), "the last one is not a whole batch");
    assert_eq!(provider.grants("refresh_token").await, 3);
    assert!(!refresh_due(app.hub.clone(), plan).await.unwrap(), "nothing is due");
    assert_eq!(provider.grants("refresh_token").await, 3);
}

/// A token endpoint that takes connections and never answers, until dropped.
struct SilentEndpoint {
    url: String,
    held: std::sync::Arc<tokio::sync::Mutex<Vec<tokio::net::TcpStream>>>,
    accepting: tokio::task::JoinHandle<()>,
}

impl SilentEndpoint {
    async fn start() -> SilentEndpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let held = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
        let accepting = tokio::spawn({
            let held = held.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    held.lock().await.push(stream);
                }
            }
        });
        SilentEndpoint { url, held, accepting }
    }

    async fn connections(&self) -> usize {
        self.held.lock().await.len()
    }

    /// Closes every held connection and stops taking new ones: the calls waiting on it fail at once.
    fn close(self) {
        self.accepting.abort();
    }
}

async fn a_slow_provider_holds_up_only_its_own_wave(backend: Backend) {
    const FAST: usize = 6;
    let (app, provider) = start(backend, |config| config.refresh.timeout = std::time::Duration::from_secs(120)).await;
    // The slow element authorizes at the same provider, so its instance is made the usual way; then its token
    // endpoint moves to one that never answers.
    let mut slow_element = provider_element(&provider);
    slow_element["key"] = json!("slow-idp");
    app.create_element(&slow_element).await;
    let (code, _) = code_from(&app, &provider, "").await;
    let body = json!({"element": {"key": "slow-idp"}, "name": "Slow", "providerData": {"code": code},
        "configuration": oauth_configuration()});
    let slow = expect_json(app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap(), StatusCode::OK)
        .await["id"]
        .as_i64()
        .unwrap();
    let silent = SilentEndpoint::start().await;
    slow_element["oauth"]["tokenUrl"] = json!(silent.url);
    let replaced = app.as_admin(Method::PUT, "/elements/slow-idp").json(&slow_element).send().await.unwrap();
    expect_json(replaced, StatusCode::OK).await;
    // The slow instance is due first, so it is in the first wave; the fast ones follow.
    believe_expiry(&app, slow, &(chrono::Utc::now() + chrono::Duration::seconds(20)).to_rfc3339()).await;
    for seconds in 0..FAST as i64 {
        let id = oauth_instance(&app, &provider).await.0;
        believe_expiry(&app, id, &(chrono::Utc::now() + chrono::Duration::seconds(30 + seconds)).to_rfc3339()).await;
    }

    let plan = RefreshPlan { concurrency: 4, ..RefreshPlan::from_config(&app.db.config()) };
    let pass = tokio::spawn(refresh_due(app.hub.clone(), plan));
    eventually(30, "every fast instance refreshed while the slow call is still waiting", || async {
        (provider.grants("refresh_token").await == FAST as u64).then_some(())
    })
    .await;
    assert_eq!(silent.connections().await, 1, "the slow instance's refresh is waiting on its token endpoint");
    assert!(!pass.is_finished(), "the pass waits for the slow call");

    silent.close();
    tokio::time::timeout(std::time::Duration::from_secs(30), pass)
        .await
        .expect("the pass ends once the slow endpoint closes")
        .unwrap()
        .unwrap();
    assert_eq!(provider.grants("refresh_token").await, FAST as u64);
    let failed = read_instance(&app, slow).await;
    assert_eq!(failed["health"]["failedRefreshes"], 1, "{failed}");
}

async fn the_nightly_sweep_runs_once_across_nodes(backend: Backend) {
    let (app, provider) = start(backend, |_| {}).await;
    let other = app.another_node(|_| {}).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(oauth_instance(&app, &provider).await.0);
    }
    let plan = RefreshPlan::from_config(&app.db.config());
    // The first look creates tonight's schedule; nothing is due yet.
    sweep_when_due(app.hub.clone(), plan.clone()).await.unwrap();
    assert_eq!(provider.grants("refresh_token").await, 0);
    sqlx::query("UPDATE schedules SET next_run_at = 0 WHERE name = $1")
        .bind(SWEEP_SCHEDULE)
        .execute(app.hub.store().pool())
        .await
        .unwrap();
    // Both nodes look at once; one claims the sweep.
    let (first, second) =
        tokio::join!(sweep_when_due(app.hub.clone(), plan.clone()), sweep_when_due(other.hub.clone(), plan.clone()));
    first.unwrap();
    second.unwrap();
    assert_eq!(provider.grants("refresh_token").await, 3, "each instance refreshed once");
    for id in &ids {
        assert!(state_of(&app, *id).await["lastRefreshedAt"].is_string());
    }
    let next: i64 = sqlx::query_scalar("SELECT next_run_at FROM schedules WHERE name = $1")
        .bind(SWEEP_SCHEDULE)
        .fetch_one(app.hub.store().pool())
        .await
        .unwrap();
    assert!(next > chrono::Utc::now().timestamp_millis(), "the next sweep is tomorrow night");
    sweep_when_due(other.hub.clone(), plan).await.unwrap();
    assert_eq!(provider.grants("refresh_token").await, 3, "a sweep that is not due does nothing");
    // The rotated refresh tokens all still work.
    for id in ids {
        believe_expiry(&app, id, "2020-01-01T00:00:00Z").await;
    }
    sqlx::query("UPDATE schedules SET next_run_at = 0 WHERE name = $1")
        .bind(SWEEP_SCHEDULE)
        .execute(app.hub.store().pool())
        .await
        .unwrap();
    sweep_when_due(app.hub.clone(), RefreshPlan::from_config(&app.db.config())).await.unwrap();
    assert_eq!(provider.grants("refresh_token").await, 6);
}

/// Two `tether` processes on one PostgreSQL database, as two nodes of one deployment: fifty concurrent calls on
/// a token the provider has expired cause one refresh, and the rotated grant still refreshes afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_refresh_once() {
    let (app, provider, id, token) = crate::proxy::expired_at_the_provider(Backend::Postgres).await;
    let environment = [
        ("DATABASE_URL", app.db.url.as_str()),
        ("TETHER_ALLOW_PRIVATE_NETWORK", "true"),
        ("TETHER_REFRESH_MARGIN_SECONDS", "0"),
        ("TETHER_WORKERS", "false"),
        // The expiry is moved in the database behind the nodes' backs below, which their call caches would see
        // only once their entries lapsed.
        ("TETHER_CALL_CACHE_SECONDS", "0"),
    ];
    // Both use the master key file the in-process app made in the same data folder.
    let nodes =
        [RunningBinary::start(app.db.dir.path(), &environment), RunningBinary::start(app.db.dir.path(), &environment)];
    let calls = (0..50)
        .map(|call| app.as_instance_at(&nodes[call % 2].base_url, &token, Method::GET, "/hubs/general/me").send());
    for answer in futures::future::join_all(calls).await {
        assert_eq!(expect_json(answer.unwrap(), StatusCode::OK).await["sub"], "alice");
    }
    assert_eq!(provider.grants("refresh_token").await, 1, "one refresh across both processes");
    believe_expiry(&app, id, "2020-01-01T00:00:00Z").await;
    let again = app.as_instance_at(&nodes[1].base_url, &token, Method::GET, "/hubs/general/me").send().await.unwrap();
    assert_eq!(expect_json(again, StatusCode::OK).await["sub"], "alice", "the grant survived");
    assert_eq!(provider.grants("refresh_token").await, 2);
    for node in nodes {
        node.stop();
    }
}

/// A refresh that another node stores while this node waits for the instance's lease is used, not made again:
/// the node looks at the instance once it holds the lease. The test stands in for the other node: an uncommitted
/// insert of the lease row makes the node's call wait on PostgreSQL's row lock; meanwhile the test stores what a
/// refresh leaves (a later expiry) and then gives the lease back by rolling the insert back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_stored_while_waiting_for_the_lease_is_not_made_again() {
    // The expiry is moved in the database behind the node's back, which a cached call would not see.
    let (app, provider) =
        start(Backend::Postgres, |config| config.proxy.call_cache = std::time::Duration::from_secs_f64(0.0)).await;
    let (id, token) = oauth_instance(&app, &provider).await;
    believe_expiry(&app, id, "2020-01-01T00:00:00Z").await;
    let pool = app.hub.store().pool();
    let mut other_node = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO refresh_leases (instance_id, holder, expires_at) VALUES ($1, 'other-node', $2)")
        .bind(id)
        .bind(chrono::Utc::now().timestamp_millis() + 60_000)
        .execute(&mut *other_node)
        .await
        .unwrap();
    let call = tokio::spawn(app.as_instance(&token, Method::GET, "/hubs/general/me").send());
    eventually(10, "the call waits for the lease", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
             AND query LIKE 'INSERT INTO refresh_leases%'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        (waiting == 1).then_some(())
    })
    .await;
    believe_expiry(&app, id, "2999-01-01T00:00:00Z").await;
    other_node.rollback().await.unwrap();

    let answer = call.await.unwrap().unwrap();
    assert_eq!(expect_json(answer, StatusCode::OK).await["sub"], "alice");
    assert_eq!(provider.grants("refresh_token").await, 0, "the refresh stored meanwhile is used");
    let leases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refresh_leases WHERE instance_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(leases, 0, "the lease is given back");
    // Still expiring by Tether's lights, the instance is refreshed as before.
    believe_expiry(&app, id, "2020-01-01T00:00:00Z").await;
    let again = app.as_instance(&token, Method::GET, "/hubs/general/me").send().await.unwrap();
    assert_eq!(expect_json(again, StatusCode::OK).await["sub"], "alice");
    assert_eq!(provider.grants("refresh_token").await, 1);
}

/// Tether is killed with SIGKILL while every instance's refresh request is in flight at the provider, round after
/// round; a restarted Tether waits out the dead node's leases and refreshes every instance, and the rotated refresh
/// tokens it wrote refresh again on the next calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_survive_sigkill_in_the_middle() {
    const INSTANCES: usize = 4;
    const KILLS: usize = 4;
    let (app, provider) = start(Backend::Sqlite, |_| {}).await;
    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        instances.push(oauth_instance(&app, &provider).await);
    }
    let environment = [
        ("DATABASE_URL", app.db.url.as_str()),
        ("TETHER_ALLOW_PRIVATE_NETWORK", "true"),
        ("TETHER_WORKER_TICK_MILLIS", "50"),
        ("TETHER_REFRESH_MARGIN_SECONDS", "60"),
        ("TETHER_REFRESH_TIMEOUT_SECONDS", "3"),
        ("TETHER_REFRESH_RETRY_SECONDS", "1"),
    ];
    let expire_all = || async {
        for (id, _) in &instances {
            believe_expiry(&app, *id, "2020-01-01T00:00:00Z").await;
        }
    };
    provider.hold_token_requests().await;
    for kill in 1..=KILLS as u64 {
        expire_all().await;
        let node = RunningBinary::start(app.db.dir.path(), &environment);
        eventually(30, "every instance's refresh is in flight", || async {
            (provider.held_token_requests().await.0 == INSTANCES as u64).then_some(())
        })
        .await;
        node.kill();
        eventually(10, "the provider sees the killed node's requests go", || async {
            (provider.held_token_requests().await == (0, kill * INSTANCES as u64)).then_some(())
        })
        .await;
    }
    assert_eq!(provider.grants("refresh_token").await, 0);
    provider.release_token_requests().await;

    // The refresher of a restarted node renews every instance once the dead node's leases have lapsed.
    let since = chrono::Utc::now();
    let node = RunningBinary::start(app.db.dir.path(), &environment);
    for (id, _) in &instances {
        let health = eventually(30, "the instance refreshes after the crashes", || async {
            let health = state_of(&app, *id).await;
            let refreshed = health["lastRefreshedAt"]
                .as_str()
                .is_some_and(|at| chrono::DateTime::parse_from_rfc3339(at).unwrap() >= since);
            refreshed.then_some(health)
        })
        .await;
        assert_eq!(health["state"], "valid", "instance {id}: {health}");
    }
    assert_eq!(provider.grants("refresh_token").await, INSTANCES as u64, "one refresh each");
    // And the rotated refresh tokens it wrote work: a call on an expired token refreshes again.
    expire_all().await;
    for (_, token) in &instances {
        let call = app.as_instance_at(&node.base_url, token, Method::GET, "/hubs/general/me").send().await.unwrap();
        assert_eq!(expect_json(call, StatusCode::OK).await["sub"], "alice");
    }
    assert_eq!(provider.grants("refresh_token").await, 2 * INSTANCES as u64);
    node.stop();
}

/// The failure policy saves a disabled (or invalid) instance first and announces it after; a user who enables it
/// (or re-authenticates it) in between must not be sent the stale notice once it is working again.
async fn a_notice_for_a_state_the_instance_has_left_is_not_sent_late(backend: Backend) {
    use tether::messages::notify::compose;
    use tether::store::instances::NotifiedState;
    let (app, provider) = start(backend, |_| {}).await;
    let (id, _) = oauth_instance(&app, &provider).await;
    let store = app.hub.store();
    let mut record = store.instance(app.first.organization.id, InstanceId(id)).await.unwrap().unwrap();
    let announce = |record: &tether::store::instances::InstanceRecord, state: NotifiedState| {
        let notice = compose(state, record, "test-oauth", "the provider answered 503", Vec::new());
        let lifecycle = tether::store::webhooks::NewLifecycleEvent {
            id: format!("evt_{}", notice.kind),
            organization_id: record.organization_id,
            event_type: notice.kind.clone(),
            instance_id: Some(record.id),
            body: "{}".into(),
        };
        let history = tether::store::history::NewHistoryEntry {
            organization_id: record.organization_id,
            instance_id: record.id,
            kind: app::history::HistoryKind::Disabled,
            actor: "system".into(),
            detail: String::new(),
        };
        let (store, record) = (store.clone(), record.clone());
        async move { store.announce_state(&record, state, &notice, &lifecycle, &history).await.unwrap() }
    };

    // Disabled, then enabled again before its notice went out: the late notice is dropped.
    record.disabled = true;
    store.update_instance(&record).await.unwrap();
    let disabled = record.clone();
    record.disabled = false;
    store.update_instance(&record).await.unwrap();
    assert!(!announce(&disabled, NotifiedState::Disabled).await);
    assert_eq!(notices(&app, "instance.disabled").await, 0);

    // While the instance is disabled, its notice goes out, once.
    record.disabled = true;
    store.update_instance(&record).await.unwrap();
    assert!(announce(&record, NotifiedState::Disabled).await);
    assert!(!announce(&record, NotifiedState::Disabled).await);
    assert_eq!(notices(&app, "instance.disabled").await, 1);
    // Still disabled, it is not announced as working.
    assert!(!announce(&record, NotifiedState::Ok).await);

    // A grant refused, then re-authenticated before its notice: no "invalid" notice, and the instance, enabled
    // and valid, is announced as working again.
    record.disabled = false;
    record.valid = false;
    store.update_instance(&record).await.unwrap();
    let invalid = record.clone();
    record.valid = true;
    store.update_instance(&record).await.unwrap();
    assert!(!announce(&invalid, NotifiedState::Invalid).await);
    assert_eq!(notices(&app, "instance.invalid").await, 0);
    assert!(announce(&record, NotifiedState::Ok).await);
    assert_eq!(notices(&app, "instance.recovered").await, 1);
}
