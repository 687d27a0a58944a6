//! Element rows: built-in definitions (organization 0) kept in step with the shipped catalog, and custom ones.

use super::{Store, StoreResult, now_millis};
use app::catalog::{ElementDefinition, ElementId};
use app::types::OrganizationId;
use sqlx::Row;
use std::collections::HashMap;

/// The organization id that marks built-in elements.
const BUILT_IN: i64 = 0;

fn to_json(definition: &ElementDefinition) -> String {
    serde_json::to_string(definition).expect("definitions serialize")
}

impl Store {
    /// Stores new or changed built-in definitions and returns every built-in element's id by key.
    pub async fn sync_built_in_elements(
        &self,
        definitions: &[ElementDefinition],
    ) -> StoreResult<HashMap<String, ElementId>> {
        let stored: HashMap<String, (i64, String)> =
            sqlx::query("SELECT id, key, definition FROM elements WHERE organization_id = $1")
                .bind(BUILT_IN)
                .fetch_all(self.pool())
                .await?
                .into_iter()
                .map(|row| Ok((row.try_get("key")?, (row.try_get("id")?, row.try_get("definition")?))))
                .collect::<Result<_, sqlx::Error>>()?;
        let mut transaction = self.begin_write().await?;
        for definition in definitions {
            let json = to_json(definition);
            if stored.get(&definition.key).is_some_and(|(_, current)| *current == json) {
                continue;
            }
            // Another node may be syncing the same catalog; the conflict clause makes that harmless.
            sqlx::query(
                "INSERT INTO elements (organization_id, key, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (organization_id, key) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at",
            )
            .bind(BUILT_IN)
            .bind(&definition.key)
            .bind(json)
            .bind(now_millis())
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        let rows = sqlx::query("SELECT id, key FROM elements WHERE organization_id = $1")
            .bind(BUILT_IN)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| Ok((row.try_get("key")?, ElementId(row.try_get("id")?))))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// An organization's custom elements, oldest first.
    pub async fn custom_elements(
        &self,
        organization: OrganizationId,
    ) -> StoreResult<Vec<(ElementId, ElementDefinition)>> {
        self.custom_elements_where(organization, None).await
    }

    /// One of an organization's custom elements, by id.
    pub async fn custom_element(
        &self,
        organization: OrganizationId,
        id: ElementId,
    ) -> StoreResult<Option<(ElementId, ElementDefinition)>> {
        Ok(self.custom_elements_where(organization, Some(id)).await?.pop())
    }

    async fn custom_elements_where(
        &self,
        organization: OrganizationId,
        id: Option<ElementId>,
    ) -> StoreResult<Vec<(ElementId, ElementDefinition)>> {
        let rows = sqlx::query(
            "SELECT id, definition FROM elements WHERE organization_id = $1 AND ($2 = 0 OR id = $2) ORDER BY id",
        )
        .bind(organization.0)
        .bind(id.map_or(0, |id| id.0))
        .fetch_all(self.pool())
        .await?;
        let mut elements = Vec::with_capacity(rows.len());
        for row in rows {
            let json: String = row.try_get("definition")?;
            let definition = serde_json::from_str(&json).map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
            elements.push((ElementId(row.try_get("id")?), definition));
        }
        Ok(elements)
    }

    pub async fn insert_custom_element(
        &self,
        organization: OrganizationId,
        definition: &ElementDefinition,
    ) -> StoreResult<ElementId> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO elements (organization_id, key, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(organization.0)
        .bind(&definition.key)
        .bind(to_json(definition))
        .bind(now_millis())
        .fetch_one(self.pool())
        .await?;
        Ok(ElementId(id))
    }

    /// Replaces a custom element's definition; answers whether it existed.
    pub async fn update_custom_element(
        &self,
        organization: OrganizationId,
        id: ElementId,
        definition: &ElementDefinition,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE elements SET key = $1, definition = $2, updated_at = $3 WHERE id = $4 AND organization_id = $5",
        )
        .bind(&definition.key)
        .bind(to_json(definition))
        .bind(now_millis())
        .bind(id.0)
        .bind(organization.0)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_custom_element(&self, organization: OrganizationId, id: ElementId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM elements WHERE id = $1 AND organization_id = $2")
            .bind(id.0)
            .bind(organization.0)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
