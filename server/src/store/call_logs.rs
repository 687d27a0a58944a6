//! Call logs as stored: one row per proxied call, written in batches, read newest first, and removed by age and
//! by count per instance (trace headers and bodies sooner).

use super::{Store, StoreResult, flag, from_millis};
use app::call_logs::{CallLog, RecordedCall};
use app::instances::InstanceId;
use app::types::OrganizationId;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::{BTreeSet, HashSet};

/// Which of an instance's calls to read.
#[derive(Clone, Copy, Debug)]
pub struct CallLogFilter {
    /// Statuses from and to, both included.
    pub statuses: (u16, u16),
    /// Unix milliseconds: from (included) and to (excluded).
    pub from: i64,
    pub to: i64,
}

/// What [`Store::prune_call_logs`] removes: rows older than `older_than`, traces older than
/// `traces_older_than`, and all but the newest `keep_per_instance` rows of each instance.
#[derive(Clone, Copy, Debug)]
pub struct CallLogRetention {
    pub older_than: i64,
    pub traces_older_than: i64,
    pub keep_per_instance: u32,
}

/// Rows a statement inserts, and instances a statement looks up, at most: well below both databases' limits on
/// bound values (12 columns a row).
const ROWS_PER_STATEMENT: usize = 100;
/// The values each inserted row binds.
const INSERTED_COLUMNS: usize = 12;

const COLUMNS: &str = "id, instance_id, at, method, path, status, duration_micros, request_bytes, response_bytes, \
     refreshed, request_id, trace";

fn call_log_from_row(row: &AnyRow) -> Result<CallLog, sqlx::Error> {
    let trace = match row.try_get::<Option<String>, _>("trace")? {
        Some(text) => Some(serde_json::from_str(&text).map_err(|error| sqlx::Error::Decode(Box::new(error)))?),
        None => None,
    };
    let count = |column: &str| -> Result<u64, sqlx::Error> { Ok(row.try_get::<i64, _>(column)?.max(0) as u64) };
    Ok(CallLog {
        id: row.try_get("id")?,
        instance_id: InstanceId(row.try_get("instance_id")?),
        at: from_millis(row.try_get("at")?),
        method: row.try_get("method")?,
        path: row.try_get("path")?,
        status: u16::try_from(row.try_get::<i64, _>("status")?).unwrap_or_default(),
        duration_ms: count("duration_micros")? as f64 / 1000.0,
        request_bytes: count("request_bytes")?,
        response_bytes: count("response_bytes")?,
        refreshed: flag(row.try_get("refreshed")?),
        request_id: row.try_get("request_id")?,
        trace,
    })
}

/// A count as the database stores it.
fn stored_count(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

impl Store {
    /// Writes a batch of calls in one transaction, a few statements of many rows each. Calls through an instance
    /// deleted since (or of another organization) are left out.
    pub async fn insert_call_logs(&self, calls: &[RecordedCall]) -> StoreResult<()> {
        let mut transaction = self.begin_write().await?;
        let instances: BTreeSet<i64> = calls.iter().map(|call| call.instance_id.0).collect();
        let instances: Vec<i64> = instances.into_iter().collect();
        let mut live = HashSet::new();
        for ids in instances.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT id, organization_id FROM instances WHERE id IN ({})",
                self.ordered_placeholders(1, ids.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *transaction).await? {
                live.insert((row.try_get::<i64, _>("id")?, row.try_get::<i64, _>("organization_id")?));
            }
        }
        let kept: Vec<&RecordedCall> =
            calls.iter().filter(|call| live.contains(&(call.instance_id.0, call.organization_id.0))).collect();
        for rows in kept.chunks(ROWS_PER_STATEMENT) {
            let values = (0..rows.len())
                .map(|row| format!("({})", self.ordered_placeholders(row * INSERTED_COLUMNS + 1, INSERTED_COLUMNS)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO call_logs (organization_id, instance_id, at, method, path, status, duration_micros, \
                 request_bytes, response_bytes, refreshed, request_id, trace) VALUES {values}"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for call in rows {
                let trace = match &call.trace {
                    Some(trace) => {
                        Some(serde_json::to_string(trace).map_err(|error| sqlx::Error::Encode(Box::new(error)))?)
                    }
                    None => None,
                };
                query = query
                    .bind(call.organization_id.0)
                    .bind(call.instance_id.0)
                    .bind(call.at)
                    .bind(call.method.clone())
                    .bind(call.path.clone())
                    .bind(i64::from(call.status))
                    .bind(stored_count(call.duration_micros))
                    .bind(stored_count(call.request_bytes))
                    .bind(stored_count(call.response_bytes))
                    .bind(i64::from(call.refreshed))
                    .bind(call.request_id.clone())
                    .bind(trace);
            }
            query.execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// One instance's calls matching `filter`, newest first: `limit` of them after skipping `offset`.
    pub async fn call_logs(
        &self,
        organization: OrganizationId,
        instance: InstanceId,
        filter: CallLogFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<CallLog>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM call_logs WHERE organization_id = $1 AND instance_id = $2 \
             AND status >= $3 AND status <= $4 AND at >= $5 AND at < $6 ORDER BY id DESC LIMIT $7 OFFSET $8"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(organization.0)
            .bind(instance.0)
            .bind(i64::from(filter.statuses.0))
            .bind(i64::from(filter.statuses.1))
            .bind(filter.from)
            .bind(filter.to)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| Ok(call_log_from_row(row)?)).collect()
    }

    /// Removes what `retention` says is past keeping; answers how many rows went.
    pub async fn prune_call_logs(&self, retention: CallLogRetention) -> StoreResult<u64> {
        let mut connection = self.pool().acquire().await?;
        let mut removed = sqlx::query("DELETE FROM call_logs WHERE at < $1")
            .bind(retention.older_than)
            .execute(&mut *connection)
            .await?
            .rows_affected();
        sqlx::query("UPDATE call_logs SET trace = NULL WHERE trace IS NOT NULL AND at < $1")
            .bind(retention.traces_older_than)
            .execute(&mut *connection)
            .await?;
        let keep = i64::from(retention.keep_per_instance);
        removed += Store::keep_newest_per_instance(&mut connection, "call_logs", keep).await?;
        self.shrink_memory(&mut connection).await?;
        Ok(removed)
    }
}
