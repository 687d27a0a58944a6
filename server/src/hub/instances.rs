//! The hub's element instances: creating one (exchanging an OAuth code, or taking basic, API-key and custom
//! parameters), and reading, listing, changing, re-authenticating, disabling and deleting them.

use super::credentials::Credentials;
use super::oauth::{ConsolePending, SealedFlow, resolve_parameters};
use super::templates::{check_element_urls, fill, fill_url};
use super::{HubService, OrInternal};
use crate::catalog::CatalogEntry;
use crate::catalog::HostPolicy;
use crate::secrets;
use crate::store::instances::{InstanceRecord, NotifiedState};
use crate::store::oauth_flows::StoredFlow;
use crate::token_client::{ClientCredentials, TokenEndpoint, TokenError, TokenSet};
use crate::validate;
use app::catalog::{AuthType, ElementDefinition, OAuthSettings, Template};
use app::error::HubError;
use app::instances::credential_keys as key;
use app::instances::{
    HealthState, Instance, InstanceConfigurationItem, InstanceHealth, InstanceId, InstancePatch, InstanceQuery,
    InstanceTarget, InstanceUser, MASK, MAX_INSTANCE_PAGE, NewInstance, OAuthCallback, find_configuration_item,
};
use app::service::Caller;
use app::types::RevealedSecret;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub(super) fn bad(field: &str, problem: impl std::fmt::Display) -> HubError {
    HubError::BadRequest(format!("{field}: {problem}"))
}

/// The OAuth configuration keys a caller may give, besides the element's own parameters.
const OAUTH_KEYS: [&str; 5] = [key::CLIENT_ID, key::CLIENT_SECRET, key::CALLBACK_URL, key::SCOPE, key::REFRESH_TOKEN];

/// How many instances a page holds when the caller does not say.
const DEFAULT_INSTANCE_PAGE: u32 = 200;

/// A provider's failure as the API answers it: refusals are the caller's to fix (400), the rest are 502.
pub(super) fn provider_error(error: TokenError) -> HubError {
    if let TokenError::Refused(refused) = &error {
        return HubError::BadRequest(refused.to_string());
    }
    let (status, provider_message) = match &error {
        TokenError::InvalidGrant { .. } | TokenError::Rejected { .. } => (400, error.to_string()),
        TokenError::Transient { .. } | TokenError::Malformed(_) | TokenError::Refused(_) => (502, error.to_string()),
    };
    HubError::Provider { status, message: "The provider refused the authorization".into(), provider_message }
}

/// Configuration values as text: strings, numbers and booleans are accepted.
fn configuration_text(configuration: BTreeMap<String, Value>) -> Result<BTreeMap<String, String>, HubError> {
    configuration.into_iter().map(|(key, value)| Ok((key.clone(), value_text(&key, value)?))).collect()
}

fn value_text(key: &str, value: Value) -> Result<String, HubError> {
    match value {
        // A control character (CR, LF, NUL, DEL…) could never go into a header or URL, so every later call would fail.
        Value::String(text) if key != app::events::POLLER_CONFIGURATION && text.chars().any(char::is_control) => {
            Err(bad(&format!("configuration.{key}"), "must not hold control characters"))
        }
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Object(_) if key == app::events::POLLER_CONFIGURATION => Ok(value.to_string()),
        _ => Err(bad(&format!("configuration.{key}"), "must be a string, number or boolean")),
    }
}

/// The configuration as stored and answered (secrets masked), and the secret values for the vault.
#[derive(Default)]
pub(super) struct SplitConfiguration {
    shown: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
}

impl SplitConfiguration {
    /// An instance's configuration from its record and its decrypted secrets.
    pub(super) fn of(record: &InstanceRecord, secrets: &SecretString) -> Result<SplitConfiguration, HubError> {
        let secrets: BTreeMap<String, String> = serde_json::from_str(secrets.expose_secret()).or_internal()?;
        Ok(SplitConfiguration { shown: record.configuration.clone(), secrets })
    }

    pub(super) fn remove(&mut self, key: &str) {
        self.shown.remove(key);
        self.secrets.remove(key);
    }

    pub(super) fn plain(&mut self, key: &str, value: String) {
        self.secrets.remove(key);
        self.shown.insert(key.to_owned(), value);
    }

