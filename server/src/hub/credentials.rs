//! An instance's credentials as one typed value, [`Credentials`]: the OAuth client Tether acts as and the grant's
//! tokens (with the access token's expiry beside them). They are kept in the instance's configuration under Cloud Elements'
//! `oauth.*` keys (`app::instances::credential_keys`); this module is where the hub reads and writes them, so those
//! key names stay at the edges: storage and the API.

use super::configuration::SplitConfiguration;
use crate::providers::token_client::{ClientCredentials, TokenSet};
use crate::security::secrets;
use crate::store::instances::InstanceRecord;
use app::instances::credential_keys as key;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use std::collections::BTreeMap;

/// The digest of the access token in a configuration, to tell whether it changed since it was read.
pub(super) fn access_token_digest(values: &BTreeMap<String, String>) -> Option<String> {
    Credentials::read(values).access_token.map(|token| secrets::digest(&token))
}

/// When the instance's access token expires, if the provider said.
pub(super) fn access_token_expiry(record: &InstanceRecord) -> Option<chrono::DateTime<chrono::Utc>> {
    expiry_in(&record.configuration)
}

/// The refresh margin for the record's access token: `margin`, at most half the token's lifetime, so that a
/// token living no longer than the margin is refreshed once as it nears its end, not on every call.
pub(super) fn margin_for(record: &InstanceRecord, margin: chrono::Duration) -> chrono::Duration {
    let lifetime = record.configuration.get(key::LIFETIME).and_then(|seconds| seconds.parse::<i64>().ok());
    match lifetime {
        Some(seconds) if seconds > 0 => margin.min(chrono::Duration::milliseconds(seconds * 500)),
        _ => margin,
    }
}

/// Whether the access token expires within the refresh margin (`margin`, capped by [`margin_for`]) from `now`
/// (Unix milliseconds, from the hub's clock).
pub(super) fn expires_within(record: &InstanceRecord, margin: chrono::Duration, now: i64) -> bool {
    let margin = margin_for(record, margin);
    access_token_expiry(record).is_some_and(|expires_at| expires_at <= crate::store::from_millis(now) + margin)
}

/// What an instance holds to act at its provider. Each secret stays a `SecretString`: it never prints.
#[derive(Debug, Default)]
pub(super) struct Credentials {
    /// The OAuth app Tether acts as, when the instance has one.
    pub client: Option<ClientCredentials>,
    pub access_token: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
}

impl Credentials {
    /// Reads the credentials from an instance's configuration values (secrets in the clear).
    pub fn read(values: &BTreeMap<String, String>) -> Credentials {
        let secret = |name: &str| values.get(name).map(|value| SecretString::from(value.clone()));
        let client = match (values.get(key::CLIENT_ID), secret(key::CLIENT_SECRET)) {
            (Some(id), Some(secret)) => Some(ClientCredentials { id: id.clone(), secret }),
            _ => None,
        };
        Credentials { client, access_token: secret(key::ACCESS_TOKEN), refresh_token: secret(key::REFRESH_TOKEN) }
    }
}

/// When an access token expires, if the provider said: read from the configuration's shown values, where the
/// expiry is kept in the clear (RFC 3339) beside the sealed tokens.
pub(super) fn expiry_in(shown: &BTreeMap<String, String>) -> Option<DateTime<Utc>> {
    let text = shown.get(key::EXPIRES_AT)?;
    DateTime::parse_from_rfc3339(text).ok().map(|at| at.with_timezone(&Utc))
}

impl SplitConfiguration {
    /// Keeps the OAuth app the instance acts as.
    pub(super) fn store_client(&mut self, client: &ClientCredentials) {
        self.plain(key::CLIENT_ID, client.id.clone());
        self.secret(key::CLIENT_SECRET, &client.secret);
    }

    /// Keeps what a token endpoint granted: the access token and its expiry, a rotated refresh token, and the
    /// answer's captured fields. A provider that sends no new refresh token leaves the one already kept.
    pub(super) fn store_grant(&mut self, tokens: &TokenSet) {
        self.secret(key::ACCESS_TOKEN, &tokens.access_token);
        if let Some(rotated) = &tokens.refresh_token {
            self.secret(key::REFRESH_TOKEN, rotated);
        }
        // A new refresh token's expiry replaces the old one's; one kept keeps its expiry.
        match (tokens.refresh_token_expires_at, &tokens.refresh_token) {
            (Some(at), _) => {
                self.plain(key::REFRESH_TOKEN_EXPIRES_AT, at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }
            (None, Some(_)) => self.remove(key::REFRESH_TOKEN_EXPIRES_AT),
            (None, None) => {}
        }
        match tokens.expires_at {
            Some(at) => self.plain(key::EXPIRES_AT, at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            None => self.remove(key::EXPIRES_AT),
        }
        match tokens.lifetime {
            Some(lifetime) => self.plain(key::LIFETIME, lifetime.num_seconds().to_string()),
            None => self.remove(key::LIFETIME),
        }
        for (field, value) in &tokens.captured {
            self.plain(field, value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    pub(super) fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    #[test]
    fn credentials_are_read_from_their_keys_and_never_print() {
        let read = Credentials::read(&values(&[
            (key::CLIENT_ID, "id"),
            (key::CLIENT_SECRET, "client-secret"),
            (key::ACCESS_TOKEN, "access"),
            (key::REFRESH_TOKEN, "refresh"),
            (key::EXPIRES_AT, "2026-12-05T10:00:00Z"),
        ]));
        let client = read.client.as_ref().unwrap();
        assert_eq!((client.id.as_str(), client.secret.expose_secret()), ("id", "client-secret"));
        assert_eq!(read.refresh_token.as_ref().unwrap().expose_secret(), "refresh");
        let expiry = expiry_in(&values(&[(key::EXPIRES_AT, "2026-12-05T10:00:00Z")]));
        assert_eq!(expiry.unwrap().to_rfc3339(), "2026-12-05T10:00:00+00:00");
        let printed = format!("{read:?}");
        for secret in ["client-secret", "access", "refresh"] {
            assert!(!printed.contains(&format!("\"{secret}\"")), "{printed}");
        }
        assert!(Credentials::read(&values(&[(key::CLIENT_ID, "id")])).client.is_none(), "a client needs its secret");
    }

    #[test]
    fn a_grant_without_a_new_refresh_token_keeps_the_old_one() {
        let mut split = SplitConfiguration::default();
        split.secret(key::REFRESH_TOKEN, &SecretString::from("old"));
        split.plain(key::EXPIRES_AT, "2026-01-01T00:00:00Z".into());
        let tokens = TokenSet {
            access_token: SecretString::from("new-access"),
            refresh_token: None,
            expires_at: None,
            lifetime: None,
            refresh_token_expires_at: None,
            scope: None,
            captured: BTreeMap::from([("api_domain".to_owned(), "https://www.zohoapis.eu".to_owned())]),
        };
        split.store_grant(&tokens);
        let kept = split.values();
        assert_eq!(kept[key::REFRESH_TOKEN], "old");
        assert_eq!(kept[key::ACCESS_TOKEN], "new-access");
        assert!(!kept.contains_key(key::EXPIRES_AT), "an expiry the provider no longer gives is forgotten");
        assert_eq!(kept["api_domain"], "https://www.zohoapis.eu");
    }
}
