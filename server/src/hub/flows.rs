//! Pending OAuth flows, between the authorization URL and the provider's redirect: what a flow keeps sealed, who
//! may complete it, where it is remembered, the checks that it is completed with the OAuth app it was started
//! with, and the authorization URL's own query parameters.

use super::configuration::{element_reads, required};
use super::errors::OrInternal;
use super::service::HubService;
use super::templates::fill;
use crate::catalog::CatalogEntry;
use crate::providers::token_client::{ClientCredentials, with_element_parameters};
use crate::security::secrets;
use crate::store::oauth_flows::StoredFlow;
use app::catalog::ElementDefinition;
use app::error::HubError;
use app::hub::Caller;
use app::instances::InstanceId;
use app::instances::credential_keys as key;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long a pending flow waits for its code (or an OAuth 1.0a flow for its verifier).
pub const FLOW_LIFETIME_MINUTES: i64 = 10;

/// What a flow keeps encrypted until the code exchange.
#[derive(Serialize, Deserialize)]
pub struct SealedFlow {
    /// The PKCE code verifier, when the flow uses PKCE.
    pub verifier: Option<String>,
    /// The element parameter values the URL was made with.
    pub parameters: BTreeMap<String, String>,
    /// Set for the console's own flow.
    #[serde(default)]
    pub console: Option<ConsolePending>,
    /// Set for a connect session's flow.
    #[serde(default)]
    pub connect: Option<ConnectPending>,
    /// An OAuth 1.0a flow's request token secret, which signs the exchange for the access token.
    #[serde(default)]
    pub request_token_secret: Option<String>,
}

/// Who started a flow, and so who may complete it.
pub enum FlowOwner {
    /// A client of the REST API, which completes it with `POST /instances`.
    Api,
    /// The console, on its `/oauth/callback` page.
    Console(ConsolePending),
    /// A connect session's end user, on the same callback path.
    Connect(ConnectPending),
}

impl FlowOwner {
    /// What the flow seals for its owner: the console's or the connect session's pending values, if either.
    pub fn into_pending(self) -> (Option<ConsolePending>, Option<ConnectPending>) {
        match self {
            FlowOwner::Api => (None, None),
            FlowOwner::Console(pending) => (Some(pending), None),
            FlowOwner::Connect(pending) => (None, Some(pending)),
        }
    }
}

/// What a connect session's flow carries to its callback.
#[derive(Serialize, Deserialize)]
pub struct ConnectPending {
    pub session_id: String,
    /// The session's token, to send the end user back to its page; sealed with the rest of the flow.
    pub token: String,
    /// The origin of the team's page that opened the connect page in a popup, to tell it the outcome.
    pub popup_origin: Option<String>,
}

/// The start of a connect flow's state: the callback tells such a redirect from the console's by it.
pub const CONNECT_STATE_PREFIX: &str = "connect-";

/// What the console's flow carries to its callback: whose session started it, and the instance to make.
#[derive(Serialize, Deserialize)]
pub struct ConsolePending {
    /// The digest of the console session that started the flow; only that session may complete it.
    pub session_hash: String,
    /// The instance to re-authenticate, or none to create one.
    pub instance: Option<InstanceId>,
    pub name: String,
    pub tags: Vec<String>,
    /// The OAuth app and parameter values, by configuration key.
    pub configuration: BTreeMap<String, String>,
}

pub(super) fn callback_url_problem(callback_url: &str) -> Option<&'static str> {
    match url::Url::parse(callback_url) {
        Ok(parsed) if matches!(parsed.scheme(), "https" | "http") && parsed.fragment().is_none() => None,
        _ => Some("must be an absolute http(s) URL without a fragment"),
    }
}

/// Checks that a flow is completed with the OAuth app (and, when given, the callback URL) it was started with.
pub(super) fn check_flow_client(
    flow: &StoredFlow,
    client: &ClientCredentials,
    callback_url: Option<&str>,
) -> Result<(), HubError> {
    if flow.client_id != client.id {
        return Err(HubError::invalid(
            "configuration.oauth.api.key",
            "differs from the apiKey the authorization URL was made with",
        ));
    }
    if flow.client_secret_hash != secrets::digest(&client.secret) {
        return Err(HubError::invalid(
            "configuration.oauth.api.secret",
            "differs from the apiSecret the authorization URL was made with",
        ));
    }
    if callback_url.is_some_and(|callback_url| flow.callback_url != callback_url) {
        return Err(HubError::invalid(
            "configuration.oauth.callback.url",
            "differs from the callbackUrl the authorization URL was made with",
        ));
    }
    Ok(())
}

