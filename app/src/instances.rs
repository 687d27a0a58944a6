//! Element instances as both doors see them: the request that creates one, and the instance in the Cloud Elements
//! shape (seed 003).

use crate::catalog::{AuthType, Element, ElementId, ElementObject};
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

/// `filter.response.nulls`: whether fields whose value is `null` are taken out of the proxy's JSON answers
/// (`true` unless an instance says otherwise, as in Cloud Elements).
pub const FILTER_NULLS: &str = "filter.response.nulls";

/// An instance's own limit on calls through it, to keep within the provider's quota: calls a second (a number above
/// 0), the burst allowed at once (1 to 100,000; the rate rounded up when not given), and how many milliseconds a
/// call beyond it may wait for its turn before it is answered 429 (0 to 10,000; 0 when not given).
pub const PROXY_RATE_LIMIT: &str = "proxy.rate.limit";
pub const PROXY_RATE_BURST: &str = "proxy.rate.burst";
pub const PROXY_RATE_WAIT: &str = "proxy.rate.wait";

/// Whether a configuration key Tether has no use for names a secret by its words (`…secret`, `…password`,
/// `…token`, `…api.key`), so that its value is kept sealed and masked like the element's own secrets.
pub fn names_a_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let url = key.ends_with(".url") || key.ends_with("_url") || key.ends_with("url");
    let secret_words = ["secret", "password", "passwd", "token", "api.key", "api_key", "apikey", "private"];
    !url && secret_words.iter().any(|word| key.contains(word))
}

/// Cloud Elements' configuration keys for an instance's OAuth credentials: how they are named in the API and in
/// storage. The hub works with them as one typed value.
pub mod credential_keys {
    pub const CLIENT_ID: &str = "oauth.api.key";
    pub const CLIENT_SECRET: &str = "oauth.api.secret";
    pub const CALLBACK_URL: &str = "oauth.callback.url";
    pub const SCOPE: &str = "oauth.scope";
    pub const ACCESS_TOKEN: &str = "oauth.user.token";
    pub const REFRESH_TOKEN: &str = "oauth.user.refresh_token";
    /// When the refresh token itself expires, where the provider says (RFC 3339).
    pub const REFRESH_TOKEN_EXPIRES_AT: &str = "oauth.user.refresh_token.expires_at";
    /// An OAuth 1.0a instance's token secret, which signs its calls beside the access token.
    pub const TOKEN_SECRET: &str = "oauth.user.token.secret";
    pub const EXPIRES_AT: &str = "oauth.user.token.expires_at";
    /// How long the provider said the access token lives, in seconds (its `expires_in`).
    pub const LIFETIME: &str = "oauth.user.token.lifetime";
    /// `client_credentials` on an instance whose tokens Tether obtains with the client's own credentials.
    pub const GRANT_TYPE: &str = "oauth.grant_type";
    pub const CLIENT_CREDENTIALS_GRANT: &str = "client_credentials";
}

/// `{"key": …}` or `{"id": …}`: which element an instance is of. The other fields of an element, as an instance's
/// answer carries it, are accepted and not read.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ElementReference {
    pub key: Option<String>,
    pub id: Option<ElementId>,
}

/// `providerData` of an instance body: the authorization code (and the PKCE flow's `state`). Other fields a Cloud
/// Elements client sends are accepted; the ones named like a parameter of the element (QuickBooks' `realmId`,
/// which arrives on the callback) give that parameter's value when the configuration does not; the rest
/// (`secret`, `dataSource`, …) are not kept.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderData {
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub code: Option<secrecy::SecretString>,
    pub state: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub other_fields: BTreeMap<String, Value>,
}

impl fmt::Debug for ProviderData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderData")
            .field("code", &self.code.as_ref().map(|_| MASK))
            .field("state", &self.state)
            .field("other_fields", &self.other_fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The body of `POST /instances`. Fields of an instance's answer (`id`, `createdDate`, `token`, …) are accepted and
/// not applied; any other field is ignored and named in the answer's `Warning` header.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
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
    /// Records the headers (credentials masked) and bodies of calls through the instance in its call logs.
    #[serde(default)]
    pub trace_logging_enabled: bool,
    /// Every other field: not applied (see [`ExtraFields`]).
    #[serde(flatten)]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub other_fields: BTreeMap<String, Value>,
}

/// The user an instance belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InstanceUser {
    pub id: UserId,
    pub email_address: String,
    pub first_name: String,
    pub last_name: String,
}

