//! The Instances capability: creating an instance (exchanging an OAuth code, or taking basic, API-key and custom
//! parameters), and reading, listing, changing, re-authenticating, disabling and deleting one.

use super::configuration::SplitConfiguration;
use super::configuration::configuration_text;
use super::configuration::is_credential_key;
use super::configuration::resolve_parameters;
use super::configuration::take_other_values;
use super::configuration::validate_tags;
use super::configuration::value_text;
use super::configuration::with_provider_values;
use super::credentials::Credentials;
use super::errors::OrInternal;
use super::errors::internal_error;
use super::event_setup::take_event_values;
use super::exchange::Grant;
use super::history::history_entry;
use super::oauth1::VerifiedToken;
use super::service::HubService;
use super::token_endpoints::oauth_settings;
use super::token_endpoints::revoke_endpoint;
use crate::catalog::{CatalogEntry, HostPolicy};
use crate::store::audit::Actor;
use crate::store::instances::{InstanceRecord, NotifiedState};
use crate::{security::secrets, validate};
use app::catalog::{AuthType, OAuthSettings, Template};
use app::error::HubError;
use app::history::HistoryKind;
use app::hub::{Caller, Instances};
use app::instances::credential_keys as key;
use app::instances::{
    ExtraFields, Instance, InstanceConfigurationItem, InstanceId, InstancePatch, InstanceQuery, InstanceTarget, MASK,
    NewInstance, find_configuration_item,
};
use app::paging::Page;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A configuration item's id: derived from its key, so the same key has the same id on every instance.
fn configuration_item_id(key: &str) -> i64 {
    let digest = Sha256::digest(key.as_bytes());
    i64::from(u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]))
}

/// What a new instance is called and whose it is: its name, its tags, and the team's end user it is connected
/// for when a connect session makes it; and whether its calls are recorded with headers and bodies.
pub(super) struct InstanceLabels {
    pub name: String,
    pub tags: Vec<String>,
    pub end_user: Option<app::types::EndUser>,
    pub trace_logging: bool,
}

impl HubService {
    /// Takes a basic, API-key or custom element's parameters.
    fn take_parameters(entry: &CatalogEntry, given: &BTreeMap<String, String>) -> Result<SplitConfiguration, HubError> {
        let definition = &*entry.definition;
        if matches!(definition.auth, AuthType::OAuth1 | AuthType::OAuth2) {
            return Err(HubError::invalid(
                "element",
                format!("{} uses an authentication Tether cannot perform yet", definition.key),
            ));
        }
        let values = resolve_parameters(definition, given)?;
        let mut split = SplitConfiguration::default();
        split.parameters(definition, &values)?;
        Ok(split)
    }

