//! The hub's side of a proxied call: the instance behind an `Element` token, its provider API base URL, and the
//! credentials to inject as the element says, with OAuth tokens refreshed when they are about to expire or were
//! just refused; and the console's "Try it out", which takes the same path and is recorded in the call logs too.

use super::call_cache::CachedCall;
use super::call_cache::Generation;
use super::call_logs::{begin_trace, body_excerpt};
use super::credentials::access_token_digest;
use super::credentials::access_token_expiry;
use super::credentials::expires_within;
use super::credentials::margin_for;
use super::errors::OrInternal;
use super::service::HubService;
use super::templates::fill;
use super::templates::fill_url;
use super::tokens::INVALID_ACCESS_TOKEN;
use super::tokens::RefreshReason;
use crate::catalog::CatalogEntry;
use crate::providers::provider_client::{Outgoing, Through, call_through, check_path};
use crate::security::secrets;
use crate::store::instances::InstanceRecord;
use crate::store::now_millis;
use app::call_logs::{CallRecording, RecordedCall};
use app::catalog::{
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, CredentialPlacement, Template, ValueEncoding,
};
use app::error::HubError;
use app::hub::CallLogs;
use app::hub::{BodyCredential, CallMethods, Caller, ProviderCall, Proxy, QueryCredential, RequestSigning};
use app::instances::credential_keys as key;
use app::instances::{InstanceId, InstanceTarget, TryRequest, TryResponse};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use std::collections::BTreeMap;

/// Whether the instance's calls carry an access token Tether renews.
fn is_oauth(entry: &CatalogEntry) -> bool {
    entry.definition.auth.holds_tokens() && entry.definition.oauth.is_some()
}

/// The most of a provider's answer the console shows.
const TRY_BODY_LIMIT: usize = 256 * 1024;

