//! Events on an instance: the `event.*` configuration keys and their checks, the poller's resource settings and
//! URL placeholders, and the event log as the API and the console show it. The console checks a configuration
//! with the same code the server does.

pub mod java_date;

use crate::catalog::{ElementDefinition, EventMode};
use crate::instances::InstanceId;
use chrono::{DateTime, Utc};
use java_date::JavaDatePattern;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const ENABLED: &str = "event.notification.enabled";
pub const VENDOR_TYPE: &str = "event.vendor.type";
pub const CALLBACK_URL: &str = "event.notification.callback.url";
pub const SIGNATURE_KEY: &str = "event.notification.signature.key";
pub const REFRESH_INTERVAL: &str = "event.poller.refresh_interval";
pub const POLLER_CONFIGURATION: &str = "event.poller.configuration";

/// Every event key an instance's configuration may hold.
pub const EVENT_KEYS: [&str; 6] =
    [ENABLED, VENDOR_TYPE, CALLBACK_URL, SIGNATURE_KEY, REFRESH_INTERVAL, POLLER_CONFIGURATION];

/// The poll interval when the configuration does not give one, in minutes.
pub const DEFAULT_REFRESH_INTERVAL_MINUTES: f64 = 15.0;

/// The longest poll interval, a week, in minutes.
pub const MAX_REFRESH_INTERVAL_MINUTES: f64 = 7.0 * 24.0 * 60.0;

/// How an instance hears of changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum VendorType {
    Polling,
    Webhooks,
}

impl VendorType {
    pub fn as_str(self) -> &'static str {
        match self {
            VendorType::Polling => "polling",
            VendorType::Webhooks => "webhooks",
        }
    }
}

/// Where an object's dates are and how they are written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatesConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_date_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_date_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_date_timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_timezone: Option<String>,
}

/// One resource the poller watches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolledResource {
    /// `/hubs/<hub>/<path>[?query]`, with `${gmtDate:<pattern>}`, `${epoch}` or `${epoch:millis}` standing for
    /// the time of the last successful poll.
    pub url: String,
    /// The dotted path of the object's id, such as `id` or `_info.id`.
    pub id_field: String,
    #[serde(default)]
    pub dates_configuration: DatesConfiguration,
}

/// `event.poller.configuration`: the watched resources by name, the name being the events' object type.
pub type PollerConfiguration = BTreeMap<String, PolledResource>;

/// A configuration value that is wrong: the key (dotted into the poller configuration where it helps) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub problem: String,
}

impl ConfigProblem {
    fn new(key: impl Into<String>, problem: impl Into<String>) -> ConfigProblem {
        ConfigProblem { key: key.into(), problem: problem.into() }
    }
}

/// An instance's event settings, checked. The signature key is a secret and lives apart from these.
#[derive(Clone, Debug, PartialEq)]
pub struct EventSettings {
    pub vendor: VendorType,
    pub callback_url: String,
    pub refresh_interval_minutes: f64,
    pub poller: PollerConfiguration,
}

/// How a date field is written: a Java pattern, or seconds or milliseconds since 1970.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateFormat {
    Pattern(JavaDatePattern),
    EpochSeconds,
    EpochMillis,
}

impl DateFormat {
    pub fn parse(format: &str) -> Result<DateFormat, String> {
        match format.trim() {
            "epoch" => Ok(DateFormat::EpochSeconds),
            "epoch:millis" => Ok(DateFormat::EpochMillis),
            pattern => JavaDatePattern::parse(pattern).map(DateFormat::Pattern),
        }
    }
}

/// Whether `text` is one of the true/false spellings a configuration value takes.
fn flag(key: &str, text: &str) -> Result<bool, ConfigProblem> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigProblem::new(key, "must be true or false")),
    }
}

