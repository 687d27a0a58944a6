//! The element's token endpoints filled in for an instance: the code exchange, the refresh and the revocation, and
//! how a provider's refusal is answered.

use super::templates::fill;
use super::templates::fill_url;
use crate::catalog::{CatalogEntry, HostPolicy};
use crate::providers::token_client::{TokenEndpoint, TokenError};
use app::catalog::{AuthType, OAuthSettings, Template};
use app::error::HubError;
use std::collections::BTreeMap;

/// A provider's failure as the API answers it, saying which kind it is: refusals are the caller's to fix (400), a
/// provider that is down or answers nonsense is not (502). The provider's own words go in `provider_message`.
pub(super) fn provider_error(error: TokenError) -> HubError {
    let (status, message) = match &error {
        TokenError::Refused(refused) => return HubError::BadRequest(refused.to_string()),
        TokenError::InvalidGrant { .. } => {
            (400, "The provider refused the authorization: the code or grant is used, expired or revoked")
        }
        TokenError::Rejected { .. } => (
            400,
            "The provider refused Tether's request: check the OAuth client id and secret, and the redirect URI \
             registered with the provider",
        ),
        TokenError::Transient { .. } => {
            (502, "The provider is unavailable right now; nothing was changed, try again soon")
        }
        TokenError::Malformed(_) => (502, "The provider's answer is not a token response"),
    };
    HubError::Provider { status, message: message.into(), provider_message: error.to_string() }
}

/// The token endpoint for the code exchange, with the element's token parameters.
pub(super) fn exchange_endpoint(
    oauth: &OAuthSettings,
    values: &BTreeMap<String, String>,
    policy: HostPolicy,
) -> Result<TokenEndpoint, HubError> {
    endpoint_with_params(
        "oauth.tokenUrl",
        &oauth.token_url,
        ("oauth.tokenParams", &oauth.token_params),
        oauth,
        values,
        policy,
    )
}

/// Where refresh tokens are used: the refresh URL when the element has one, else the token URL, with the
/// element's refresh parameters only; the code exchange's parameters never go along.
pub(super) fn refresh_endpoint(
    oauth: &OAuthSettings,
    values: &BTreeMap<String, String>,
    policy: HostPolicy,
) -> Result<TokenEndpoint, HubError> {
    let url = oauth.refresh_url.as_ref().unwrap_or(&oauth.token_url);
    endpoint_with_params("oauth.refreshUrl", url, ("oauth.refreshParams", &oauth.refresh_params), oauth, values, policy)
}

/// The revocation endpoint (RFC 7009), which takes no parameters of the element's.
pub(super) fn revoke_endpoint(
    url: &Template,
    oauth: &OAuthSettings,
    values: &BTreeMap<String, String>,
    policy: HostPolicy,
) -> Result<TokenEndpoint, HubError> {
    endpoint_with_params("oauth.revokeUrl", url, ("", &BTreeMap::new()), oauth, values, policy)
}

fn endpoint_with_params(
    field: &str,
    url: &Template,
    (params_field, params): (&str, &BTreeMap<String, Template>),
    oauth: &OAuthSettings,
    values: &BTreeMap<String, String>,
    policy: HostPolicy,
) -> Result<TokenEndpoint, HubError> {
    // An element's parameter named like one the request sends itself replaces it (`token_client::token_form`).
    let extra = params
        .iter()
        .map(|(name, template)| Ok((name.clone(), fill(&format!("{params_field}.{name}"), template, values)?)))
        .collect::<Result<_, HubError>>()?;
    let url = fill_url(field, url, values, policy)?;
    Ok(TokenEndpoint { url, auth: oauth.token_auth, body: oauth.token_body, extra, fields: oauth.token_fields.clone() })
}

/// The token endpoints of an element whose instances hold access tokens: authorization-code and client-credentials
/// elements.
pub(super) fn token_settings(entry: &CatalogEntry) -> Result<&OAuthSettings, HubError> {
    match (entry.definition.auth.holds_tokens(), &entry.definition.oauth) {
        (true, Some(oauth)) => Ok(oauth),
        _ => Err(HubError::invalid("element", format!("{} holds no OAuth 2.0 tokens", entry.definition.key))),
    }
}

pub(super) fn oauth_settings(entry: &CatalogEntry) -> Result<&OAuthSettings, HubError> {
    match (entry.definition.auth, &entry.definition.oauth) {
        (AuthType::OAuth2, Some(oauth)) => Ok(oauth),
        _ => {
            Err(HubError::invalid("element", format!("{} does not authenticate with OAuth 2.0", entry.definition.key)))
        }
    }
}
