//! Connect sessions and the organization's allowed redirect URLs, as stored. A session's token is kept only as its
//! digest.

use super::{Store, StoreResult, from_millis};
use app::connect::{ConnectSession, ConnectSessionState, EndUser};
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

const COLUMNS: &str = "id, end_user_id, end_user_email, end_user_display_name, elements, tags, instance_id, \
                       redirect_url, status, created_at, expires_at";

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
        let mut transaction = self.pool().begin().await?;
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
