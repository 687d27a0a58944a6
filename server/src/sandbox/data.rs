//! The sandbox's own state, kept in one JSON file beside Tether's database: its OAuth grants and tokens (only
//! their SHA-256 digests), its CRM records, webhook subscriptions and a staged token-endpoint outage.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The object types of the sandbox CRM.
pub const OBJECT_TYPES: [&str; 2] = ["contacts", "companies"];

/// A grant: what one user allowed one client, and every token issued under it since.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantRecord {
    pub owner: String,
    pub client_id: String,
    pub scope: String,
    pub redirect_uri: String,
    pub revoked: bool,
}

/// An issued token, found by the digest of its value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRecord {
    pub grant: u64,
    pub expires_at: DateTime<Utc>,
    /// A refresh token that has been exchanged once; showing it again revokes its grant.
    #[serde(default)]
    pub consumed: bool,
}

/// An authorization code that has been exchanged, by its digest: the grant it made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UsedCode {
    pub grant: u64,
    pub at: DateTime<Utc>,
}

/// Where the CRM sends its webhooks, for the user who subscribed; only that user lists or removes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subscription {
    pub id: u64,
    pub url: String,
    /// The grant owner (the name given at consent) whose token made the subscription.
    #[serde(default)]
    pub owner: String,
}

/// One change the CRM announces to its subscribers.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub object_type: String,
    pub object_id: String,
    pub event_type: &'static str,
    pub date: String,
    pub object: Value,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SandboxData {
    next_id: u64,
    /// The registered client's secret, made on first start. The control page shows it: it is a demo secret.
    #[serde(default)]
    pub client_secret: String,
    pub grants: BTreeMap<u64, GrantRecord>,
    pub access_tokens: BTreeMap<String, TokenRecord>,
    pub refresh_tokens: BTreeMap<String, TokenRecord>,
    #[serde(default)]
    pub used_codes: BTreeMap<String, UsedCode>,
    /// Records by object type, then id.
    pub records: BTreeMap<String, BTreeMap<u64, Map<String, Value>>>,
    pub subscriptions: Vec<Subscription>,
    /// Until when the token endpoint answers 503.
    pub token_outage_until: Option<DateTime<Utc>>,
}

