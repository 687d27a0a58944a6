//! The hub's events: an instance's `event.*` settings (checked, the signature key kept in the vault, the poller
//! started or stopped), one poll of an instance through the proxy path, a provider's webhook turned into
//! events, what a delivery needs, and the event log with its redelivery.

use super::instances::{SplitConfiguration, bad};
use super::{HubService, OrInternal};
use crate::catalog::CatalogEntry;
use crate::provider_client::{Outgoing, call_through};
use crate::store::events::{ClaimedPoll, EventRow, NewEvent, PolledChange};
use crate::store::instances::InstanceRecord;
use crate::store::{from_millis, now_millis};
use crate::webhooks::provider_signature_matches;
use app::catalog::WebhookSettings;
use app::error::HubError;
use app::events::java_date::ReadDate;
use app::events::{
    ChangeNotice, DateFormat, EVENT_KEYS, Event, EventQuery, EventSettings, POLLER_CONFIGURATION, PolledResource,
    Redelivery, SIGNATURE_KEY, VendorType, event_settings, event_settings_to_save, fill_poll_url,
};
use app::instances::{InstanceId, InstanceTarget};
use app::service::Caller;
use app::types::{OrganizationId, Role};
use axum::http::{HeaderMap, Method};
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How far back of the last poll a poll asks, so that a change stamped in the same second is not missed; the
/// seen versions keep it from being sent twice.
const POLL_OVERLAP_MILLIS: i64 = 5_000;

/// How many events a page of the log holds when the caller does not say, and at most.
const DEFAULT_EVENT_PAGE: u32 = 100;
const MAX_EVENT_PAGE: u32 = 500;

/// Moves the `event.*` keys out of `given`.
pub(super) fn take_event_values(given: &mut BTreeMap<String, String>) -> BTreeMap<String, String> {
    let keys: Vec<String> = given.keys().filter(|key| key.starts_with("event.")).cloned().collect();
    keys.into_iter().filter_map(|key| given.remove(&key).map(|value| (key, value))).collect()
}

/// A timezone by its IANA name (`GMT`, `UTC` and `Europe/Paris` alike).
fn timezone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
}

/// The value at a dotted path, such as `_info.lastUpdated`.
fn field<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |inner, part| match inner {
        Value::Object(map) => map.get(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|index| items.get(index)),
        _ => None,
    })
}