/// Checks the event keys among `values` for an element in `hub` that supports `support`. Answers the settings
/// when events are enabled, `None` when they are off; every key given is checked either way.
/// `default_poller` fills in a missing poller configuration.
pub fn event_settings(
    values: &BTreeMap<String, String>,
    hub: &str,
    support: EventMode,
    default_poller: Option<&Value>,
) -> Result<Option<EventSettings>, ConfigProblem> {
    let enabled = values.get(ENABLED).map(|text| flag(ENABLED, text)).transpose()?.unwrap_or(false);
    let vendor = match values.get(VENDOR_TYPE).map(|text| text.trim().to_ascii_lowercase()) {
        None => None,
        Some(text) if text == "polling" => Some(VendorType::Polling),
        Some(text) if text == "webhooks" || text == "webhook" => Some(VendorType::Webhooks),
        Some(_) => return Err(ConfigProblem::new(VENDOR_TYPE, "must be polling or webhooks")),
    };
    let vendor = match (vendor, support) {
        (Some(VendorType::Polling), EventMode::Polling | EventMode::Both)
        | (Some(VendorType::Webhooks), EventMode::Webhooks | EventMode::Both) => vendor,
        (Some(vendor), _) => {
            return Err(ConfigProblem::new(VENDOR_TYPE, format!("this element does not support {}", vendor.as_str())));
        }
        (None, EventMode::Polling | EventMode::Both) => Some(VendorType::Polling),
        (None, EventMode::Webhooks) => Some(VendorType::Webhooks),
        (None, EventMode::None) if enabled => {
            return Err(ConfigProblem::new(ENABLED, "this element does not support events"));
        }
        (None, EventMode::None) => None,
    };
    let callback_url = values.get(CALLBACK_URL).map(|url| callback_url(url)).transpose()?;
    let interval = values.get(REFRESH_INTERVAL).map(|text| refresh_interval(text)).transpose()?;
    let poller = match values.get(POLLER_CONFIGURATION) {
        Some(text) => Some(poller_configuration(text, hub)?),
        None => None,
    };
    if !enabled {
        return Ok(None);
    }
    let vendor = vendor.expect("an element with events has a vendor type");
    let callback_url =
        callback_url.ok_or_else(|| ConfigProblem::new(CALLBACK_URL, "required when events are enabled"))?;
    let poller = match (poller, default_poller) {
        (Some(poller), _) => poller,
        (None, Some(default)) => poller_configuration(&default.to_string(), hub)?,
        (None, None) => PollerConfiguration::new(),
    };
    if vendor == VendorType::Polling && poller.is_empty() {
        return Err(ConfigProblem::new(POLLER_CONFIGURATION, "required for polling: name at least one resource"));
    }
    Ok(Some(EventSettings {
        vendor,
        callback_url,
        refresh_interval_minutes: interval.unwrap_or(DEFAULT_REFRESH_INTERVAL_MINUTES),
        poller,
    }))
}

/// [`event_settings`] as saving checks them: also refusing a polling interval shorter than this deployment
/// allows, `shortest_minutes`.
pub fn event_settings_to_save(
    values: &BTreeMap<String, String>,
    hub: &str,
    support: EventMode,
    default_poller: Option<&Value>,
    shortest_minutes: f64,
) -> Result<Option<EventSettings>, ConfigProblem> {
    let settings = event_settings(values, hub, support, default_poller)?;
    if let Some(settings) = &settings
        && settings.vendor == VendorType::Polling
        && settings.refresh_interval_minutes < shortest_minutes
    {
        return Err(ConfigProblem::new(REFRESH_INTERVAL, format!("must be at least {shortest_minutes} minutes")));
    }
    Ok(settings)
}

/// What the console's events fields start from: the element's event support and default resources, this
/// deployment's shortest poll interval, and an instance's current event values. Its signature key is a secret:
/// the form learns only whether one is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventForm {
    pub hub: String,
    pub support: EventMode,
    pub default_poller: Option<Value>,
    pub shortest_interval_minutes: f64,
    pub values: BTreeMap<String, String>,
    pub signature_key_set: bool,
}

