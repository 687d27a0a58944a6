//! The Identity capability: API secrets, console passwords with their lockout, the second step of a two-factor
//! sign-in, and console sessions.

use super::codes::CHALLENGE_MILLIS;
use super::codes::CodeCheck;
use super::codes::code_prompt;
use super::errors::OrInternal;
use super::service::HubService;
use crate::security::secrets;
use crate::store::audit::{Actor, AuditEntry};
use crate::store::now_millis;
use crate::store::two_factor::{Challenge, ChallengePurpose, NewChallenge};
use crate::telemetry::current_request_id;
use app::error::HubError;
use app::hub::{ApiCredentials, Caller, ConsoleSession, Identity, SignInStep};
use app::two_factor::{CodePrompt, TwoFactorMethod};
use app::types::{ConsoleIdentity, OrganizationId};
use secrecy::SecretString;

async fn verify_password(password: &SecretString, hash: String) -> Result<bool, HubError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || secrets::verify_password(&password, &hash)).await.or_internal()
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

/// Wrong codes one challenge takes before it is dropped; each also counts toward the email's sign-in lockout.
pub const WRONG_CODES_PER_CHALLENGE: i64 = 5;

impl HubService {
    /// Opens a console session for a caller who passed every sign-in step, and records it.
    async fn open_session(&self, caller: Caller) -> Result<ConsoleSession, HubError> {
        let token = secrets::generate_secret();
        let expires = chrono::Utc::now() + self.settings.session_ttl;
        self.store
            .insert_session(&secrets::digest(&token), caller.user_id, expires.timestamp_millis())
            .await
            .or_internal()?;
        self.store.record_login(caller.user_id).await.or_internal()?;
        let actor = Actor::of(&caller);
        self.audit(caller.organization_id, actor.clone(), "session.opened", actor.to_string()).await?;
        Ok(ConsoleSession { caller, token })
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
        let actor = Actor::SignIn(email.to_owned()).to_string();
        let entry = AuditEntry {
            organization_id: organization,
            target: actor.clone(),
            actor,
            action: action.into(),
            request_id: current_request_id(),
        };
        self.store.record_audit(&entry).await.or_internal()
    }

    /// After a right password: opens the session, or, for a user with a second factor, starts the second step
    /// (sending the code first, for a phone). The email's count of failures ends only with an open session, so
    /// wrong codes add up across sign-ins.
    pub(super) async fn after_password(&self, caller: Caller, email: &str) -> Result<SignInStep, HubError> {
        let factor = self.store.second_factor(caller.user_id).await.or_internal()?.ok_or(HubError::Internal)?;
        let Some(method) = factor.method else {
            self.store.clear_sign_in_failures(email).await.or_internal()?;
            return Ok(SignInStep::Done(self.open_session(caller).await?));
        };
        let mut sealed_code = None;
        let phone = factor.phone.filter(|_| method == TwoFactorMethod::Phone);
        if let Some(phone) = &phone {
            sealed_code = Some(self.send_code(&caller, phone, "sign-in").await?);
        }
        let token = secrets::generate_secret();
        self.store
            .insert_challenge(&NewChallenge {
                token_hash: Some(&secrets::digest(&token)),
                user: caller.user_id,
                purpose: ChallengePurpose::SignIn,
                method,
                sealed_secret: sealed_code,
                phone: phone.as_deref(),
                expires_at: now_millis() + CHALLENGE_MILLIS,
            })
            .await
            .or_internal()?;
        let prompt = code_prompt(method, phone.as_deref(), factor.phone_confirmed);
        Ok(SignInStep::CodeNeeded { token, prompt })
    }

    async fn open_sign_in_challenge(&self, token: &SecretString) -> Result<Challenge, HubError> {
        let expired = || HubError::Unauthorized("This sign-in has expired; enter your password again".into());
        let challenge =
            self.store.sign_in_challenge(&secrets::digest(token)).await.or_internal()?.ok_or_else(expired)?;
        if !challenge.usable {
            self.store.delete_challenge(challenge.id).await.or_internal()?;
            return Err(expired());
        }
        Ok(challenge)
    }

