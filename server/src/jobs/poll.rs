//! The poller: every tick, claims the polls that are due (one node per instance) and runs them, a bounded
//! number at once, each within its time limit. A poll that fails keeps its window and is tried again after its
//! interval.

use crate::config::Config;
use crate::hub::HubService;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// How many polls one claim takes.
const BATCH: i64 = 100;

/// How the poller works.
#[derive(Clone, Debug)]
pub struct PollPlan {
    pub concurrency: usize,
    /// How long one poll may take.
    pub timeout: Duration,
}

impl PollPlan {
    pub fn from_config(config: &Config) -> PollPlan {
        PollPlan { concurrency: config.poll.concurrency, timeout: config.poll.timeout }
    }

    /// How long a node holds a claimed poll: past its time limit, so another node takes over only once it has
    /// surely ended.
    fn lease_millis(&self) -> i64 {
        i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX / 4) + 5_000
    }
}

/// One pass: claims the due polls and runs them.
pub async fn poll_due(hub: Arc<HubService>, plan: PollPlan) -> anyhow::Result<()> {
    let now = hub.clock().now_millis();
    let claimed = hub.store().claim_due_polls(hub.node_id(), now, now + plan.lease_millis(), BATCH).await?;
    futures::stream::iter(claimed)
        .for_each_concurrent(plan.concurrency, |claim| {
            let hub = hub.clone();
            async move {
                let failure = match tokio::time::timeout(plan.timeout, hub.poll_instance(claim)).await {
                    Ok(Ok(queued)) => {
                        tracing::debug!(instance = %claim.instance_id, queued, "polled");
                        return;
                    }
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => format!("it took longer than {:?}", plan.timeout),
                };
                tracing::warn!(instance = %claim.instance_id, failure, "a poll failed; it runs again next interval");
                let next = hub.clock().now_millis() + claim.interval_millis;
                if let Err(error) = hub.store().release_poll(claim.instance_id, hub.node_id(), next).await {
                    tracing::warn!(instance = %claim.instance_id, %error, "a failed poll could not be given back");
                }
            }
        })
        .await;
    Ok(())
}
