//! Organizations, accounts and users: the tenants, and the lookups that authenticate them.

use super::{Store, StoreResult, flag, from_millis, now_millis};
use app::hub::Caller;
use app::two_factor::TwoFactorMethod;
use app::types::{Account, AccountId, Organization, OrganizationId, Role, User, UserId};
use sqlx::{Any, AnyConnection, Row, any::AnyRow};

// Column lists as macros, so queries stay `&'static str` literals built with `concat!`.
macro_rules! account_columns {
    () => {
        "id, name, external_id, is_default, active, created_at"
    };
}
macro_rules! user_columns {
    () => {
        "id, organization_id, account_id, email, first_name, last_name, phone, phone_confirmed, two_factor, role, \
         active, created_at, last_login_at"
    };
}

fn account_from_row(row: &AnyRow) -> Result<Account, sqlx::Error> {
    Ok(Account {
        id: AccountId(row.try_get("id")?),
        name: row.try_get("name")?,
        external_id: row.try_get("external_id")?,
        default_account: flag(row.try_get("is_default")?),
        active: flag(row.try_get("active")?),
        created_date: from_millis(row.try_get("created_at")?),
    })
}

fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: UserId(row.try_get("id")?),
        account_id: AccountId(row.try_get("account_id")?),
        email_address: row.try_get("email")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        phone: row.try_get("phone")?,
        phone_confirmed: flag(row.try_get("phone_confirmed")?),
        two_factor: row.try_get::<Option<String>, _>("two_factor")?.as_deref().and_then(TwoFactorMethod::parse),
        role: Role::parse(&role).unwrap_or_default(),
        active: flag(row.try_get("active")?),
        created_date: from_millis(row.try_get("created_at")?),
        last_login_date: row.try_get::<Option<i64>, _>("last_login_at")?.map(from_millis),
    })
}

pub(super) fn caller_from_row(row: &AnyRow) -> Result<Caller, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(Caller {
        organization_id: OrganizationId(row.try_get("organization_id")?),
        account_id: AccountId(row.try_get("account_id")?),
        user_id: UserId(row.try_get("id")?),
        role: Role::parse(&role).unwrap_or_default(),
    })
}

/// A user about to be stored, with hashes in place of secrets.
#[derive(Debug)]
pub struct UserRecord<'a> {
    pub organization_id: OrganizationId,
    pub account_id: AccountId,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone: Option<&'a str>,
    pub role: Role,
    pub secret_hash: &'a str,
    pub password_hash: Option<&'a str>,
}

/// The changes to a user's profile; `None` leaves a field alone.
#[derive(Debug, Default)]
pub struct ProfileChange<'a> {
    pub email: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub phone: Option<Option<&'a str>>,
}

/// A user found by email for sign-in, with what the password check needs.
#[derive(Debug)]
pub struct SignInCandidate {
    pub caller: Caller,
    pub password_hash: Option<String>,
    pub active: bool,
}

/// Writes that make a tenant, run inside one transaction so a half-made organization never exists.
pub mod create {
    use super::*;

    pub async fn organization(
        connection: &mut AnyConnection,
        name: &str,
        secret_hash: &str,
    ) -> StoreResult<OrganizationId> {
        let id: i64 = sqlx::query_scalar("INSERT INTO organizations (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(now_millis())
            .fetch_one(&mut *connection)
            .await?;
        let organization = OrganizationId(id);
        api_secret(connection, organization, None, secret_hash).await?;
        Ok(organization)
    }

    /// Stores the hash of an API secret: the organization's own when `user` is `None`.
    pub async fn api_secret(
        connection: &mut AnyConnection,
        organization: OrganizationId,
        user: Option<UserId>,
        secret_hash: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_secrets (organization_id, user_id, secret_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(organization.0)
        .bind(user.map(|id| id.0))
        .bind(secret_hash)
        .bind(now_millis())
        .execute(&mut *connection)
        .await?;
        Ok(())
    }

    pub async fn account(
        connection: &mut AnyConnection,
        organization: OrganizationId,
        name: &str,
        is_default: bool,
    ) -> StoreResult<AccountId> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (organization_id, name, is_default, active, created_at) VALUES ($1, $2, $3, 1, $4) RETURNING id",
        )
        .bind(organization.0)
        .bind(name)
        .bind(i64::from(is_default))
        .bind(now_millis())
        .fetch_one(&mut *connection)
        .await?;
        Ok(AccountId(id))
    }

