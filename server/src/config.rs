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
    /// How long a client may take to send a request's headers, in seconds (`TETHER_HEADER_READ_TIMEOUT_SECONDS`);
    /// a connection that takes longer is closed.
    pub header_read_timeout_seconds: f64,
    /// How long a client may take to send a request's whole body, in seconds (`TETHER_BODY_READ_TIMEOUT_SECONDS`);
    /// a REST API request that takes longer gets 408.
    pub body_read_timeout_seconds: f64,
    /// How long a console session lasts.
    pub session_ttl_hours: i64,
    /// The console sign-in of the admin user made on first start.
    pub admin_email: String,
    /// The folder with the console's compiled assets (`pkg/`), as cargo-leptos writes it.
    pub site_root: PathBuf,
    /// Lets custom elements name loopback and private-network hosts, and plain `http` on loopback
    /// (`TETHER_ALLOW_PRIVATE_NETWORK`). Off by default: an organization must not reach Tether's own network.
    pub allow_private_network: bool,
    /// Names Tether's outbound client answers itself, as `/etc/hosts` would (`[resolve_hosts]` in the file, as
    /// `"api.internal" = ["10.0.0.7"]`). Their addresses pass the same outbound check as resolved ones.
    #[serde(default)]
    pub resolve_hosts: std::collections::BTreeMap<String, Vec<std::net::IpAddr>>,
    /// How many seconds before its expiry an access token is refreshed ahead of a proxied call
    /// (`TETHER_REFRESH_MARGIN_SECONDS`).
    pub refresh_margin_seconds: i64,
    /// How many refresh attempts in a row may fail transiently (network, timeout, 5xx, 429) before the instance
    /// is disabled and its organization told (`TETHER_REFRESH_ATTEMPTS`).
    pub refresh_attempts: u32,
    /// How long Tether waits for a provider's token endpoint, in seconds (`TETHER_REFRESH_TIMEOUT_SECONDS`). A
    /// node's refresh lease lasts 5 s longer, so another node takes over only once the request has surely ended.
    pub refresh_timeout_seconds: u64,
    /// The wait between those attempts, in seconds; a longer `Retry-After` wins (`TETHER_REFRESH_RETRY_SECONDS`).
    pub refresh_retry_seconds: f64,
    /// The UTC hour at which the nightly sweep refreshes every refreshable instance (`TETHER_REFRESH_SWEEP_HOUR`).
    pub refresh_sweep_hour: u32,
    /// The sweep starts at a random moment up to this many minutes after that hour (`TETHER_REFRESH_SWEEP_JITTER_MINUTES`).
    pub refresh_sweep_jitter_minutes: u32,
    /// How many refreshes the background refresher runs at once (`TETHER_REFRESH_CONCURRENCY`).
    pub refresh_concurrency: usize,
    /// Whether this node runs the background workers: refresher and mailer (`TETHER_WORKERS`). Every node may;
    /// their work is claimed in the database, so each item is done once.
    pub workers: bool,
    /// How often the workers look for due work, in milliseconds (`TETHER_WORKER_TICK_MILLIS`).
    pub worker_tick_millis: u64,
    /// The SMTP server for notices, as `smtp://user:password@host:port` (STARTTLS with `?tls=required`) or
    /// `smtps://…` (`TETHER_SMTP_URL`). Without it, notices stay in the console's outbox.
    pub smtp_url: Option<SecretString>,
    /// The sender of notices (`TETHER_MAIL_FROM`).
    pub mail_from: String,
    /// An SMS provider's endpoint for sign-in codes (`TETHER_SMS_URL`): Tether posts JSON `{"to", "body"}` to it.
    /// Without it, text messages stay in the console's outbox, which suits development only.
    pub sms_url: Option<String>,
    /// The bearer token for `sms_url`, if it wants one (`TETHER_SMS_TOKEN`).
    pub sms_token: Option<SecretString>,
    /// How long a node keeps what a proxied call needs from the database, in seconds: the API caller behind a
    /// pair of secrets and the instance's resolved credentials (`TETHER_CALL_CACHE_SECONDS`). A node forgets
    /// what it changes at once; a change made on another node reaches it within this time. 0 turns it off.
    pub call_cache_seconds: f64,
    /// The shortest poll interval an instance may ask for, in seconds (`TETHER_POLL_MIN_INTERVAL_SECONDS`).
    pub poll_min_interval_seconds: f64,
    /// How many instances a node polls at once (`TETHER_POLL_CONCURRENCY`).
    pub poll_concurrency: usize,
    /// How long one poll of an instance may take, all its resources together, in seconds
    /// (`TETHER_POLL_TIMEOUT_SECONDS`). A node holds a poll 5 s longer, so another takes over only once it has
    /// surely ended.
    pub poll_timeout_seconds: f64,
    /// The waits before each retry of a failed event delivery, in seconds (`TETHER_DELIVERY_RETRY_SECONDS`, as
    /// `[60, 300]`). After the last, the event fails and the instance's deliveries pause.
    pub delivery_retry_seconds: Vec<f64>,
    /// How long a callback URL may take to answer, in seconds (`TETHER_DELIVERY_TIMEOUT_SECONDS`).
    pub delivery_timeout_seconds: f64,
    /// How many deliveries a node sends at once (`TETHER_DELIVERY_CONCURRENCY`).
    pub delivery_concurrency: usize,
    /// How many REST calls a second each organization may make on this node, sustained
    /// (`TETHER_API_RATE_LIMIT_PER_SECOND`); 0 turns the limit off. A call over it is answered 429 with `Retry-After`.
    pub api_rate_limit_per_second: f64,
    /// How many calls an organization may make at once above that rate (`TETHER_API_RATE_LIMIT_BURST`).
    pub api_rate_limit_burst: u32,
    /// Serves Tether Sandbox, a practice provider, under `/sandbox` and lists its element (`TETHER_SANDBOX`).
    /// Off by default; `make run` turns it on.
    pub sandbox: bool,
    /// How long the sandbox's access tokens live, in seconds (`TETHER_SANDBOX_ACCESS_TOKEN_SECONDS`). The
    /// default, 6 minutes, is one minute more than the refresh margin, so a refresh comes a minute after sign-in.
    pub sandbox_access_token_seconds: u64,
    /// Redirect URIs the sandbox's client accepts besides the console's own callback
    /// (`TETHER_SANDBOX_REDIRECT_URIS`, as `["https://app.example/callback"]`).
    pub sandbox_redirect_uris: Vec<String>,
}

