//! How a worker runs: a pass every tick, at once again after a full batch or when woken, until cancelled.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What a pass tells its loop: whether it stopped at a full batch, so there may be more to do at once.
pub type FullBatch = bool;

/// Runs `pass` every `tick` until cancelled, and at once when `wake` is notified or the pass before ended with a
/// full batch. A failed pass is logged; the next one tries again.
pub(super) async fn every<F, Fut>(tick: Duration, cancel: CancellationToken, wake: Option<Arc<Notify>>, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<FullBatch>>,
{
    loop {
        let full = tokio::select! {
            _ = cancel.cancelled() => return,
            outcome = pass() => outcome.unwrap_or_else(|error| {
                tracing::warn!(%error, "a background pass failed");
                false
            }),
        };
        if full {
            continue;
        }
        let woken = async {
            match &wake {
                Some(wake) => wake.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(tick) => {}
            _ = woken => {}
        }
    }
}

/// A pass that never stops at a full batch: it waits for the next tick.
pub(super) async fn unbatched(pass: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<FullBatch> {
    pass.await.map(|()| false)
}
