//! An OAuth element's token endpoints and habits, as element data: how the client authenticates and encodes
//! its token requests, the extra parameters it sends, and where the provider's answer keeps the tokens.

use super::template::Template;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TokenAuth {
    /// `client_id` and `client_secret` in the request body.
    #[default]
    Form,
    /// HTTP basic authentication with the client id and secret.
    Basic,
}

/// How the token request body is encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TokenBody {
    #[default]
    Form,
    Json,
}

fn pkce_by_default() -> bool {
    true
}

fn space() -> String {
    " ".into()
}

/// The OAuth endpoints and habits of a provider. For OAuth 1.0a, `tokenUrl` is the access-token endpoint and
/// `requestTokenUrl` the temporary-credentials one (RFC 5849 §2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthSettings {
    /// Where users consent; a client-credentials element has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<Template>,
    pub token_url: Template,
    /// OAuth 1.0a only: where the request token (temporary credentials) is obtained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_token_url: Option<Template>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_url: Option<Template>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_url: Option<Template>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default = "space")]
    pub scope_separator: String,
    #[serde(default)]
    pub token_auth: TokenAuth,
    #[serde(default)]
    pub token_body: TokenBody,
    /// Whether the provider accepts PKCE (S256).
    #[serde(default = "pkce_by_default")]
    pub pkce: bool,
    /// The issuer the provider names in `iss` on its redirect (RFC 9207); a redirect naming another is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorization_params: BTreeMap<String, Template>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_params: BTreeMap<String, Template>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refresh_params: BTreeMap<String, Template>,
    /// Fields of the token response to keep, such as Salesforce's `instance_url` or Slack's `team.id` (a dotted
    /// path into the answer); templates may use them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capture: Vec<String>,
    /// Values the provider adds to the redirect that fill one of the element's parameters, by the redirect's name
    /// (Shopify's `shop` fills `subdomain`); the parameter's prefix and suffix are taken off the value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub callback_values: BTreeMap<String, String>,
    /// Where the token answer keeps the tokens and their expiry, when not where RFC 6749 puts them.
    #[serde(default, skip_serializing_if = "TokenFields::is_standard")]
    pub token_fields: TokenFields,
}

/// Where a provider's token answer keeps what Tether reads: dotted paths into the answer (Slack's user token is
/// `authed_user.access_token`). The standard places are the defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenFields {
    #[serde(default = "TokenFields::standard_access_token")]
    pub access_token: String,
    #[serde(default = "TokenFields::standard_refresh_token")]
    pub refresh_token: String,
    /// Seconds the access token lives (a number or numeric text).
    #[serde(default = "TokenFields::standard_expires_in")]
    pub expires_in: String,
    /// When the access token expires, in Unix seconds (Strava's `expires_at`): read when `expiresIn` is absent.
    #[serde(default = "TokenFields::standard_expires_at")]
    pub expires_at: String,
    /// Seconds the refresh token itself lives, where the provider says (GitHub Apps' `refresh_token_expires_in`,
    /// QuickBooks' `x_refresh_token_expires_in`).
    #[serde(default = "TokenFields::standard_refresh_token_expires_in")]
    pub refresh_token_expires_in: String,
}

impl TokenFields {
    fn standard_access_token() -> String {
        "access_token".into()
    }

    fn standard_refresh_token() -> String {
        "refresh_token".into()
    }

    fn standard_expires_in() -> String {
        "expires_in".into()
    }

    fn standard_expires_at() -> String {
        "expires_at".into()
    }

    fn standard_refresh_token_expires_in() -> String {
        "refresh_token_expires_in".into()
    }

    pub fn is_standard(&self) -> bool {
        *self == TokenFields::default()
    }
}

impl Default for TokenFields {
    fn default() -> TokenFields {
        TokenFields {
            access_token: TokenFields::standard_access_token(),
            refresh_token: TokenFields::standard_refresh_token(),
            expires_in: TokenFields::standard_expires_in(),
            expires_at: TokenFields::standard_expires_at(),
            refresh_token_expires_in: TokenFields::standard_refresh_token_expires_in(),
        }
    }
}
