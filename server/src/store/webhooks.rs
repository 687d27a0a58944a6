//! Lifecycle webhooks as stored: an organization's endpoints (each signature key in the vault), and the queue of
//! deliveries to them, claimed by lease as event deliveries are, so nodes share the work and each attempt is made
//! by one of them.

use super::events::{DeliveryOutcome, claim_due_sql};
use super::vault::VaultId;
use super::{Store, StoreResult, now_millis};
use app::instances::InstanceId;
use app::types::OrganizationId;
use app::webhooks::WebhookDeliveryStatus;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// An endpoint as stored.
#[derive(Clone, Debug)]
pub struct EndpointRecord {
    pub id: String,
    pub organization_id: OrganizationId,
    pub url: String,
    pub signature_vault_id: VaultId,
    /// The event types it takes; every one when empty.
    pub events: Vec<String>,
    pub created_at: i64,
}

impl EndpointRecord {
    pub fn takes(&self, event_type: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|taken| taken == event_type)
    }
}

/// One lifecycle event to queue for every endpoint of its organization that takes it.
#[derive(Clone, Debug)]
pub struct NewLifecycleEvent {
    pub id: String,
    pub organization_id: OrganizationId,
    pub event_type: String,
    pub instance_id: Option<InstanceId>,
    /// The exact JSON every delivery sends.
    pub body: String,
}

/// A delivery as stored.
#[derive(Clone, Debug)]
pub struct DeliveryRecord {
    pub id: String,
    pub organization_id: OrganizationId,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub instance_id: Option<InstanceId>,
    pub body: String,
    pub status: WebhookDeliveryStatus,
    pub attempts: i64,
    pub last_response_code: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
}

/// One attempt as a pass made it.
pub struct WebhookAttempt {
    pub delivery: DeliveryRecord,
    pub outcome: DeliveryOutcome,
    pub headers: Vec<(String, String)>,
}

const ENDPOINT_COLUMNS: &str = "id, organization_id, url, signature_vault_id, events, created_at";
const DELIVERY_COLUMNS: &str = "id, organization_id, endpoint_id, event_id, event_type, instance_id, body, status, \
     attempts, last_response_code, last_error, delivered_at, created_at";

fn status_text(status: WebhookDeliveryStatus) -> &'static str {
    match status {
        WebhookDeliveryStatus::Pending => "PENDING",
        WebhookDeliveryStatus::Notified => "NOTIFIED",
        WebhookDeliveryStatus::Failed => "FAILED",
    }
}

fn endpoint_from_row(row: &AnyRow) -> Result<EndpointRecord, sqlx::Error> {
    let events: String = row.try_get("events")?;
    Ok(EndpointRecord {
        id: row.try_get("id")?,
        organization_id: OrganizationId(row.try_get("organization_id")?),
        url: row.try_get("url")?,
        signature_vault_id: VaultId(row.try_get("signature_vault_id")?),
        events: serde_json::from_str(&events).map_err(|error| sqlx::Error::Decode(error.into()))?,
        created_at: row.try_get("created_at")?,
    })
}

