//! Tether's configuration, in sections of typed values: the defaults in `server/tether.example.toml` (shipped in the
//! binary, each with its comment), then an optional `tether.toml`, then `TETHER_<SECTION>__<KEY>` variables, the
//! flat `TETHER_*` names of earlier releases and `DATABASE_URL`.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Value};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every setting with its default and a comment: the first layer of every configuration.
pub const EXAMPLE_FILE: &str = include_str!("../tether.example.toml");

/// The config file read when `--config` does not name one.
pub const DEFAULT_CONFIG_FILE: &str = "tether.toml";

/// The settings a `tether` process runs with.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerSettings,
    pub limits: Limits,
    pub outbound: OutboundPolicy,
    pub refresh: RefreshSettings,
    pub workers: WorkerSettings,
    pub mail: MailSettings,
    pub sms: SmsSettings,
    pub proxy: ProxySettings,
    pub poll: PollSettings,
    pub delivery: DeliverySettings,
    pub sandbox: SandboxConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    #[serde(default)]
    pub database_url: Option<String>,
    #[serde(default, serialize_with = "masked")]
    pub master_key: Option<SecretString>,
    #[serde(default)]
    pub public_url: Option<String>,
    pub log: String,
    pub site_root: PathBuf,
    pub admin_email: String,
    #[serde(with = "duration")]
    pub session_lifetime: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_body_bytes: usize,
    #[serde(with = "duration")]
    pub header_read_timeout: Duration,
    #[serde(with = "duration")]
    pub body_read_timeout: Duration,
    pub api_calls_per_second: f64,
    pub api_burst: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundPolicy {
    pub allow_private_network: bool,
    #[serde(default)]
    pub resolve_hosts: BTreeMap<String, Vec<IpAddr>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshSettings {
    #[serde(with = "duration")]
    pub margin: Duration,
    pub attempts: u32,
    #[serde(with = "duration")]
    pub retry: Duration,
    #[serde(with = "duration")]
    pub timeout: Duration,
    pub sweep_hour: u32,
    #[serde(with = "duration")]
    pub sweep_jitter: Duration,
    pub concurrency: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    pub enabled: bool,
    #[serde(with = "duration")]
    pub tick: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    #[serde(default, serialize_with = "masked")]
    pub smtp_url: Option<SecretString>,
    pub from: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, serialize_with = "masked")]
    pub token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySettings {
    #[serde(with = "duration")]
    pub call_cache: Duration,
    pub call_logs: bool,
    #[serde(with = "duration")]
    pub call_log_max_age: Duration,
    pub call_log_max_per_instance: u32,
    pub trace_body_limit: usize,
    #[serde(with = "duration")]
    pub trace_max_age: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PollSettings {
    #[serde(with = "duration")]
    pub min_interval: Duration,
    pub concurrency: usize,
    #[serde(with = "duration")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    #[serde(with = "durations")]
    pub retry: Vec<Duration>,
    #[serde(with = "duration")]
    pub timeout: Duration,
    pub concurrency: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    pub enabled: bool,
    #[serde(with = "duration")]
    pub access_token_lifetime: Duration,
    pub redirect_uris: Vec<String>,
}

/// How a flat name of earlier releases gave its value.
#[derive(Clone, Copy)]
enum Unit {
    /// As the setting takes it.
    Same,
    Millis,
    Seconds,
    Minutes,
    Hours,
}

/// The flat names of earlier releases (after `TETHER_`, and as top-level keys of a config file), and where each
/// setting lives now.
const FLAT_NAMES: &[(&str, &str, Unit)] = &[
    ("LISTEN", "server.listen", Unit::Same),
    ("DATA_DIR", "server.data_dir", Unit::Same),
    ("MASTER_KEY", "server.master_key", Unit::Same),
    ("PUBLIC_URL", "server.public_url", Unit::Same),
    ("LOG", "server.log", Unit::Same),
    ("SITE_ROOT", "server.site_root", Unit::Same),
    ("ADMIN_EMAIL", "server.admin_email", Unit::Same),
    ("SESSION_TTL_HOURS", "server.session_lifetime", Unit::Hours),
    ("MAX_BODY_BYTES", "limits.max_body_bytes", Unit::Same),
    ("HEADER_READ_TIMEOUT_SECONDS", "limits.header_read_timeout", Unit::Seconds),
    ("BODY_READ_TIMEOUT_SECONDS", "limits.body_read_timeout", Unit::Seconds),
    ("API_RATE_LIMIT_PER_SECOND", "limits.api_calls_per_second", Unit::Same),
    ("API_RATE_LIMIT_BURST", "limits.api_burst", Unit::Same),
    ("ALLOW_PRIVATE_NETWORK", "outbound.allow_private_network", Unit::Same),
    ("RESOLVE_HOSTS", "outbound.resolve_hosts", Unit::Same),
    ("REFRESH_MARGIN_SECONDS", "refresh.margin", Unit::Seconds),
    ("REFRESH_ATTEMPTS", "refresh.attempts", Unit::Same),
    ("REFRESH_RETRY_SECONDS", "refresh.retry", Unit::Seconds),
    ("REFRESH_TIMEOUT_SECONDS", "refresh.timeout", Unit::Seconds),
    ("REFRESH_SWEEP_HOUR", "refresh.sweep_hour", Unit::Same),
    ("REFRESH_SWEEP_JITTER_MINUTES", "refresh.sweep_jitter", Unit::Minutes),
    ("REFRESH_CONCURRENCY", "refresh.concurrency", Unit::Same),
    ("WORKERS", "workers.enabled", Unit::Same),
    ("WORKER_TICK_MILLIS", "workers.tick", Unit::Millis),
    ("SMTP_URL", "mail.smtp_url", Unit::Same),
    ("MAIL_FROM", "mail.from", Unit::Same),
    ("SMS_URL", "sms.url", Unit::Same),
    ("SMS_TOKEN", "sms.token", Unit::Same),
    ("CALL_CACHE_SECONDS", "proxy.call_cache", Unit::Seconds),
    ("CALL_LOGS", "proxy.call_logs", Unit::Same),
    ("POLL_MIN_INTERVAL_SECONDS", "poll.min_interval", Unit::Seconds),
    ("POLL_CONCURRENCY", "poll.concurrency", Unit::Same),
    ("POLL_TIMEOUT_SECONDS", "poll.timeout", Unit::Seconds),
    ("DELIVERY_RETRY_SECONDS", "delivery.retry", Unit::Seconds),
    ("DELIVERY_TIMEOUT_SECONDS", "delivery.timeout", Unit::Seconds),
    ("DELIVERY_CONCURRENCY", "delivery.concurrency", Unit::Same),
    ("SANDBOX", "sandbox.enabled", Unit::Same),
    ("SANDBOX_ACCESS_TOKEN_SECONDS", "sandbox.access_token_lifetime", Unit::Seconds),
    ("SANDBOX_REDIRECT_URIS", "sandbox.redirect_uris", Unit::Same),
];

/// A flat value in its setting's terms: counts of milliseconds, minutes or hours become seconds.
fn in_seconds(value: Value, unit: Unit) -> Value {
    let factor = match unit {
        Unit::Same | Unit::Seconds => return value,
        Unit::Millis => 0.001,
        Unit::Minutes => 60.0,
        Unit::Hours => 3600.0,
    };
    match value.to_num().and_then(|_| value.deserialize::<f64>().ok()) {
        Some(number) => Value::from(number * factor),
        None => value,
    }
}

/// Puts `value` at the dotted `path` of `dict`.
fn insert(dict: &mut Dict, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            dict.insert(path.to_owned(), value);
        }
        Some((section, rest)) => {
            let entry = dict.entry(section.to_owned()).or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// The flat names set in the environment, in the sectioned shape.
fn flat_environment() -> Dict {
    let mut dict = Dict::new();
    for (name, path, unit) in FLAT_NAMES {
        if let Ok(text) = std::env::var(format!("TETHER_{name}")) {
            let value = text.parse::<Value>().unwrap_or_else(|_| Value::from(text.clone()));
            insert(&mut dict, path, in_seconds(value, *unit));
        }
    }
    if let Ok(url) = std::env::var("DATABASE_URL") {
        insert(&mut dict, "server.database_url", Value::from(url));
    }
    dict
}

/// A config file's settings in the sectioned shape: its sections as written, and the flat top-level keys of an
/// earlier release moved to their sections.
fn file_settings(file: &Path) -> anyhow::Result<Dict> {
    let mut dict = Dict::new();
    let Ok(text) = std::fs::read_to_string(file) else { return Ok(dict) };
    let invalid =
        |error: &dyn std::fmt::Display| anyhow::anyhow!("invalid configuration in {}: {error}", file.display());
    let table: toml::Table = text.parse().map_err(|error| invalid(&error))?;
    for (key, value) in table {
        let value = Value::serialize(&value).map_err(|error| invalid(&error))?;
        // `[workers]` and `[sandbox]` are sections now, `workers = true` and `sandbox = true` flat keys then.
        let flat = FLAT_NAMES.iter().find(|(name, ..)| {
            name.eq_ignore_ascii_case(&key) && (!matches!(value, Value::Dict(..)) || *name == "RESOLVE_HOSTS")
        });
        match flat {
            Some((_, path, unit)) => insert(&mut dict, path, in_seconds(value, *unit)),
            None => {
                dict.insert(key, value);
            }
        }
    }
    Ok(dict)
}

impl Config {
    /// Reads the layered configuration and checks it.
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Config> {
        let file = config_file.unwrap_or(Path::new(DEFAULT_CONFIG_FILE));
        if config_file.is_some() && !file.exists() {
            anyhow::bail!("config file {} does not exist", file.display());
        }
        let figment = Figment::from(Toml::string(EXAMPLE_FILE))
            .merge(Serialized::defaults(file_settings(file)?))
            .merge(Serialized::defaults(flat_environment()))
            .merge(Env::prefixed("TETHER_").filter(|key| key.as_str().contains("__")).split("__"));
        Self::from_figment(figment)
    }

    fn from_figment(figment: Figment) -> anyhow::Result<Config> {
        let mut config: Config =
            figment.extract().map_err(|error| anyhow::anyhow!("invalid configuration: {error}"))?;
        // An empty DATABASE_URL means "not set", as shells and env files often leave it.
        config.server.database_url = config.server.database_url.filter(|url| !url.trim().is_empty());
        config.validate()?;
        Ok(config)
    }

    /// The shipped defaults, as a process gets them with no file and no environment.
    pub fn defaults() -> Config {
        Self::from_figment(Figment::from(Toml::string(EXAMPLE_FILE))).expect("the shipped defaults are valid")
    }

    /// A configuration for tests: everything under `data_dir`, listening on a free loopback port, with the
    /// background workers off and no rate limit (tests that want either turn it on).
    pub fn for_tests(data_dir: &Path, database_url: Option<String>) -> Config {
        let mut config = Config::defaults();
        config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.server.data_dir = data_dir.to_path_buf();
        config.server.database_url = database_url;
        config.server.site_root = data_dir.join("site");
        config.outbound.allow_private_network = true;
        config.workers.enabled = false;
        config.workers.tick = Duration::from_millis(50);
        config.poll.min_interval = Duration::ZERO;
        config.limits.api_calls_per_second = 0.0;
        config
    }

    /// The configuration in effect as TOML, secrets masked: what `tether config` prints.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the configuration serializes")
    }

    fn validate(&self) -> anyhow::Result<()> {
        let server = &self.server;
        if let Some(url) = &server.database_url
            && !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            anyhow::bail!("server.database_url must start with sqlite:, postgres:// or postgresql://");
        }
        if let Some(url) = &self.sms.url
            && !url::Url::parse(url).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
        {
            anyhow::bail!("sms.url must be an http:// or https:// URL");
        }
        if !server.admin_email.contains('@') {
            anyhow::bail!("server.admin_email must be an email address");
        }
        if !self.mail.from.contains('@') {
            anyhow::bail!("mail.from must name an email address");
        }
        let positive = [
            ("server.session_lifetime", server.session_lifetime),
            ("limits.header_read_timeout", self.limits.header_read_timeout),
            ("limits.body_read_timeout", self.limits.body_read_timeout),
            ("refresh.timeout", self.refresh.timeout),
            ("workers.tick", self.workers.tick),
            ("poll.timeout", self.poll.timeout),
            ("delivery.timeout", self.delivery.timeout),
            ("sandbox.access_token_lifetime", self.sandbox.access_token_lifetime),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, duration)| duration.is_zero()) {
            anyhow::bail!("{name} must be longer than 0");
        }
        let counts = [
            ("limits.max_body_bytes", self.limits.max_body_bytes),
            ("refresh.attempts", self.refresh.attempts as usize),
            ("refresh.concurrency", self.refresh.concurrency),
            ("poll.concurrency", self.poll.concurrency),
            ("delivery.concurrency", self.delivery.concurrency),
        ];
        if let Some((name, _)) = counts.iter().find(|(_, count)| *count == 0) {
            anyhow::bail!("{name} must be at least 1");
        }
        if self.proxy.trace_body_limit > 1024 * 1024 {
            anyhow::bail!("proxy.trace_body_limit must be at most 1 MiB");
        }
        if self.proxy.call_log_max_per_instance == 0 {
            anyhow::bail!(
                "proxy.call_log_max_per_instance must be at least 1 (set proxy.call_logs = false to keep none)"
            );
        }
        if self.proxy.call_cache > Duration::from_secs(3600) {
            anyhow::bail!("proxy.call_cache must be at most an hour");
        }
        if self.refresh.sweep_hour > 23 {
            anyhow::bail!("refresh.sweep_hour must be an hour of the day, 0 to 23");
        }
        if !(self.limits.api_calls_per_second.is_finite() && self.limits.api_calls_per_second >= 0.0) {
            anyhow::bail!("limits.api_calls_per_second must be a number of calls a second, 0 (off) or more");
        }
        if let Some(bad) = self.sandbox.redirect_uris.iter().find(|uri| url::Url::parse(uri).is_err()) {
            anyhow::bail!("sandbox.redirect_uris: {bad} is not an absolute URL");
        }
        Ok(())
    }

    /// The database to use: `server.database_url` when set, else a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.server.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.server.data_dir.join("tether.db").display()),
        }
    }

    /// The outbound client's policy.
    pub fn outbound_settings(&self) -> crate::providers::outbound::OutboundSettings {
        crate::providers::outbound::OutboundSettings {
            allow_private: self.outbound.allow_private_network,
            hosts: self.outbound.resolve_hosts.clone(),
            // Tether Sandbox is this node's own, so the policy does not keep Tether from it.
            trusted_prefixes: if self.sandbox.enabled {
                vec![format!("{}{}/", self.base_url(), crate::sandbox::BASE_PATH)]
            } else {
                Vec::new()
            },
        }
    }

    /// Where users reach this node: the public URL, else the listening address (loopback when it listens on
    /// every interface).
    pub fn base_url(&self) -> String {
        let listen = self.server.listen;
        match &self.server.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if listen.ip().is_unspecified() => format!("http://127.0.0.1:{}", listen.port()),
            None => format!("http://{listen}"),
        }
    }

    /// Whether the console is served over https, so its cookie must be `Secure`.
    pub fn serves_https(&self) -> bool {
        self.server.public_url.as_deref().is_some_and(|url| url.starts_with("https://"))
    }
}

