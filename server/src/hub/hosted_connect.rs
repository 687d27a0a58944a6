//! The HostedConnect capability: the hosted connect page's side of a connect session. An end user holding only the
//! session's token picks an element and connects it, through the provider's consent page with the team's saved
//! OAuth app, or through the element's form. The instance is made under the team member who made the session,
//! with the session's tags and end user; a reconnect keeps the instance's id and token.

use super::errors::OrInternal;
use super::event_setup::take_event_values;
use super::exchange::Grant;
use super::flows::{CONNECT_STATE_PREFIX, ConnectPending, FlowOwner, SealedFlow};
use super::instances::InstanceLabels;
use super::oauth1::VerifiedToken;
use super::service::HubService;
use super::token_endpoints::oauth_settings;
use super::webhooks::queued;
use crate::catalog::CatalogEntry;
use crate::security::secrets;
use crate::store::connect::HostedSessionRecord;
use app::catalog::AuthType;
use app::connect::{
    ConnectChoice, ConnectFailure, ConnectForm, ConnectPageView, ConnectSessionState, ConnectStep, ConnectedInstance,
    connect_page_path, origin_of,
};
use app::error::HubError;
use app::hub::{Caller, ConsoleConnect, HostedConnect, Instances};
use app::instances::credential_keys as key;
use app::instances::{Instance, InstanceTarget, NewInstance, OAuthCallback};
use app::oauth::AuthorizationRequest;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;

/// What an end user reads for a link that is not, or no longer, a session's.
const NOT_A_SESSION: &str = "This connect link is not valid. Ask the app that sent it for a new one.";

/// Why a session can no longer be used, for the end user.
fn closed(state: ConnectSessionState) -> ConnectFailure {
    let message = match state {
        ConnectSessionState::Completed => "This link was already used to connect an account.",
        ConnectSessionState::Expired => "This link has expired. Go back to the app and start again.",
        _ => "This link was withdrawn by the app that sent it. Go back to the app and start again.",
    };
    ConnectFailure::new("expired", message)
}

/// Another window holds the session for its own attempt.
fn in_use() -> ConnectFailure {
    ConnectFailure::new("unavailable", "This link is being used in another window, or was just used.")
}

/// The team's redirect URL with the outcome appended to its query.
fn return_url(redirect_url: &str, outcome: &[(&str, String)]) -> String {
    let mut url = match url::Url::parse(redirect_url) {
        Ok(url) => url,
        Err(_) => return redirect_url.to_owned(),
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in outcome {
            query.append_pair(name, value);
        }
    }
    url.to_string()
}

impl HubService {
    /// The session a token names, in any organization.
    async fn hosted_session(&self, token: &SecretString) -> Result<HostedSessionRecord, HubError> {
        self.store
            .connect_session_by_token(&secrets::digest(token), self.clock().now_millis())
            .await
            .or_internal()?
            .ok_or_else(|| HubError::NotFound(NOT_A_SESSION.into()))
    }

    /// The team member who made the session, as the caller its instance is made under; a member since turned off
    /// or removed can no longer connect anything.
    async fn session_maker(&self, record: &HostedSessionRecord) -> Result<Caller, HubError> {
        let user = self.store.user(record.user_id).await.or_internal()?;
        match user {
            Some(user) if user.active && user.account_id == record.account_id => Ok(Caller {
                organization_id: record.organization_id,
                account_id: record.account_id,
                user_id: record.user_id,
                role: user.role,
            }),
            _ => Err(HubError::NotFound(NOT_A_SESSION.into())),
        }
    }

    /// `popup_origin` when it is the origin of one of the team's redirect URLs, else none.
    async fn allowed_popup_origin(
        &self,
        record: &HostedSessionRecord,
        popup_origin: Option<&str>,
    ) -> Result<Option<String>, HubError> {
        let Some(origin) = popup_origin.map(|origin| origin.trim_end_matches('/')) else { return Ok(None) };
        let allowed = self.store.redirect_urls(record.organization_id).await.or_internal()?;
        Ok(allowed.iter().filter_map(|url| origin_of(url)).find(|allowed| allowed == origin))
    }

