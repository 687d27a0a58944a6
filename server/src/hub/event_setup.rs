//! An instance's `event.*` settings: checked against its element and the server's own rules, and its poller started,
//! changed or stopped to match.

use super::errors::OrInternal;
use super::service::HubService;
use crate::catalog::CatalogEntry;
use app::error::HubError;
use app::events::{
    EVENT_KEYS, EventSettings, POLLER_CONFIGURATION, VendorType, event_settings, event_settings_to_save,
};
use app::instances::InstanceId;
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// Moves the `event.*` keys out of `given`.
pub(super) fn take_event_values(given: &mut BTreeMap<String, String>) -> BTreeMap<String, String> {
    let keys: Vec<String> = given.keys().filter(|key| key.starts_with("event.")).cloned().collect();
    keys.into_iter().filter_map(|key| given.remove(&key).map(|value| (key, value))).collect()
}

/// A timezone by its IANA name (`GMT`, `UTC` and `Europe/Paris` alike).
pub(super) fn timezone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
}

/// The event settings in an instance's (shown) configuration, or `None` when events are off.
pub(super) fn settings_in(entry: &CatalogEntry, configuration: &BTreeMap<String, String>) -> Option<EventSettings> {
    let definition = &entry.definition;
    event_settings(configuration, &definition.hub, definition.events.support, definition.events.poller.as_ref())
        .ok()
        .flatten()
}

impl HubService {
    /// Checks an instance's event values against its element, with the server's own rules besides: the
    /// shortest poll interval, the callback's host, and timezone names. Answers the settings when events are on.
    pub(super) async fn check_events(
        &self,
        entry: &CatalogEntry,
        values: &BTreeMap<String, String>,
    ) -> Result<Option<EventSettings>, HubError> {
        if let Some(unknown) = values.keys().find(|key| !EVENT_KEYS.contains(&key.as_str())) {
            return Err(HubError::invalid(
                &format!("configuration.{unknown}"),
                format!("is not an event setting; use {}", EVENT_KEYS.join(", ")),
            ));
        }
        let definition = &entry.definition;
        let shortest = self.settings.poll_min_interval.as_secs_f64() / 60.0;
        let settings = event_settings_to_save(
            values,
            &definition.hub,
            definition.events.support,
            definition.events.poller.as_ref(),
            shortest,
        )
        .map_err(|problem| HubError::invalid(&format!("configuration.{}", problem.key), problem.problem))?;
        let Some(settings) = settings else { return Ok(None) };
        let callback = url::Url::parse(&settings.callback_url)
            .map_err(|error| HubError::invalid(&format!("configuration.{}", app::events::CALLBACK_URL), error))?;
        if let Err(refused) = self.outbound.check(&callback).await {
            return Err(HubError::invalid(&format!("configuration.{}", app::events::CALLBACK_URL), refused));
        }
        for (name, resource) in &settings.poller {
            let dates = &resource.dates_configuration;
            for (zone, which) in [(&dates.updated_date_timezone, "updated"), (&dates.created_date_timezone, "created")]
            {
                if let Some(zone) = zone
                    && timezone(zone).is_none()
                {
                    return Err(HubError::invalid(
                        &format!("configuration.{POLLER_CONFIGURATION}.{name}.datesConfiguration.{which}DateTimezone"),
                        format!("`{zone}` is not a timezone; use an IANA name such as GMT or Europe/Paris"),
                    ));
                }
            }
        }
        Ok(Some(settings))
    }

    /// The instance's event values after `changes` (an empty value removes its key) over `current`, checked.
    pub(super) async fn merged_events(
        &self,
        entry: &CatalogEntry,
        current: &BTreeMap<String, String>,
        changes: BTreeMap<String, String>,
    ) -> Result<(BTreeMap<String, String>, Option<EventSettings>), HubError> {
        let mut merged: BTreeMap<String, String> =
            current.iter().filter(|(key, _)| key.starts_with("event.")).map(|(k, v)| (k.clone(), v.clone())).collect();
        for (key, value) in changes {
            if value.trim().is_empty() {
                merged.remove(&key);
            } else {
                merged.insert(key, value);
            }
        }
        let settings = self.check_events(entry, &merged).await?;
        Ok((merged, settings))
    }

    /// Starts, changes or stops the instance's poller to match its configuration.
    pub(super) async fn sync_poller(
        &self,
        entry: &CatalogEntry,
        id: InstanceId,
        configuration: &BTreeMap<String, String>,
    ) -> Result<(), HubError> {
        let interval = settings_in(entry, configuration)
            .filter(|settings| settings.vendor == VendorType::Polling)
            .map(|settings| (settings.refresh_interval_minutes * 60_000.0).round() as i64);
        self.store.set_poller(id, interval).await.or_internal()
    }
}
