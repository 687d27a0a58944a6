//! Elements as data: the definition format of a connector, and the views of an element the API and console show.
//!
//! A definition names its endpoints with URL templates: `{name}` stands for an instance parameter, a field
//! captured from the token response, a credential (`accessToken`, or a secret parameter such as `apiKey`), or a
//! value Tether supplies (`clientId`, `clientSecret`, `random`). A template may list alternatives; the first whose
//! placeholders are all known is used.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod oauth_settings;
mod placement;
mod template;
pub use oauth_settings::{OAuthSettings, TokenAuth, TokenBody, TokenFields};
pub use placement::{CredentialPlacement, CredentialPlacements, ValueEncoding};
pub use template::{Template, placeholders_in};

/// The parameters an `awsSigV4` element signs with.
pub const AWS_ACCESS_KEY_ID: &str = "accessKeyId";
pub const AWS_SECRET_ACCESS_KEY: &str = "secretAccessKey";
/// Optional: temporary credentials' session token.
pub const AWS_SESSION_TOKEN: &str = "sessionToken";

/// Values Tether fills in itself, whatever the element.
pub const BUILT_IN_PLACEHOLDERS: [&str; 3] = ["clientId", "clientSecret", "random"];

numeric_id!(
    /// Identifies an element, built-in or custom.
    ElementId
);

/// How a user proves who they are to the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum AuthType {
    #[serde(rename = "oauth2")]
    OAuth2,
    #[serde(rename = "oauth1")]
    OAuth1,
    #[serde(rename = "basic")]
    Basic,
    #[serde(rename = "apiKey")]
    ApiKey,
    #[serde(rename = "custom")]
    Custom,
    /// OAuth 2.0's client credentials grant (RFC 6749 §4.4): the instance holds a client id and secret, and Tether
    /// obtains and renews its access tokens itself.
    #[serde(rename = "clientCredentials")]
    ClientCredentials,
}

impl AuthType {
    pub const ALL: [AuthType; 6] = [
        AuthType::OAuth2,
        AuthType::OAuth1,
        AuthType::Basic,
        AuthType::ApiKey,
        AuthType::Custom,
        AuthType::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::OAuth2 => "oauth2",
            AuthType::OAuth1 => "oauth1",
            AuthType::Basic => "basic",
            AuthType::ApiKey => "apiKey",
            AuthType::Custom => "custom",
            AuthType::ClientCredentials => "clientCredentials",
        }
    }

    /// Whether an instance holds OAuth 2.0 access tokens that Tether renews: authorization-code and
    /// client-credentials elements.
    pub fn holds_tokens(self) -> bool {
        matches!(self, AuthType::OAuth2 | AuthType::ClientCredentials)
    }

    pub fn parse(text: &str) -> Option<AuthType> {
        AuthType::ALL.into_iter().find(|auth| auth.as_str().eq_ignore_ascii_case(text))
    }

    /// A short label for people.
    pub fn label(self) -> &'static str {
        match self {
            AuthType::OAuth2 => "OAuth 2.0",
            AuthType::OAuth1 => "OAuth 1.0a",
            AuthType::Basic => "Basic",
            AuthType::ApiKey => "API key",
            AuthType::Custom => "Custom",
            AuthType::ClientCredentials => "Client credentials",
        }
    }
}

/// `true`, for fields that default to it.
fn yes() -> bool {
    true
}

/// How Tether calls the provider's API for an instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiSettings {
    pub base_url: Template,
    /// Where the credentials go: one placement, or a list when a provider wants them in several places.
    pub credentials: CredentialPlacements,
    /// Extra headers sent on every proxied call.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Template>,
    /// A call that shows whether new credentials work, made before an API-key, basic, custom or
    /// client-credentials instance is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verification>,
}

/// A request to the provider's API with an instance's credentials, whose answer tells whether they work.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Verification {
    /// `GET` unless given.
    #[serde(default = "Verification::get")]
    pub method: String,
    /// Relative to the API base URL; it may hold the instance's parameters (`/accounts/{accountId}`).
    pub path: Template,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

impl Verification {
    fn get() -> String {
        "GET".into()
    }
}

/// What kind of value a parameter holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ParameterType {
    #[default]
    Text,
    Password,
    Url,
    Number,
    Boolean,
    Choice,
}