/// Refuses configuration keys that are neither OAuth settings nor the element's parameters.
fn refuse_unknown_oauth_settings(
    definition: &ElementDefinition,
    given: &BTreeMap<String, String>,
) -> Result<(), HubError> {
    match given.keys().find(|key| !element_reads(definition, key)) {
        Some(unknown) => Err(HubError::invalid(
            &format!("configuration.{unknown}"),
            format!("is not a setting of element {}", definition.key),
        )),
        None => Ok(()),
    }
}
/// The OAuth client a configuration names, once its keys are all known to the element.
pub(super) fn given_client(
    definition: &ElementDefinition,
    given: &BTreeMap<String, String>,
) -> Result<ClientCredentials, HubError> {
    refuse_unknown_oauth_settings(definition, given)?;
    Ok(ClientCredentials {
        id: required(given, key::CLIENT_ID, "the OAuth client id")?,
        secret: SecretString::from(required(given, key::CLIENT_SECRET, "the OAuth client secret")?),
    })
}
/// The query of an authorization URL: the standard parameters, then the element's own (`authorizationParams`),
/// each filled from `filling`; an element's parameter replaces a standard one of the same name, and an empty
/// `scope` is left out.
pub(super) fn authorization_parameters<'a>(
    oauth: &'a app::catalog::OAuthSettings,
    mut standard: Vec<(&'a str, String)>,
    filling: &BTreeMap<String, String>,
) -> Result<Vec<(&'a str, String)>, HubError> {
    let mut element = Vec::with_capacity(oauth.authorization_params.len());
    for (name, template) in &oauth.authorization_params {
        element.push((name.as_str(), fill(&format!("oauth.authorizationParams.{name}"), template, filling)?));
    }
    with_element_parameters(&mut standard, element);
    standard.retain(|(name, value)| !(*name == "scope" && value.is_empty()));
    Ok(standard)
}

impl HubService {
    /// Stores a pending flow, found again by `state` (an OAuth 1.0a flow's by its request token), for
    /// [`FLOW_LIFETIME_MINUTES`].
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn remember_flow(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        state: &str,
        client: &ClientCredentials,
        callback_url: String,
        pkce: bool,
        sealed: &SealedFlow,
    ) -> Result<(), HubError> {
        let sealed = SecretString::from(serde_json::to_string(sealed).or_internal()?);
        let flow = StoredFlow {
            organization_id: caller.organization_id,
            element_id: entry.id,
            state_hash: secrets::digest(&SecretString::from(state.to_owned())),
            client_id: client.id.clone(),
            client_secret_hash: secrets::digest(&client.secret),
            callback_url,
            pkce,
            sealed: self.vault.seal(&sealed).or_internal()?,
            expires_at: (chrono::Utc::now() + chrono::Duration::minutes(FLOW_LIFETIME_MINUTES)).timestamp_millis(),
            completed_instance_id: None,
        };
        self.store.insert_oauth_flow(&flow).await.or_internal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::catalog::AuthType;

    /// Every built-in OAuth 2.0 element's authorization URL names each parameter once, and has the ones every
    /// provider needs; no element carries a copy of a standard parameter.
    #[test]
    fn every_built_in_authorization_url_names_each_parameter_once() {
        let definitions = crate::catalog::built_in().expect("the built-in catalog loads");
        let mut checked = 0;
        for definition in definitions.iter().filter(|definition| definition.auth == AuthType::OAuth2) {
            let Some(oauth) = &definition.oauth else { continue };
            let mut filling: BTreeMap<String, String> =
                definition.parameters.iter().map(|parameter| (parameter.key.clone(), "value".to_owned())).collect();
            filling.insert("clientId".into(), "client".into());
            let standard = vec![
                ("response_type", "code".to_owned()),
                ("client_id", "client".to_owned()),
                ("redirect_uri", "https://app.example/callback".to_owned()),
                ("scope", oauth.scopes.join(&oauth.scope_separator)),
                ("state", "state".to_owned()),
            ];
            // An element's own parameter of a standard name is there to change its value, never to repeat it.
            for (name, template) in &oauth.authorization_params {
                let value = fill(name, template, &filling).unwrap();
                let repeated = standard.iter().any(|(standard, given)| standard == name && *given == value);
                assert!(!repeated, "{}: authorizationParams repeats {name}={value}", definition.key);
            }
            let parameters = authorization_parameters(oauth, standard, &filling)
                .unwrap_or_else(|error| panic!("{}: {error}", definition.key));
            let mut names: Vec<&str> = parameters.iter().map(|(name, _)| *name).collect();
            names.sort_unstable();
            let count = names.len();
            names.dedup();
            assert_eq!(names.len(), count, "{}: a parameter named twice in {parameters:?}", definition.key);
            for required in ["response_type", "client_id", "redirect_uri", "state"] {
                assert!(names.contains(&required), "{}: no {required}", definition.key);
            }
            checked += 1;
        }
        assert!(checked >= 290, "only {checked} OAuth 2.0 elements checked");
    }

    #[test]
    fn an_element_parameter_replaces_the_standard_one_of_its_name() {
        let mut standard = vec![("response_type", "code".to_owned()), ("client_id", "c".to_owned())];
        with_element_parameters(
            &mut standard,
            [("response_type", "code id_token".to_owned()), ("prompt", "consent".to_owned())],
        );
        assert_eq!(
            standard,
            [
                ("response_type", "code id_token".to_owned()),
                ("client_id", "c".to_owned()),
                ("prompt", "consent".to_owned())
            ]
        );
    }
}