impl EventForm {
    /// The form for an instance of `element` whose configuration is `configuration` (empty for a new one).
    pub fn new(
        element: &ElementDefinition,
        configuration: &BTreeMap<String, String>,
        shortest_interval_minutes: f64,
    ) -> EventForm {
        let values = configuration
            .iter()
            .filter(|(key, _)| EVENT_KEYS.contains(&key.as_str()) && key.as_str() != SIGNATURE_KEY)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        EventForm {
            hub: element.hub.clone(),
            support: element.events.support,
            default_poller: element.events.poller.clone(),
            shortest_interval_minutes,
            values,
            signature_key_set: configuration.contains_key(SIGNATURE_KEY),
        }
    }

    /// Checks `values` as the server will when they are saved.
    pub fn check(&self, values: &BTreeMap<String, String>) -> Result<Option<EventSettings>, ConfigProblem> {
        event_settings_to_save(
            values,
            &self.hub,
            self.support,
            self.default_poller.as_ref(),
            self.shortest_interval_minutes,
        )
    }
}

fn callback_url(url: &str) -> Result<String, ConfigProblem> {
    let url = url.trim();
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let rest = url.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if !scheme_ok || host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(ConfigProblem::new(CALLBACK_URL, "must be an absolute http or https URL"));
    }
    Ok(url.to_owned())
}

fn refresh_interval(text: &str) -> Result<f64, ConfigProblem> {
    match text.trim().parse::<f64>() {
        Ok(minutes) if minutes.is_finite() && minutes > 0.0 && minutes <= MAX_REFRESH_INTERVAL_MINUTES => Ok(minutes),
        Ok(_) => Err(ConfigProblem::new(REFRESH_INTERVAL, "must be more than 0 and at most a week (10080 minutes)")),
        Err(_) => Err(ConfigProblem::new(REFRESH_INTERVAL, "must be a number of minutes")),
    }
}

/// Reads and checks `event.poller.configuration`, given as JSON text.
pub fn poller_configuration(text: &str, hub: &str) -> Result<PollerConfiguration, ConfigProblem> {
    let resources: PollerConfiguration = serde_json::from_str(text).map_err(|error| {
        ConfigProblem::new(
            POLLER_CONFIGURATION,
            format!("must be an object of resources, each with url and idField ({error})"),
        )
    })?;
    for (name, resource) in &resources {
        let key = |field: &str| format!("{POLLER_CONFIGURATION}.{name}.{field}");
        let valid_name = !name.is_empty()
            && name.len() <= 100
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid_name {
            return Err(ConfigProblem::new(
                format!("{POLLER_CONFIGURATION}.{name}"),
                "a resource name is 1 to 100 letters, digits, `_`, `-` or `.`",
            ));
        }
        check_poll_url(&resource.url, hub).map_err(|problem| ConfigProblem::new(key("url"), problem))?;
        if !valid_field_path(&resource.id_field) {
            return Err(ConfigProblem::new(key("idField"), "must be a dotted field path such as id or _info.id"));
        }
        let dates = &resource.dates_configuration;
        let key = |field: &str| format!("{POLLER_CONFIGURATION}.{name}.datesConfiguration.{field}");
        for (field, format, timezone, prefix) in [
            (&dates.updated_date_field, &dates.updated_date_format, &dates.updated_date_timezone, "updated"),
            (&dates.created_date_field, &dates.created_date_format, &dates.created_date_timezone, "created"),
        ] {
            if let Some(field) = field
                && !valid_field_path(field)
            {
                return Err(ConfigProblem::new(key(&format!("{prefix}DateField")), "must be a dotted field path"));
            }
            if let Some(format) = format {
                DateFormat::parse(format)
                    .map_err(|problem| ConfigProblem::new(key(&format!("{prefix}DateFormat")), problem))?;
            }
            if timezone.as_deref().is_some_and(|zone| zone.trim().is_empty()) {
                return Err(ConfigProblem::new(key(&format!("{prefix}DateTimezone")), "must name a timezone"));
            }
        }
    }
    Ok(resources)
}

fn valid_field_path(path: &str) -> bool {
    !path.is_empty() && path.split('.').all(|part| !part.is_empty() && !part.chars().any(char::is_whitespace))
}

