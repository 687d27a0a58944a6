//! Keeping instances' OAuth tokens fresh: refreshing on demand and on schedule, one refresh at a time per instance
//! (a lock in this process and a lease in the database across nodes), writing a rotated refresh token before the
//! new access token is used, telling a spent grant from a refresh another node just made, and the failure policy:
//! transient failures retried on a schedule and then the instance disabled, a refused grant marked invalid, each
//! change announced once.

use super::configuration::SplitConfiguration;
use super::credentials::Credentials;
use super::credentials::access_token_digest;
use super::credentials::expires_within;
use super::errors::OrInternal;
use super::history::history_entry;
use super::service::HubService;
use super::token_endpoints::exchange_endpoint;
use super::token_endpoints::provider_error;
use super::token_endpoints::refresh_endpoint;
use super::token_endpoints::token_settings;
use crate::catalog::CatalogEntry;
use crate::providers::outbound::Refused;
use crate::providers::token_client::TokenError;
use crate::store::audit::Actor;
use crate::store::instances::{InstanceRecord, NotifiedState};
use crate::store::now_millis;
use app::catalog::AuthType;
use app::error::HubError;
use app::history::HistoryKind;
use app::instances::InstanceId;
use app::instances::credential_keys as key;
use app::types::OrganizationId;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::time::Duration;

/// The message of a proxied call whose instance's grant is gone (Cloud Elements' wording, which clients match).
pub const INVALID_ACCESS_TOKEN: &str = "INVALID_ACCESS_TOKEN";

/// How often a node waiting for another node's refresh looks again.
const LEASE_POLL: Duration = Duration::from_millis(25);

/// What a wave of the background refresher came to. Failures are already recorded on their instances by the
/// failure policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaveTally {
    /// Instances whose new tokens this wave stored.
    pub refreshed: usize,
    pub failed: usize,
}

impl std::ops::AddAssign for WaveTally {
    fn add_assign(&mut self, other: WaveTally) {
        self.refreshed += other.refreshed;
        self.failed += other.failed;
    }
}

/// What an on-demand refresh found when it looked at the instance as stored.
enum BeforeRefresh {
    /// A refresh is still wanted: the record and configuration to refresh.
    Wanted(InstanceRecord, SplitConfiguration),
    /// Someone refreshed since the caller looked: the record and configuration they left.
    UseStored(InstanceRecord, BTreeMap<String, String>),
}

/// What a refresh's provider call came to.
enum Refreshed {
    /// New tokens, in the record and configuration, not yet written.
    New(InstanceRecord, SplitConfiguration),
    /// Another node's refresh, already stored: the record and configuration it left.
    Stored(InstanceRecord, BTreeMap<String, String>),
}

/// Why a refresh is wanted. Under the lock each reason is checked again against what the store says then, so a
/// refresh that another request or node has just made is not made twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshReason {
    /// The access token expires within the margin.
    Expiring,
    /// The provider refused the access token the caller used.
    Refused,
    /// The retry after a transient failure is due.
    Retry,
    /// The nightly sweep, so that an unused refresh token does not age out; skipped when the tokens were
    /// refreshed at or after `refreshed_before` (Unix milliseconds).
    Sweep { refreshed_before: i64 },
}

/// Whether the instance has a refresh attempt scheduled after a transient failure, not yet due.
fn backing_off(record: &InstanceRecord, now: i64) -> Option<i64> {
    record.refresh_retry_at.filter(|at| *at > now)
}

fn invalid_grant(id: InstanceId, detail: &str) -> HubError {
    HubError::Unauthorized(format!(
        "{INVALID_ACCESS_TOKEN}: the provider no longer accepts instance {id}'s grant ({detail}); re-authenticate it"
    ))
}

fn refresh_token_text(token: &SecretString) -> String {
    secrecy::ExposeSecret::expose_secret(token).to_owned()
}

