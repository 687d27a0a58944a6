//! This node's recorder of proxied calls: a bounded queue the proxy hands each finished call to, and the one task
//! that writes them in batches off the calls' path, and every minute removes old call records and history.

use crate::store::Store;
use crate::store::call_logs::CallLogRetention;
use app::call_logs::RecordedCall;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How many calls may wait to be written; past that, records are dropped rather than slow the proxy.
const QUEUE_LENGTH: usize = 10_000;
/// The most calls written in one transaction.
const BATCH: usize = 500;
/// How long the writer gathers calls before a write, unless a batch fills first.
const GATHER_FOR: Duration = Duration::from_millis(200);
/// How often old records are removed.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// What the proxy records and how long it is kept.
#[derive(Clone, Debug)]
pub struct CallLogSettings {
    pub enabled: bool,
    pub max_age: Duration,
    pub max_per_instance: u32,
    pub trace_body_limit: usize,
    pub trace_max_age: Duration,
}

impl CallLogSettings {
    pub fn from_config(proxy: &crate::config::ProxySettings) -> CallLogSettings {
        CallLogSettings {
            enabled: proxy.call_logs,
            max_age: proxy.call_log_max_age,
            max_per_instance: proxy.call_log_max_per_instance,
            trace_body_limit: proxy.trace_body_limit,
            trace_max_age: proxy.trace_max_age,
        }
    }

    /// What goes past keeping at `now` (Unix milliseconds).
    pub(super) fn retention(&self, now: i64) -> CallLogRetention {
        let before = |age: Duration| now.saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX));
        CallLogRetention {
            older_than: before(self.max_age),
            traces_older_than: before(self.trace_max_age),
            keep_per_instance: self.max_per_instance,
        }
    }
}

// Almost every item is a call: boxing it would cost an allocation per call to save space on the rare flush.
#[allow(clippy::large_enum_variant)]
enum Queued {
    Call(RecordedCall),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// This node's queue of calls to record, and the task that writes them.
pub(super) struct CallRecorder {
    queue: mpsc::Sender<Queued>,
    dropped: AtomicU64,
}

impl CallRecorder {
    /// Starts the writing task on the current runtime; it ends once the recorder is dropped and its queue written.
    pub(super) fn start(store: Store, settings: CallLogSettings) -> CallRecorder {
        let (queue, received) = mpsc::channel(QUEUE_LENGTH);
        tokio::spawn(write_queued(store, settings, received));
        CallRecorder { queue, dropped: AtomicU64::new(0) }
    }

    pub(super) fn record(&self, call: RecordedCall) {
        if self.queue.try_send(Queued::Call(call)).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "call log queue full: call records dropped");
            }
        }
    }

    /// Waits until what was queued before now is written.
    pub(super) async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.queue.send(Queued::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn write_queued(store: Store, settings: CallLogSettings, mut received: mpsc::Receiver<Queued>) {
    // The first prune waits a whole period, so starting a node runs no prune queries.
    let mut prune = tokio::time::interval_at(tokio::time::Instant::now() + PRUNE_EVERY, PRUNE_EVERY);
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(BATCH);
    let mut flushes = Vec::new();
    loop {
        tokio::select! {
            next = received.recv() => {
                let Some(first) = next else { break };
                // Gathers calls for a moment, so a busy node commits a few large transactions a second rather
                // than one per handful of calls; a flush is written at once.
                let deadline = tokio::time::Instant::now() + GATHER_FOR;
                let mut next = Some(first);
                while let Some(queued) = next.take() {
                    match queued {
                        Queued::Call(call) => batch.push(call),
                        Queued::Flush(done) => flushes.push(done),
                    }
                    if batch.len() < BATCH && flushes.is_empty() {
                        next = tokio::time::timeout_at(deadline, received.recv()).await.ok().flatten();
                    }
                }
                if !batch.is_empty() {
                    if let Err(error) = store.insert_call_logs(&batch).await {
                        tracing::warn!(%error, calls = batch.len(), "call logs not written");
                    }
                    batch.clear();
                }
                for done in flushes.drain(..) {
                    let _ = done.send(());
                }
            }
            _ = prune.tick() => {
                if let Err(error) = store.prune_call_logs(settings.retention(crate::store::now_millis())).await {
                    tracing::warn!(%error, "old call logs not removed");
                }
                if let Err(error) = store.prune_instance_history().await {
                    tracing::warn!(%error, "old instance history not removed");
                }
            }
        }
    }
}
