//! Cluster-wide schedules, such as the nightly refresh sweep: each due run is claimed by exactly one node.

use super::{Store, StoreResult, now_millis};

impl Store {
    /// Moves the named schedule's next run from a due time to `next_run_at`. Answers whether this caller did,
    /// and so runs it: among nodes racing for one due run, exactly one wins. A schedule never seen is created
    /// to run first at `next_run_at`.
    pub async fn claim_schedule(&self, name: &str, next_run_at: i64) -> StoreResult<bool> {
        sqlx::query("INSERT INTO schedules (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(next_run_at)
            .execute(self.pool())
            .await?;
        let moved = sqlx::query("UPDATE schedules SET next_run_at = $1 WHERE name = $2 AND next_run_at <= $3")
            .bind(next_run_at)
            .bind(name)
            .bind(now_millis())
            .execute(self.pool())
            .await?;
        Ok(moved.rows_affected() == 1)
    }
}
