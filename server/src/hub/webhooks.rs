//! The LifecycleWebhooks capability: an organization's endpoints for lifecycle events, a test delivery and the
//! delivery log; and queuing a lifecycle event (an instance made, re-authenticated, failing, disabled, invalid,
//! recovered or deleted, a connect attempt that failed) for every endpoint that takes it.

use super::errors::OrInternal;
use super::service::HubService;
use crate::store::instances::InstanceRecord;
use crate::store::webhooks::{DeliveryRecord, EndpointRecord, NewLifecycleEvent};
use app::error::HubError;
use app::hub::{Caller, LifecycleWebhooks};
use app::instances::MASK;
use app::types::OrganizationId;
use app::webhooks::{
    LIFECYCLE_EVENTS, LifecycleEvent, LifecycleInstance, MIN_SIGNATURE_KEY_LENGTH, NewWebhookEndpoint, TEST_EVENT,
    WebhookDelivery, WebhookEndpoint, WebhookEndpointPatch,
};
use secrecy::{ExposeSecret, SecretString};

/// How many endpoints an organization may register.
const MAX_ENDPOINTS: usize = 20;

/// How many of an endpoint's newest deliveries its log shows.
const DELIVERIES_SHOWN: i64 = 100;

/// The checked list of event types: known ones, each once.
fn checked_events(events: &[String]) -> Result<Vec<String>, HubError> {
    let mut checked: Vec<String> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        if !LIFECYCLE_EVENTS.contains(&event.as_str()) {
            let known = LIFECYCLE_EVENTS.join(", ");
            return Err(HubError::invalid(&format!("events[{index}]"), format!("{event} is not one of {known}")));
        }
        if !checked.contains(event) {
            checked.push(event.clone());
        }
    }
    Ok(checked)
}

fn checked_key(key: &SecretString) -> Result<(), HubError> {
    if key.expose_secret().trim().chars().count() < MIN_SIGNATURE_KEY_LENGTH {
        return Err(HubError::invalid(
            "signatureKey",
            format!("must have at least {MIN_SIGNATURE_KEY_LENGTH} characters"),
        ));
    }
    Ok(())
}

/// A lifecycle event's body, as the queue keeps it.
pub(super) fn queued(organization: OrganizationId, body: &LifecycleEvent) -> Result<NewLifecycleEvent, HubError> {
    Ok(NewLifecycleEvent {
        id: body.id.clone(),
        organization_id: organization,
        event_type: body.event_type.clone(),
        instance_id: body.instance.as_ref().map(|instance| instance.id),
        body: serde_json::to_string(body).or_internal()?,
    })
}

fn endpoint_view(record: &EndpointRecord) -> WebhookEndpoint {
    WebhookEndpoint {
        id: record.id.clone(),
        url: record.url.clone(),
        signature_key: MASK.into(),
        events: record.events.clone(),
        created_at: crate::store::from_millis(record.created_at),
    }
}

fn delivery_view(record: DeliveryRecord) -> WebhookDelivery {
    WebhookDelivery {
        id: record.id,
        event_id: record.event_id,
        event_type: record.event_type,
        instance_id: record.instance_id,
        status: record.status,
        attempts: record.attempts,
        last_response_code: record.last_response_code,
        last_error: record.last_error,
        created_at: crate::store::from_millis(record.created_at),
        delivered_at: record.delivered_at.map(crate::store::from_millis),
        body: record.body,
    }
}

impl HubService {
    /// A lifecycle event about `instance` (of the element `element_key`), ready to queue.
    pub(super) fn lifecycle_event(
        &self,
        organization: OrganizationId,
        event_type: &str,
        instance: Option<(&InstanceRecord, &str)>,
        reason: Option<String>,
    ) -> Result<NewLifecycleEvent, HubError> {
        queued(organization, &self.lifecycle_body(event_type, instance, reason))
    }