    /// The elements the session allows: those it names, or every element the organization can connect (it has
    /// an OAuth app for it, or it needs none).
    async fn session_elements(
        &self,
        caller: &Caller,
        record: &HostedSessionRecord,
    ) -> Result<Vec<CatalogEntry>, HubError> {
        let mut entries = Vec::new();
        if let Some(id) = record.session.instance_id {
            // A reconnect connects the instance's own element, whatever else the session lists.
            entries.push(self.target_instance(caller, &InstanceTarget::Id(id)).await?.1);
        } else if record.session.elements.is_empty() {
            let apps = self.store.oauth_apps_of(caller.organization_id).await.or_internal()?;
            let custom = self.store.custom_elements(caller.organization_id).await.or_internal()?;
            let custom = custom.into_iter().map(|(id, definition)| CatalogEntry::new(id, definition, true));
            for entry in self.catalog.built_in().iter().cloned().chain(custom) {
                let connectable = match entry.definition.auth {
                    AuthType::OAuth2 | AuthType::OAuth1 => apps.iter().any(|app| app.element_id == entry.id),
                    _ => true,
                };
                if connectable {
                    entries.push(entry);
                }
            }
        } else {
            for key in &record.session.elements {
                entries.push(self.visible_element(caller, key).await?);
            }
        }
        Ok(entries)
    }

    /// The session, its maker and the element it allows under `element`, for a step that uses the session;
    /// a session no longer open is refused with what the end user should read.
    async fn open_session_element(
        &self,
        token: &SecretString,
        element: &str,
    ) -> Result<(HostedSessionRecord, Caller, Result<CatalogEntry, ConnectFailure>), HubError> {
        let record = self.hosted_session(token).await?;
        let caller = self.session_maker(&record).await?;
        if record.session.state != ConnectSessionState::Open {
            return Ok((record.clone(), caller, Err(closed(record.session.state))));
        }
        let allowed = self.session_elements(&caller, &record).await?;
        let entry = allowed.into_iter().find(|entry| entry.is_named(element)).ok_or_else(|| {
            ConnectFailure::new("unavailable", format!("{element} is not among the accounts this link can connect."))
        });
        Ok((record, caller, entry))
    }

    /// Where the browser goes once an attempt has failed: back to the session's page, which shows why.
    async fn after_failure(
        &self,
        record: &HostedSessionRecord,
        token: &str,
        popup_origin: Option<&str>,
        failure: &ConnectFailure,
    ) -> Result<String, HubError> {
        self.store.note_connect_failure(&record.session.id, failure).await.or_internal()?;
        self.tell_connect_failed(record, failure).await?;
        Ok(connect_page_path(token, None, popup_origin))
    }

    /// Queues `connect.failed` for the team's endpoints when the end user declined or the provider refused; the
    /// other failures (a used link, an element not set up) are the team's own doing and its page shows them.
    async fn tell_connect_failed(
        &self,
        record: &HostedSessionRecord,
        failure: &ConnectFailure,
    ) -> Result<(), HubError> {
        if !matches!(failure.reason.as_str(), "declined" | "refused") {
            return Ok(());
        }
        let mut body = self.lifecycle_body("connect.failed", None, Some(failure.message.clone()));
        body.connect_session_id = Some(record.session.id.clone());
        body.end_user = Some(record.session.end_user.clone());
        self.store.queue_lifecycle_event(&queued(record.organization_id, &body)?, None).await.or_internal()?;
        Ok(())
    }

