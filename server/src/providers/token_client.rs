//! Talks to providers' token endpoints: OAuth 2.0's code exchange (with PKCE), refresh and revocation (RFC 7009),
//! OAuth 1.0a's request and access tokens, and sorts their failures into what a caller can act on.
//!
//! This is a small client over reqwest rather than a typed OAuth client, because the catalog's providers differ in
//! ways such a client does not model in one path: JSON token bodies, extra token parameters, response fields to
//! capture (Salesforce's `instance_url`), answers that are form-encoded or keep the tokens elsewhere (Slack's
//! `authed_user`), absolute expiries (Strava), and refusals sent with a 2xx status (`{"ok": false, …}`).

use crate::providers::outbound::{Outbound, OutboundError, Refused};
use app::catalog::{TokenAuth, TokenBody, TokenFields};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// A token endpoint and how to call it.
#[derive(Clone, Debug)]
pub struct TokenEndpoint {
    /// Filled from the element's template and already checked against the outbound policy.
    pub url: url::Url,
    pub auth: TokenAuth,
    pub body: TokenBody,
    /// Extra parameters the provider wants in the request.
    pub extra: BTreeMap<String, String>,
    /// Where the answer keeps the tokens.
    pub fields: TokenFields,
}

/// The OAuth app Tether acts as.
#[derive(Debug)]
pub struct ClientCredentials {
    pub id: String,
    pub secret: SecretString,
}

/// What a token endpoint granted. The tokens never print.
#[derive(Debug)]
pub struct TokenSet {
    pub access_token: SecretString,
    /// Absent when the provider did not send one; a caller keeps the refresh token it had.
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
    /// How long the access token lives, as the provider said.
    pub lifetime: Option<chrono::Duration>,
    /// When the refresh token itself expires, where the provider says.
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub scope: Option<String>,
    /// The response fields the element asked to keep.
    pub captured: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The grant is gone: a used or expired code, a revoked or rotated refresh token.
    #[error("invalid_grant: {description}")]
    InvalidGrant { description: String },
    /// Any other refusal: a wrong client secret, a mismatched redirect URI, a missing PKCE verifier.
    #[error("{error}: {description}")]
    Rejected { status: u16, error: String, description: String },
    /// Worth retrying: the network failed, or the provider answered 5xx or 429.
    #[error("the provider is unavailable: {detail}")]
    Transient { detail: String, retry_after: Option<Duration> },
    /// The provider answered 2xx with something that is not a token response.
    #[error("the provider's answer is not a token response: {0}")]
    Malformed(String),
    /// The endpoint's host is refused by the outbound policy; nothing was sent.
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// What a failed connection says, whatever the far end did: a closed port, a silent one and a broken answer read
/// the same, so the message cannot be used to map a network.
pub const UNREACHABLE: &str = "could not reach the provider";

/// Calls token endpoints through the guarded client, with a timeout.
#[derive(Clone, Debug)]
pub struct TokenClient {
    outbound: Outbound,
    timeout: Duration,
}

impl TokenClient {
    pub fn new(timeout: Duration, outbound: Outbound) -> TokenClient {
        TokenClient { outbound, timeout }
    }