/// A scalar field as text: strings as they are, numbers and booleans written out.
fn field_text(value: &Value, path: &str) -> Option<String> {
    match field(value, path)? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Reads a date field written in `format`, placing wall-clock times in `zone`.
fn read_date(value: &Value, path: &str, format: &DateFormat, zone: Tz) -> Option<DateTime<Utc>> {
    let text = field_text(value, path)?;
    match format {
        DateFormat::EpochSeconds => Utc.timestamp_opt(text.parse().ok()?, 0).single(),
        DateFormat::EpochMillis => Utc.timestamp_millis_opt(text.parse().ok()?).single(),
        DateFormat::Pattern(pattern) => match pattern.read(&text)? {
            ReadDate::Moment(moment) => Some(moment.with_timezone(&Utc)),
            ReadDate::WallClock(wall) => zone.from_local_datetime(&wall).earliest().map(|at| at.with_timezone(&Utc)),
        },
    }
}

/// One of a resource's date fields, ready to read.
struct DateField {
    path: String,
    format: DateFormat,
    zone: Tz,
}

impl DateField {
    fn of(path: &Option<String>, format: &Option<String>, zone: &Option<String>) -> Option<DateField> {
        let path = path.clone()?;
        let format = DateFormat::parse(format.as_deref().unwrap_or("yyyy-MM-dd'T'HH:mm:ssXXX")).ok()?;
        let zone = zone.as_deref().and_then(timezone).unwrap_or(Tz::UTC);
        Some(DateField { path, format, zone })
    }

    fn read(&self, object: &Value) -> Option<DateTime<Utc>> {
        read_date(object, &self.path, &self.format, self.zone)
    }
}

/// The objects in a resource's answer: the answer itself when it is a list, else its list under the resource's
/// name, else its first list.
fn listed_objects(answer: Value, resource: &str) -> Result<Vec<Value>, String> {
    match answer {
        Value::Array(items) => Ok(items),
        Value::Object(mut map) => {
            if let Some(Value::Array(items)) = map.remove(resource) {
                return Ok(items);
            }
            map.into_iter()
                .find_map(|(_, value)| match value {
                    Value::Array(items) => Some(items),
                    _ => None,
                })
                .ok_or_else(|| format!("the answer for {resource} holds no list of objects"))
        }
        _ => Err(format!("the answer for {resource} is not a list of objects")),
    }
}

/// A provider's word for a change, as an event type: `contact.created` and `INSERT` are CREATED, and so on;
/// a word that names none of the three is kept, in capitals.
fn event_type_of(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    let says = |words: &[&str]| lower.split(|c: char| !c.is_ascii_alphanumeric()).any(|part| words.contains(&part));
    if says(&["create", "created", "insert", "inserted", "add", "added", "new"]) {
        "CREATED".into()
    } else if says(&["delete", "deleted", "remove", "removed", "destroy", "destroyed"]) {
        "DELETED".into()
    } else if says(&["update", "updated", "modify", "modified", "change", "changed", "edit", "edited"]) {
        "UPDATED".into()
    } else {
        word.to_ascii_uppercase()
    }
}

/// The body every delivery of one event sends.
fn delivery_body(event_id: &str, instance: InstanceId, change: &ChangeNotice, raw: &Value) -> String {
    json!({
        "eventId": event_id,
        "instanceId": instance,
        "elementKey": change.element_key,
        "notificationId": uuid::Uuid::new_v4().to_string(),
        "events": [change],
        "raw": raw,
    })
    .to_string()
}

/// A new event for `record`, with its delivery body.
fn new_event(record: &InstanceRecord, source: &'static str, change: ChangeNotice, raw: &Value) -> NewEvent {
    let id = uuid::Uuid::new_v4().to_string();
    let body = delivery_body(&id, record.id, &change, raw);
    NewEvent {
        id,
        organization_id: record.organization_id,
        instance_id: record.id,
        element_key: change.element_key,
        source,
        event_type: change.event_type,
        object_type: change.object_type,
        object_id: change.object_id,
        changed_at: change.date.timestamp_millis(),
        body,
    }
}

fn event_view(row: EventRow, with_payload: bool) -> Event {
    let payload = with_payload.then(|| serde_json::from_str(&row.body).ok()).flatten();
    let headers = match (with_payload, &row.last_headers) {
        (true, Some(headers)) => serde_json::from_str(headers).unwrap_or_default(),
        _ => Vec::new(),
    };
    Event {
        change: ChangeNotice {
            date: from_millis(row.changed_at),
            element_key: row.element_key.clone(),
            event_type: row.event_type,
            object_id: row.object_id,
            object_type: row.object_type,
        },
        event_id: row.id,
        instance_id: row.instance_id,
        element_key: row.element_key,
        source: row.source,
        status: row.status,
        attempts: row.attempts,
        last_response_code: row.last_response_code,
        last_error: row.last_error,
        next_attempt_at: row.next_attempt_at.map(from_millis),
        delivered_at: row.delivered_at.map(from_millis),
        created_date: from_millis(row.created_at),
        payload,
        headers,
    }
}

/// Where and how one event is delivered.
pub struct Destination {
    pub callback_url: String,
    pub signature_key: Option<SecretString>,
}

impl SplitConfiguration {
    /// Makes checked event values the instance's: the signature key as a secret, keys not among them removed,
    /// and the poller configuration in effect written out.
    pub(super) fn events(&mut self, values: &BTreeMap<String, String>, settings: Option<&EventSettings>) {
        for key in EVENT_KEYS.iter().filter(|key| !values.contains_key(**key)) {
            self.remove(key);
        }
        for (key, value) in values {
            if key == SIGNATURE_KEY {
                self.secret(key, &SecretString::from(value.clone()));
            } else {
                self.plain(key, value.clone());
            }
        }
        if let Some(settings) = settings
            && !values.contains_key(POLLER_CONFIGURATION)
            && !settings.poller.is_empty()
        {
            self.plain(POLLER_CONFIGURATION, serde_json::to_string(&settings.poller).expect("settings serialize"));
        }
    }
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
            return Err(bad(
                &format!("configuration.{unknown}"),
                format!("is not an event setting; use {}", EVENT_KEYS.join(", ")),
            ));
        }
        let definition = &entry.definition;
        let shortest = app::service::Hub::shortest_poll_interval_minutes(self);
        let settings = event_settings_to_save(
            values,
            &definition.hub,
            definition.events.support,
            definition.events.poller.as_ref(),
            shortest,
        )
        .map_err(|problem| bad(&format!("configuration.{}", problem.key), problem.problem))?;
        let Some(settings) = settings else { return Ok(None) };
        let callback = url::Url::parse(&settings.callback_url)
            .map_err(|error| bad(&format!("configuration.{}", app::events::CALLBACK_URL), error))?;
        if let Err(refused) = self.outbound.check(&callback).await {
            return Err(bad(&format!("configuration.{}", app::events::CALLBACK_URL), refused));
        }
        for (name, resource) in &settings.poller {
            let dates = &resource.dates_configuration;
            for (zone, which) in [(&dates.updated_date_timezone, "updated"), (&dates.created_date_timezone, "created")]
            {
                if let Some(zone) = zone
                    && timezone(zone).is_none()
                {
                    return Err(bad(
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

    /// Acting for the instance's owner, as the background workers do.
    fn owner_of(record: &InstanceRecord) -> Caller {
        Caller {
            organization_id: record.organization_id,
            account_id: record.account_id,
            user_id: record.user_id,
            role: Role::Admin,
        }
    }

    /// Polls every resource of a claimed instance since its last successful poll, and records the changes. A
    /// failure leaves the window where it was, so the next poll asks again.
    pub async fn poll_instance(&self, claim: ClaimedPoll) -> Result<usize, HubError> {
        let started = now_millis();
        let Some(record) = self.store.instance(claim.organization_id, claim.instance_id).await.or_internal()? else {
            return Ok(0);
        };
        let entry = self.visible_element_by_id(record.organization_id, record.element_id).await?;
        let Some(settings) =
            settings_in(&entry, &record.configuration).filter(|settings| settings.vendor == VendorType::Polling)
        else {
            self.store.set_poller(record.id, None).await.or_internal()?;
            return Ok(0);
        };
        let token = self.vault.use_secret(record.token_vault_id).await.or_internal()?;
        let since = from_millis(claim.polled_until - POLL_OVERLAP_MILLIS);
        let mut changes = Vec::new();
        for (name, resource) in &settings.poller {
            let objects = self.fetch_resource(&record, &entry, &token, name, resource, since).await?;
            changes.extend(self.changes_in(&record, &entry, name, resource, objects, claim.polled_until).await?);
        }
        let next = started + claim.interval_millis;
        let queued = changes.len();
        if !self.store.finish_poll(record.id, &self.node_id, started, next, &changes).await.or_internal()? {
            tracing::info!(instance = %record.id, "a poll's lease passed to another node; its results were dropped");
            return Ok(0);
        }
        if queued > 0 {
            self.deliveries_queued.notify_one();
        }
        Ok(queued)
    }

    async fn fetch_resource(
        &self,
        record: &InstanceRecord,
        entry: &CatalogEntry,
        token: &SecretString,
        name: &str,
        resource: &PolledResource,
        since: DateTime<Utc>,
    ) -> Result<Vec<Value>, HubError> {
        let hub = &entry.definition.hub;
        let filled =
            fill_poll_url(&resource.url, hub, since).map_err(|problem| bad(&format!("{name}.url"), problem))?;
        let (path, query) = filled.split_once('?').map_or((filled.as_str(), None), |(path, query)| (path, Some(query)));
        let mut headers = HeaderMap::new();
        headers.insert("accept", axum::http::HeaderValue::from_static("application/json"));
        let outgoing = Outgoing { method: Method::GET, path, query, headers, body: Default::default() };
        let caller = Self::owner_of(record);
        let (_, response) = call_through(self, &self.outbound, &caller, token, hub, &outgoing).await?;
        let status = response.status();
        let provider_failure = |provider_message: String| HubError::Provider {
            status: 502,
            message: format!("Polling {name} failed"),
            provider_message,
        };
        if !status.is_success() {
            return Err(provider_failure(format!("the provider answered {status}")));
        }
        let answer: Value = response.json().await.map_err(|error| provider_failure(error.to_string()))?;
        listed_objects(answer, name).map_err(provider_failure)
    }

    /// The changes among a resource's objects: each object whose version this poller has not seen, as CREATED
    /// when it is new and was created since `polled_until`, else as UPDATED. Objects whose dates show no change
    /// in the window are left out.
    async fn changes_in(
        &self,
        record: &InstanceRecord,
        entry: &CatalogEntry,
        name: &str,
        resource: &PolledResource,
        objects: Vec<Value>,
        polled_until: i64,
    ) -> Result<Vec<PolledChange>, HubError> {
        let dates = &resource.dates_configuration;
        let updated =
            DateField::of(&dates.updated_date_field, &dates.updated_date_format, &dates.updated_date_timezone);
        let created =
            DateField::of(&dates.created_date_field, &dates.created_date_format, &dates.created_date_timezone);
        let seen = self.store.seen_versions(record.id, name).await.or_internal()?;
        let window_start = polled_until - POLL_OVERLAP_MILLIS;
        let mut changes = Vec::new();
        for object in objects {
            let Some(object_id) = field_text(&object, &resource.id_field) else {
                tracing::warn!(instance = %record.id, resource = name, "a polled object has no {}", resource.id_field);
                continue;
            };
            let updated_at = updated.as_ref().and_then(|field| field.read(&object));
            let created_at = created.as_ref().and_then(|field| field.read(&object));
            let changed_at = updated_at.or(created_at);
            if changed_at.is_some_and(|at| at.timestamp_millis() < window_start) {
                continue;
            }
            let version = match changed_at {
                Some(at) => at.timestamp_millis().to_string(),
                None => crate::secrets::digest(&SecretString::from(object.to_string())),
            };
            let previous = seen.get(&object_id);
            if previous == Some(&version) {
                continue;
            }
            let is_new = previous.is_none() && created_at.is_some_and(|at| at.timestamp_millis() >= window_start);
            let change = ChangeNotice {
                date: changed_at.unwrap_or_else(Utc::now),
                element_key: entry.definition.key.clone(),
                event_type: if is_new { "CREATED" } else { "UPDATED" }.into(),
                object_id,
                object_type: name.to_owned(),
            };
            changes.push(PolledChange { version, event: new_event(record, "polling", change, &object) });
        }
        Ok(changes)
    }

    /// Takes a provider's webhook for an instance: checks the element's signature when it defines one, then stores
    /// the payload and queues its changes. Answers how many events were queued.
    pub(super) async fn take_provider_webhook(
        &self,
        element_key: &str,
        instance: InstanceId,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<usize, HubError> {
        // One answer for an unknown instance, one that takes no webhooks now and a bad signature: the route has no
        // credentials, so it must not tell which instance ids exist.
        let unknown = || {
            HubError::Unauthorized(format!(
                "No webhook of element {element_key} for instance {instance} could be verified"
            ))
        };
        let organization = self.store.organization_of_instance(instance).await.or_internal()?.ok_or_else(unknown)?;
        let record = self.store.instance(organization, instance).await.or_internal()?.ok_or_else(unknown)?;
        let entry = self.visible_element_by_id(organization, record.element_id).await?;
        if !entry.is_named(element_key) {
            return Err(unknown());
        }
        let settings =
            settings_in(&entry, &record.configuration).filter(|settings| settings.vendor == VendorType::Webhooks);
        if settings.is_none() || record.disabled {
            return Err(unknown());
        }
        let webhook = entry.definition.events.webhook.clone().unwrap_or_else(default_webhook_settings);
        if let Some(signature) = &webhook.signature {
            let values = self.configuration_in_use(&record).await?.values();
            let secret = values.get(&signature.secret_parameter).cloned().unwrap_or_default();
            let given =
                headers.get(signature.header.as_str()).and_then(|value| value.to_str().ok()).unwrap_or_default();
            let secret = SecretString::from(secret);
            if !provider_signature_matches(&secret, body, given, &signature.prefix, signature.encoding) {
                return Err(unknown());
            }
        }
        let payload: Value =
            serde_json::from_slice(body).map_err(|error| bad("body", format!("is not JSON ({error})")))?;
        let events: Vec<NewEvent> = read_webhook(&webhook, &entry.definition.key, &payload)?
            .into_iter()
            .map(|(notice, raw)| new_event(&record, "webhooks", notice, raw))
            .collect();
        self.store.receive_webhook(record.id, &payload.to_string(), &events).await.or_internal()?;
        self.deliveries_queued.notify_one();
        Ok(events.len())
    }

    /// The callback URL and signature key an event of this instance goes out with.
    pub async fn event_destination(
        &self,
        organization: OrganizationId,
        instance: InstanceId,
    ) -> Result<Option<Destination>, HubError> {
        let Some(record) = self.store.instance(organization, instance).await.or_internal()? else { return Ok(None) };
        let values = self.configuration_in_use(&record).await?.values();
        Ok(values.get(app::events::CALLBACK_URL).map(|url| Destination {
            callback_url: url.clone(),
            signature_key: values.get(SIGNATURE_KEY).map(|key| SecretString::from(key.clone())),
        }))
    }

    /// The instance an event-log call is scoped to, when it names one.
    async fn event_scope(
        &self,
        caller: &Caller,
        target: Option<&InstanceTarget>,
    ) -> Result<Option<InstanceId>, HubError> {
        match target {
            Some(target) => Ok(Some(self.target_instance(caller, target).await?.0.id)),
            None => Ok(None),
        }
    }

    pub(super) async fn list_instance_events(
        &self,
        caller: &Caller,
        target: Option<&InstanceTarget>,
        query: EventQuery,
    ) -> Result<Vec<Event>, HubError> {
        let instance = match self.event_scope(caller, target).await? {
            Some(instance) => Some(instance),
            None => query.instance_id,
        };
        let size = if query.page_size == 0 { DEFAULT_EVENT_PAGE } else { query.page_size.min(MAX_EVENT_PAGE) };
        let offset = i64::from(query.page.max(1) - 1) * i64::from(size);
        let rows = self
            .store
            .events(caller.organization_id, instance, query.status, i64::from(size), offset)
            .await
            .or_internal()?;
        Ok(rows.into_iter().map(|row| event_view(row, false)).collect())
    }

    async fn scoped_event(
        &self,
        caller: &Caller,
        target: Option<&InstanceTarget>,
        id: &str,
    ) -> Result<EventRow, HubError> {
        let instance = self.event_scope(caller, target).await?;
        self.store
            .event(caller.organization_id, id)
            .await
            .or_internal()?
            .filter(|row| instance.is_none_or(|instance| row.instance_id == instance))
            .ok_or_else(|| HubError::NotFound(format!("No event with id {id}")))
    }

    pub(super) async fn instance_event(
        &self,
        caller: &Caller,
        target: Option<&InstanceTarget>,
        id: &str,
    ) -> Result<Event, HubError> {
        Ok(event_view(self.scoped_event(caller, target, id).await?, true))
    }

    /// Releases one event, or every failed and queued event of an instance, for delivery now.
    pub(super) async fn redeliver_instance_events(
        &self,
        caller: &Caller,
        target: Option<&InstanceTarget>,
        event: Option<&str>,
    ) -> Result<Redelivery, HubError> {
        let (instance, event) = match event {
            Some(id) => {
                let row = self.scoped_event(caller, target, id).await?;
                (row.instance_id, Some(row.id))
            }
            None => match self.event_scope(caller, target).await? {
                Some(instance) => (instance, None),
                None => return Err(bad("instance", "name the instance whose events to redeliver")),
            },
        };
        let released = self.store.redeliver(instance, event.as_deref()).await.or_internal()?;
        self.deliveries_queued.notify_one();
        self.audit(
            caller.organization_id,
            format!("user:{}", caller.user_id),
            "events.redelivered",
            format!("instance:{instance}"),
        )
        .await?;
        Ok(Redelivery { released })
    }
}

/// The event settings in an instance's (shown) configuration, or `None` when events are off.
fn settings_in(entry: &CatalogEntry, configuration: &BTreeMap<String, String>) -> Option<EventSettings> {
    let definition = &entry.definition;
    event_settings(configuration, &definition.hub, definition.events.support, definition.events.poller.as_ref())
        .ok()
        .flatten()
}

/// What a webhook looks like when the element does not say: a change with `objectType`, `objectId` and
/// `eventType` fields, unsigned.
fn default_webhook_settings() -> WebhookSettings {
    serde_json::from_value(json!({})).expect("every field has a default")
}

/// The changes in a provider's webhook payload, read as `webhook` says, each with the object to deliver as `raw`.
pub fn read_webhook<'a>(
    webhook: &WebhookSettings,
    element_key: &str,
    payload: &'a Value,
) -> Result<Vec<(ChangeNotice, &'a Value)>, HubError> {
    let changes: Vec<&Value> = match &webhook.changes_field {
        Some(path) => match field(payload, path) {
            Some(Value::Array(items)) => items.iter().collect(),
            _ => return Err(bad(&format!("body.{path}"), "must be the list of changes")),
        },
        None => vec![payload],
    };
    changes
        .into_iter()
        .enumerate()
        .map(|(index, change)| {
            let required = |path: &str| {
                field_text(change, path).ok_or_else(|| bad(&format!("body change {index}: {path}"), "is missing"))
            };
            let date = webhook
                .date_field
                .as_deref()
                .and_then(|path| field_text(change, path))
                .and_then(|text| {
                    DateTime::parse_from_rfc3339(&text)
                        .map(|at| at.with_timezone(&Utc))
                        .ok()
                        .or_else(|| text.parse::<i64>().ok().and_then(|seconds| Utc.timestamp_opt(seconds, 0).single()))
                })
                .unwrap_or_else(Utc::now);
            let notice = ChangeNotice {
                date,
                element_key: element_key.to_owned(),
                event_type: event_type_of(&required(&webhook.event_type_field)?),
                object_id: required(&webhook.object_id_field)?,
                object_type: required(&webhook.object_type_field)?,
            };
            let raw = webhook.object_field.as_deref().and_then(|path| field(change, path)).unwrap_or(change);
            Ok((notice, raw))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_in_their_pattern_and_timezone() {
        let object = json!({"_info": {"lastUpdated": "2026-11-23T10:00:00Z"}, "local": "23/11/2026 05:00:00", "epoch": 1_790_000_000});
        let at = |path: &str, format: &str, zone: &str| {
            read_date(&object, path, &DateFormat::parse(format).unwrap(), timezone(zone).unwrap())
        };
        let ten_utc = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        assert_eq!(at("_info.lastUpdated", "yyyy-MM-dd'T'HH:mm:ss'Z'", "GMT"), Some(ten_utc));
        assert_eq!(at("local", "dd/MM/yyyy HH:mm:ss", "America/New_York"), Some(ten_utc));
        assert_eq!(at("epoch", "epoch", "UTC"), Utc.timestamp_opt(1_790_000_000, 0).single());
        assert_eq!(at("missing", "epoch", "UTC"), None);
    }

    #[test]
    fn lists_are_found_in_the_usual_shapes() {
        assert_eq!(listed_objects(json!([1, 2]), "contacts").unwrap().len(), 2);
        assert_eq!(listed_objects(json!({"contacts": [1], "other": [1, 2]}), "contacts").unwrap().len(), 1);
        assert_eq!(listed_objects(json!({"total": 3, "data": [1, 2, 3]}), "contacts").unwrap().len(), 3);
        assert!(listed_objects(json!({"total": 0}), "contacts").is_err());
        assert!(listed_objects(json!("text"), "contacts").is_err());
    }

    #[test]
    fn provider_words_become_event_types() {
        for (word, expected) in [
            ("contact.created", "CREATED"),
            ("UPDATE", "UPDATED"),
            ("record_deleted", "DELETED"),
            ("merged", "MERGED"),
            ("address_updated", "UPDATED"),
        ] {
            assert_eq!(event_type_of(word), expected);
        }
    }
}
