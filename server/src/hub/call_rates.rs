//! Instances' own limits on calls through them (`proxy.rate.*`), which keep a team within its provider's quota:
//! one token bucket per instance on this node, made when its first limited call comes and forgotten when the
//! instance has been idle a while, so that the buckets held stay bounded.

use app::error::HubError;
use app::hub::CallRate;
use app::instances::InstanceId;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::sync::Arc;
use std::time::Duration;

/// The most instances whose buckets one node keeps at once.
const MAX_BUCKETS: u64 = 100_000;
/// How long a bucket is kept after its instance's last call: long enough to refill it whole.
const IDLE_BUCKET_LIFETIME: Duration = Duration::from_secs(600);

/// The buckets of the instances that have a limit.
pub(super) struct CallRates {
    buckets: moka::sync::Cache<InstanceId, (CallRate, Arc<DefaultDirectRateLimiter>)>,
}

impl Default for CallRates {
    fn default() -> CallRates {
        CallRates {
            buckets: moka::sync::Cache::builder().max_capacity(MAX_BUCKETS).time_to_idle(IDLE_BUCKET_LIFETIME).build(),
        }
    }
}

fn bucket(rate: CallRate) -> Arc<DefaultDirectRateLimiter> {
    let period = Duration::from_secs_f64(1.0 / rate.per_second);
    let burst = std::num::NonZeroU32::new(rate.burst).unwrap_or(std::num::NonZeroU32::MIN);
    let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(burst)).allow_burst(burst);
    Arc::new(RateLimiter::direct(quota))
}

impl CallRates {
    /// Takes a turn for a call through `instance`: at once, or after a wait of at most the rate's `wait_millis`;
    /// else a 429 naming when to try again. A changed limit starts a new bucket.
    pub(super) async fn admit(&self, instance: InstanceId, rate: CallRate) -> Result<(), HubError> {
        let limiter = match self.buckets.get(&instance) {
            Some((kept, limiter)) if kept == rate => limiter,
            _ => {
                let limiter = bucket(rate);
                self.buckets.insert(instance, (rate, limiter.clone()));
                limiter
            }
        };
        let Err(not_until) = limiter.check() else { return Ok(()) };
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        if wait <= Duration::from_millis(rate.wait_millis) {
            tokio::time::sleep(wait).await;
            if limiter.check().is_ok() {
                return Ok(());
            }
        }
        let retry_after_seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        Err(HubError::TooManyRequests {
            message: format!(
                "Instance {} is over its own limit of {} calls a second (proxy.rate.limit); retry in {retry_after_seconds} s",
                instance.0, rate.per_second
            ),
            retry_after_seconds,
        })
    }
}
