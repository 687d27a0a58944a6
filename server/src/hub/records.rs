//! Reading and writing stored instances: the instance a call names, its configuration in and out of the vault, and
//! the view both doors answer.

use super::configuration::SplitConfiguration;
use super::errors::OrInternal;
use super::service::HubService;
use super::templates::check_element_urls;
use crate::catalog::{CatalogEntry, HostPolicy};
use crate::security::secrets;
use crate::store::audit::Actor;
use crate::store::instances::InstanceRecord;
use app::error::HubError;
use app::hub::Caller;
use app::instances::{Instance, InstanceTarget, InstanceUser};
use app::revealed::RevealedSecret;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;

impl HubService {
    pub(super) async fn instance_view(
        &self,
        record: InstanceRecord,
        entry: &CatalogEntry,
        token: SecretString,
    ) -> Result<Instance, HubError> {
        let user = self.store.user(record.user_id).await.or_internal()?.ok_or(HubError::Internal)?;
        let health = self.health_of(&record);
        let events_enabled = record
            .configuration
            .get(app::events::ENABLED)
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
        Ok(Instance {
            id: record.id,
            name: record.name,
            created_date: crate::store::from_millis(record.created_at),
            token: RevealedSecret::new(token.expose_secret().to_owned()),
            element: entry.to_element(),
            element_id: entry.id,
            tags: record.tags,
            provision_interactions: Vec::new(),
            valid: record.valid,
            disabled: record.disabled,
            max_cache_size: 0,
            cache_time_to_live: 0,
            provider_data: BTreeMap::new(),
            configuration: record.configuration,
            events_enabled,
            trace_logging_enabled: record.trace_logging,
            caching_enabled: false,
            external_authentication: record.external_authentication,
            user: InstanceUser {
                id: user.id,
                email_address: user.email_address,
                first_name: user.first_name,
                last_name: user.last_name,
            },
            health,
            end_user: record.end_user,
            objects: record.objects,
        })
    }

    /// The instance a call names: by id within the caller's organization, or by the `Element` token it carries.
    /// A token is found by its digest through a unique index, so the lookup's time tells nothing about the token.
    pub(super) async fn target_instance(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
    ) -> Result<(InstanceRecord, CatalogEntry), HubError> {
        let record = match target {
            InstanceTarget::Id(id) => self
                .store
                .instance(caller.organization_id, *id)
                .await
                .or_internal()?
                .ok_or_else(|| HubError::NotFound(format!("No instance with id {id}")))?,
            InstanceTarget::OfElement { element, id } => {
                let named = self.visible_element(caller, element).await?;
                let record = self.store.instance(caller.organization_id, *id).await.or_internal()?;
                match record.filter(|record| record.element_id == named.id) {
                    Some(record) => return Ok((record, named)),
                    None => return Err(HubError::NotFound(format!("No instance {id} of the element {element}"))),
                }
            }
            InstanceTarget::Token(token) => {
                let record = self
                    .store
                    .instance_by_token_hash(&secrets::digest(token))
                    .await
                    .or_internal()?
                    .filter(|record| record.organization_id == caller.organization_id)
                    .ok_or_else(|| {
                        HubError::Unauthorized("The Element token names no instance of this organization".into())
                    })?;
                if record.disabled {
                    return Err(HubError::Forbidden(format!("Instance {} is disabled", record.id)));
                }
                record
            }
        };
        let entry = self.visible_element_by_id(caller.organization_id, record.element_id).await?;
        Ok((record, entry))
    }

    pub(super) async fn view_of(
        &self,
        caller: &Caller,
        record: InstanceRecord,
        entry: &CatalogEntry,
    ) -> Result<Instance, HubError> {
        let token = self.vault.read(record.token_vault_id, &Actor::of(caller)).await.or_internal()?;
        self.instance_view(record, entry, token).await
    }

    /// The instances of a listing as shown. A listing reads every row's token; it is not audited row by row (a
    /// token viewed on its own is).
    pub(super) async fn listed_views(
        &self,
        caller: &Caller,
        records: Vec<InstanceRecord>,
    ) -> Result<Vec<Instance>, HubError> {
        let mut instances = Vec::with_capacity(records.len());
        for record in records {
            let entry = self.visible_element_by_id(caller.organization_id, record.element_id).await?;
            let token = match self.vault.use_secret(record.token_vault_id).await {
                Ok(token) => token,
                // Deleted while this page was read: its secrets went first, and so does it from the page.
                Err(crate::security::vault::VaultError::NotFound(_)) => continue,
                Err(error) => return Err(super::errors::internal_error(error)),
            };
            instances.push(self.instance_view(record, &entry, token).await?);
        }
        Ok(instances)
    }

    /// An instance's configuration with its secrets in the clear, for re-authenticating and revoking.
    pub(super) async fn configuration_of(
        &self,
        caller: &Caller,
        record: &InstanceRecord,
    ) -> Result<SplitConfiguration, HubError> {
        let secrets = self.vault.read(record.secrets_vault_id, &Actor::of(caller)).await.or_internal()?;
        SplitConfiguration::of(record, &secrets)
    }

    /// The same for Tether's own use on every proxied call and refresh, not audited one by one.
    pub(super) async fn configuration_in_use(&self, record: &InstanceRecord) -> Result<SplitConfiguration, HubError> {
        let secrets = self.vault.use_secret(record.secrets_vault_id).await.or_internal()?;
        SplitConfiguration::of(record, &secrets)
    }

    /// Moves a configuration's shown part into the record, and answers its secrets sealed for the vault: written
    /// at once by [`HubService::write_configuration`], or together with others by the refresher's waves.
    pub(super) fn seal_configuration(
        &self,
        record: &mut InstanceRecord,
        split: SplitConfiguration,
    ) -> Result<crate::store::vault::SealedEntry, HubError> {
        let secrets_json = SecretString::from(serde_json::to_string(&split.secrets).or_internal()?);
        let sealed = self.vault.seal_entry(&secrets_json).or_internal()?;
        record.configuration = split.shown;
        Ok(sealed)
    }

    /// Writes new secrets first, then the rest of the record: a rotated refresh token is durable before the
    /// record says anything changed.
    pub(super) async fn write_configuration(
        &self,
        record: &mut InstanceRecord,
        split: SplitConfiguration,
    ) -> Result<(), HubError> {
        let sealed = self.seal_configuration(record, split)?;
        self.vault.replace_sealed(record.secrets_vault_id, sealed).await.or_internal()?;
        self.save_instance(record).await?;
        Ok(())
    }

    /// Writes an instance's changeable fields and forgets this node's cached call for it; answers false when the
    /// instance is gone. Every change to an instance goes through here.
    pub(super) async fn save_instance(&self, record: &InstanceRecord) -> Result<bool, HubError> {
        let saved = self.store.update_instance(record).await.or_internal();
        self.call_cache.forget_call(&record.token_hash);
        saved
    }

    /// The host policy `entry`'s URLs are held to.
    pub(super) fn host_policy(&self, entry: &CatalogEntry) -> HostPolicy {
        entry.host_policy(self.settings.element_hosts)
    }

    /// Checks every URL of `entry` that `values` fill, resolving named hosts; see [`check_element_urls`].
    pub(super) async fn check_urls(
        &self,
        entry: &CatalogEntry,
        values: &BTreeMap<String, String>,
    ) -> Result<(), HubError> {
        check_element_urls(&entry.definition, values, self.host_policy(entry), &self.outbound).await
    }
}