/// A configured duration as `chrono` counts time, for arithmetic with timestamps; a duration too long for it is the
/// longest there is.
pub fn as_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// Shows whether a secret is set, never what it is.
fn masked<S: serde::Serializer>(secret: &Option<SecretString>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => serializer.serialize_str("********"),
        None => serializer.serialize_none(),
    }
}

/// A duration as "30s", "5m" or "2h 30m" (humantime), or a number of seconds.
mod duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(super) enum Written {
        Seconds(f64),
        Text(String),
    }

    impl Written {
        pub(super) fn duration(self) -> Result<Duration, String> {
            let seconds = match self {
                Written::Seconds(seconds) => seconds,
                Written::Text(text) => match text.trim().parse::<f64>() {
                    Ok(seconds) => seconds,
                    Err(_) => return humantime::parse_duration(&text).map_err(|error| format!("`{text}`: {error}")),
                },
            };
            Duration::try_from_secs_f64(seconds).map_err(|_| format!("{seconds} is not a number of seconds, 0 or more"))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Written::deserialize(deserializer)?.duration().map_err(serde::de::Error::custom)
    }

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*duration).to_string())
    }
}

/// A list of durations, each as [`duration`] reads it.
mod durations {
    use super::duration::Written;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<Written>::deserialize(deserializer)?
            .into_iter()
            .map(|written| written.duration().map_err(serde::de::Error::custom))
            .collect()
    }

    pub fn serialize<S: Serializer>(durations: &[Duration], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(durations.iter().map(|duration| humantime::format_duration(*duration).to_string()))
    }
}