    /// The outcome of an attempt that held the session: completed on success; on failure given back, open, with
    /// the reason the end user can act on, or with a general one for a failure inside Tether.
    async fn after_attempt(
        &self,
        record: &HostedSessionRecord,
        token: &str,
        popup_origin: Option<&str>,
        attempt: Result<Instance, HubError>,
    ) -> Result<String, HubError> {
        let refused = |message: String| ConnectFailure::new("refused", message);
        let failure = match attempt {
            Ok(instance) => return self.after_success(record, token, popup_origin, &instance).await,
            Err(HubError::BadRequest(problem) | HubError::Unauthorized(problem)) => refused(problem),
            Err(HubError::Provider { message, provider_message, .. }) if provider_message.is_empty() => {
                refused(message)
            }
            Err(HubError::Provider { message, provider_message, .. }) => {
                refused(format!("{message}: {provider_message}"))
            }
            Err(error) => {
                let failure = ConnectFailure::new(
                    "unavailable",
                    "Something went wrong on our side; nothing was connected. Try again.",
                );
                self.store.release_connect_session(&record.session.id, &failure).await.or_internal()?;
                return Err(error);
            }
        };
        self.store.release_connect_session(&record.session.id, &failure).await.or_internal()?;
        self.tell_connect_failed(record, &failure).await?;
        Ok(connect_page_path(token, None, popup_origin))
    }

    /// Marks the session completed with `instance` and answers where the browser goes: the popup's page, which
    /// tells the team's page, or the team's redirect URL, or the session's page.
    async fn after_success(
        &self,
        record: &HostedSessionRecord,
        token: &str,
        popup_origin: Option<&str>,
        instance: &Instance,
    ) -> Result<String, HubError> {
        self.store.complete_connect_session(&record.session.id, instance.id).await.or_internal()?;
        Ok(match (&record.session.redirect_url, popup_origin) {
            (Some(redirect_url), None) => return_url(
                redirect_url,
                &[
                    ("status", "connected".into()),
                    ("instanceId", instance.id.to_string()),
                    ("element", instance.element.key.clone()),
                ],
            ),
            _ => connect_page_path(token, None, popup_origin),
        })
    }

    /// Makes the claimed session's instance from a grant or parameters, or reconnects the session's instance.
    async fn connect_claimed(
        &self,
        caller: &Caller,
        record: &HostedSessionRecord,
        entry: &CatalogEntry,
        grant: Option<(Grant, BTreeMap<String, String>)>,
        values: BTreeMap<String, String>,
    ) -> Result<Instance, HubError> {
        let session = &record.session;
        if let Some(id) = session.instance_id {
            let target = InstanceTarget::Id(id);
            let (current, of) = self.target_instance(caller, &target).await?;
            let instance = match grant {
                Some((grant, configuration)) => self.reauthenticate(caller, current, &of, grant, configuration).await?,
                None => {
                    let patch = app::instances::InstancePatch {
                        configuration: Some(values.into_iter().map(|(k, v)| (k, v.into())).collect()),
                        ..Default::default()
                    };
                    self.update_instance(caller, &target, patch).await?
                }
            };
            if instance.disabled {
                return self.set_instance_enabled(caller, &target, true).await;
            }
            return Ok(instance);
        }
        let labels = |name: String| InstanceLabels {
            name,
            tags: session.tags.clone(),
            end_user: Some(session.end_user.clone()),
            trace_logging: false,
        };
        let name = format!("{} of {}", entry.definition.name, session.end_user.id);
        let name: String = name.chars().take(200).collect();
        match grant {
            Some((grant, mut given)) => {
                let events = self.merged_events(entry, &BTreeMap::new(), take_event_values(&mut given)).await?;
                let split = self.authorize_oauth(caller, entry, grant, &given).await?;
                self.insert_with_events(caller, entry, labels(name), split, events, Vec::new(), "none".into()).await
            }
            None => {
                let new = NewInstance {
                    element: None,
                    name: name.clone(),
                    provider_data: Default::default(),
                    configuration: values.into_iter().map(|(k, v)| (k, v.into())).collect(),
                    tags: session.tags.clone(),
                    external_authentication: None,
                    retrieve_objects_after_instantiation: false,
                    trace_logging_enabled: false,
                    other_fields: BTreeMap::new(),
                };
                self.create_for_element(caller, entry, new, Some(session.end_user.clone())).await
            }
        }
    }
}

