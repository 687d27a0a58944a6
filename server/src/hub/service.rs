//! The hub's state: the store, the vault, the catalog, the outbound client and the settings every capability reads.

use super::errors::OrInternal;
use crate::catalog::{Catalog, HostPolicy};
use crate::providers::token_client::TokenClient;
use crate::security::secrets;
use crate::security::vault::Vault;
use crate::store::Store;
use crate::store::audit::{Actor, AuditEntry};
use crate::telemetry::current_request_id;
use app::error::HubError;
use app::types::OrganizationId;
use secrecy::ExposeSecret;
use std::sync::Arc;

/// The hub's implementation over a [`Store`] and a [`Vault`].
pub struct HubService {
    pub(super) store: Store,
    pub(super) vault: Vault,
    pub(super) catalog: Catalog,
    pub(super) settings: HubSettings,
    pub(super) token_client: TokenClient,
    pub(super) refresh_locks: super::refresh_locks::RefreshLocks,
    /// The one guarded client for every request made on a tenant's behalf.
    pub(super) outbound: crate::providers::outbound::Outbound,
    /// Names this process in refresh leases.
    pub(super) node_id: String,
    /// Callers and provider calls resolved lately; every write that changes one must forget it.
    pub(super) call_cache: super::call_cache::CallCache,
    /// Wakes this node's deliverer when events are queued here, so they need not wait for its next tick.
    pub(super) deliveries_queued: Arc<tokio::sync::Notify>,
    /// Sends sign-in codes by text message.
    pub(super) sms: Box<dyn crate::messages::sms::SmsSender>,
    /// The time the workers read when they ask what is due.
    clock: crate::clock::Clock,
    /// Writes the proxy's call records.
    pub(super) call_recorder: super::call_recorder::CallRecorder,
    /// Instances' own limits on calls through them.
    pub(super) call_rates: super::call_rates::CallRates,
}

/// The configuration the hub's operations follow.
#[derive(Clone, Debug)]
pub struct HubSettings {
    pub session_ttl: chrono::Duration,
    /// Which hosts custom elements may name.
    pub element_hosts: HostPolicy,
    /// Where users reach Tether (`public_url`), for the console's OAuth callback; else the request's own origin.
    pub public_url: Option<String>,
    /// How close to its expiry an access token is refreshed before a proxied call.
    pub refresh_margin: chrono::Duration,
    /// How many transient refresh failures in a row disable an instance.
    pub refresh_attempts: u32,
    /// The wait between those attempts.
    pub refresh_retry: std::time::Duration,
    /// How long a call to a token endpoint may take.
    pub token_timeout: std::time::Duration,
    /// How long a node holds an instance's refresh lease: longer than any token request it makes under it.
    pub refresh_lease: std::time::Duration,
    /// How long a node keeps an API caller or a resolved provider call; zero keeps none.
    pub call_cache_ttl: std::time::Duration,
    /// The shortest poll interval an instance may ask for.
    pub poll_min_interval: std::time::Duration,
    /// Where sign-in codes sent by text message go.
    pub sms: crate::messages::sms::SmsRoute,
    /// What the proxy records of each call, and for how long.
    pub call_logs: super::call_recorder::CallLogSettings,
}

impl HubSettings {
    pub fn from_config(config: &crate::config::Config) -> HubSettings {
        HubSettings {
            session_ttl: crate::config::as_chrono(config.server.session_lifetime),
            element_hosts: if config.outbound.allow_private_network {
                HostPolicy::AllowPrivate
            } else {
                HostPolicy::PublicOnly
            },
            public_url: config.server.public_url.as_ref().map(|url| url.trim_end_matches('/').to_owned()),
            refresh_margin: crate::config::as_chrono(config.refresh.margin),
            refresh_attempts: config.refresh.attempts,
            refresh_retry: config.refresh.retry,
            token_timeout: config.refresh.timeout,
            refresh_lease: config.refresh.timeout + std::time::Duration::from_secs(5),
            call_cache_ttl: config.proxy.call_cache,
            poll_min_interval: config.poll.min_interval,
            call_logs: super::call_recorder::CallLogSettings::from_config(&config.proxy),
            sms: match &config.sms.url {
                Some(url) => crate::messages::sms::SmsRoute::Http { url: url.clone(), token: config.sms.token.clone() },
                None => crate::messages::sms::SmsRoute::Outbox,
            },
        }
    }
}

impl HubService {
    pub fn new(
        store: Store,
        vault: Vault,
        catalog: Catalog,
        settings: HubSettings,
        outbound: crate::providers::outbound::Outbound,
    ) -> HubService {
        let token_client = TokenClient::new(settings.token_timeout, outbound.clone());
        let call_cache = super::call_cache::CallCache::new(settings.call_cache_ttl);
        let sms = settings.sms.sender(store.clone());
        let call_recorder = super::call_recorder::CallRecorder::start(store.clone(), settings.call_logs.clone());
        HubService {
            sms,
            store,
            vault,
            catalog,
            settings,
            token_client,
            refresh_locks: super::refresh_locks::RefreshLocks::default(),
            outbound,
            node_id: format!("{}-{}", std::process::id(), secrets::generate_secret().expose_secret()),
            call_cache,
            deliveries_queued: Arc::new(tokio::sync::Notify::new()),
            clock: crate::clock::Clock::default(),
            call_recorder,
            call_rates: super::call_rates::CallRates::default(),
        }
    }

    /// The time at which the workers ask what refreshes, polls and deliveries are due.
    pub fn clock(&self) -> &crate::clock::Clock {
        &self.clock
    }

    /// Notified whenever this node queues events for delivery.
    pub fn deliveries_queued(&self) -> Arc<tokio::sync::Notify> {
        self.deliveries_queued.clone()
    }

    /// The guarded client every request on a tenant's behalf goes through.
    pub fn outbound(&self) -> &crate::providers::outbound::Outbound {
        &self.outbound
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// How this process names itself in leases.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub(super) async fn audit(
        &self,
        organization: OrganizationId,
        actor: Actor,
        action: &str,
        target: String,
    ) -> Result<(), HubError> {
        self.store
            .record_audit(&AuditEntry {
                organization_id: Some(organization),
                actor: actor.to_string(),
                action: action.into(),
                target,
                request_id: current_request_id(),
            })
            .await
            .or_internal()
    }
}

impl app::hub::Hub for HubService {}
