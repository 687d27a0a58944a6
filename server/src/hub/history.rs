//! Instances' stories: the entry written beside each change to an instance (the user's edits in
//! `instances`, the refresher's results in `tokens`, the state changes announced in `notices`), and the
//! `InstanceHistory` capability that reads them.

use super::errors::OrInternal;
use super::service::HubService;
use crate::store::audit::Actor;
use crate::store::history::{HISTORY_KEPT, NewHistoryEntry};
use crate::store::instances::InstanceRecord;
use app::error::HubError;
use app::history::{HistoryEntry, HistoryKind};
use app::hub::{Caller, InstanceHistory};
use app::instances::InstanceTarget;

/// The entry that tells of `kind` happening to `record`, done by `actor`.
pub(super) fn history_entry(
    record: &InstanceRecord,
    kind: HistoryKind,
    actor: &Actor,
    detail: String,
) -> NewHistoryEntry {
    NewHistoryEntry {
        organization_id: record.organization_id,
        instance_id: record.id,
        kind,
        actor: actor.to_string(),
        detail,
    }
}

impl HubService {
    /// Records `entry`. A failure to record is logged, not answered: the change it tells of is already made.
    pub(super) async fn note_history(&self, entry: NewHistoryEntry) {
        if let Err(error) = self.store.record_history(&entry).await {
            tracing::warn!(%error, instance = %entry.instance_id, kind = entry.kind.as_str(), "an instance's history entry was not written");
        }
    }
}

#[async_trait::async_trait]
impl InstanceHistory for HubService {
    async fn instance_history(&self, caller: &Caller, target: &InstanceTarget) -> Result<Vec<HistoryEntry>, HubError> {
        let (record, _) = self.target_instance(caller, target).await?;
        self.store.instance_history(caller.organization_id, record.id, HISTORY_KEPT).await.or_internal()
    }
}
