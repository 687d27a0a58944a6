//! The notification outbox: notices written durably first, then claimed by one node's mailer and marked sent, or
//! kept for the console when no SMTP server is configured.

use super::{Store, StoreResult, now_millis};
use app::instances::InstanceId;
use app::types::OrganizationId;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A notice to queue.
#[derive(Clone, Debug)]
pub struct NewNotification {
    pub organization_id: OrganizationId,
    pub instance_id: Option<InstanceId>,
    /// `instance.disabled`, `instance.invalid` or `instance.recovered`.
    pub kind: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// A notice as stored, with its delivery so far.
#[derive(Clone, Debug)]
pub struct NotificationRecord {
    pub id: i64,
    pub notice: NewNotification,
    /// `email`, or `sms` for a text message kept in the outbox because no SMS provider is configured.
    pub channel: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// How many times the mailer tries one notice before leaving it in the outbox for good.
pub const MAIL_ATTEMPTS: i64 = 12;

/// How long a node may hold a claimed notice before another node may take it over.
const CLAIM_MILLIS: i64 = 60_000;

const COLUMNS: &str = "id, organization_id, instance_id, kind, recipients, subject, body, channel, created_at, sent_at, attempts, \
     last_error";

fn notification_from_row(row: &AnyRow) -> Result<NotificationRecord, sqlx::Error> {
    let recipients: String = row.try_get("recipients")?;
    Ok(NotificationRecord {
        id: row.try_get("id")?,
        notice: NewNotification {
            organization_id: OrganizationId(row.try_get("organization_id")?),
            instance_id: row.try_get::<Option<i64>, _>("instance_id")?.map(InstanceId),
            kind: row.try_get("kind")?,
            recipients: serde_json::from_str(&recipients).map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
            subject: row.try_get("subject")?,
            body: row.try_get("body")?,
        },
        channel: row.try_get("channel")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
    })
}

/// Queues a notice inside the caller's transaction, so it exists exactly when the change it announces does.
pub(super) async fn insert(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    notice: &NewNotification,
) -> StoreResult<()> {
    let now = now_millis();
    sqlx::query(
        "INSERT INTO notifications (organization_id, instance_id, kind, recipients, subject, body, created_at, \
         next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(notice.organization_id.0)
    .bind(notice.instance_id.map(|id| id.0))
    .bind(&notice.kind)
    .bind(serde_json::to_string(&notice.recipients).expect("strings serialize"))
    .bind(&notice.subject)
    .bind(&notice.body)
    .bind(now)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

impl Store {
    /// Keeps a text message in the outbox, on its own channel: the mailer never sends it, and the console shows
    /// it with the organization's notices. Development setups read sign-in codes there.
    pub async fn keep_text_message(&self, notice: &NewNotification) -> StoreResult<()> {
        let now = now_millis();
        sqlx::query(
            "INSERT INTO notifications (organization_id, instance_id, kind, recipients, subject, body, channel, \
             created_at, next_attempt_at) VALUES ($1, NULL, $2, $3, $4, $5, 'sms', $6, $6)",
        )
        .bind(notice.organization_id.0)
        .bind(&notice.kind)
        .bind(serde_json::to_string(&notice.recipients).expect("strings serialize"))
        .bind(&notice.subject)
        .bind(&notice.body)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The organization's notices, newest first.
    pub async fn notifications(
        &self,
        organization: OrganizationId,
        limit: i64,
    ) -> StoreResult<Vec<NotificationRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM notifications WHERE organization_id = $1 ORDER BY id DESC LIMIT $2");
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(organization.0).bind(limit).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(notification_from_row).collect::<Result<_, _>>()?)
    }

    /// Claims up to `limit` unsent notices that are due, for this node's mailer. A claim that outlives its node
    /// lapses, and another node takes the notice over.
    pub async fn claim_due_notifications(&self, limit: i64) -> StoreResult<Vec<NotificationRecord>> {
        let now = now_millis();
        let sql = format!(
            "SELECT {COLUMNS} FROM notifications WHERE channel = 'email' AND sent_at IS NULL AND attempts < $1 \
             AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(MAIL_ATTEMPTS)
            .bind(now)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let mut claimed = Vec::new();
        for row in &rows {
            let record = notification_from_row(row)?;
            let taken = sqlx::query(
                "UPDATE notifications SET claimed_until = $1 WHERE id = $2 AND sent_at IS NULL \
                 AND (claimed_until IS NULL OR claimed_until < $3)",
            )
            .bind(now + CLAIM_MILLIS)
            .bind(record.id)
            .bind(now)
            .execute(self.pool())
            .await?;
            if taken.rows_affected() == 1 {
                claimed.push(record);
            }
        }
        Ok(claimed)
    }

    pub async fn mark_notification_sent(&self, id: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE notifications SET sent_at = $1, attempts = attempts + 1, claimed_until = NULL WHERE id = $2",
        )
        .bind(now_millis())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Notes a failed sending; the notice is tried again after `retry_in_millis`.
    pub async fn mark_notification_failed(&self, id: i64, error: &str, retry_in_millis: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE notifications SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, \
             claimed_until = NULL WHERE id = $3",
        )
        .bind(error)
        .bind(now_millis() + retry_in_millis)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