/// The `${…}` placeholders of a poll URL, with their byte ranges.
fn placeholders(url: &str) -> Result<Vec<(std::ops::Range<usize>, &str)>, String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(start) = url[from..].find("${").map(|at| from + at) {
        let end = url[start..].find('}').map(|at| start + at).ok_or("has a `${` that is never closed")?;
        found.push((start..end + 1, &url[start + 2..end]));
        from = end + 1;
    }
    Ok(found)
}

/// What a placeholder stands for.
enum Placeholder {
    GmtDate(JavaDatePattern),
    EpochSeconds,
    EpochMillis,
}

fn placeholder(inner: &str) -> Result<Placeholder, String> {
    match inner {
        "epoch" => Ok(Placeholder::EpochSeconds),
        "epoch:millis" => Ok(Placeholder::EpochMillis),
        _ => match inner.strip_prefix("gmtDate:") {
            Some(pattern) => JavaDatePattern::parse(pattern)
                .map(Placeholder::GmtDate)
                .map_err(|problem| format!("`${{{inner}}}`: the pattern {problem}")),
            None => Err(format!("`${{{inner}}}` is not a placeholder; use gmtDate:<pattern>, epoch or epoch:millis")),
        },
    }
}

/// Checks that a poll URL stays inside the element's hub and that its placeholders are known.
fn check_poll_url(url: &str, hub: &str) -> Result<(), String> {
    let prefix = format!("/hubs/{hub}/");
    let Some(rest) = url.strip_prefix(&prefix) else {
        return Err(format!("must be a path under {prefix}, inside the element"));
    };
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains("://") || path.contains('\\') {
        return Err(format!("must name a resource under {prefix}"));
    }
    if crate::instances::climbs_out(path) {
        return Err("must not climb out of the element with `.` or `..`".into());
    }
    for (_, inner) in placeholders(url)? {
        placeholder(inner)?;
    }
    Ok(())
}

/// The path and query of a poll URL under its hub, with the placeholders standing for `since` filled in and
/// percent-encoded. The URL was checked when it was configured.
pub fn fill_poll_url(url: &str, hub: &str, since: DateTime<Utc>) -> Result<String, String> {
    check_poll_url(url, hub)?;
    let mut filled = String::new();
    let mut last = 0;
    for (range, inner) in placeholders(url)? {
        filled.push_str(&url[last..range.start]);
        let value = match placeholder(inner)? {
            Placeholder::GmtDate(pattern) => pattern.format(&since),
            Placeholder::EpochSeconds => since.timestamp().to_string(),
            Placeholder::EpochMillis => since.timestamp_millis().to_string(),
        };
        filled.extend(value.bytes().map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        }));
        last = range.end;
    }
    filled.push_str(&url[last..]);
    Ok(filled[format!("/hubs/{hub}/").len()..].to_owned())
}

/// Where an event is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventStatus {
    /// Waiting for its first delivery or its next retry.
    Pending,
    /// The callback URL took it.
    Notified,
    /// Every retry failed, or the receiver answered 410: redeliver it by hand.
    Failed,
    /// Held while the instance's deliveries are paused after a failure: redeliver to release it.
    Queued,
}

