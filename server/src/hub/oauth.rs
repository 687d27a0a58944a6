//! The OAuthFlows capability: the provider's authorization URL for an OAuth element (an OAuth 2.0 flow's state,
//! PKCE and parameters remembered, sealed, until the code comes back; OAuth 1.0a's in `oauth1`), and the
//! organization's saved OAuth apps.

use super::configuration::resolve_parameters;
use super::errors::OrInternal;
use super::flows::{CONNECT_STATE_PREFIX, FlowOwner, SealedFlow, authorization_parameters, callback_url_problem};
use super::oauth1::Oauth1Start;
use super::service::HubService;
use super::templates::fill_url;
use crate::catalog::CatalogEntry;
use crate::providers::token_client::ClientCredentials;
use crate::security::secrets;
use crate::store::audit::Actor;
use crate::store::oauth_apps::OAuthAppRecord;
use app::catalog::AuthType;
use app::error::HubError;
use app::hub::{Caller, OAuthFlows};
use app::instances::{MASK, NewOAuthApp, OAuthApp};
use app::oauth::{AuthorizationRequest, AuthorizationUrl, RequestToken};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

/// The S256 challenge of a PKCE verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl HubService {
    /// Builds the provider URL and stores the pending flow for its owner.
    pub(super) async fn start_flow(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        request: AuthorizationRequest,
        owner: FlowOwner,
    ) -> Result<AuthorizationUrl, HubError> {
        Ok(self.start_flow_and_token(caller, entry, request, owner).await?.0)
    }

    /// Builds the provider URL and stores the pending flow for its owner; for an OAuth 1.0a element without a
    /// given request token, also the request token Tether got for it.
    pub(super) async fn start_flow_and_token(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        request: AuthorizationRequest,
        owner: FlowOwner,
    ) -> Result<(AuthorizationUrl, Option<RequestToken>), HubError> {
        let definition = &*entry.definition;
        let oauth = match (definition.auth, &definition.oauth) {
            (AuthType::OAuth2 | AuthType::OAuth1, Some(oauth)) => oauth,
            _ => {
                return Err(HubError::invalid(
                    "element",
                    format!("{} does not authenticate with OAuth 2.0 or OAuth 1.0a", definition.key),
                ));
            }
        };
        let client_id = request
            .client_id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| HubError::invalid("apiKey", "required: the OAuth client id"))?;
        let client_secret = request
            .client_secret
            .filter(|secret| !secret.expose_secret().trim().is_empty())
            .ok_or_else(|| HubError::invalid("apiSecret", "required: the OAuth client secret"))?;
        let callback_url =
            request.callback_url.ok_or_else(|| HubError::invalid("callbackUrl", "required: the redirect URI"))?;
        if let Some(problem) = callback_url_problem(&callback_url) {
            return Err(HubError::invalid("callbackUrl", problem));
        }

        let mut given = request.parameters;
        if let Some(site) = request.site_address {
            // The site parameter is the one parameter the authorization URL names, else the one the API's base
            // URL names (an account's own server, as Infusionsoft's).
            let parameters_in = |template: &'_ app::catalog::Template| -> Vec<String> {
                let names: std::collections::BTreeSet<String> = template
                    .placeholders()
                    .filter(|name| definition.parameters.iter().any(|parameter| parameter.key == *name))
                    .map(str::to_owned)
                    .collect();
                names.into_iter().collect()
            };
            let mut site_parameters = oauth.authorization_url.as_ref().map(parameters_in).unwrap_or_default();
            if site_parameters.is_empty() {
                site_parameters = parameters_in(&definition.api.base_url);
            }
            match site_parameters.as_slice() {
                [one] => {
                    given.entry(one.clone()).or_insert(site);
                }
                _ => {
                    return Err(HubError::invalid(
                        "siteAddress",
                        format!("element {} has no single site parameter", definition.key),
                    ));
                }
            }
        }
        let values = resolve_parameters(definition, &given)?;
        if definition.auth == AuthType::OAuth1 {
            let client = ClientCredentials { id: client_id, secret: client_secret };
            let start = Oauth1Start { client, callback_url, values, scope: request.scope, owner };
            return self.start_oauth1_flow(caller, entry, start, request.request_token).await;
        }
        let mut filling = values.clone();
        filling.insert("clientId".into(), client_id.clone());
        let authorization_url = oauth
            .authorization_url
            .as_ref()
            .ok_or_else(|| HubError::invalid("element", format!("{} has no authorization URL", definition.key)))?;
        let mut url = fill_url("oauth.authorizationUrl", authorization_url, &filling, self.host_policy(entry))?;

        let verifier = request.pkce.then(secrets::generate_secret);
        let (console, connect) = owner.into_pending();
        let state = match request.state {
            _ if connect.is_some() => format!("{CONNECT_STATE_PREFIX}{}", secrets::generate_secret().expose_secret()),
            Some(state) if !state.is_empty() => state,
            // A PKCE flow and a console flow are found again by their state, so each one needs its own.
            _ if verifier.is_some() || console.is_some() => secrets::generate_secret().expose_secret().to_owned(),
            _ => definition.key.clone(),
        };
        let scope = request.scope.unwrap_or_else(|| oauth.scopes.join(&oauth.scope_separator));
        let mut standard = vec![
            ("response_type", "code".to_owned()),
            ("client_id", client_id.clone()),
            ("redirect_uri", callback_url.clone()),
            ("scope", scope),
            ("state", state.clone()),
        ];
        if let Some(verifier) = &verifier {
            standard.push(("code_challenge", pkce_challenge(verifier.expose_secret())));
            standard.push(("code_challenge_method", "S256".to_owned()));
        }
        url.query_pairs_mut().extend_pairs(authorization_parameters(oauth, standard, &filling)?);

        let verifier = verifier.map(|v| v.expose_secret().to_owned());
        let sealed = SealedFlow { verifier, parameters: values, console, connect, request_token_secret: None };
        let client = ClientCredentials { id: client_id, secret: client_secret };
        self.remember_flow(caller, entry, &state, &client, callback_url, request.pkce, &sealed).await?;
        Ok((AuthorizationUrl { oauth_url: url.to_string(), element: definition.key.clone() }, None))
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
        let secret = self.vault.read(app.secret_vault_id, &Actor::of(caller)).await.or_internal()?;
        Ok(Some((ClientCredentials { id: app.client_id, secret }, app.callback_url)))
    }

    /// Fills in the organization's saved OAuth app when the request names no client.
    async fn with_saved_client(
        &self,
        caller: &Caller,
        entry: &CatalogEntry,
        request: &mut AuthorizationRequest,
    ) -> Result<(), HubError> {
        if request.client_id.is_none()
            && request.client_secret.is_none()
            && let Some((client, callback_url)) = self.saved_oauth_client(caller, entry).await?
        {
            request.client_id = Some(client.id);
            request.client_secret = Some(client.secret);
            request.callback_url = request.callback_url.take().or(Some(callback_url));
        }
        Ok(())
    }

    fn app_view(entry: &CatalogEntry, app: OAuthAppRecord) -> OAuthApp {
        OAuthApp {
            element: entry.definition.key.clone(),
            api_key: app.client_id,
            api_secret: MASK.into(),
            callback_url: app.callback_url,
        }
    }
}

