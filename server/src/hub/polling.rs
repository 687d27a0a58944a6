//! Polling a provider for changes: one poll of an instance's resources through the proxy path, read as the element
//! says, turned into events.

use super::errors::OrInternal;
use super::event_setup::settings_in;
use super::event_setup::timezone;
use super::events::field_text;
use super::events::new_event;
use super::service::HubService;
use crate::catalog::CatalogEntry;
use crate::providers::provider_client::{Outgoing, call_through};
use crate::store::events::{ClaimedPoll, PolledChange};
use crate::store::instances::InstanceRecord;
use crate::store::{from_millis, now_millis};
use app::error::HubError;
use app::events::java_date::ReadDate;
use app::events::{ChangeNotice, DateFormat, PolledResource, VendorType, fill_poll_url};
use app::hub::Caller;
use app::types::Role;
use axum::http::{HeaderMap, Method};
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use secrecy::SecretString;
use serde_json::Value;

/// How far back of the last poll a poll asks, so that a change stamped in the same second is not missed; the
/// seen versions keep it from being sent twice.
const POLL_OVERLAP_MILLIS: i64 = 5_000;

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
    pub(super) fn of(path: &Option<String>, format: &Option<String>, zone: &Option<String>) -> Option<DateField> {
        let path = path.clone()?;
        let format = DateFormat::parse(format.as_deref().unwrap_or("yyyy-MM-dd'T'HH:mm:ssXXX")).ok()?;
        let zone = zone.as_deref().and_then(timezone).unwrap_or(Tz::UTC);
        Some(DateField { path, format, zone })
    }

    pub(super) fn read(&self, object: &Value) -> Option<DateTime<Utc>> {
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

impl HubService {
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
        let next = self.clock().now_millis() + claim.interval_millis;
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
        let filled = fill_poll_url(&resource.url, hub, since)
            .map_err(|problem| HubError::invalid(&format!("{name}.url"), problem))?;
        let (path, query) = filled.split_once('?').map_or((filled.as_str(), None), |(path, query)| (path, Some(query)));
        let mut headers = HeaderMap::new();
        headers.insert("accept", axum::http::HeaderValue::from_static("application/json"));
        let outgoing = Outgoing { method: Method::GET, path, query, headers, body: Default::default() };
        let caller = Self::owner_of(record);
        let response = call_through(self, &self.outbound, &caller, token, hub, &outgoing).await?.response;
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
                None => crate::security::secrets::digest(&SecretString::from(object.to_string())),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::events::event_type_of;
    use serde_json::json;

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
