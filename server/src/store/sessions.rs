//! Console sessions: the hash of each session cookie, its user and its expiry; expired ones go when a new one comes.

use super::tenants::caller_from_row;
use super::{Store, StoreResult, now_millis};
use app::hub::Caller;
use app::types::UserId;

impl Store {
    /// Stores a new session, and removes every session that has expired.
    pub async fn insert_session(&self, token_hash: &str, user: UserId, expires_at: i64) -> StoreResult<()> {
        let now = now_millis();
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1").bind(now).execute(self.pool()).await?;
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The caller of an unexpired session whose user and account are still active.
    pub async fn session_caller(&self, token_hash: &str) -> StoreResult<Option<Caller>> {
        let row = sqlx::query(
            "SELECT u.id, u.organization_id, u.account_id, u.role FROM console_sessions s \
             JOIN users u ON u.id = s.user_id JOIN accounts a ON a.id = u.account_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1 AND a.active = 1",
        )
        .bind(token_hash)
        .bind(now_millis())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(caller_from_row).transpose()?)
    }

    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1").bind(token_hash).execute(self.pool()).await?;
        Ok(())
    }

    /// Removes every session of a user, as after a password reset.
    pub async fn delete_user_sessions(&self, user: UserId) -> StoreResult<()> {
        sqlx::query("DELETE FROM console_sessions WHERE user_id = $1").bind(user.0).execute(self.pool()).await?;
        Ok(())
    }
}