    /// Exchanges an authorization code, with the PKCE verifier when the flow used one.
    pub async fn exchange_code(
        &self,
        endpoint: &TokenEndpoint,
        client: &ClientCredentials,
        code: &SecretString,
        redirect_uri: &str,
        verifier: Option<&SecretString>,
        capture: &[String],
    ) -> Result<TokenSet, TokenError> {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.expose_secret().to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier.expose_secret().to_owned()));
        }
        self.token_request(endpoint, client, form, capture).await
    }

    pub async fn refresh(
        &self,
        endpoint: &TokenEndpoint,
        client: &ClientCredentials,
        refresh_token: &SecretString,
        capture: &[String],
    ) -> Result<TokenSet, TokenError> {
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.expose_secret().to_owned()),
        ];
        self.token_request(endpoint, client, form, capture).await
    }

    /// Gets an access token for the client itself (RFC 6749 §4.4), for `scope` when it is not empty.
    pub async fn client_credentials(
        &self,
        endpoint: &TokenEndpoint,
        client: &ClientCredentials,
        scope: &str,
        capture: &[String],
    ) -> Result<TokenSet, TokenError> {
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !scope.trim().is_empty() {
            form.push(("scope", scope.to_owned()));
        }
        self.token_request(endpoint, client, form, capture).await
    }

    /// Revokes a token (RFC 7009). `hint` is `access_token` or `refresh_token`.
    pub async fn revoke(
        &self,
        endpoint: &TokenEndpoint,
        client: &ClientCredentials,
        token: &SecretString,
        hint: &str,
    ) -> Result<(), TokenError> {
        let form = vec![("token", token.expose_secret().to_owned()), ("token_type_hint", hint.to_owned())];
        let response = self.send(endpoint, client, form).await?;
        if response.status().is_success() { Ok(()) } else { Err(refusal(response).await) }
    }

    async fn send(
        &self,
        endpoint: &TokenEndpoint,
        client: &ClientCredentials,
        form: Vec<(&str, String)>,
    ) -> Result<reqwest::Response, TokenError> {
        let form = token_form(form, endpoint, client);
        let mut request =
            self.outbound.post(endpoint.url.clone()).timeout(self.timeout).header("Accept", "application/json");
        if endpoint.auth == TokenAuth::Basic {
            request = request.basic_auth(form_encode(&client.id), Some(form_encode(client.secret.expose_secret())));
        }
        request = match endpoint.body {
            TokenBody::Form => request.form(&form),
            TokenBody::Json => request.json(&form.into_iter().collect::<BTreeMap<_, _>>()),
        };
        self.outbound.send(request).await.map_err(unsent)
    }

    async fn token_request(
        &self,
        endpoint: &TokenEndpoint,
        client: &ClientCredentials,
        form: Vec<(&str, String)>,
        capture: &[String],
    ) -> Result<TokenSet, TokenError> {
        let response = self.send(endpoint, client, form).await?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        let status = response.status().as_u16();
        let text = response.bytes().await.map_err(|_| TokenError::Malformed("the answer was cut off".into()))?;
        let body = answer_body(&text).ok_or_else(|| TokenError::Malformed("neither JSON nor a form".into()))?;
        token_set(&body, &endpoint.fields, capture).map_err(|malformed| refusal_in(status, &body).unwrap_or(malformed))
    }
}

/// What an OAuth 1.0a token step granted: a token, its secret, and the other fields of the answer (Twitter's
/// `user_id`, `screen_name`). Neither the token nor its secret can print.
pub struct OAuth1Tokens {
    pub token: String,
    pub secret: SecretString,
    pub other_fields: BTreeMap<String, String>,
}

/// One OAuth 1.0a token step's request: the token it is signed with, and the protocol values it carries.
pub struct OAuth1Step<'a> {
    pub token: Option<(&'a str, &'a SecretString)>,
    pub callback: Option<&'a str>,
    pub verifier: Option<&'a str>,
}

impl TokenClient {
    /// One of OAuth 1.0a's token steps (RFC 5849 §2.1 and §2.3): a signed POST to `url`, whose form-encoded answer
    /// holds `oauth_token` and `oauth_token_secret`.
    pub async fn oauth1_step(
        &self,
        url: &url::Url,
        client: &ClientCredentials,
        step: OAuth1Step<'_>,
    ) -> Result<OAuth1Tokens, TokenError> {
        let signer = crate::providers::request_signing::OAuth1Signer {
            consumer_key: &client.id,
            consumer_secret: client.secret.expose_secret(),
            token: step.token.map(|(token, secret)| (token, secret.expose_secret())),
            callback: step.callback,
            verifier: step.verifier,
        };
        let authorization = signer.authorization(&reqwest::Method::POST, url, None);
        let request = self.outbound.post(url.clone()).timeout(self.timeout).header("Authorization", authorization);
        let response = self.outbound.send(request).await.map_err(unsent)?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        let text = response.bytes().await.map_err(|_| TokenError::Malformed("the answer was cut off".into()))?;
        let mut fields: BTreeMap<String, String> = url::form_urlencoded::parse(&text).into_owned().collect();
        match (fields.remove("oauth_token"), fields.remove("oauth_token_secret")) {
            (Some(token), Some(secret)) if !token.is_empty() => {
                Ok(OAuth1Tokens { token, secret: SecretString::from(secret), other_fields: fields })
            }
            _ => Err(TokenError::Malformed("no oauth_token and oauth_token_secret in the answer".into())),
        }
    }
}

