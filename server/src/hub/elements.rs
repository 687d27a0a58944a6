//! The ElementCatalog capability: listing and searching the catalog, and an organization's custom elements; and
//! finding the element a call names, which every other capability does.

use super::errors::OrInternal;
use super::errors::conflict_or_internal;
use super::service::HubService;
use crate::catalog;
use crate::catalog::CatalogEntry;
use crate::store::audit::Actor;
use app::catalog::{Element, ElementCard, ElementDefinition, ElementId, ElementPage, ElementQuery};
use app::error::HubError;
use app::hub::{Caller, ElementCatalog};
use app::paging::Page;
use app::types::OrganizationId;
use std::collections::BTreeSet;

impl HubService {
    /// The caller's organization's custom elements.
    async fn custom_entries(&self, caller: &Caller) -> Result<Vec<CatalogEntry>, HubError> {
        let custom = self.store.custom_elements(caller.organization_id).await.or_internal()?;
        Ok(custom.into_iter().map(|(id, definition)| CatalogEntry::new(id, definition, true)).collect())
    }

    pub(super) async fn visible_element(&self, caller: &Caller, key_or_id: &str) -> Result<CatalogEntry, HubError> {
        if let Some(entry) = self.catalog.find(key_or_id) {
            return Ok(entry.clone());
        }
        self.custom_entries(caller)
            .await?
            .into_iter()
            .find(|entry| entry.is_named(key_or_id))
            .ok_or_else(|| HubError::NotFound(format!("No element with key or id {key_or_id}")))
    }

    /// The element an instance or flow refers to, by id: looked up directly rather than among all the
    /// organization's elements, as every proxied call needs it.
    pub(super) async fn visible_element_by_id(
        &self,
        organization: OrganizationId,
        id: ElementId,
    ) -> Result<CatalogEntry, HubError> {
        if let Some(entry) = self.catalog.by_id(id) {
            return Ok(entry.clone());
        }
        let (id, definition) = self
            .store
            .custom_element(organization, id)
            .await
            .or_internal()?
            .ok_or_else(|| HubError::NotFound(format!("No element with key or id {id}")))?;
        Ok(CatalogEntry::new(id, definition, true))
    }

    /// Refuses a definition whose key or aliases already name another visible element.
    fn check_names_free(
        &self,
        definition: &ElementDefinition,
        custom: &[CatalogEntry],
        replacing: Option<&CatalogEntry>,
    ) -> Result<(), HubError> {
        let names = std::iter::once(&definition.key).chain(&definition.aliases);
        for name in names {
            let taken = self.catalog.find(name).is_some()
                || custom
                    .iter()
                    .filter(|entry| replacing.is_none_or(|current| current.id != entry.id))
                    .any(|entry| entry.names().any(|existing| existing == name));
            if taken {
                return Err(HubError::Conflict(format!("key: `{name}` already names an element")));
            }
        }
        Ok(())
    }

    /// The caller's custom element named `key_or_id`; a built-in one is `Forbidden`, anything else `NotFound`.
    async fn own_custom_element(
        &self,
        caller: &Caller,
        key_or_id: &str,
    ) -> Result<(CatalogEntry, Vec<CatalogEntry>), HubError> {
        if self.catalog.find(key_or_id).is_some() {
            return Err(HubError::Forbidden(format!("{key_or_id} is a built-in element and cannot be changed")));
        }
        let custom = self.custom_entries(caller).await?;
        let entry = custom
            .iter()
            .find(|entry| entry.is_named(key_or_id))
            .cloned()
            .ok_or_else(|| HubError::NotFound(format!("No element with key or id {key_or_id}")))?;
        Ok((entry, custom))
    }
}