/// The digest a token is kept under; the token itself is never stored.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Dates as the CRM writes them, which the Java pattern `yyyy-MM-dd'T'HH:mm:ss'Z'` reads.
pub fn crm_date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl SandboxData {
    /// Reads the state file, or starts empty when there is none.
    pub fn load(path: &Path) -> anyhow::Result<SandboxData> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|error| anyhow::anyhow!("the sandbox state {} is unreadable: {error}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(SandboxData::default()),
            Err(error) => Err(anyhow::anyhow!("cannot read the sandbox state {}: {error}", path.display())),
        }
    }

    /// Writes the state file whole, through a temporary file, so a crash leaves the old or the new state.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let temporary: PathBuf = path.with_extension("json.tmp");
        std::fs::write(&temporary, serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        std::fs::rename(&temporary, path)
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Revokes a grant and forgets every token issued under it.
    pub fn revoke_grant(&mut self, grant: u64) {
        if let Some(record) = self.grants.get_mut(&grant) {
            record.revoked = true;
        }
        self.access_tokens.retain(|_, token| token.grant != grant);
        self.refresh_tokens.retain(|_, token| token.grant != grant);
    }

    /// Revokes every grant; answers how many were live.
    pub fn revoke_all_grants(&mut self) -> usize {
        let live: Vec<u64> = self.grants.iter().filter(|(_, grant)| !grant.revoked).map(|(id, _)| *id).collect();
        for grant in &live {
            self.revoke_grant(*grant);
        }
        live.len()
    }

    pub fn outage_active(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.token_outage_until.filter(|until| *until > now)
    }

    /// Creates a record from `fields`, stamping its id and dates.
    pub fn create(&mut self, object_type: &str, mut fields: Map<String, Value>, now: DateTime<Utc>) -> Change {
        let id = self.next_id();
        fields.insert("id".into(), Value::String(id.to_string()));
        fields.insert("_info".into(), serde_json::json!({ "created": crm_date(now), "lastUpdated": crm_date(now) }));
        fields.insert("_updatedMillis".into(), Value::from(now.timestamp_millis()));
        self.records.entry(object_type.to_owned()).or_default().insert(id, fields.clone());
        change(object_type, id, "CREATED", now, &fields)
    }

    /// Merges `fields` into a record; `None` when there is no such record.
    pub fn update(
        &mut self,
        object_type: &str,
        id: u64,
        fields: Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Option<Change> {
        let record = self.records.get_mut(object_type)?.get_mut(&id)?;
        for (field, value) in fields {
            if !matches!(field.as_str(), "id" | "_info" | "_updatedMillis") {
                record.insert(field, value);
            }
        }
        record["_info"]["lastUpdated"] = Value::String(crm_date(now));
        record.insert("_updatedMillis".into(), Value::from(now.timestamp_millis()));
        let snapshot = record.clone();
        Some(change(object_type, id, "UPDATED", now, &snapshot))
    }

    pub fn delete(&mut self, object_type: &str, id: u64, now: DateTime<Utc>) -> Option<Change> {
        let record = self.records.get_mut(object_type)?.remove(&id)?;
        Some(change(object_type, id, "DELETED", now, &record))
    }

    /// The records of a type, updated after `since` when given, as the API shows them.
    pub fn list(&self, object_type: &str, since: Option<DateTime<Utc>>) -> Vec<Value> {
        let since = since.map(|at| at.timestamp_millis());
        self.records
            .get(object_type)
            .into_iter()
            .flat_map(|records| records.values())
            .filter(|record| since.is_none_or(|since| record["_updatedMillis"].as_i64().unwrap_or(0) > since))
            .map(shown)
            .collect()
    }

    pub fn get(&self, object_type: &str, id: u64) -> Option<Value> {
        self.records.get(object_type)?.get(&id).map(shown)
    }
}

/// A record without the bookkeeping field the filter uses.
fn shown(record: &Map<String, Value>) -> Value {
    let mut record = record.clone();
    record.remove("_updatedMillis");
    Value::Object(record)
}

fn change(
    object_type: &str,
    id: u64,
    event_type: &'static str,
    now: DateTime<Utc>,
    record: &Map<String, Value>,
) -> Change {
    Change {
        object_type: object_type.to_owned(),
        object_id: id.to_string(),
        event_type,
        date: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        object: shown(record),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_carry_java_pattern_dates_and_filter_by_update_time() {
        let mut data = SandboxData::default();
        let at = DateTime::parse_from_rfc3339("2026-11-23T08:30:00.250Z").unwrap().to_utc();
        let created = data.create("contacts", serde_json::from_str(r#"{"name":"Ada"}"#).unwrap(), at);
        assert_eq!(created.event_type, "CREATED");
        assert_eq!(created.object["_info"]["lastUpdated"], "2026-11-23T08:30:00Z");
        assert!(created.object.get("_updatedMillis").is_none());
        let id: u64 = created.object_id.parse().unwrap();
        // A poll that saw the same second, truncated, still finds an update later within that second.
        let truncated = DateTime::parse_from_rfc3339("2026-11-23T08:30:00Z").unwrap().to_utc();
        assert_eq!(data.list("contacts", Some(truncated)).len(), 1);
        assert!(data.list("contacts", Some(at)).is_empty());
        let later = at + chrono::Duration::seconds(5);
        let updated = data.update("contacts", id, serde_json::from_str(r#"{"id":"9","email":"a@x"}"#).unwrap(), later);
        let updated = updated.unwrap();
        assert_eq!(updated.object["id"], id.to_string(), "the id cannot be changed");
        assert_eq!(updated.object["email"], "a@x");
        assert_eq!(data.list("contacts", Some(at)).len(), 1);
        assert!(data.delete("contacts", id, later).is_some());
        assert!(data.get("contacts", id).is_none());
    }

    #[test]
    fn revoking_a_grant_forgets_its_tokens() {
        let mut data = SandboxData::default();
        let grant = data.next_id();
        let record = GrantRecord {
            owner: "demo".into(),
            client_id: "c".into(),
            scope: "crm".into(),
            redirect_uri: "http://x/cb".into(),
            revoked: false,
        };
        data.grants.insert(grant, record);
        let token = TokenRecord { grant, expires_at: Utc::now(), consumed: false };
        data.access_tokens.insert(digest("a"), token.clone());
        data.refresh_tokens.insert(digest("r"), token);
        assert_eq!(data.revoke_all_grants(), 1);
        assert!(data.access_tokens.is_empty() && data.refresh_tokens.is_empty());
        assert!(data.grants[&grant].revoked);
        assert_eq!(data.revoke_all_grants(), 0);
    }
}