/// An instance in the Cloud Elements shape. Secret configuration values are masked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub id: InstanceId,
    pub name: String,
    #[serde(with = "crate::types::whole_seconds")]
    pub created_date: DateTime<Utc>,
    /// The instance token for `Authorization: …, Element <token>`.
    pub token: crate::revealed::RevealedSecret,
    pub element: Element,
    pub element_id: ElementId,
    pub tags: Vec<String>,
    pub provision_interactions: Vec<Value>,
    pub valid: bool,
    pub disabled: bool,
    pub max_cache_size: i64,
    pub cache_time_to_live: i64,
    /// On the answer of the request that created it: the `providerData` it was created with (the code, already
    /// used). Empty on every other answer.
    pub provider_data: BTreeMap<String, String>,
    pub configuration: BTreeMap<String, String>,
    pub events_enabled: bool,
    pub trace_logging_enabled: bool,
    pub caching_enabled: bool,
    pub external_authentication: String,
    pub user: InstanceUser,
    /// The team's end user it was connected for, when it was made through a connect session.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub end_user: Option<crate::types::EndUser>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub objects: Vec<ElementObject>,
    pub health: InstanceHealth,
}

/// Where an instance stands, worst first in the order a user must act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Someone turned it off; its token is refused.
    Disabled,
    /// The provider no longer honours its grant: re-authenticate it.
    Invalid,
    /// Refreshing its tokens failed and will be tried again.
    RefreshFailing,
    /// Its access token expires within the refresh margin.
    Expiring,
    Valid,
}

impl HealthState {
    pub const ALL: [HealthState; 5] = [
        HealthState::Disabled,
        HealthState::Invalid,
        HealthState::RefreshFailing,
        HealthState::Expiring,
        HealthState::Valid,
    ];

    /// The name in the API and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Disabled => "disabled",
            HealthState::Invalid => "invalid",
            HealthState::RefreshFailing => "refresh_failing",
            HealthState::Expiring => "expiring",
            HealthState::Valid => "valid",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            HealthState::Disabled => "Disabled",
            HealthState::Invalid => "Needs re-authentication",
            HealthState::RefreshFailing => "Refresh failing",
            HealthState::Expiring => "Expiring",
            HealthState::Valid => "Healthy",
        }
    }
}

/// An instance's health: its state and what it is made of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InstanceHealth {
    pub state: HealthState,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Refreshes that failed in a row.
    pub failed_refreshes: i64,
    /// Whether Tether can renew an expiring access token itself. False when an OAuth 2.0 provider sent no refresh
    /// token (some send one only on the first consent): the instance then needs re-authenticating before
    /// `accessTokenExpiresAt`.
    #[serde(default = "renewable_by_default")]
    pub renewable: bool,
    /// When the refresh token itself expires, where the provider says: the instance needs re-authenticating
    /// before then.
    #[serde(default)]
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
}

fn renewable_by_default() -> bool {
    true
}

/// Which instance a management call acts on: one named by id, one named by id under its element
/// (`/elements/{keyOrId}/instances/{id}`: an instance of another element is unknown there), or the one whose token
/// the call carries (`Authorization: …, Element <token>` on the id-less routes).
#[derive(Debug)]
pub enum InstanceTarget {
    Id(InstanceId),
    OfElement { element: String, id: InstanceId },
    Token(secrecy::SecretString),
}

/// The filters and page of `GET /instances`; the page follows [`crate::paging`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceQuery {
    /// Only instances carrying every one of these tags (`tags[]`, repeated).
    #[serde(default, rename = "tags[]", alias = "tags")]
    pub tags: Vec<String>,
    /// Only instances of this element (key, alias or id).
    #[serde(default)]
    pub element: Option<String>,
    /// Only instances connected for this end user of the team (`endUser.id` of their connect session).
    #[serde(default)]
    pub end_user_id: Option<String>,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub page_size: Option<u32>,
}

/// The body of `PATCH /instances/{id}`: each field present is changed, the others are kept. A configuration value
/// sent as `********` (a secret as it was read) is left as it is. Fields of the instance's answer are accepted and
/// not applied (`id` and `token`, when sent, must be this instance's); any other field is ignored and named in the
/// answer's `Warning` header.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InstancePatch {
    /// Accepted for compatibility; when present it must name the instance's own element.
    #[serde(default)]
    pub element: Option<ElementReference>,
    #[serde(default)]
    pub name: Option<String>,
    /// Replaces every tag.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Values to change, by key. With `providerData.code` the instance re-authenticates.
    #[serde(default)]
    pub configuration: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub provider_data: Option<ProviderData>,
    #[serde(default)]
    pub trace_logging_enabled: Option<bool>,
    /// Every other field: not applied (see [`ExtraFields`]).
    #[serde(flatten)]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub other_fields: BTreeMap<String, Value>,
}

