//! Saved OAuth apps: an organization's client id, secret (as a vault entry) and callback URL for one element.

use super::vault::VaultId;
use super::{Store, StoreResult, now_millis};
use app::catalog::ElementId;
use app::types::OrganizationId;
use sqlx::Row;

/// An organization's OAuth app for one element, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthAppRecord {
    pub organization_id: OrganizationId,
    pub element_id: ElementId,
    pub client_id: String,
    pub secret_vault_id: VaultId,
    pub callback_url: String,
}

impl Store {
    pub async fn oauth_app(
        &self,
        organization: OrganizationId,
        element: ElementId,
    ) -> StoreResult<Option<OAuthAppRecord>> {
        let row = sqlx::query(
            "SELECT organization_id, element_id, client_id, secret_vault_id, callback_url FROM oauth_apps \
             WHERE organization_id = $1 AND element_id = $2",
        )
        .bind(organization.0)
        .bind(element.0)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(app_from_row).transpose()?)
    }

    /// The organization's saved apps, by element id.
    pub async fn oauth_apps_of(&self, organization: OrganizationId) -> StoreResult<Vec<OAuthAppRecord>> {
        let rows = sqlx::query(
            "SELECT organization_id, element_id, client_id, secret_vault_id, callback_url FROM oauth_apps \
             WHERE organization_id = $1 ORDER BY element_id",
        )
        .bind(organization.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| Ok(app_from_row(row)?)).collect()
    }

    /// Saves the app, replacing the organization's earlier one for the element.
    pub async fn save_oauth_app(&self, app: &OAuthAppRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oauth_apps (organization_id, element_id, client_id, secret_vault_id, callback_url, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (organization_id, element_id) DO UPDATE SET \
             client_id = excluded.client_id, secret_vault_id = excluded.secret_vault_id, \
             callback_url = excluded.callback_url, updated_at = excluded.updated_at",
        )
        .bind(app.organization_id.0)
        .bind(app.element_id.0)
        .bind(&app.client_id)
        .bind(app.secret_vault_id.0)
        .bind(&app.callback_url)
        .bind(now_millis())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn delete_oauth_app(&self, organization: OrganizationId, element: ElementId) -> StoreResult<bool> {
        let deleted = sqlx::query("DELETE FROM oauth_apps WHERE organization_id = $1 AND element_id = $2")
            .bind(organization.0)
            .bind(element.0)
            .execute(self.pool())
            .await?;
        Ok(deleted.rows_affected() == 1)
    }
}

fn app_from_row(row: &sqlx::any::AnyRow) -> Result<OAuthAppRecord, sqlx::Error> {
    Ok(OAuthAppRecord {
        organization_id: OrganizationId(row.try_get("organization_id")?),
        element_id: ElementId(row.try_get("element_id")?),
        client_id: row.try_get("client_id")?,
        secret_vault_id: VaultId(row.try_get("secret_vault_id")?),
        callback_url: row.try_get("callback_url")?,
    })
}
