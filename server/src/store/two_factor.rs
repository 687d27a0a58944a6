//! Two-factor sign-in state: each user's method, the pending codes of half-done sign-ins and enrolments, the
//! TOTP steps already used, and recovery code hashes.

use super::tenants::caller_from_row;
use super::vault::VaultId;
use super::{Store, StoreResult, flag, now_millis};
use app::hub::Caller;
use app::two_factor::TwoFactorMethod;
use app::types::UserId;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Why a challenge exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengePurpose {
    /// The second step of a sign-in whose password was right; a cookie carries its token.
    SignIn,
    /// A method being enrolled from the user's profile; a user has at most one.
    Enrol,
}

impl ChallengePurpose {
    fn as_str(self) -> &'static str {
        match self {
            ChallengePurpose::SignIn => "sign_in",
            ChallengePurpose::Enrol => "enrol",
        }
    }
}

/// A challenge to store.
#[derive(Debug)]
pub struct NewChallenge<'a> {
    /// The digest of the half-done sign-in's token; `None` for an enrolment.
    pub token_hash: Option<&'a str>,
    pub user: UserId,
    pub purpose: ChallengePurpose,
    pub method: TwoFactorMethod,
    /// Sealed by the vault: a TOTP enrolment's new secret, or the code a text message carried.
    pub sealed_secret: Option<Vec<u8>>,
    /// The number that code went to.
    pub phone: Option<&'a str>,
    pub expires_at: i64,
}

/// A stored challenge and the user it belongs to.
#[derive(Debug)]
pub struct Challenge {
    pub id: i64,
    pub caller: Caller,
    pub email: String,
    /// The user and their account are still active.
    pub usable: bool,
    pub method: TwoFactorMethod,
    pub sealed_secret: Option<Vec<u8>>,
    pub phone: Option<String>,
    pub created_at: i64,
}

/// What sign-in needs to know of a user's second factor.
#[derive(Debug)]
pub struct SecondFactor {
    pub method: Option<TwoFactorMethod>,
    pub phone: Option<String>,
    pub phone_confirmed: bool,
    pub totp_vault_id: Option<VaultId>,
}

/// Turning a method on, with everything that goes with it.
#[derive(Debug)]
pub struct Enrolment<'a> {
    pub user: UserId,
    pub method: TwoFactorMethod,
    /// The vault entry of a new TOTP secret, and the step its confirming code used.
    pub totp: Option<(VaultId, i64)>,
    /// The phone a text-message method confirmed.
    pub phone: Option<&'a str>,
    pub recovery_code_hashes: &'a [String],
}

fn challenge_from_row(row: &AnyRow) -> Result<Challenge, sqlx::Error> {
    let method: String = row.try_get("method")?;
    Ok(Challenge {
        id: row.try_get("challenge_id")?,
        caller: caller_from_row(row)?,
        email: row.try_get("email")?,
        usable: flag(row.try_get("usable")?),
        method: TwoFactorMethod::parse(&method).unwrap_or(TwoFactorMethod::Totp),
        sealed_secret: row.try_get("sealed_secret")?,
        phone: row.try_get("phone")?,
        created_at: row.try_get("created_at")?,
    })
}

const CHALLENGE_SELECT: &str = "SELECT c.id AS challenge_id, c.method, c.sealed_secret, c.phone, c.created_at, \
     u.id, u.organization_id, u.account_id, u.role, u.email, u.active * a.active AS usable \
     FROM two_factor_challenges c JOIN users u ON u.id = c.user_id JOIN accounts a ON a.id = u.account_id";

impl Store {
    /// Stores a challenge, forgetting expired ones. A new enrolment replaces the user's earlier one.
    pub async fn insert_challenge(&self, challenge: &NewChallenge<'_>) -> StoreResult<()> {
        let mut transaction = self.begin_write().await?;
        sqlx::query("DELETE FROM two_factor_challenges WHERE expires_at <= $1")
            .bind(now_millis())
            .execute(&mut *transaction)
            .await?;
        if challenge.purpose == ChallengePurpose::Enrol {
            sqlx::query("DELETE FROM two_factor_challenges WHERE user_id = $1 AND purpose = $2")
                .bind(challenge.user.0)
                .bind(ChallengePurpose::Enrol.as_str())
                .execute(&mut *transaction)
                .await?;
        }
        sqlx::query(
            "INSERT INTO two_factor_challenges (token_hash, user_id, purpose, method, sealed_secret, phone, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(challenge.token_hash)
        .bind(challenge.user.0)
        .bind(challenge.purpose.as_str())
        .bind(challenge.method.as_str())
        .bind(challenge.sealed_secret.clone())
        .bind(challenge.phone)
        .bind(now_millis())
        .bind(challenge.expires_at)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The unexpired half-done sign-in whose token hashes to `token_hash`.
    pub async fn sign_in_challenge(&self, token_hash: &str) -> StoreResult<Option<Challenge>> {
        let sql = format!("{CHALLENGE_SELECT} WHERE c.token_hash = $1 AND c.purpose = $2 AND c.expires_at > $3");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(ChallengePurpose::SignIn.as_str())
            .bind(now_millis())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(challenge_from_row).transpose()?)
    }

    /// The user's unexpired enrolment of `method`, if any.
    pub async fn enrol_challenge(&self, user: UserId, method: TwoFactorMethod) -> StoreResult<Option<Challenge>> {
        let sql = format!(
            "{CHALLENGE_SELECT} WHERE c.user_id = $1 AND c.purpose = $2 AND c.method = $3 AND c.expires_at > $4"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.0)
            .bind(ChallengePurpose::Enrol.as_str())
            .bind(method.as_str())
            .bind(now_millis())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(challenge_from_row).transpose()?)
    }

