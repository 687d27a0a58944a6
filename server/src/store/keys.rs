//! Stored data keys: each sealed by the master key, one row per version.

use super::{Store, StoreResult, now_millis};
use crate::security::crypto::SealedDataKey;
use sqlx::Row;

impl Store {
    pub async fn list_data_keys(&self) -> StoreResult<Vec<SealedDataKey>> {
        let rows = sqlx::query("SELECT version, sealed_key FROM encryption_keys ORDER BY version")
            .fetch_all(self.pool())
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(SealedDataKey {
                    version: u32::try_from(row.try_get::<i64, _>("version")?).unwrap_or(0),
                    sealed: row.try_get("sealed_key")?,
                })
            })
            .collect()
    }

    /// Stores a new data key; a version that already exists is a conflict, so two rotations cannot collide.
    pub async fn insert_data_key(&self, key: &SealedDataKey) -> StoreResult<()> {
        sqlx::query("INSERT INTO encryption_keys (version, sealed_key, created_at) VALUES ($1, $2, $3)")
            .bind(i64::from(key.version))
            .bind(key.sealed.clone())
            .bind(now_millis())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
