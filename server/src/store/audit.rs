//! The audit log: who read a secret or changed a tenant, and when.

use super::{Store, StoreResult, from_millis, now_millis};
use app::hub::Caller;
use app::types::{OrganizationId, UserId};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// The actor of a refused sign-in: this prefix, then the email typed.
pub const SIGN_IN_ACTOR_PREFIX: &str = "email:";

/// Who did what the audit log records, written as `user:<id>`, `cli`, `system` or `email:<typed>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user or an API caller.
    User(UserId),
    /// The operator, through the `tether` command line.
    Cli,
    /// Tether itself, as at first start.
    System,
    /// A sign-in that did not get past its password or code, by the email typed.
    SignIn(String),
}

impl Actor {
    /// The user behind a call.
    pub fn of(caller: &Caller) -> Actor {
        Actor::User(caller.user_id)
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
            Actor::SignIn(email) => write!(f, "{SIGN_IN_ACTOR_PREFIX}{email}"),
        }
    }
}

/// One audit record to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub organization_id: Option<OrganizationId>,
    /// An [`Actor`], as written.
    pub actor: String,
    /// A dotted verb such as `user.created` or `secret.read`.
    pub action: String,
    /// What was acted on, such as `user:12` or `vault:3 (purpose)`.
    pub target: String,
    pub request_id: Option<String>,
}

/// Which records an audit listing wants; times in Unix milliseconds, `to` excluded.
#[derive(Clone, Copy, Debug, Default)]
pub struct AuditFilter<'a> {
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    pub from: Option<i64>,
    pub to: Option<i64>,
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

    /// One organization's records matching `filter`, newest first: `limit` of them after skipping `offset`.
    pub async fn filtered_audit_records(
        &self,
        organization: OrganizationId,
        filter: &AuditFilter<'_>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<AuditRecord>> {
        // An action ending in a dot names every action under it.
        let prefix = filter.action.is_some_and(|action| action.ends_with('.'));
        let action = filter.action.map(|action| if prefix { format!("{action}%") } else { action.to_owned() });
        let sql = if prefix {
            "SELECT organization_id, actor, action, target, request_id, at FROM audit_log \
             WHERE organization_id = $1 AND ($2 IS NULL OR actor = $2) AND action LIKE $3 \
             AND at >= $4 AND at < $5 ORDER BY id DESC LIMIT $6 OFFSET $7"
        } else {
            "SELECT organization_id, actor, action, target, request_id, at FROM audit_log \
             WHERE organization_id = $1 AND ($2 IS NULL OR actor = $2) AND ($3 IS NULL OR action = $3) \
             AND at >= $4 AND at < $5 ORDER BY id DESC LIMIT $6 OFFSET $7"
        };
        let rows = sqlx::query(sql)
            .bind(organization.0)
            .bind(filter.actor)
            .bind(action)
            .bind(filter.from.unwrap_or(i64::MIN))
            .bind(filter.to.unwrap_or(i64::MAX))
            .bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| Ok(audit_record_from_row(row)?)).collect()
    }

    /// The newest records of one organization, newest first.
    pub async fn audit_records(&self, organization: OrganizationId, limit: i64) -> StoreResult<Vec<AuditRecord>> {
        self.filtered_audit_records(organization, &AuditFilter::default(), limit, 0).await
    }
}

fn audit_record_from_row(row: &sqlx::any::AnyRow) -> Result<AuditRecord, sqlx::Error> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_written_as_the_audit_log_shows_them() {
        let written: Vec<String> =
            [Actor::User(UserId(12)), Actor::Cli, Actor::System, Actor::SignIn("ada@example.com".into())]
                .iter()
                .map(Actor::to_string)
                .collect();
        assert_eq!(written, ["user:12", "cli", "system", "email:ada@example.com"]);
    }
}
