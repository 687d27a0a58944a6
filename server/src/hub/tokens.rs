//! Keeping instances' OAuth tokens fresh: refreshing on demand, one refresh at a time per instance (a lock in this
//! process and a lease in the database across nodes), writing a rotated refresh token before the new access token
//! is used, and telling a spent grant from a refresh another node just made.

use super::instances::{SplitConfiguration, oauth_settings, provider_error, refresh_endpoint};
use super::{HubService, OrInternal};
use crate::catalog::CatalogEntry;
use crate::secrets;
use crate::store::instances::InstanceRecord;
use crate::token_client::{ClientCredentials, TokenError};
use app::error::HubError;
use app::instances::InstanceId;
use secrecy::SecretString;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The message of a proxied call whose instance's grant is gone (Cloud Elements' wording, which clients match).
pub const INVALID_ACCESS_TOKEN: &str = "INVALID_ACCESS_TOKEN";

/// How long a node may hold an instance's refresh lease before another node may take it over.
const LEASE_MILLIS: i64 = 30_000;

/// How often a node waiting for another node's refresh looks again.
const LEASE_POLL: Duration = Duration::from_millis(25);

/// The in-process half of "one refresh at a time": one async lock per instance.
#[derive(Default)]
pub struct RefreshLocks {
    locks: Mutex<HashMap<InstanceId, Arc<tokio::sync::Mutex<()>>>>,
}

impl RefreshLocks {
    fn of(&self, id: InstanceId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(id).or_default().clone()
    }
}

/// The digest of the access token in a configuration, to tell whether it changed since it was read.
pub(super) fn access_token_digest(values: &BTreeMap<String, String>) -> Option<String> {
    values.get("oauth.user.token").map(|token| secrets::digest(&SecretString::from(token.clone())))
}

/// When the instance's access token expires, if the provider said.
pub(super) fn access_token_expiry(record: &InstanceRecord) -> Option<chrono::DateTime<chrono::Utc>> {
    record
        .configuration
        .get("oauth.user.token.expires_at")
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.with_timezone(&chrono::Utc))
}

/// Whether the access token expires within `margin` from now.
pub(super) fn expires_within(record: &InstanceRecord, margin: chrono::Duration) -> bool {
    access_token_expiry(record).is_some_and(|expires_at| expires_at <= chrono::Utc::now() + margin)
}

fn invalid_grant(id: InstanceId, detail: &str) -> HubError {
    HubError::Unauthorized(format!(
        "{INVALID_ACCESS_TOKEN}: the provider no longer accepts instance {id}'s grant ({detail}); re-authenticate it"
    ))
}

impl HubService {
    /// Refreshes the instance's tokens unless they changed since the caller saw them (`seen`, the access token's
    /// digest) or, when the refresh is for an expiry rather than a provider's refusal (`refused`), unless they no
    /// longer expire soon. Answers the configuration to use. The decision is taken again under the lock, where
    /// the secrets and the expiry are read as one refresh left them.
    pub(super) async fn refresh_tokens(
        &self,
        entry: &CatalogEntry,
        record: InstanceRecord,
        seen: Option<String>,
        refused: bool,
    ) -> Result<(InstanceRecord, BTreeMap<String, String>), HubError> {
        let lock = self.refresh_locks.of(record.id);
        let _one_at_a_time_here = lock.lock().await;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(LEASE_MILLIS as u64);
        let record = loop {
            let current = self.reread(&record).await?;
            let values = self.configuration_in_use(&current).await?.values();
            let replaced = access_token_digest(&values) != seen;
            if replaced || (!refused && !expires_within(&current, self.settings.refresh_margin)) {
                // Someone refreshed since this call looked: use their tokens. Should they too be refused, the
                // call comes back with them as `seen`.
                return Ok((current, values));
            }
            if !current.valid {
                return Err(invalid_grant(current.id, "marked invalid"));
            }
            let until = chrono::Utc::now().timestamp_millis() + LEASE_MILLIS;
            if self.store.take_refresh_lease(current.id, &self.node_id, until).await.or_internal()? {
                break current;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(HubError::Provider {
                    status: 503,
                    message: "Another node is still refreshing this instance's tokens".into(),
                    provider_message: String::new(),
                });
            }
            // Another node holds the lease: look again shortly, for its result or for the lease to end.
            tokio::time::sleep(LEASE_POLL).await;
        };
        let id = record.id;
        let outcome = self.refresh_with_lease(entry, record).await;
        if let Err(error) = self.store.release_refresh_lease(id, &self.node_id).await {
            tracing::warn!(%error, "could not release a refresh lease; it expires on its own");
        }
        outcome
    }

