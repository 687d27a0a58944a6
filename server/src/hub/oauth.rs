//! The hub's OAuth 2.0 authorization step: the provider URL a user is sent to, the pending flow behind it, the
//! console's own flow, and the OAuth apps organizations save.

use super::templates::{fill, fill_url};
use super::{HubService, OrInternal};
use crate::catalog::CatalogEntry;
use crate::secrets;
use crate::store::oauth_apps::OAuthAppRecord;
use crate::store::oauth_flows::StoredFlow;
use crate::token_client::ClientCredentials;
use app::catalog::{AuthType, ElementDefinition};
use app::error::HubError;
use app::instances::credential_keys as key;
use app::instances::{
    ConsoleAuthentication, ConsoleNext, InstanceId, InstanceTarget, MASK, NewInstance, NewOAuthApp, OAuthApp,
};
use app::oauth::{AuthorizationRequest, AuthorizationUrl};
use app::service::Caller;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How long a pending flow waits for its code.
pub const FLOW_LIFETIME_MINUTES: i64 = 10;

fn bad(field: &str, problem: impl std::fmt::Display) -> HubError {
    HubError::BadRequest(format!("{field}: {problem}"))
}

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
}

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

/// The path of the console's OAuth redirect landing page.
pub const CONSOLE_CALLBACK_PATH: &str = "/oauth/callback";

fn callback_url_problem(callback_url: &str) -> Option<&'static str> {
    match url::Url::parse(callback_url) {
        Ok(parsed) if matches!(parsed.scheme(), "https" | "http") && parsed.fragment().is_none() => None,
        _ => Some("must be an absolute http(s) URL without a fragment"),
    }
}

