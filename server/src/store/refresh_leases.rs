//! Refresh leases: which node may refresh an instance's OAuth tokens right now.

use super::{AnyQuery, Store, StoreResult, now_millis, placeholders};
use app::instances::InstanceId;

impl Store {
    /// Takes the instance's lease for `holder` until `expires_at` (Unix milliseconds), unless another holder has
    /// an unexpired one. Answers whether `holder` now holds it.
    pub async fn take_refresh_lease(&self, instance: InstanceId, holder: &str, expires_at: i64) -> StoreResult<bool> {
        let taken = sqlx::query(
            "INSERT INTO refresh_leases (instance_id, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (instance_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE refresh_leases.expires_at < $4 OR refresh_leases.holder = excluded.holder",
        )
        .bind(instance.0)
        .bind(holder)
        .bind(expires_at)
        .bind(now_millis())
        .execute(self.pool())
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Gives the lease back, if `holder` still holds it.
    pub async fn release_refresh_lease(&self, instance: InstanceId, holder: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM refresh_leases WHERE instance_id = $1 AND holder = $2")
            .bind(instance.0)
            .bind(holder)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Takes the leases of `instances` for `holder` until `expires_at` in one statement, as
    /// [`Store::take_refresh_lease`] takes one; answers the instances whose lease `holder` now holds.
    pub async fn take_refresh_leases(
        &self,
        instances: &[InstanceId],
        holder: &str,
        expires_at: i64,
    ) -> StoreResult<Vec<InstanceId>> {
        if instances.is_empty() {
            return Ok(Vec::new());
        }
        let rows = (0..instances.len()).map(|row| format!("(${}, $1, $2)", row + 4)).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "INSERT INTO refresh_leases (instance_id, holder, expires_at) VALUES {rows} \
             ON CONFLICT (instance_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE refresh_leases.expires_at < $3 OR refresh_leases.holder = excluded.holder RETURNING instance_id"
        );
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(holder).bind(expires_at).bind(now_millis());
        for instance in instances {
            query = query.bind(instance.0);
        }
        let taken: Vec<i64> = query.fetch_all(self.pool()).await?;
        Ok(taken.into_iter().map(InstanceId).collect())
    }
}

/// Gives back `holder`'s leases on `instances`, inside a transaction.
pub(super) fn leases_release(instances: &[InstanceId], holder: &str) -> AnyQuery {
    let sql = format!(
        "DELETE FROM refresh_leases WHERE holder = $1 AND instance_id IN ({})",
        placeholders(2, instances.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(holder.to_owned());
    for instance in instances {
        query = query.bind(instance.0);
    }
    query
}
