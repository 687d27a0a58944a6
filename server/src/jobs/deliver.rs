//! The deliverer: every tick, claims the events that are due and posts each to its instance's callback URL,
//! signed, a bounded number at once. A 2xx answer delivers it; anything else is retried on the configured
//! schedule, until the last retry or a 410 fails it and pauses the instance's deliveries.

use crate::config::Config;
use crate::hub::HubService;
use crate::outbound::{callback_client, check_literal_host};
use crate::store::events::{DeliveryOutcome, EventRow};
use crate::store::now_millis;
use crate::webhooks::delivery_headers;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// How many deliveries one claim takes.
const BATCH: i64 = 200;

/// How deliveries go out.
#[derive(Clone)]
pub struct DeliveryPlan {
    /// The waits before each retry.
    pub retries: Vec<Duration>,
    pub timeout: Duration,
    pub concurrency: usize,
    pub allow_private: bool,
    client: reqwest::Client,
}

impl DeliveryPlan {
    pub fn from_config(config: &Config) -> DeliveryPlan {
        let timeout = Duration::from_secs_f64(config.delivery_timeout_seconds);
        DeliveryPlan {
            retries: config.delivery_retry_seconds.iter().map(|seconds| Duration::from_secs_f64(*seconds)).collect(),
            timeout,
            concurrency: config.delivery_concurrency,
            allow_private: config.allow_private_network,
            client: callback_client(timeout, config.allow_private_network),
        }
    }

    /// What follows a failed attempt: the next retry, or giving up once the schedule is spent.
    fn after_failure(&self, attempts: i64, code: Option<i64>, error: String) -> DeliveryOutcome {
        let retry = usize::try_from(attempts - 1).ok().and_then(|index| self.retries.get(index));
        match retry {
            Some(wait) if code != Some(410) => DeliveryOutcome::Retry {
                code,
                error,
                at: now_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2),
            },
            _ => DeliveryOutcome::GiveUp { code, error },
        }
    }
}

/// One pass: claims the due deliveries and sends them, `concurrency` at a time. Answers whether it took a full
/// batch, after which more may be due.
pub async fn deliver_due(hub: Arc<HubService>, plan: DeliveryPlan) -> anyhow::Result<super::FullBatch> {
    let lease_until = now_millis() + i64::try_from(plan.timeout.as_millis()).unwrap_or(60_000) + 5_000;
    let claimed = hub.store().claim_due_deliveries(lease_until, BATCH).await?;
    let full = claimed.len() as i64 >= BATCH;
    futures::stream::iter(claimed)
        .for_each_concurrent(plan.concurrency, |event| {
            let (hub, plan) = (hub.clone(), plan.clone());
            async move {
                let outcome = deliver(&hub, &plan, &event).await;
                if let Err(error) = hub.store().finish_delivery(&event, &outcome).await {
                    tracing::warn!(event = %event.id, %error, "a delivery's outcome could not be recorded");
                }
            }
        })
        .await;
    Ok(full)
}

/// Sends one event once.
async fn deliver(hub: &HubService, plan: &DeliveryPlan, event: &EventRow) -> DeliveryOutcome {
    let destination = match hub.event_destination(event.organization_id, event.instance_id).await {
        Ok(Some(destination)) => destination,
        Ok(None) => return plan.after_failure(event.attempts, None, "the instance has no callback URL".into()),
        Err(error) => return plan.after_failure(event.attempts, None, error.to_string()),
    };
    let url = match reqwest::Url::parse(&destination.callback_url) {
        Ok(url) => url,
        Err(error) => {
            return plan.after_failure(event.attempts, None, format!("the callback URL is not valid: {error}"));
        }
    };
    if let Err(error) = check_literal_host(&url, plan.allow_private) {
        return plan.after_failure(event.attempts, None, error);
    }
    let timestamp = chrono::Utc::now().timestamp();
    let mut request = plan.client.post(url).header("content-type", "application/json").body(event.body.clone());
    for (name, value) in delivery_headers(&event.id, &event.body, timestamp, destination.signature_key.as_ref()) {
        request = request.header(name, value);
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => {
            DeliveryOutcome::Delivered { code: i64::from(response.status().as_u16()) }
        }
        Ok(response) => {
            let code = i64::from(response.status().as_u16());
            plan.after_failure(event.attempts, Some(code), format!("the callback answered {}", response.status()))
        }
        Err(error) => {
            let detail = if error.is_timeout() { "timed out".to_owned() } else { format!("failed: {error}") };
            plan.after_failure(event.attempts, None, format!("the callback {detail}"))
        }
    }
}
