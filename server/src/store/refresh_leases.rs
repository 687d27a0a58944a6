//! Refresh leases: which node may refresh an instance's OAuth tokens right now.

use super::{Store, StoreResult, now_millis};
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
}
