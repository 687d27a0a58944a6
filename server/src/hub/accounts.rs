//! The Accounts capability: an organization's accounts and users, their API secrets, and the operator's own
//! commands (a new organization, a password reset).

use super::errors::OrInternal;
use super::errors::conflict_or_internal;
use super::service::HubService;
use crate::security::secrets::MIN_PASSWORD_CHARS;
use crate::store::StoreError;
use crate::store::audit::Actor;
use crate::store::tenants::{ProfileChange, UserRecord, create};
use crate::{security::secrets, validate};
use app::error::HubError;
use app::hub::{Accounts, Caller};
use app::revealed::RevealedSecret;
use app::types::{
    Account, AccountId, CreatedUser, NewUser, Organization, OrganizationId, Role, User, UserId, UserPatch,
};
use secrecy::{ExposeSecret, SecretString};

/// Everything made for a new organization; the secrets are shown once and then exist only as hashes.
#[derive(Debug)]
pub struct NewOrganization {
    pub organization: Organization,
    pub account: Account,
    pub admin: User,
    pub organization_secret: SecretString,
    pub user_secret: SecretString,
    pub password: SecretString,
}

/// The user fields after validation.
struct ValidUser {
    email: String,
    first_name: String,
    last_name: String,
    phone: Option<String>,
    role: Role,
}

const NAME_LIMIT: usize = 100;

fn user_record<'a>(
    organization: OrganizationId,
    account: AccountId,
    user: &'a ValidUser,
    secret_hash: &'a str,
    password_hash: Option<&'a str>,
) -> UserRecord<'a> {
    UserRecord {
        organization_id: organization,
        account_id: account,
        email: &user.email,
        first_name: &user.first_name,
        last_name: &user.last_name,
        phone: user.phone.as_deref(),
        role: user.role,
        secret_hash,
        password_hash,
    }
}

fn email_conflict(error: StoreError, email: &str) -> HubError {
    conflict_or_internal(error, || format!("emailAddress: {email} is not available; use another address"))
}

/// Argon2 is slow on purpose; it runs off the async workers.
async fn hash_password(password: &SecretString) -> Result<String, HubError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || secrets::hash_password(&password)).await.or_internal()?.or_internal()
}