/// How often, by default, each background worker looks for work when it has none at hand.
pub const DEFAULT_WORKER_TICK_MILLIS: u64 = 1000;

/// The defaults, written out so the file and the environment only name what they change.
#[derive(Serialize)]
struct Defaults {
    listen: &'static str,
    data_dir: &'static str,
    log: &'static str,
    max_body_bytes: usize,
    header_read_timeout_seconds: f64,
    body_read_timeout_seconds: f64,
    session_ttl_hours: i64,
    admin_email: &'static str,
    site_root: &'static str,
    allow_private_network: bool,
    refresh_margin_seconds: i64,
    refresh_attempts: u32,
    refresh_timeout_seconds: u64,
    refresh_retry_seconds: f64,
    refresh_sweep_hour: u32,
    refresh_sweep_jitter_minutes: u32,
    refresh_concurrency: usize,
    workers: bool,
    worker_tick_millis: u64,
    mail_from: &'static str,
    call_cache_seconds: f64,
    poll_min_interval_seconds: f64,
    poll_concurrency: usize,
    poll_timeout_seconds: f64,
    delivery_retry_seconds: &'static [f64],
    delivery_timeout_seconds: f64,
    delivery_concurrency: usize,
    api_rate_limit_per_second: f64,
    api_rate_limit_burst: u32,
    sandbox: bool,
    sandbox_access_token_seconds: u64,
    sandbox_redirect_uris: &'static [&'static str],
}

/// Cloud Elements retries a delivery for about three days; so does Tether: 1, 5 and 15 minutes, 1, 3, 6 and 12
/// hours, then two days, 70 hours in all.
const DELIVERY_RETRY_SECONDS: [f64; 9] = [60.0, 300.0, 900.0, 3600.0, 10800.0, 21600.0, 43200.0, 86400.0, 86400.0];

