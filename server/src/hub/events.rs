//! The Events capability: a provider's webhook turned into events, the event log and its redelivery, and where a
//! delivery goes.

use super::errors::OrInternal;
use super::event_setup::settings_in;
use super::service::HubService;
use crate::providers::webhooks::provider_signature_matches;
use crate::store::audit::Actor;
use crate::store::events::{EventRow, NewEvent};
use crate::store::from_millis;
use crate::store::instances::InstanceRecord;
use app::catalog::WebhookSettings;
use app::error::HubError;
use app::events::{ChangeNotice, Event, EventQuery, Redelivery, SIGNATURE_KEY, VendorType};
use app::hub::{Caller, Events};
use app::instances::{InstanceId, InstanceTarget};
use app::paging::Page;
use app::types::OrganizationId;
use axum::http::HeaderMap;
use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};

/// The value at a dotted path, such as `_info.lastUpdated`.
pub(super) fn field<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |inner, part| match inner {
        Value::Object(map) => map.get(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|index| items.get(index)),
        _ => None,
    })
}

/// A scalar field as text: strings as they are, numbers and booleans written out.
pub(super) fn field_text(value: &Value, path: &str) -> Option<String> {
    match field(value, path)? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A provider's word for a change, as an event type: `contact.created` and `INSERT` are CREATED, and so on;
/// a word that names none of the three is kept, in capitals.
pub(super) fn event_type_of(word: &str) -> String {
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
pub(super) fn new_event(record: &InstanceRecord, source: &'static str, change: ChangeNotice, raw: &Value) -> NewEvent {
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
    let change = ChangeNotice {
        date: from_millis(row.changed_at),
        element_key: row.element_key.clone(),
        event_type: row.event_type,
        object_id: row.object_id,
        object_type: row.object_type,
    };
    Event {
        id: row.id.clone(),
        event_date: change.date,
        provider_data: change.clone(),
        notified_data: payload.clone(),
        change,
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
            _ => return Err(HubError::invalid(&format!("body.{path}"), "must be the list of changes")),
        },
        None => vec![payload],
    };
    changes
        .into_iter()
        .enumerate()
        .map(|(index, change)| {
            let required = |path: &str| {
                field_text(change, path)
                    .ok_or_else(|| HubError::invalid(&format!("body change {index}: {path}"), "is missing"))
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

impl HubService {
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
}

#[async_trait::async_trait]
impl Events for HubService {
    async fn list_events(
        &self,
        caller: &Caller,
        target: Option<&InstanceTarget>,
        query: EventQuery,
    ) -> Result<Vec<Event>, HubError> {
        let instance = match self.event_scope(caller, target).await? {
            Some(instance) => Some(instance),
            None => query.instance_id,
        };
        let page = Page::of(query.page, query.page_size)?;
        let rows = self
            .store
            .events(caller.organization_id, instance, query.status, i64::from(page.size()), page.offset() as i64)
            .await
            .or_internal()?;
        Ok(rows.into_iter().map(|row| event_view(row, false)).collect())
    }

    async fn event(&self, caller: &Caller, target: Option<&InstanceTarget>, id: &str) -> Result<Event, HubError> {
        Ok(event_view(self.scoped_event(caller, target, id).await?, true))
    }

    /// Releases one event, or every failed and queued event of an instance, for delivery now.
    async fn redeliver_events(
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
                None => return Err(HubError::invalid("instance", "name the instance whose events to redeliver")),
            },
        };
        let released = self.store.redeliver(instance, event.as_deref()).await.or_internal()?;
        self.deliveries_queued.notify_one();
        self.audit(caller.organization_id, Actor::of(caller), "events.redelivered", format!("instance:{instance}"))
            .await?;
        Ok(Redelivery { released })
    }

    /// Takes a provider's webhook for an instance: checks the element's signature when it defines one, then stores
    /// the payload and queues its changes. Answers how many events were queued.
    async fn receive_provider_webhook(
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
        let payload: Value = serde_json::from_slice(body)
            .map_err(|error| HubError::invalid("body", format!("is not JSON ({error})")))?;
        let events: Vec<NewEvent> = read_webhook(&webhook, &entry.definition.key, &payload)?
            .into_iter()
            .map(|(notice, raw)| new_event(&record, "webhooks", notice, raw))
            .collect();
        self.store.receive_webhook(record.id, &payload.to_string(), &events).await.or_internal()?;
        self.deliveries_queued.notify_one();
        Ok(events.len())
    }

    fn shortest_poll_interval_minutes(&self) -> f64 {
        self.settings.poll_min_interval.as_secs_f64() / 60.0
    }
}
