//! The AuditLog capability: the organization's audit log, filtered and paged.

use super::errors::OrInternal;
use super::service::HubService;
use crate::store::audit::AuditFilter;
use app::error::HubError;
use app::hub::{AuditLog, Caller};
use app::paging::Page;
use app::types::{AuditLogEntry, AuditQuery};

#[async_trait::async_trait]
impl AuditLog for HubService {
    async fn audit_log(&self, caller: &Caller, query: AuditQuery) -> Result<Vec<AuditLogEntry>, HubError> {
        caller.require_admin("read the audit log")?;
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from >= to
        {
            return Err(HubError::BadRequest("from: must be before to".into()));
        }
        let page = Page::of(query.page, query.page_size)?;
        fn text(value: &Option<String>) -> Option<&str> {
            value.as_deref().map(str::trim).filter(|value| !value.is_empty())
        }
        let filter = AuditFilter {
            actor: text(&query.actor),
            action: text(&query.action),
            from: query.from.map(|at| at.timestamp_millis()),
            to: query.to.map(|at| at.timestamp_millis()),
        };
        let records = self
            .store
            .filtered_audit_records(caller.organization_id, &filter, i64::from(page.size()), page.offset() as i64)
            .await
            .or_internal()?;
        Ok(records
            .into_iter()
            .map(|record| AuditLogEntry {
                at: record.at,
                actor: record.entry.actor,
                action: record.entry.action,
                target: record.entry.target,
                request_id: record.entry.request_id,
            })
            .collect())
    }
}
