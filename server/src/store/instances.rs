//! Instance rows: who owns an instance, its element, its plain configuration, and the vault entries of its secrets.

use super::refresh_leases::leases_release;
use super::vault::{SealedEntry, VaultId, vault_entry_update};
use super::{AnyQuery, Store, StoreResult, flag, now_millis};
use app::catalog::{ElementId, ElementObject};
use app::instances::InstanceId;
use app::types::EndUser;
use app::types::{AccountId, OrganizationId, UserId};
use futures::TryStreamExt;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

/// The refresher's due query, for [`Store::instances_due_for_refresh`]: `$1` now, `$2` expiring before, `$3`
/// refreshed before, `$4` the limit. Public so that a test can check its plan walks the `instances_refresh_due` index.
pub const DUE_FOR_REFRESH: &str = "SELECT organization_id, id FROM instances \
    WHERE disabled = 0 AND valid = 1 AND refreshable = 1 \
    AND COALESCE(refresh_retry_at, access_token_expires_at) <= $2 \
    AND (refresh_retry_at <= $1 OR (refresh_retry_at IS NULL AND (last_refreshed_at IS NULL OR last_refreshed_at < $3))) \
    ORDER BY COALESCE(refresh_retry_at, access_token_expires_at) LIMIT $4";

/// An instance as stored.
#[derive(Debug, Clone)]
pub struct InstanceRecord {
    pub id: InstanceId,
    pub organization_id: OrganizationId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub element_id: ElementId,
    pub name: String,
    pub token_hash: String,
    pub token_vault_id: VaultId,
    pub secrets_vault_id: VaultId,
    pub configuration: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub objects: Vec<ElementObject>,
    pub valid: bool,
    pub disabled: bool,
    pub external_authentication: String,
    pub created_at: i64,
    /// When the OAuth tokens were last refreshed (Unix milliseconds).
    pub last_refreshed_at: Option<i64>,
    /// The last failure to refresh or call the provider, and when it happened.
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    /// Refreshes that failed in a row; back to 0 on success.
    pub refresh_failures: i64,
    /// When the next refresh attempt after a transient failure is due (Unix milliseconds).
    pub refresh_retry_at: Option<i64>,
    /// The last state the organization was told of. Changed only through [`Store::announce_state`].
    pub notified_state: NotifiedState,
    /// The team's end user it was connected for through a connect session; set when it is made.
    pub end_user: Option<EndUser>,
    /// Whether its proxied calls are recorded with headers and bodies.
    pub trace_logging: bool,
}

/// What an organization was last told about an instance: each change is announced once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifiedState {
    /// Working, or never announced.
    Ok,
    /// Disabled by Tether after its refresh attempts ran out.
    Disabled,
    /// The provider refused the grant; it needs re-authentication.
    Invalid,
}

impl NotifiedState {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifiedState::Ok => "ok",
            NotifiedState::Disabled => "disabled",
            NotifiedState::Invalid => "invalid",
        }
    }

    fn parse(text: &str) -> NotifiedState {
        match text {
            "disabled" => NotifiedState::Disabled,
            "invalid" => NotifiedState::Invalid,
            _ => NotifiedState::Ok,
        }
    }
}

/// The configuration keys the refresher's index columns are read from.
const EXPIRES_AT_KEY: &str = app::instances::credential_keys::EXPIRES_AT;
const REFRESH_TOKEN_KEY: &str = app::instances::credential_keys::REFRESH_TOKEN;
const GRANT_TYPE_KEY: &str = app::instances::credential_keys::GRANT_TYPE;

impl InstanceRecord {
    /// The configuration, tags and objects as the JSON text their columns hold.
    fn json_columns(&self) -> [String; 3] {
        [
            serde_json::to_string(&self.configuration).expect("strings serialize"),
            serde_json::to_string(&self.tags).expect("strings serialize"),
            serde_json::to_string(&self.objects).expect("objects serialize"),
        ]
    }