fn validate_new_user(new_user: &NewUser) -> Result<ValidUser, HubError> {
    if let Some(password) = &new_user.password
        && password.expose_secret().chars().count() < MIN_PASSWORD_CHARS
    {
        return Err(HubError::BadRequest(format!("password: must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    Ok(ValidUser {
        email: validate::email("emailAddress", &new_user.email_address)?,
        first_name: validate::name("firstName", &new_user.first_name, NAME_LIMIT)?,
        last_name: validate::name("lastName", &new_user.last_name, NAME_LIMIT)?,
        phone: new_user.phone.as_deref().map(|phone| validate::phone("phone", phone)).transpose()?,
        role: new_user.role,
    })
}

impl HubService {
    /// The user `user` of `account`, if the caller may see that account.
    async fn user_in_account(&self, caller: &Caller, account: AccountId, user: UserId) -> Result<User, HubError> {
        self.visible_account(caller, account).await?;
        self.store
            .user(user)
            .await
            .or_internal()?
            .filter(|found| found.account_id == account)
            .ok_or_else(|| HubError::NotFound(format!("No user with id {user} in account {account}")))
    }

    /// Like [`HubService::user_in_account`], for what only an organization admin may do to another user.
    async fn user_for_admin(
        &self,
        caller: &Caller,
        account: AccountId,
        user: UserId,
        what: &str,
    ) -> Result<User, HubError> {
        let found = self.user_in_account(caller, account, user).await?;
        caller.require_admin(what)?;
        Ok(found)
    }

    /// Replaces a user's secret (or the organization's, for `None`), the old one working `grace_minutes` more,
    /// forgets cached callers, and records it.
    async fn rotate_secret(
        &self,
        caller: &Caller,
        user: Option<UserId>,
        grace_minutes: u32,
    ) -> Result<RevealedSecret, HubError> {
        if grace_minutes > app::revealed::MAX_GRACE_MINUTES {
            return Err(HubError::invalid("graceMinutes", "at most 10080, a week"));
        }
        let secret = secrets::generate_secret();
        let retired_at = self.clock().now_millis() + i64::from(grace_minutes) * 60_000;
        let digest = secrets::digest(&secret);
        self.store.rotate_api_secret(caller.organization_id, user, &digest, retired_at).await.or_internal()?;
        self.call_cache.forget_all_callers();
        let target = match user {
            Some(user) => format!("user:{user}"),
            None => format!("organization:{}", caller.organization_id),
        };
        self.audit(caller.organization_id, Actor::of(caller), "secret.rotated", target).await?;
        Ok(RevealedSecret::new(secret.expose_secret().to_owned()))
    }

    /// Makes an organization with its default account and an admin user, in one transaction.
    pub async fn create_organization(
        &self,
        name: &str,
        admin_email: &str,
        actor: &Actor,
    ) -> Result<NewOrganization, HubError> {
        let name = validate::required_name("name", name, NAME_LIMIT)?;
        let admin = ValidUser {
            email: validate::email("adminEmail", admin_email)?,
            first_name: "Admin".into(),
            last_name: String::new(),
            phone: None,
            role: Role::Admin,
        };
        let organization_secret = secrets::generate_secret();
        let user_secret = secrets::generate_secret();
        let password = secrets::generate_password();
        let password_hash = hash_password(&password).await?;

        let mut transaction = self.store.begin_write().await.or_internal()?;
        let organization_id = create::organization(&mut transaction, &name, &secrets::digest(&organization_secret))
            .await
            .or_internal()?;
        let account_id = create::account(&mut transaction, organization_id, "Default", true).await.or_internal()?;
        let secret_hash = secrets::digest(&user_secret);
        let record = user_record(organization_id, account_id, &admin, &secret_hash, Some(&password_hash));
        let user =
            create::user(&mut transaction, &record).await.map_err(|error| email_conflict(error, &admin.email))?;
        transaction.commit().await.or_internal()?;

        self.audit(organization_id, actor.clone(), "organization.created", format!("organization:{organization_id}"))
            .await?;
        let organization = self.store.organization(organization_id).await.or_internal()?.ok_or(HubError::Internal)?;
        let account = self.store.account(organization_id, account_id).await.or_internal()?.ok_or(HubError::Internal)?;
        Ok(NewOrganization { organization, account, admin: user, organization_secret, user_secret, password })
    }

    /// Sets a new random password for a user, ends their sessions, and returns the password once.
    pub async fn reset_password(&self, email: &str, actor: &Actor) -> Result<SecretString, HubError> {
        let email = validate::email("email", email)?;
        let user = self
            .store
            .user_by_email(&email)
            .await
            .or_internal()?
            .ok_or_else(|| HubError::NotFound(format!("No user with email {email}")))?;
        let password = secrets::generate_password();
        let hash = hash_password(&password).await?;
        self.store.set_password_hash(user.id, &hash).await.or_internal()?;
        self.store.delete_user_sessions(user.id).await.or_internal()?;
        // The operator's reset is also the way out of a sign-in lockout.
        self.store.clear_sign_in_failures(&email).await.or_internal()?;
        let organization = self.store.organization_of_user(user.id).await.or_internal()?.ok_or(HubError::Internal)?;
        self.audit(organization, actor.clone(), "user.password_reset", format!("user:{}", user.id)).await?;
        Ok(password)
    }

    /// The account if the caller's organization owns it, else `NotFound` (another tenant's ids are never confirmed).
    async fn visible_account(&self, caller: &Caller, account: AccountId) -> Result<Account, HubError> {
        let found = self
            .store
            .account(caller.organization_id, account)
            .await
            .or_internal()?
            .ok_or_else(|| HubError::NotFound(format!("No account with id {account}")))?;
        if !caller.is_admin() && caller.account_id != account {
            return Err(HubError::Forbidden("Only an organization admin may act on other accounts".into()));
        }
        Ok(found)
    }
}

#[async_trait::async_trait]
impl Accounts for HubService {
    async fn list_accounts(&self, caller: &Caller) -> Result<Vec<Account>, HubError> {
        let only = (!caller.is_admin()).then_some(caller.account_id);
        self.store.accounts(caller.organization_id, only).await.or_internal()
    }

    async fn list_users(&self, caller: &Caller, account: AccountId) -> Result<Vec<User>, HubError> {
        self.visible_account(caller, account).await?;
        self.store.users(account).await.or_internal()
    }

    async fn create_user(
        &self,
        caller: &Caller,
        account: AccountId,
        new_user: NewUser,
    ) -> Result<CreatedUser, HubError> {
        self.visible_account(caller, account).await?;
        caller.require_admin("create users")?;
        let valid = validate_new_user(&new_user)?;
        let generated = new_user.password.is_none().then(secrets::generate_password);
        let password = new_user.password.as_ref().or(generated.as_ref()).expect("one of them is set");
        let password_hash = hash_password(password).await?;
        let secret = secrets::generate_secret();

        let secret_hash = secrets::digest(&secret);
        let record = user_record(caller.organization_id, account, &valid, &secret_hash, Some(&password_hash));
        let mut connection = self.store.pool().acquire().await.or_internal()?;
        let user = create::user(&mut connection, &record).await.map_err(|error| email_conflict(error, &valid.email))?;
        drop(connection);
        self.audit(caller.organization_id, Actor::of(caller), "user.created", format!("user:{}", user.id)).await?;
        Ok(CreatedUser {
            user,
            secret: RevealedSecret::new(secret.expose_secret().to_owned()),
            password: generated.map(|password| RevealedSecret::new(password.expose_secret().to_owned())),
        })
    }

    async fn update_user(
        &self,
        caller: &Caller,
        account: AccountId,
        user: UserId,
        patch: UserPatch,
    ) -> Result<User, HubError> {
        let existing = self.user_in_account(caller, account, user).await?;
        if !caller.is_admin() && caller.user_id != existing.id {
            return Err(HubError::Forbidden("Members may change only their own profile".into()));
        }
        if patch.email_address.is_none()
            && patch.first_name.is_none()
            && patch.last_name.is_none()
            && patch.phone.is_none()
        {
            return Err(HubError::BadRequest(
                "body: nothing to change; send emailAddress, firstName, lastName or phone".into(),
            ));
        }
        let email = patch.email_address.as_deref().map(|email| validate::email("emailAddress", email)).transpose()?;
        let first_name =
            patch.first_name.as_deref().map(|name| validate::name("firstName", name, NAME_LIMIT)).transpose()?;
        let last_name =
            patch.last_name.as_deref().map(|name| validate::name("lastName", name, NAME_LIMIT)).transpose()?;
        let phone = patch
            .phone
            .as_ref()
            .map(|phone| phone.as_deref().map(|phone| validate::phone("phone", phone)).transpose())
            .transpose()?;
        let change = ProfileChange {
            email: email.as_deref(),
            first_name: first_name.as_deref(),
            last_name: last_name.as_deref(),
            phone: phone.as_ref().map(|phone| phone.as_deref()),
        };
        let updated = self
            .store
            .update_profile(existing.id, &change)
            .await
            .map_err(|error| email_conflict(error, email.as_deref().unwrap_or_default()))?
            .ok_or_else(|| HubError::NotFound(format!("No user with id {user} in account {account}")))?;
        // A new phone is unconfirmed (the store marks it so) until a code sent to it is entered.
        let action = if updated.phone != existing.phone { "user.phone_changed" } else { "user.updated" };
        self.audit(caller.organization_id, Actor::of(caller), action, format!("user:{user}")).await?;
        Ok(updated)
    }

    async fn set_user_active(
        &self,
        caller: &Caller,
        account: AccountId,
        user: UserId,
        active: bool,
    ) -> Result<User, HubError> {
        let found = self.user_for_admin(caller, account, user, "disable or enable users").await?;
        if found.id == caller.user_id {
            return Err(HubError::BadRequest("active: you cannot disable yourself".into()));
        }
        let changed = self.store.set_user_active(found.id, active).await.or_internal()?.ok_or(HubError::Internal)?;
        self.call_cache.forget_all_callers();
        let action = if active { "user.enabled" } else { "user.disabled" };
        self.audit(caller.organization_id, Actor::of(caller), action, format!("user:{user}")).await?;
        Ok(changed)
    }

    async fn reset_two_factor(&self, caller: &Caller, account: AccountId, user: UserId) -> Result<User, HubError> {
        let found = self.user_for_admin(caller, account, user, "reset two-factor sign-in").await?;
        self.remove_second_factor(caller, &found).await?;
        self.store.user(user).await.or_internal()?.ok_or(HubError::Internal)
    }

    async fn rotate_user_secret(&self, caller: &Caller, grace_minutes: u32) -> Result<RevealedSecret, HubError> {
        self.rotate_secret(caller, Some(caller.user_id), grace_minutes).await
    }

    async fn rotate_organization_secret(
        &self,
        caller: &Caller,
        grace_minutes: u32,
    ) -> Result<RevealedSecret, HubError> {
        caller.require_admin("rotate the organization secret")?;
        self.rotate_secret(caller, None, grace_minutes).await
    }
}
