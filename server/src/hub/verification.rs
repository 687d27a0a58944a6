//! Checking new credentials before an instance is stored: the element's `api.verify` call, made with them
//! through the one guarded client.

use super::service::HubService;
use super::templates::fill;
use crate::catalog::CatalogEntry;
use crate::providers::provider_client::{Outgoing, send};
use app::error::HubError;
use app::instances::{InstanceId, MASK};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use std::collections::BTreeMap;

/// The most of the provider's answer a refusal quotes.
const QUOTED_ANSWER: usize = 300;

impl HubService {
    /// Makes the element's verification call with `values` (secrets in the clear), when it has one: a refusal is a
    /// 400 quoting the provider's answer, an unreachable or failing provider a 502.
    pub(super) async fn verify_credentials(
        &self,
        entry: &CatalogEntry,
        values: &BTreeMap<String, String>,
    ) -> Result<(), HubError> {
        let Some(verify) = &entry.definition.api.verify else { return Ok(()) };
        let call = self.call_of(entry, InstanceId(0), values)?;
        let target = fill("api.verify.path", &verify.path, values)?;
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (target, None),
        };
        let method = Method::from_bytes(verify.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| HubError::invalid("api.verify.method", "is not an HTTP method"))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &verify.headers {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str()))
            {
                headers.insert(name, value);
            }
        }
        let body = match &verify.body {
            Some(body) => {
                headers.entry(header::CONTENT_TYPE).or_insert(HeaderValue::from_static("application/json"));
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let outgoing = Outgoing { method, path: path.trim_start_matches('/'), query: query.as_deref(), headers, body };
        let response = send(&self.outbound, &call, &outgoing).await?;
        let status = response.status();
        if status.is_success() || status.is_redirection() {
            return Ok(());
        }
        let answer = response.text().await.unwrap_or_default();
        let quoted = format!("HTTP {}: {}", status.as_u16(), without_secrets(&answer, entry, values));
        let (status, message) = if status.is_server_error() || status.as_u16() == 429 {
            (502, "The provider could not check the credentials; try again later")
        } else {
            (400, "The provider refused the credentials")
        };
        Err(HubError::Provider { status, message: message.into(), provider_message: quoted })
    }
}

/// The start of a provider's answer with any secret value of the instance masked, should the provider echo one.
fn without_secrets(answer: &str, entry: &CatalogEntry, values: &BTreeMap<String, String>) -> String {
    let mut text: String = answer.chars().take(QUOTED_ANSWER).collect();
    let secret_keys = entry.definition.parameters.iter().filter(|parameter| parameter.secret).map(|p| p.key.as_str());
    let credential_keys =
        [app::instances::credential_keys::CLIENT_SECRET, app::instances::credential_keys::ACCESS_TOKEN];
    for key in secret_keys.chain(credential_keys) {
        if let Some(secret) = values.get(key).filter(|secret| secret.len() >= 4) {
            text = text.replace(secret.as_str(), MASK);
        }
    }
    text.trim().to_owned()
}