impl HubService {
    /// Refreshes the instance's tokens for `reason`, unless the store shows it is no longer needed: `seen` is
    /// the access token's digest when the caller looked. Answers the record and configuration to use.
    pub(super) async fn refresh_tokens(
        &self,
        entry: &CatalogEntry,
        record: InstanceRecord,
        seen: Option<String>,
        reason: RefreshReason,
    ) -> Result<(InstanceRecord, BTreeMap<String, String>), HubError> {
        let lock = self.refresh_locks.of(record.id);
        let _one_at_a_time_here = lock.lock().await;
        let id = record.id;
        let lease = self.settings.refresh_lease;
        let deadline = tokio::time::Instant::now() + lease;
        let (record, split) = loop {
            let until = now_millis() + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
            let leased = self.store.take_refresh_lease(id, &self.node_id, until).await.or_internal()?;
            // Looked at after the lease is taken: a refresh that another node stored and released a moment
            // ago is seen here, and its tokens used rather than refreshed once more.
            let answer = match self.look_before_refresh(&record, seen.as_ref(), reason).await {
                Ok(BeforeRefresh::Wanted(current, split)) if leased => break (current, split),
                // Wanted, but another node holds the lease: look again below, for its result or its lease's end.
                Ok(BeforeRefresh::Wanted(..)) => None,
                Ok(BeforeRefresh::UseStored(current, values)) => Some(Ok((current, values))),
                Err(error) => Some(Err(error)),
            };
            if let Some(answer) = answer {
                if leased {
                    self.give_back_lease(id).await;
                }
                return answer;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(HubError::Provider {
                    status: 503,
                    message: "Another node is still refreshing this instance's tokens".into(),
                    provider_message: String::new(),
                });
            }
            tokio::time::sleep(LEASE_POLL).await;
        };
        let outcome = self.refresh_with_lease(entry, record, split).await;
        self.give_back_lease(id).await;
        outcome
    }

    /// The instance as stored now, and whether `reason` still calls for a refresh of it: `seen` is the access
    /// token's digest when the caller looked. A disabled or invalid instance, or one waiting to retry a failed
    /// refresh, is an error.
    async fn look_before_refresh(
        &self,
        record: &InstanceRecord,
        seen: Option<&String>,
        reason: RefreshReason,
    ) -> Result<BeforeRefresh, HubError> {
        let current = self.reread(record).await?;
        let split = self.configuration_in_use(&current).await?;
        if current.disabled {
            return Err(HubError::Forbidden(format!("Instance {} is disabled", current.id)));
        }
        if !current.valid {
            return Err(invalid_grant(current.id, "marked invalid"));
        }
        let now = self.clock().now_millis();
        let values = split.values();
        let replaced = access_token_digest(&values).as_ref() != seen;
        if !self.refresh_wanted(&current, replaced, reason, now) {
            // Someone refreshed since the caller looked: use their tokens. Should they too be refused, the call
            // comes back with them as `seen`.
            return Ok(BeforeRefresh::UseStored(current, values));
        }
        if let Some(next) = backing_off(&current, now) {
            return Err(self.still_failing(&current, next));
        }
        Ok(BeforeRefresh::Wanted(current, split))
    }

    async fn give_back_lease(&self, id: InstanceId) {
        if let Err(error) = self.store.release_refresh_lease(id, &self.node_id).await {
            tracing::warn!(%error, "could not release a refresh lease; it expires on its own");
        }
    }