    pub async fn user(connection: &mut AnyConnection, record: &UserRecord<'_>) -> StoreResult<User> {
        let now = now_millis();
        let sql = concat!(
            "INSERT INTO users (organization_id, account_id, email, first_name, last_name, phone, role, \
             password_hash, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9) \
             RETURNING ",
            user_columns!(),
            ""
        );
        let row = sqlx::query::<Any>(sql)
            .bind(record.organization_id.0)
            .bind(record.account_id.0)
            .bind(record.email)
            .bind(record.first_name)
            .bind(record.last_name)
            .bind(record.phone)
            .bind(record.role.as_str())
            .bind(record.password_hash)
            .bind(now)
            .fetch_one(&mut *connection)
            .await?;
        let user = user_from_row(&row)?;
        api_secret(connection, record.organization_id, Some(user.id), record.secret_hash).await?;
        Ok(user)
    }
}

impl Store {
    pub async fn count_organizations(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(self.pool()).await?)
    }

    pub async fn organization_ids(&self) -> StoreResult<Vec<OrganizationId>> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM organizations ORDER BY id").fetch_all(self.pool()).await?;
        Ok(ids.into_iter().map(OrganizationId).collect())
    }

    pub async fn organization(&self, id: OrganizationId) -> StoreResult<Option<Organization>> {
        let row = sqlx::query("SELECT id, name, created_at FROM organizations WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?;
        Ok(row
            .map(|row| -> Result<Organization, sqlx::Error> {
                Ok(Organization {
                    id: OrganizationId(row.try_get("id")?),
                    name: row.try_get("name")?,
                    created_date: from_millis(row.try_get("created_at")?),
                })
            })
            .transpose()?)
    }

    /// The organization's accounts, or only `only` among them.
    pub async fn accounts(&self, organization: OrganizationId, only: Option<AccountId>) -> StoreResult<Vec<Account>> {
        let sql = concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts WHERE organization_id = $1 AND ($2 IS NULL OR id = $2) ORDER BY id"
        );
        let rows =
            sqlx::query::<Any>(sql).bind(organization.0).bind(only.map(|id| id.0)).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(account_from_row).collect::<Result<_, _>>()?)
    }

    /// The account if it belongs to the organization.
    pub async fn account(&self, organization: OrganizationId, id: AccountId) -> StoreResult<Option<Account>> {
        Ok(self.accounts(organization, Some(id)).await?.into_iter().next())
    }

    /// The email addresses of the organization's active users: who is told about its instances.
    pub async fn organization_emails(&self, organization: OrganizationId) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT email FROM users WHERE organization_id = $1 AND active = 1 ORDER BY id")
            .bind(organization.0)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
    }

    pub async fn users(&self, account: AccountId) -> StoreResult<Vec<User>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE account_id = $1 ORDER BY id");
        let rows = sqlx::query::<Any>(sql).bind(account.0).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
        let row = sqlx::query::<Any>(sql).bind(id.0).fetch_optional(self.pool()).await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1");
        let row = sqlx::query::<Any>(sql).bind(email).fetch_optional(self.pool()).await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    pub async fn update_profile(&self, id: UserId, change: &ProfileChange<'_>) -> StoreResult<Option<User>> {
        let sql = concat!(
            "UPDATE users SET email = COALESCE($1, email), first_name = COALESCE($2, first_name), \
             last_name = COALESCE($3, last_name), phone = CASE WHEN $4 = 1 THEN $5 ELSE phone END, \
             phone_confirmed = CASE WHEN $4 = 1 AND COALESCE($5, '') <> COALESCE(phone, '') THEN 0 \
             ELSE phone_confirmed END, updated_at = $6 WHERE id = $7 RETURNING ",
            user_columns!(),
            ""
        );
        let row = sqlx::query::<Any>(sql)
            .bind(change.email)
            .bind(change.first_name)
            .bind(change.last_name)
            .bind(i64::from(change.phone.is_some()))
            .bind(change.phone.flatten())
            .bind(now_millis())
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    /// Turns a user off or on; a user turned off also loses their console sessions.
    pub async fn set_user_active(&self, id: UserId, active: bool) -> StoreResult<Option<User>> {
        let mut transaction = self.begin_write().await?;
        let sql =
            concat!("UPDATE users SET active = $1, updated_at = $2 WHERE id = $3 RETURNING ", user_columns!(), "");
        let row = sqlx::query::<Any>(sql)
            .bind(i64::from(active))
            .bind(now_millis())
            .bind(id.0)
            .fetch_optional(&mut *transaction)
            .await?;
        if !active {
            sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
                .bind(id.0)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    pub async fn organization_of_user(&self, id: UserId) -> StoreResult<Option<OrganizationId>> {
        let organization: Option<i64> = sqlx::query_scalar("SELECT organization_id FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?;
        Ok(organization.map(OrganizationId))
    }

    pub async fn set_password_hash(&self, id: UserId, password_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now_millis())
            .bind(id.0)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn record_login(&self, id: UserId) -> StoreResult<()> {
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(now_millis())
            .bind(id.0)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The active caller whose user and organization secrets hash to these digests.
    /// Replaces the API secret of a user (or the organization's own when `user` is `None`): the current one is
    /// revoked and `secret_hash` takes its place, at once and together.
    pub async fn rotate_api_secret(
        &self,
        organization: OrganizationId,
        user: Option<UserId>,
        secret_hash: &str,
        retired_at: i64,
    ) -> StoreResult<()> {
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "UPDATE api_secrets SET revoked_at = $1 WHERE organization_id = $2 \
             AND (user_id = $3 OR ($3 IS NULL AND user_id IS NULL)) AND revoked_at IS NULL",
        )
        .bind(retired_at)
        .bind(organization.0)
        .bind(user.map(|id| id.0))
        .execute(&mut *transaction)
        .await?;
        create::api_secret(&mut transaction, organization, user, secret_hash).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The caller behind a pair of secrets, each still working at `now` (a rotated one works until its grace
    /// period ends).
    pub async fn caller_by_secret_hashes(
        &self,
        user_hash: &str,
        organization_hash: &str,
        now: i64,
    ) -> StoreResult<Option<Caller>> {
        let row = sqlx::query(
            "SELECT u.id, u.organization_id, u.account_id, u.role FROM api_secrets us \
             JOIN users u ON u.id = us.user_id \
             JOIN accounts a ON a.id = u.account_id \
             JOIN api_secrets os ON os.organization_id = u.organization_id AND os.user_id IS NULL \
             WHERE us.secret_hash = $1 AND os.secret_hash = $2 AND (us.revoked_at IS NULL OR us.revoked_at > $3) \
             AND (os.revoked_at IS NULL OR os.revoked_at > $3) \
             AND u.active = 1 AND a.active = 1",
        )
        .bind(user_hash)
        .bind(organization_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(caller_from_row).transpose()?)
    }

    pub async fn sign_in_candidate(&self, email: &str) -> StoreResult<Option<SignInCandidate>> {
        let row = sqlx::query(
            "SELECT u.id, u.organization_id, u.account_id, u.role, u.password_hash, u.active * a.active AS usable \
             FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.email = $1",
        )
        .bind(email)
        .fetch_optional(self.pool())
        .await?;
        Ok(row
            .map(|row| -> Result<SignInCandidate, sqlx::Error> {
                Ok(SignInCandidate {
                    caller: caller_from_row(&row)?,
                    password_hash: row.try_get("password_hash")?,
                    active: flag(row.try_get("usable")?),
                })
            })
            .transpose()?)
    }
}