    /// The body of a lifecycle event about `instance`, with a new id.
    pub(super) fn lifecycle_body(
        &self,
        event_type: &str,
        instance: Option<(&InstanceRecord, &str)>,
        reason: Option<String>,
    ) -> LifecycleEvent {
        LifecycleEvent {
            id: format!("evt_{}", uuid::Uuid::new_v4().simple()),
            event_type: event_type.to_owned(),
            created_at: chrono::Utc::now(),
            instance: instance.map(|(record, element_key)| LifecycleInstance {
                id: record.id,
                name: record.name.clone(),
                element: element_key.to_owned(),
                tags: record.tags.clone(),
                end_user: record.end_user.clone(),
                health: Some(self.health_of(record)),
            }),
            reason,
            connect_session_id: None,
            end_user: None,
        }
    }

    /// Queues a lifecycle event about `instance` for the organization's endpoints that take it.
    pub(super) async fn emit_lifecycle(
        &self,
        event_type: &str,
        instance: (&InstanceRecord, &str),
        reason: Option<String>,
    ) -> Result<(), HubError> {
        let event = self.lifecycle_event(instance.0.organization_id, event_type, Some(instance), reason)?;
        self.store.queue_lifecycle_event(&event, None).await.or_internal()?;
        Ok(())
    }

    /// Where a delivery goes, and the key it is signed with; none for an endpoint since removed.
    pub async fn webhook_destination(
        &self,
        organization: OrganizationId,
        endpoint: &str,
    ) -> Result<Option<super::Destination>, HubError> {
        let Some(record) = self.store.webhook_endpoint(organization, endpoint).await.or_internal()? else {
            return Ok(None);
        };
        let key = self.vault.use_secret(record.signature_vault_id).await.or_internal()?;
        Ok(Some(super::Destination { callback_url: record.url, signature_key: Some(key) }))
    }

    /// A URL endpoints may have: absolute http(s), to a host the outbound policy lets Tether reach.
    async fn checked_endpoint_url(&self, url: &str) -> Result<String, HubError> {
        let url = url.trim();
        let parsed =
            url::Url::parse(url).map_err(|error| HubError::invalid("url", format!("is not a URL ({error})")))?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.fragment().is_some() {
            return Err(HubError::invalid("url", "must be an http(s) URL without a #fragment"));
        }
        if let Err(refused) = self.outbound.check(&parsed).await {
            return Err(HubError::invalid("url", refused.to_string()));
        }
        Ok(url.to_owned())
    }

    async fn own_endpoint(&self, caller: &Caller, id: &str) -> Result<EndpointRecord, HubError> {
        self.store
            .webhook_endpoint(caller.organization_id, id)
            .await
            .or_internal()?
            .ok_or_else(|| HubError::NotFound(format!("No webhook endpoint with id {id}")))
    }
}

#[async_trait::async_trait]
impl LifecycleWebhooks for HubService {
    async fn create_webhook(&self, caller: &Caller, new: NewWebhookEndpoint) -> Result<WebhookEndpoint, HubError> {
        caller.require_admin("register webhook endpoints")?;
        let url = self.checked_endpoint_url(&new.url).await?;
        checked_key(&new.signature_key)?;
        let events = checked_events(&new.events)?;
        if self.store.webhook_endpoints(caller.organization_id).await.or_internal()?.len() >= MAX_ENDPOINTS {
            return Err(HubError::BadRequest(format!(
                "An organization may register at most {MAX_ENDPOINTS} endpoints"
            )));
        }
        let signature_vault_id = self
            .vault
            .put(Some(caller.organization_id), "webhook.signature_key", &new.signature_key)
            .await
            .or_internal()?;
        let record = EndpointRecord {
            id: format!("we_{}", uuid::Uuid::new_v4().simple()),
            organization_id: caller.organization_id,
            url,
            signature_vault_id,
            events,
            created_at: crate::store::now_millis(),
        };
        if let Err(error) = self.store.insert_webhook_endpoint(&record).await {
            let _ = self.vault.remove(signature_vault_id).await;
            return Err(super::internal_error(error));
        }
        let actor = crate::store::audit::Actor::of(caller);
        self.audit(caller.organization_id, actor, "webhook.created", format!("webhook:{}", record.id)).await?;
        Ok(endpoint_view(&record))
    }