impl EventStatus {
    pub const ALL: [EventStatus; 4] =
        [EventStatus::Pending, EventStatus::Notified, EventStatus::Failed, EventStatus::Queued];

    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Pending => "PENDING",
            EventStatus::Notified => "NOTIFIED",
            EventStatus::Failed => "FAILED",
            EventStatus::Queued => "QUEUED",
        }
    }

    pub fn parse(text: &str) -> Option<EventStatus> {
        EventStatus::ALL.into_iter().find(|status| status.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// One change as a delivery lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChangeNotice {
    pub date: DateTime<Utc>,
    pub element_key: String,
    /// CREATED, UPDATED or DELETED; a provider's own word when it names something else.
    pub event_type: String,
    pub object_id: String,
    pub object_type: String,
}

/// An event in the log: what changed, and how its delivery went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_id: String,
    pub instance_id: InstanceId,
    pub element_key: String,
    /// `polling` or `webhooks`: how Tether heard of it.
    pub source: String,
    pub change: ChangeNotice,
    pub status: EventStatus,
    pub attempts: i64,
    pub last_response_code: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_date: DateTime<Utc>,
    /// The delivered body; in one event's detail only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// Cloud Elements' name for `eventId`.
    pub id: String,
    /// Cloud Elements' name for the change's date.
    pub event_date: DateTime<Utc>,
    /// Cloud Elements' name for what the provider reported: the change.
    pub provider_data: ChangeNotice,
    /// Cloud Elements' name for the delivered body; in one event's detail only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_data: Option<Value>,
    /// The headers of the last attempt, as `[name, value]`; in one event's detail only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

/// The filters and page of an event listing; the page follows [`crate::paging`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventQuery {
    /// `PENDING`, `NOTIFIED`, `FAILED` or `QUEUED`, in any case.
    #[serde(default, deserialize_with = "status_in_any_case")]
    pub status: Option<EventStatus>,
    #[serde(default)]
    pub instance_id: Option<InstanceId>,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub page_size: Option<u32>,
}

fn status_in_any_case<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<EventStatus>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
    EventStatus::parse(&text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not PENDING, NOTIFIED, FAILED or QUEUED")))
}

