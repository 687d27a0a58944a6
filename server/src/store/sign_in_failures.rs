//! Wrong passwords in a row per sign-in email, and the lockout they earn; an email quiet for a week is forgotten,
//! with the audit records of its refusals if it named no user.

use super::audit::SIGN_IN_ACTOR_PREFIX;
use super::{Store, StoreResult};
use sqlx::Row;

/// After this many wrong passwords in a row an email is locked.
pub const FAILURES_BEFORE_LOCKOUT: i64 = 20;

/// The first lockout lasts this long; each further one twice as long as the one before, up to a day.
const FIRST_LOCKOUT_MILLIS: i64 = 15 * 60 * 1000;
const LONGEST_LOCKOUT_MILLIS: i64 = 24 * 3600 * 1000;

/// An email with no wrong password for this long is forgotten, with its lockouts: failures for emails that exist
/// nowhere would otherwise pile up. It is far longer than the longest lockout, so that one failure a day keeps an
/// attacker's lockouts at their longest.
pub const FORGET_AFTER_MILLIS: i64 = 7 * 24 * 3600 * 1000;

/// How long the `lockouts`-th lockout in a row lasts (counting from 0).
fn lockout_millis(lockouts: i64) -> i64 {
    FIRST_LOCKOUT_MILLIS.saturating_mul(1 << lockouts.clamp(0, 16)).min(LONGEST_LOCKOUT_MILLIS)
}

impl Store {
    /// Until when (Unix milliseconds) sign-in for `email` is locked, if it is at `now`.
    pub async fn sign_in_locked_until(&self, email: &str, now: i64) -> StoreResult<Option<i64>> {
        let row = sqlx::query("SELECT locked_until FROM sign_in_failures WHERE email = $1")
            .bind(email)
            .fetch_optional(self.pool())
            .await?;
        let until: Option<i64> = row.map(|row| row.try_get("locked_until")).transpose()?.flatten();
        Ok(until.filter(|until| *until > now))
    }

    /// Counts a wrong password at `now`; answers the end of the lockout it started, if it started one.
    ///
    /// It also forgets what is older than [`FORGET_AFTER_MILLIS`]: the emails quiet that long, and the audit
    /// records of refused sign-ins for emails that named no user. Those records belong to no organization, so no
    /// one lists them, and guessed emails would otherwise add to the log without end.
    pub async fn record_sign_in_failure(&self, email: &str, now: i64) -> StoreResult<Option<i64>> {
        let forget_before = now - FORGET_AFTER_MILLIS;
        let mut transaction = self.begin_write().await?;
        sqlx::query("DELETE FROM sign_in_failures WHERE last_failed_at < $1")
            .bind(forget_before)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM audit_log WHERE organization_id IS NULL AND actor LIKE $1 AND at < $2")
            .bind(format!("{SIGN_IN_ACTOR_PREFIX}%"))
            .bind(forget_before)
            .execute(&mut *transaction)
            .await?;
        let row = sqlx::query("SELECT failures, lockouts FROM sign_in_failures WHERE email = $1")
            .bind(email)
            .fetch_optional(&mut *transaction)
            .await?;
        let (failures, lockouts): (i64, i64) = match row {
            Some(row) => (row.try_get("failures")?, row.try_get("lockouts")?),
            None => (0, 0),
        };
        let failures = failures + 1;
        let (failures, lockouts, locked_until) = if failures >= FAILURES_BEFORE_LOCKOUT {
            (0, lockouts + 1, Some(now + lockout_millis(lockouts)))
        } else {
            (failures, lockouts, None)
        };
        sqlx::query(
            "INSERT INTO sign_in_failures (email, failures, lockouts, locked_until, last_failed_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (email) DO UPDATE SET failures = excluded.failures, lockouts = excluded.lockouts, \
             locked_until = COALESCE(excluded.locked_until, sign_in_failures.locked_until), \
             last_failed_at = excluded.last_failed_at",
        )
        .bind(email)
        .bind(failures)
        .bind(lockouts)
        .bind(locked_until)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(locked_until)
    }

    /// Forgets the failures of an email that signed in.
    pub async fn clear_sign_in_failures(&self, email: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sign_in_failures WHERE email = $1").bind(email).execute(self.pool()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_double_up_to_a_day() {
        assert_eq!(lockout_millis(0), 15 * 60 * 1000);
        assert_eq!(lockout_millis(1), 30 * 60 * 1000);
        assert_eq!(lockout_millis(6), 16 * 3600 * 1000);
        assert_eq!(lockout_millis(7), LONGEST_LOCKOUT_MILLIS);
        assert_eq!(lockout_millis(60), LONGEST_LOCKOUT_MILLIS);
    }
}
