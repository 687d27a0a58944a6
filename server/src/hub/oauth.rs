//! The hub's OAuth 2.0 authorization step: the provider URL a user is sent to, and the pending flow behind it.

use super::{HubService, OrInternal};
use crate::catalog::CatalogEntry;
use crate::secrets;
use crate::store::oauth_flows::StoredFlow;
use app::catalog::{AuthType, ElementDefinition, Template};
use app::error::HubError;
use app::oauth::{AuthorizationRequest, AuthorizationUrl};
use app::service::Caller;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How long a pending flow waits for its code.
pub const FLOW_LIFETIME_MINUTES: i64 = 10;

fn bad(field: &str, problem: impl std::fmt::Display) -> HubError {
    HubError::BadRequest(format!("{field}: {problem}"))
}

/// What a flow keeps encrypted until the code exchange.
#[derive(Serialize, Deserialize)]
pub struct SealedFlow {
    /// The PKCE code verifier, when the flow uses PKCE.
    pub verifier: Option<String>,
    /// The element parameter values the URL was made with.
    pub parameters: BTreeMap<String, String>,
}

/// The S256 challenge of a PKCE verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Checks parameter values against the element's definitions, and fills in defaults.
pub fn resolve_parameters(
    definition: &ElementDefinition,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, HubError> {
    if let Some(unknown) =
        given.keys().find(|key| !definition.parameters.iter().any(|parameter| &parameter.key == *key))
    {
        return Err(bad(unknown, format!("is not a parameter of element {}", definition.key)));
    }
    let mut values = BTreeMap::new();
    for parameter in &definition.parameters {
        let Some(value) = given.get(&parameter.key).cloned().or_else(|| parameter.default.clone()) else {
            continue;
        };
        if let Some(pattern) = &parameter.pattern {
            let matches =
                fancy_regex::Regex::new(pattern).ok().and_then(|regex| regex.is_match(&value).ok()).unwrap_or(false);
            if !matches {
                return Err(bad(&parameter.key, format!("does not match the pattern {pattern}")));
            }
        }
        if !parameter.options.is_empty() && !parameter.options.contains(&value) {
            return Err(bad(&parameter.key, format!("must be one of {}", parameter.options.join(", "))));
        }
        values.insert(parameter.key.clone(), value);
    }
    Ok(values)
}

/// Fills a template from parameter values and the OAuth client id; the error names what is missing.
fn fill(
    field: &str,
    template: &Template,
    values: &BTreeMap<String, String>,
    client_id: &str,
) -> Result<String, HubError> {
    let lookup = |name: &str| match name {
        "clientId" => Some(client_id.to_owned()),
        "random" => Some(secrets::generate_secret().expose_secret().to_owned()),
        _ => values.get(name).cloned(),
    };
    template.fill(lookup).ok_or_else(|| {
        let missing: Vec<&str> = template.placeholders().filter(|name| lookup(name).is_none()).collect();
        bad(field, format!("needs the parameter(s) {}", missing.join(", ")))
    })
}

impl HubService {
    pub(super) async fn build_authorization_url(
        &self,
        caller: &Caller,
        key_or_id: &str,
        request: AuthorizationRequest,
    ) -> Result<AuthorizationUrl, HubError> {
        let entry: CatalogEntry = self.visible_element(caller, key_or_id).await?;
        let definition = &*entry.definition;
        let oauth = match (definition.auth, &definition.oauth) {
            (AuthType::OAuth2, Some(oauth)) => oauth,
            _ => return Err(bad("element", format!("{} does not authenticate with OAuth 2.0", definition.key))),
        };
        let client_id = request
            .client_id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| bad("apiKey", "required: the OAuth client id"))?;
        let client_secret = request
            .client_secret
            .filter(|secret| !secret.expose_secret().trim().is_empty())
            .ok_or_else(|| bad("apiSecret", "required: the OAuth client secret"))?;
        let callback_url = request.callback_url.ok_or_else(|| bad("callbackUrl", "required: the redirect URI"))?;
        match url::Url::parse(&callback_url) {
            Ok(parsed) if matches!(parsed.scheme(), "https" | "http") && parsed.fragment().is_none() => {}
            _ => return Err(bad("callbackUrl", "must be an absolute http(s) URL without a fragment")),
        }

        let mut given = request.parameters;
        if let Some(site) = request.site_address {
            let site_parameters: Vec<&str> = oauth
                .authorization_url
                .placeholders()
                .filter(|name| definition.parameters.iter().any(|parameter| parameter.key == *name))
                .collect();
            match site_parameters.as_slice() {
                [one] => {
                    given.entry((*one).to_owned()).or_insert(site);
                }
                _ => {
                    return Err(bad("siteAddress", format!("element {} has no single site parameter", definition.key)));
                }
            }
        }
        let values = resolve_parameters(definition, &given)?;
        let base = fill("oauth.authorizationUrl", &oauth.authorization_url, &values, &client_id)?;
        let mut url = url::Url::parse(&base).map_err(|error| bad("oauth.authorizationUrl", error))?;

        let verifier = request.pkce.then(secrets::generate_secret);
        let state = match (request.state, &verifier) {
            (Some(state), _) if !state.is_empty() => state,
            // A PKCE flow is found again by its state, so each one needs its own.
            (_, Some(_)) => secrets::generate_secret().expose_secret().to_owned(),
            _ => definition.key.clone(),
        };
        let scope = request.scope.unwrap_or_else(|| oauth.scopes.join(&oauth.scope_separator));
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("response_type", "code");
            query.append_pair("client_id", &client_id);
            query.append_pair("redirect_uri", &callback_url);
            if !scope.is_empty() {
                query.append_pair("scope", &scope);
            }
            query.append_pair("state", &state);
            for (name, template) in &oauth.authorization_params {
                query.append_pair(
                    name,
                    &fill(&format!("oauth.authorizationParams.{name}"), template, &values, &client_id)?,
                );
            }
            if let Some(verifier) = &verifier {
                query.append_pair("code_challenge", &pkce_challenge(verifier.expose_secret()));
                query.append_pair("code_challenge_method", "S256");
            }
        }

        let sealed = SealedFlow { verifier: verifier.map(|v| v.expose_secret().to_owned()), parameters: values };
        let sealed = SecretString::from(serde_json::to_string(&sealed).or_internal()?);
        let flow = StoredFlow {
            organization_id: caller.organization_id,
            element_id: entry.id,
            state_hash: secrets::digest(&SecretString::from(state.clone())),
            client_id,
            client_secret_hash: secrets::digest(&client_secret),
            callback_url,
            pkce: request.pkce,
            sealed: self.vault.seal(&sealed).or_internal()?,
            expires_at: (chrono::Utc::now() + chrono::Duration::minutes(FLOW_LIFETIME_MINUTES)).timestamp_millis(),
        };
        self.store.insert_oauth_flow(&flow).await.or_internal()?;
        Ok(AuthorizationUrl { oauth_url: url.to_string(), element: definition.key.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_base64url_sha256_without_padding() {
        // Computed independently: base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").
        let verifier = "tether-pkce-verifier-0123456789-abcdefghijklmnop";
        assert_eq!(pkce_challenge(verifier), "gEVi5eT4u4kNcQpm9nbuehxx4HIaPhoorCZUEvsswH0");
    }
}
