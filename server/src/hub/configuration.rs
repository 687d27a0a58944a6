//! An instance's configuration: values as text, the split between the shown values and the secrets kept in the
//! vault, and the rules parameter values and tags must meet.

use super::errors::OrInternal;
use crate::store::instances::InstanceRecord;
use crate::validate;
use app::catalog::ElementDefinition;
use app::error::HubError;
use app::events::{EVENT_KEYS, EventSettings, POLLER_CONFIGURATION, SIGNATURE_KEY};
use app::instances::credential_keys as key;
use app::instances::{FILTER_NULLS, MASK, PROXY_RATE_BURST, PROXY_RATE_LIMIT, PROXY_RATE_WAIT, names_a_secret};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::collections::BTreeMap;

/// Configuration values as text: strings, numbers and booleans are accepted.
pub(super) fn configuration_text(configuration: BTreeMap<String, Value>) -> Result<BTreeMap<String, String>, HubError> {
    configuration.into_iter().map(|(key, value)| Ok((key.clone(), value_text(&key, value)?))).collect()
}

pub(super) fn value_text(key: &str, value: Value) -> Result<String, HubError> {
    match value {
        // A control character (CR, LF, NUL, DEL…) could never go into a header or URL, so every later call would fail.
        Value::String(text) if key != app::events::POLLER_CONFIGURATION && text.chars().any(char::is_control) => {
            Err(HubError::invalid(&format!("configuration.{key}"), "must not hold control characters"))
        }
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Object(_) if key == app::events::POLLER_CONFIGURATION => Ok(value.to_string()),
        _ => Err(HubError::invalid(&format!("configuration.{key}"), "must be a string, number or boolean")),
    }
}

/// A configuration value that must be given and not blank; `what` says what it is.
pub(super) fn required(values: &BTreeMap<String, String>, key: &str, what: &str) -> Result<String, HubError> {
    values
        .get(key)
        .filter(|value| !value.trim().is_empty())
        .cloned()
        .ok_or_else(|| HubError::invalid(&format!("configuration.{key}"), format!("required: {what}")))
}

/// The OAuth configuration keys a caller may give to an OAuth 2.0 element, besides the element's own parameters.
pub(super) const OAUTH_KEYS: [&str; 5] =
    [key::CLIENT_ID, key::CLIENT_SECRET, key::CALLBACK_URL, key::SCOPE, key::REFRESH_TOKEN];

/// Keys whose values only the provider's token answers set.
const KEPT_FROM_TOKEN_ANSWERS: [&str; 6] = [
    key::ACCESS_TOKEN,
    key::TOKEN_SECRET,
    key::EXPIRES_AT,
    key::LIFETIME,
    key::GRANT_TYPE,
    key::REFRESH_TOKEN_EXPIRES_AT,
];

/// Whether the element reads `key`: one of its parameters or, for an OAuth 2.0 element, an OAuth setting.
pub(super) fn element_reads(definition: &ElementDefinition, key: &str) -> bool {
    definition.parameters.iter().any(|parameter| parameter.key == key)
        || (definition.oauth.is_some() && OAUTH_KEYS.contains(&key))
}

/// Whether `key` holds one of the OAuth credentials, which change only by authenticating again.
pub(super) fn is_credential_key(key: &str) -> bool {
    OAUTH_KEYS.contains(&key) || KEPT_FROM_TOKEN_ANSWERS.contains(&key)
}

