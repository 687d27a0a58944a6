//! The poller: every tick, claims the polls that are due (one node per instance) and runs them, a bounded
//! number at once. A poll that fails keeps its window and is tried again after its interval.

use crate::hub::HubService;
use crate::store::now_millis;
use futures::StreamExt;
use std::sync::Arc;

/// How many polls one claim takes.
const BATCH: i64 = 100;

/// How long a node holds a claimed poll; another node takes it over after that. Longer than a poll's requests
/// can take together.
const LEASE_MILLIS: i64 = 5 * 60_000;

/// One pass: claims the due polls and runs them, `concurrency` at a time.
pub async fn poll_due(hub: Arc<HubService>, concurrency: usize) -> anyhow::Result<()> {
    let claimed = hub.store().claim_due_polls(hub.node_id(), now_millis() + LEASE_MILLIS, BATCH).await?;
    futures::stream::iter(claimed)
        .for_each_concurrent(concurrency, |claim| {
            let hub = hub.clone();
            async move {
                match hub.poll_instance(claim).await {
                    Ok(queued) if queued > 0 => tracing::debug!(instance = %claim.instance_id, queued, "polled"),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(instance = %claim.instance_id, %error, "a poll failed; it runs again next interval");
                        let next = now_millis() + claim.interval_millis;
                        if let Err(error) = hub.store().release_poll(claim.instance_id, hub.node_id(), next).await {
                            tracing::warn!(instance = %claim.instance_id, %error, "a failed poll could not be given back");
                        }
                    }
                }
            }
        })
        .await;
    Ok(())
}