fn try_headers(pairs: &[(String, String)]) -> Result<HeaderMap, HubError> {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs.iter().filter(|(name, _)| !name.trim().is_empty()) {
        let header = HeaderName::try_from(name.trim())
            .map_err(|_| HubError::BadRequest(format!("headers: `{name}` is not a header name")))?;
        let value = HeaderValue::try_from(value.trim())
            .map_err(|_| HubError::BadRequest(format!("headers: the value of `{name}` is not valid")))?;
        headers.append(header, value);
    }
    Ok(headers)
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

    pub(super) fn keep_call(
        &self,
        since: Generation,
        token_digest: String,
        entry: &CatalogEntry,
        record: &InstanceRecord,
        call: &ProviderCall,
    ) {
        let usable_until = is_oauth(entry)
            .then(|| access_token_expiry(record))
            .flatten()
            .map(|expires_at| (expires_at - margin_for(record, self.settings.refresh_margin)).timestamp_millis());
        let cached = CachedCall {
            organization_id: record.organization_id,
            hub: entry.definition.hub.clone(),
            usable_until,
            call: call.clone(),
        };
        self.call_cache.keep_call(since, token_digest, cached);
    }

    /// The call for the instance behind `token`: from this node's cache while its entry lasts and its access
    /// token is not due for refresh, else resolved (and refreshed ahead of expiry) and kept.
    async fn resolved_call(&self, caller: &Caller, token: &SecretString, hub: &str) -> Result<ProviderCall, HubError> {
        let token_digest = secrets::digest(token);
        if let Some(call) = self.call_cache.call(&token_digest, caller.organization_id, hub, now_millis()) {
            return Ok(call);
        }
        let since = self.call_cache.generation();
        let (record, entry) = self.call_target(caller, token, Some(hub)).await?;
        let values = self.configuration_in_use(&record).await?.values();
        let (record, values) =
            if is_oauth(&entry) && expires_within(&record, self.settings.refresh_margin, self.clock().now_millis()) {
                let seen = access_token_digest(&values);
                match self.refresh_tokens(&entry, record.clone(), seen, RefreshReason::Expiring).await {
                    Ok(refreshed) => refreshed,
                    // The provider failing to refresh ahead of time need not fail a call its token still covers.
                    Err(HubError::Provider { .. })
                        if !expires_within(&record, chrono::Duration::zero(), self.clock().now_millis()) =>
                    {
                        (record, values)
                    }
                    Err(error) => return Err(error),
                }
            } else {
                (record, values)
            };
        let call = self.call_with(&entry, &record, values)?;
        self.keep_call(since, token_digest, &entry, &record, &call);
        Ok(call)
    }

    /// Fills in the element's API settings with the instance's values.
    fn call_with(
        &self,
        entry: &CatalogEntry,
        record: &InstanceRecord,
        values: BTreeMap<String, String>,
    ) -> Result<ProviderCall, HubError> {
        let call = self.call_of(entry, record.id, &values)?;
        Ok(ProviderCall {
            recording: self.recording_for(record),
            // Cloud Elements' default: null members are left out unless the instance says `false`.
            filter_nulls: !record
                .configuration
                .get(app::instances::FILTER_NULLS)
                .is_some_and(|value| value.trim().eq_ignore_ascii_case("false")),
            rate: app::hub::CallRate::of(&record.configuration),
            ..call
        })
    }

    /// The call the element's API settings make of `values`: its base URL and credentials, nothing recorded.
    pub(super) fn call_of(
        &self,
        entry: &CatalogEntry,
        instance_id: InstanceId,
        values: &BTreeMap<String, String>,
    ) -> Result<ProviderCall, HubError> {
        let api = &entry.definition.api;
        // Templates name the access token `accessToken`; the filler supplies it from the instance's credentials.
        let base_url = fill_url("api.baseUrl", &api.base_url, values, self.host_policy(entry))?;
        let secret = |text: String| SecretString::from(text);
        let mut headers = Vec::new();
        let mut query = Vec::new();
        let mut body = Vec::new();
        let mut signing = None;
        let credential = |key: &str| {
            values.get(key).filter(|value| !value.is_empty()).ok_or_else(|| {
                HubError::Unauthorized(format!("{INVALID_ACCESS_TOKEN}: instance {instance_id} has no {key}"))
            })
        };
        let mut path_segment = None;
        for placement in &api.credentials {
            match placement {
                CredentialPlacement::Bearer => {
                    let access_token = credential(key::ACCESS_TOKEN)?;
                    headers.push(("authorization".to_owned(), secret(format!("Bearer {access_token}"))));
                }
                CredentialPlacement::OAuth1 => {
                    signing = Some(RequestSigning::OAuth1 {
                        consumer_key: credential(key::CLIENT_ID)?.clone(),
                        consumer_secret: secret(credential(key::CLIENT_SECRET)?.clone()),
                        token: credential(key::ACCESS_TOKEN)?.clone(),
                        token_secret: secret(credential(key::TOKEN_SECRET)?.clone()),
                    });
                }
                CredentialPlacement::Duo => {
                    signing = Some(RequestSigning::Duo {
                        integration_key: credential("username")?.clone(),
                        secret_key: secret(credential("password")?.clone()),
                    });
                }
                CredentialPlacement::AwsSigV4 { service, region } => {
                    signing = Some(RequestSigning::AwsSigV4 {
                        access_key_id: credential(AWS_ACCESS_KEY_ID)?.clone(),
                        secret_access_key: secret(credential(AWS_SECRET_ACCESS_KEY)?.clone()),
                        session_token: values
                            .get(AWS_SESSION_TOKEN)
                            .filter(|token| !token.is_empty())
                            .cloned()
                            .map(secret),
                        region: fill("api.credentials.region", region, values)?,
                        service: fill("api.credentials.service", service, values)?,
                    });
                }
                CredentialPlacement::Basic { username, password } => {
                    let half = |template: &Option<Template>, default: &str| match template {
                        Some(template) => fill("api.credentials", template, values),
                        None => Ok(values.get(default).cloned().unwrap_or_default()),
                    };
                    let pair = format!("{}:{}", half(username, "username")?, half(password, "password")?);
                    headers.push(("authorization".to_owned(), secret(format!("Basic {}", STANDARD.encode(pair)))));
                }
                CredentialPlacement::Header { name, value, encoding } => {
                    let value = fill("api.credentials.value", value, values)?;
                    let value = match encoding {
                        Some(ValueEncoding::Base64) => STANDARD.encode(value),
                        None => value,
                    };
                    headers.push((name.to_ascii_lowercase(), secret(value)));
                }
                CredentialPlacement::Query { name, value, methods } => {
                    query.push(QueryCredential {
                        name: name.clone(),
                        value: secret(fill("api.credentials.value", value, values)?),
                        methods: CallMethods(methods.clone()),
                    });
                }
                CredentialPlacement::Form { name, value, methods } => {
                    let value = secret(fill("api.credentials.value", value, values)?);
                    body.push(BodyCredential::Form(name.clone(), value, CallMethods(methods.clone())));
                }
                CredentialPlacement::Json { name, value, methods } => {
                    let value = secret(fill("api.credentials.value", value, values)?);
                    body.push(BodyCredential::Json(name.clone(), value, CallMethods(methods.clone())));
                }
                CredentialPlacement::Path { value } => {
                    path_segment = Some(secret(fill("api.credentials.value", value, values)?));
                }
            }
        }
        for (name, template) in &api.headers {
            headers.push((name.to_ascii_lowercase(), secret(fill(&format!("api.headers.{name}"), template, values)?)));
        }
        Ok(ProviderCall {
            instance_id,
            base_url: base_url.as_str().trim_end_matches('/').to_owned(),
            path_segment,
            headers,
            query,
            body,
            access_token_digest: access_token_digest(values),
            recording: app::call_logs::CallRecording::Off,
            filter_nulls: false,
            signing,
            rate: None,
        })
    }
}

