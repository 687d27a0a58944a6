//! OAuth 1.0a (RFC 5849) as Cloud Elements' clients run it: a request token for the consumer key and callback
//! (`GET /elements/{keyOrId}/oauth/token`, or taken by `oauth/url` itself), the provider's authorization URL for
//! it, and, when the instance is created, the access token that the request token and the user's verifier are
//! exchanged for (`providerData.oauth_token` and `oauth_verifier`, with `secret` when Tether did not get the
//! request token itself). The instance's calls are then signed (`providers::request_signing`).

use super::configuration::{OAUTH_KEYS, SplitConfiguration, resolve_parameters};
use super::errors::OrInternal;
use super::flows::{CONNECT_STATE_PREFIX, FlowOwner, SealedFlow, authorization_parameters};
use super::flows::{check_flow_client, given_client};
use super::service::HubService;
use super::templates::fill_url;
use super::token_endpoints::provider_error;
use crate::catalog::CatalogEntry;
use crate::providers::token_client::{ClientCredentials, OAuth1Step};
use crate::security::secrets;
use app::catalog::{AuthType, OAuthSettings};
use app::error::HubError;
use app::hub::Caller;
use app::instances::credential_keys as key;
use app::instances::{OAuthCallback, ProviderData};
use app::oauth::{AuthorizationUrl, RequestToken};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;

/// What an OAuth 1.0a flow starts from: the consumer, the callback, the element's parameter values, the scope
/// asked for, and who completes the flow.
pub(super) struct Oauth1Start {
    pub client: ClientCredentials,
    pub callback_url: String,
    pub values: BTreeMap<String, String>,
    pub scope: Option<String>,
    pub owner: FlowOwner,
}

fn oauth1_settings(entry: &CatalogEntry) -> Result<&OAuthSettings, HubError> {
    match (entry.definition.auth, &entry.definition.oauth) {
        (AuthType::OAuth1, Some(oauth)) => Ok(oauth),
        _ => {
            Err(HubError::invalid("element", format!("{} does not authenticate with OAuth 1.0a", entry.definition.key)))
        }
    }
}

/// What the provider's redirect to the callback carried, to exchange for the access token: the request token and
/// the verifier, and where the request token's secret comes from.
pub(super) struct VerifiedToken {
    pub token: String,
    pub verifier: String,
    pub secret: RequestTokenSecret,
}

/// Where a request token's secret comes from.
pub(super) enum RequestTokenSecret {
    /// Tether's own flow for the token, already claimed (the console's and a connect session's): its secret and
    /// the element parameter values it was started with.
    Claimed { secret: String, parameters: BTreeMap<String, String> },
    /// A REST client's: the flow Tether remembers for the token, else `providerData.secret`.
    Remembered { given: Option<String> },
}

impl VerifiedToken {
    /// The token and verifier the provider sent to the callback of Tether's own flow, already claimed.
    pub(super) fn claimed(
        callback: &OAuthCallback,
        secret: String,
        parameters: BTreeMap<String, String>,
    ) -> Result<VerifiedToken, HubError> {
        let present = |value: &Option<String>| value.clone().filter(|text| !text.is_empty());
        let token = present(&callback.oauth_token)
            .ok_or_else(|| HubError::invalid("oauth_token", "missing from the redirect"))?;
        let verifier = present(&callback.oauth_verifier)
            .ok_or_else(|| HubError::invalid("oauth_verifier", "missing from the redirect"))?;
        Ok(VerifiedToken { token, verifier, secret: RequestTokenSecret::Claimed { secret, parameters } })
    }

    /// The token and verifier of a `providerData` (`oauth_token`, `oauth_verifier`, and `secret` when given).
    pub(super) fn of(provider_data: &ProviderData) -> Result<VerifiedToken, HubError> {
        let token = provider_text(provider_data, "oauth_token").ok_or_else(|| {
            HubError::invalid("providerData.oauth_token", "required: the oauth_token the provider sent to the callback")
        })?;
        let verifier = provider_text(provider_data, "oauth_verifier").ok_or_else(|| {
            HubError::invalid(
                "providerData.oauth_verifier",
                "required: the oauth_verifier the provider sent to the callback",
            )
        })?;
        let given = provider_text(provider_data, "secret");
        Ok(VerifiedToken { token, verifier, secret: RequestTokenSecret::Remembered { given } })
    }
}