    /// Creates an instance of `entry` from a `POST /instances` body; `end_user` is the team's end user when a
    /// connect session makes it.
    pub(super) async fn create_for_element(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        new: NewInstance,
        end_user: Option<app::types::EndUser>,
    ) -> Result<Instance, HubError> {
        let name = validate::instance_label("name", &new.name, 200)?;
        let tags = validate_tags(&new.tags)?;
        let external = new.external_authentication.clone().unwrap_or_else(|| "none".into());
        let initial = match external.as_str() {
            "none" => false,
            "initial" => true,
            _ => return Err(HubError::invalid("externalAuthentication", "must be none or initial")),
        };
        let mut given = configuration_text(new.configuration)?;
        let (event_values, event_settings) =
            self.merged_events(entry, &BTreeMap::new(), take_event_values(&mut given)).await?;
        let others = take_other_values(&entry.definition, &mut given)?;
        with_provider_values(&entry.definition, &new.provider_data, &mut given)?;
        let mut split = match (&entry.definition.oauth, entry.definition.auth) {
            (Some(_), AuthType::OAuth2) => {
                self.with_saved_app(caller, entry, &mut given).await?;
                let grant = if initial {
                    Grant::RefreshToken
                } else {
                    let code = new.provider_data.code.clone().ok_or_else(|| {
                        HubError::invalid("providerData.code", "required: the code the provider sent to the callback")
                    })?;
                    Grant::Code { code, state: new.provider_data.state.clone() }
                };
                self.authorize_oauth(caller, entry, grant, &given).await?
            }
            _ if initial => {
                return Err(HubError::invalid("externalAuthentication", "initial needs an OAuth 2.0 element"));
            }
            (Some(_), AuthType::ClientCredentials) => self.authorize_client(entry, &given).await?,
            (Some(_), AuthType::OAuth1) => {
                self.with_saved_app(caller, entry, &mut given).await?;
                let verified = VerifiedToken::of(&new.provider_data)?;
                self.authorize_oauth1(caller, entry, verified, &given).await?
            }
            _ => Self::take_parameters(entry, &given)?,
        };
        split.others(&others, true);
        // Values captured from a token answer (an `api_domain`) fill the API base URL only now.
        self.check_urls(entry, &split.values()).await?;
        if entry.definition.auth != AuthType::OAuth2 {
            self.verify_credentials(entry, &split.values()).await?;
        }
        let objects =
            if new.retrieve_objects_after_instantiation { entry.definition.objects.clone() } else { Vec::new() };
        let events = (event_values, event_settings);
        let labels = InstanceLabels { name, tags, end_user, trace_logging: new.trace_logging_enabled };
        let mut instance = self.insert_with_events(caller, entry, labels, split, events, objects, external).await?;
        // The create answer carries the code it was made with, as Cloud Elements' did; the code is used up.
        if let (Some(code), AuthType::OAuth2, false) = (&new.provider_data.code, entry.definition.auth, initial) {
            instance.provider_data.insert("code".into(), code.expose_secret().to_owned());
        }
        Ok(instance)
    }