/// Fields of an instance as Tether answers it that are not changed through a body: a Cloud Elements client sends
/// back what it read (`PUT` of a `GET`'s answer), so they are accepted and not applied.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "id",
    "createdDate",
    "updatedDate",
    "token",
    "element",
    "elementId",
    "provisionInteractions",
    "valid",
    "disabled",
    "maxCacheSize",
    "cacheTimeToLive",
    "eventsEnabled",
    "cachingEnabled",
    "externalAuthentication",
    "retrieveObjectsAfterInstantiation",
    "user",
    "endUser",
    "objects",
    "health",
];

/// The fields of an instance body beyond the ones it applies: the instance's `id` and `token` as sent back (which
/// must name the instance changed), and the names of fields that are neither applied nor read-only.
#[derive(Debug, Default, PartialEq)]
pub struct ExtraFields {
    pub id: Option<Value>,
    pub token: Option<Value>,
    pub unknown: Vec<String>,
}

impl ExtraFields {
    pub fn of(other_fields: &BTreeMap<String, Value>) -> ExtraFields {
        ExtraFields {
            id: other_fields.get("id").cloned(),
            token: other_fields.get("token").cloned(),
            unknown: other_fields.keys().filter(|name| !READ_ONLY_FIELDS.contains(&name.as_str())).cloned().collect(),
        }
    }
}

/// The query of reading one instance: `?reveal=true` shows the provider's access and refresh tokens in its
/// configuration (organization admins only; each read is audited).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct RevealQuery {
    #[serde(default)]
    pub reveal: bool,
}

/// One configuration value of an instance, as `GET /instances/{id}/configuration` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InstanceConfigurationItem {
    /// Stable for a key: derived from it, so the same key has the same id on every instance.
    pub id: i64,
    pub key: String,
    pub name: String,
    /// The value, or `********` for a secret.
    pub property_value: String,
    pub secret: bool,
}

/// The item named by its id or its key.
pub fn find_configuration_item<'a>(
    items: &'a [InstanceConfigurationItem],
    item: &str,
) -> Result<&'a InstanceConfigurationItem, crate::error::HubError> {
    items
        .iter()
        .find(|candidate| candidate.key == item || candidate.id.to_string() == item)
        .ok_or_else(|| crate::error::HubError::NotFound(format!("The instance has no configuration item {item}")))
}

/// The body of `PATCH /instances/{id}/configuration/{configId}`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigurationChange {
    pub property_value: Value,
}

/// An organization's saved OAuth app for an element, as answered: the secret is never shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OAuthApp {
    pub element: String,
    pub api_key: String,
    /// Always `********`.
    pub api_secret: String,
    pub callback_url: String,
}

/// The body of `PUT /elements/{keyOrId}/oauth/app`.
#[derive(Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOAuthApp {
    pub api_key: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub api_secret: secrecy::SecretString,
    pub callback_url: String,
}

impl fmt::Debug for NewOAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewOAuthApp")
            .field("api_key", &self.api_key)
            .field("api_secret", &MASK)
            .field("callback_url", &self.callback_url)
            .finish()
    }
}

/// What the console's authenticate form sends: a new instance, or the re-authentication of `instance`.
/// The browser sends it to the server on purpose, so it serializes; its values never print.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConsoleAuthentication {
    pub element: String,
    /// Set to re-authenticate this instance instead of creating one.
    pub instance: Option<InstanceId>,
    pub name: String,
    pub tags: Vec<String>,
    /// The element's parameters and the OAuth app (`oauth.api.key`, `oauth.api.secret`), by key.
    pub configuration: BTreeMap<String, String>,
    /// Saves the OAuth app as the organization's for this element.
    pub save_oauth_app: bool,
}

impl fmt::Debug for ConsoleAuthentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleAuthentication")
            .field("element", &self.element)
            .field("instance", &self.instance)
            .field("name", &self.name)
            .field("tags", &self.tags)
            .field("configuration", &self.configuration.keys().collect::<Vec<_>>())
            .field("save_oauth_app", &self.save_oauth_app)
            .finish()
    }
}

/// Where the console goes after its authenticate form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ConsoleNext {
    /// To the provider, to sign in and consent.
    Provider { url: String },
    /// Straight to the instance, which needed no provider.
    Instance { id: InstanceId },
}

