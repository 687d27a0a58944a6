//! The ConsoleConnect capability: the console's authenticate form, which sends the browser to the provider (or makes
//! a non-OAuth instance at once), and its `/oauth/callback`, which completes the flow once for the session that
//! started it.

use super::configuration::validate_tags;
use super::errors::OrInternal;
use super::event_setup::take_event_values;
use super::exchange::Grant;
use super::flows::{ConsolePending, FlowOwner, SealedFlow, callback_url_problem};
use super::instances::InstanceLabels;
use super::oauth1::VerifiedToken;
use super::service::HubService;
use super::token_endpoints::oauth_settings;
use crate::security::secrets;
use app::catalog::AuthType;
use app::error::HubError;
use app::hub::{Caller, ConsoleConnect, Instances, OAuthFlows};
use app::instances::credential_keys as key;
use app::instances::{
    ConsoleAuthentication, ConsoleNext, InstanceId, InstanceTarget, NewInstance, NewOAuthApp, OAuthCallback,
};
use app::oauth::AuthorizationRequest;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;

/// The path of the console's OAuth redirect landing page.
pub const CONSOLE_CALLBACK_PATH: &str = "/oauth/callback";

#[async_trait::async_trait]
impl ConsoleConnect for HubService {
    /// The console's authenticate form: an OAuth 2.0 element sends the browser to the provider (always with a
    /// fresh state bound to this session, and with PKCE unless the provider refuses it); any other element's
    /// instance is made, or re-configured, at once.
    async fn begin_console_authentication(
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
                    return Err(HubError::invalid(
                        "instance",
                        format!("instance {id} is not of element {}", entry.definition.key),
                    ));
                }
                Some(record)
            }
            None => None,
        };
        let mut configuration = form.configuration;
        configuration.retain(|_, value| !value.trim().is_empty());
        let oauth = match (&entry.definition.oauth, entry.definition.auth) {
            (Some(oauth), AuthType::OAuth2 | AuthType::OAuth1) => oauth,
            _ => {
                let id = match existing {
                    Some(record) => {
                        let patch = app::instances::InstancePatch {
                            configuration: Some(configuration.into_iter().map(|(k, v)| (k, v.into())).collect()),
                            ..Default::default()
                        };
                        self.update_instance(caller, &InstanceTarget::Id(record.id), patch).await?.id
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
                            trace_logging_enabled: false,
                            other_fields: Default::default(),
                        };
                        self.create_instance(caller, Some(&entry.id.to_string()), new).await?.id
                    }
                };
                return Ok(ConsoleNext::Instance { id });
            }
        };
        let (name, tags) = match &existing {
            Some(record) => (record.name.clone(), record.tags.clone()),
            None => (crate::validate::instance_label("name", &form.name, 200)?, validate_tags(&form.tags)?),
        };
        let callback_url = self.console_callback_url(console_origin);
        if let Some(problem) = callback_url_problem(&callback_url) {
            return Err(HubError::invalid("callbackUrl", problem));
        }
        if form.save_oauth_app {
            let app = NewOAuthApp {
                api_key: configuration.get(key::CLIENT_ID).cloned().unwrap_or_default(),
                api_secret: SecretString::from(configuration.get(key::CLIENT_SECRET).cloned().unwrap_or_default()),
                callback_url: callback_url.clone(),
            };
            self.save_oauth_app(caller, &entry.id.to_string(), app).await?;
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
                return Err(HubError::invalid(
                    &format!("configuration.{name}"),
                    format!("required: {what}, or a saved OAuth app"),
                ));
            }
        }
        configuration.insert(key::CALLBACK_URL.into(), callback_url.clone());
        if existing.is_none() {
            // A new instance's event settings are checked now, before the user goes to the provider; they are
            // applied when the instance is made.
            let mut checked = configuration.clone();
            self.merged_events(&entry, &BTreeMap::new(), take_event_values(&mut checked)).await?;
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
            pkce: oauth.pkce && entry.definition.auth == AuthType::OAuth2,
            parameters,
            request_token: None,
        };
        let pending = ConsolePending {
            session_hash: secrets::digest(session),
            instance: existing.map(|record| record.id),
            name,
            tags,
            configuration,
        };
        let url = self.start_flow(caller, &entry, request, FlowOwner::Console(pending)).await?;
        Ok(ConsoleNext::Provider { url: url.oauth_url })
    }

    /// Completes the console's authorization: checks the flow is this session's and unused, then creates or
    /// re-authenticates the instance.
    async fn complete_console_authorization(
        &self,
        caller: &Caller,
        session: &SecretString,
        callback: OAuthCallback,
    ) -> Result<InstanceId, HubError> {
        const EXPIRED: &str = "This authorization has expired or was already completed; start it again";
        let state = callback.flow_key().map(str::to_owned);
        let state_hash =
            secrets::digest(&SecretString::from(state.ok_or_else(|| HubError::invalid("state", "missing"))?));
        let flow = self
            .store
            .console_oauth_flow(caller.organization_id, &state_hash)
            .await
            .or_internal()?
            .ok_or_else(|| HubError::BadRequest(EXPIRED.into()))?;
        let sealed = self.vault.unseal(&flow.sealed).await.or_internal()?;
        let mut sealed: SealedFlow = serde_json::from_str(sealed.expose_secret()).or_internal()?;
        let pending: ConsolePending = match sealed.console.take() {
            Some(pending) if pending.session_hash == secrets::digest(session) => pending,
            _ => return Err(HubError::BadRequest(EXPIRED.into())),
        };
        // The same session back on its landing page (the browser's Back): the instance its flow made.
        if let Some(id) = flow.completed_instance_id.filter(|id| *id > 0) {
            return Ok(InstanceId(id));
        }
        // Used once, whatever happens next: of two visits at once, one completes it.
        if !self.store.claim_oauth_flow(caller.organization_id, &state_hash).await.or_internal()? {
            return Err(HubError::BadRequest(EXPIRED.into()));
        }
        let outcome = self.finish_console_flow(caller, callback, flow.element_id, sealed, pending);
        match outcome.await {
            Ok(id) => {
                self.store.complete_oauth_flow(caller.organization_id, &state_hash, id.0).await.or_internal()?;
                Ok(id)
            }
            Err(error) => {
                self.store.delete_oauth_flows(caller.organization_id, &state_hash).await.or_internal()?;
                Err(error)
            }
        }
    }

    fn console_callback_url(&self, console_origin: &str) -> String {
        let base = self.settings.public_url.as_deref().unwrap_or(console_origin);
        format!("{base}{CONSOLE_CALLBACK_PATH}")
    }
}

