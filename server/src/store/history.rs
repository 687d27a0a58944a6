//! Instances' stories as stored: one row per thing that happened to an instance, written beside the change (in
//! its transaction where there is one), read newest first, and kept to the newest rows per instance.

use super::{AnyQuery, Store, StoreResult, from_millis, now_millis};
use app::history::{HistoryEntry, HistoryKind};
use app::instances::InstanceId;
use app::types::OrganizationId;
use sqlx::Row;

/// How many entries are kept per instance.
pub const HISTORY_KEPT: i64 = 500;

/// Something that happened to an instance, to record.
#[derive(Clone, Debug)]
pub struct NewHistoryEntry {
    pub organization_id: OrganizationId,
    pub instance_id: InstanceId,
    pub kind: HistoryKind,
    /// As the audit log writes actors: `user:12`, `system`.
    pub actor: String,
    pub detail: String,
}

/// The insert of `entry`, to run on the pool or inside the change's transaction.
pub(crate) fn insert_history(entry: &NewHistoryEntry) -> AnyQuery {
    sqlx::query(
        "INSERT INTO instance_history (organization_id, instance_id, at, kind, actor, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(entry.organization_id.0)
    .bind(entry.instance_id.0)
    .bind(now_millis())
    .bind(entry.kind.as_str())
    .bind(entry.actor.clone())
    .bind(entry.detail.clone())
}

impl Store {
    pub async fn record_history(&self, entry: &NewHistoryEntry) -> StoreResult<()> {
        insert_history(entry).execute(self.pool()).await?;
        Ok(())
    }

    /// An instance's newest `limit` entries, newest first.
    pub async fn instance_history(
        &self,
        organization: OrganizationId,
        instance: InstanceId,
        limit: i64,
    ) -> StoreResult<Vec<HistoryEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, kind, actor, detail FROM instance_history WHERE organization_id = $1 AND instance_id = $2 \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(organization.0)
        .bind(instance.0)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            // A kind this build does not know (written by a newer node) is left out rather than failing the page.
            let Some(kind) = HistoryKind::parse(&kind) else { continue };
            entries.push(HistoryEntry {
                id: row.try_get("id")?,
                at: from_millis(row.try_get("at")?),
                kind,
                actor: row.try_get("actor")?,
                detail: row.try_get("detail")?,
            });
        }
        Ok(entries)
    }

    /// Removes all but the newest [`HISTORY_KEPT`] entries of each instance; answers how many went.
    pub async fn prune_instance_history(&self) -> StoreResult<u64> {
        let mut connection = self.pool().acquire().await?;
        let removed = Store::keep_newest_per_instance(&mut connection, "instance_history", HISTORY_KEPT).await?;
        self.shrink_memory(&mut connection).await?;
        Ok(removed)
    }
}