#[async_trait::async_trait]
impl Proxy for HubService {
    /// The call for the instance behind `token`, admitted by the instance's own rate limit when it has one.
    async fn provider_call(&self, caller: &Caller, token: &SecretString, hub: &str) -> Result<ProviderCall, HubError> {
        let call = self.resolved_call(caller, token, hub).await?;
        if let Some(rate) = call.rate {
            self.call_rates.admit(call.instance_id, rate).await?;
        }
        Ok(call)
    }

    async fn provider_refused(
        &self,
        caller: &Caller,
        token: &SecretString,
        call: &ProviderCall,
    ) -> Result<ProviderCall, HubError> {
        let since = self.call_cache.generation();
        let (record, entry) = self.call_target(caller, token, None).await?;
        if !is_oauth(&entry) {
            return Err(HubError::Unauthorized(format!(
                "{INVALID_ACCESS_TOKEN}: the provider refused instance {}'s credentials",
                record.id
            )));
        }
        let seen = call.access_token_digest.clone();
        let (record, values) = self.refresh_tokens(&entry, record, seen, RefreshReason::Refused).await?;
        let call = self.call_with(&entry, &record, values)?;
        // Another node may have made the refresh: the next calls here use its tokens without asking again.
        self.keep_call(since, secrets::digest(token), &entry, &record, &call);
        Ok(call)
    }

    async fn try_request(&self, caller: &Caller, id: InstanceId, request: TryRequest) -> Result<TryResponse, HubError> {
        let (record, entry) = self.target_instance(caller, &InstanceTarget::Id(id)).await?;
        if record.disabled {
            return Err(HubError::Forbidden(format!("Instance {id} is disabled")));
        }
        let method = Method::from_bytes(request.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| HubError::BadRequest(format!("method: `{}` is not an HTTP method", request.method)))?;
        let path = request.path.trim().trim_start_matches('/');
        check_path(path)?;
        let mut headers = try_headers(&request.headers)?;
        if !request.body.is_empty() && !headers.contains_key("content-type") {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
        }
        let token = self.vault.use_secret(record.token_vault_id).await.or_internal()?;
        let query = request.query.trim().trim_start_matches('?');
        let outgoing = Outgoing { method, path, query: Some(query), headers, body: request.body.into() };
        let (at, started) = (now_millis(), std::time::Instant::now());
        let Through { call, response, refreshed } =
            call_through(self, &self.outbound, caller, &token, &entry.definition.hub, &outgoing).await?;
        let status = response.status().as_u16();
        let trace = begin_trace(&call, &outgoing, response.headers());
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let bytes = response.bytes().await.map_err(|_| HubError::Provider {
            status: 502,
            message: "The provider's answer broke off".into(),
            provider_message: String::new(),
        })?;
        let millis = started.elapsed().as_secs_f64() * 1e3;
        if call.recording != CallRecording::Off {
            let trace = trace.map(|(mut trace, body_limit)| {
                (trace.response_body, trace.response_body_truncated) = body_excerpt(&bytes, body_limit);
                trace
            });
            self.record_call(RecordedCall {
                organization_id: caller.organization_id,
                instance_id: call.instance_id,
                at,
                method: outgoing.method.to_string(),
                path: format!("/{path}"),
                status,
                duration_micros: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                request_bytes: outgoing.body.len() as u64,
                response_bytes: bytes.len() as u64,
                refreshed,
                request_id: crate::telemetry::current_request_id(),
                trace,
            });
        }
        let truncated = bytes.len() > TRY_BODY_LIMIT;
        let shown = &bytes[..bytes.len().min(TRY_BODY_LIMIT)];
        let body = serde_json::from_slice::<serde_json::Value>(shown)
            .ok()
            .and_then(|json| serde_json::to_string_pretty(&json).ok())
            .unwrap_or_else(|| String::from_utf8_lossy(shown).into_owned());
        Ok(TryResponse { status, headers, body, truncated, millis })
    }
}
