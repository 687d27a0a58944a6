//! Pending OAuth flows: what an authorization URL was made with, until the code comes back or 10 minutes pass.

use super::{Store, StoreResult, now_millis};
use app::catalog::ElementId;
use app::types::OrganizationId;
use sqlx::Row;

/// A flow as stored. `sealed` holds the encrypted PKCE verifier and parameters.
#[derive(Debug, Clone)]
pub struct StoredFlow {
    pub organization_id: OrganizationId,
    pub element_id: ElementId,
    pub state_hash: String,
    pub client_id: String,
    pub client_secret_hash: String,
    pub callback_url: String,
    pub pkce: bool,
    pub sealed: Vec<u8>,
    pub expires_at: i64,
    /// For a completed console flow, the instance it made (0 while it is being completed).
    pub completed_instance_id: Option<i64>,
}

const FLOW_COLUMNS: &str = "organization_id, element_id, state_hash, client_id, client_secret_hash, callback_url, \
     pkce, sealed, expires_at, completed_instance_id";

fn flow_from_row(row: &sqlx::any::AnyRow) -> Result<StoredFlow, sqlx::Error> {
    Ok(StoredFlow {
        organization_id: OrganizationId(row.try_get("organization_id")?),
        element_id: ElementId(row.try_get("element_id")?),
        state_hash: row.try_get("state_hash")?,
        client_id: row.try_get("client_id")?,
        client_secret_hash: row.try_get("client_secret_hash")?,
        callback_url: row.try_get("callback_url")?,
        pkce: super::flag(row.try_get("pkce")?),
        sealed: row.try_get("sealed")?,
        expires_at: row.try_get("expires_at")?,
        completed_instance_id: row.try_get("completed_instance_id")?,
    })
}

impl Store {
    /// Stores a flow, first dropping flows that have expired.
    pub async fn insert_oauth_flow(&self, flow: &StoredFlow) -> StoreResult<()> {
        sqlx::query("DELETE FROM oauth_flows WHERE expires_at < $1").bind(now_millis()).execute(self.pool()).await?;
        sqlx::query(
            "INSERT INTO oauth_flows (organization_id, element_id, state_hash, client_id, client_secret_hash, callback_url, \
             pkce, sealed, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(flow.organization_id.0)
        .bind(flow.element_id.0)
        .bind(&flow.state_hash)
        .bind(&flow.client_id)
        .bind(&flow.client_secret_hash)
        .bind(&flow.callback_url)
        .bind(i64::from(flow.pkce))
        .bind(flow.sealed.clone())
        .bind(now_millis())
        .bind(flow.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The newest unexpired flow of an organization with this state digest.
    pub async fn pending_oauth_flow(
        &self,
        organization: OrganizationId,
        state_hash: &str,
    ) -> StoreResult<Option<StoredFlow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FLOW_COLUMNS} FROM oauth_flows WHERE organization_id = $1 AND state_hash = $2 AND expires_at >= $3 \
             AND completed_instance_id IS NULL ORDER BY id DESC LIMIT 1"
        )))
        .bind(organization.0)
        .bind(state_hash)
        .bind(now_millis())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(flow_from_row).transpose()?)
    }

    /// The newest unexpired flow with this state digest in any organization, for a redirect that carries no
    /// caller (a connect session's end user). Only flows whose state Tether made itself are found this way.
    pub async fn pending_oauth_flow_by_state(&self, state_hash: &str) -> StoreResult<Option<StoredFlow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FLOW_COLUMNS} FROM oauth_flows WHERE state_hash = $1 AND expires_at >= $2 \
             AND completed_instance_id IS NULL ORDER BY id DESC LIMIT 1"
        )))
        .bind(state_hash)
        .bind(now_millis())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(flow_from_row).transpose()?)
    }

    /// The newest unexpired flow of an organization with this state digest, used or not: the console's landing
    /// page, visited again, finds the instance its flow made.
    pub async fn console_oauth_flow(
        &self,
        organization: OrganizationId,
        state_hash: &str,
    ) -> StoreResult<Option<StoredFlow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FLOW_COLUMNS} FROM oauth_flows WHERE organization_id = $1 AND state_hash = $2 \
             AND expires_at >= $3 ORDER BY id DESC LIMIT 1"
        )))
        .bind(organization.0)
        .bind(state_hash)
        .bind(now_millis())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(flow_from_row).transpose()?)
    }

    /// Takes an unused flow for completing; answers whether this caller got it (of two at once, one does).
    pub async fn claim_oauth_flow(&self, organization: OrganizationId, state_hash: &str) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "UPDATE oauth_flows SET completed_instance_id = 0 \
             WHERE organization_id = $1 AND state_hash = $2 AND completed_instance_id IS NULL",
        )
        .bind(organization.0)
        .bind(state_hash)
        .execute(self.pool())
        .await?;
        Ok(claimed.rows_affected() > 0)
    }

    /// Records the instance a claimed flow made.
    pub async fn complete_oauth_flow(
        &self,
        organization: OrganizationId,
        state_hash: &str,
        instance: i64,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE oauth_flows SET completed_instance_id = $3 WHERE organization_id = $1 AND state_hash = $2")
            .bind(organization.0)
            .bind(state_hash)
            .bind(instance)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes an organization's flows with this state digest, once their code has been used.
    pub async fn delete_oauth_flows(&self, organization: OrganizationId, state_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM oauth_flows WHERE organization_id = $1 AND state_hash = $2")
            .bind(organization.0)
            .bind(state_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