    /// Stores a new instance with its checked event values, and starts its polling when it polls.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn insert_with_events(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        labels: InstanceLabels,
        mut split: SplitConfiguration,
        (event_values, event_settings): (BTreeMap<String, String>, Option<app::events::EventSettings>),
        objects: Vec<app::catalog::ElementObject>,
        external_authentication: String,
    ) -> Result<Instance, HubError> {
        split.events(&event_values, event_settings.as_ref());
        let instance = self.insert_new_instance(caller, entry, labels, split, objects, external_authentication).await?;
        if !event_values.is_empty() {
            self.sync_poller(entry, instance.id, &instance.configuration).await?;
        }
        Ok(instance)
    }

    /// Stores a new instance with a fresh token, and answers it.
    async fn insert_new_instance(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        InstanceLabels { name, tags, end_user, trace_logging }: InstanceLabels,
        split: SplitConfiguration,
        objects: Vec<app::catalog::ElementObject>,
        external_authentication: String,
    ) -> Result<Instance, HubError> {
        let token = secrets::generate_secret();
        let token_vault_id =
            self.vault.put(Some(caller.organization_id), "instance.token", &token).await.or_internal()?;
        let secrets_json = SecretString::from(serde_json::to_string(&split.secrets).or_internal()?);
        let secrets_vault_id = self
            .vault
            .put(Some(caller.organization_id), "instance.configuration", &secrets_json)
            .await
            .or_internal()?;
        let record = InstanceRecord {
            id: InstanceId(0),
            organization_id: caller.organization_id,
            account_id: caller.account_id,
            user_id: caller.user_id,
            element_id: entry.id,
            name,
            token_hash: secrets::digest(&token),
            token_vault_id,
            secrets_vault_id,
            configuration: split.shown,
            tags,
            objects,
            valid: true,
            disabled: false,
            external_authentication,
            created_at: 0,
            last_refreshed_at: None,
            last_error: None,
            last_error_at: None,
            refresh_failures: 0,
            refresh_retry_at: None,
            notified_state: crate::store::instances::NotifiedState::Ok,
            end_user,
            trace_logging,
        };
        let stored = match self.store.insert_instance(&record).await {
            Ok(stored) => stored,
            Err(error) => {
                // Nothing refers to the new vault entries; drop them rather than leave them behind.
                for id in [token_vault_id, secrets_vault_id] {
                    let _ = self.vault.remove(id).await;
                }
                return Err(internal_error(error));
            }
        };
        self.audit_instance(caller, "instance.created", stored.id).await?;
        let detail = match &stored.end_user {
            Some(end_user) => format!("through a connect session, for end user {}", end_user.id),
            None => String::new(),
        };
        self.note_history(history_entry(&stored, HistoryKind::Created, &Actor::of(caller), detail)).await;
        self.emit_lifecycle("instance.created", (&stored, &entry.definition.key), None).await?;
        self.instance_view(stored, entry, token).await
    }

    async fn audit_instance(&self, caller: &Caller, action: &str, id: InstanceId) -> Result<(), HubError> {
        self.audit(caller.organization_id, Actor::of(caller), action, format!("instance:{id}")).await
    }

    /// Writes a changed instance and its secrets, and answers it.
    async fn store_changes(
        &self,
        caller: &Caller,
        mut record: InstanceRecord,
        entry: &CatalogEntry,
        split: Option<SplitConfiguration>,
        change: HistoryKind,
    ) -> Result<Instance, HubError> {
        match split {
            Some(split) => self.write_configuration(&mut record, split).await?,
            None => {
                if !self.save_instance(&record).await? {
                    return Err(HubError::NotFound(format!("No instance with id {}", record.id)));
                }
            }
        }
        let action = match change {
            HistoryKind::Reauthenticated => "instance.reauthenticated",
            HistoryKind::Enabled => "instance.enabled",
            HistoryKind::Disabled => "instance.disabled",
            _ => "instance.updated",
        };
        self.audit_instance(caller, action, record.id).await?;
        self.note_history(history_entry(&record, change, &Actor::of(caller), String::new())).await;
        self.view_of(caller, record, entry).await
    }

    /// New provider tokens for an existing instance: same id, same token, `valid` again.
    pub(super) async fn reauthenticate(
        &self,
        caller: &Caller,
        mut record: InstanceRecord,
        entry: &CatalogEntry,
        grant: Grant,
        mut changes: BTreeMap<String, String>,
    ) -> Result<Instance, HubError> {
        let current = self.configuration_of(caller, &record).await?.values();
        let (event_values, event_settings) =
            self.merged_events(entry, &current, take_event_values(&mut changes)).await?;
        let definition = &*entry.definition;
        let new_others = take_other_values(definition, &mut changes)?;
        let mut given: BTreeMap<String, String> = BTreeMap::new();
        let mut others: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in current {
            if [key::CLIENT_ID, key::CLIENT_SECRET, key::CALLBACK_URL].contains(&name.as_str())
                || definition.parameters.iter().any(|parameter| parameter.key == name)
            {
                given.insert(name, value);
            } else if !is_credential_key(&name) && !name.starts_with("event.") {
                others.insert(name, value);
            }
        }
        given.extend(changes);
        others.extend(new_others);
        let mut split = self.authorize_oauth(caller, entry, grant, &given).await?;
        split.events(&event_values, event_settings.as_ref());
        split.others(&others, true);
        record.valid = true;
        // New tokens end a failure streak, and lift a disabling that the streak caused.
        record.disabled &= record.notified_state != NotifiedState::Disabled;
        record.refresh_failures = 0;
        record.refresh_retry_at = None;
        let announced = record.clone();
        let instance = self.store_changes(caller, record, entry, Some(split), HistoryKind::Reauthenticated).await?;
        self.emit_lifecycle("instance.reauthenticated", (&announced, &entry.definition.key), None).await?;
        self.sync_poller(entry, instance.id, &instance.configuration).await?;
        self.announce_if_working(&announced, entry).await?;
        Ok(instance)
    }

    /// Applies changed parameter values without re-authenticating; OAuth settings need a new code.
    async fn changed_parameters(
        &self,
        caller: &Caller,
        record: &InstanceRecord,
        entry: &CatalogEntry,
        changes: BTreeMap<String, String>,
    ) -> Result<SplitConfiguration, HubError> {
        let definition = &*entry.definition;
        if let Some(key) = changes.keys().find(|key| definition.oauth.is_some() && is_credential_key(key)) {
            return Err(HubError::invalid(
                &format!("configuration.{key}"),
                "changes only by re-authenticating: send it with providerData.code",
            ));
        }
        let mut changes = changes;
        let others = take_other_values(definition, &mut changes)?;
        let mut split = self.configuration_of(caller, record).await?;
        split.others(&others, false);
        let mut parameters: BTreeMap<String, String> = split
            .values()
            .into_iter()
            .filter(|(key, _)| definition.parameters.iter().any(|parameter| &parameter.key == key))
            .collect();
        parameters.extend(changes);
        let values = resolve_parameters(definition, &parameters)?;
        split.parameters(definition, &values)?;
        self.check_urls(entry, &split.values()).await?;
        Ok(split)
    }

    /// Tells the organization an instance it was warned about works again, once it is enabled and valid.
    async fn announce_if_working(&self, record: &InstanceRecord, entry: &CatalogEntry) -> Result<(), HubError> {
        if record.disabled || !record.valid {
            return Ok(());
        }
        self.announce(record, &entry.definition.key, NotifiedState::Ok, "").await
    }

    /// Revokes the instance's grant at the provider (RFC 7009): the refresh token, else the access token.
    /// A provider that fails to answer does not keep the instance alive; the failure is logged.
    async fn revoke_grant(
        &self,
        oauth: &OAuthSettings,
        revoke_url: &Template,
        values: &BTreeMap<String, String>,
        policy: HostPolicy,
        id: InstanceId,
    ) {
        let credentials = Credentials::read(values);
        let Some(client) = &credentials.client else { return };
        let (token, hint) = match (&credentials.refresh_token, &credentials.access_token) {
            (Some(refresh), _) => (refresh, "refresh_token"),
            (None, Some(access)) => (access, "access_token"),
            (None, None) => return,
        };
        let outcome = match revoke_endpoint(revoke_url, oauth, values, policy) {
            Ok(endpoint) => {
                self.token_client.revoke(&endpoint, client, token, hint).await.map_err(|error| error.to_string())
            }
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = outcome {
            tracing::warn!(instance = %id, %error, "revoking the instance's grant at the provider failed");
        }
    }
}