#[cfg(test)]
// figment's Jail closures return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_the_example_file_is_a_setting_and_every_setting_is_in_it() {
        // Unknown keys are refused (deny_unknown_fields), and a setting missing from the file fails to load.
        let config = Config::defaults();
        // The optional settings are shown commented out: uncommented, they load too.
        let uncommented: String = EXAMPLE_FILE
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest.split_once(" = ").is_some_and(|(key, _)| !key.contains(' ')) => rest,
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(uncommented, EXAMPLE_FILE);
        let with_options: Config = Figment::from(Toml::string(&uncommented)).extract().expect("every shown key loads");
        assert!(with_options.server.database_url.is_some() && with_options.mail.smtp_url.is_some());
        assert!(with_options.sms.url.is_some() && with_options.sms.token.is_some());
        // Printed, the configuration names every key the file has, so the file shows every setting.
        let printed: toml::Table = with_options.to_toml().parse().unwrap();
        let shown: toml::Table = uncommented.parse().unwrap();
        let keys = |table: &toml::Table| {
            table
                .iter()
                .flat_map(|(section, value)| {
                    value.as_table().unwrap().keys().map(move |key| format!("{section}.{key}")).collect::<Vec<_>>()
                })
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(keys(&printed), keys(&shown));
        assert_eq!(config.refresh.margin, Duration::from_secs(300));
        assert_eq!(config.delivery.retry.iter().sum::<Duration>().as_secs_f64() / 3600.0, 70.35);
    }

    #[test]
    fn sectioned_environment_overrides_file_and_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tether.toml", "[server]\nlisten = \"127.0.0.1:4000\"\nlog = \"debug\"\n")?;
            jail.set_env("TETHER_SERVER__LISTEN", "127.0.0.1:5000");
            jail.set_env("TETHER_REFRESH__MARGIN", "10m");
            jail.set_env("DATABASE_URL", "postgres://localhost/tether");
            let config = Config::load(None).expect("config loads");
            assert_eq!(config.server.listen.port(), 5000);
            assert_eq!(config.server.log, "debug");
            assert_eq!(config.refresh.margin, Duration::from_secs(600));
            assert_eq!(config.database_url(), "postgres://localhost/tether");
            assert_eq!(config.server.data_dir, PathBuf::from("./data"));
            jail.set_env("TETHER_DELIVERY__RETRY", "[0.5, \"2s\"]");
            let retry = Config::load(None).expect("config loads").delivery.retry;
            assert_eq!(retry, [Duration::from_millis(500), Duration::from_secs(2)]);
            jail.set_env("TETHER_DELIVERY__RETRY", "[-1]");
            let error = Config::load(None).unwrap_err().to_string();
            assert!(error.to_lowercase().contains("retry") && error.contains("-1"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn the_flat_names_of_earlier_releases_still_work() {
        figment::Jail::expect_with(|jail| {
            let file =
                "refresh_attempts = 7\nworker_tick_millis = 250\n[resolve_hosts]\n\"api.internal\" = [\"10.0.0.7\"]\n";
            jail.create_file("tether.toml", file)?;
            jail.set_env("TETHER_LISTEN", "127.0.0.1:5001");
            jail.set_env("TETHER_REFRESH_MARGIN_SECONDS", "90");
            jail.set_env("TETHER_SESSION_TTL_HOURS", "2");
            jail.set_env("TETHER_REFRESH_SWEEP_JITTER_MINUTES", "5");
            jail.set_env("TETHER_DELIVERY_RETRY_SECONDS", "[60, 300]");
            jail.set_env("TETHER_WORKERS", "false");
            jail.set_env("TETHER_SMTP_URL", "smtp://mail.example.com:25");
            let config = Config::load(None).expect("config loads");
            assert_eq!(config.server.listen.port(), 5001);
            assert_eq!(config.refresh.margin, Duration::from_secs(90));
            assert_eq!(config.server.session_lifetime, Duration::from_secs(7200));
            assert_eq!(config.refresh.sweep_jitter, Duration::from_secs(300));
            assert_eq!(config.delivery.retry, [Duration::from_secs(60), Duration::from_secs(300)]);
            assert!(!config.workers.enabled);
            assert!(config.mail.smtp_url.is_some());
            assert_eq!(config.refresh.attempts, 7, "a flat key in the file");
            assert_eq!(config.workers.tick, Duration::from_millis(250));
            assert_eq!(config.outbound.resolve_hosts["api.internal"], ["10.0.0.7".parse::<IpAddr>().unwrap()]);
            // The sectioned name wins over the flat one.
            jail.set_env("TETHER_REFRESH__MARGIN", "2m");
            assert_eq!(Config::load(None).unwrap().refresh.margin, Duration::from_secs(120));
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
            assert!(error.contains("margin"), "{error}");
            jail.set_env("TETHER_REFRESH_MARGIN_SECONDS", "60");
            jail.create_file("tether.toml", "[refresh]\nmargni = \"1m\"\n")?;
            let error = Config::load(None).unwrap_err().to_string();
            assert!(error.contains("margni"), "a misspelt key is refused: {error}");
            Ok(())
        });
    }

    #[test]
    fn the_printed_configuration_masks_secrets() {
        let mut config = Config::defaults();
        config.server.master_key = Some(SecretString::from("bWFzdGVyLWtleS1tYXN0ZXIta2V5LW1hc3Rlci1rZXk="));
        config.mail.smtp_url = Some(SecretString::from("smtp://user:hunter2@mail.example.com"));
        config.sms.token = Some(SecretString::from("sms-token-value"));
        let printed = config.to_toml();
        for secret in ["bWFzdGVy", "hunter2", "sms-token-value"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(printed.contains("master_key = \"********\""), "{printed}");
        let reread: toml::Table = printed.parse().unwrap();
        assert_eq!(reread["refresh"]["margin"].as_str(), Some("5m"));
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
