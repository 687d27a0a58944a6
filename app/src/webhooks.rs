//! Lifecycle webhooks: the endpoints an organization registers to hear, signed and at least once, when one of its
//! connections is made, breaks or heals, and each delivery to them.

use crate::instances::{InstanceHealth, InstanceId};
use crate::types::EndUser;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Every lifecycle event type an endpoint may take.
pub const LIFECYCLE_EVENTS: [&str; 8] = [
    "instance.created",
    "instance.reauthenticated",
    "instance.refresh_failing",
    "instance.disabled",
    "instance.invalid",
    "instance.recovered",
    "instance.deleted",
    "connect.failed",
];

/// The event type of the delivery `POST /webhooks/{id}/test` sends; it goes to the one endpoint whatever it takes.
pub const TEST_EVENT: &str = "webhook.test";

/// The shortest signature key accepted: a key is a shared secret, and a short one is guessed.
pub const MIN_SIGNATURE_KEY_LENGTH: usize = 16;

/// `POST /webhooks`: where to deliver, the key both signatures are made with, and which events (every one when
/// empty).
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    pub url: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub signature_key: secrecy::SecretString,
    #[serde(default)]
    pub events: Vec<String>,
}

/// `PATCH /webhooks/{id}`: each field present is changed.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookEndpointPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub signature_key: Option<secrecy::SecretString>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

/// An endpoint as shown; its signature key is masked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    /// Always `********`.
    pub signature_key: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first attempt or its next retry.
    Pending,
    /// The endpoint answered 2xx.
    Notified,
    /// Out of retries, or the endpoint answered 410.
    Failed,
}

/// One lifecycle event's delivery to one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub id: String,
    /// The event's id, the same at every endpoint it goes to; sent as `webhook-id`.
    pub event_id: String,
    pub event_type: String,
    pub instance_id: Option<InstanceId>,
    pub status: WebhookDeliveryStatus,
    pub attempts: i64,
    pub last_response_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The exact JSON delivered.
    pub body: String,
}

/// The instance a lifecycle event tells of, as its body carries it: never a token or secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LifecycleInstance {
    pub id: InstanceId,
    pub name: String,
    pub element: String,
    pub tags: Vec<String>,
    pub end_user: Option<EndUser>,
    pub health: Option<InstanceHealth>,
}

/// The body of a lifecycle webhook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LifecycleEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub instance: Option<LifecycleInstance>,
    /// Why it happened, in words: the provider's refusal, the failure that disabled it, a declined consent.
    pub reason: Option<String>,
    /// For `connect.failed`: the connect session, and the end user who tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user: Option<EndUser>,
}
