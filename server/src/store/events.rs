//! Event rows: the pollers' schedules and the object versions they have seen, providers' webhook payloads, and
//! the delivery queue, which is also the event log. Every claim is a lease, so nodes share the work and each item
//! is done by one of them at a time.

use super::{Store, StoreResult, now_millis};
use app::events::EventStatus;
use app::instances::InstanceId;
use app::types::OrganizationId;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// An event to queue.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub id: String,
    pub organization_id: OrganizationId,
    pub instance_id: InstanceId,
    pub element_key: String,
    /// `polling` or `webhooks`.
    pub source: &'static str,
    pub event_type: String,
    pub object_type: String,
    pub object_id: String,
    pub changed_at: i64,
    /// The exact JSON every delivery sends.
    pub body: String,
}

/// An event as stored, with its delivery so far.
#[derive(Clone, Debug)]
pub struct EventRow {
    pub id: String,
    pub organization_id: OrganizationId,
    pub instance_id: InstanceId,
    pub element_key: String,
    pub source: String,
    pub event_type: String,
    pub object_type: String,
    pub object_id: String,
    pub changed_at: i64,
    pub body: String,
    pub status: EventStatus,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_response_code: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
    /// The headers of the last attempt, as JSON `[name, value]` pairs.
    pub last_headers: Option<String>,
}

/// One delivery attempt as a pass made it: the event, how it ended, and the headers it went out with.
pub struct Attempt {
    pub event: EventRow,
    pub outcome: DeliveryOutcome,
    pub headers: Vec<(String, String)>,
}

const EVENT_COLUMNS: &str = "id, organization_id, instance_id, element_key, source, event_type, object_type, \
     object_id, changed_at, body, status, attempts, next_attempt_at, last_response_code, last_error, delivered_at, \
     created_at, last_headers";

fn event_from_row(row: &AnyRow) -> Result<EventRow, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(EventRow {
        id: row.try_get("id")?,
        organization_id: OrganizationId(row.try_get("organization_id")?),
        instance_id: InstanceId(row.try_get("instance_id")?),
        element_key: row.try_get("element_key")?,
        source: row.try_get("source")?,
        event_type: row.try_get("event_type")?,
        object_type: row.try_get("object_type")?,
        object_id: row.try_get("object_id")?,
        changed_at: row.try_get("changed_at")?,
        body: row.try_get("body")?,
        status: EventStatus::parse(&status).ok_or_else(|| sqlx::Error::Decode(format!("status {status}").into()))?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_response_code: row.try_get("last_response_code")?,
        last_error: row.try_get("last_error")?,
        delivered_at: row.try_get("delivered_at")?,
        created_at: row.try_get("created_at")?,
        last_headers: row.try_get("last_headers")?,
    })
}

/// A poll this node claimed: the instance and the time its changes are asked for since.
#[derive(Clone, Copy, Debug)]
pub struct ClaimedPoll {
    pub organization_id: OrganizationId,
    pub instance_id: InstanceId,
    pub polled_until: i64,
    pub interval_millis: i64,
}

/// A change the poller found, with the version of the object it shows.
#[derive(Clone, Debug)]
pub struct PolledChange {
    pub version: String,
    pub event: NewEvent,
}

/// How a delivery attempt ended.
#[derive(Clone, Debug)]
pub enum DeliveryOutcome {
    Delivered {
        code: i64,
    },
    /// Try again at `at`.
    Retry {
        code: Option<i64>,
        error: String,
        at: i64,
    },
    /// No more retries: the event fails and the instance's deliveries pause.
    GiveUp {
        code: Option<i64>,
        error: String,
    },
}

/// The claim of a delivery queue (`events`, `webhook_deliveries`): up to `$3` PENDING rows due at `$2` and not
/// leased, leased until `$1` with their attempt counted, answered with `columns`.
pub(super) fn claim_due_sql(table: &str, columns: &str) -> String {
    format!(
        "UPDATE {table} SET lease_until = $1, attempts = attempts + 1 WHERE status = 'PENDING' \
         AND next_attempt_at <= $2 AND lease_until < $2 AND id IN (SELECT id FROM {table} \
         WHERE status = 'PENDING' AND next_attempt_at <= $2 AND lease_until < $2 ORDER BY next_attempt_at LIMIT $3) \
         RETURNING {columns}"
    )
}

