//! The hub's element instances: creating one (exchanging an OAuth code, or taking basic, API-key and custom
//! parameters) and reading it back in the Cloud Elements shape.

use super::oauth::{SealedFlow, resolve_parameters};
use super::{HubService, OrInternal};
use crate::catalog::CatalogEntry;
use crate::secrets;
use crate::store::instances::InstanceRecord;
use crate::store::oauth_flows::StoredFlow;
use crate::token_client::{ClientCredentials, TokenEndpoint, TokenError, TokenSet};
use crate::validate;
use app::catalog::{AuthType, OAuthSettings, Template};
use app::error::HubError;
use app::instances::{Instance, InstanceId, InstanceUser, MASK, NewInstance};
use app::service::Caller;
use app::types::RevealedSecret;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::collections::BTreeMap;

fn bad(field: &str, problem: impl std::fmt::Display) -> HubError {
    HubError::BadRequest(format!("{field}: {problem}"))
}

/// The OAuth configuration keys an instance takes, besides the element's own parameters.
const OAUTH_KEYS: [&str; 5] =
    ["oauth.api.key", "oauth.api.secret", "oauth.callback.url", "oauth.scope", "oauth.user.refresh_token"];

/// A provider's failure as the API answers it: refusals are the caller's to fix (400), the rest are 502.
fn provider_error(error: TokenError) -> HubError {
    let (status, provider_message) = match &error {
        TokenError::InvalidGrant { .. } | TokenError::Rejected { .. } => (400, error.to_string()),
        TokenError::Transient { .. } | TokenError::Malformed(_) => (502, error.to_string()),
    };
    HubError::Provider { status, message: "The provider refused the authorization".into(), provider_message }
}

/// Configuration values as text: strings, numbers and booleans are accepted.
fn configuration_text(configuration: BTreeMap<String, Value>) -> Result<BTreeMap<String, String>, HubError> {
    configuration
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok((key, text)),
            Value::Number(number) => Ok((key, number.to_string())),
            Value::Bool(flag) => Ok((key, flag.to_string())),
            _ => Err(bad(&format!("configuration.{key}"), "must be a string, number or boolean")),
        })
        .collect()
}

/// The configuration as stored and answered (secrets masked), and the secret values for the vault.
#[derive(Default)]
struct SplitConfiguration {
    shown: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
}

impl SplitConfiguration {
    fn plain(&mut self, key: &str, value: String) {
        self.shown.insert(key.to_owned(), value);
    }

    fn secret(&mut self, key: &str, value: &SecretString) {
        self.shown.insert(key.to_owned(), MASK.to_owned());
        self.secrets.insert(key.to_owned(), value.expose_secret().to_owned());
    }
}

fn required(values: &BTreeMap<String, String>, key: &str, what: &str) -> Result<String, HubError> {
    values
        .get(key)
        .filter(|value| !value.trim().is_empty())
        .cloned()
        .ok_or_else(|| bad(&format!("configuration.{key}"), format!("required: {what}")))
}

fn fill(field: &str, template: &Template, values: &BTreeMap<String, String>) -> Result<String, HubError> {
    template
        .fill(|name| values.get(name).cloned())
        .ok_or_else(|| bad(field, "needs parameters the instance does not have"))
}