/// The body of a request to a token endpoint: the request's own parameters (`grant_type`, `code`, …), then the
/// element's, one of the same name replacing the request's, then the client's credentials when they go in the body.
pub fn token_form<'a>(
    mut form: Vec<(&'a str, String)>,
    endpoint: &'a TokenEndpoint,
    client: &ClientCredentials,
) -> Vec<(&'a str, String)> {
    with_element_parameters(&mut form, endpoint.extra.iter().map(|(name, value)| (name.as_str(), value.clone())));
    if endpoint.auth == TokenAuth::Form {
        with_element_parameters(
            &mut form,
            [("client_id", client.id.clone()), ("client_secret", client.secret.expose_secret().to_owned())],
        );
    }
    form
}

/// Adds an element's own parameters to the standard ones of a request to a provider: one of the same name replaces
/// the standard value (`response_type=code id_token`, say) and the others are added, so no name is sent twice.
pub fn with_element_parameters<'a>(
    standard: &mut Vec<(&'a str, String)>,
    element: impl IntoIterator<Item = (&'a str, String)>,
) {
    for (name, value) in element {
        match standard.iter_mut().find(|(given, _)| *given == name) {
            Some(slot) => slot.1 = value,
            None => standard.push((name, value)),
        }
    }
}

/// A token request the guarded client did not get an answer to: refused by the outbound policy, or unreachable.
fn unsent(error: OutboundError) -> TokenError {
    match error {
        OutboundError::Refused(refused) => TokenError::Refused(refused),
        OutboundError::Failed(_) => TokenError::Transient { detail: UNREACHABLE.into(), retry_after: None },
    }
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before they go into the basic credentials.
fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A token answer as JSON: a JSON object, or a form-encoded answer (`access_token=…&expires_in=…`) read as one.
fn answer_body(text: &[u8]) -> Option<Value> {
    if let Ok(body @ Value::Object(_)) = serde_json::from_slice::<Value>(text) {
        return Some(body);
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(text).ok()?;
    let named_pairs = !pairs.is_empty() && pairs.iter().all(|(name, _)| !name.is_empty() && !name.contains(' '));
    named_pairs.then(|| Value::Object(pairs.into_iter().map(|(name, value)| (name, Value::String(value))).collect()))
}

/// The value at a dotted path (`authed_user.access_token`) of an answer.
fn at_path<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(body, |value, name| value.get(name))
}

/// A number, or numeric text.
fn seconds_in(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_str()?.trim().parse().ok())
}

fn token_set(body: &Value, fields: &TokenFields, capture: &[String]) -> Result<TokenSet, TokenError> {
    let text =
        |path: &str| at_path(body, path).and_then(Value::as_str).filter(|text| !text.is_empty()).map(str::to_owned);
    let access_token = text(&fields.access_token)
        .ok_or_else(|| TokenError::Malformed(format!("no {} in the answer", fields.access_token)))?;
    let now = Utc::now();
    // Mailchimp answers `"expires_in": 0` for a token that never expires.
    let expires_in = at_path(body, &fields.expires_in).and_then(seconds_in).filter(|seconds| *seconds > 0);
    let expires_at = match expires_in {
        Some(seconds) => Some(now + chrono::Duration::seconds(seconds)),
        None => at_path(body, &fields.expires_at).and_then(seconds_in).and_then(|at| DateTime::from_timestamp(at, 0)),
    };
    let captured = capture
        .iter()
        .filter_map(|name| {
            let value = at_path(body, name)?;
            Some((name.clone(), value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string())))
        })
        .collect();
    let refresh_token_expires_at = at_path(body, &fields.refresh_token_expires_in)
        .and_then(seconds_in)
        .filter(|seconds| *seconds > 0)
        .map(|seconds| now + chrono::Duration::seconds(seconds));
    Ok(TokenSet {
        access_token: SecretString::from(access_token),
        refresh_token: text(&fields.refresh_token).map(SecretString::from),
        expires_at,
        lifetime: expires_at.map(|at| at - now),
        refresh_token_expires_at,
        scope: text("scope"),
        captured,
    })
}