    /// Counts and records a wrong second-step code; answers the error to give.
    async fn refuse_sign_in_code(&self, challenge: &Challenge, now: i64) -> Result<HubError, HubError> {
        let organization = Some(challenge.caller.organization_id);
        self.audit_sign_in_refusal(organization, &challenge.email, "session.code_refused").await?;
        if let Some(until) = self.store.record_sign_in_failure(&challenge.email, now).await.or_internal()? {
            self.store.delete_challenge(challenge.id).await.or_internal()?;
            self.audit_sign_in_refusal(organization, &challenge.email, "session.locked").await?;
            return Ok(locked_out(until, now));
        }
        if self.store.count_wrong_code(challenge.id).await.or_internal()? >= WRONG_CODES_PER_CHALLENGE {
            self.store.delete_challenge(challenge.id).await.or_internal()?;
            return Ok(HubError::Unauthorized("Too many wrong codes; enter your password again".into()));
        }
        Ok(HubError::Unauthorized("That code is not right".into()))
    }
}

#[async_trait::async_trait]
impl Identity for HubService {
    async fn authenticate(&self, credentials: &ApiCredentials) -> Result<Caller, HubError> {
        let (user, organization) = (secrets::digest(&credentials.user), secrets::digest(&credentials.organization));
        if let Some(caller) = self.call_cache.caller(&user, &organization) {
            return Ok(caller);
        }
        let since = self.call_cache.generation();
        let caller = self
            .store
            .caller_by_secret_hashes(&user, &organization, self.clock().now_millis())
            .await
            .or_internal()?
            .ok_or_else(|| {
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

    /// What the half-done sign-in `token` asks for.
    async fn code_prompt(&self, token: &SecretString) -> Result<CodePrompt, HubError> {
        let challenge = self.open_sign_in_challenge(token).await?;
        let factor =
            self.store.second_factor(challenge.caller.user_id).await.or_internal()?.ok_or(HubError::Internal)?;
        Ok(code_prompt(challenge.method, challenge.phone.as_deref(), factor.phone_confirmed))
    }

    /// Checks the second step's code and opens the session. Wrong codes count toward the email's lockout, and a
    /// challenge takes only a few before the password must be entered again.
    async fn finish_sign_in(
        &self,
        token: &SecretString,
        code: &SecretString,
    ) -> Result<app::hub::ConsoleSession, HubError> {
        let challenge = self.open_sign_in_challenge(token).await?;
        let now = now_millis();
        if let Some(until) = self.store.sign_in_locked_until(&challenge.email, now).await.or_internal()? {
            return Err(locked_out(until, now));
        }
        let check = self.check_code(&challenge, code, true).await?;
        if matches!(check, CodeCheck::Wrong) {
            return Err(self.refuse_sign_in_code(&challenge, now).await?);
        }
        if !self.store.delete_challenge(challenge.id).await.or_internal()? {
            return Err(HubError::Unauthorized("This sign-in was already finished; sign in again".into()));
        }
        let caller = challenge.caller;
        let actor = Actor::of(&caller);
        if let (CodeCheck::Code { .. }, Some(phone)) = (&check, &challenge.phone)
            && self.store.confirm_phone(caller.user_id, phone).await.or_internal()?
        {
            self.audit(caller.organization_id, actor.clone(), "user.phone_confirmed", actor.to_string()).await?;
        }
        if matches!(check, CodeCheck::RecoveryCode) {
            self.audit(caller.organization_id, actor.clone(), "two_factor.recovery_code_used", actor.to_string())
                .await?;
        }
        self.store.clear_sign_in_failures(&challenge.email).await.or_internal()?;
        self.open_session(caller).await
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
}