fn token_endpoint(oauth: &OAuthSettings, values: &BTreeMap<String, String>) -> Result<TokenEndpoint, HubError> {
    let extra = oauth
        .token_params
        .iter()
        .map(|(name, template)| Ok((name.clone(), fill(&format!("oauth.tokenParams.{name}"), template, values)?)))
        .collect::<Result<_, HubError>>()?;
    Ok(TokenEndpoint {
        url: fill("oauth.tokenUrl", &oauth.token_url, values)?,
        auth: oauth.token_auth,
        body: oauth.token_body,
        extra,
    })
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

    /// Gets the tokens of a new OAuth 2.0 instance, and fills its configuration.
    async fn authorize_oauth_instance(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        new: &NewInstance,
        given: &BTreeMap<String, String>,
        split: &mut SplitConfiguration,
    ) -> Result<(), HubError> {
        let oauth = entry.definition.oauth.as_ref().ok_or(HubError::Internal)?;
        let initial = new.external_authentication.as_deref() == Some("initial");
        let client = ClientCredentials {
            id: required(given, "oauth.api.key", "the OAuth client id")?,
            secret: SecretString::from(required(given, "oauth.api.secret", "the OAuth client secret")?),
        };
        let mut parameters: BTreeMap<String, String> = given
            .iter()
            .filter(|(key, _)| !OAUTH_KEYS.contains(&key.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let tokens: TokenSet = if initial {
            let refresh_token =
                SecretString::from(required(given, "oauth.user.refresh_token", "the refresh token to provision from")?);
            let values = resolve_parameters(&entry.definition, &parameters)?;
            let endpoint = token_endpoint(oauth, &values)?;
            self.token_client
                .refresh(&endpoint, &client, &refresh_token, &oauth.capture)
                .await
                .map_err(provider_error)?
        } else {
            let code = new
                .provider_data
                .code
                .clone()
                .ok_or_else(|| bad("providerData.code", "required: the code the provider sent to the callback"))?;
            let callback_url = required(given, "oauth.callback.url", "the redirect URI")?;
            let flow =
                self.matching_flow(caller, entry, new.provider_data.state.as_deref(), &client, &callback_url).await?;
            let verifier = match &flow {
                Some((stored, sealed)) => {
                    for (key, value) in &sealed.parameters {
                        parameters.entry(key.clone()).or_insert_with(|| value.clone());
                    }
                    if stored.pkce {
                        // A PKCE flow is single-use: its code is exchanged once, whatever the outcome.
                        self.store
                            .delete_oauth_flows(caller.organization_id, &stored.state_hash)
                            .await
                            .or_internal()?;
                    }
                    sealed.verifier.clone().map(SecretString::from)
                }
                None => None,
            };
            let values = resolve_parameters(&entry.definition, &parameters)?;
            let endpoint = token_endpoint(oauth, &values)?;
            split.plain("oauth.callback.url", callback_url.clone());
            self.token_client
                .exchange_code(&endpoint, &client, &code, &callback_url, verifier.as_ref(), &oauth.capture)
                .await
                .map_err(provider_error)?
        };
        let values = resolve_parameters(&entry.definition, &parameters)?;
        for parameter in &entry.definition.parameters {
            if let Some(value) = values.get(&parameter.key) {
                if parameter.secret {
                    split.secret(&parameter.key, &SecretString::from(value.clone()));
                } else {
                    split.plain(&parameter.key, value.clone());
                }
            }
        }
        split.plain("oauth.api.key", client.id.clone());
        split.secret("oauth.api.secret", &client.secret);
        split.plain("oauth.scope", tokens.scope.clone().unwrap_or_else(|| oauth.scopes.join(&oauth.scope_separator)));
        split.secret("oauth.user.token", &tokens.access_token);
        let refresh = tokens
            .refresh_token
            .clone()
            .or_else(|| initial.then(|| SecretString::from(given["oauth.user.refresh_token"].clone())));
        if let Some(refresh) = &refresh {
            split.secret("oauth.user.refresh_token", refresh);
        }
        if let Some(expires_at) = tokens.expires_at {
            split.plain("oauth.user.token.expires_at", expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        for (field, value) in &tokens.captured {
            split.plain(field, value.clone());
        }
        Ok(())
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
        for (index, tag) in new.tags.iter().enumerate() {
            validate::required_name(&format!("tags[{index}]"), tag, 64)?;
        }
        let external = new.external_authentication.clone().unwrap_or_else(|| "none".into());
        if !matches!(external.as_str(), "none" | "initial") {
            return Err(bad("externalAuthentication", "must be none or initial"));
        }
        let given = configuration_text(new.configuration.clone())?;
        let definition = &*entry.definition;
        let mut split = SplitConfiguration::default();
        match (definition.auth, &definition.oauth) {
            (AuthType::OAuth2, Some(_)) => {
                if let Some(unknown) = given.keys().find(|key| {
                    !OAUTH_KEYS.contains(&key.as_str()) && !definition.parameters.iter().any(|p| &p.key == *key)
                }) {
                    return Err(bad(
                        &format!("configuration.{unknown}"),
                        format!("is not a setting of element {}", definition.key),
                    ));
                }
                self.authorize_oauth_instance(caller, &entry, &new, &given, &mut split).await?;
            }
            (AuthType::OAuth1, _) | (AuthType::OAuth2, None) => {
                return Err(bad(
                    "element",
                    format!("{} uses an authentication Tether cannot perform yet", definition.key),
                ));
            }
            _ => {
                if external == "initial" {
                    return Err(bad("externalAuthentication", "initial needs an OAuth 2.0 element"));
                }
                let values = resolve_parameters(definition, &given)?;
                for parameter in &definition.parameters {
                    match values.get(&parameter.key) {
                        Some(value) if parameter.secret => {
                            split.secret(&parameter.key, &SecretString::from(value.clone()))
                        }
                        Some(value) => split.plain(&parameter.key, value.clone()),
                        None if parameter.required => {
                            return Err(bad(&format!("configuration.{}", parameter.key), "required"));
                        }
                        None => {}
                    }
                }
            }
        }

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
            tags: new.tags.clone(),
            objects: if new.retrieve_objects_after_instantiation { definition.objects.clone() } else { Vec::new() },
            valid: true,
            disabled: false,
            external_authentication: external,
            created_at: 0,
        };
        let stored = self.store.insert_instance(&record).await.or_internal()?;
        self.audit(
            caller.organization_id,
            format!("user:{}", caller.user_id),
            "instance.created",
            format!("instance:{}", stored.id),
        )
        .await?;
        self.instance_view(stored, &entry, token).await
    }

    async fn instance_view(
        &self,
        record: InstanceRecord,
        entry: &CatalogEntry,
        token: SecretString,
    ) -> Result<Instance, HubError> {
        let user = self.store.user(record.user_id).await.or_internal()?.ok_or(HubError::Internal)?;
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
            events_enabled: false,
            trace_logging_enabled: false,
            caching_enabled: false,
            external_authentication: record.external_authentication,
            user: InstanceUser {
                id: user.id,
                email_address: user.email_address,
                first_name: user.first_name,
                last_name: user.last_name,
            },
            objects: record.objects,
        })
    }

    pub(super) async fn read_instance(&self, caller: &Caller, id: InstanceId) -> Result<Instance, HubError> {
        let not_found = || HubError::NotFound(format!("No instance with id {id}"));
        let record = self.store.instance(caller.organization_id, id).await.or_internal()?.ok_or_else(not_found)?;
        let entry = self.visible_element(caller, &record.element_id.to_string()).await?;
        let token = self.vault.read(record.token_vault_id, &format!("user:{}", caller.user_id)).await.or_internal()?;
        self.instance_view(record, &entry, token).await
    }
}