    /// Counts a wrong code against a challenge; answers how many it has had.
    pub async fn count_wrong_code(&self, challenge: i64) -> StoreResult<i64> {
        let count: Option<i64> = sqlx::query_scalar(
            "UPDATE two_factor_challenges SET wrong_codes = wrong_codes + 1 WHERE id = $1 RETURNING wrong_codes",
        )
        .bind(challenge)
        .fetch_optional(self.pool())
        .await?;
        Ok(count.unwrap_or(i64::MAX))
    }

    /// Removes a challenge; answers whether it was still there, so only one caller may use it.
    pub async fn delete_challenge(&self, challenge: i64) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM two_factor_challenges WHERE id = $1").bind(challenge).execute(self.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn second_factor(&self, user: UserId) -> StoreResult<Option<SecondFactor>> {
        let row = sqlx::query("SELECT two_factor, phone, phone_confirmed, totp_vault_id FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(self.pool())
            .await?;
        Ok(row
            .map(|row| -> Result<SecondFactor, sqlx::Error> {
                let method: Option<String> = row.try_get("two_factor")?;
                Ok(SecondFactor {
                    method: method.as_deref().and_then(TwoFactorMethod::parse),
                    phone: row.try_get("phone")?,
                    phone_confirmed: flag(row.try_get("phone_confirmed")?),
                    totp_vault_id: row.try_get::<Option<i64>, _>("totp_vault_id")?.map(VaultId),
                })
            })
            .transpose()?)
    }

    /// Accepts a TOTP time step for a user once: a later call with the same or an earlier step answers `false`,
    /// so a code seen over someone's shoulder cannot be used again, on any node.
    pub async fn accept_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user.0)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Turns a method on and replaces the user's recovery codes, together; answers the vault entry of the TOTP
    /// secret it replaced, for the caller to remove.
    pub async fn turn_on_two_factor(&self, enrolment: &Enrolment<'_>) -> StoreResult<Option<VaultId>> {
        let mut transaction = self.begin_write().await?;
        let previous: Option<i64> = sqlx::query_scalar("SELECT totp_vault_id FROM users WHERE id = $1")
            .bind(enrolment.user.0)
            .fetch_one(&mut *transaction)
            .await?;
        let now = now_millis();
        sqlx::query(
            "UPDATE users SET two_factor = $1, totp_vault_id = $2, totp_last_step = $3, \
             phone = CASE WHEN $4 IS NULL THEN phone ELSE $4 END, \
             phone_confirmed = CASE WHEN $4 IS NULL THEN phone_confirmed ELSE 1 END, updated_at = $5 WHERE id = $6",
        )
        .bind(enrolment.method.as_str())
        .bind(enrolment.totp.map(|(vault, _)| vault.0))
        .bind(enrolment.totp.map(|(_, step)| step))
        .bind(enrolment.phone)
        .bind(now)
        .bind(enrolment.user.0)
        .execute(&mut *transaction)
        .await?;
        replace_recovery_codes(&mut transaction, enrolment.user, enrolment.recovery_code_hashes, now).await?;
        sqlx::query("DELETE FROM two_factor_challenges WHERE user_id = $1 AND purpose = $2")
            .bind(enrolment.user.0)
            .bind(ChallengePurpose::Enrol.as_str())
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(previous.map(VaultId).filter(|old| enrolment.totp.is_none_or(|(new, _)| new != *old)))
    }

    /// Turns the user's second factor off: method, TOTP secret, recovery codes and pending challenges all go.
    /// Answers the vault entry of the TOTP secret, for the caller to remove.
    pub async fn reset_two_factor(&self, user: UserId) -> StoreResult<Option<VaultId>> {
        let mut transaction = self.begin_write().await?;
        let previous: Option<i64> = sqlx::query_scalar("SELECT totp_vault_id FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_one(&mut *transaction)
            .await?;
        sqlx::query(
            "UPDATE users SET two_factor = NULL, totp_vault_id = NULL, totp_last_step = NULL, updated_at = $1 \
             WHERE id = $2",
        )
        .bind(now_millis())
        .bind(user.0)
        .execute(&mut *transaction)
        .await?;
        replace_recovery_codes(&mut transaction, user, &[], now_millis()).await?;
        sqlx::query("DELETE FROM two_factor_challenges WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(previous.map(VaultId))
    }

    /// Uses up one recovery code; answers whether it was unused and the user's.
    pub async fn use_recovery_code(&self, user: UserId, code_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now_millis())
        .bind(user.0)
        .bind(code_hash)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() >= 1)
    }

    pub async fn recovery_codes_left(&self, user: UserId) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.0)
            .fetch_one(self.pool())
            .await?)
    }

    /// Marks the phone confirmed, if it is still `phone`; answers whether it changed from unconfirmed.
    pub async fn confirm_phone(&self, user: UserId, phone: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET phone_confirmed = 1, updated_at = $1 WHERE id = $2 AND phone = $3 AND phone_confirmed = 0",
        )
        .bind(now_millis())
        .bind(user.0)
        .bind(phone)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

async fn replace_recovery_codes(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    user: UserId,
    code_hashes: &[String],
    now: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.0).execute(&mut **transaction).await?;
    for hash in code_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
            .bind(user.0)
            .bind(hash)
            .bind(now)
            .execute(&mut **transaction)
            .await?;
    }
    Ok(())
}