    /// The answer while a failing refresh waits for its next attempt: calls do not add attempts of their own.
    fn still_failing(&self, record: &InstanceRecord, next: i64) -> HubError {
        HubError::Provider {
            status: 503,
            message: format!(
                "Refreshing instance {}'s tokens failed {} of {} times; the next attempt is at {}",
                record.id,
                record.refresh_failures,
                self.settings.refresh_attempts,
                crate::store::from_millis(next).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
            provider_message: record.last_error.clone().unwrap_or_default(),
        }
    }

    /// Whether `reason` still calls for a refresh of `current`; `replaced` says its access token is not the one
    /// the caller saw.
    fn refresh_wanted(&self, current: &InstanceRecord, replaced: bool, reason: RefreshReason, now: i64) -> bool {
        match reason {
            RefreshReason::Expiring => !replaced && expires_within(current, self.settings.refresh_margin, now),
            RefreshReason::Refused => !replaced,
            RefreshReason::Retry => current.refresh_retry_at.is_some_and(|at| at <= now),
            RefreshReason::Sweep { refreshed_before } => {
                current.refresh_retry_at.is_none() && current.last_refreshed_at.is_none_or(|at| at < refreshed_before)
            }
        }
    }

    /// Refreshes one wave of the background refresher's instances together: this node's locks first (an
    /// instance this node is refreshing already is left to that refresh), then the leases in one statement, the
    /// instances read once under them, and the provider calls all at once. Results are written as they come in:
    /// each commit holds every result in by then, with their leases' release. A retry when one is scheduled,
    /// else for `reason`.
    pub async fn refresh_wave(&self, instances: &[(OrganizationId, InstanceId)], reason: RefreshReason) -> WaveTally {
        let mut tally = WaveTally::default();
        if let Err(error) = self.try_refresh_wave(instances, reason, &mut tally).await {
            tracing::warn!(%error, instances = instances.len(), "a refresh wave failed");
            tally.failed = instances.len() - tally.refreshed;
        }
        tally
    }

    async fn try_refresh_wave(
        &self,
        instances: &[(OrganizationId, InstanceId)],
        reason: RefreshReason,
        tally: &mut WaveTally,
    ) -> Result<(), HubError> {
        let mut held = Vec::with_capacity(instances.len());
        let mut ids = Vec::with_capacity(instances.len());
        for &(_, id) in instances {
            if let Ok(guard) = self.refresh_locks.of(id).try_lock_owned() {
                held.push(guard);
                ids.push(id);
            }
        }
        let lease = i64::try_from(self.settings.refresh_lease.as_millis()).unwrap_or(i64::MAX / 2);
        let leased = self.store.take_refresh_leases(&ids, &self.node_id, now_millis() + lease).await.or_internal()?;
        let records = self.store.instances_with_secrets(&leased).await.or_internal()?;
        let now = self.clock().now_millis();
        // Instances gone since the due query have nothing to write; their leases go back with the first commit.
        let mut released: Vec<InstanceId> =
            leased.iter().filter(|id| !records.iter().any(|(record, _)| record.id == **id)).copied().collect();
        let (finished, mut results) = tokio::sync::mpsc::unbounded_channel();
        let calls = async move {
            let mut calls: FuturesUnordered<_> = records
                .into_iter()
                .map(|(record, secrets)| async move {
                    (record.id, self.refresh_in_wave(record, secrets.as_deref(), reason, now).await)
                })
                .collect();
            while let Some(result) = calls.next().await {
                // The receiver lives until every sender is gone.
                let _ = finished.send(result);
            }
        };
        let mut save_error = None;
        // Each result is written as soon as it is in, with every other one in by then: the provider has already
        // rotated those tokens, and this node may die before a later commit. The calls go on while a commit runs
        // (they may hold pool connections, so they must not wait for it).
        let saves = async {
            while let Some(first) = results.recv().await {
                let mut refreshed = Vec::new();
                let mut next = Some(first);
                while let Some((id, outcome)) = next.take() {
                    released.push(id);
                    match outcome {
                        Ok(Some(result)) => refreshed.push(result),
                        Ok(None) => {}
                        Err(error) => {
                            tally.failed += 1;
                            tracing::debug!(%error, "a scheduled refresh failed");
                        }
                    }
                    next = results.try_recv().ok();
                }
                match self.save_wave_results(&refreshed, &std::mem::take(&mut released)).await {
                    Ok(saved) => tally.refreshed += saved,
                    Err(error) => {
                        tally.failed += refreshed.len();
                        save_error = Some(error);
                    }
                }
            }
        };
        tokio::join!(calls, saves);
        if !released.is_empty()
            && let Err(error) = self.save_wave_results(&[], &released).await
        {
            save_error = Some(error);
        }
        drop(held);
        save_error.map_or(Ok(()), Err)
    }

    /// Writes refreshed instances and gives back the leases of `released` in one commit; answers how many were
    /// written. The provider has already rotated these tokens, so a failed commit (which wrote nothing) is tried
    /// once more.
    async fn save_wave_results(
        &self,
        refreshed: &[(InstanceRecord, crate::store::vault::SealedEntry)],
        released: &[InstanceId],
    ) -> Result<usize, HubError> {
        let saved = match self.store.save_refresh_wave(refreshed, released, &self.node_id).await {
            Err(error) => {
                tracing::warn!(%error, "saving refreshed tokens failed; trying once more");
                self.store.save_refresh_wave(refreshed, released, &self.node_id).await
            }
            saved => saved,
        };
        for (record, _) in refreshed {
            self.call_cache.forget_call(&record.token_hash);
        }
        let saved = saved.or_internal()?;
        if !saved.is_empty() {
            metrics::counter!("tether_token_refreshes_total", "outcome" => "ok").increment(saved.len() as u64);
            tracing::info!(instances = saved.len(), "refreshed instances' OAuth tokens");
        }
        Ok(saved.len())
    }

    /// One instance of a wave, read under its lease with its secrets' ciphertext: answers its refreshed record and
    /// sealed secrets to write, or nothing when no refresh is wanted any more or another node's refresh is already
    /// stored.
    async fn refresh_in_wave(
        &self,
        record: InstanceRecord,
        secrets: Option<&[u8]>,
        reason: RefreshReason,
        now: i64,
    ) -> Result<Option<(InstanceRecord, crate::store::vault::SealedEntry)>, HubError> {
        if record.disabled {
            return Err(HubError::Forbidden(format!("Instance {} is disabled", record.id)));
        }
        if !record.valid {
            return Err(invalid_grant(record.id, "marked invalid"));
        }
        let reason = if record.refresh_retry_at.is_some() { RefreshReason::Retry } else { reason };
        if !self.refresh_wanted(&record, false, reason, now) {
            return Ok(None);
        }
        if let Some(next) = backing_off(&record, now) {
            return Err(self.still_failing(&record, next));
        }
        let entry = self.visible_element_by_id(record.organization_id, record.element_id).await?;
        let secrets = self.vault.use_ciphertext(record.secrets_vault_id, secrets).await.or_internal()?;
        let split = SplitConfiguration::of(&record, &secrets)?;
        match self.call_for_refresh(&entry, record, split).await? {
            Refreshed::New(mut record, split) => {
                let sealed = self.seal_configuration(&mut record, split)?;
                Ok(Some((record, sealed)))
            }
            Refreshed::Stored(..) => Ok(None),
        }
    }

    async fn reread(&self, record: &InstanceRecord) -> Result<InstanceRecord, HubError> {
        self.store
            .instance(record.organization_id, record.id)
            .await
            .or_internal()?
            .ok_or_else(|| HubError::Unauthorized("The Element token names no instance of this organization".into()))
    }

    /// The refresh itself, while holding the lease, with the instance and its configuration as read under it.
    async fn refresh_with_lease(
        &self,
        entry: &CatalogEntry,
        record: InstanceRecord,
        split: SplitConfiguration,
    ) -> Result<(InstanceRecord, BTreeMap<String, String>), HubError> {
        match self.call_for_refresh(entry, record, split).await? {
            Refreshed::New(mut record, split) => {
                let values = split.values();
                self.write_configuration(&mut record, split).await?;
                self.note_history(crate::store::instances::refreshed_entry(&record)).await;
                metrics::counter!("tether_token_refreshes_total", "outcome" => "ok").increment(1);
                tracing::info!(instance = %record.id, "refreshed an instance's OAuth tokens");
                Ok((record, values))
            }
            Refreshed::Stored(record, values) => Ok((record, values)),
        }
    }

    /// The provider call of a refresh, while holding the lease, with the instance's configuration as stored:
    /// answers the new tokens in the record and configuration, not yet written. A refused grant or a failure is
    /// recorded by the failure policy.
    async fn call_for_refresh(
        &self,
        entry: &CatalogEntry,
        mut record: InstanceRecord,
        mut split: SplitConfiguration,
    ) -> Result<Refreshed, HubError> {
        let id = record.id;
        let oauth = token_settings(entry)?;
        let values = split.values();
        let credentials = Credentials::read(&values);
        let Some(client) = credentials.client else {
            return Err(invalid_grant(id, "it has no OAuth client"));
        };
        // What the grant is known by: the refresh token, or for a client-credentials instance its access token.
        let (grant_key, grant) = match (entry.definition.auth, credentials.refresh_token, credentials.access_token) {
            (AuthType::ClientCredentials, _, Some(access_token)) => (key::ACCESS_TOKEN, access_token),
            (AuthType::OAuth2, Some(refresh_token), _) => (key::REFRESH_TOKEN, refresh_token),
            _ => return Err(invalid_grant(id, "it has no refresh token")),
        };
        let policy = self.host_policy(entry);
        let outcome = match entry.definition.auth {
            AuthType::ClientCredentials => {
                let scope = values.get(key::SCOPE).cloned().unwrap_or_default();
                match exchange_endpoint(oauth, &values, policy) {
                    Ok(endpoint) => {
                        self.token_client.client_credentials(&endpoint, &client, &scope, &oauth.capture).await
                    }
                    Err(error) => Err(TokenError::Refused(Refused(error.to_string()))),
                }
            }
            _ => match refresh_endpoint(oauth, &values, policy) {
                Ok(endpoint) => self.token_client.refresh(&endpoint, &client, &grant, &oauth.capture).await,
                // A token URL the policy refuses fails this refresh like a provider's refusal: recorded, not retried.
                Err(error) => Err(TokenError::Refused(Refused(error.to_string()))),
            },
        };
        match outcome {
            Ok(tokens) => {
                // A provider that does not rotate sends no new refresh token: the old one stays.
                split.store_grant(&tokens);
                record.valid = true;
                record.refresh_failures = 0;
                record.refresh_retry_at = None;
                record.last_refreshed_at = Some(now_millis());
                Ok(Refreshed::New(record, split))
            }
            Err(error @ (TokenError::InvalidGrant { .. } | TokenError::Rejected { .. } | TokenError::Refused(_))) => {
                // Another node may have refreshed with this token a moment ago: look before condemning the grant.
                let current = self.reread(&record).await?;
                let now = self.configuration_in_use(&current).await?.values();
                if now.get(grant_key) != Some(&refresh_token_text(&grant)) {
                    return Ok(Refreshed::Stored(current, now));
                }
                let detail = error.to_string();
                let mut invalid = current;
                invalid.valid = false;
                invalid.refresh_retry_at = None;
                self.record_failure(&mut invalid, detail.clone()).await?;
                let refused = format!("the provider refused the grant: {detail}");
                self.note_history(history_entry(&invalid, HistoryKind::RefreshFailed, &Actor::System, refused)).await;
                self.announce(&invalid, &entry.definition.key, NotifiedState::Invalid, &detail).await?;
                metrics::counter!("tether_token_refreshes_total", "outcome" => "invalid_grant").increment(1);
                tracing::warn!(instance = %id, "the provider refused an instance's refresh token; marked invalid");
                Err(invalid_grant(id, &detail))
            }
            Err(error) => {
                self.note_transient_failure(entry, &record, &error).await?;
                metrics::counter!("tether_token_refreshes_total", "outcome" => "failed").increment(1);
                Err(provider_error(error))
            }
        }
    }

    /// A failure worth retrying: schedules the next attempt, or, when the attempts have run out, disables the
    /// instance and tells the organization.
    async fn note_transient_failure(
        &self,
        entry: &CatalogEntry,
        record: &InstanceRecord,
        error: &TokenError,
    ) -> Result<(), HubError> {
        let mut failing = self.reread(record).await?;
        failing.refresh_failures += 1;
        let detail = error.to_string();
        let attempt = format!("attempt {} of {}: {detail}", failing.refresh_failures, self.settings.refresh_attempts);
        self.note_history(history_entry(&failing, HistoryKind::RefreshFailed, &Actor::System, attempt)).await;
        if failing.refresh_failures == 1 {
            // The first failed attempt of a run: the team hears of it once, before any retry.
            let instance = (&failing, entry.definition.key.as_str());
            self.emit_lifecycle("instance.refresh_failing", instance, Some(detail.clone())).await?;
        }
        if failing.refresh_failures >= i64::from(self.settings.refresh_attempts) {
            failing.disabled = true;
            failing.refresh_retry_at = None;
            self.record_failure(&mut failing, detail.clone()).await?;
            self.announce(&failing, &entry.definition.key, NotifiedState::Disabled, &detail).await?;
            tracing::warn!(instance = %failing.id, attempts = failing.refresh_failures, "refreshes kept failing; disabled the instance");
            return Ok(());
        }
        let retry_after = match error {
            TokenError::Transient { retry_after: Some(wait), .. } => *wait,
            _ => Duration::ZERO,
        };
        let wait = self.settings.refresh_retry.max(retry_after);
        failing.refresh_retry_at =
            Some(self.clock().now_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2));
        self.record_failure(&mut failing, detail).await
    }

    /// Notes a failure on the instance, for its health.
    async fn record_failure(&self, record: &mut InstanceRecord, error: String) -> Result<(), HubError> {
        record.last_error = Some(error);
        record.last_error_at = Some(now_millis());
        self.save_instance(record).await?;
        Ok(())
    }
}
