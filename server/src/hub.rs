//! The hub service: Tether's operations over storage and the vault, behind the `Hub` interface both doors call.

mod call_cache;
mod credentials;
mod elements;
pub mod events;
mod instances;
pub mod oauth;
mod proxy;
mod templates;
pub mod tokens;
mod two_factor;

use crate::catalog::{Catalog, HostPolicy};
use crate::secrets::{self, MIN_PASSWORD_CHARS};
use crate::store::audit::{AuditEntry, AuditFilter, SIGN_IN_ACTOR_PREFIX};
use crate::store::tenants::{ProfileChange, UserRecord, create};
use crate::store::{Store, StoreError};
use crate::telemetry::current_request_id;
use crate::token_client::TokenClient;
use crate::validate;
use crate::vault::Vault;
use app::catalog::{Element, ElementCard, ElementDefinition, ElementPage, ElementQuery};
use app::error::HubError;
use app::instances::{
    ConsoleAuthentication, ConsoleNext, Instance, InstanceConfigurationItem, InstanceId, InstancePatch, InstanceQuery,
    InstanceTarget, NewInstance, NewOAuthApp, OAuthApp, OAuthCallback, TryRequest, TryResponse,
};
use app::oauth::{AuthorizationRequest, AuthorizationUrl};
use app::service::{ApiCredentials, Caller, ConsoleSession, Hub, ProviderCall, SignInStep};
use app::two_factor::{CodePrompt, RecoveryCodes, TotpEnrolment, TwoFactorMethod, TwoFactorStatus};
use app::types::{
    Account, AccountId, AuditLogEntry, AuditQuery, ConsoleIdentity, CreatedUser, NewUser, Organization, OrganizationId,
    RevealedSecret, Role, User, UserId, UserPatch,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

/// Logs an unexpected failure's detail, once, here, and answers the generic `HubError::Internal`.
pub fn internal_error(error: impl std::fmt::Display) -> HubError {
    tracing::error!(%error, "internal error");
    HubError::Internal
}

/// Turns an unexpected failure into `HubError::Internal` through [`internal_error`].
pub trait OrInternal<T> {
    fn or_internal(self) -> Result<T, HubError>;
}

impl<T, E: std::fmt::Display> OrInternal<T> for Result<T, E> {
    fn or_internal(self) -> Result<T, HubError> {
        self.map_err(internal_error)
    }
}

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

/// How many of the newest notices the console shows.
const NOTICES_SHOWN: i64 = 200;

/// How many audit records a page holds unless the caller asks for another size, and at most.
const AUDIT_PAGE_SIZE: u32 = 50;
const AUDIT_PAGE_SIZE_MAX: u32 = 200;

/// The hub's implementation over a [`Store`] and a [`Vault`].
pub struct HubService {
    store: Store,
    vault: Vault,
    catalog: Catalog,
    settings: HubSettings,
    token_client: TokenClient,
    refresh_locks: tokens::RefreshLocks,
    /// The one guarded client for every request made on a tenant's behalf.
    outbound: crate::outbound::Outbound,
    /// Names this process in refresh leases.
    node_id: String,
    /// Callers and provider calls resolved lately; every write that changes one must forget it.
    call_cache: call_cache::CallCache,
    /// Wakes this node's deliverer when events are queued here, so they need not wait for its next tick.
    deliveries_queued: Arc<tokio::sync::Notify>,
    /// Sends sign-in codes by text message.
    sms: Box<dyn crate::sms::SmsSender>,
}

/// The configuration the hub's operations follow.
#[derive(Clone, Debug)]
pub struct HubSettings {
    pub session_ttl: chrono::Duration,
    /// Which hosts custom elements may name.
    pub element_hosts: HostPolicy,
    /// Where users reach Tether (`public_url`), for the console's OAuth callback; else the request's own origin.
    pub public_url: Option<String>,
    /// How close to its expiry an access token is refreshed before a proxied call.
    pub refresh_margin: chrono::Duration,
    /// How many transient refresh failures in a row disable an instance.
    pub refresh_attempts: u32,
    /// The wait between those attempts.
    pub refresh_retry: std::time::Duration,
    /// How long a call to a token endpoint may take.
    pub token_timeout: std::time::Duration,
    /// How long a node holds an instance's refresh lease: longer than any token request it makes under it.
    pub refresh_lease: std::time::Duration,
    /// How long a node keeps an API caller or a resolved provider call; zero keeps none.
    pub call_cache_ttl: std::time::Duration,
    /// The shortest poll interval an instance may ask for.
    pub poll_min_interval: std::time::Duration,
    /// Where sign-in codes sent by text message go.
    pub sms: crate::sms::SmsRoute,
}

impl HubSettings {
    pub fn from_config(config: &crate::config::Config) -> HubSettings {
        HubSettings {
            session_ttl: chrono::Duration::hours(config.session_ttl_hours),
            element_hosts: if config.allow_private_network { HostPolicy::AllowPrivate } else { HostPolicy::PublicOnly },
            public_url: config.public_url.as_ref().map(|url| url.trim_end_matches('/').to_owned()),
            refresh_margin: chrono::Duration::seconds(config.refresh_margin_seconds),
            refresh_attempts: config.refresh_attempts,
            refresh_retry: std::time::Duration::from_secs_f64(config.refresh_retry_seconds),
            token_timeout: std::time::Duration::from_secs(config.refresh_timeout_seconds),
            refresh_lease: std::time::Duration::from_secs(config.refresh_timeout_seconds + 5),
            call_cache_ttl: std::time::Duration::from_secs_f64(config.call_cache_seconds),
            poll_min_interval: std::time::Duration::from_secs_f64(config.poll_min_interval_seconds),
            sms: match &config.sms_url {
                Some(url) => crate::sms::SmsRoute::Http { url: url.clone(), token: config.sms_token.clone() },
                None => crate::sms::SmsRoute::Outbox,
            },
        }
    }
}

impl HubService {
    pub fn new(
        store: Store,
        vault: Vault,
        catalog: Catalog,
        settings: HubSettings,
        outbound: crate::outbound::Outbound,
    ) -> HubService {
        let token_client = TokenClient::new(settings.token_timeout, outbound.clone());
        let call_cache = call_cache::CallCache::new(settings.call_cache_ttl);
        let sms = settings.sms.sender(store.clone());
        HubService {
            sms,
            store,
            vault,
            catalog,
            settings,
            token_client,
            refresh_locks: tokens::RefreshLocks::default(),
            outbound,
            node_id: format!("{}-{}", std::process::id(), secrets::generate_secret().expose_secret()),
            call_cache,
            deliveries_queued: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Notified whenever this node queues events for delivery.
    pub fn deliveries_queued(&self) -> Arc<tokio::sync::Notify> {
        self.deliveries_queued.clone()
    }

    /// The guarded client every request on a tenant's behalf goes through.
    pub fn outbound(&self) -> &crate::outbound::Outbound {
        &self.outbound
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// How this process names itself in leases.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Opens a console session for a caller who passed every sign-in step, and records it.
    async fn open_session(&self, caller: Caller) -> Result<ConsoleSession, HubError> {
        let token = secrets::generate_secret();
        let expires = chrono::Utc::now() + self.settings.session_ttl;
        self.store
            .insert_session(&secrets::digest(&token), caller.user_id, expires.timestamp_millis())
            .await
            .or_internal()?;
        self.store.record_login(caller.user_id).await.or_internal()?;
        let actor = format!("user:{}", caller.user_id);
        self.audit(caller.organization_id, actor.clone(), "session.opened", actor).await?;
        Ok(ConsoleSession { caller, token })
    }

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

    async fn audit(
        &self,
        organization: OrganizationId,
        actor: String,
        action: &str,
        target: String,
    ) -> Result<(), HubError> {
        self.store
            .record_audit(&AuditEntry {
                organization_id: Some(organization),
                actor,
                action: action.into(),
                target,
                request_id: current_request_id(),
            })
            .await
            .or_internal()
    }

    /// Replaces a user's secret (or the organization's, for `None`), forgets cached callers, and records it.
    async fn rotate_secret(&self, caller: &Caller, user: Option<UserId>) -> Result<RevealedSecret, HubError> {
        let secret = secrets::generate_secret();
        self.store.rotate_api_secret(caller.organization_id, user, &secrets::digest(&secret)).await.or_internal()?;
        self.call_cache.forget_all_callers();
        let target = match user {
            Some(user) => format!("user:{user}"),
            None => format!("organization:{}", caller.organization_id),
        };
        self.audit(caller.organization_id, format!("user:{}", caller.user_id), "secret.rotated", target).await?;
        Ok(RevealedSecret::new(secret.expose_secret().to_owned()))
    }

    /// Records a refused sign-in (or the lockout it started) under the organization of the user the email
    /// names, if it names one; the actor is the email typed, never the password. Those naming no user are forgotten
    /// with their failure counts (`Store::record_sign_in_failure`).
    async fn audit_sign_in_refusal(
        &self,
        organization: Option<OrganizationId>,
        email: &str,
        action: &str,
    ) -> Result<(), HubError> {
        let actor = format!("{SIGN_IN_ACTOR_PREFIX}{email}");
        let entry = AuditEntry {
            organization_id: organization,
            target: actor.clone(),
            actor,
            action: action.into(),
            request_id: current_request_id(),
        };
        self.store.record_audit(&entry).await.or_internal()
    }

    /// Makes an organization with its default account and an admin user, in one transaction.
    pub async fn create_organization(
        &self,
        name: &str,
        admin_email: &str,
        actor: &str,
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

        let mut transaction = self.store.pool().begin().await.or_internal()?;
        let organization_id = create::organization(&mut transaction, &name, &secrets::digest(&organization_secret))
            .await
            .or_internal()?;
        let account_id = create::account(&mut transaction, organization_id, "Default", true).await.or_internal()?;
        let secret_hash = secrets::digest(&user_secret);
        let record = user_record(organization_id, account_id, &admin, &secret_hash, Some(&password_hash));
        let user =
            create::user(&mut transaction, &record).await.map_err(|error| email_conflict(error, &admin.email))?;
        transaction.commit().await.or_internal()?;

        self.audit(organization_id, actor.into(), "organization.created", format!("organization:{organization_id}"))
            .await?;
        let organization = self.store.organization(organization_id).await.or_internal()?.ok_or(HubError::Internal)?;
        let account = self.store.account(organization_id, account_id).await.or_internal()?.ok_or(HubError::Internal)?;
        Ok(NewOrganization { organization, account, admin: user, organization_secret, user_secret, password })
    }

    /// Sets a new random password for a user, ends their sessions, and returns the password once.
    pub async fn reset_password(&self, email: &str, actor: &str) -> Result<SecretString, HubError> {
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
        self.audit(organization, actor.into(), "user.password_reset", format!("user:{}", user.id)).await?;
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

/// A uniqueness conflict becomes `Conflict` with `message`; anything else is internal.
fn conflict_or_internal(error: StoreError, message: impl FnOnce() -> String) -> HubError {
    match error {
        StoreError::Conflict => HubError::Conflict(message()),
        other => internal_error(other),
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

async fn verify_password(password: &SecretString, hash: String) -> Result<bool, HubError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || secrets::verify_password(&password, &hash)).await.or_internal()
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

#[async_trait::async_trait]
impl Hub for HubService {
    async fn authenticate(&self, credentials: &ApiCredentials) -> Result<Caller, HubError> {
        let (user, organization) = (secrets::digest(&credentials.user), secrets::digest(&credentials.organization));
        if let Some(caller) = self.call_cache.caller(&user, &organization) {
            return Ok(caller);
        }
        let since = self.call_cache.generation();
        let caller =
            self.store.caller_by_secret_hashes(&user, &organization).await.or_internal()?.ok_or_else(|| {
                HubError::Unauthorized("Invalid Organization or User secret, or the user is inactive".into())
            })?;
        self.call_cache.keep_caller(since, user, organization, caller.clone());
        Ok(caller)
    }

    async fn sign_in(&self, email: &str, password: &SecretString) -> Result<SignInStep, HubError> {
        let wrong = || HubError::Unauthorized("Wrong email or password".into());
        let email = email.trim().to_lowercase();
        let now = crate::store::now_millis();
        if let Some(until) = self.store.sign_in_locked_until(&email, now).await.or_internal()? {
            return Err(locked_out(until, now));
        }
        let candidate = self.store.sign_in_candidate(&email).await.or_internal()?;
        let stored_hash = candidate
            .as_ref()
            .and_then(|candidate| candidate.password_hash.clone())
            .unwrap_or_else(|| secrets::decoy_password_hash().to_owned());
        let matches = verify_password(password, stored_hash).await?;
        let organization = candidate.as_ref().map(|candidate| candidate.caller.organization_id);
        let candidate =
            match candidate.filter(|candidate| matches && candidate.active && candidate.password_hash.is_some()) {
                Some(candidate) => candidate,
                None => {
                    self.audit_sign_in_refusal(organization, &email, "session.refused").await?;
                    if let Some(until) = self.store.record_sign_in_failure(&email, now).await.or_internal()? {
                        self.audit_sign_in_refusal(organization, &email, "session.locked").await?;
                        tracing::warn!(
                            "sign-in locked after {} wrong passwords in a row",
                            crate::store::sign_in_failures::FAILURES_BEFORE_LOCKOUT
                        );
                        return Err(locked_out(until, now));
                    }
                    return Err(wrong());
                }
            };
        self.after_password(candidate.caller, &email).await
    }

    async fn code_prompt(&self, token: &SecretString) -> Result<CodePrompt, HubError> {
        self.sign_in_prompt(token).await
    }

    async fn finish_sign_in(&self, token: &SecretString, code: &SecretString) -> Result<ConsoleSession, HubError> {
        self.finish_second_step(token, code).await
    }

    async fn resume_session(&self, token: &SecretString) -> Result<Caller, HubError> {
        self.store
            .session_caller(&secrets::digest(token))
            .await
            .or_internal()?
            .ok_or_else(|| HubError::Unauthorized("Your session has ended; sign in again".into()))
    }

    async fn sign_out(&self, token: &SecretString) -> Result<(), HubError> {
        self.store.delete_session(&secrets::digest(token)).await.or_internal()
    }

    async fn identity(&self, caller: &Caller) -> Result<ConsoleIdentity, HubError> {
        let user = self.store.user(caller.user_id).await.or_internal()?.ok_or(HubError::Internal)?;
        let organization =
            self.store.organization(caller.organization_id).await.or_internal()?.ok_or(HubError::Internal)?;
        Ok(ConsoleIdentity { user, organization })
    }

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
        self.audit(
            caller.organization_id,
            format!("user:{}", caller.user_id),
            "user.created",
            format!("user:{}", user.id),
        )
        .await?;
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
        self.audit(caller.organization_id, format!("user:{}", caller.user_id), action, format!("user:{user}")).await?;
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
        self.audit(caller.organization_id, format!("user:{}", caller.user_id), action, format!("user:{user}")).await?;
        Ok(changed)
    }

    async fn reset_two_factor(&self, caller: &Caller, account: AccountId, user: UserId) -> Result<User, HubError> {
        let found = self.user_for_admin(caller, account, user, "reset two-factor sign-in").await?;
        self.remove_second_factor(caller, &found).await?;
        self.store.user(user).await.or_internal()?.ok_or(HubError::Internal)
    }

    async fn two_factor_status(&self, caller: &Caller) -> Result<TwoFactorStatus, HubError> {
        self.two_factor_of(caller).await
    }

    async fn begin_totp_enrolment(&self, caller: &Caller) -> Result<TotpEnrolment, HubError> {
        self.start_totp_enrolment(caller).await
    }

    async fn begin_phone_enrolment(&self, caller: &Caller, phone: &str) -> Result<(), HubError> {
        self.start_phone_enrolment(caller, phone).await
    }

    async fn confirm_enrolment(
        &self,
        caller: &Caller,
        method: TwoFactorMethod,
        code: &SecretString,
    ) -> Result<RecoveryCodes, HubError> {
        self.finish_enrolment(caller, method, code).await
    }

    async fn list_elements(&self, caller: &Caller, query: ElementQuery) -> Result<ElementPage, HubError> {
        self.list_visible_elements(caller, query).await
    }

    async fn element(&self, caller: &Caller, key_or_id: &str) -> Result<Element, HubError> {
        Ok(self.visible_element(caller, key_or_id).await?.to_element())
    }

    async fn element_cards(&self, caller: &Caller) -> Result<Vec<ElementCard>, HubError> {
        self.visible_element_cards(caller).await
    }

    async fn create_element(&self, caller: &Caller, definition: ElementDefinition) -> Result<Element, HubError> {
        self.create_custom_element(caller, definition).await
    }

    async fn replace_element(
        &self,
        caller: &Caller,
        key_or_id: &str,
        definition: ElementDefinition,
    ) -> Result<Element, HubError> {
        self.replace_custom_element(caller, key_or_id, definition).await
    }

    async fn delete_element(&self, caller: &Caller, key_or_id: &str) -> Result<(), HubError> {
        self.delete_custom_element(caller, key_or_id).await
    }

    async fn authorization_url(
        &self,
        caller: &Caller,
        key_or_id: &str,
        request: AuthorizationRequest,
    ) -> Result<AuthorizationUrl, HubError> {
        self.build_authorization_url(caller, key_or_id, request).await
    }

    async fn create_instance(
        &self,
        caller: &Caller,
        element_in_path: Option<&str>,
        new_instance: NewInstance,
    ) -> Result<Instance, HubError> {
        self.create_new_instance(caller, element_in_path, new_instance).await
    }

    async fn list_instances(&self, caller: &Caller, query: InstanceQuery) -> Result<Vec<Instance>, HubError> {
        self.list_visible_instances(caller, query).await
    }

    async fn instance(&self, caller: &Caller, target: &InstanceTarget) -> Result<Instance, HubError> {
        self.read_instance(caller, target).await
    }

    async fn reveal_instance_token(&self, caller: &Caller, id: InstanceId) -> Result<String, HubError> {
        let instance = self.read_instance(caller, &InstanceTarget::Id(id)).await?;
        let actor = format!("user:{}", caller.user_id);
        self.audit(caller.organization_id, actor, "instance.token_viewed", format!("instance:{id}")).await?;
        Ok(instance.token.as_str().to_owned())
    }

    async fn update_instance(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        patch: InstancePatch,
    ) -> Result<Instance, HubError> {
        self.patch_instance(caller, target, patch).await
    }

    async fn delete_instance(&self, caller: &Caller, target: &InstanceTarget) -> Result<(), HubError> {
        self.remove_instance(caller, target).await
    }

    async fn set_instance_enabled(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        enabled: bool,
    ) -> Result<Instance, HubError> {
        self.change_instance_enabled(caller, target, enabled).await
    }

    async fn instance_configuration(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
    ) -> Result<Vec<InstanceConfigurationItem>, HubError> {
        self.configuration_items(caller, target).await
    }

    async fn update_instance_configuration(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        item: &str,
        value: serde_json::Value,
    ) -> Result<InstanceConfigurationItem, HubError> {
        self.change_configuration_item(caller, target, item, value).await
    }

    async fn oauth_app(&self, caller: &Caller, key_or_id: &str) -> Result<OAuthApp, HubError> {
        self.saved_app(caller, key_or_id).await
    }

    async fn oauth_apps(&self, caller: &Caller) -> Result<Vec<OAuthApp>, HubError> {
        self.saved_apps(caller).await
    }

    async fn save_oauth_app(&self, caller: &Caller, key_or_id: &str, app: NewOAuthApp) -> Result<OAuthApp, HubError> {
        self.save_app(caller, key_or_id, app).await
    }

    async fn delete_oauth_app(&self, caller: &Caller, key_or_id: &str) -> Result<(), HubError> {
        self.delete_saved_app(caller, key_or_id).await
    }

    async fn begin_console_authentication(
        &self,
        caller: &Caller,
        session: &SecretString,
        console_origin: &str,
        form: ConsoleAuthentication,
    ) -> Result<ConsoleNext, HubError> {
        self.begin_console_flow(caller, session, console_origin, form).await
    }

    async fn provider_call(&self, caller: &Caller, token: &SecretString, hub: &str) -> Result<ProviderCall, HubError> {
        self.prepare_provider_call(caller, token, hub).await
    }

    async fn provider_refused(
        &self,
        caller: &Caller,
        token: &SecretString,
        call: &ProviderCall,
    ) -> Result<ProviderCall, HubError> {
        self.refresh_refused_call(caller, token, call).await
    }

    async fn try_request(&self, caller: &Caller, id: InstanceId, request: TryRequest) -> Result<TryResponse, HubError> {
        self.try_instance_request(caller, id, request).await
    }

    async fn list_events(
        &self,
        caller: &Caller,
        instance: Option<&InstanceTarget>,
        query: app::events::EventQuery,
    ) -> Result<Vec<app::events::Event>, HubError> {
        self.list_instance_events(caller, instance, query).await
    }

    async fn event(
        &self,
        caller: &Caller,
        instance: Option<&InstanceTarget>,
        event_id: &str,
    ) -> Result<app::events::Event, HubError> {
        self.instance_event(caller, instance, event_id).await
    }

    async fn redeliver_events(
        &self,
        caller: &Caller,
        instance: Option<&InstanceTarget>,
        event_id: Option<&str>,
    ) -> Result<app::events::Redelivery, HubError> {
        self.redeliver_instance_events(caller, instance, event_id).await
    }

    async fn receive_provider_webhook(
        &self,
        element_key: &str,
        instance: InstanceId,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<usize, HubError> {
        self.take_provider_webhook(element_key, instance, headers, body).await
    }

    async fn rotate_user_secret(&self, caller: &Caller) -> Result<RevealedSecret, HubError> {
        self.rotate_secret(caller, Some(caller.user_id)).await
    }

    async fn rotate_organization_secret(&self, caller: &Caller) -> Result<RevealedSecret, HubError> {
        caller.require_admin("rotate the organization secret")?;
        self.rotate_secret(caller, None).await
    }

    async fn audit_log(&self, caller: &Caller, query: AuditQuery) -> Result<Vec<AuditLogEntry>, HubError> {
        caller.require_admin("read the audit log")?;
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from >= to
        {
            return Err(HubError::BadRequest("from: must be before to".into()));
        }
        let page_size = i64::from(match query.page_size {
            0 => AUDIT_PAGE_SIZE,
            size => size.min(AUDIT_PAGE_SIZE_MAX),
        });
        fn text(value: &Option<String>) -> Option<&str> {
            value.as_deref().map(str::trim).filter(|value| !value.is_empty())
        }
        let filter = AuditFilter {
            actor: text(&query.actor),
            action: text(&query.action),
            from: query.from.map(|at| at.timestamp_millis()),
            to: query.to.map(|at| at.timestamp_millis()),
        };
        let offset = i64::from(query.page.max(1) - 1) * page_size;
        let records = self
            .store
            .filtered_audit_records(caller.organization_id, &filter, page_size, offset)
            .await
            .or_internal()?;
        Ok(records
            .into_iter()
            .map(|record| AuditLogEntry {
                at: record.at,
                actor: record.entry.actor,
                action: record.entry.action,
                target: record.entry.target,
                request_id: record.entry.request_id,
            })
            .collect())
    }

    async fn notices(&self, caller: &Caller) -> Result<Vec<app::instances::Notice>, HubError> {
        let records = self.store.notifications(caller.organization_id, NOTICES_SHOWN).await.or_internal()?;
        let time = crate::store::from_millis;
        Ok(records
            .into_iter()
            .map(|record| app::instances::Notice {
                id: record.id,
                kind: record.notice.kind,
                instance_id: record.notice.instance_id,
                recipients: record.notice.recipients,
                subject: record.notice.subject,
                body: record.notice.body,
                channel: record.channel,
                created_at: time(record.created_at),
                sent_at: record.sent_at.map(time),
                attempts: record.attempts,
                last_error: record.last_error,
            })
            .collect())
    }

    fn shortest_poll_interval_minutes(&self) -> f64 {
        self.settings.poll_min_interval.as_secs_f64() / 60.0
    }

    fn console_callback_url(&self, console_origin: &str) -> String {
        let base = self.settings.public_url.as_deref().unwrap_or(console_origin);
        format!("{base}{}", oauth::CONSOLE_CALLBACK_PATH)
    }

    async fn complete_console_authorization(
        &self,
        caller: &Caller,
        session: &SecretString,
        callback: OAuthCallback,
    ) -> Result<InstanceId, HubError> {
        self.complete_console_flow(caller, session, callback).await
    }
}

/// The answer while sign-in for an email is locked after too many wrong passwords.
fn locked_out(until: i64, now: i64) -> HubError {
    let seconds = ((until - now) as f64 / 1000.0).ceil().max(1.0) as u64;
    let minutes = seconds.div_ceil(60);
    HubError::TooManyRequests {
        message: format!("Too many wrong passwords in a row; sign-in is locked for {minutes} more minute(s)"),
        retry_after_seconds: seconds,
    }
}