    pub(super) fn secret(&mut self, key: &str, value: &SecretString) {
        self.shown.insert(key.to_owned(), MASK.to_owned());
        self.secrets.insert(key.to_owned(), value.expose_secret().to_owned());
    }

    /// Every value in the clear: the shown ones with the secrets in place of their masks.
    pub(super) fn values(&self) -> BTreeMap<String, String> {
        let mut values = self.shown.clone();
        values.extend(self.secrets.iter().map(|(key, value)| (key.clone(), value.clone())));
        values
    }

    /// Adds the element's parameter values, masking the secret ones; a required parameter must have a value.
    fn parameters(
        &mut self,
        definition: &ElementDefinition,
        values: &BTreeMap<String, String>,
    ) -> Result<(), HubError> {
        for parameter in &definition.parameters {
            match values.get(&parameter.key) {
                Some(value) if parameter.secret => self.secret(&parameter.key, &SecretString::from(value.clone())),
                Some(value) => self.plain(&parameter.key, value.clone()),
                None if parameter.required => {
                    return Err(bad(&format!("configuration.{}", parameter.key), "required"));
                }
                None => {}
            }
        }
        Ok(())
    }
}

fn required(values: &BTreeMap<String, String>, key: &str, what: &str) -> Result<String, HubError> {
    values
        .get(key)
        .filter(|value| !value.trim().is_empty())
        .cloned()
        .ok_or_else(|| bad(&format!("configuration.{key}"), format!("required: {what}")))
}

/// The token endpoint for the code exchange, with the element's token parameters.
fn exchange_endpoint(
    oauth: &OAuthSettings,
    values: &BTreeMap<String, String>,
    policy: HostPolicy,
) -> Result<TokenEndpoint, HubError> {
    endpoint_with_params(
        "oauth.tokenUrl",
        &oauth.token_url,
        ("oauth.tokenParams", &oauth.token_params),
        oauth,
        values,
        policy,
    )
}

/// Where refresh tokens are used: the refresh URL when the element has one, else the token URL, with the
/// element's refresh parameters only; the code exchange's parameters (its `grant_type` among them) never go along.
pub(super) fn refresh_endpoint(
    oauth: &OAuthSettings,
    values: &BTreeMap<String, String>,
    policy: HostPolicy,
) -> Result<TokenEndpoint, HubError> {
    let url = oauth.refresh_url.as_ref().unwrap_or(&oauth.token_url);
    endpoint_with_params("oauth.refreshUrl", url, ("oauth.refreshParams", &oauth.refresh_params), oauth, values, policy)
}

/// The revocation endpoint (RFC 7009), which takes no parameters of the element's.
fn revoke_endpoint(
    url: &Template,
    oauth: &OAuthSettings,
    values: &BTreeMap<String, String>,
    policy: HostPolicy,
) -> Result<TokenEndpoint, HubError> {
    endpoint_with_params("oauth.revokeUrl", url, ("", &BTreeMap::new()), oauth, values, policy)
}

/// What a token request names itself: an element's own `grant_type` would be sent a second time.
const REQUEST_OWN_PARAMS: [&str; 1] = ["grant_type"];

fn endpoint_with_params(
    field: &str,
    url: &Template,
    (params_field, params): (&str, &BTreeMap<String, Template>),
    oauth: &OAuthSettings,
    values: &BTreeMap<String, String>,
    policy: HostPolicy,
) -> Result<TokenEndpoint, HubError> {
    let extra = params
        .iter()
        .filter(|(name, _)| !REQUEST_OWN_PARAMS.contains(&name.as_str()))
        .map(|(name, template)| Ok((name.clone(), fill(&format!("{params_field}.{name}"), template, values)?)))
        .collect::<Result<_, HubError>>()?;
    let url = fill_url(field, url, values, policy)?;
    Ok(TokenEndpoint { url, auth: oauth.token_auth, body: oauth.token_body, extra })
}

fn validate_tags(tags: &[String]) -> Result<Vec<String>, HubError> {
    tags.iter().enumerate().map(|(index, tag)| validate::required_name(&format!("tags[{index}]"), tag, 64)).collect()
}

/// A configuration item's id: derived from its key, so the same key has the same id on every instance.
fn configuration_item_id(key: &str) -> i64 {
    let digest = Sha256::digest(key.as_bytes());
    i64::from(u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]))
}