#[async_trait::async_trait]
impl ElementCatalog for HubService {
    async fn list_elements(&self, caller: &Caller, query: ElementQuery) -> Result<ElementPage, HubError> {
        let custom = self.custom_entries(caller).await?;
        let visible = || self.catalog.built_in().iter().chain(&custom);
        if let Some(hub) = &query.hub {
            let hubs: BTreeSet<&str> = visible().map(|entry| entry.definition.hub.as_str()).collect();
            if !hubs.contains(hub.as_str()) {
                let known = hubs.into_iter().collect::<Vec<_>>().join(", ");
                return Err(HubError::BadRequest(format!("hub: no element is in hub `{hub}`; the hubs are {known}")));
            }
        }
        let page = Page::of(query.page, query.page_size)?;
        let (page, total) = catalog::search(visible(), &query, page);
        Ok(ElementPage { elements: page.into_iter().map(CatalogEntry::to_element).collect(), total })
    }

    async fn element(&self, caller: &Caller, key_or_id: &str) -> Result<Element, HubError> {
        Ok(self.visible_element(caller, key_or_id).await?.to_element())
    }

    async fn element_cards(&self, caller: &Caller) -> Result<Vec<ElementCard>, HubError> {
        let custom = self.custom_entries(caller).await?;
        let mut entries: Vec<&CatalogEntry> = custom.iter().chain(self.catalog.built_in()).collect();
        // The organization's own elements first, then popular ones, then by name.
        entries.sort_by_cached_key(|entry| {
            (!entry.private, !entry.definition.popular, entry.definition.name.to_lowercase())
        });
        let counts = self.store.instance_counts(caller.organization_id).await.or_internal()?;
        Ok(entries
            .into_iter()
            .map(|entry| {
                let mut card = entry.to_card();
                card.instances = counts.get(&entry.id).map_or(0, |count| u32::try_from(*count).unwrap_or(u32::MAX));
                card
            })
            .collect())
    }

    async fn create_element(&self, caller: &Caller, definition: ElementDefinition) -> Result<Element, HubError> {
        caller.require_admin("define elements")?;
        catalog::validate(&definition, self.settings.element_hosts)?;
        let custom = self.custom_entries(caller).await?;
        self.check_names_free(&definition, &custom, None)?;
        let id = self.store.insert_custom_element(caller.organization_id, &definition).await.map_err(|error| {
            conflict_or_internal(error, || format!("key: `{}` already names an element", definition.key))
        })?;
        self.audit(caller.organization_id, Actor::of(caller), "element.created", format!("element:{id}")).await?;
        Ok(CatalogEntry::new(id, definition, true).to_element())
    }

    async fn replace_element(
        &self,
        caller: &Caller,
        key_or_id: &str,
        definition: ElementDefinition,
    ) -> Result<Element, HubError> {
        caller.require_admin("define elements")?;
        catalog::validate(&definition, self.settings.element_hosts)?;
        let (current, custom) = self.own_custom_element(caller, key_or_id).await?;
        self.check_names_free(&definition, &custom, Some(&current))?;
        let updated = self.store.update_custom_element(caller.organization_id, current.id, &definition).await;
        self.call_cache.forget_all_calls();
        let updated = updated.map_err(|error| {
            conflict_or_internal(error, || format!("key: `{}` already names an element", definition.key))
        })?;
        if !updated {
            return Err(HubError::NotFound(format!("No element with key or id {key_or_id}")));
        }
        self.audit(caller.organization_id, Actor::of(caller), "element.updated", format!("element:{}", current.id))
            .await?;
        Ok(CatalogEntry::new(current.id, definition, true).to_element())
    }

    async fn delete_element(&self, caller: &Caller, key_or_id: &str) -> Result<(), HubError> {
        caller.require_admin("define elements")?;
        let (current, _) = self.own_custom_element(caller, key_or_id).await?;
        let deleted = self.store.delete_custom_element(caller.organization_id, current.id).await;
        self.call_cache.forget_all_calls();
        deleted.or_internal()?;
        self.audit(caller.organization_id, Actor::of(caller), "element.deleted", format!("element:{}", current.id))
            .await
    }
}
