//! The audit log: who read a secret or changed a tenant, and when.

use super::{Store, StoreResult, from_millis, now_millis};
use app::types::OrganizationId;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// One audit record to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub organization_id: Option<OrganizationId>,
    /// `user:<id>`, `cli` or `system`.
    pub actor: String,
    /// A dotted verb such as `user.created` or `secret.read`.
    pub action: String,
    /// What was acted on, such as `user:12` or `vault:3 (purpose)`.
    pub target: String,
    pub request_id: Option<String>,
}

/// An audit record as stored.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub entry: AuditEntry,
    pub at: DateTime<Utc>,
}

impl Store {
    pub async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (organization_id, actor, action, target, request_id, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(entry.organization_id.map(|id| id.0))
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(entry.request_id.as_deref())
        .bind(now_millis())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The newest records of one organization, newest first.
    pub async fn audit_records(&self, organization: OrganizationId, limit: i64) -> StoreResult<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT organization_id, actor, action, target, request_id, at FROM audit_log \
             WHERE organization_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(organization.0)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(AuditRecord {
                    entry: AuditEntry {
                        organization_id: row.try_get::<Option<i64>, _>("organization_id")?.map(OrganizationId),
                        actor: row.try_get("actor")?,
                        action: row.try_get("action")?,
                        target: row.try_get("target")?,
                        request_id: row.try_get("request_id")?,
                    },
                    at: from_millis(row.try_get("at")?),
                })
            })
            .collect()
    }
}