    /// The refresher's index columns, read off the configuration: when the access token expires, and whether
    /// Tether can renew it: a refresh token is held (its value is in the vault; the configuration shows its mask),
    /// or the instance gets its tokens with the client credentials grant.
    pub(crate) fn schedule_columns(&self) -> (Option<i64>, i64) {
        let expires_at = self
            .configuration
            .get(EXPIRES_AT_KEY)
            .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.timestamp_millis());
        let renewable = self.configuration.contains_key(REFRESH_TOKEN_KEY)
            || self.configuration.get(GRANT_TYPE_KEY).map(String::as_str)
                == Some(app::instances::credential_keys::CLIENT_CREDENTIALS_GRANT);
        (expires_at, i64::from(renewable))
    }
}

pub(super) const COLUMNS: &str = "id, organization_id, account_id, user_id, element_id, name, token_hash, token_vault_id, \
     secrets_vault_id, configuration, tags, objects, valid, disabled, external_authentication, created_at, \
     last_refreshed_at, last_error, last_error_at, refresh_failures, refresh_retry_at, notified_state, \
     end_user_id, end_user_email, end_user_display_name, trace_logging";

fn json_column<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

/// Rows of `(organization_id, id)`, as the refresher's queries answer them.
fn id_pairs(rows: &[AnyRow]) -> StoreResult<Vec<(OrganizationId, InstanceId)>> {
    rows.iter().map(|row| Ok((OrganizationId(row.try_get(0)?), InstanceId(row.try_get(1)?)))).collect()
}

pub(super) fn record_from_row(row: &AnyRow) -> Result<InstanceRecord, sqlx::Error> {
    Ok(InstanceRecord {
        id: InstanceId(row.try_get("id")?),
        organization_id: OrganizationId(row.try_get("organization_id")?),
        account_id: AccountId(row.try_get("account_id")?),
        user_id: UserId(row.try_get("user_id")?),
        element_id: ElementId(row.try_get("element_id")?),
        name: row.try_get("name")?,
        token_hash: row.try_get("token_hash")?,
        token_vault_id: VaultId(row.try_get("token_vault_id")?),
        secrets_vault_id: VaultId(row.try_get("secrets_vault_id")?),
        configuration: json_column(row, "configuration")?,
        tags: json_column(row, "tags")?,
        objects: json_column(row, "objects")?,
        valid: flag(row.try_get("valid")?),
        disabled: flag(row.try_get("disabled")?),
        external_authentication: row.try_get("external_authentication")?,
        created_at: row.try_get("created_at")?,
        last_refreshed_at: row.try_get("last_refreshed_at")?,
        last_error: row.try_get("last_error")?,
        last_error_at: row.try_get("last_error_at")?,
        refresh_failures: row.try_get("refresh_failures")?,
        refresh_retry_at: row.try_get("refresh_retry_at")?,
        notified_state: NotifiedState::parse(&row.try_get::<String, _>("notified_state")?),
        end_user: match row.try_get::<Option<String>, _>("end_user_id")? {
            Some(id) => Some(EndUser {
                id,
                email: row.try_get("end_user_email")?,
                display_name: row.try_get("end_user_display_name")?,
            }),
            None => None,
        },
        trace_logging: flag(row.try_get("trace_logging")?),
    })
}