/// A non-empty text field of `providerData`.
fn provider_text(provider_data: &ProviderData, name: &str) -> Option<String> {
    provider_data
        .other_fields
        .get(name)
        .and_then(|value| value.as_str())
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

impl HubService {
    /// The provider's authorization URL for a request token: the given one, or one Tether gets now and remembers,
    /// with its secret sealed, until the verifier comes back.
    pub(super) async fn start_oauth1_flow(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        start: Oauth1Start,
        given_token: Option<String>,
    ) -> Result<(AuthorizationUrl, Option<RequestToken>), HubError> {
        let oauth = oauth1_settings(entry)?;
        let definition = &*entry.definition;
        let (token, issued) = match given_token.filter(|token| !token.trim().is_empty()) {
            Some(token) => (token, None),
            None => {
                let template = oauth.request_token_url.as_ref().ok_or(HubError::Internal)?;
                self.check_urls(entry, &start.values).await?;
                let url = fill_url("oauth.requestTokenUrl", template, &start.values, self.host_policy(entry))?;
                // A connect session's flow is found again by a state of its own, carried in the callback URL
                // (the provider adds its values to it), so that its callback is told from the console's.
                let (connect_state, callback_url) = match &start.owner {
                    FlowOwner::Connect(_) => {
                        let state = format!("{CONNECT_STATE_PREFIX}{}", secrets::generate_secret().expose_secret());
                        let mut callback = url::Url::parse(&start.callback_url).or_internal()?;
                        callback.query_pairs_mut().append_pair("state", &state);
                        (Some(state), callback.to_string())
                    }
                    _ => (None, start.callback_url.clone()),
                };
                let step = OAuth1Step { token: None, callback: Some(&callback_url), verifier: None };
                let tokens = self.token_client.oauth1_step(&url, &start.client, step).await.map_err(provider_error)?;
                let (console, connect) = start.owner.into_pending();
                let sealed = SealedFlow {
                    verifier: None,
                    parameters: start.values.clone(),
                    console,
                    connect,
                    request_token_secret: Some(tokens.secret.expose_secret().to_owned()),
                };
                let flow_key = connect_state.as_deref().unwrap_or(&tokens.token);
                self.remember_flow(caller, entry, flow_key, &start.client, callback_url, false, &sealed).await?;
                let issued =
                    RequestToken { token: tokens.token.clone(), secret: tokens.secret.expose_secret().to_owned() };
                (tokens.token, Some(issued))
            }
        };
        let mut filling = start.values.clone();
        filling.insert("clientId".into(), start.client.id.clone());
        let authorization_url = oauth.authorization_url.as_ref().ok_or(HubError::Internal)?;
        let mut url = fill_url("oauth.authorizationUrl", authorization_url, &filling, self.host_policy(entry))?;
        let scope = start.scope.unwrap_or_else(|| oauth.scopes.join(&oauth.scope_separator));
        let standard = vec![("oauth_token", token), ("scope", scope)];
        url.query_pairs_mut().extend_pairs(authorization_parameters(oauth, standard, &filling)?);
        Ok((AuthorizationUrl { oauth_url: url.to_string(), element: definition.key.clone() }, issued))
    }

    /// Exchanges the request token and the user's verifier for the access token and its secret, and fills the
    /// instance's configuration. A request token Tether got is used once, whatever the provider answers.
    pub(super) async fn authorize_oauth1(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        verified: VerifiedToken,
        given: &BTreeMap<String, String>,
    ) -> Result<SplitConfiguration, HubError> {
        let oauth = oauth1_settings(entry)?;
        let definition = &*entry.definition;
        let client = given_client(definition, given)?;
        let VerifiedToken { token, verifier, secret } = verified;
        let mut parameters: BTreeMap<String, String> = given
            .iter()
            .filter(|(name, _)| !OAUTH_KEYS.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let mut callback_url = given.get(key::CALLBACK_URL).cloned();
        let (secret, flow_parameters) = match secret {
            RequestTokenSecret::Claimed { secret, parameters } => (secret, parameters),
            RequestTokenSecret::Remembered { given: given_secret } => {
                let state_hash = secrets::digest(&SecretString::from(token.clone()));
                let flow = self.store.pending_oauth_flow(caller.organization_id, &state_hash).await.or_internal()?;
                match flow.filter(|flow| flow.element_id == entry.id) {
                    Some(flow) => {
                        check_flow_client(&flow, &client, callback_url.as_deref())?;
                        self.store.delete_oauth_flows(caller.organization_id, &flow.state_hash).await.or_internal()?;
                        let sealed = self.vault.unseal(&flow.sealed).await.or_internal()?;
                        let sealed: SealedFlow = serde_json::from_str(sealed.expose_secret()).or_internal()?;
                        callback_url.get_or_insert(flow.callback_url);
                        (sealed.request_token_secret.ok_or(HubError::Internal)?, sealed.parameters)
                    }
                    None => {
                        let secret = given_secret.ok_or_else(|| {
                            HubError::invalid(
                                "providerData.secret",
                                "required: the request token's secret, as GET /elements/{key}/oauth/token answered it",
                            )
                        })?;
                        (secret, BTreeMap::new())
                    }
                }
            }
        };
        for (name, value) in flow_parameters {
            parameters.entry(name).or_insert(value);
        }
        let values = resolve_parameters(definition, &parameters)?;
        self.check_urls(entry, &values).await?;
        let url = fill_url("oauth.tokenUrl", &oauth.token_url, &values, self.host_policy(entry))?;
        let secret = SecretString::from(secret);
        let step = OAuth1Step { token: Some((&token, &secret)), callback: None, verifier: Some(&verifier) };
        let access = self.token_client.oauth1_step(&url, &client, step).await.map_err(provider_error)?;
        let mut split = SplitConfiguration::default();
        split.parameters(definition, &values)?;
        split.store_client(&client);
        if let Some(callback_url) = callback_url {
            split.plain(key::CALLBACK_URL, callback_url);
        }
        split.secret(key::ACCESS_TOKEN, &SecretString::from(access.token));
        split.secret(key::TOKEN_SECRET, &access.secret);
        for name in &oauth.capture {
            if let Some(value) = access.other_fields.get(name) {
                split.plain(name, value.clone());
            }
        }
        Ok(split)
    }
}