pub(super) fn oauth_settings(entry: &CatalogEntry) -> Result<&OAuthSettings, HubError> {
    match (entry.definition.auth, &entry.definition.oauth) {
        (AuthType::OAuth2, Some(oauth)) => Ok(oauth),
        _ => Err(bad("element", format!("{} does not authenticate with OAuth 2.0", entry.definition.key))),
    }
}

/// Refuses configuration keys that are neither OAuth settings nor the element's parameters.
fn refuse_unknown_oauth_settings(
    definition: &ElementDefinition,
    given: &BTreeMap<String, String>,
) -> Result<(), HubError> {
    match given
        .keys()
        .find(|key| !OAUTH_KEYS.contains(&key.as_str()) && !definition.parameters.iter().any(|p| &p.key == *key))
    {
        Some(unknown) => {
            Err(bad(&format!("configuration.{unknown}"), format!("is not a setting of element {}", definition.key)))
        }
        None => Ok(()),
    }
}

/// How an instance gets its provider tokens.
pub(super) enum Grant {
    /// A code from the API flow; its pending flow, if any, is found by `state` (or the element key).
    Code { code: SecretString, state: Option<String> },
    /// A code from the console flow, whose pending flow was already checked and used up.
    CheckedCode { code: SecretString, verifier: Option<String>, parameters: BTreeMap<String, String> },
    /// `externalAuthentication: initial`: the refresh token given in the configuration.
    RefreshToken,
}

impl HubService {
    /// Finds the pending flow the code belongs to, and checks the OAuth app is the one the URL was made with.
    async fn matching_flow(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        state: Option<&str>,
        client: &ClientCredentials,
        callback_url: &str,
    ) -> Result<Option<(StoredFlow, SealedFlow)>, HubError> {
        let state_hash = secrets::digest(&SecretString::from(state.unwrap_or(&entry.definition.key).to_owned()));
        let flow = self.store.pending_oauth_flow(caller.organization_id, &state_hash).await.or_internal()?;
        let flow = match (flow, state) {
            (Some(flow), _) if flow.element_id == entry.id => flow,
            (_, Some(_)) => {
                return Err(bad(
                    "providerData.state",
                    "no pending authorization of this element has this state (it may have expired)",
                ));
            }
            (_, None) => return Ok(None),
        };
        if flow.client_id != client.id {
            return Err(bad(
                "configuration.oauth.api.key",
                "differs from the apiKey the authorization URL was made with",
            ));
        }
        if flow.client_secret_hash != secrets::digest(&client.secret) {
            return Err(bad(
                "configuration.oauth.api.secret",
                "differs from the apiSecret the authorization URL was made with",
            ));
        }
        if flow.callback_url != callback_url {
            return Err(bad(
                "configuration.oauth.callback.url",
                "differs from the callbackUrl the authorization URL was made with",
            ));
        }
        let sealed = self.vault.unseal(&flow.sealed).await.or_internal()?;
        let sealed: SealedFlow = serde_json::from_str(sealed.expose_secret()).or_internal()?;
        Ok(Some((flow, sealed)))
    }

    /// Fills in the organization's saved OAuth app when the caller names no client.
    pub(super) async fn with_saved_app(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        given: &mut BTreeMap<String, String>,
    ) -> Result<(), HubError> {
        if given.contains_key(key::CLIENT_ID) || given.contains_key(key::CLIENT_SECRET) {
            return Ok(());
        }
        if let Some((client, callback_url)) = self.saved_oauth_client(caller, entry).await? {
            given.insert(key::CLIENT_ID.into(), client.id);
            given.insert(key::CLIENT_SECRET.into(), client.secret.expose_secret().to_owned());
            given.entry(key::CALLBACK_URL.into()).or_insert(callback_url);
        }
        Ok(())
    }

