//! Connect sessions and the organization's allowed redirect URLs, as stored. A session's token is kept only as its
//! digest.

use super::{Store, StoreResult, from_millis};
use app::connect::{ConnectFailure, ConnectSession, ConnectSessionState, EndUser};
use app::instances::InstanceId;
use app::types::{AccountId, OrganizationId, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A session about to be stored.
pub struct NewSessionRecord<'a> {
    pub id: &'a str,
    pub organization_id: OrganizationId,
    /// The caller who made the session, under whom its instance is made.
    pub account_id: AccountId,
    pub user_id: UserId,
    pub token_digest: &'a str,
    pub end_user: &'a EndUser,
    pub elements: &'a [String],
    pub tags: &'a [String],
    pub instance_id: Option<InstanceId>,
    pub redirect_url: Option<&'a str>,
    pub created_at: i64,
    pub expires_at: i64,
}

const COLUMNS: &str = "id, organization_id, account_id, user_id, end_user_id, end_user_email, \
                       end_user_display_name, elements, tags, instance_id, redirect_url, status, last_error, \
                       last_error_reason, created_at, expires_at";

/// A session with what its hosted page needs beyond the API's view: whose it is, and its last failure.
#[derive(Clone, Debug)]
pub struct HostedSessionRecord {
    pub organization_id: OrganizationId,
    /// The caller who made the session, under whom its instance is made.
    pub account_id: AccountId,
    pub user_id: UserId,
    pub session: ConnectSession,
    /// What went wrong on the last attempt, until the next one.
    pub last_failure: Option<ConnectFailure>,
}