#[async_trait::async_trait]
impl Instances for HubService {
    async fn create_instance(
        &self,
        caller: &Caller,
        element_in_path: Option<&str>,
        new: NewInstance,
    ) -> Result<Instance, HubError> {
        let key_or_id = match (element_in_path, &new.element) {
            (Some(key), _) => key.to_owned(),
            (None, Some(reference)) => match (&reference.key, reference.id) {
                (Some(key), _) => key.clone(),
                (None, Some(id)) => id.to_string(),
                (None, None) => return Err(HubError::invalid("element", "required: {\"key\": …} or {\"id\": …}")),
            },
            (None, None) => return Err(HubError::invalid("element", "required: {\"key\": …} or {\"id\": …}")),
        };
        let entry = self.visible_element(caller, &key_or_id).await?;
        self.create_for_element(caller, &entry, new, None).await
    }

    async fn list_instances(&self, caller: &Caller, query: InstanceQuery) -> Result<Vec<Instance>, HubError> {
        let element = match &query.element {
            Some(key_or_id) => Some(self.visible_element(caller, key_or_id).await?.id),
            None => None,
        };
        let page = Page::of(query.page, query.page_size)?;
        let (skip, page_size) = (page.offset() as usize, page.size() as usize);
        let records = self
            .store
            .instances_page(caller.organization_id, element, query.end_user_id.as_deref(), &query.tags, skip, page_size)
            .await
            .or_internal()?;
        self.listed_views(caller, records).await
    }

    async fn instance(&self, caller: &Caller, target: &InstanceTarget) -> Result<Instance, HubError> {
        let (record, entry) = self.target_instance(caller, target).await?;
        self.view_of(caller, record, &entry).await
    }

    async fn reveal_instance_token(&self, caller: &Caller, id: InstanceId) -> Result<String, HubError> {
        let instance = self.instance(caller, &InstanceTarget::Id(id)).await?;
        let actor = Actor::of(caller);
        self.audit(caller.organization_id, actor, "instance.token_viewed", format!("instance:{id}")).await?;
        Ok(instance.token.as_str().to_owned())
    }