/// How many events a redelivery released.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Redelivery {
    pub released: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    const SEED_POLLER: &str = r#"{"contacts":{"url":"/hubs/crm/contacts?where=lastUpdated>'${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}'","idField":"id","datesConfiguration":{"updatedDateField":"_info.lastUpdated","updatedDateFormat":"yyyy-MM-dd'T'HH:mm:ss'Z'","updatedDateTimezone":"GMT","createdDateField":"_info.lastUpdated","createdDateFormat":"yyyy-MM-dd'T'HH:mm:ss'Z'","createdDateTimezone":"GMT"}}}"#;

    #[test]
    fn the_seed_configuration_is_accepted() {
        let given = values(&[
            (ENABLED, "true"),
            (VENDOR_TYPE, "polling"),
            (CALLBACK_URL, "http://mycoolapp.com"),
            (REFRESH_INTERVAL, "15"),
            (SIGNATURE_KEY, "xxxxxxxx"),
            (POLLER_CONFIGURATION, SEED_POLLER),
        ]);
        let settings = event_settings(&given, "crm", EventMode::Polling, None).unwrap().unwrap();
        assert_eq!(settings.vendor, VendorType::Polling);
        assert_eq!(settings.refresh_interval_minutes, 15.0);
        assert_eq!(settings.poller["contacts"].id_field, "id");
    }

    #[test]
    fn a_poll_url_is_filled_and_encoded() {
        let since = Utc.with_ymd_and_hms(2026, 11, 23, 8, 30, 0).unwrap();
        let poller = poller_configuration(SEED_POLLER, "crm").unwrap();
        let filled = fill_poll_url(&poller["contacts"].url, "crm", since).unwrap();
        assert_eq!(filled, "contacts?where=lastUpdated>'2026-11-23T08:30:00Z'");
        let epoch = fill_poll_url("/hubs/crm/deals?since=${epoch}&ms=${epoch:millis}", "crm", since).unwrap();
        assert_eq!(epoch, format!("deals?since={}&ms={}", since.timestamp(), since.timestamp_millis()));
        let spaced = fill_poll_url("/hubs/crm/a?d=${gmtDate:yyyy-MM-dd HH:mm}", "crm", since).unwrap();
        assert_eq!(spaced, "a?d=2026-11-23%2008:30");
    }

    #[test]
    fn bad_values_name_their_key() {
        let base = [(ENABLED, "true"), (CALLBACK_URL, "https://example.com/hook")];
        let poller_with = |url: &str| format!(r#"{{"contacts":{{"url":"{url}","idField":"id"}}}}"#);
        let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
            (vec![(ENABLED, "yes".into())], ENABLED),
            (vec![(VENDOR_TYPE, "push".into())], VENDOR_TYPE),
            (vec![(REFRESH_INTERVAL, "often".into())], REFRESH_INTERVAL),
            (vec![(REFRESH_INTERVAL, "0".into())], REFRESH_INTERVAL),
            (vec![(CALLBACK_URL, "mycoolapp.com".into())], CALLBACK_URL),
            (vec![(POLLER_CONFIGURATION, "[1]".into())], POLLER_CONFIGURATION),
            (
                vec![(POLLER_CONFIGURATION, poller_with("https://evil.example/x"))],
                "event.poller.configuration.contacts.url",
            ),
            (vec![(POLLER_CONFIGURATION, poller_with("/hubs/other/x"))], "event.poller.configuration.contacts.url"),
            (vec![(POLLER_CONFIGURATION, poller_with("/hubs/crm/../../x"))], "event.poller.configuration.contacts.url"),
            (
                vec![(POLLER_CONFIGURATION, poller_with("/hubs/crm/x?d=${gmtDate:yyyy-QQ}"))],
                "event.poller.configuration.contacts.url",
            ),
            (
                vec![(POLLER_CONFIGURATION, poller_with("/hubs/crm/x?d=${now}"))],
                "event.poller.configuration.contacts.url",
            ),
        ];
        for (extra, key) in cases {
            let mut given = values(&base);
            given.extend(extra.into_iter().map(|(key, value)| (key.to_string(), value)));
            let problem = event_settings(&given, "crm", EventMode::Polling, None).unwrap_err();
            assert_eq!(problem.key, key, "{given:?}: {}", problem.problem);
        }
        let without_callback = values(&[(ENABLED, "true")]);
        assert_eq!(event_settings(&without_callback, "crm", EventMode::Polling, None).unwrap_err().key, CALLBACK_URL);
        assert_eq!(event_settings(&values(&base), "crm", EventMode::None, None).unwrap_err().key, ENABLED);
        let webhooks = values(&[(VENDOR_TYPE, "webhooks")]);
        assert_eq!(event_settings(&webhooks, "crm", EventMode::Polling, None).unwrap_err().key, VENDOR_TYPE);
    }

    #[test]
    fn events_off_still_checks_what_is_given_and_the_default_poller_fills_in() {
        assert_eq!(event_settings(&values(&[(ENABLED, "false")]), "crm", EventMode::Polling, None), Ok(None));
        let default: Value = serde_json::from_str(SEED_POLLER).unwrap();
        let given = values(&[(ENABLED, "true"), (CALLBACK_URL, "https://example.com/hook")]);
        let settings = event_settings(&given, "crm", EventMode::Both, Some(&default)).unwrap().unwrap();
        assert_eq!(settings.vendor, VendorType::Polling);
        assert_eq!(settings.refresh_interval_minutes, DEFAULT_REFRESH_INTERVAL_MINUTES);
        assert!(settings.poller.contains_key("contacts"));
    }

    #[test]
    fn the_console_form_hides_the_signature_key_and_checks_the_interval_floor() {
        let element: ElementDefinition = serde_json::from_value(serde_json::json!({
            "key": "crm", "name": "CRM", "hub": "crm", "auth": "custom",
            "api": {"baseUrl": "https://crm.example/v1", "credentials": {"in": "header", "name": "X-Key", "value": "{apiKey}"}},
            "events": {"support": "polling", "poller": serde_json::from_str::<Value>(SEED_POLLER).unwrap()}
        }))
        .unwrap();
        let configuration = values(&[(ENABLED, "true"), (SIGNATURE_KEY, "hush"), ("apiKey", "k")]);
        let form = EventForm::new(&element, &configuration, 1.0);
        assert!(form.signature_key_set);
        assert_eq!(form.values, values(&[(ENABLED, "true")]), "only the event keys, and never the signature key");
        let mut given = values(&[(ENABLED, "true"), (CALLBACK_URL, "https://example.com/hook")]);
        assert!(form.check(&given).unwrap().is_some());
        given.insert(REFRESH_INTERVAL.into(), "0.5".into());
        assert_eq!(form.check(&given).unwrap_err().key, REFRESH_INTERVAL);
    }
}