    async fn reread(&self, record: &InstanceRecord) -> Result<InstanceRecord, HubError> {
        self.store
            .instance(record.organization_id, record.id)
            .await
            .or_internal()?
            .ok_or_else(|| HubError::Unauthorized("The Element token names no instance of this organization".into()))
    }

    /// The refresh itself, while holding the lease.
    async fn refresh_with_lease(
        &self,
        entry: &CatalogEntry,
        mut record: InstanceRecord,
    ) -> Result<(InstanceRecord, BTreeMap<String, String>), HubError> {
        let id = record.id;
        let oauth = oauth_settings(entry)?;
        let mut split: SplitConfiguration = self.configuration_in_use(&record).await?;
        let values = split.values();
        let (Some(refresh_token), Some(client_id), Some(client_secret)) =
            (values.get("oauth.user.refresh_token"), values.get("oauth.api.key"), values.get("oauth.api.secret"))
        else {
            return Err(invalid_grant(id, "it has no refresh token"));
        };
        let client = ClientCredentials { id: client_id.clone(), secret: SecretString::from(client_secret.clone()) };
        let endpoint = refresh_endpoint(oauth, &values)?;
        let refresh_token = SecretString::from(refresh_token.clone());
        match self.token_client.refresh(&endpoint, &client, &refresh_token, &oauth.capture).await {
            Ok(tokens) => {
                split.secret("oauth.user.token", &tokens.access_token);
                // A provider that does not rotate sends no new refresh token: the old one stays.
                if let Some(rotated) = &tokens.refresh_token {
                    split.secret("oauth.user.refresh_token", rotated);
                }
                match tokens.expires_at {
                    Some(at) => split
                        .plain("oauth.user.token.expires_at", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    None => split.remove("oauth.user.token.expires_at"),
                }
                for (field, value) in &tokens.captured {
                    split.plain(field, value.clone());
                }
                record.valid = true;
                record.refresh_failures = 0;
                record.last_refreshed_at = Some(chrono::Utc::now().timestamp_millis());
                self.write_configuration(&mut record, split).await?;
                let values = self.configuration_in_use(&record).await?.values();
                tracing::info!(instance = %id, "refreshed an instance's OAuth tokens");
                metrics::counter!("tether_token_refreshes_total", "outcome" => "ok").increment(1);
                Ok((record, values))
            }
            Err(TokenError::InvalidGrant { description }) => {
                // Another node may have refreshed with this token a moment ago: look before condemning the grant.
                let current = self.reread(&record).await?;
                let now = self.configuration_in_use(&current).await?.values();
                if now.get("oauth.user.refresh_token") != Some(&refresh_token_text(&refresh_token)) {
                    return Ok((current, now));
                }
                let mut invalid = current;
                invalid.valid = false;
                self.record_failure(&mut invalid, format!("invalid_grant: {description}")).await?;
                metrics::counter!("tether_token_refreshes_total", "outcome" => "invalid_grant").increment(1);
                tracing::warn!(instance = %id, "the provider refused an instance's refresh token; marked invalid");
                Err(invalid_grant(id, &description))
            }
            Err(error) => {
                let mut failing = self.reread(&record).await?;
                failing.refresh_failures += 1;
                self.record_failure(&mut failing, error.to_string()).await?;
                metrics::counter!("tether_token_refreshes_total", "outcome" => "failed").increment(1);
                Err(provider_error(error))
            }
        }
    }

    /// Notes a failure on the instance, for its health.
    async fn record_failure(&self, record: &mut InstanceRecord, error: String) -> Result<(), HubError> {
        record.last_error = Some(error);
        record.last_error_at = Some(chrono::Utc::now().timestamp_millis());
        self.store.update_instance(record).await.or_internal()?;
        Ok(())
    }
}

fn refresh_token_text(token: &SecretString) -> String {
    secrecy::ExposeSecret::expose_secret(token).to_owned()
}