#[async_trait::async_trait]
impl HostedConnect for HubService {
    async fn connect_page(
        &self,
        token: &SecretString,
        element: Option<&str>,
        popup_origin: Option<&str>,
    ) -> Result<ConnectPageView, HubError> {
        let record = self.hosted_session(token).await?;
        let caller = self.session_maker(&record).await?;
        let session = &record.session;
        let team = self.store.organization(record.organization_id).await.or_internal()?.ok_or(HubError::Internal)?;
        let entries = self.session_elements(&caller, &record).await?;
        let mut choices: Vec<ConnectChoice> = entries
            .iter()
            .map(|entry| ConnectChoice {
                key: entry.definition.key.clone(),
                name: entry.definition.name.clone(),
                oauth: signs_in_at_provider(entry.definition.auth),
            })
            .collect();
        choices.sort_by_key(|choice| choice.name.to_lowercase());
        let form = element
            .and_then(|element| entries.iter().find(|entry| entry.is_named(element)))
            .filter(|entry| !signs_in_at_provider(entry.definition.auth))
            .map(|entry| ConnectForm {
                key: entry.definition.key.clone(),
                name: entry.definition.name.clone(),
                parameters: entry.definition.parameters.clone(),
            });
        let reconnecting = match session.instance_id {
            Some(id) if session.state == ConnectSessionState::Open => {
                Some(self.target_instance(&caller, &InstanceTarget::Id(id)).await?.0.name)
            }
            _ => None,
        };
        let connected = match (session.state, session.instance_id) {
            (ConnectSessionState::Completed, Some(id)) => {
                let (instance, entry) = self.target_instance(&caller, &InstanceTarget::Id(id)).await?;
                Some(ConnectedInstance {
                    instance_id: instance.id,
                    element: entry.definition.key.clone(),
                    element_name: entry.definition.name.clone(),
                })
            }
            _ => None,
        };
        let return_url = session.redirect_url.as_deref().map(|url| match &connected {
            Some(connected) => return_url(
                url,
                &[
                    ("status", "connected".into()),
                    ("instanceId", connected.instance_id.to_string()),
                    ("element", connected.element.clone()),
                ],
            ),
            None if session.state == ConnectSessionState::Open => return_url(url, &[("status", "cancelled".into())]),
            None => return_url(url, &[("status", format!("{:?}", session.state).to_lowercase())]),
        });
        let failure = match session.state {
            ConnectSessionState::Open => record.last_failure.clone(),
            ConnectSessionState::Completed => None,
            state => Some(closed(state)),
        };
        Ok(ConnectPageView {
            team: team.name,
            state: session.state,
            end_user_id: session.end_user.id.clone(),
            choices,
            form,
            reconnecting,
            failure,
            connected,
            popup_origin: self.allowed_popup_origin(&record, popup_origin).await?,
            return_url,
        })
    }