impl Store {
    /// Stores a new instance; `record.id` and `record.created_at` are ignored and returned filled.
    pub async fn insert_instance(&self, record: &InstanceRecord) -> StoreResult<InstanceRecord> {
        let now = now_millis();
        let [configuration, tags, objects] = record.json_columns();
        let (expires_at, refreshable) = record.schedule_columns();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO instances (organization_id, account_id, user_id, element_id, name, token_hash, token_vault_id, \
             secrets_vault_id, configuration, tags, objects, valid, disabled, external_authentication, created_at, updated_at, \
             access_token_expires_at, refreshable, end_user_id, end_user_email, end_user_display_name, trace_logging) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18, $19, $20, $21) \
             RETURNING id",
        )
        .bind(record.organization_id.0)
        .bind(record.account_id.0)
        .bind(record.user_id.0)
        .bind(record.element_id.0)
        .bind(&record.name)
        .bind(&record.token_hash)
        .bind(record.token_vault_id.0)
        .bind(record.secrets_vault_id.0)
        .bind(configuration)
        .bind(tags)
        .bind(objects)
        .bind(i64::from(record.valid))
        .bind(i64::from(record.disabled))
        .bind(&record.external_authentication)
        .bind(now)
        .bind(expires_at)
        .bind(refreshable)
        .bind(record.end_user.as_ref().map(|user| user.id.clone()))
        .bind(record.end_user.as_ref().and_then(|user| user.email.clone()))
        .bind(record.end_user.as_ref().and_then(|user| user.display_name.clone()))
        .bind(i64::from(record.trace_logging))
        .fetch_one(self.pool())
        .await?;
        Ok(InstanceRecord { id: InstanceId(id), created_at: now, ..record.clone() })
    }

    /// The organization's instance with this id.
    pub async fn instance(&self, organization: OrganizationId, id: InstanceId) -> StoreResult<Option<InstanceRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM instances WHERE organization_id = $1 AND id = $2");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(organization.0).bind(id.0).fetch_optional(self.pool()).await?;
        Ok(row.as_ref().map(record_from_row).transpose()?)
    }

    /// The organization an instance belongs to, for work that starts from an instance id alone.
    pub async fn organization_of_instance(&self, id: InstanceId) -> StoreResult<Option<OrganizationId>> {
        let organization: Option<i64> = sqlx::query_scalar("SELECT organization_id FROM instances WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?;
        Ok(organization.map(OrganizationId))
    }

    /// The instance whose token has this digest, in any organization. The digest is looked up through the unique
    /// index, so the time taken does not depend on how much of a guessed token is right.
    pub async fn instance_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<InstanceRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM instances WHERE token_hash = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(self.pool()).await?;
        Ok(row.as_ref().map(record_from_row).transpose()?)
    }

    /// One page of the organization's instances, oldest first: those of `element` and of `end_user` when given,
    /// carrying every one of `tags`, after skipping `skip` of them. Rows are read one at a time and the read stops once the page is
    /// full, so memory does not grow with the organization; without tags the database itself skips.
    pub async fn instances_page(
        &self,
        organization: OrganizationId,
        element: Option<ElementId>,
        end_user: Option<&str>,
        tags: &[String],
        skip: usize,
        take: usize,
    ) -> StoreResult<Vec<InstanceRecord>> {
        let as_count = |count: usize| i64::try_from(count).unwrap_or(i64::MAX);
        // With tags to match, the database cannot count matching rows, so it skips none and Rust skips instead.
        let (sql_offset, sql_limit, mut unmatched_to_skip) =
            if tags.is_empty() { (as_count(skip), as_count(take), 0) } else { (0, i64::MAX, skip) };
        let sql = format!(
            "SELECT {COLUMNS} FROM instances WHERE organization_id = $1 AND ($2 = 0 OR element_id = $2) \
             AND ($3 = '' OR end_user_id = $3) ORDER BY id LIMIT $4 OFFSET $5"
        );
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(organization.0)
            .bind(element.map_or(0, |element| element.0))
            .bind(end_user.unwrap_or_default())
            .bind(sql_limit)
            .bind(sql_offset)
            .fetch(self.pool());
        let mut page = Vec::new();
        while page.len() < take
            && let Some(row) = rows.try_next().await?
        {
            let row_tags: Vec<String> = json_column(&row, "tags")?;
            if !tags.iter().all(|tag| row_tags.contains(tag)) {
                continue;
            }
            if unmatched_to_skip > 0 {
                unmatched_to_skip -= 1;
                continue;
            }
            page.push(record_from_row(&row)?);
        }
        Ok(page)
    }

    /// Calls `visit` with every instance of every organization, one row at a time, so that operator-wide figures
    /// such as the health metrics take flat memory however many instances there are.
    pub async fn visit_all_instances(&self, mut visit: impl FnMut(&InstanceRecord)) -> StoreResult<()> {
        let sql = format!("SELECT {COLUMNS} FROM instances ORDER BY id");
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(self.pool());
        while let Some(row) = rows.try_next().await? {
            visit(&record_from_row(&row)?);
        }
        Ok(())
    }

    /// How many instances the organization has of each element.
    pub async fn instance_counts(&self, organization: OrganizationId) -> StoreResult<BTreeMap<ElementId, i64>> {
        let rows = sqlx::query(
            "SELECT element_id, COUNT(*) AS count FROM instances WHERE organization_id = $1 GROUP BY element_id",
        )
        .bind(organization.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((ElementId(row.try_get("element_id")?), row.try_get("count")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Writes an instance's changeable fields: name, configuration, tags, objects, the state flags and the
    /// refresh schedule. The notified state is not among them: it changes only through [`Store::announce_state`].
    pub async fn update_instance(&self, record: &InstanceRecord) -> StoreResult<bool> {
        Ok(instance_update(record).execute(self.pool()).await?.rows_affected() == 1)
    }

    /// The instances with these ids, in any organization, each with the ciphertext of its secrets' vault entry
    /// (none when the entry is gone): a refresher wave's reads, in one query.
    pub async fn instances_with_secrets(
        &self,
        ids: &[InstanceId],
    ) -> StoreResult<Vec<(InstanceRecord, Option<Vec<u8>>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS}, (SELECT ciphertext FROM vault WHERE vault.id = secrets_vault_id) AS secrets_ciphertext \
             FROM instances WHERE id IN ({})",
            self.ordered_placeholders(1, ids.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id.0);
        }
        let rows = query.fetch_all(self.pool()).await?;
        Ok(rows
            .iter()
            .map(|row| Ok((record_from_row(row)?, row.try_get("secrets_ciphertext")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// The results of one refresher wave, in one transaction: each refreshed instance's re-encrypted secrets and
    /// record, and the release of `lease_holder`'s leases on `leased`. A rotated refresh token is thus durable
    /// together with the record that says it changed, and a wave costs one commit. Answers the instances written
    /// (an instance deleted meanwhile is not).
    pub async fn save_refresh_wave(
        &self,
        refreshed: &[(InstanceRecord, SealedEntry)],
        leased: &[InstanceId],
        lease_holder: &str,
    ) -> StoreResult<Vec<InstanceId>> {
        let mut transaction = self.begin_write().await?;
        let mut written = Vec::with_capacity(refreshed.len());
        for (record, secrets) in refreshed {
            let stored = vault_entry_update(record.secrets_vault_id, secrets).execute(&mut *transaction).await?;
            if stored.rows_affected() == 1
                && instance_update(record).execute(&mut *transaction).await?.rows_affected() == 1
            {
                super::history::insert_history(&refreshed_entry(record)).execute(&mut *transaction).await?;
                written.push(record.id);
            }
        }
        if !leased.is_empty() {
            leases_release(leased, lease_holder).execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(written)
    }

    /// The instances the refresher should look at now, at most `limit`, soonest first: enabled and valid ones
    /// whose retry is due, or, when not waiting for a retry, whose access token expires before `expiring_before`
    /// and which were not refreshed since `refreshed_before` (so a provider's short-lived tokens are not refreshed
    /// over and over). `now` is never after `expiring_before`, so every such instance is due by `expiring_before`:
    /// that bound, the filter and the order are those of the `instances_refresh_due` index, which the query walks
    /// from its start instead of sorting every refreshable instance.
    pub async fn instances_due_for_refresh(
        &self,
        now: i64,
        expiring_before: i64,
        refreshed_before: i64,
        limit: i64,
    ) -> StoreResult<Vec<(OrganizationId, InstanceId)>> {
        let rows = sqlx::query(DUE_FOR_REFRESH)
            .bind(now)
            .bind(expiring_before)
            .bind(refreshed_before)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        id_pairs(&rows)
    }

    /// The enabled, valid instances holding a refresh token, by id after `after`, at most `limit`: the nightly
    /// sweep's pages.
    pub async fn refreshable_instances(
        &self,
        after: InstanceId,
        limit: i64,
    ) -> StoreResult<Vec<(OrganizationId, InstanceId)>> {
        let rows = sqlx::query(
            "SELECT organization_id, id FROM instances WHERE disabled = 0 AND valid = 1 AND refreshable = 1 \
             AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.0)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        id_pairs(&rows)
    }

    /// Records that the organization is told the instance is now `state`, and queues the notice, the lifecycle
    /// event and the history entry, in one transaction. Answers false, queuing nothing, when it was already told: so each change is announced once,
    /// by one node, however many notice it.
    pub async fn announce_state(
        &self,
        record: &InstanceRecord,
        state: NotifiedState,
        notice: &super::notifications::NewNotification,
        lifecycle: &super::webhooks::NewLifecycleEvent,
        history: &super::history::NewHistoryEntry,
    ) -> StoreResult<bool> {
        // The instance must still be in the state announced: a "disabled" notice computed before a user enabled
        // the instance again, or an "invalid" one before a re-authentication, is not sent late.
        let mut transaction = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE instances SET notified_state = $1 WHERE organization_id = $2 AND id = $3 AND notified_state <> $1 \
             AND CASE $1 WHEN 'disabled' THEN disabled = 1 WHEN 'invalid' THEN valid = 0 \
             ELSE disabled = 0 AND valid = 1 END",
        )
        .bind(state.as_str())
        .bind(record.organization_id.0)
        .bind(record.id.0)
        .execute(&mut *transaction)
        .await?;
        if changed.rows_affected() != 1 {
            return Ok(false);
        }
        super::notifications::insert(&mut transaction, notice).await?;
        super::webhooks::queue_lifecycle_event(&mut transaction, lifecycle, None).await?;
        super::history::insert_history(history).execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Removes an instance's row; its vault entries are the caller's to remove.
    pub async fn delete_instance(&self, organization: OrganizationId, id: InstanceId) -> StoreResult<bool> {
        let deleted = sqlx::query("DELETE FROM instances WHERE organization_id = $1 AND id = $2")
            .bind(organization.0)
            .bind(id.0)
            .execute(self.pool())
            .await?;
        Ok(deleted.rows_affected() == 1)
    }
}

/// The entry for new tokens stored on `record`: by Tether, with the new access token's expiry (RFC 3339) when
/// the provider gave one.
pub fn refreshed_entry(record: &InstanceRecord) -> super::history::NewHistoryEntry {
    let expires_at = record.schedule_columns().0.map(|at| super::from_millis(at).to_rfc3339()).unwrap_or_default();
    super::history::NewHistoryEntry {
        organization_id: record.organization_id,
        instance_id: record.id,
        kind: app::history::HistoryKind::Refreshed,
        actor: super::audit::Actor::System.to_string(),
        detail: expires_at,
    }
}

/// Writes an instance's changeable fields; see [`Store::update_instance`].
fn instance_update(record: &InstanceRecord) -> AnyQuery {
    let [configuration, tags, objects] = record.json_columns();
    let (expires_at, refreshable) = record.schedule_columns();
    sqlx::query(
        "UPDATE instances SET name = $1, configuration = $2, tags = $3, objects = $4, valid = $5, disabled = $6, \
         external_authentication = $7, updated_at = $8, last_refreshed_at = $9, last_error = $10, \
         last_error_at = $11, refresh_failures = $12, refresh_retry_at = $13, access_token_expires_at = $14, \
         refreshable = $15, trace_logging = $16 WHERE organization_id = $17 AND id = $18",
    )
    .bind(record.name.clone())
    .bind(configuration)
    .bind(tags)
    .bind(objects)
    .bind(i64::from(record.valid))
    .bind(i64::from(record.disabled))
    .bind(record.external_authentication.clone())
    .bind(now_millis())
    .bind(record.last_refreshed_at)
    .bind(record.last_error.clone())
    .bind(record.last_error_at)
    .bind(record.refresh_failures)
    .bind(record.refresh_retry_at)
    .bind(expires_at)
    .bind(refreshable)
    .bind(i64::from(record.trace_logging))
    .bind(record.organization_id.0)
    .bind(record.id.0)
}
