//! The hub's side of a proxied call: the instance behind an `Element` token, its provider API base URL, and the
//! credentials to inject as the element says, with OAuth tokens refreshed when they are about to expire or were
//! just refused.

use super::HubService;
use super::instances::fill;
use super::tokens::{INVALID_ACCESS_TOKEN, access_token_digest, expires_within};
use crate::catalog::{CatalogEntry, check_reachable};
use crate::store::instances::InstanceRecord;
use app::catalog::{AuthType, CredentialPlacement};
use app::error::HubError;
use app::instances::InstanceTarget;
use app::service::{Caller, ProviderCall};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use std::collections::BTreeMap;

fn is_oauth(entry: &CatalogEntry) -> bool {
    entry.definition.auth == AuthType::OAuth2 && entry.definition.oauth.is_some()
}

impl HubService {
    async fn call_target(
        &self,
        caller: &Caller,
        token: &SecretString,
        hub: Option<&str>,
    ) -> Result<(InstanceRecord, CatalogEntry), HubError> {
        let (record, entry) = self.target_instance(caller, &InstanceTarget::Token(token.clone())).await?;
        if let Some(hub) = hub
            && entry.definition.hub != hub
        {
            return Err(HubError::NotFound(format!(
                "Instance {} is of element {} in hub {}, not {hub}",
                record.id, entry.definition.key, entry.definition.hub
            )));
        }
        if !record.valid {
            return Err(HubError::Unauthorized(format!(
                "{INVALID_ACCESS_TOKEN}: instance {} needs re-authentication",
                record.id
            )));
        }
        Ok((record, entry))
    }

    pub(super) async fn prepare_provider_call(
        &self,
        caller: &Caller,
        token: &SecretString,
        hub: &str,
    ) -> Result<ProviderCall, HubError> {
        let (record, entry) = self.call_target(caller, token, Some(hub)).await?;
        let values = self.configuration_in_use(&record).await?.values();
        let (record, values) = if is_oauth(&entry) && expires_within(&record, self.settings.refresh_margin) {
            let seen = access_token_digest(&values);
            self.refresh_tokens(&entry, record, seen, false).await?
        } else {
            (record, values)
        };
        self.call_with(&entry, &record, values)
    }

    pub(super) async fn refresh_refused_call(
        &self,
        caller: &Caller,
        token: &SecretString,
        call: &ProviderCall,
    ) -> Result<ProviderCall, HubError> {
        let (record, entry) = self.call_target(caller, token, None).await?;
        if !is_oauth(&entry) {
            return Err(HubError::Unauthorized(format!(
                "{INVALID_ACCESS_TOKEN}: the provider refused instance {}'s credentials",
                record.id
            )));
        }
        let (record, values) = self.refresh_tokens(&entry, record, call.access_token_digest.clone(), true).await?;
        self.call_with(&entry, &record, values)
    }

    /// Fills in the element's API settings with the instance's values.
    fn call_with(
        &self,
        entry: &CatalogEntry,
        record: &InstanceRecord,
        mut values: BTreeMap<String, String>,
    ) -> Result<ProviderCall, HubError> {
        let api = &entry.definition.api;
        if let Some(access_token) = values.get("oauth.user.token").cloned() {
            values.insert("accessToken".into(), access_token);
        }
        let base_url = fill("api.baseUrl", &api.base_url, &values)?;
        check_reachable("api.baseUrl", &base_url, self.settings.element_hosts)?;
        let secret = |text: String| SecretString::from(text);
        let mut headers = Vec::new();
        let mut query = Vec::new();
        match &api.credentials {
            CredentialPlacement::Bearer => {
                let access_token = values.get("accessToken").ok_or_else(|| {
                    HubError::Unauthorized(format!(
                        "{INVALID_ACCESS_TOKEN}: instance {} has no access token",
                        record.id
                    ))
                })?;
                headers.push(("authorization".to_owned(), secret(format!("Bearer {access_token}"))));
            }
            CredentialPlacement::Basic => {
                let pair = format!(
                    "{}:{}",
                    values.get("username").map(String::as_str).unwrap_or_default(),
                    values.get("password").map(String::as_str).unwrap_or_default()
                );
                headers.push(("authorization".to_owned(), secret(format!("Basic {}", STANDARD.encode(pair)))));
            }
            CredentialPlacement::Header { name, value } => {
                headers.push((name.to_ascii_lowercase(), secret(fill("api.credentials.value", value, &values)?)));
            }
            CredentialPlacement::Query { name, value } => {
                query.push((name.clone(), secret(fill("api.credentials.value", value, &values)?)));
            }
        }
        for (name, template) in &api.headers {
            headers.push((name.to_ascii_lowercase(), secret(fill(&format!("api.headers.{name}"), template, &values)?)));
        }
        Ok(ProviderCall {
            instance_id: record.id,
            base_url: base_url.trim_end_matches('/').to_owned(),
            headers,
            query,
            access_token_digest: access_token_digest(&values),
        })
    }
}