    async fn start_connect(
        &self,
        token: &SecretString,
        element: &str,
        origin: &str,
        popup_origin: Option<&str>,
    ) -> Result<ConnectStep, HubError> {
        let (record, caller, entry) = self.open_session_element(token, element).await?;
        let popup_origin = self.allowed_popup_origin(&record, popup_origin).await?;
        let popup = popup_origin.as_deref();
        let entry = match entry {
            Ok(entry) => entry,
            Err(failure) => {
                let next = self.after_failure(&record, token.expose_secret(), popup, &failure).await?;
                return Ok(ConnectStep::Redirect(next));
            }
        };
        if !signs_in_at_provider(entry.definition.auth) {
            return Ok(ConnectStep::ShowForm);
        }
        let mut configuration = BTreeMap::new();
        self.with_saved_app(&caller, &entry, &mut configuration).await?;
        if !configuration.contains_key(key::CLIENT_ID) {
            let failure = ConnectFailure::new(
                "unavailable",
                format!("{} cannot be connected yet: the team has not set it up.", entry.definition.name),
            );
            let next = self.after_failure(&record, token.expose_secret(), popup, &failure).await?;
            return Ok(ConnectStep::Redirect(next));
        }
        let callback_url = self.console_callback_url(origin);
        let request = AuthorizationRequest {
            client_id: configuration.get(key::CLIENT_ID).cloned(),
            client_secret: configuration.get(key::CLIENT_SECRET).cloned().map(SecretString::from),
            callback_url: Some(callback_url),
            state: None,
            scope: None,
            site_address: None,
            pkce: entry.definition.auth == AuthType::OAuth2 && oauth_settings(&entry)?.pkce,
            parameters: BTreeMap::new(),
            request_token: None,
        };
        let pending = ConnectPending {
            session_id: record.session.id.clone(),
            token: token.expose_secret().to_owned(),
            popup_origin: popup_origin.clone(),
        };
        match self.start_flow(&caller, &entry, request, FlowOwner::Connect(pending)).await {
            Ok(url) => Ok(ConnectStep::Redirect(url.oauth_url)),
            Err(HubError::BadRequest(problem)) => {
                let failure = ConnectFailure::new("unavailable", problem);
                let next = self.after_failure(&record, token.expose_secret(), popup, &failure).await?;
                Ok(ConnectStep::Redirect(next))
            }
            // An OAuth 1.0a provider asked for a request token first, and refused.
            Err(HubError::Provider { provider_message, .. }) => {
                let failure = ConnectFailure::new("refused", format!("The provider refused: {provider_message}."));
                let next = self.after_failure(&record, token.expose_secret(), popup, &failure).await?;
                Ok(ConnectStep::Redirect(next))
            }
            Err(error) => Err(error),
        }
    }

    async fn submit_connect_form(
        &self,
        token: &SecretString,
        element: &str,
        mut values: BTreeMap<String, String>,
        popup_origin: Option<&str>,
    ) -> Result<String, HubError> {
        let (record, caller, entry) = self.open_session_element(token, element).await?;
        let popup_origin = self.allowed_popup_origin(&record, popup_origin).await?;
        let popup = popup_origin.as_deref();
        let token_text = token.expose_secret();
        let entry = match entry {
            Ok(entry) if !signs_in_at_provider(entry.definition.auth) => entry,
            Ok(entry) => {
                let message = format!("{} connects through its own sign-in page, not a form.", entry.definition.name);
                return self
                    .after_failure(&record, token_text, popup, &ConnectFailure::new("unavailable", message))
                    .await;
            }
            Err(failure) => return self.after_failure(&record, token_text, popup, &failure).await,
        };
        // Only the element's own parameters: a form cannot set Tether's settings or another's OAuth app.
        values.retain(|name, value| {
            !value.trim().is_empty() && entry.definition.parameters.iter().any(|parameter| &parameter.key == name)
        });
        if !self.store.claim_connect_session(&record.session.id, self.clock().now_millis()).await.or_internal()? {
            return self.after_failure(&record, token_text, popup, &in_use()).await;
        }
        let attempt = self.connect_claimed(&caller, &record, &entry, None, values).await;
        self.after_attempt(&record, token_text, popup, attempt).await
    }

