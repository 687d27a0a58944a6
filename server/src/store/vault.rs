//! Vault rows: the ciphertexts of secrets Tether reads back, each tagged with its data key version.

use super::{AnyQuery, Store, StoreResult, now_millis};
use app::types::OrganizationId;
use sqlx::Row;

/// Identifies one stored secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VaultId(pub i64);

/// A secret encrypted for the vault and ready to store: its ciphertext, and the data key version that sealed it.
pub struct SealedEntry {
    pub key_version: u32,
    pub ciphertext: Vec<u8>,
}

/// Replaces a vault entry's ciphertext; see [`Store::update_vault_entry`].
pub(super) fn vault_entry_update(id: VaultId, entry: &SealedEntry) -> AnyQuery {
    sqlx::query("UPDATE vault SET key_version = $1, ciphertext = $2, updated_at = $3 WHERE id = $4")
        .bind(i64::from(entry.key_version))
        .bind(entry.ciphertext.clone())
        .bind(now_millis())
        .bind(id.0)
}

/// A stored secret as the database holds it.
#[derive(Debug)]
pub struct VaultRow {
    pub id: VaultId,
    pub organization_id: Option<OrganizationId>,
    pub purpose: String,
    pub ciphertext: Vec<u8>,
}

impl Store {
    pub async fn insert_vault_entry(
        &self,
        organization: Option<OrganizationId>,
        purpose: &str,
        key_version: u32,
        ciphertext: Vec<u8>,
    ) -> StoreResult<VaultId> {
        let now = now_millis();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO vault (organization_id, purpose, key_version, ciphertext, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(organization.map(|id| id.0))
        .bind(purpose)
        .bind(i64::from(key_version))
        .bind(ciphertext)
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(VaultId(id))
    }

    pub async fn vault_entry(&self, id: VaultId) -> StoreResult<Option<VaultRow>> {
        let row = sqlx::query("SELECT id, organization_id, purpose, ciphertext FROM vault WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| {
            Ok(VaultRow {
                id: VaultId(row.try_get("id")?),
                organization_id: row.try_get::<Option<i64>, _>("organization_id")?.map(OrganizationId),
                purpose: row.try_get("purpose")?,
                ciphertext: row.try_get("ciphertext")?,
            })
        })
        .transpose()
    }

    /// Replaces a secret's ciphertext; answers whether the entry existed.
    pub async fn update_vault_entry(&self, id: VaultId, entry: SealedEntry) -> StoreResult<bool> {
        Ok(vault_entry_update(id, &entry).execute(self.pool()).await?.rows_affected() == 1)
    }

    pub async fn delete_vault_entry(&self, id: VaultId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM vault WHERE id = $1").bind(id.0).execute(self.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Up to `limit` entries written with a key older than `version`, for re-encryption.
    pub async fn vault_entries_older_than(&self, version: u32, limit: i64) -> StoreResult<Vec<(VaultId, Vec<u8>)>> {
        let rows = sqlx::query("SELECT id, ciphertext FROM vault WHERE key_version < $1 ORDER BY id LIMIT $2")
            .bind(i64::from(version))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(|row| Ok((VaultId(row.try_get("id")?), row.try_get("ciphertext")?))).collect()
    }

    /// How many entries each key version protects, oldest version first.
    pub async fn vault_entries_per_key_version(&self) -> StoreResult<Vec<(u32, i64)>> {
        let rows =
            sqlx::query("SELECT key_version, COUNT(*) AS entries FROM vault GROUP BY key_version ORDER BY key_version")
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|row| {
                let version: i64 = row.try_get("key_version")?;
                Ok((u32::try_from(version).unwrap_or(0), row.try_get("entries")?))
            })
            .collect()
    }
}
