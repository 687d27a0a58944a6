//! The InstanceTable capability: the console's listing of instances, searched, filtered, ordered and paged by
//! the database, with the elements the organization has instances of for its element filter.

use super::errors::OrInternal;
use super::service::HubService;
use crate::store::instance_table::InstanceTableFilter;
use app::error::HubError;
use app::hub::{Caller, InstanceTable};
use app::instance_table::{InstanceTablePage, InstanceTableQuery, TABLE_PAGE_SIZE};
use app::instances::InstanceCard;

#[async_trait::async_trait]
impl InstanceTable for HubService {
    async fn instance_table(&self, caller: &Caller, query: InstanceTableQuery) -> Result<InstanceTablePage, HubError> {
        let counts = self.store.instance_counts(caller.organization_id).await.or_internal()?;
        let mut in_use = Vec::with_capacity(counts.len());
        for id in counts.keys() {
            in_use.push(self.visible_element_by_id(caller.organization_id, *id).await?);
        }
        let search = query.search.trim().to_lowercase();
        let search_elements = if search.is_empty() {
            Vec::new()
        } else {
            in_use
                .iter()
                .filter(|entry| {
                    let definition = &entry.definition;
                    definition.key.to_lowercase().contains(&search) || definition.name.to_lowercase().contains(&search)
                })
                .map(|entry| entry.id)
                .collect()
        };
        let element = match query.element.trim() {
            "" => None,
            key => Some(
                in_use
                    .iter()
                    .find(|entry| entry.definition.key == key)
                    .map(|entry| entry.id)
                    // An element with no instances matches none.
                    .unwrap_or(app::catalog::ElementId(0)),
            ),
        };
        let filter = InstanceTableFilter {
            search: Some(search).filter(|search| !search.is_empty()),
            search_elements,
            element,
            health: query.health,
            only: query.instance,
        };
        let page = query.page.max(1);
        let offset = i64::from(page - 1) * i64::from(TABLE_PAGE_SIZE);
        let (records, total) = self
            .store
            .instance_table(caller.organization_id, &filter, query.sort, offset, i64::from(TABLE_PAGE_SIZE))
            .await
            .or_internal()?;
        let instances = self.listed_views(caller, records).await?;
        let mut elements: Vec<(String, String)> =
            in_use.iter().map(|entry| (entry.definition.key.clone(), entry.definition.name.clone())).collect();
        elements.sort_by_key(|(_, name)| name.to_lowercase());
        Ok(InstanceTablePage {
            cards: instances.iter().map(InstanceCard::from).collect(),
            total: u64::try_from(total).unwrap_or_default(),
            elements,
        })
    }
}