/// The S256 challenge of a PKCE verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Checks parameter values against the element's definitions, and fills in defaults.
pub fn resolve_parameters(
    definition: &ElementDefinition,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, HubError> {
    if let Some(unknown) =
        given.keys().find(|key| !definition.parameters.iter().any(|parameter| &parameter.key == *key))
    {
        return Err(bad(unknown, format!("is not a parameter of element {}", definition.key)));
    }
    let mut values = BTreeMap::new();
    for parameter in &definition.parameters {
        let Some(value) = given.get(&parameter.key).cloned().or_else(|| parameter.default.clone()) else {
            continue;
        };
        if let Some(pattern) = &parameter.pattern {
            let matches =
                fancy_regex::Regex::new(pattern).ok().and_then(|regex| regex.is_match(&value).ok()).unwrap_or(false);
            if !matches {
                return Err(bad(&parameter.key, format!("does not match the pattern {pattern}")));
            }
        }
        if !parameter.options.is_empty() && !parameter.options.contains(&value) {
            return Err(bad(&parameter.key, format!("must be one of {}", parameter.options.join(", "))));
        }
        values.insert(parameter.key.clone(), value);
    }
    Ok(values)
}

impl HubService {
    pub(super) async fn build_authorization_url(
        &self,
        caller: &Caller,
        key_or_id: &str,
        mut request: AuthorizationRequest,
    ) -> Result<AuthorizationUrl, HubError> {
        let entry: CatalogEntry = self.visible_element(caller, key_or_id).await?;
        if request.client_id.is_none()
            && request.client_secret.is_none()
            && let Some((client, callback_url)) = self.saved_oauth_client(caller, &entry).await?
        {
            request.client_id = Some(client.id);
            request.client_secret = Some(client.secret);
            request.callback_url = request.callback_url.or(Some(callback_url));
        }
        self.start_flow(caller, &entry, request, None).await
    }

    /// Builds the provider URL and stores the pending flow; `console` marks the console's own flow.
    async fn start_flow(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        request: AuthorizationRequest,
        console: Option<ConsolePending>,
    ) -> Result<AuthorizationUrl, HubError> {
        let definition = &*entry.definition;
        let oauth = match (definition.auth, &definition.oauth) {
            (AuthType::OAuth2, Some(oauth)) => oauth,
            _ => return Err(bad("element", format!("{} does not authenticate with OAuth 2.0", definition.key))),
        };
        let client_id = request
            .client_id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| bad("apiKey", "required: the OAuth client id"))?;
        let client_secret = request
            .client_secret
            .filter(|secret| !secret.expose_secret().trim().is_empty())
            .ok_or_else(|| bad("apiSecret", "required: the OAuth client secret"))?;
        let callback_url = request.callback_url.ok_or_else(|| bad("callbackUrl", "required: the redirect URI"))?;
        if let Some(problem) = callback_url_problem(&callback_url) {
            return Err(bad("callbackUrl", problem));
        }

        let mut given = request.parameters;
        if let Some(site) = request.site_address {
            let site_parameters: Vec<&str> = oauth
                .authorization_url
                .placeholders()
                .filter(|name| definition.parameters.iter().any(|parameter| parameter.key == *name))
                .collect();
            match site_parameters.as_slice() {
                [one] => {
                    given.entry((*one).to_owned()).or_insert(site);
                }
                _ => {
                    return Err(bad("siteAddress", format!("element {} has no single site parameter", definition.key)));
                }
            }
        }
        let values = resolve_parameters(definition, &given)?;
        let mut filling = values.clone();
        filling.insert("clientId".into(), client_id.clone());
        let mut url = fill_url("oauth.authorizationUrl", &oauth.authorization_url, &filling, self.host_policy(entry))?;

        let verifier = request.pkce.then(secrets::generate_secret);
        let state = match request.state {
            Some(state) if !state.is_empty() => state,
            // A PKCE flow and a console flow are found again by their state, so each one needs its own.
            _ if verifier.is_some() || console.is_some() => secrets::generate_secret().expose_secret().to_owned(),
            _ => definition.key.clone(),
        };
        let scope = request.scope.unwrap_or_else(|| oauth.scopes.join(&oauth.scope_separator));
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("response_type", "code");
            query.append_pair("client_id", &client_id);
            query.append_pair("redirect_uri", &callback_url);
            if !scope.is_empty() {
                query.append_pair("scope", &scope);
            }
            query.append_pair("state", &state);
            for (name, template) in &oauth.authorization_params {
                query.append_pair(name, &fill(&format!("oauth.authorizationParams.{name}"), template, &filling)?);
            }
            if let Some(verifier) = &verifier {
                query.append_pair("code_challenge", &pkce_challenge(verifier.expose_secret()));
                query.append_pair("code_challenge_method", "S256");
            }
        }

        let sealed =
            SealedFlow { verifier: verifier.map(|v| v.expose_secret().to_owned()), parameters: values, console };
        let sealed = SecretString::from(serde_json::to_string(&sealed).or_internal()?);
        let flow = StoredFlow {
            organization_id: caller.organization_id,
            element_id: entry.id,
            state_hash: secrets::digest(&SecretString::from(state.clone())),
            client_id,
            client_secret_hash: secrets::digest(&client_secret),
            callback_url,
            pkce: request.pkce,
            sealed: self.vault.seal(&sealed).or_internal()?,
            expires_at: (chrono::Utc::now() + chrono::Duration::minutes(FLOW_LIFETIME_MINUTES)).timestamp_millis(),
        };
        self.store.insert_oauth_flow(&flow).await.or_internal()?;
        Ok(AuthorizationUrl { oauth_url: url.to_string(), element: definition.key.clone() })
    }

    /// The console's authenticate form: an OAuth 2.0 element sends the browser to the provider (always with a
    /// fresh state bound to this session, and with PKCE unless the provider refuses it); any other element's
    /// instance is made, or re-configured, at once.
    pub(super) async fn begin_console_flow(
        &self,
        caller: &Caller,
        session: &SecretString,
        console_origin: &str,
        form: ConsoleAuthentication,
    ) -> Result<ConsoleNext, HubError> {
        let entry = self.visible_element(caller, &form.element).await?;
        let existing = match form.instance {
            Some(id) => {
                let (record, of) = self.target_instance(caller, &InstanceTarget::Id(id)).await?;
                if of.id != entry.id {
                    return Err(bad("instance", format!("instance {id} is not of element {}", entry.definition.key)));
                }
                Some(record)
            }
            None => None,
        };
        let mut configuration = form.configuration;
        configuration.retain(|_, value| !value.trim().is_empty());
        let oauth = match (&entry.definition.oauth, entry.definition.auth) {
            (Some(oauth), AuthType::OAuth2) => oauth,
            _ => {
                let id = match existing {
                    Some(record) => {
                        let patch = app::instances::InstancePatch {
                            configuration: Some(configuration.into_iter().map(|(k, v)| (k, v.into())).collect()),
                            ..Default::default()
                        };
                        self.patch_instance(caller, &InstanceTarget::Id(record.id), patch).await?.id
                    }
                    None => {
                        let new = NewInstance {
                            element: None,
                            name: form.name,
                            provider_data: Default::default(),
                            configuration: configuration.into_iter().map(|(k, v)| (k, v.into())).collect(),
                            tags: form.tags,
                            external_authentication: None,
                            retrieve_objects_after_instantiation: false,
                        };
                        self.create_new_instance(caller, Some(&entry.id.to_string()), new).await?.id
                    }
                };
                return Ok(ConsoleNext::Instance { id });
            }
        };
        let (name, tags) = match &existing {
            Some(record) => (record.name.clone(), record.tags.clone()),
            None => (
                crate::validate::required_name("name", &form.name, 200)?,
                form.tags
                    .iter()
                    .enumerate()
                    .map(|(index, tag)| crate::validate::required_name(&format!("tags[{index}]"), tag, 64))
                    .collect::<Result<_, _>>()?,
            ),
        };
        let callback_url = app::service::Hub::console_callback_url(self, console_origin);
        if let Some(problem) = callback_url_problem(&callback_url) {
            return Err(bad("callbackUrl", problem));
        }
        if form.save_oauth_app {
            let app = NewOAuthApp {
                api_key: configuration.get(key::CLIENT_ID).cloned().unwrap_or_default(),
                api_secret: SecretString::from(configuration.get(key::CLIENT_SECRET).cloned().unwrap_or_default()),
                callback_url: callback_url.clone(),
            };
            self.save_app(caller, &entry.id.to_string(), app).await?;
        }
        if let Some(record) = &existing
            && !configuration.contains_key(key::CLIENT_ID)
        {
            // Re-authenticating keeps the instance's own OAuth app and parameters unless the form names others.
            for (name, value) in self.configuration_of(caller, record).await?.values() {
                let kept = [key::CLIENT_ID, key::CLIENT_SECRET].contains(&name.as_str())
                    || entry.definition.parameters.iter().any(|parameter| parameter.key == name);
                if kept {
                    configuration.entry(name).or_insert(value);
                }
            }
        }
        self.with_saved_app(caller, &entry, &mut configuration).await?;
        for (name, what) in [(key::CLIENT_ID, "the OAuth client id"), (key::CLIENT_SECRET, "the OAuth client secret")] {
            if !configuration.contains_key(name) {
                return Err(bad(&format!("configuration.{name}"), format!("required: {what}, or a saved OAuth app")));
            }
        }
        configuration.insert(key::CALLBACK_URL.into(), callback_url.clone());
        if existing.is_none() {
            // A new instance's event settings are checked now, before the user goes to the provider; they are
            // applied when the instance is made.
            let mut checked = configuration.clone();
            self.merged_events(&entry, &BTreeMap::new(), super::events::take_event_values(&mut checked)).await?;
        }
        let parameters = configuration
            .iter()
            .filter(|(key, _)| entry.definition.parameters.iter().any(|parameter| &parameter.key == *key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let request = AuthorizationRequest {
            client_id: configuration.get(key::CLIENT_ID).cloned(),
            client_secret: configuration.get(key::CLIENT_SECRET).cloned().map(SecretString::from),
            callback_url: Some(callback_url),
            state: None,
            scope: configuration.get(key::SCOPE).cloned(),
            site_address: None,
            pkce: oauth.pkce,
            parameters,
        };
        let pending = ConsolePending {
            session_hash: secrets::digest(session),
            instance: existing.map(|record| record.id),
            name,
            tags,
            configuration,
        };
        let url = self.start_flow(caller, &entry, request, Some(pending)).await?;
        Ok(ConsoleNext::Provider { url: url.oauth_url })
    }

    /// The organization's saved OAuth client for the element, and its callback URL.
    pub(super) async fn saved_oauth_client(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
    ) -> Result<Option<(ClientCredentials, String)>, HubError> {
        let Some(app) = self.store.oauth_app(caller.organization_id, entry.id).await.or_internal()? else {
            return Ok(None);
        };
        let secret = self.vault.read(app.secret_vault_id, &format!("user:{}", caller.user_id)).await.or_internal()?;
        Ok(Some((ClientCredentials { id: app.client_id, secret }, app.callback_url)))
    }

    fn app_view(entry: &CatalogEntry, app: OAuthAppRecord) -> OAuthApp {
        OAuthApp {
            element: entry.definition.key.clone(),
            api_key: app.client_id,
            api_secret: MASK.into(),
            callback_url: app.callback_url,
        }
    }

    pub(super) async fn saved_app(&self, caller: &Caller, key_or_id: &str) -> Result<OAuthApp, HubError> {
        let entry = self.visible_element(caller, key_or_id).await?;
        let app = self.store.oauth_app(caller.organization_id, entry.id).await.or_internal()?.ok_or_else(|| {
            HubError::NotFound(format!("The organization has no saved OAuth app for {}", entry.definition.key))
        })?;
        Ok(Self::app_view(&entry, app))
    }

    /// The organization's saved OAuth apps, for the elements it still sees.
    pub(super) async fn saved_apps(&self, caller: &Caller) -> Result<Vec<OAuthApp>, HubError> {
        let mut apps = Vec::new();
        for app in self.store.oauth_apps_of(caller.organization_id).await.or_internal()? {
            if let Ok(entry) = self.visible_element_by_id(caller.organization_id, app.element_id).await {
                apps.push(Self::app_view(&entry, app));
            }
        }
        Ok(apps)
    }

    /// Saves (or replaces) the organization's OAuth app for an element; admins only.
    pub(super) async fn save_app(
        &self,
        caller: &Caller,
        key_or_id: &str,
        app: NewOAuthApp,
    ) -> Result<OAuthApp, HubError> {
        caller.require_admin("save an OAuth app")?;
        let entry = self.visible_element(caller, key_or_id).await?;
        if entry.definition.auth != AuthType::OAuth2 {
            return Err(bad("element", format!("{} does not authenticate with OAuth 2.0", entry.definition.key)));
        }
        let client_id = crate::validate::required_name("apiKey", &app.api_key, 500)?;
        if app.api_secret.expose_secret().trim().is_empty() {
            return Err(bad("apiSecret", "required: the OAuth client secret"));
        }
        if let Some(problem) = callback_url_problem(&app.callback_url) {
            return Err(bad("callbackUrl", problem));
        }
        let secret_vault_id = match self.store.oauth_app(caller.organization_id, entry.id).await.or_internal()? {
            Some(existing) => {
                self.vault.replace(existing.secret_vault_id, &app.api_secret).await.or_internal()?;
                existing.secret_vault_id
            }
            None => {
                self.vault.put(Some(caller.organization_id), "oauth_app.secret", &app.api_secret).await.or_internal()?
            }
        };
        let record = OAuthAppRecord {
            organization_id: caller.organization_id,
            element_id: entry.id,
            client_id,
            secret_vault_id,
            callback_url: app.callback_url,
        };
        self.store.save_oauth_app(&record).await.or_internal()?;
        self.audit(
            caller.organization_id,
            format!("user:{}", caller.user_id),
            "oauth_app.saved",
            format!("element:{}", entry.id),
        )
        .await?;
        Ok(Self::app_view(&entry, record))
    }

    pub(super) async fn delete_saved_app(&self, caller: &Caller, key_or_id: &str) -> Result<(), HubError> {
        caller.require_admin("remove an OAuth app")?;
        let entry = self.visible_element(caller, key_or_id).await?;
        let app = self.store.oauth_app(caller.organization_id, entry.id).await.or_internal()?.ok_or_else(|| {
            HubError::NotFound(format!("The organization has no saved OAuth app for {}", entry.definition.key))
        })?;
        self.store.delete_oauth_app(caller.organization_id, entry.id).await.or_internal()?;
        self.vault.remove(app.secret_vault_id).await.or_internal()?;
        self.audit(
            caller.organization_id,
            format!("user:{}", caller.user_id),
            "oauth_app.deleted",
            format!("element:{}", entry.id),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_base64url_sha256_without_padding() {
        // Computed independently: base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").
        let verifier = "tether-pkce-verifier-0123456789-abcdefghijklmnop";
        assert_eq!(pkce_challenge(verifier), "gEVi5eT4u4kNcQpm9nbuehxx4HIaPhoorCZUEvsswH0");
    }
}
