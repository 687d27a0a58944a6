//! Getting an OAuth 2.0 instance's first tokens: the code (or a given refresh token) exchanged at the element's
//! token endpoint, checked against the pending flow it belongs to, and the configuration it fills.

use super::configuration::SplitConfiguration;
use super::configuration::resolve_parameters;
use super::configuration::{OAUTH_KEYS, required};
use super::errors::OrInternal;
use super::flows::{SealedFlow, check_flow_client, given_client};
use super::service::HubService;
use super::token_endpoints::exchange_endpoint;
use super::token_endpoints::oauth_settings;
use super::token_endpoints::provider_error;
use super::token_endpoints::refresh_endpoint;
use super::token_endpoints::token_settings;
use crate::catalog::CatalogEntry;
use crate::providers::token_client::{ClientCredentials, TokenSet};
use crate::security::secrets;
use crate::store::oauth_flows::StoredFlow;
use app::error::HubError;
use app::hub::Caller;
use app::instances::credential_keys as key;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;

/// How an instance gets its provider tokens.
pub(super) enum Grant {
    /// A code from the API flow; its pending flow, if any, is found by `state` (or the element key).
    Code { code: SecretString, state: Option<String> },
    /// A code from the console flow, whose pending flow was already checked and used up.
    CheckedCode { code: SecretString, verifier: Option<String>, parameters: BTreeMap<String, String> },
    /// `externalAuthentication: initial`: the refresh token given in the configuration.
    RefreshToken,
    /// A client-credentials element's own grant, with the client id and secret in the configuration.
    ClientCredentials,
    /// OAuth 1.0a: the callback's request token and verifier, to exchange for the access token.
    OAuth1(super::oauth1::VerifiedToken),
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
                return Err(HubError::invalid(
                    "providerData.state",
                    "no pending authorization of this element has this state (it may have expired)",
                ));
            }
            (_, None) => return Ok(None),
        };
        check_flow_client(&flow, client, Some(callback_url))?;
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
    pub(super) async fn authorize_oauth(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        grant: Grant,
        given: &BTreeMap<String, String>,
    ) -> Result<SplitConfiguration, HubError> {
        let grant = match grant {
            Grant::ClientCredentials => return self.authorize_client(entry, given).await,
            Grant::OAuth1(verified) => return self.authorize_oauth1(caller, entry, verified, given).await,
            grant => grant,
        };
        let oauth = oauth_settings(entry)?;
        let definition = &*entry.definition;
        let client = given_client(definition, given)?;
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
            Grant::ClientCredentials | Grant::OAuth1(_) => return Err(HubError::Internal),
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

    /// Gets a client-credentials instance's first access token (RFC 6749 §4.4) with the client id and secret
    /// given, and fills its configuration; the provider's refusal stores nothing.
    pub(super) async fn authorize_client(
        &self,
        entry: &CatalogEntry,
        given: &BTreeMap<String, String>,
    ) -> Result<SplitConfiguration, HubError> {
        let oauth = token_settings(entry)?;
        let definition = &*entry.definition;
        let client = given_client(definition, given)?;
        let scope = given.get(key::SCOPE).cloned().unwrap_or_else(|| oauth.scopes.join(&oauth.scope_separator));
        let parameters: BTreeMap<String, String> = given
            .iter()
            .filter(|(name, _)| !OAUTH_KEYS.contains(&name.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let values = resolve_parameters(definition, &parameters)?;
        self.check_urls(entry, &values).await?;
        let endpoint = exchange_endpoint(oauth, &values, self.host_policy(entry))?;
        let tokens = self
            .token_client
            .client_credentials(&endpoint, &client, &scope, &oauth.capture)
            .await
            .map_err(provider_error)?;
        let mut split = SplitConfiguration::default();
        split.parameters(definition, &values)?;
        split.store_client(&client);
        split.plain(key::SCOPE, tokens.scope.clone().unwrap_or(scope));
        split.plain(key::GRANT_TYPE, key::CLIENT_CREDENTIALS_GRANT.to_owned());
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
}
