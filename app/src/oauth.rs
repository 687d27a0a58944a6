//! The OAuth 2.0 authorization flow as both doors see it: asking for an authorization URL, and its answer.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /elements/{keyOrId}/oauth/url`: what the caller's OAuth app is and where the provider sends the user back.
#[derive(Debug, Default)]
pub struct AuthorizationRequest {
    /// The OAuth client id (`apiKey`).
    pub client_id: Option<String>,
    /// The OAuth client secret (`apiSecret`); kept only as a hash, to check the later code exchange uses the same.
    pub client_secret: Option<SecretString>,
    /// The redirect URI (`callbackUrl`), matched exactly by the provider and by Tether.
    pub callback_url: Option<String>,
    /// Echoed back by the provider; the element key when absent (and a random value when PKCE is on).
    pub state: Option<String>,
    /// Replaces the element's default scopes.
    pub scope: Option<String>,
    /// Fills the element's site parameter: the one parameter its authorization URL names.
    pub site_address: Option<String>,
    /// Adds a PKCE S256 challenge; the code must then come back with `providerData.state`.
    pub pkce: bool,
    /// Values of the element's own parameters, by key.
    pub parameters: BTreeMap<String, String>,
    /// OAuth 1.0a: the request token `GET /elements/{keyOrId}/oauth/token` gave; without one, Tether gets one.
    pub request_token: Option<String>,
}

/// `GET /elements/{keyOrId}/oauth/token`: an OAuth 1.0a element's request token (temporary credentials), for
/// `oauth/url`'s `requestToken`; its secret goes in `providerData.secret` when the instance is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestToken {
    pub token: String,
    pub secret: String,
}

/// The answer: the URL to send the user to, and the element key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationUrl {
    pub oauth_url: String,
    pub element: String,
}
