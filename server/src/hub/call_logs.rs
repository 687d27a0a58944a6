//! Call logs: the proxy hands each finished call to this node's recorder, whose one task writes them in batches
//! off the calls' path and prunes them by age and count; reading an instance's logs writes what is queued first.

use super::errors::OrInternal;
use super::service::HubService;
use crate::store::Store;
use crate::store::call_logs::{CallLogFilter, CallLogRetention};
use crate::store::instances::InstanceRecord;
use app::call_logs::{CallLog, CallLogQuery, CallRecording, RecordedCall, StatusFilter};
use app::error::HubError;
use app::hub::{CallLogs, Caller};
use app::instances::InstanceTarget;
use app::paging::Page;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How many calls may wait to be written; past that, records are dropped rather than slow the proxy.
const QUEUE_LENGTH: usize = 10_000;
/// The most calls written in one transaction.
const BATCH: usize = 500;
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
    fn retention(&self, now: i64) -> CallLogRetention {
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

    fn record(&self, call: RecordedCall) {
        if self.queue.try_send(Queued::Call(call)).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "call log queue full: call records dropped");
            }
        }
    }

    /// Waits until what was queued before now is written.
    async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.queue.send(Queued::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn write_queued(store: Store, settings: CallLogSettings, mut received: mpsc::Receiver<Queued>) {
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(BATCH);
    let mut flushes = Vec::new();
    loop {
        tokio::select! {
            next = received.recv() => {
                let Some(first) = next else { break };
                let mut next = Some(first);
                while let Some(queued) = next.take() {
                    match queued {
                        Queued::Call(call) => batch.push(call),
                        Queued::Flush(done) => flushes.push(done),
                    }
                    if batch.len() < BATCH {
                        next = received.try_recv().ok();
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
            }
        }
    }
}

impl HubService {
    /// How much of a call through `record` is recorded.
    pub(super) fn recording_for(&self, record: &InstanceRecord) -> CallRecording {
        let settings = &self.settings.call_logs;
        match (settings.enabled, record.trace_logging) {
            (false, _) => CallRecording::Off,
            (true, false) => CallRecording::Summary,
            (true, true) => CallRecording::Trace { body_limit: settings.trace_body_limit },
        }
    }

    /// Removes the call records past keeping at `now` (Unix milliseconds), as this node's recorder does every
    /// minute; answers how many rows went.
    pub async fn prune_call_logs(&self, now: i64) -> Result<u64, HubError> {
        self.store.prune_call_logs(self.settings.call_logs.retention(now)).await.or_internal()
    }
}

#[async_trait::async_trait]
impl CallLogs for HubService {
    fn record_call(&self, call: RecordedCall) {
        self.call_recorder.record(call);
    }

    async fn call_logs(
        &self,
        caller: &Caller,
        instance: &InstanceTarget,
        query: CallLogQuery,
    ) -> Result<Vec<CallLog>, HubError> {
        let (record, _) = self.target_instance(caller, instance).await?;
        let page = Page::of(query.page, query.page_size)?;
        let statuses = match query.status.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            None => (0, u16::MAX),
            Some(text) => StatusFilter::parse(text)
                .ok_or_else(|| HubError::invalid("status", format!("`{text}` is not a status or a class such as 4xx")))?
                .range(),
        };
        let filter = CallLogFilter {
            statuses,
            from: query.from.map_or(i64::MIN, |from| from.timestamp_millis()),
            to: query.to.map_or(i64::MAX, |to| to.timestamp_millis()),
        };
        self.call_recorder.flush().await;
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        self.store
            .call_logs(caller.organization_id, record.id, filter, i64::from(page.size()), offset)
            .await
            .or_internal()
    }
}
