//! The token refresher: retries that are due and tokens about to expire, every tick; and the nightly sweep, which
//! refreshes every refreshable instance once, at a configured hour plus jitter, so that no unused refresh token
//! ages out. Both run a bounded number of refreshes at once.

use super::schedule::FullBatch;
use crate::config::Config;
use crate::hub::HubService;
use crate::hub::{RefreshReason, WaveTally};
use crate::store::now_millis;
use app::instances::InstanceId;
use app::types::OrganizationId;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// The schedule row of the nightly sweep.
pub const SWEEP_SCHEDULE: &str = "refresh-sweep";

/// How many instances one query hands the refresher, unless a plan says otherwise.
const BATCH: i64 = 500;

/// An access token is refreshed ahead of its expiry at most this often, whatever lifetime the provider gives.
const MIN_AHEAD_INTERVAL_MILLIS: i64 = 60_000;

/// When and how much the refresher works.
#[derive(Clone, Debug)]
pub struct RefreshPlan {
    pub margin: chrono::Duration,
    pub concurrency: usize,
    /// How many instances one pass takes on.
    pub batch: i64,
    pub sweep_hour: u32,
    pub sweep_jitter: Duration,
}

impl RefreshPlan {
    pub fn from_config(config: &Config) -> RefreshPlan {
        RefreshPlan {
            margin: crate::config::as_chrono(config.refresh.margin),
            concurrency: config.refresh.concurrency,
            batch: BATCH,
            sweep_hour: config.refresh.sweep_hour,
            sweep_jitter: config.refresh.sweep_jitter,
        }
    }
}

/// How many waves run at once. A wave waits for its slowest provider call, so with two side by side one slow
/// provider holds up only its own wave while the other goes on taking the next instances. More, smaller waves
/// cost more database statements and commits. Refreshing 10,000 instances at 32 at once, one run each of
/// `cargo bench -p tether --bench instances`: one wave of 32 at a time 3,734/s, two of 16 3,431/s, four of 8 1,986/s.
const WAVES_AT_ONCE: usize = 2;

/// Refreshes `instances` with at most `concurrency` provider calls at once, as waves of half that running side by
/// side; answers how many were refreshed and how many failed.
async fn refresh_all(
    hub: &HubService,
    instances: Vec<(OrganizationId, InstanceId)>,
    reason: RefreshReason,
    concurrency: usize,
) -> WaveTally {
    let wave_size = (concurrency / WAVES_AT_ONCE).max(1);
    let waves_at_once = (concurrency / wave_size).max(1);
    let mut waves = instances.chunks(wave_size);
    let mut running: FuturesUnordered<_> =
        waves.by_ref().take(waves_at_once).map(|wave| hub.refresh_wave(wave, reason)).collect();
    let mut tally = WaveTally::default();
    while let Some(done) = running.next().await {
        tally += done;
        if let Some(wave) = waves.next() {
            running.push(hub.refresh_wave(wave, reason));
        }
    }
    tally
}

/// One pass over the retries that are due and the tokens about to expire. It ends with a full batch when it
/// found a whole batch due and refreshed some of it, so that a backlog is worked off pass after pass. A batch with
/// no refresh stored (each instance busy on another node, or every one failing, which may leave it due) waits for
/// the next tick instead of being asked for again at once.
pub async fn refresh_due(hub: Arc<HubService>, plan: RefreshPlan) -> anyhow::Result<FullBatch> {
    let now = hub.clock().now_millis();
    let expiring_before = now + plan.margin.num_milliseconds();
    let due = hub
        .store()
        .instances_due_for_refresh(now, expiring_before, now - MIN_AHEAD_INTERVAL_MILLIS, plan.batch)
        .await?;
    if due.is_empty() {
        return Ok(false);
    }
    let whole_batch = due.len() as i64 == plan.batch;
    let tally = refresh_all(&hub, due, RefreshReason::Expiring, plan.concurrency).await;
    Ok(whole_batch && tally.refreshed > 0)
}

/// Runs the nightly sweep when it is due and this node claims it; among all nodes, one runs each night's sweep.
pub async fn sweep_when_due(hub: Arc<HubService>, plan: RefreshPlan) -> anyhow::Result<()> {
    let next = next_sweep_at(Utc::now(), plan.sweep_hour, plan.sweep_jitter);
    if hub.store().claim_schedule(SWEEP_SCHEDULE, next).await? {
        sweep(&hub, &plan).await?;
    }
    Ok(())
}

/// Refreshes every enabled, valid instance that holds a refresh token, page by page.
pub async fn sweep(hub: &HubService, plan: &RefreshPlan) -> anyhow::Result<()> {
    let started = now_millis();
    let reason = RefreshReason::Sweep { refreshed_before: started };
    let (mut after, mut seen, mut failed) = (InstanceId(0), 0, 0);
    loop {
        let page = hub.store().refreshable_instances(after, plan.batch).await?;
        let Some(&(_, last)) = page.last() else { break };
        after = last;
        seen += page.len();
        failed += refresh_all(hub, page, reason, plan.concurrency).await.failed;
    }
    tracing::info!(instances = seen, failed, millis = now_millis() - started, "the nightly refresh sweep is done");
    Ok(())
}

/// The next sweep time after `now`: the next `hour`:00 UTC, plus a random jitter of up to `jitter_minutes`, so
/// that many deployments do not all call their providers at the same moment.
pub fn next_sweep_at(now: DateTime<Utc>, hour: u32, jitter: Duration) -> i64 {
    let today = now.date_naive().and_hms_opt(hour.min(23), 0, 0).expect("a valid hour").and_utc();
    let at = if today > now { today } else { today + chrono::Duration::days(1) };
    let jitter = rand::thread_rng().gen_range(0..=jitter.as_millis() as i64);
    at.timestamp_millis() + jitter
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_sweep_is_next_due_at_the_coming_hour_plus_jitter() {
        let at = |h, m| Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap();
        for _ in 0..100 {
            let tonight = next_sweep_at(at(1, 30), 3, Duration::from_secs(30 * 60));
            assert!((at(3, 0).timestamp_millis()..=at(3, 30).timestamp_millis()).contains(&tonight), "{tonight}");
            let tomorrow = next_sweep_at(at(3, 0), 3, Duration::ZERO);
            assert_eq!(tomorrow, at(3, 0).timestamp_millis() + 86_400_000, "an hour already reached is tomorrow's");
        }
    }
}