/// Takes out of `given` the values of keys the element does not read (Cloud Elements' `pagination.max`,
/// `document.tagging`, a client's own keys…): they are kept and listed as they are, never refused.
/// `filter.response.nulls` must be a boolean; the keys only token answers set are refused.
/// Event keys must have been taken out before.
pub(super) fn take_other_values(
    definition: &ElementDefinition,
    given: &mut BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, HubError> {
    let keys: Vec<String> = given.keys().filter(|key| !element_reads(definition, key)).cloned().collect();
    let mut others = BTreeMap::new();
    for key in keys {
        let value = given.remove(&key).expect("a key just listed");
        if KEPT_FROM_TOKEN_ANSWERS.contains(&key.as_str()) {
            return Err(HubError::invalid(
                &format!("configuration.{key}"),
                "is set from the provider's token answers; send providerData.code to authenticate again",
            ));
        }
        let value = match key.as_str() {
            FILTER_NULLS => flag_text(&key, &value)?,
            PROXY_RATE_LIMIT => number_text(&key, &value, 0.001, 100_000.0)?,
            PROXY_RATE_BURST => number_text(&key, &value, 1.0, 100_000.0).and_then(|text| whole(&key, text))?,
            PROXY_RATE_WAIT => number_text(&key, &value, 0.0, 10_000.0).and_then(|text| whole(&key, text))?,
            _ => value,
        };
        others.insert(key, value);
    }
    Ok(others)
}

/// Adds to `given` the values `providerData` carries for the element's parameters (QuickBooks' `realmId`, read
/// from the callback; Shopify's `shop`, which the element's `callbackValues` name `subdomain`), unless the
/// configuration gives them.
pub(super) fn with_provider_values(
    definition: &ElementDefinition,
    provider_data: &app::instances::ProviderData,
    given: &mut BTreeMap<String, String>,
) -> Result<(), HubError> {
    let renamed = definition.oauth.as_ref().map(|oauth| &oauth.callback_values);
    for (name, value) in &provider_data.other_fields {
        let key = renamed.and_then(|renamed| renamed.get(name)).unwrap_or(name);
        let Some(parameter) = definition.parameters.iter().find(|parameter| &parameter.key == key) else { continue };
        if given.contains_key(key) {
            continue;
        }
        let text = value_text(name, value.clone())
            .map_err(|_| HubError::invalid(&format!("providerData.{name}"), "must be a string or number"))?;
        let text = parameter.prefix.as_deref().and_then(|prefix| text.strip_prefix(prefix)).unwrap_or(&text);
        let text = parameter.suffix.as_deref().and_then(|suffix| text.strip_suffix(suffix)).unwrap_or(text);
        given.insert(key.clone(), text.to_owned());
    }
    Ok(())
}

/// A number given as text, from `least` to `most`.
fn number_text(key: &str, text: &str, least: f64, most: f64) -> Result<String, HubError> {
    match text.trim().parse::<f64>() {
        Ok(number) if (least..=most).contains(&number) => Ok(text.trim().to_owned()),
        _ => {
            Err(HubError::invalid(&format!("configuration.{key}"), format!("must be a number from {least} to {most}")))
        }
    }
}

/// A whole number given as text.
fn whole(key: &str, text: String) -> Result<String, HubError> {
    match text.parse::<u64>() {
        Ok(_) => Ok(text),
        Err(_) => Err(HubError::invalid(&format!("configuration.{key}"), "must be a whole number")),
    }
}

/// A boolean given as text (`true`, `false`, `1`, `0`, any case), written out as `true` or `false`.
fn flag_text(key: &str, text: &str) -> Result<String, HubError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok("true".into()),
        "false" | "0" => Ok("false".into()),
        _ => Err(HubError::invalid(&format!("configuration.{key}"), "must be true or false")),
    }
}

/// The configuration as stored and answered (secrets masked), and the secret values for the vault.
#[derive(Default)]
pub(super) struct SplitConfiguration {
    pub(super) shown: BTreeMap<String, String>,
    pub(super) secrets: BTreeMap<String, String>,
}

impl SplitConfiguration {
    /// An instance's configuration from its record and its decrypted secrets.
    pub(super) fn of(record: &InstanceRecord, secrets: &SecretString) -> Result<SplitConfiguration, HubError> {
        let secrets: BTreeMap<String, String> = serde_json::from_str(secrets.expose_secret()).or_internal()?;
        Ok(SplitConfiguration { shown: record.configuration.clone(), secrets })
    }

    pub(super) fn remove(&mut self, key: &str) {
        self.shown.remove(key);
        self.secrets.remove(key);
    }

    pub(super) fn plain(&mut self, key: &str, value: String) {
        self.secrets.remove(key);
        self.shown.insert(key.to_owned(), value);
    }

    pub(super) fn secret(&mut self, key: &str, value: &SecretString) {
        self.shown.insert(key.to_owned(), MASK.to_owned());
        self.secrets.insert(key.to_owned(), value.expose_secret().to_owned());
    }

    /// Keeps values of keys the element does not read, sealed when their name says they are secret. A key the
    /// configuration already holds (a value a token answer just set) keeps that value when `keep_set` is true.
    pub(super) fn others(&mut self, others: &BTreeMap<String, String>, keep_set: bool) {
        for (key, value) in others {
            if keep_set && self.shown.contains_key(key) {
                continue;
            }
            if names_a_secret(key) {
                self.secret(key, &SecretString::from(value.clone()));
            } else {
                self.plain(key, value.clone());
            }
        }
    }

    /// Every value in the clear: the shown ones with the secrets in place of their masks.
    pub(super) fn values(&self) -> BTreeMap<String, String> {
        let mut values = self.shown.clone();
        values.extend(self.secrets.iter().map(|(key, value)| (key.clone(), value.clone())));
        values
    }

