//! Tether's configuration: built-in defaults, then an optional `tether.toml`, then `TETHER_*` variables and `DATABASE_URL`.

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The settings a `tether` process runs with. Every field can come from the file or the environment.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Where the HTTP server listens (`TETHER_LISTEN`).
    pub listen: SocketAddr,
    /// Where the SQLite database and the generated master key live (`TETHER_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` (`DATABASE_URL`); defaults to `tether.db` in the data directory.
    pub database_url: Option<String>,
    /// Base64 of 32 bytes (`TETHER_MASTER_KEY`); when absent, a key file in the data directory is used or made.
    pub master_key: Option<SecretString>,
    /// The URL users reach the console at; an `https` URL makes the session cookie `Secure`.
    pub public_url: Option<String>,
    /// A `tracing` filter such as `info` or `tether=debug` (`TETHER_LOG`).
    pub log: String,
    /// The largest request body the REST API accepts, in bytes.
    pub max_body_bytes: usize,
    /// How long a console session lasts.
    pub session_ttl_hours: i64,
    /// The console sign-in of the admin user made on first start.
    pub admin_email: String,
    /// The folder with the console's compiled assets (`pkg/`), as cargo-leptos writes it.
    pub site_root: PathBuf,
    /// Lets custom elements name loopback and private-network hosts, and plain `http` on loopback
    /// (`TETHER_ALLOW_PRIVATE_NETWORK`). Off by default: an organization must not reach Tether's own network.
    pub allow_private_network: bool,
    /// How many seconds before its expiry an access token is refreshed ahead of a proxied call
    /// (`TETHER_REFRESH_MARGIN_SECONDS`).
    pub refresh_margin_seconds: i64,
}

/// The defaults, written out so the file and the environment only name what they change.
#[derive(Serialize)]
struct Defaults {
    listen: &'static str,
    data_dir: &'static str,
    log: &'static str,
    max_body_bytes: usize,
    session_ttl_hours: i64,
    admin_email: &'static str,
    site_root: &'static str,
    allow_private_network: bool,
    refresh_margin_seconds: i64,
}

const DEFAULTS: Defaults = Defaults {
    listen: "127.0.0.1:3000",
    data_dir: "./data",
    log: "info",
    max_body_bytes: 1024 * 1024,
    session_ttl_hours: 7 * 24,
    admin_email: "admin@tether.local",
    site_root: "target/site",
    allow_private_network: false,
    refresh_margin_seconds: 300,
};

/// The config file read when `--config` does not name one.
pub const DEFAULT_CONFIG_FILE: &str = "tether.toml";

impl Config {
    /// Reads the layered configuration and checks it.
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Config> {
        let file = config_file.unwrap_or(Path::new(DEFAULT_CONFIG_FILE));
        if config_file.is_some() && !file.exists() {
            anyhow::bail!("config file {} does not exist", file.display());
        }
        let figment = Figment::from(Serialized::defaults(DEFAULTS))
            .merge(Toml::file(file))
            .merge(Env::prefixed("TETHER_").ignore(&["CONFIG"]))
            .merge(Env::raw().only(&["DATABASE_URL"]));
        Self::from_figment(figment)
    }

    fn from_figment(figment: Figment) -> anyhow::Result<Config> {
        let mut config: Config =
            figment.extract().map_err(|error| anyhow::anyhow!("invalid configuration: {error}"))?;
        // An empty DATABASE_URL means "not set", as shells and env files often leave it.
        config.database_url = config.database_url.filter(|url| !url.trim().is_empty());
        config.validate()?;
        Ok(config)
    }

    /// A configuration for tests: everything under `data_dir`, listening on a free loopback port.
    pub fn for_tests(data_dir: &Path, database_url: Option<String>) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_path_buf(),
            database_url,
            master_key: None,
            public_url: None,
            log: DEFAULTS.log.into(),
            max_body_bytes: DEFAULTS.max_body_bytes,
            session_ttl_hours: DEFAULTS.session_ttl_hours,
            admin_email: DEFAULTS.admin_email.into(),
            site_root: data_dir.join("site"),
            allow_private_network: true,
            refresh_margin_seconds: DEFAULTS.refresh_margin_seconds,
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            anyhow::bail!("database_url must start with sqlite:, postgres:// or postgresql://");
        }
        if self.max_body_bytes == 0 {
            anyhow::bail!("max_body_bytes must be greater than zero");
        }
        if self.session_ttl_hours <= 0 {
            anyhow::bail!("session_ttl_hours must be greater than zero");
        }
        if !self.admin_email.contains('@') {
            anyhow::bail!("admin_email must be an email address");
        }
        Ok(())
    }

    /// The database to use: `DATABASE_URL` when set, else a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("tether.db").display()),
        }
    }

    /// Whether the console is served over https, so its cookie must be `Secure`.
    pub fn serves_https(&self) -> bool {
        self.public_url.as_deref().is_some_and(|url| url.starts_with("https://"))
    }
}

#[cfg(test)]
// figment's Jail closures return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_and_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tether.toml", "listen = \"127.0.0.1:4000\"\nlog = \"debug\"")?;
            jail.set_env("TETHER_LISTEN", "127.0.0.1:5000");
            jail.set_env("DATABASE_URL", "postgres://localhost/tether");
            let config = Config::load(None).expect("config loads");
            assert_eq!(config.listen.port(), 5000);
            assert_eq!(config.log, "debug");
            assert_eq!(config.database_url(), "postgres://localhost/tether");
            assert_eq!(config.data_dir, PathBuf::from("./data"));
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TETHER_LISTEN", "not-an-address");
            let error = Config::load(None).unwrap_err().to_string();
            assert!(error.to_lowercase().contains("listen"), "{error}");
            jail.set_env("TETHER_LISTEN", "127.0.0.1:1");
            jail.set_env("DATABASE_URL", "mysql://x");
            let error = Config::load(None).unwrap_err().to_string();
            assert!(error.contains("database_url"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn default_database_is_sqlite_in_data_dir() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TETHER_DATA_DIR", "/srv/tether");
            let config = Config::load(None).expect("config loads");
            assert_eq!(config.database_url(), "sqlite:///srv/tether/tether.db?mode=rwc");
            Ok(())
        });
    }
}
