//! Tether's server: configuration, storage, encryption, the hub service, and the two HTTP doors over it
//! (the REST API and the console), plus the operator CLI.

pub mod api;
pub mod bootstrap;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod console;
pub mod crypto;
pub mod http;
pub mod hub;
pub mod jobs;
pub mod notify;
pub mod outbound;
pub mod provider_client;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod token_client;
pub mod validate;
pub mod vault;
pub mod webhooks;

use config::Config;
use crypto::MasterKey;
use hub::HubService;
use std::future::Future;
use std::sync::Arc;
use store::Store;
use vault::Vault;

/// The name of the generated master key file inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// An opened Tether: migrated storage, unlocked vault and the hub service over them.
pub struct Tether {
    pub config: Config,
    pub hub: Arc<HubService>,
}

impl Tether {
    /// Prepares the data directory, connects and migrates the database, and unlocks the keyring.
    pub async fn open(config: Config) -> anyhow::Result<Tether> {
        prepare_data_dir(&config)?;
        let master = match &config.master_key {
            Some(encoded) => MasterKey::from_base64(encoded)?,
            None => MasterKey::load_or_create(&config.data_dir.join(MASTER_KEY_FILE))?,
        };
        let store = Store::connect(&config.database_url()).await?;
        store.migrate().await?;
        let vault = Vault::open(store.clone(), master).await?;
        let catalog = catalog::Catalog::open(&store).await?;
        let hub = Arc::new(HubService::new(store, vault, catalog, hub::HubSettings::from_config(&config)));
        Ok(Tether { config, hub })
    }

    /// Serves both doors on `listener`, and the background workers when configured, until `shutdown` resolves;
    /// then finishes in-flight requests and passes.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = http::router(self.hub.clone(), &self.config);
        let workers =
            if self.config.workers { Some(jobs::Workers::start(self.hub.clone(), &self.config)?) } else { None };
        let served = axum::serve(listener, router).with_graceful_shutdown(shutdown).await;
        if let Some(workers) = workers {
            workers.stop().await;
        }
        served?;
        Ok(())
    }
}

fn prepare_data_dir(config: &Config) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !config.data_dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&config.data_dir)
            .map_err(|error| anyhow::anyhow!("cannot create data directory {}: {error}", config.data_dir.display()))?;
    }
    Ok(())
}