    async fn complete_connect_authorization(&self, callback: OAuthCallback) -> Result<String, HubError> {
        const SPENT: &str = "This connection attempt has expired or was already completed";
        let state = callback
            .state
            .clone()
            .filter(|state| state.starts_with(CONNECT_STATE_PREFIX))
            .ok_or_else(|| HubError::invalid("state", "missing"))?;
        let state_hash = secrets::digest(&SecretString::from(state));
        let flow = self
            .store
            .pending_oauth_flow_by_state(&state_hash)
            .await
            .or_internal()?
            .ok_or_else(|| HubError::BadRequest(SPENT.into()))?;
        let sealed = self.vault.unseal(&flow.sealed).await.or_internal()?;
        let sealed: SealedFlow = serde_json::from_str(sealed.expose_secret()).or_internal()?;
        let pending = sealed.connect.ok_or_else(|| HubError::BadRequest(SPENT.into()))?;
        // Used once, whatever happens next.
        self.store.delete_oauth_flows(flow.organization_id, &state_hash).await.or_internal()?;
        let token = SecretString::from(pending.token.clone());
        let record = self.hosted_session(&token).await?;
        let popup = pending.popup_origin.as_deref();
        if record.session.id != pending.session_id || record.organization_id != flow.organization_id {
            return Err(HubError::BadRequest(SPENT.into()));
        }
        if callback.denied.is_some() {
            let failure =
                ConnectFailure::new("declined", "You declined access at the provider; nothing was connected.");
            return self.after_failure(&record, &pending.token, popup, &failure).await;
        }
        if let Some(error) = &callback.error {
            let detail = callback.error_description.as_deref().map(|text| format!(" ({text})")).unwrap_or_default();
            let failure = if error == "access_denied" {
                ConnectFailure::new(
                    "declined",
                    format!("You declined access at the provider{detail}; nothing was connected."),
                )
            } else {
                ConnectFailure::new("refused", format!("The provider refused: {error}{detail}."))
            };
            return self.after_failure(&record, &pending.token, popup, &failure).await;
        }
        let caller = self.session_maker(&record).await?;
        let entry = self.visible_element_by_id(flow.organization_id, flow.element_id).await?;
        let grant = match sealed.request_token_secret {
            Some(secret) => match VerifiedToken::claimed(&callback, secret, sealed.parameters) {
                Ok(verified) => Grant::OAuth1(verified),
                Err(_) => {
                    let message = "The provider's answer carried no verifier; nothing was connected.";
                    let failure = ConnectFailure::new("refused", message);
                    return self.after_failure(&record, &pending.token, popup, &failure).await;
                }
            },
            None => {
                let oauth = oauth_settings(&entry)?;
                if let (Some(expected), Some(named)) = (&oauth.issuer, &callback.iss)
                    && expected != named
                {
                    let message =
                        format!("The provider's answer names issuer {named}, not {expected}; nothing was connected.");
                    let failure = ConnectFailure::new("refused", message);
                    return self.after_failure(&record, &pending.token, popup, &failure).await;
                }
                let Some(code) = callback.code else {
                    let message = "The provider's answer carried no authorization code; nothing was connected.";
                    let failure = ConnectFailure::new("refused", message);
                    return self.after_failure(&record, &pending.token, popup, &failure).await;
                };
                Grant::CheckedCode {
                    code: SecretString::from(code),
                    verifier: sealed.verifier,
                    parameters: sealed.parameters,
                }
            }
        };
        if !self.store.claim_connect_session(&record.session.id, self.clock().now_millis()).await.or_internal()? {
            let state = self.hosted_session(&token).await?.session.state;
            let failure = if state == ConnectSessionState::Open { in_use() } else { closed(state) };
            return self.after_failure(&record, &pending.token, popup, &failure).await;
        }
        let mut configuration = BTreeMap::new();
        self.with_saved_app(&caller, &entry, &mut configuration).await?;
        configuration.insert(key::CALLBACK_URL.into(), flow.callback_url.clone());
        let attempt = self.connect_claimed(&caller, &record, &entry, Some((grant, configuration)), BTreeMap::new());
        let attempt = attempt.await;
        self.after_attempt(&record, &pending.token, popup, attempt).await
    }
}

/// Whether the end user signs in at the provider (OAuth 2.0 and OAuth 1.0a) rather than filling in a form.
fn signs_in_at_provider(auth: AuthType) -> bool {
    matches!(auth, AuthType::OAuth2 | AuthType::OAuth1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outcome_joins_the_redirect_urls_own_query() {
        let url = return_url("https://app.example/done?team=7", &[("status", "connected".into())]);
        assert_eq!(url, "https://app.example/done?team=7&status=connected");
        assert_eq!(origin_of("https://app.example:8443/done?x").as_deref(), Some("https://app.example:8443"));
        assert_eq!(origin_of("not a url"), None);
    }
}
