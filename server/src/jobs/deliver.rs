//! The deliverer: every tick, claims the events that are due and posts each to its instance's callback URL,
//! signed, a bounded number at once; and the lifecycle webhooks that are due, each to its endpoint. A 2xx answer
//! delivers it; anything else is retried on the configured schedule, until the last retry or a 410 fails it (and,
//! for an event, pauses the instance's deliveries).

use crate::clock::Clock;
use crate::config::Config;
use crate::hub::Destination;
use crate::hub::HubService;
use crate::providers::outbound::{Outbound, OutboundError};
use crate::providers::webhooks::delivery_headers;
use crate::store::events::{Attempt, DeliveryOutcome};
use crate::store::webhooks::WebhookAttempt;
use futures::StreamExt;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

/// How many rounds of `concurrency` deliveries one pass claims. More share the database writes; fewer keep the
/// lease short, which is how long a crashed node's deliveries wait before another node takes them.
const ROUNDS_PER_PASS: usize = 4;

/// How deliveries go out.
#[derive(Clone)]
pub struct DeliveryPlan {
    /// The waits before each retry.
    pub retries: Vec<Duration>,
    pub timeout: Duration,
    pub concurrency: usize,
    outbound: Outbound,
    /// Retries are scheduled from this clock's now.
    clock: Clock,
}

impl DeliveryPlan {
    /// The plan `config` sets, sending through the hub's outbound client on the hub's clock.
    pub fn from_config(config: &Config, hub: &HubService) -> DeliveryPlan {
        DeliveryPlan {
            retries: config.delivery.retry.clone(),
            timeout: config.delivery.timeout,
            concurrency: config.delivery.concurrency,
            outbound: hub.outbound().clone(),
            clock: hub.clock().clone(),
        }
    }

    /// How many deliveries one pass claims.
    fn batch(&self) -> usize {
        self.concurrency.max(1) * ROUNDS_PER_PASS
    }

    /// How long a pass holds its batch: each of its rounds may take the whole timeout.
    fn batch_lease_millis(&self) -> i64 {
        i64::try_from((self.timeout * ROUNDS_PER_PASS as u32).as_millis()).unwrap_or(i64::MAX / 4) + 5_000
    }

    /// What follows a failed attempt: the next retry, or giving up once the schedule is spent.
    fn after_failure(&self, attempts: i64, code: Option<i64>, error: String) -> DeliveryOutcome {
        let retry = usize::try_from(attempts - 1).ok().and_then(|index| self.retries.get(index));
        match retry {
            Some(wait) if code != Some(410) => DeliveryOutcome::Retry {
                code,
                error,
                at: self.clock.now_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2),
            },
            _ => DeliveryOutcome::GiveUp { code, error },
        }
    }
}

/// One pass over both queues: events, then lifecycle webhooks. Answers whether either took a full batch, after
/// which more may be due.
pub async fn deliver_due(hub: Arc<HubService>, plan: DeliveryPlan) -> anyhow::Result<super::schedule::FullBatch> {
    let events_full = deliver_due_events(&hub, &plan).await?;
    let webhooks_full = deliver_due_webhooks(&hub, &plan).await?;
    Ok(events_full || webhooks_full)
}

/// Claims the due lifecycle webhooks, sends them `concurrency` at a time, and records their outcomes together.
async fn deliver_due_webhooks(hub: &HubService, plan: &DeliveryPlan) -> anyhow::Result<bool> {
    let batch = plan.batch();
    let now = plan.clock.now_millis();
    let claimed = hub.store().claim_due_webhook_deliveries(now, now + plan.batch_lease_millis(), batch as i64).await?;
    let full = claimed.len() >= batch;
    let mut destinations = HashMap::new();
    for delivery in &claimed {
        let key = (delivery.organization_id, delivery.endpoint_id.clone());
        if let Entry::Vacant(entry) = destinations.entry(key) {
            let found = hub.webhook_destination(delivery.organization_id, &delivery.endpoint_id).await;
            entry.insert(found.map_err(|error| error.to_string()));
        }
    }
    let attempts: Vec<WebhookAttempt> = futures::stream::iter(claimed)
        .map(|delivery| {
            let destination = &destinations[&(delivery.organization_id, delivery.endpoint_id.clone())];
            async move {
                let mut headers = Vec::new();
                let message = Message { id: &delivery.event_id, body: &delivery.body, attempts: delivery.attempts };
                let outcome = send(plan, message, destination, &mut headers).await;
                WebhookAttempt { delivery, outcome, headers }
            }
        })
        .buffer_unordered(plan.concurrency)
        .collect()
        .await;
    hub.store().finish_webhook_deliveries(&attempts).await?;
    Ok(full)
}