/// A value the user gives when authenticating an instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParameterDefinition {
    pub key: String,
    pub label: String,
    #[serde(rename = "type", default)]
    pub kind: ParameterType,
    #[serde(default = "yes")]
    pub required: bool,
    /// Stored encrypted and masked in answers.
    #[serde(default)]
    pub secret: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Shown before the input, not part of the value (as `https://`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The allowed values of a `choice`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// How an element learns of changes at the provider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EventMode {
    #[default]
    None,
    Polling,
    Webhooks,
    Both,
}

impl EventMode {
    pub fn label(self) -> &'static str {
        match self {
            EventMode::None => "No events",
            EventMode::Polling => "Polling",
            EventMode::Webhooks => "Webhooks",
            EventMode::Both => "Polling and webhooks",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventSupport {
    #[serde(default)]
    pub support: EventMode,
    /// The default `event.poller.configuration` for new instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poller: Option<serde_json::Value>,
    /// How the provider's webhooks are signed and read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSettings>,
}

/// How a provider writes the signature of its webhooks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

/// The provider's signature on a webhook: an HMAC-SHA256 of the raw body, keyed with an instance parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSignature {
    /// The request header that carries it.
    pub header: String,
    /// The key of the (secret) instance parameter that holds the signing secret.
    pub secret_parameter: String,
    #[serde(default)]
    pub encoding: SignatureEncoding,
    /// Text before the signature, such as `sha256=`.
    #[serde(default)]
    pub prefix: String,
}

/// How to read a provider's webhook: where its changes are, and each change's fields, as dotted paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<WebhookSignature>,
    /// The array of changes; without it, the whole payload is one change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_field: Option<String>,
    #[serde(default = "default_object_type_field")]
    pub object_type_field: String,
    #[serde(default = "default_object_id_field")]
    pub object_id_field: String,
    #[serde(default = "default_event_type_field")]
    pub event_type_field: String,
    /// When the change happened, as RFC 3339 text or seconds since 1970; without it, when it arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_field: Option<String>,
    /// The changed object, delivered as `raw`; without it, the whole change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_field: Option<String>,
}

fn default_object_type_field() -> String {
    "objectType".into()
}

fn default_object_id_field() -> String {
    "objectId".into()
}

fn default_event_type_field() -> String {
    "eventType".into()
}

/// An object type of the provider, listed on an instance by `retrieveObjectsAfterInstantiation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ElementObject {
    pub name: String,
    pub vendor_name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A connector, described as data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ElementDefinition {
    pub key: String,
    pub name: String,
    pub hub: String,
    #[serde(default)]
    pub description: String,
    /// An image URL; without one the console shows the name's initials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Listed first among equally good search matches.
    #[serde(default)]
    pub popular: bool,
    /// Other keys that find this element, such as the provider's own name for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub auth: AuthType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthSettings>,
    pub api: ApiSettings,
    #[serde(default)]
    pub parameters: Vec<ParameterDefinition>,
    #[serde(default)]
    pub events: EventSupport,
    #[serde(default)]
    pub objects: Vec<ElementObject>,
}

impl ElementDefinition {
    /// Up to two letters for a card without an image: "Google Drive" gives "GD".
    pub fn initials(&self) -> String {
        let words: Vec<&str> =
            self.name.split_whitespace().filter(|w| w.chars().next().is_some_and(char::is_alphanumeric)).collect();
        let letters: String = match words.as_slice() {
            [] => self.key.chars().take(2).collect(),
            [one] => one.chars().take(2).collect(),
            [first, second, ..] => first.chars().take(1).chain(second.chars().take(1)).collect(),
        };
        letters.to_uppercase()
    }
}

/// One of the element's configuration items, in the Cloud Elements shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationItem {
    pub key: String,
    pub name: String,
    pub description: String,
    pub default_value: Option<String>,
    /// `TEXTFIELD_128`, `PASSWORD`, `BOOLEAN`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub required: bool,
    pub hide_from_console: bool,
    pub display_order: u32,
}

/// The `authentication` object of an element.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Authentication {
    #[serde(rename = "type")]
    pub kind: AuthType,
}

/// `GET /elements/{keyOrId}/metadata`: what a Cloud Elements client reads about an element before it turns
/// events on: its names, how it authenticates, and whether and how its instances hear of changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ElementMetadata {
    pub id: ElementId,
    pub key: String,
    pub name: String,
    pub authentication: Authentication,
    pub events: EventsMetadata,
}