    async fn reveal_provider_tokens(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
    ) -> Result<BTreeMap<String, String>, HubError> {
        caller.require_admin("read an instance's provider tokens")?;
        let (record, _) = self.target_instance(caller, target).await?;
        let values = self.configuration_of(caller, &record).await?.values();
        let tokens: BTreeMap<String, String> = [key::ACCESS_TOKEN, key::REFRESH_TOKEN]
            .into_iter()
            .filter_map(|name| values.get(name).map(|value| (name.to_owned(), value.clone())))
            .collect();
        let actor = Actor::of(caller);
        let target = format!("instance:{}", record.id);
        self.audit(caller.organization_id, actor, "instance.provider_token_viewed", target).await?;
        Ok(tokens)
    }

    async fn update_instance(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        patch: InstancePatch,
    ) -> Result<Instance, HubError> {
        let (mut record, entry) = self.target_instance(caller, target).await?;
        // A client may send back the instance as it read it: its id and token must still be this instance's.
        let sent_back = ExtraFields::of(&patch.other_fields);
        if let Some(id) = &sent_back.id
            && id.as_i64() != Some(record.id.0)
            && id.as_str() != Some(record.id.0.to_string().as_str())
        {
            return Err(HubError::invalid("id", format!("names another instance than {}", record.id)));
        }
        if let Some(token) = &sent_back.token
            && token.as_str().map(|token| secrets::digest(&SecretString::from(token)))
                != Some(record.token_hash.clone())
        {
            return Err(HubError::invalid("token", "is not this instance's token"));
        }
        if let Some(reference) = &patch.element {
            let named = reference.key.clone().or(reference.id.map(|id| id.to_string()));
            if named.is_some_and(|named| !entry.is_named(&named)) {
                return Err(HubError::invalid(
                    "element",
                    format!("instance {} is of element {}", record.id, entry.definition.key),
                ));
            }
        }
        if patch.name.is_none()
            && patch.tags.is_none()
            && patch.trace_logging_enabled.is_none()
            && patch.configuration.is_none()
            && patch.provider_data.as_ref().is_none_or(|data| data.code.is_none())
        {
            return Err(HubError::invalid(
                "body",
                "nothing to change; send name, tags, traceLoggingEnabled, configuration or providerData.code",
            ));
        }
        if let Some(name) = &patch.name {
            record.name = validate::instance_label("name", name, 200)?;
        }
        if let Some(tags) = &patch.tags {
            record.tags = validate_tags(tags)?;
        }
        if let Some(trace_logging) = patch.trace_logging_enabled {
            record.trace_logging = trace_logging;
        }
        let mut changes = configuration_text(patch.configuration.unwrap_or_default())?;
        // A secret sent back masked, as it was read, keeps its value; so does any value sent back unchanged.
        changes.retain(|key, value| value != MASK && record.configuration.get(key) != Some(value));
        // New client credentials for a client-credentials instance get it a token with them at once.
        if entry.definition.auth == AuthType::ClientCredentials && changes.keys().any(|key| is_credential_key(key)) {
            return self.reauthenticate(caller, record, &entry, Grant::ClientCredentials, changes).await;
        }
        // An OAuth 1.0a instance re-authenticates with the callback's token and verifier.
        if let (AuthType::OAuth1, Some(provider_data)) = (entry.definition.auth, &patch.provider_data)
            && provider_data.other_fields.contains_key("oauth_verifier")
        {
            let verified = VerifiedToken::of(provider_data)?;
            return self.reauthenticate(caller, record, &entry, Grant::OAuth1(verified), changes).await;
        }
        if let Some(code) = patch.provider_data.as_ref().and_then(|data| data.code.clone()) {
            oauth_settings(&entry)?;
            if let Some(provider_data) = &patch.provider_data {
                with_provider_values(&entry.definition, provider_data, &mut changes)?;
            }
            let state = patch.provider_data.and_then(|data| data.state);
            return self.reauthenticate(caller, record, &entry, Grant::Code { code, state }, changes).await;
        }
        let event_changes = take_event_values(&mut changes);
        let mut split = if changes.is_empty() {
            None
        } else {
            Some(self.changed_parameters(caller, &record, &entry, changes).await?)
        };
        if event_changes.is_empty() {
            return self.store_changes(caller, record, &entry, split, HistoryKind::Edited).await;
        }
        let mut with_events = match split.take() {
            Some(split) => split,
            None => self.configuration_of(caller, &record).await?,
        };
        let (event_values, event_settings) = self.merged_events(&entry, &with_events.values(), event_changes).await?;
        with_events.events(&event_values, event_settings.as_ref());
        let instance = self.store_changes(caller, record, &entry, Some(with_events), HistoryKind::Edited).await?;
        self.sync_poller(&entry, instance.id, &instance.configuration).await?;
        Ok(instance)
    }

