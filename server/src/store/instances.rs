//! Instance rows: who owns an instance, its element, its plain configuration, and the vault entries of its secrets.

use super::vault::VaultId;
use super::{Store, StoreResult, flag, now_millis};
use app::catalog::{ElementId, ElementObject};
use app::instances::InstanceId;
use app::types::{AccountId, OrganizationId, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

/// An instance as stored.
#[derive(Debug, Clone)]
pub struct InstanceRecord {
    pub id: InstanceId,
    pub organization_id: OrganizationId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub element_id: ElementId,
    pub name: String,
    pub token_hash: String,
    pub token_vault_id: VaultId,
    pub secrets_vault_id: VaultId,
    pub configuration: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub objects: Vec<ElementObject>,
    pub valid: bool,
    pub disabled: bool,
    pub external_authentication: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, organization_id, account_id, user_id, element_id, name, token_hash, token_vault_id, \
     secrets_vault_id, configuration, tags, objects, valid, disabled, external_authentication, created_at";

fn json_column<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

fn record_from_row(row: &AnyRow) -> Result<InstanceRecord, sqlx::Error> {
    Ok(InstanceRecord {
        id: InstanceId(row.try_get("id")?),
        organization_id: OrganizationId(row.try_get("organization_id")?),
        account_id: AccountId(row.try_get("account_id")?),
        user_id: UserId(row.try_get("user_id")?),
        element_id: ElementId(row.try_get("element_id")?),
        name: row.try_get("name")?,
        token_hash: row.try_get("token_hash")?,
        token_vault_id: VaultId(row.try_get("token_vault_id")?),
        secrets_vault_id: VaultId(row.try_get("secrets_vault_id")?),
        configuration: json_column(row, "configuration")?,
        tags: json_column(row, "tags")?,
        objects: json_column(row, "objects")?,
        valid: flag(row.try_get("valid")?),
        disabled: flag(row.try_get("disabled")?),
        external_authentication: row.try_get("external_authentication")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Stores a new instance; `record.id` and `record.created_at` are ignored and returned filled.
    pub async fn insert_instance(&self, record: &InstanceRecord) -> StoreResult<InstanceRecord> {
        let now = now_millis();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO instances (organization_id, account_id, user_id, element_id, name, token_hash, token_vault_id, \
             secrets_vault_id, configuration, tags, objects, valid, disabled, external_authentication, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id",
        )
        .bind(record.organization_id.0)
        .bind(record.account_id.0)
        .bind(record.user_id.0)
        .bind(record.element_id.0)
        .bind(&record.name)
        .bind(&record.token_hash)
        .bind(record.token_vault_id.0)
        .bind(record.secrets_vault_id.0)
        .bind(serde_json::to_string(&record.configuration).expect("strings serialize"))
        .bind(serde_json::to_string(&record.tags).expect("strings serialize"))
        .bind(serde_json::to_string(&record.objects).expect("objects serialize"))
        .bind(i64::from(record.valid))
        .bind(i64::from(record.disabled))
        .bind(&record.external_authentication)
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(InstanceRecord { id: InstanceId(id), created_at: now, ..record.clone() })
    }

    /// The organization's instance with this id.
    pub async fn instance(&self, organization: OrganizationId, id: InstanceId) -> StoreResult<Option<InstanceRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM instances WHERE organization_id = $1 AND id = $2");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(organization.0).bind(id.0).fetch_optional(self.pool()).await?;
        Ok(row.as_ref().map(record_from_row).transpose()?)
    }
}
