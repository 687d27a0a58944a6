//! The AuditLog capability: the organization's audit log, filtered and paged.

use super::errors::OrInternal;
use super::service::HubService;
use crate::store::audit::AuditFilter;
use app::error::HubError;
use app::hub::{AuditLog, Caller};
use app::types::{AuditLogEntry, AuditQuery};

/// How many audit records a page holds unless the caller asks for another size, and at most.
const AUDIT_PAGE_SIZE: u32 = 50;

const AUDIT_PAGE_SIZE_MAX: u32 = 200;

#[async_trait::async_trait]
impl AuditLog for HubService {
    async fn audit_log(&self, caller: &Caller, query: AuditQuery) -> Result<Vec<AuditLogEntry>, HubError> {
        caller.require_admin("read the audit log")?;
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from >= to
        {
            return Err(HubError::BadRequest("from: must be before to".into()));
        }
        let page_size = i64::from(match query.page_size {
            0 => AUDIT_PAGE_SIZE,
            size => size.min(AUDIT_PAGE_SIZE_MAX),
        });
        fn text(value: &Option<String>) -> Option<&str> {
            value.as_deref().map(str::trim).filter(|value| !value.is_empty())
        }
        let filter = AuditFilter {
            actor: text(&query.actor),
            action: text(&query.action),
            from: query.from.map(|at| at.timestamp_millis()),
            to: query.to.map(|at| at.timestamp_millis()),
        };
        let offset = i64::from(query.page.max(1) - 1) * page_size;
        let records = self
            .store
            .filtered_audit_records(caller.organization_id, &filter, page_size, offset)
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