#[async_trait::async_trait]
impl OAuthFlows for HubService {
    async fn authorization_url(
        &self,
        caller: &Caller,
        key_or_id: &str,
        mut request: AuthorizationRequest,
    ) -> Result<AuthorizationUrl, HubError> {
        let entry: CatalogEntry = self.visible_element(caller, key_or_id).await?;
        self.with_saved_client(caller, &entry, &mut request).await?;
        self.start_flow(caller, &entry, request, FlowOwner::Api).await
    }

    async fn request_token(
        &self,
        caller: &Caller,
        key_or_id: &str,
        mut request: AuthorizationRequest,
    ) -> Result<RequestToken, HubError> {
        let entry: CatalogEntry = self.visible_element(caller, key_or_id).await?;
        if entry.definition.auth != AuthType::OAuth1 {
            return Err(HubError::invalid(
                "element",
                format!("{} does not authenticate with OAuth 1.0a", entry.definition.key),
            ));
        }
        self.with_saved_client(caller, &entry, &mut request).await?;
        request.request_token = None;
        let (_, token) = self.start_flow_and_token(caller, &entry, request, FlowOwner::Api).await?;
        token.ok_or(HubError::Internal)
    }

    async fn oauth_app(&self, caller: &Caller, key_or_id: &str) -> Result<OAuthApp, HubError> {
        let entry = self.visible_element(caller, key_or_id).await?;
        let app = self.store.oauth_app(caller.organization_id, entry.id).await.or_internal()?.ok_or_else(|| {
            HubError::NotFound(format!("The organization has no saved OAuth app for {}", entry.definition.key))
        })?;
        Ok(Self::app_view(&entry, app))
    }

    /// The organization's saved OAuth apps, for the elements it still sees.
    async fn oauth_apps(&self, caller: &Caller) -> Result<Vec<OAuthApp>, HubError> {
        let mut apps = Vec::new();
        for app in self.store.oauth_apps_of(caller.organization_id).await.or_internal()? {
            if let Ok(entry) = self.visible_element_by_id(caller.organization_id, app.element_id).await {
                apps.push(Self::app_view(&entry, app));
            }
        }
        Ok(apps)
    }

    /// Saves (or replaces) the organization's OAuth app for an element; admins only.
    async fn save_oauth_app(&self, caller: &Caller, key_or_id: &str, app: NewOAuthApp) -> Result<OAuthApp, HubError> {
        caller.require_admin("save an OAuth app")?;
        let entry = self.visible_element(caller, key_or_id).await?;
        if !matches!(entry.definition.auth, AuthType::OAuth2 | AuthType::OAuth1) {
            return Err(HubError::invalid(
                "element",
                format!("{} does not authenticate with OAuth 2.0 or OAuth 1.0a", entry.definition.key),
            ));
        }
        let client_id = crate::validate::required_name("apiKey", &app.api_key, 500)?;
        if app.api_secret.expose_secret().trim().is_empty() {
            return Err(HubError::invalid("apiSecret", "required: the OAuth client secret"));
        }
        if let Some(problem) = callback_url_problem(&app.callback_url) {
            return Err(HubError::invalid("callbackUrl", problem));
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
        self.audit(caller.organization_id, Actor::of(caller), "oauth_app.saved", format!("element:{}", entry.id))
            .await?;
        Ok(Self::app_view(&entry, record))
    }

    async fn delete_oauth_app(&self, caller: &Caller, key_or_id: &str) -> Result<(), HubError> {
        caller.require_admin("remove an OAuth app")?;
        let entry = self.visible_element(caller, key_or_id).await?;
        let app = self.store.oauth_app(caller.organization_id, entry.id).await.or_internal()?.ok_or_else(|| {
            HubError::NotFound(format!("The organization has no saved OAuth app for {}", entry.definition.key))
        })?;
        self.store.delete_oauth_app(caller.organization_id, entry.id).await.or_internal()?;
        self.vault.remove(app.secret_vault_id).await.or_internal()?;
        self.audit(caller.organization_id, Actor::of(caller), "oauth_app.deleted", format!("element:{}", entry.id))
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
