//! Element instances as both doors see them: the request that creates one, and the instance in the Cloud Elements
//! shape (seed 003).

use crate::catalog::{Element, ElementId, ElementObject};
use crate::types::UserId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

numeric_id!(
    /// Identifies an instance.
    InstanceId
);

/// What the masked value of a secret configuration item reads.
pub const MASK: &str = "********";

/// `{"key": …}` or `{"id": …}`: which element an instance is of.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElementReference {
    pub key: Option<String>,
    pub id: Option<ElementId>,
}

/// What the provider sent back to the callback: the code, and the state of a PKCE flow.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderData {
    pub code: Option<secrecy::SecretString>,
    pub state: Option<String>,
}

impl fmt::Debug for ProviderData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderData")
            .field("code", &self.code.as_ref().map(|_| MASK))
            .field("state", &self.state)
            .finish()
    }
}

/// The body of `POST /instances`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewInstance {
    /// Absent on `POST /elements/{keyOrId}/instances`, which names the element in its path.
    #[serde(default)]
    pub element: Option<ElementReference>,
    pub name: String,
    #[serde(default)]
    pub provider_data: ProviderData,
    /// Configuration values by key: `oauth.api.key`, the element's parameters, and so on. Values may be strings,
    /// numbers or booleans.
    #[serde(default)]
    pub configuration: BTreeMap<String, Value>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `none` (default) or `initial`: provision from `oauth.user.refresh_token` without a code.
    #[serde(default)]
    pub external_authentication: Option<String>,
    #[serde(default)]
    pub retrieve_objects_after_instantiation: bool,
}

/// The user an instance belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceUser {
    pub id: UserId,
    pub email_address: String,
    pub first_name: String,
    pub last_name: String,
}

/// An instance in the Cloud Elements shape. Secret configuration values are masked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub id: InstanceId,
    pub name: String,
    pub created_date: DateTime<Utc>,
    /// The instance token for `Authorization: …, Element <token>`.
    pub token: crate::types::RevealedSecret,
    pub element: Element,
    pub element_id: ElementId,
    pub tags: Vec<String>,
    pub provision_interactions: Vec<Value>,
    pub valid: bool,
    pub disabled: bool,
    pub max_cache_size: i64,
    pub cache_time_to_live: i64,
    pub provider_data: BTreeMap<String, String>,
    pub configuration: BTreeMap<String, String>,
    pub events_enabled: bool,
    pub trace_logging_enabled: bool,
    pub caching_enabled: bool,
    pub external_authentication: String,
    pub user: InstanceUser,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub objects: Vec<ElementObject>,
}