/// What the provider put on the console's `/oauth/callback` URL.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OAuthCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// The issuer (RFC 9207), when the provider names itself.
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// OAuth 1.0a: the request token the user authorized, and the verifier that proves it.
    pub oauth_token: Option<String>,
    pub oauth_verifier: Option<String>,
    /// OAuth 1.0a: set instead when the user declined (Twitter's `denied`).
    pub denied: Option<String>,
}

impl OAuthCallback {
    /// The callback's fields, read from a query's decoded name and value pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> OAuthCallback {
        let mut callback = OAuthCallback::default();
        for (name, value) in pairs {
            let field = match name {
                "code" => &mut callback.code,
                "state" => &mut callback.state,
                "iss" => &mut callback.iss,
                "error" => &mut callback.error,
                "error_description" => &mut callback.error_description,
                "oauth_token" => &mut callback.oauth_token,
                "oauth_verifier" => &mut callback.oauth_verifier,
                "denied" => &mut callback.denied,
                _ => continue,
            };
            field.get_or_insert_with(|| value.to_owned());
        }
        callback
    }

    /// What finds the flow again: OAuth 2.0's `state`, else OAuth 1.0a's request token.
    pub fn flow_key(&self) -> Option<&str> {
        self.state.as_deref().or(self.oauth_token.as_deref()).or(self.denied.as_deref()).filter(|key| !key.is_empty())
    }
}

impl fmt::Debug for OAuthCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthCallback")
            .field("code", &self.code.as_ref().map(|_| MASK))
            .field("state", &self.state.as_ref().map(|_| MASK))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .field("oauth_token", &self.oauth_token.as_ref().map(|_| MASK))
            .field("oauth_verifier", &self.oauth_verifier.as_ref().map(|_| MASK))
            .finish()
    }
}

/// An instance as the console's cards show it: no token, no configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InstanceCard {
    pub id: InstanceId,
    pub name: String,
    pub element_key: String,
    pub element_name: String,
    pub oauth: bool,
    pub tags: Vec<String>,
    pub valid: bool,
    pub disabled: bool,
    pub health: HealthState,
    pub events_enabled: bool,
    pub created_date: DateTime<Utc>,
    /// Paths to try: the element's objects.
    pub quick_paths: Vec<String>,
}

impl From<&Instance> for InstanceCard {
    fn from(instance: &Instance) -> InstanceCard {
        InstanceCard {
            id: instance.id,
            name: instance.name.clone(),
            element_key: instance.element.key.clone(),
            element_name: instance.element.name.clone(),
            oauth: matches!(instance.element.authentication.kind, AuthType::OAuth2 | AuthType::OAuth1),
            tags: instance.tags.clone(),
            valid: instance.valid,
            disabled: instance.disabled,
            health: instance.health.state,
            events_enabled: instance.events_enabled,
            created_date: instance.created_date,
            quick_paths: instance.element.definition.objects.iter().map(|object| object.name.clone()).collect(),
        }
    }
}

/// A request the console's "Try it out" sends through an instance, relative to its element's API base URL.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TryRequest {
    pub method: String,
    pub path: String,
    /// As in a URL, without the `?`.
    pub query: String,
    pub headers: Vec<(String, String)>,
    /// Sent as `application/json` unless a `Content-Type` header says otherwise.
    pub body: String,
}

/// What the provider answered to a [`TryRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TryResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Pretty-printed when it is JSON.
    pub body: String,
    /// Whether the body was longer than the console shows.
    pub truncated: bool,
    pub millis: f64,
}

/// A notice Tether sent, or keeps in the outbox, about one of the organization's instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub id: i64,
    /// `instance.disabled`, `instance.invalid` or `instance.recovered`.
    pub kind: String,
    pub instance_id: Option<InstanceId>,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body: String,
    /// `email`, or `sms` for a text message kept here because no SMS provider is configured.
    pub channel: String,
    pub created_at: DateTime<Utc>,
    /// When it was mailed; `None` while it waits in the outbox.
    pub sent_at: Option<DateTime<Utc>>,
    pub attempts: i64,
    /// Why the last mailing failed.
    pub last_error: Option<String>,
}

/// Whether a path could leave where it is meant to stay once a URL parser reads it: a `.` or `..` segment, plain
/// or percent-encoded, between `/`, `\` or their percent-encoded forms; a backslash (read as `/`); or a control
/// character, which URL parsing drops (so `.\t.` becomes `..`).
pub fn climbs_out(path: &str) -> bool {
    if path.chars().any(|c| c == '\\' || c.is_control()) {
        return true;
    }
    let lower = path.to_ascii_lowercase().replace("%2f", "/").replace("%5c", "/");
    lower.split('/').any(|segment| matches!(segment.replace("%2e", ".").as_str(), "." | ".."))
}