/// Whether an element's instances can hear of changes, and by which of Cloud Elements' `event.vendor.type` values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventsMetadata {
    pub supported: bool,
    /// `polling`, `webhook`, or both.
    pub methods: Vec<String>,
}

impl ElementMetadata {
    pub fn of(element: &Element) -> ElementMetadata {
        let methods: &[&str] = match element.definition.events.support {
            EventMode::None => &[],
            EventMode::Polling => &["polling"],
            EventMode::Webhooks => &["webhook"],
            EventMode::Both => &["polling", "webhook"],
        };
        ElementMetadata {
            id: element.id,
            key: element.key.clone(),
            name: element.name.clone(),
            authentication: element.authentication.clone(),
            events: EventsMetadata {
                supported: !methods.is_empty(),
                methods: methods.iter().map(|method| (*method).to_owned()).collect(),
            },
        }
    }
}

/// An element as the API answers it: Cloud Elements' fields, then Tether's full definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Element {
    pub id: ElementId,
    pub key: String,
    pub name: String,
    pub description: String,
    /// The logo's address, or empty.
    pub image: String,
    pub hub: String,
    pub active: bool,
    pub deleted: bool,
    /// As in Cloud Elements' answers: true for an OAuth 1.0a element only (OAuth 2.0 elements answer false).
    pub type_oauth: bool,
    pub trial_account: bool,
    /// The element's API resources: one `GET /hubs/{hub}/{object}` per object it names.
    pub resources: Vec<ElementResource>,
    /// The element's own request parameters beyond the configuration; Tether's elements have none.
    pub parameters: Vec<serde_json::Value>,
    pub transformations_enabled: bool,
    pub bulk_download_enabled: bool,
    pub bulk_upload_enabled: bool,
    pub cloneable: bool,
    pub extendable: bool,
    pub beta: bool,
    pub extended: bool,
    pub protocol_type: String,
    pub authentication: Authentication,
    /// Whether only the organization that defined it can see it.
    pub private: bool,
    pub configuration: Vec<ConfigurationItem>,
    pub definition: ElementDefinition,
}

/// One API resource of an element, as Cloud Elements listed them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ElementResource {
    pub path: String,
    pub method: String,
    /// The provider's name for the object.
    pub vendor_name: String,
}

/// A card in the console's catalog grid: what search and filters work on in the browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ElementCard {
    pub id: ElementId,
    pub key: String,
    pub name: String,
    pub hub: String,
    pub description: String,
    pub image: Option<String>,
    pub initials: String,
    pub auth: AuthType,
    pub popular: bool,
    pub private: bool,
    pub aliases: Vec<String>,
    /// How many instances of it the caller's organization has.
    #[serde(default)]
    pub instances: u32,
}

/// The filters and page of an element listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ElementQuery {
    /// Matched against key, aliases, name, hub and description; the best matches come first.
    pub search: Option<String>,
    pub hub: Option<String>,
    pub auth_type: Option<AuthType>,
    /// The page, from 1 (see `crate::paging`).
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

/// One page of elements and how many match in all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ElementPage {
    pub elements: Vec<Element>,
    pub total: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_the_first_complete_alternative() {
        let template: Template =
            serde_json::from_str(r#"["https://{host}/auth", "https://login.example.com/auth"]"#).unwrap();
        assert_eq!(template.fill(|_| None).as_deref(), Some("https://login.example.com/auth"));
        let with_host = template.fill(|name| (name == "host").then(|| "eu.example.com".to_owned()));
        assert_eq!(with_host.as_deref(), Some("https://eu.example.com/auth"));
        assert_eq!(template.placeholders().collect::<Vec<_>>(), vec!["host"]);
        assert_eq!(serde_json::to_string(&Template::new("x")).unwrap(), "\"x\"");
        assert!(serde_json::from_str::<Template>("[]").is_err());
    }

    #[test]
    fn initials_come_from_the_name() {
        let mut definition: ElementDefinition = serde_json::from_value(serde_json::json!({
            "key": "googledrive", "name": "Google Drive", "hub": "documents", "auth": "oauth2",
            "api": {"baseUrl": "https://x.example.com", "credentials": {"in": "bearer"}}
        }))
        .unwrap();
        assert_eq!(definition.initials(), "GD");
        definition.name = "box".into();
        assert_eq!(definition.initials(), "BO");
    }
}