    /// Gets an OAuth 2.0 instance's tokens, and fills its configuration.
    async fn authorize_oauth(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        grant: Grant,
        given: &BTreeMap<String, String>,
    ) -> Result<SplitConfiguration, HubError> {
        let oauth = oauth_settings(entry)?;
        let definition = &*entry.definition;
        refuse_unknown_oauth_settings(definition, given)?;
        let client = ClientCredentials {
            id: required(given, key::CLIENT_ID, "the OAuth client id")?,
            secret: SecretString::from(required(given, key::CLIENT_SECRET, "the OAuth client secret")?),
        };
        let mut parameters: BTreeMap<String, String> = given
            .iter()
            .filter(|(key, _)| !OAUTH_KEYS.contains(&key.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut split = SplitConfiguration::default();
        let tokens: TokenSet = match grant {
            Grant::RefreshToken => {
                let refresh_token =
                    SecretString::from(required(given, key::REFRESH_TOKEN, "the refresh token to provision from")?);
                let values = resolve_parameters(definition, &parameters)?;
                self.check_urls(entry, &values).await?;
                let endpoint = refresh_endpoint(oauth, &values, self.host_policy(entry))?;
                self.token_client
                    .refresh(&endpoint, &client, &refresh_token, &oauth.capture)
                    .await
                    .map_err(provider_error)?
            }
            Grant::Code { code, state } => {
                let callback_url = required(given, key::CALLBACK_URL, "the redirect URI")?;
                let flow = self.matching_flow(caller, entry, state.as_deref(), &client, &callback_url).await?;
                let mut verifier = None;
                if let Some((stored, sealed)) = flow {
                    for (key, value) in sealed.parameters {
                        parameters.entry(key).or_insert(value);
                    }
                    if stored.pkce {
                        // A PKCE flow is single-use: its code is exchanged once, whatever the outcome.
                        self.store
                            .delete_oauth_flows(caller.organization_id, &stored.state_hash)
                            .await
                            .or_internal()?;
                    }
                    verifier = sealed.verifier.map(SecretString::from);
                }
                self.exchange(entry, &client, &code, &callback_url, verifier, &parameters, &mut split).await?
            }
            Grant::CheckedCode { code, verifier, parameters: flow_parameters } => {
                let callback_url = required(given, key::CALLBACK_URL, "the redirect URI")?;
                for (key, value) in flow_parameters {
                    parameters.entry(key).or_insert(value);
                }
                let verifier = verifier.map(SecretString::from);
                self.exchange(entry, &client, &code, &callback_url, verifier, &parameters, &mut split).await?
            }
        };
        let values = resolve_parameters(definition, &parameters)?;
        split.parameters(definition, &values)?;
        split.store_client(&client);
        split.plain(key::SCOPE, tokens.scope.clone().unwrap_or_else(|| oauth.scopes.join(&oauth.scope_separator)));
        // The refresh token provisioned from stays when the provider does not rotate it.
        if let Some(given_refresh) = given.get(key::REFRESH_TOKEN) {
            split.secret(key::REFRESH_TOKEN, &SecretString::from(given_refresh.clone()));
        }
        split.store_grant(&tokens);
        Ok(split)
    }

    /// Exchanges a code at the element's token endpoint.
    #[allow(clippy::too_many_arguments)]
    async fn exchange(
        &self,
        entry: &CatalogEntry,
        client: &ClientCredentials,
        code: &SecretString,
        callback_url: &str,
        verifier: Option<SecretString>,
        parameters: &BTreeMap<String, String>,
        split: &mut SplitConfiguration,
    ) -> Result<TokenSet, HubError> {
        let oauth = oauth_settings(entry)?;
        let values = resolve_parameters(&entry.definition, parameters)?;
        self.check_urls(entry, &values).await?;
        let endpoint = exchange_endpoint(oauth, &values, self.host_policy(entry))?;
        split.plain(key::CALLBACK_URL, callback_url.to_owned());
        self.token_client
            .exchange_code(&endpoint, client, code, callback_url, verifier.as_ref(), &oauth.capture)
            .await
            .map_err(provider_error)
    }

    /// Takes a basic, API-key or custom element's parameters.
    fn take_parameters(entry: &CatalogEntry, given: &BTreeMap<String, String>) -> Result<SplitConfiguration, HubError> {
        let definition = &*entry.definition;
        if matches!(definition.auth, AuthType::OAuth1 | AuthType::OAuth2) {
            return Err(bad("element", format!("{} uses an authentication Tether cannot perform yet", definition.key)));
        }
        let values = resolve_parameters(definition, given)?;
        let mut split = SplitConfiguration::default();
        split.parameters(definition, &values)?;
        Ok(split)
    }

    pub(super) async fn create_new_instance(
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
                (None, None) => return Err(bad("element", "required: {\"key\": …} or {\"id\": …}")),
            },
            (None, None) => return Err(bad("element", "required: {\"key\": …} or {\"id\": …}")),
        };
        let entry = self.visible_element(caller, &key_or_id).await?;
        let name = validate::required_name("name", &new.name, 200)?;
        let tags = validate_tags(&new.tags)?;
        let external = new.external_authentication.clone().unwrap_or_else(|| "none".into());
        let initial = match external.as_str() {
            "none" => false,
            "initial" => true,
            _ => return Err(bad("externalAuthentication", "must be none or initial")),
        };
        let mut given = configuration_text(new.configuration)?;
        let (event_values, event_settings) =
            self.merged_events(&entry, &BTreeMap::new(), super::events::take_event_values(&mut given)).await?;
        let split = match (&entry.definition.oauth, entry.definition.auth) {
            (Some(_), AuthType::OAuth2) => {
                refuse_unknown_oauth_settings(&entry.definition, &given)?;
                self.with_saved_app(caller, &entry, &mut given).await?;
                let grant = if initial {
                    Grant::RefreshToken
                } else {
                    let code = new.provider_data.code.clone().ok_or_else(|| {
                        bad("providerData.code", "required: the code the provider sent to the callback")
                    })?;
                    Grant::Code { code, state: new.provider_data.state.clone() }
                };
                self.authorize_oauth(caller, &entry, grant, &given).await?
            }
            _ if initial => return Err(bad("externalAuthentication", "initial needs an OAuth 2.0 element")),
            _ => Self::take_parameters(&entry, &given)?,
        };
        // Values captured from a token answer (an `api_domain`) fill the API base URL only now.
        self.check_urls(&entry, &split.values()).await?;
        let objects =
            if new.retrieve_objects_after_instantiation { entry.definition.objects.clone() } else { Vec::new() };
        let events = (event_values, event_settings);
        self.insert_with_events(caller, &entry, (name, tags), split, events, objects, external).await
    }

