//! The CallLogs capability: handing the proxy's calls to this node's recorder, reading an instance's calls (after
//! writing what is queued), and the recording each instance gets.

use super::errors::OrInternal;
use super::service::HubService;
use crate::store::call_logs::CallLogFilter;
use crate::store::instances::InstanceRecord;
use app::call_logs::{CallLog, CallLogQuery, CallRecording, RecordedCall, StatusFilter};
use app::error::HubError;
use app::hub::{CallLogs, Caller};
use app::instances::InstanceTarget;
use app::paging::Page;

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