    /// Adds the element's parameter values, masking the secret ones; a required parameter must have a value.
    pub(super) fn parameters(
        &mut self,
        definition: &ElementDefinition,
        values: &BTreeMap<String, String>,
    ) -> Result<(), HubError> {
        for parameter in &definition.parameters {
            match values.get(&parameter.key) {
                Some(value) if parameter.secret => self.secret(&parameter.key, &SecretString::from(value.clone())),
                Some(value) => self.plain(&parameter.key, value.clone()),
                None if parameter.required => {
                    return Err(HubError::invalid(&format!("configuration.{}", parameter.key), "required"));
                }
                None => {}
            }
        }
        Ok(())
    }
}

pub(super) fn validate_tags(tags: &[String]) -> Result<Vec<String>, HubError> {
    tags.iter().enumerate().map(|(index, tag)| validate::instance_label(&format!("tags[{index}]"), tag, 64)).collect()
}

/// Checks parameter values against the element's definitions, and fills in defaults.
pub fn resolve_parameters(
    definition: &ElementDefinition,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, HubError> {
    if let Some(unknown) =
        given.keys().find(|key| !definition.parameters.iter().any(|parameter| &parameter.key == *key))
    {
        return Err(HubError::invalid(unknown, format!("is not a parameter of element {}", definition.key)));
    }
    let mut values = BTreeMap::new();
    for parameter in &definition.parameters {
        let Some(mut value) = given.get(&parameter.key).cloned().or_else(|| parameter.default.clone()) else {
            continue;
        };
        // A value given with the text shown around the input (`https://` before a host) is taken without it.
        if let Some(prefix) = &parameter.prefix
            && value.len() > prefix.len()
            && value.is_char_boundary(prefix.len())
            && value[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            value = value[prefix.len()..].to_owned();
            if prefix.ends_with("://") && value.ends_with('/') {
                value.pop();
            }
        }
        if let Some(pattern) = &parameter.pattern {
            let matches =
                fancy_regex::Regex::new(pattern).ok().and_then(|regex| regex.is_match(&value).ok()).unwrap_or(false);
            if !matches {
                return Err(HubError::invalid(&parameter.key, format!("does not match the pattern {pattern}")));
            }
        }
        if !parameter.options.is_empty() && !parameter.options.contains(&value) {
            return Err(HubError::invalid(&parameter.key, format!("must be one of {}", parameter.options.join(", "))));
        }
        values.insert(parameter.key.clone(), value);
    }
    Ok(values)
}

impl SplitConfiguration {
    /// Makes checked event values the instance's: the signature key as a secret, keys not among them removed,
    /// and the poller configuration in effect written out.
    pub(super) fn events(&mut self, values: &BTreeMap<String, String>, settings: Option<&EventSettings>) {
        for key in EVENT_KEYS.iter().filter(|key| !values.contains_key(**key)) {
            self.remove(key);
        }
        for (key, value) in values {
            if key == SIGNATURE_KEY {
                self.secret(key, &SecretString::from(value.clone()));
            } else {
                self.plain(key, value.clone());
            }
        }
        if let Some(settings) = settings
            && !values.contains_key(POLLER_CONFIGURATION)
            && !settings.poller.is_empty()
        {
            self.plain(POLLER_CONFIGURATION, serde_json::to_string(&settings.poller).expect("settings serialize"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(key: &str) -> ElementDefinition {
        crate::catalog::built_in().unwrap().into_iter().find(|definition| definition.key == key).unwrap()
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    #[test]
    fn adobe_sign_calls_the_access_point_its_callback_named_before_its_shard() {
        let adobe = element("adobe-esign");
        let base_url = |given: &[(&str, &str)]| {
            let resolved = resolve_parameters(&adobe, &values(given)).unwrap();
            adobe.api.base_url.fill(|name| resolved.get(name).cloned()).unwrap()
        };
        assert_eq!(base_url(&[]), "https://api.na1.adobesign.com/api/rest/v6");
        assert_eq!(base_url(&[("shard", "eu1")]), "https://api.eu1.adobesign.com/api/rest/v6");
        let given = [("api_access_point", "https://api.eu2.adobesign.com/")];
        assert_eq!(base_url(&given), "https://api.eu2.adobesign.com/api/rest/v6");
        let refresh = adobe.oauth.as_ref().unwrap().refresh_url.clone().unwrap();
        let resolved = resolve_parameters(&adobe, &values(&given)).unwrap();
        assert_eq!(
            refresh.fill(|name| resolved.get(name).cloned()).unwrap(),
            "https://api.eu2.adobesign.com/oauth/v2/refresh"
        );
        for elsewhere in ["https://evil.example/", "https://api.eu2.adobesign.com.evil.example/"] {
            let refused = resolve_parameters(&adobe, &values(&[("api_access_point", elsewhere)])).unwrap_err();
            assert!(refused.to_string().contains("does not match"), "{elsewhere}: {refused}");
        }
    }
}