/// Errors a provider sends when the code or refresh token is gone, under their names (Slack's among them).
const GRANT_GONE: [&str; 6] =
    ["invalid_grant", "invalid_refresh_token", "invalid_code", "code_already_used", "token_revoked", "token_expired"];

/// A refusal sent with a 2xx status, as some providers do (`{"ok": false, "error": "invalid_refresh_token"}`): an
/// answer with an `error`, or `ok: false`, and no token is a refusal, never a malformed answer.
fn refusal_in(status: u16, body: &Value) -> Option<TokenError> {
    let error = body.get("error").and_then(Value::as_str).filter(|error| !error.is_empty());
    let not_ok = body.get("ok").and_then(Value::as_bool) == Some(false);
    if error.is_none() && !not_ok {
        return None;
    }
    let error = error.unwrap_or("not ok").to_owned();
    let description = body.get("error_description").and_then(Value::as_str).unwrap_or("").to_owned();
    if GRANT_GONE.contains(&error.as_str()) {
        return Some(TokenError::InvalidGrant {
            description: if description.is_empty() { error } else { description },
        });
    }
    Some(TokenError::Rejected { status, error, description })
}

/// Reads a non-2xx answer into a [`TokenError`].
async fn refusal(response: reqwest::Response) -> TokenError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .map(Duration::from_secs);
    let text = response.bytes().await.unwrap_or_default();
    let body = answer_body(&text).unwrap_or(Value::Null);
    // OAuth 1.0a providers name the problem `oauth_problem` (the OAuth Problem Reporting extension), or answer text.
    let error = ["error", "oauth_problem"]
        .iter()
        .find_map(|name| body.get(name).and_then(Value::as_str))
        .unwrap_or("")
        .to_owned();
    let description = match body.get("error_description").and_then(Value::as_str) {
        Some(description) => description.to_owned(),
        None if body.is_null() => String::from_utf8_lossy(&text).trim().chars().take(300).collect(),
        None => String::new(),
    };
    if status.is_server_error() || status.as_u16() == 429 {
        return TokenError::Transient {
            detail: format!("HTTP {status} {error} {description}").trim().to_owned(),
            retry_after,
        };
    }
    if GRANT_GONE.contains(&error.as_str()) {
        return TokenError::InvalidGrant { description };
    }
    TokenError::Rejected {
        status: status.as_u16(),
        error: if error.is_empty() { format!("HTTP {status}") } else { error },
        description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_responses_are_read_and_fields_captured() {
        let body = json!({"access_token": "a", "refresh_token": "r", "expires_in": "3600", "instance_url": "https://eu.example.com", "n": 5});
        let set =
            token_set(&body, &TokenFields::default(), &["instance_url".into(), "n".into(), "absent".into()]).unwrap();
        assert_eq!(set.access_token.expose_secret(), "a");
        assert_eq!(set.refresh_token.unwrap().expose_secret(), "r");
        assert!(set.expires_at.unwrap() > Utc::now() + chrono::Duration::seconds(3500));
        assert_eq!(set.captured["instance_url"], "https://eu.example.com");
        assert_eq!(set.captured["n"], "5");
        assert!(!set.captured.contains_key("absent"));
        let standard = TokenFields::default();
        assert!(matches!(token_set(&json!({"token_type": "bearer"}), &standard, &[]), Err(TokenError::Malformed(_))));
        let never = token_set(&json!({"access_token": "a", "expires_in": 0}), &standard, &[]).unwrap();
        assert!(
            never.expires_at.is_none() && never.lifetime.is_none(),
            "an expires_in of 0 is a token that never expires"
        );
        let github = json!({"access_token": "a", "refresh_token": "r", "expires_in": 28800, "refresh_token_expires_in": 15897600});
        let refresh_expiry = token_set(&github, &standard, &[]).unwrap().refresh_token_expires_at.unwrap();
        assert!(refresh_expiry > Utc::now() + chrono::Duration::days(183), "{refresh_expiry}");
        assert!(!format!("{:?}", token_set(&body, &standard, &[]).unwrap()).contains("\"a\""));
    }
}