impl HubService {
    /// The claimed console flow's end: the provider's answer checked, then the instance made or re-authenticated.
    async fn finish_console_flow(
        &self,
        caller: &Caller,
        callback: OAuthCallback,
        element: app::catalog::ElementId,
        sealed: SealedFlow,
        pending: ConsolePending,
    ) -> Result<InstanceId, HubError> {
        if callback.denied.is_some() {
            return Err(HubError::BadRequest("Access was denied at the provider; no instance was created".into()));
        }
        if let Some(error) = callback.error {
            let detail = callback.error_description.map(|text| format!(": {text}")).unwrap_or_default();
            let message = if error == "access_denied" {
                format!("Access was denied at the provider ({error}{detail}); no instance was created")
            } else {
                format!("The provider did not authorize ({error}{detail})")
            };
            return Err(HubError::BadRequest(message));
        }
        let entry = self.visible_element_by_id(caller.organization_id, element).await?;
        let grant = match sealed.request_token_secret {
            Some(secret) => Grant::OAuth1(VerifiedToken::claimed(&callback, secret, sealed.parameters)?),
            None => {
                let oauth = oauth_settings(&entry)?;
                if let (Some(expected), Some(named)) = (&oauth.issuer, &callback.iss)
                    && expected != named
                {
                    return Err(HubError::invalid(
                        "iss",
                        format!("the redirect names issuer {named}, not the element's {expected}"),
                    ));
                }
                let code = callback.code.ok_or_else(|| HubError::invalid("code", "missing from the redirect"))?;
                Grant::CheckedCode {
                    code: SecretString::from(code),
                    verifier: sealed.verifier,
                    parameters: sealed.parameters,
                }
            }
        };
        match pending.instance {
            Some(id) => {
                let (record, entry) = self.target_instance(caller, &InstanceTarget::Id(id)).await?;
                Ok(self.reauthenticate(caller, record, &entry, grant, pending.configuration).await?.id)
            }
            None => {
                let mut given = pending.configuration;
                let events = self.merged_events(&entry, &BTreeMap::new(), take_event_values(&mut given)).await?;
                let split = self.authorize_oauth(caller, &entry, grant, &given).await?;
                let labels =
                    InstanceLabels { name: pending.name, tags: pending.tags, end_user: None, trace_logging: false };
                let created = self.insert_with_events(caller, &entry, labels, split, events, Vec::new(), "none".into());
                Ok(created.await?.id)
            }
        }
    }
}