/// Queues `event` within `transaction`: PENDING and due now, or QUEUED while its instance's deliveries are paused.
async fn insert_event(transaction: &mut Transaction<'static, Any>, event: &NewEvent) -> StoreResult<()> {
    let now = now_millis();
    sqlx::query(
        "INSERT INTO events (id, organization_id, instance_id, element_key, source, event_type, object_type, \
         object_id, changed_at, body, status, next_attempt_at, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         CASE WHEN deliveries_paused = 1 THEN 'QUEUED' ELSE 'PENDING' END, $11, $11 FROM instances WHERE id = $3",
    )
    .bind(&event.id)
    .bind(event.organization_id.0)
    .bind(event.instance_id.0)
    .bind(&event.element_key)
    .bind(event.source)
    .bind(&event.event_type)
    .bind(&event.object_type)
    .bind(&event.object_id)
    .bind(event.changed_at)
    .bind(&event.body)
    .bind(now)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

impl Store {
    /// Starts, changes or (with `None`) stops an instance's poller. A new poller asks for changes from now on.
    pub async fn set_poller(&self, instance: InstanceId, interval_millis: Option<i64>) -> StoreResult<()> {
        match interval_millis {
            Some(interval) => {
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO pollers (instance_id, interval_millis, next_poll_at, polled_until) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (instance_id) DO UPDATE SET interval_millis = excluded.interval_millis",
                )
                .bind(instance.0)
                .bind(interval)
                .bind(now + interval)
                .bind(now)
                .execute(self.pool())
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM pollers WHERE instance_id = $1").bind(instance.0).execute(self.pool()).await?;
            }
        }
        Ok(())
    }

    /// Claims up to `limit` polls that are due at `now`, of enabled and valid instances, for `holder` until `lease_until`.
    pub async fn claim_due_polls(
        &self,
        holder: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedPoll>> {
        let rows = sqlx::query(
            "UPDATE pollers SET lease_until = $1, lease_holder = $2 WHERE next_poll_at <= $3 AND lease_until < $3 \
             AND instance_id IN (SELECT pollers.instance_id FROM pollers JOIN instances ON instances.id = pollers.instance_id \
             WHERE pollers.next_poll_at <= $3 AND pollers.lease_until < $3 AND instances.disabled = 0 \
             AND instances.valid = 1 ORDER BY pollers.next_poll_at LIMIT $4) \
             RETURNING instance_id, polled_until, interval_millis",
        )
        .bind(lease_until)
        .bind(holder)
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let instance_id = InstanceId(row.try_get("instance_id")?);
            if let Some(organization_id) = self.organization_of_instance(instance_id).await? {
                claimed.push(ClaimedPoll {
                    organization_id,
                    instance_id,
                    polled_until: row.try_get("polled_until")?,
                    interval_millis: row.try_get("interval_millis")?,
                });
            }
        }
        Ok(claimed)
    }

    /// The versions of the objects of `object_type` this instance's poller has seen, by object id.
    pub async fn seen_versions(
        &self,
        instance: InstanceId,
        object_type: &str,
    ) -> StoreResult<std::collections::HashMap<String, String>> {
        let rows =
            sqlx::query("SELECT object_id, version FROM polled_objects WHERE instance_id = $1 AND object_type = $2")
                .bind(instance.0)
                .bind(object_type)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect()
    }

    /// Records a successful poll in one transaction, if `holder` still holds its lease: queues the changes,
    /// remembers the versions they show, and moves the poller on to `polled_until` and `next_poll_at`. Only the
    /// lease holder writes an instance's versions, so the ones it read before are still current. Answers false,
    /// writing nothing, when the lease was lost.
    pub async fn finish_poll(
        &self,
        instance: InstanceId,
        holder: &str,
        polled_until: i64,
        next_poll_at: i64,
        changes: &[PolledChange],
    ) -> StoreResult<bool> {
        let mut transaction = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE pollers SET polled_until = $1, next_poll_at = $2, lease_until = 0, lease_holder = NULL \
             WHERE instance_id = $3 AND lease_holder = $4",
        )
        .bind(polled_until)
        .bind(next_poll_at)
        .bind(instance.0)
        .bind(holder)
        .execute(&mut *transaction)
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        for change in changes {
            let event = &change.event;
            insert_event(&mut transaction, event).await?;
            sqlx::query(
                "INSERT INTO polled_objects (instance_id, object_type, object_id, version) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (instance_id, object_type, object_id) DO UPDATE SET version = excluded.version",
            )
            .bind(instance.0)
            .bind(&event.object_type)
            .bind(&event.object_id)
            .bind(&change.version)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(true)
    }

    /// Gives back a poll that failed, due again at `next_poll_at`; its window stays, so nothing is skipped.
    pub async fn release_poll(&self, instance: InstanceId, holder: &str, next_poll_at: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE pollers SET next_poll_at = $1, lease_until = 0, lease_holder = NULL \
             WHERE instance_id = $2 AND lease_holder = $3",
        )
        .bind(next_poll_at)
        .bind(instance.0)
        .bind(holder)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Stores a provider's webhook payload and queues its events, in one transaction.
    pub async fn receive_webhook(&self, instance: InstanceId, payload: &str, events: &[NewEvent]) -> StoreResult<()> {
        let mut transaction = self.begin_write().await?;
        sqlx::query("INSERT INTO webhook_receipts (instance_id, payload, received_at) VALUES ($1, $2, $3)")
            .bind(instance.0)
            .bind(payload)
            .bind(now_millis())
            .execute(&mut *transaction)
            .await?;
        for event in events {
            insert_event(&mut transaction, event).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` deliveries that are due at `now`, until `lease_until`, counting the attempt.
    pub async fn claim_due_deliveries(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<EventRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(claim_due_sql("events", EVENT_COLUMNS)))
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| event_from_row(row).map_err(Into::into)).collect()
    }

    /// Records how a pass's delivery attempts ended, in one transaction. Giving up also pauses the instance's
    /// deliveries and holds its other pending events as QUEUED.
    pub async fn finish_deliveries(&self, attempts: &[Attempt]) -> StoreResult<()> {
        let now = now_millis();
        let mut transaction = self.begin_write().await?;
        // Failures last: one that pauses the instance must not queue again the events this pass delivered.
        let (failures, others): (Vec<_>, Vec<_>) =
            attempts.iter().partition(|attempt| matches!(attempt.outcome, DeliveryOutcome::GiveUp { .. }));
        for attempt in others.into_iter().chain(failures) {
            record_delivery(&mut transaction, attempt, now).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// The organization's events, newest first, filtered by instance and status.
    pub async fn events(
        &self,
        organization: OrganizationId,
        instance: Option<InstanceId>,
        status: Option<EventStatus>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<EventRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE organization_id = $1 AND ($2 = 0 OR instance_id = $2) \
             AND ($3 = '' OR status = $3) ORDER BY created_at DESC, id LIMIT $4 OFFSET $5"
        )))
        .bind(organization.0)
        .bind(instance.map_or(0, |id| id.0))
        .bind(status.map_or("", EventStatus::as_str))
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| event_from_row(row).map_err(Into::into)).collect()
    }

    pub async fn event(&self, organization: OrganizationId, id: &str) -> StoreResult<Option<EventRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE organization_id = $1 AND id = $2"
        )))
        .bind(organization.0)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(event_from_row).transpose().map_err(Into::into)
    }

    /// Makes the instance's events due now: one event when `event` names it, else every FAILED and QUEUED one;
    /// and resumes the instance's deliveries. Answers how many events were released.
    pub async fn redeliver(&self, instance: InstanceId, event: Option<&str>) -> StoreResult<u64> {
        let now = now_millis();
        let mut transaction = self.begin_write().await?;
        sqlx::query("UPDATE instances SET deliveries_paused = 0 WHERE id = $1")
            .bind(instance.0)
            .execute(&mut *transaction)
            .await?;
        let released = match event {
            Some(id) => {
                sqlx::query(
                    "UPDATE events SET status = 'PENDING', attempts = 0, next_attempt_at = $1, lease_until = 0 \
                     WHERE instance_id = $2 AND id = $3 AND status <> 'PENDING'",
                )
                .bind(now)
                .bind(instance.0)
                .bind(id)
                .execute(&mut *transaction)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE events SET status = 'PENDING', attempts = 0, next_attempt_at = $1, lease_until = 0 \
                     WHERE instance_id = $2 AND status IN ('FAILED', 'QUEUED')",
                )
                .bind(now)
                .bind(instance.0)
                .execute(&mut *transaction)
                .await?
            }
        };
        transaction.commit().await?;
        Ok(released.rows_affected())
    }
}

/// Writes one delivery's outcome; a final failure pauses the instance's deliveries and queues its pending events.
async fn record_delivery(transaction: &mut Transaction<'_, Any>, attempt: &Attempt, now: i64) -> StoreResult<()> {
    let event = &attempt.event;
    let headers = serde_json::to_string(&attempt.headers).map_err(|error| sqlx::Error::Encode(error.into()))?;
    let (status, code, error, next_attempt_at, delivered_at) = match &attempt.outcome {
        DeliveryOutcome::Delivered { code } => (EventStatus::Notified, Some(*code), None, None, Some(now)),
        DeliveryOutcome::Retry { code, error, at } => (EventStatus::Pending, *code, Some(error), Some(*at), None),
        DeliveryOutcome::GiveUp { code, error } => (EventStatus::Failed, *code, Some(error), None, None),
    };
    sqlx::query(
        "UPDATE events SET status = $1, last_response_code = $2, last_error = $3, next_attempt_at = $4, \
         delivered_at = $5, last_headers = $6, lease_until = 0 WHERE id = $7 AND status = 'PENDING'",
    )
    .bind(status.as_str())
    .bind(code)
    .bind(error.map(String::as_str))
    .bind(next_attempt_at)
    .bind(delivered_at)
    .bind(headers)
    .bind(&event.id)
    .execute(&mut **transaction)
    .await?;
    if status == EventStatus::Failed {
        sqlx::query("UPDATE instances SET deliveries_paused = 1 WHERE id = $1")
            .bind(event.instance_id.0)
            .execute(&mut **transaction)
            .await?;
        sqlx::query("UPDATE events SET status = 'QUEUED' WHERE instance_id = $1 AND status = 'PENDING'")
            .bind(event.instance_id.0)
            .execute(&mut **transaction)
            .await?;
    }
    Ok(())
}