fn to_json(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

fn from_json(text: &str) -> Result<Vec<String>, sqlx::Error> {
    serde_json::from_str(text).map_err(|error| sqlx::Error::Decode(error.into()))
}

/// A stored session as the API shows it, with `now` deciding whether an open one has expired.
fn session_from_row(row: &AnyRow, now: i64) -> Result<ConnectSession, sqlx::Error> {
    let expires_at: i64 = row.try_get("expires_at")?;
    let status: String = row.try_get("status")?;
    // A session being completed (`completing`) reads as open: the attempt may yet fail and leave it usable.
    let state = match status.as_str() {
        "completed" => ConnectSessionState::Completed,
        "ended" => ConnectSessionState::Ended,
        _ if expires_at <= now => ConnectSessionState::Expired,
        _ => ConnectSessionState::Open,
    };
    Ok(ConnectSession {
        id: row.try_get("id")?,
        state,
        end_user: EndUser {
            id: row.try_get("end_user_id")?,
            email: row.try_get("end_user_email")?,
            display_name: row.try_get("end_user_display_name")?,
        },
        elements: from_json(&row.try_get::<String, _>("elements")?)?,
        tags: from_json(&row.try_get::<String, _>("tags")?)?,
        instance_id: row.try_get::<Option<i64>, _>("instance_id")?.map(InstanceId),
        redirect_url: row.try_get("redirect_url")?,
        created_at: from_millis(row.try_get("created_at")?),
        expires_at: from_millis(expires_at),
    })
}

fn hosted_from_row(row: &AnyRow, now: i64) -> Result<HostedSessionRecord, sqlx::Error> {
    Ok(HostedSessionRecord {
        organization_id: OrganizationId(row.try_get("organization_id")?),
        account_id: AccountId(row.try_get("account_id")?),
        user_id: UserId(row.try_get("user_id")?),
        session: session_from_row(row, now)?,
        last_failure: match (row.try_get::<Option<String>, _>("last_error_reason")?, row.try_get("last_error")?) {
            (Some(reason), Some(message)) => Some(ConnectFailure { reason, message }),
            _ => None,
        },
    })
}

impl Store {
    pub async fn insert_connect_session(&self, session: &NewSessionRecord<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO connect_sessions (id, organization_id, account_id, user_id, token_digest, end_user_id, \
             end_user_email, end_user_display_name, elements, tags, instance_id, redirect_url, status, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $14)",
        )
        .bind(session.id)
        .bind(session.organization_id.0)
        .bind(session.account_id.0)
        .bind(session.user_id.0)
        .bind(session.token_digest)
        .bind(&session.end_user.id)
        .bind(session.end_user.email.as_deref())
        .bind(session.end_user.display_name.as_deref())
        .bind(to_json(session.elements))
        .bind(to_json(session.tags))
        .bind(session.instance_id.map(|id| id.0))
        .bind(session.redirect_url)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The organization's session `id`, as it stands at `now`.
    pub async fn connect_session(
        &self,
        organization: OrganizationId,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<ConnectSession>> {
        let sql = format!("SELECT {COLUMNS} FROM connect_sessions WHERE organization_id = $1 AND id = $2");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(organization.0).bind(id).fetch_optional(self.pool()).await?;
        Ok(row.map(|row| session_from_row(&row, now)).transpose()?)
    }

    /// The session whose token has this digest, in any organization, as it stands at `now`. The digest is looked
    /// up through its unique index.
    pub async fn connect_session_by_token(
        &self,
        token_digest: &str,
        now: i64,
    ) -> StoreResult<Option<HostedSessionRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM connect_sessions WHERE token_digest = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token_digest).fetch_optional(self.pool()).await?;
        Ok(row.map(|row| hosted_from_row(&row, now)).transpose()?)
    }

    /// Takes an open, unexpired session for one attempt to complete it; answers whether this caller got it. Of two
    /// attempts at once, one gets it and the other is refused.
    pub async fn claim_connect_session(&self, id: &str, now: i64) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "UPDATE connect_sessions SET status = 'completing', last_error = NULL \
             WHERE id = $1 AND status = 'open' AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Marks a claimed session completed with the instance it connected.
    pub async fn complete_connect_session(&self, id: &str, instance: InstanceId) -> StoreResult<()> {
        sqlx::query("UPDATE connect_sessions SET status = 'completed', instance_id = $2 WHERE id = $1")
            .bind(id)
            .bind(instance.0)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records why an attempt at an open session failed, for its page to show.
    pub async fn note_connect_failure(&self, id: &str, failure: &ConnectFailure) -> StoreResult<()> {
        sqlx::query(
            "UPDATE connect_sessions SET last_error = $2, last_error_reason = $3 WHERE id = $1 AND status = 'open'",
        )
        .bind(id)
        .bind(&failure.message)
        .bind(&failure.reason)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Gives a claimed session back, open, after its attempt failed, with why.
    pub async fn release_connect_session(&self, id: &str, failure: &ConnectFailure) -> StoreResult<()> {
        sqlx::query(
            "UPDATE connect_sessions SET status = 'open', last_error = $2, last_error_reason = $3 \
             WHERE id = $1 AND status = 'completing'",
        )
        .bind(id)
        .bind(&failure.message)
        .bind(&failure.reason)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Ends the organization's session `id` if it is still open at `now`; answers whether it was.
    pub async fn end_connect_session(&self, organization: OrganizationId, id: &str, now: i64) -> StoreResult<bool> {
        let ended = sqlx::query(
            "UPDATE connect_sessions SET status = 'ended' \
             WHERE organization_id = $1 AND id = $2 AND status = 'open' AND expires_at > $3",
        )
        .bind(organization.0)
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(ended.rows_affected() == 1)
    }

    /// The organization's allowed redirect URLs, sorted (by bytes, the same on both backends).
    pub async fn redirect_urls(&self, organization: OrganizationId) -> StoreResult<Vec<String>> {
        let mut urls: Vec<String> =
            sqlx::query_scalar("SELECT url FROM connect_redirect_urls WHERE organization_id = $1")
                .bind(organization.0)
                .fetch_all(self.pool())
                .await?;
        urls.sort();
        Ok(urls)
    }

    /// Replaces the organization's allowed redirect URLs, in one transaction.
    pub async fn set_redirect_urls(&self, organization: OrganizationId, urls: &[String]) -> StoreResult<()> {
        let mut transaction = self.begin_write().await?;
        sqlx::query("DELETE FROM connect_redirect_urls WHERE organization_id = $1")
            .bind(organization.0)
            .execute(&mut *transaction)
            .await?;
        for url in urls {
            sqlx::query("INSERT INTO connect_redirect_urls (organization_id, url) VALUES ($1, $2)")
                .bind(organization.0)
                .bind(url)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }
}