fn delivery_from_row(row: &AnyRow) -> Result<DeliveryRecord, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let status = match status.as_str() {
        "PENDING" => WebhookDeliveryStatus::Pending,
        "NOTIFIED" => WebhookDeliveryStatus::Notified,
        "FAILED" => WebhookDeliveryStatus::Failed,
        other => return Err(sqlx::Error::Decode(format!("status {other}").into())),
    };
    Ok(DeliveryRecord {
        id: row.try_get("id")?,
        organization_id: OrganizationId(row.try_get("organization_id")?),
        endpoint_id: row.try_get("endpoint_id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        instance_id: row.try_get::<Option<i64>, _>("instance_id")?.map(InstanceId),
        body: row.try_get("body")?,
        status,
        attempts: row.try_get("attempts")?,
        last_response_code: row.try_get("last_response_code")?,
        last_error: row.try_get("last_error")?,
        delivered_at: row.try_get("delivered_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Queues `event` within `transaction` for every endpoint of its organization that takes it (or only for
/// `only`, a test delivery), due now. Answers how many deliveries were queued.
pub async fn queue_lifecycle_event(
    transaction: &mut Transaction<'_, Any>,
    event: &NewLifecycleEvent,
    only: Option<&str>,
) -> StoreResult<usize> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE organization_id = $1 ORDER BY id");
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(event.organization_id.0).fetch_all(&mut **transaction).await?;
    let now = now_millis();
    let mut queued = 0;
    for row in &rows {
        let endpoint = endpoint_from_row(row)?;
        let wanted = match only {
            Some(id) => endpoint.id == id,
            None => endpoint.takes(&event.event_type),
        };
        if !wanted {
            continue;
        }
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, organization_id, endpoint_id, event_id, event_type, instance_id, body, \
             status, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', $8, $8)",
        )
        .bind(format!("whd_{}", uuid::Uuid::new_v4().simple()))
        .bind(event.organization_id.0)
        .bind(&endpoint.id)
        .bind(&event.id)
        .bind(&event.event_type)
        .bind(event.instance_id.map(|id| id.0))
        .bind(&event.body)
        .bind(now)
        .execute(&mut **transaction)
        .await?;
        queued += 1;
    }
    Ok(queued)
}

impl Store {
    pub async fn insert_webhook_endpoint(&self, endpoint: &EndpointRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, organization_id, url, signature_vault_id, events, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&endpoint.id)
        .bind(endpoint.organization_id.0)
        .bind(&endpoint.url)
        .bind(endpoint.signature_vault_id.0)
        .bind(serde_json::Value::from(endpoint.events.clone()).to_string())
        .bind(endpoint.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Writes an endpoint's URL, signature key entry and event list.
    pub async fn update_webhook_endpoint(&self, endpoint: &EndpointRecord) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, signature_vault_id = $2, events = $3 \
             WHERE organization_id = $4 AND id = $5",
        )
        .bind(&endpoint.url)
        .bind(endpoint.signature_vault_id.0)
        .bind(serde_json::Value::from(endpoint.events.clone()).to_string())
        .bind(endpoint.organization_id.0)
        .bind(&endpoint.id)
        .execute(self.pool())
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    pub async fn webhook_endpoints(&self, organization: OrganizationId) -> StoreResult<Vec<EndpointRecord>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE organization_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(organization.0).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(endpoint_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn webhook_endpoint(
        &self,
        organization: OrganizationId,
        id: &str,
    ) -> StoreResult<Option<EndpointRecord>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE organization_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(organization.0).bind(id).fetch_optional(self.pool());
        Ok(row.await?.as_ref().map(endpoint_from_row).transpose()?)
    }

    /// Removes an endpoint and its deliveries.
    pub async fn delete_webhook_endpoint(&self, organization: OrganizationId, id: &str) -> StoreResult<bool> {
        let mut transaction = self.begin_write().await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE organization_id = $1 AND endpoint_id = $2")
            .bind(organization.0)
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE organization_id = $1 AND id = $2")
            .bind(organization.0)
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(deleted.rows_affected() == 1)
    }

    /// Queues a lifecycle event for the endpoints that take it (or for the one endpoint `only`).
    pub async fn queue_lifecycle_event(&self, event: &NewLifecycleEvent, only: Option<&str>) -> StoreResult<usize> {
        let mut transaction = self.begin_write().await?;
        let queued = queue_lifecycle_event(&mut transaction, event, only).await?;
        transaction.commit().await?;
        Ok(queued)
    }

    /// Claims up to `limit` deliveries due at `now`, until `lease_until`, counting the attempt.
    pub async fn claim_due_webhook_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(claim_due_sql("webhook_deliveries", DELIVERY_COLUMNS)))
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(delivery_from_row).collect::<Result<_, _>>()?)
    }

    /// Records how a pass's attempts ended, in one transaction.
    pub async fn finish_webhook_deliveries(&self, attempts: &[WebhookAttempt]) -> StoreResult<()> {
        let now = now_millis();
        let mut transaction = self.begin_write().await?;
        for attempt in attempts {
            let headers = serde_json::to_string(&attempt.headers).map_err(|error| sqlx::Error::Encode(error.into()))?;
            let (status, code, error, next_attempt_at, delivered_at) = match &attempt.outcome {
                DeliveryOutcome::Delivered { code } => {
                    (WebhookDeliveryStatus::Notified, Some(*code), None, None, Some(now))
                }
                DeliveryOutcome::Retry { code, error, at } => {
                    (WebhookDeliveryStatus::Pending, *code, Some(error), Some(*at), None)
                }
                DeliveryOutcome::GiveUp { code, error } => {
                    (WebhookDeliveryStatus::Failed, *code, Some(error), None, None)
                }
            };
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $1, last_response_code = $2, last_error = $3, \
                 next_attempt_at = $4, delivered_at = $5, last_headers = $6, lease_until = 0 \
                 WHERE id = $7 AND status = 'PENDING'",
            )
            .bind(status_text(status))
            .bind(code)
            .bind(error.map(String::as_str))
            .bind(next_attempt_at)
            .bind(delivered_at)
            .bind(headers)
            .bind(&attempt.delivery.id)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// An endpoint's newest deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        organization: OrganizationId,
        endpoint: &str,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE organization_id = $1 AND endpoint_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(organization.0)
            .bind(endpoint)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(delivery_from_row).collect::<Result<_, _>>()?)
    }

    /// Makes one delivery due again now, with its attempts counted afresh; answers whether it was found.
    pub async fn redeliver_webhook(&self, organization: OrganizationId, endpoint: &str, id: &str) -> StoreResult<bool> {
        let released = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'PENDING', attempts = 0, next_attempt_at = $1, lease_until = 0 \
             WHERE organization_id = $2 AND endpoint_id = $3 AND id = $4",
        )
        .bind(now_millis())
        .bind(organization.0)
        .bind(endpoint)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(released.rows_affected() == 1)
    }
}
