//! Tether's server: configuration, storage, encryption, the hub service, and the two HTTP doors over it
//! (the REST API and the console), plus the operator CLI.

pub mod api;
pub mod bootstrap;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connect_steps;
pub mod connections;
pub mod console;
pub mod http;
pub mod hub;
pub mod jobs;
pub mod memory;
pub mod messages;
pub mod providers;
pub mod sandbox;
pub mod security;
pub mod site;
pub mod store;
pub mod telemetry;
pub mod validate;

use config::Config;
use hub::HubService;
use security::crypto::MasterKey;
use security::vault::Vault;
use std::future::Future;
use std::sync::Arc;
use store::Store;

/// The name of the generated master key file inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// An opened Tether: migrated storage, unlocked vault and the hub service over them.
pub struct Tether {
    pub config: Config,
    pub hub: Arc<HubService>,
    /// Tether Sandbox, when `sandbox` is on.
    pub sandbox: Option<Arc<sandbox::Sandbox>>,
}

impl Tether {
    /// Prepares the data directory, connects and migrates the database, and unlocks the keyring.
    pub async fn open(config: Config) -> anyhow::Result<Tether> {
        prepare_data_dir(&config)?;
        let master = match &config.server.master_key {
            Some(encoded) => MasterKey::from_base64(encoded)?,
            None => MasterKey::load_or_create(&config.server.data_dir.join(MASTER_KEY_FILE))?,
        };
        let store = Store::connect(&config.database_url()).await?;
        store.migrate().await?;
        let vault = Vault::open(store.clone(), master).await?;
        let outbound = providers::outbound::Outbound::new(config.outbound_settings());
        let sandbox = if config.sandbox.enabled { Some(open_sandbox(&config)?) } else { None };
        let sandbox_element = match &sandbox {
            Some(_) => vec![catalog::sandbox_element(&sandbox_url(&config))?],
            None => Vec::new(),
        };
        let catalog = catalog::Catalog::open(&store, sandbox_element).await?;
        let hub = Arc::new(HubService::new(store, vault, catalog, hub::HubSettings::from_config(&config), outbound));
        Ok(Tether { config, hub, sandbox })
    }

    /// Serves both doors on `listener`, and the background workers when configured, until `shutdown` resolves;
    /// then finishes in-flight requests and passes.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let mut router = http::router(self.hub.clone(), &self.config);
        router = match &self.sandbox {
            Some(sandbox) => router.nest(sandbox::BASE_PATH, sandbox::router(sandbox)),
            None => router.merge(sandbox::not_served()),
        };
        let workers = if self.config.workers.enabled {
            Some(jobs::Workers::start(self.hub.clone(), &self.config)?)
        } else {
            None
        };
        let timeouts = connections::ReadTimeouts {
            headers: self.config.limits.header_read_timeout,
            body: self.config.limits.body_read_timeout,
        };
        let trimming = memory::return_freed_memory_periodically();
        let served = connections::serve(listener, router, timeouts, shutdown).await;
        trimming.abort();
        if let Some(workers) = workers {
            workers.stop().await;
        }
        served?;
        Ok(())
    }
}

/// Where the sandbox is served: under this node's base URL.
fn sandbox_url(config: &Config) -> String {
    format!("{}{}", config.base_url(), sandbox::BASE_PATH)
}

/// Opens the sandbox with its state in the data directory. Its client accepts the console's callback at the
/// base URL (and at `localhost` for a loopback one) and the configured extra redirect URIs.
fn open_sandbox(config: &Config) -> anyhow::Result<Arc<sandbox::Sandbox>> {
    let base = config.base_url();
    let mut consoles = vec![base.clone()];
    if base.starts_with("http://127.0.0.1:") {
        consoles.push(base.replacen("127.0.0.1", "localhost", 1));
    }
    let callbacks = consoles.iter().map(|console| format!("{console}{}", hub::CONSOLE_CALLBACK_PATH));
    let redirect_uris = callbacks
        .chain(config.sandbox.redirect_uris.iter().cloned())
        .map(|uri| url::Url::parse(&uri).map_err(|error| anyhow::anyhow!("sandbox redirect URI {uri}: {error}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    sandbox::Sandbox::open(sandbox::SandboxSettings {
        base_url: sandbox_url(config),
        redirect_uris,
        access_token_lifetime: crate::config::as_chrono(config.sandbox.access_token_lifetime),
        state_file: config.server.data_dir.join("sandbox.json"),
        // The sandbox is this node's own provider: besides what the policy allows anyone, it may post to this
        // node's own webhook route, as a provider on the internet would.
        outbound: providers::outbound::Outbound::new(providers::outbound::OutboundSettings {
            trusted_prefixes: vec![format!("{base}{}/events/", api::BASE_PATH)],
            ..config.outbound_settings()
        }),
    })
}

fn prepare_data_dir(config: &Config) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !config.server.data_dir.exists() {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&config.server.data_dir).map_err(|error| {
            anyhow::anyhow!("cannot create data directory {}: {error}", config.server.data_dir.display())
        })?;
    }
    Ok(())
}