    async fn delete_instance(&self, caller: &Caller, target: &InstanceTarget) -> Result<(), HubError> {
        let (record, entry) = self.target_instance(caller, target).await?;
        if let (Some(oauth), AuthType::OAuth2) = (&entry.definition.oauth, entry.definition.auth)
            && let Some(revoke_url) = &oauth.revoke_url
        {
            let values = self.configuration_of(caller, &record).await?.values();
            self.revoke_grant(oauth, revoke_url, &values, self.host_policy(&entry), record.id).await;
        }
        let deleted = self.store.delete_instance(caller.organization_id, record.id).await.or_internal();
        self.call_cache.forget_call(&record.token_hash);
        if !deleted? {
            return Err(HubError::NotFound(format!("No instance with id {}", record.id)));
        }
        for id in [record.token_vault_id, record.secrets_vault_id] {
            self.vault.remove(id).await.or_internal()?;
        }
        self.emit_lifecycle("instance.deleted", (&record, &entry.definition.key), None).await?;
        self.audit_instance(caller, "instance.deleted", record.id).await
    }

    async fn set_instance_enabled(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        enabled: bool,
    ) -> Result<Instance, HubError> {
        let (mut record, entry) = match target {
            // Enabling must reach a disabled instance, which its own token cannot name.
            InstanceTarget::Token(_) if enabled => {
                return Err(HubError::invalid(
                    "instance",
                    "enable a disabled instance through /instances/{id}/enabled",
                ));
            }
            _ => self.target_instance(caller, target).await?,
        };
        record.disabled = !enabled;
        if enabled {
            // Enabling starts afresh: the next refresh is the first attempt of a new streak.
            record.refresh_failures = 0;
            record.refresh_retry_at = None;
        }
        let announced = record.clone();
        let change = if enabled { HistoryKind::Enabled } else { HistoryKind::Disabled };
        let instance = self.store_changes(caller, record, &entry, None, change).await?;
        self.announce_if_working(&announced, &entry).await?;
        Ok(instance)
    }

    async fn instance_configuration(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
    ) -> Result<Vec<InstanceConfigurationItem>, HubError> {
        let (record, entry) = self.target_instance(caller, target).await?;
        let element_items = entry.to_element().configuration;
        // The element's keys the instance holds no value for are listed with their defaults, so that a client
        // finds every key it may change; then the keys the instance holds that the element does not list.
        let mut items: Vec<InstanceConfigurationItem> = element_items
            .iter()
            .map(|item| {
                let value = record.configuration.get(&item.key).cloned();
                InstanceConfigurationItem {
                    id: configuration_item_id(&item.key),
                    key: item.key.clone(),
                    name: item.name.clone(),
                    secret: value.as_deref() == Some(MASK),
                    property_value: value.or_else(|| item.default_value.clone()).unwrap_or_default(),
                }
            })
            .collect();
        for (key, value) in record.configuration {
            if element_items.iter().all(|item| item.key != key) {
                items.push(InstanceConfigurationItem {
                    id: configuration_item_id(&key),
                    name: key.clone(),
                    secret: value == MASK,
                    property_value: value,
                    key,
                });
            }
        }
        Ok(items)
    }

    /// Changes one configuration value, named by its item id or its key.
    async fn update_instance_configuration(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        item: &str,
        value: Value,
    ) -> Result<InstanceConfigurationItem, HubError> {
        let items = self.instance_configuration(caller, target).await?;
        let found = find_configuration_item(&items, item)?;
        let value = value_text(&found.key, value)?;
        let patch = InstancePatch {
            configuration: Some(BTreeMap::from([(found.key.clone(), Value::String(value))])),
            ..InstancePatch::default()
        };
        let instance = self.update_instance(caller, target, patch).await?;
        let property_value = instance.configuration.get(&found.key).cloned().unwrap_or_default();
        Ok(InstanceConfigurationItem { property_value, ..found.clone() })
    }
}
