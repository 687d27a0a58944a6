//! The Notices capability, and telling an organization's owners once when one of their instances breaks or heals.

use super::errors::OrInternal;
use super::service::HubService;
use crate::messages::notify;
use crate::store::audit::Actor;
use crate::store::instances::{InstanceRecord, NotifiedState};
use app::error::HubError;
use app::history::HistoryKind;
use app::hub::{Caller, Notices};

/// How many of the newest notices the console shows.
const NOTICES_SHOWN: i64 = 200;

impl HubService {
    /// Tells the organization's users that the instance is now `state` (disabled, invalid, or working again),
    /// unless they were told already: one notice per change, by one node, and with it one lifecycle event for the
    /// organization's webhook endpoints.
    pub(super) async fn announce(
        &self,
        record: &InstanceRecord,
        element_key: &str,
        state: NotifiedState,
        detail: &str,
    ) -> Result<(), HubError> {
        if record.notified_state == state {
            return Ok(());
        }
        let recipients = self.store.organization_emails(record.organization_id).await.or_internal()?;
        let notice = notify::compose(state, record, element_key, detail, recipients);
        let event_type = match state {
            NotifiedState::Disabled => "instance.disabled",
            NotifiedState::Invalid => "instance.invalid",
            NotifiedState::Ok => "instance.recovered",
        };
        let history_kind = match state {
            NotifiedState::Disabled => HistoryKind::Disabled,
            NotifiedState::Invalid => HistoryKind::Invalid,
            NotifiedState::Ok => HistoryKind::Recovered,
        };
        let history = super::history::history_entry(record, history_kind, &Actor::System, detail.to_owned());
        let reason = Some(detail.to_owned()).filter(|detail| !detail.is_empty());
        let lifecycle =
            self.lifecycle_event(record.organization_id, event_type, Some((record, element_key)), reason)?;
        if self.store.announce_state(record, state, &notice, &lifecycle, &history).await.or_internal()? {
            metrics::counter!("tether_notices_total", "kind" => notice.kind.clone()).increment(1);
            tracing::info!(instance = %record.id, kind = %notice.kind, "queued a notice");
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Notices for HubService {
    async fn notices(&self, caller: &Caller) -> Result<Vec<app::instances::Notice>, HubError> {
        let records = self.store.notifications(caller.organization_id, NOTICES_SHOWN).await.or_internal()?;
        let time = crate::store::from_millis;
        Ok(records
            .into_iter()
            .map(|record| app::instances::Notice {
                id: record.id,
                kind: record.notice.kind,
                instance_id: record.notice.instance_id,
                recipients: record.notice.recipients,
                subject: record.notice.subject,
                body: record.notice.body,
                channel: record.channel,
                created_at: time(record.created_at),
                sent_at: record.sent_at.map(time),
                attempts: record.attempts,
                last_error: record.last_error,
            })
            .collect())
    }
}