    /// Stores a new instance with its checked event values, and starts its polling when it polls.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn insert_with_events(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        (name, tags): (String, Vec<String>),
        mut split: SplitConfiguration,
        (event_values, event_settings): (BTreeMap<String, String>, Option<app::events::EventSettings>),
        objects: Vec<app::catalog::ElementObject>,
        external_authentication: String,
    ) -> Result<Instance, HubError> {
        split.events(&event_values, event_settings.as_ref());
        let instance =
            self.insert_new_instance(caller, entry, name, tags, split, objects, external_authentication).await?;
        if !event_values.is_empty() {
            self.sync_poller(entry, instance.id, &instance.configuration).await?;
        }
        Ok(instance)
    }

    /// Stores a new instance with a fresh token, and answers it.
    #[allow(clippy::too_many_arguments)]
    async fn insert_new_instance(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        name: String,
        tags: Vec<String>,
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
        };
        let stored = match self.store.insert_instance(&record).await {
            Ok(stored) => stored,
            Err(error) => {
                // Nothing refers to the new vault entries; drop them rather than leave them behind.
                for id in [token_vault_id, secrets_vault_id] {
                    let _ = self.vault.remove(id).await;
                }
                return Err(super::internal_error(error));
            }
        };
        self.audit_instance(caller, "instance.created", stored.id).await?;
        self.instance_view(stored, entry, token).await
    }

    async fn audit_instance(&self, caller: &Caller, action: &str, id: InstanceId) -> Result<(), HubError> {
        self.audit(caller.organization_id, format!("user:{}", caller.user_id), action, format!("instance:{id}")).await
    }

    async fn instance_view(
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
            trace_logging_enabled: false,
            caching_enabled: false,
            external_authentication: record.external_authentication,
            user: InstanceUser {
                id: user.id,
                email_address: user.email_address,
                first_name: user.first_name,
                last_name: user.last_name,
            },
            health,
            objects: record.objects,
        })
    }

    /// Sets the `tether_instances{state}` gauges: how many instances, across all organizations, are in each state.
    pub async fn publish_health_metrics(&self) -> Result<(), HubError> {
        let mut counts: BTreeMap<&'static str, f64> = BTreeMap::new();
        for state in HealthState::ALL {
            counts.insert(state.as_str(), 0.0);
        }
        self.store
            .visit_all_instances(|record| *counts.entry(self.health_of(record).state.as_str()).or_default() += 1.0)
            .await
            .or_internal()?;
        for (state, count) in counts {
            metrics::gauge!("tether_instances", "state" => state).set(count);
        }
        Ok(())
    }

    fn health_of(&self, record: &InstanceRecord) -> InstanceHealth {
        let state = if record.disabled {
            HealthState::Disabled
        } else if !record.valid {
            HealthState::Invalid
        } else if record.refresh_failures > 0 {
            HealthState::RefreshFailing
        } else if super::tokens::expires_within(record, self.settings.refresh_margin) {
            HealthState::Expiring
        } else {
            HealthState::Valid
        };
        let time = |millis: Option<i64>| millis.map(crate::store::from_millis);
        InstanceHealth {
            state,
            access_token_expires_at: super::tokens::access_token_expiry(record),
            last_refreshed_at: time(record.last_refreshed_at),
            last_error: record.last_error.clone(),
            last_error_at: time(record.last_error_at),
            failed_refreshes: record.refresh_failures,
        }
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

    async fn view_of(
        &self,
        caller: &Caller,
        record: InstanceRecord,
        entry: &CatalogEntry,
    ) -> Result<Instance, HubError> {
        let token = self.vault.read(record.token_vault_id, &format!("user:{}", caller.user_id)).await.or_internal()?;
        self.instance_view(record, entry, token).await
    }

    pub(super) async fn read_instance(&self, caller: &Caller, target: &InstanceTarget) -> Result<Instance, HubError> {
        let (record, entry) = self.target_instance(caller, target).await?;
        self.view_of(caller, record, &entry).await
    }

    pub(super) async fn list_visible_instances(
        &self,
        caller: &Caller,
        query: InstanceQuery,
    ) -> Result<Vec<Instance>, HubError> {
        let element = match &query.element {
            Some(key_or_id) => Some(self.visible_element(caller, key_or_id).await?.id),
            None => None,
        };
        if query.page_size > MAX_INSTANCE_PAGE {
            return Err(bad("pageSize", format!("at most {MAX_INSTANCE_PAGE}")));
        }
        let page_size = if query.page_size == 0 { DEFAULT_INSTANCE_PAGE } else { query.page_size } as usize;
        let skip = (query.page.max(1) as usize - 1) * page_size;
        let records = self
            .store
            .instances_page(caller.organization_id, element, &query.tags, skip, page_size)
            .await
            .or_internal()?;
        let mut instances = Vec::with_capacity(records.len());
        let actor = format!("user:{}", caller.user_id);
        for record in records {
            let entry = self.visible_element_by_id(caller.organization_id, record.element_id).await?;
            let token = match self.vault.read(record.token_vault_id, &actor).await {
                Ok(token) => token,
                // Deleted while this page was read: its secrets went first, and so does it from the page.
                Err(crate::vault::VaultError::NotFound(_)) => continue,
                Err(error) => return Err(super::internal_error(error)),
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
        let secrets =
            self.vault.read(record.secrets_vault_id, &format!("user:{}", caller.user_id)).await.or_internal()?;
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

    /// Writes a changed instance and its secrets, and answers it.
    async fn store_changes(
        &self,
        caller: &Caller,
        mut record: InstanceRecord,
        entry: &CatalogEntry,
        split: Option<SplitConfiguration>,
        action: &str,
    ) -> Result<Instance, HubError> {
        match split {
            Some(split) => self.write_configuration(&mut record, split).await?,
            None => {
                if !self.save_instance(&record).await? {
                    return Err(HubError::NotFound(format!("No instance with id {}", record.id)));
                }
            }
        }
        self.audit_instance(caller, action, record.id).await?;
        self.view_of(caller, record, entry).await
    }

    /// New provider tokens for an existing instance: same id, same token, `valid` again.
    async fn reauthenticate(
        &self,
        caller: &Caller,
        mut record: InstanceRecord,
        entry: &CatalogEntry,
        grant: Grant,
        mut changes: BTreeMap<String, String>,
    ) -> Result<Instance, HubError> {
        let current = self.configuration_of(caller, &record).await?.values();
        let (event_values, event_settings) =
            self.merged_events(entry, &current, super::events::take_event_values(&mut changes)).await?;
        let definition = &*entry.definition;
        let mut given: BTreeMap<String, String> = current
            .into_iter()
            .filter(|(name, _)| {
                [key::CLIENT_ID, key::CLIENT_SECRET, key::CALLBACK_URL].contains(&name.as_str())
                    || definition.parameters.iter().any(|parameter| &parameter.key == name)
            })
            .collect();
        given.extend(changes);
        let mut split = self.authorize_oauth(caller, entry, grant, &given).await?;
        split.events(&event_values, event_settings.as_ref());
        record.valid = true;
        // New tokens end a failure streak, and lift a disabling that the streak caused.
        record.disabled &= record.notified_state != NotifiedState::Disabled;
        record.refresh_failures = 0;
        record.refresh_retry_at = None;
        let announced = record.clone();
        let instance = self.store_changes(caller, record, entry, Some(split), "instance.reauthenticated").await?;
        self.sync_poller(entry, instance.id, &instance.configuration).await?;
        self.announce_if_working(&announced, entry).await?;
        Ok(instance)
    }

    pub(super) async fn patch_instance(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        patch: InstancePatch,
    ) -> Result<Instance, HubError> {
        let (mut record, entry) = self.target_instance(caller, target).await?;
        if let Some(reference) = &patch.element {
            let named = reference.key.clone().or(reference.id.map(|id| id.to_string()));
            if named.is_some_and(|named| !entry.is_named(&named)) {
                return Err(bad("element", format!("instance {} is of element {}", record.id, entry.definition.key)));
            }
        }
        if patch.name.is_none()
            && patch.tags.is_none()
            && patch.configuration.is_none()
            && patch.provider_data.as_ref().is_none_or(|data| data.code.is_none())
        {
            return Err(bad("body", "nothing to change; send name, tags, configuration or providerData.code"));
        }
        if let Some(name) = &patch.name {
            record.name = validate::required_name("name", name, 200)?;
        }
        if let Some(tags) = &patch.tags {
            record.tags = validate_tags(tags)?;
        }
        let mut changes = configuration_text(patch.configuration.unwrap_or_default())?;
        if let Some(code) = patch.provider_data.as_ref().and_then(|data| data.code.clone()) {
            oauth_settings(&entry)?;
            let state = patch.provider_data.and_then(|data| data.state);
            return self.reauthenticate(caller, record, &entry, Grant::Code { code, state }, changes).await;
        }
        let event_changes = super::events::take_event_values(&mut changes);
        let mut split = if changes.is_empty() {
            None
        } else {
            Some(self.changed_parameters(caller, &record, &entry, changes).await?)
        };
        if event_changes.is_empty() {
            return self.store_changes(caller, record, &entry, split, "instance.updated").await;
        }
        let mut with_events = match split.take() {
            Some(split) => split,
            None => self.configuration_of(caller, &record).await?,
        };
        let (event_values, event_settings) = self.merged_events(&entry, &with_events.values(), event_changes).await?;
        with_events.events(&event_values, event_settings.as_ref());
        let instance = self.store_changes(caller, record, &entry, Some(with_events), "instance.updated").await?;
        self.sync_poller(&entry, instance.id, &instance.configuration).await?;
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
        for key in changes.keys() {
            if definition.parameters.iter().any(|parameter| &parameter.key == key) {
                continue;
            }
            let problem = if key.starts_with("oauth.") {
                "changes only by re-authenticating: send it with providerData.code".to_owned()
            } else {
                format!("is not a setting of element {}", definition.key)
            };
            return Err(bad(&format!("configuration.{key}"), problem));
        }
        let mut split = self.configuration_of(caller, record).await?;
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

    pub(super) async fn change_instance_enabled(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        enabled: bool,
    ) -> Result<Instance, HubError> {
        let (mut record, entry) = match target {
            // Enabling must reach a disabled instance, which its own token cannot name.
            InstanceTarget::Token(_) if enabled => {
                return Err(bad("instance", "enable a disabled instance through /instances/{id}/enabled"));
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
        let action = if enabled { "instance.enabled" } else { "instance.disabled" };
        let instance = self.store_changes(caller, record, &entry, None, action).await?;
        self.announce_if_working(&announced, &entry).await?;
        Ok(instance)
    }

    /// Tells the organization an instance it was warned about works again, once it is enabled and valid.
    async fn announce_if_working(&self, record: &InstanceRecord, entry: &CatalogEntry) -> Result<(), HubError> {
        if record.disabled || !record.valid {
            return Ok(());
        }
        self.announce(record, &entry.definition.key, NotifiedState::Ok, "").await
    }

    pub(super) async fn remove_instance(&self, caller: &Caller, target: &InstanceTarget) -> Result<(), HubError> {
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
        self.audit_instance(caller, "instance.deleted", record.id).await
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

    pub(super) async fn configuration_items(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
    ) -> Result<Vec<InstanceConfigurationItem>, HubError> {
        let (record, entry) = self.target_instance(caller, target).await?;
        let names: BTreeMap<String, String> =
            entry.to_element().configuration.into_iter().map(|item| (item.key, item.name)).collect();
        Ok(record
            .configuration
            .into_iter()
            .map(|(key, value)| InstanceConfigurationItem {
                id: configuration_item_id(&key),
                name: names.get(&key).cloned().unwrap_or_else(|| key.clone()),
                secret: value == MASK,
                property_value: value,
                key,
            })
            .collect())
    }

    /// Changes one configuration value, named by its item id or its key.
    pub(super) async fn change_configuration_item(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        item: &str,
        value: Value,
    ) -> Result<InstanceConfigurationItem, HubError> {
        let items = self.configuration_items(caller, target).await?;
        let found = find_configuration_item(&items, item)?;
        let value = value_text(&found.key, value)?;
        let patch = InstancePatch {
            configuration: Some(BTreeMap::from([(found.key.clone(), Value::String(value))])),
            ..InstancePatch::default()
        };
        let instance = self.patch_instance(caller, target, patch).await?;
        let property_value = instance.configuration.get(&found.key).cloned().unwrap_or_default();
        Ok(InstanceConfigurationItem { property_value, ..found.clone() })
    }

    /// Completes the console's authorization: checks the flow is this session's and unused, then creates or
    /// re-authenticates the instance.
    pub(super) async fn complete_console_flow(
        &self,
        caller: &Caller,
        session: &SecretString,
        callback: OAuthCallback,
    ) -> Result<InstanceId, HubError> {
        const EXPIRED: &str = "This authorization has expired or was already completed; start it again";
        let state = callback.state.filter(|state| !state.is_empty()).ok_or_else(|| bad("state", "missing"))?;
        let state_hash = secrets::digest(&SecretString::from(state));
        let flow = self
            .store
            .pending_oauth_flow(caller.organization_id, &state_hash)
            .await
            .or_internal()?
            .ok_or_else(|| HubError::BadRequest(EXPIRED.into()))?;
        let sealed = self.vault.unseal(&flow.sealed).await.or_internal()?;
        let sealed: SealedFlow = serde_json::from_str(sealed.expose_secret()).or_internal()?;
        let pending: ConsolePending = match sealed.console {
            Some(pending) if pending.session_hash == secrets::digest(session) => pending,
            _ => return Err(HubError::BadRequest(EXPIRED.into())),
        };
        // Used once, whatever happens next.
        self.store.delete_oauth_flows(caller.organization_id, &state_hash).await.or_internal()?;
        if let Some(error) = callback.error {
            let detail = callback.error_description.map(|text| format!(": {text}")).unwrap_or_default();
            let message = if error == "access_denied" {
                format!("Access was denied at the provider ({error}{detail}); no instance was created")
            } else {
                format!("The provider did not authorize ({error}{detail})")
            };
            return Err(HubError::BadRequest(message));
        }
        let entry = self.visible_element_by_id(caller.organization_id, flow.element_id).await?;
        let oauth = oauth_settings(&entry)?;
        if let (Some(expected), Some(named)) = (&oauth.issuer, &callback.iss)
            && expected != named
        {
            return Err(bad("iss", format!("the redirect names issuer {named}, not the element's {expected}")));
        }
        let code = SecretString::from(callback.code.ok_or_else(|| bad("code", "missing from the redirect"))?);
        let grant = Grant::CheckedCode { code, verifier: sealed.verifier, parameters: sealed.parameters };
        match pending.instance {
            Some(id) => {
                let (record, entry) = self.target_instance(caller, &InstanceTarget::Id(id)).await?;
                Ok(self.reauthenticate(caller, record, &entry, grant, pending.configuration).await?.id)
            }
            None => {
                let mut given = pending.configuration;
                let events =
                    self.merged_events(&entry, &BTreeMap::new(), super::events::take_event_values(&mut given)).await?;
                let split = self.authorize_oauth(caller, &entry, grant, &given).await?;
                let names = (pending.name, pending.tags);
                let created = self.insert_with_events(caller, &entry, names, split, events, Vec::new(), "none".into());
                Ok(created.await?.id)
            }
        }
    }
}