const DEFAULTS: Defaults = Defaults {
    listen: "127.0.0.1:3000",
    data_dir: "./data",
    log: "info",
    max_body_bytes: 1024 * 1024,
    header_read_timeout_seconds: 30.0,
    body_read_timeout_seconds: 60.0,
    session_ttl_hours: 7 * 24,
    admin_email: "admin@tether.local",
    site_root: "target/site",
    allow_private_network: false,
    refresh_margin_seconds: 300,
    refresh_attempts: 5,
    refresh_timeout_seconds: 30,
    refresh_retry_seconds: 10.0,
    refresh_sweep_hour: 3,
    refresh_sweep_jitter_minutes: 30,
    refresh_concurrency: 32,
    workers: true,
    worker_tick_millis: DEFAULT_WORKER_TICK_MILLIS,
    mail_from: "Tether <tether@localhost>",
    call_cache_seconds: 2.0,
    poll_min_interval_seconds: 60.0,
    poll_concurrency: 8,
    poll_timeout_seconds: 60.0,
    delivery_retry_seconds: &DELIVERY_RETRY_SECONDS,
    delivery_timeout_seconds: 10.0,
    delivery_concurrency: 16,
    api_rate_limit_per_second: 100.0,
    api_rate_limit_burst: 1000,
    sandbox: false,
    sandbox_access_token_seconds: 360,
    sandbox_redirect_uris: &[],
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
            header_read_timeout_seconds: DEFAULTS.header_read_timeout_seconds,
            body_read_timeout_seconds: DEFAULTS.body_read_timeout_seconds,
            session_ttl_hours: DEFAULTS.session_ttl_hours,
            admin_email: DEFAULTS.admin_email.into(),
            site_root: data_dir.join("site"),
            allow_private_network: true,
            resolve_hosts: Default::default(),
            refresh_margin_seconds: DEFAULTS.refresh_margin_seconds,
            refresh_attempts: DEFAULTS.refresh_attempts,
            refresh_timeout_seconds: DEFAULTS.refresh_timeout_seconds,
            refresh_retry_seconds: DEFAULTS.refresh_retry_seconds,
            refresh_sweep_hour: DEFAULTS.refresh_sweep_hour,
            refresh_sweep_jitter_minutes: DEFAULTS.refresh_sweep_jitter_minutes,
            refresh_concurrency: DEFAULTS.refresh_concurrency,
            // Tests that want the background workers turn them on; the rest stay free of their timing.
            workers: false,
            worker_tick_millis: 50,
            smtp_url: None,
            mail_from: DEFAULTS.mail_from.into(),
            sms_url: None,
            sms_token: None,
            call_cache_seconds: DEFAULTS.call_cache_seconds,
            poll_min_interval_seconds: 0.0,
            poll_concurrency: DEFAULTS.poll_concurrency,
            poll_timeout_seconds: DEFAULTS.poll_timeout_seconds,
            delivery_retry_seconds: DEFAULTS.delivery_retry_seconds.to_vec(),
            delivery_timeout_seconds: DEFAULTS.delivery_timeout_seconds,
            delivery_concurrency: DEFAULTS.delivery_concurrency,
            // Tests and benchmarks that want the limit set it; the rest send as fast as they like.
            api_rate_limit_per_second: 0.0,
            api_rate_limit_burst: DEFAULTS.api_rate_limit_burst,
            sandbox: false,
            sandbox_access_token_seconds: DEFAULTS.sandbox_access_token_seconds,
            sandbox_redirect_uris: Vec::new(),
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            anyhow::bail!("database_url must start with sqlite:, postgres:// or postgresql://");
        }
        if let Some(url) = &self.sms_url
            && !url::Url::parse(url).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
        {
            anyhow::bail!("sms_url must be an http:// or https:// URL");
        }
        if self.max_body_bytes == 0 {
            anyhow::bail!("max_body_bytes must be greater than zero");
        }
        if self.session_ttl_hours <= 0 {
            anyhow::bail!("session_ttl_hours must be greater than zero");
        }
        for (name, seconds) in [
            ("header_read_timeout_seconds", self.header_read_timeout_seconds),
            ("body_read_timeout_seconds", self.body_read_timeout_seconds),
        ] {
            if !(seconds.is_finite() && seconds > 0.0) {
                anyhow::bail!("{name} must be a number of seconds greater than zero");
            }
        }
        if !self.admin_email.contains('@') {
            anyhow::bail!("admin_email must be an email address");
        }
        if self.refresh_margin_seconds < 0 {
            anyhow::bail!("refresh_margin_seconds must be a number of seconds, 0 or more");
        }
        if self.refresh_attempts == 0 {
            anyhow::bail!("refresh_attempts must be at least 1");
        }
        if self.refresh_timeout_seconds == 0 {
            anyhow::bail!("refresh_timeout_seconds must be at least 1");
        }
        if !(self.refresh_retry_seconds.is_finite() && self.refresh_retry_seconds >= 0.0) {
            anyhow::bail!("refresh_retry_seconds must be a number of seconds, 0 or more");
        }
        if !(self.call_cache_seconds.is_finite() && (0.0..=3600.0).contains(&self.call_cache_seconds)) {
            anyhow::bail!("call_cache_seconds must be a number of seconds from 0 to 3600");
        }
        let seconds = |value: f64| value.is_finite() && value >= 0.0;
        if !seconds(self.poll_min_interval_seconds) {
            anyhow::bail!("poll_min_interval_seconds must be a number of seconds, 0 or more");
        }
        if !self.delivery_retry_seconds.iter().all(|wait| seconds(*wait)) {
            anyhow::bail!("delivery_retry_seconds must be a list of waits in seconds, each 0 or more");
        }
        if !(seconds(self.delivery_timeout_seconds) && self.delivery_timeout_seconds > 0.0) {
            anyhow::bail!("delivery_timeout_seconds must be more than 0");
        }
        if !(seconds(self.poll_timeout_seconds) && self.poll_timeout_seconds > 0.0) {
            anyhow::bail!("poll_timeout_seconds must be more than 0");
        }
        if self.poll_concurrency == 0 || self.delivery_concurrency == 0 {
            anyhow::bail!("poll_concurrency and delivery_concurrency must be at least 1");
        }
        if self.refresh_sweep_hour > 23 {
            anyhow::bail!("refresh_sweep_hour must be an hour of the day, 0 to 23");
        }
        if self.refresh_concurrency == 0 {
            anyhow::bail!("refresh_concurrency must be at least 1");
        }
        if self.worker_tick_millis == 0 {
            anyhow::bail!("worker_tick_millis must be greater than zero");
        }
        if !(self.api_rate_limit_per_second.is_finite() && self.api_rate_limit_per_second >= 0.0) {
            anyhow::bail!("api_rate_limit_per_second must be a number of calls a second, 0 (off) or more");
        }
        if self.sandbox_access_token_seconds == 0 {
            anyhow::bail!("sandbox_access_token_seconds must be at least 1");
        }
        if let Some(bad) = self.sandbox_redirect_uris.iter().find(|uri| url::Url::parse(uri).is_err()) {
            anyhow::bail!("sandbox_redirect_uris: {bad} is not an absolute URL");
        }
        if !self.mail_from.contains('@') {
            anyhow::bail!("mail_from must name an email address");
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

    /// The outbound client's policy.
    pub fn outbound(&self) -> crate::outbound::OutboundSettings {
        crate::outbound::OutboundSettings {
            allow_private: self.allow_private_network,
            hosts: self.resolve_hosts.clone(),
            // Tether Sandbox is this node's own, so the policy does not keep Tether from it.
            trusted_prefixes: if self.sandbox {
                vec![format!("{}{}/", self.base_url(), crate::sandbox::BASE_PATH)]
            } else {
                Vec::new()
            },
        }
    }

    /// Where users reach this node: the public URL, else the listening address (loopback when it listens on
    /// every interface).
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if self.listen.ip().is_unspecified() => format!("http://127.0.0.1:{}", self.listen.port()),
            None => format!("http://{}", self.listen),
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
            assert_eq!(config.delivery_retry_seconds, DELIVERY_RETRY_SECONDS, "about three days of retries");
            assert_eq!(DELIVERY_RETRY_SECONDS.iter().sum::<f64>() / 3600.0, 70.35);
            jail.set_env("TETHER_DELIVERY_RETRY_SECONDS", "[0.5, 2]");
            assert_eq!(Config::load(None).expect("config loads").delivery_retry_seconds, [0.5, 2.0]);
            jail.set_env("TETHER_DELIVERY_RETRY_SECONDS", "[-1]");
            assert!(Config::load(None).unwrap_err().to_string().contains("delivery_retry_seconds"));
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
            jail.set_env("DATABASE_URL", "sqlite://tether.db");
            jail.set_env("TETHER_REFRESH_MARGIN_SECONDS", "-1");
            let error = Config::load(None).unwrap_err().to_string();
            assert!(error.contains("refresh_margin_seconds"), "{error}");
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