    async fn webhooks(&self, caller: &Caller) -> Result<Vec<WebhookEndpoint>, HubError> {
        let records = self.store.webhook_endpoints(caller.organization_id).await.or_internal()?;
        Ok(records.iter().map(endpoint_view).collect())
    }

    async fn webhook(&self, caller: &Caller, id: &str) -> Result<WebhookEndpoint, HubError> {
        Ok(endpoint_view(&self.own_endpoint(caller, id).await?))
    }

    async fn update_webhook(
        &self,
        caller: &Caller,
        id: &str,
        patch: WebhookEndpointPatch,
    ) -> Result<WebhookEndpoint, HubError> {
        caller.require_admin("change webhook endpoints")?;
        let mut record = self.own_endpoint(caller, id).await?;
        if let Some(url) = &patch.url {
            record.url = self.checked_endpoint_url(url).await?;
        }
        if let Some(events) = &patch.events {
            record.events = checked_events(events)?;
        }
        if let Some(key) = &patch.signature_key {
            checked_key(key)?;
            self.vault.replace(record.signature_vault_id, key).await.or_internal()?;
        }
        if !self.store.update_webhook_endpoint(&record).await.or_internal()? {
            return Err(HubError::NotFound(format!("No webhook endpoint with id {id}")));
        }
        let actor = crate::store::audit::Actor::of(caller);
        self.audit(caller.organization_id, actor, "webhook.changed", format!("webhook:{id}")).await?;
        Ok(endpoint_view(&record))
    }

    async fn delete_webhook(&self, caller: &Caller, id: &str) -> Result<(), HubError> {
        caller.require_admin("remove webhook endpoints")?;
        let record = self.own_endpoint(caller, id).await?;
        if self.store.delete_webhook_endpoint(caller.organization_id, id).await.or_internal()? {
            self.vault.remove(record.signature_vault_id).await.or_internal()?;
            let actor = crate::store::audit::Actor::of(caller);
            self.audit(caller.organization_id, actor, "webhook.deleted", format!("webhook:{id}")).await?;
        }
        Ok(())
    }

    async fn test_webhook(&self, caller: &Caller, id: &str) -> Result<WebhookDelivery, HubError> {
        let record = self.own_endpoint(caller, id).await?;
        let reason = Some("A test delivery, sent from Tether on request".to_owned());
        let event = self.lifecycle_event(caller.organization_id, TEST_EVENT, None, reason)?;
        self.store.queue_lifecycle_event(&event, Some(&record.id)).await.or_internal()?;
        let deliveries = self.store.webhook_deliveries(caller.organization_id, id, DELIVERIES_SHOWN).await;
        deliveries
            .or_internal()?
            .into_iter()
            .find(|delivery| delivery.event_id == event.id)
            .map(delivery_view)
            .ok_or(HubError::Internal)
    }

    async fn webhook_deliveries(&self, caller: &Caller, id: &str) -> Result<Vec<WebhookDelivery>, HubError> {
        self.own_endpoint(caller, id).await?;
        let records = self.store.webhook_deliveries(caller.organization_id, id, DELIVERIES_SHOWN).await;
        Ok(records.or_internal()?.into_iter().map(delivery_view).collect())
    }

    async fn redeliver_webhook(&self, caller: &Caller, id: &str, delivery: &str) -> Result<(), HubError> {
        self.own_endpoint(caller, id).await?;
        if !self.store.redeliver_webhook(caller.organization_id, id, delivery).await.or_internal()? {
            return Err(HubError::NotFound(format!("No delivery {delivery} to endpoint {id}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lists_hold_known_types_once() {
        let events = checked_events(&["instance.created".into(), "instance.created".into()]).unwrap();
        assert_eq!(events, ["instance.created"]);
        let error = checked_events(&["instance.created".into(), "instance.exploded".into()]).unwrap_err();
        assert!(error.to_string().starts_with("events[1]: instance.exploded is not one of"), "{error}");
        assert!(checked_key(&SecretString::from("short")).is_err());
        assert!(checked_key(&SecretString::from("a-key-long-enough-1")).is_ok());
    }
}