/// Claims the due event deliveries, sends them `concurrency` at a time, and records their outcomes together.
async fn deliver_due_events(hub: &HubService, plan: &DeliveryPlan) -> anyhow::Result<bool> {
    let batch = plan.batch();
    let now = plan.clock.now_millis();
    let claimed = hub.store().claim_due_deliveries(now, now + plan.batch_lease_millis(), batch as i64).await?;
    let full = claimed.len() >= batch;
    let mut destinations = HashMap::new();
    for event in &claimed {
        if let Entry::Vacant(entry) = destinations.entry(event.instance_id) {
            let found = hub.event_destination(event.organization_id, event.instance_id).await;
            entry.insert(found.map_err(|error| error.to_string()));
        }
    }
    let attempts: Vec<Attempt> = futures::stream::iter(claimed)
        .map(|event| {
            let destination = &destinations[&event.instance_id];
            async move {
                let mut headers = Vec::new();
                let message = Message { id: &event.id, body: &event.body, attempts: event.attempts };
                let outcome = send(plan, message, destination, &mut headers).await;
                Attempt { event, outcome, headers }
            }
        })
        .buffer_unordered(plan.concurrency)
        .collect()
        .await;
    // Should this fail, the leases run out and the events go again: at least once.
    hub.store().finish_deliveries(&attempts).await?;
    Ok(full)
}

/// What one attempt sends: the message's id (`webhook-id`), its exact body, and how many attempts this one makes.
#[derive(Clone, Copy)]
struct Message<'a> {
    id: &'a str,
    body: &'a str,
    attempts: i64,
}

/// Sends one message once, to its destination as this pass found it, noting in `sent` the headers it went out
/// with.
async fn send(
    plan: &DeliveryPlan,
    event: Message<'_>,
    destination: &Result<Option<Destination>, String>,
    sent: &mut Vec<(String, String)>,
) -> DeliveryOutcome {
    let destination = match destination {
        Ok(Some(destination)) => destination,
        Ok(None) => return plan.after_failure(event.attempts, None, "there is no callback URL to send to".into()),
        Err(error) => return plan.after_failure(event.attempts, None, error.clone()),
    };
    let url = match reqwest::Url::parse(&destination.callback_url) {
        Ok(url) => url,
        Err(error) => {
            return plan.after_failure(event.attempts, None, format!("the callback URL is not valid: {error}"));
        }
    };
    let timestamp = chrono::Utc::now().timestamp();
    let mut request = plan
        .outbound
        .post(url)
        .timeout(plan.timeout)
        .header("content-type", "application/json")
        .body(event.body.to_owned());
    for (name, value) in delivery_headers(event.id, event.body, timestamp, destination.signature_key.as_ref()) {
        request = request.header(name, &value);
        sent.push((name.to_owned(), value));
    }
    // A receiver that drops a kept-alive connection under the request gets it once more, at once, on a new one.
    let answer = match request.try_clone() {
        Some(first) => match plan.outbound.send(first).await {
            Err(OutboundError::Failed(error)) if connection_dropped(&error) => plan.outbound.send(request).await,
            answer => answer,
        },
        None => plan.outbound.send(request).await,
    };
    match answer {
        Ok(response) if response.status().is_success() => {
            DeliveryOutcome::Delivered { code: i64::from(response.status().as_u16()) }
        }
        Ok(response) => {
            let code = i64::from(response.status().as_u16());
            plan.after_failure(event.attempts, Some(code), format!("the callback answered {}", response.status()))
        }
        Err(OutboundError::Refused(refused)) => plan.after_failure(event.attempts, None, refused.to_string()),
        Err(OutboundError::Failed(error)) => {
            let detail = if error.is_timeout() { "timed out".to_owned() } else { format!("failed: {error}") };
            plan.after_failure(event.attempts, None, format!("the callback {detail}"))
        }
    }
}

/// Whether a send failed because the connection went away without an answer, as when a receiver closes an idle
/// keep-alive connection just as a request goes out on it; not a timeout, and not a refused connection.
fn connection_dropped(error: &reqwest::Error) -> bool {
    error.is_request() && !error.is_timeout() && !error.is_connect()
}
