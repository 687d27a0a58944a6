//! Instances' stories: the entry written beside each change to an instance (the user's edits in
//! `instances`, the refresher's results in `tokens`, the state changes announced in `notices`), and the
//! `InstanceHistory` capability that reads them.

use super::errors::OrInternal;
use super::service::HubService;
use crate::store::audit::Actor;
use crate::store::history::{HISTORY_KEPT, NewHistoryEntry};
use crate::store::instances::InstanceRecord;
use app::call_logs::CallLogQuery;
use app::error::HubError;
use app::history::{HistoryEntry, HistoryKind, InstanceStory, STORY_CALLS, STORY_ENTRIES};
use app::hub::{CallLogs, Caller, InstanceHistory};
use app::instances::{InstanceCard, InstanceId, InstanceTarget};

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

impl HubService {
    /// The entries with each user named by email rather than by id, as the console shows them. Only the
    /// organization's own users act on its instances.
    async fn with_user_emails(&self, mut entries: Vec<HistoryEntry>) -> Result<Vec<HistoryEntry>, HubError> {
        let mut emails = std::collections::BTreeMap::new();
        for entry in &mut entries {
            let Some(id) = entry.actor.strip_prefix("user:").and_then(|id| id.parse::<i64>().ok()) else { continue };
            if let std::collections::btree_map::Entry::Vacant(unread) = emails.entry(id) {
                let user = self.store.user(app::types::UserId(id)).await.or_internal()?;
                unread.insert(user.map(|user| user.email_address));
            }
            if let Some(Some(email)) = emails.get(&id) {
                entry.actor = email.clone();
            }
        }
        Ok(entries)
    }
}

#[async_trait::async_trait]
impl InstanceHistory for HubService {
    async fn instance_history(&self, caller: &Caller, target: &InstanceTarget) -> Result<Vec<HistoryEntry>, HubError> {
        let (record, _) = self.target_instance(caller, target).await?;
        self.store.instance_history(caller.organization_id, record.id, HISTORY_KEPT).await.or_internal()
    }

    async fn instance_story(&self, caller: &Caller, id: InstanceId) -> Result<InstanceStory, HubError> {
        let (record, entry) = self.target_instance(caller, &InstanceTarget::Id(id)).await?;
        let trace_logging_enabled = record.trace_logging;
        // Shown as a card, without the token: read for the view, not revealed, so not audited.
        let token = self.vault.use_secret(record.token_vault_id).await.or_internal()?;
        let instance = self.instance_view(record, &entry, token).await?;
        let history = self.store.instance_history(caller.organization_id, id, i64::from(STORY_ENTRIES));
        let history = self.with_user_emails(history.await.or_internal()?).await?;
        let newest_calls = CallLogQuery { page_size: Some(STORY_CALLS), ..Default::default() };
        let calls = self.call_logs(caller, &InstanceTarget::Id(id), newest_calls).await?;
        Ok(InstanceStory {
            card: InstanceCard::from(&instance),
            health: instance.health.clone(),
            end_user: instance.end_user.clone(),
            trace_logging_enabled,
            history,
            calls,
            read_at: chrono::Utc::now(),
        })
    }
}
