//! Two-factor sign-in: the second step after a right password, enrolling an authenticator app or a phone,
//! recovery codes, and an admin's reset.

use super::{HubService, OrInternal, locked_out};
use crate::secrets;
use crate::sms::TextMessage;
use crate::store::now_millis;
use crate::store::two_factor::{Challenge, ChallengePurpose, Enrolment, NewChallenge};
use crate::validate;
use app::error::HubError;
use app::service::{Caller, SignInStep};
use app::two_factor::{CodePrompt, RecoveryCodes, TotpEnrolment, TwoFactorMethod, TwoFactorStatus};
use app::types::{RevealedSecret, User};
use base64::Engine as _;
use rand::Rng;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use totp_rs::{Algorithm, TOTP};

/// How long a code, a half-done sign-in or an enrolment stays open.
const CHALLENGE_MILLIS: i64 = 10 * 60 * 1000;
/// Wrong codes one challenge takes before it is dropped; each also counts toward the email's sign-in lockout.
pub const WRONG_CODES_PER_CHALLENGE: i64 = 5;
/// The least time between two texts that enrol a phone, so the form cannot be used to flood a number.
const TEXT_INTERVAL_MILLIS: i64 = 30 * 1000;
/// How many recovery codes an enrolment makes.
const RECOVERY_CODE_COUNT: usize = 10;
/// TOTP as authenticator apps expect it: SHA-1, 6 digits, 30-second steps.
const TOTP_STEP_SECONDS: u64 = 30;
const TOTP_DIGITS: usize = 6;
/// The name authenticator apps list the entry under.
const TOTP_ISSUER: &str = "Tether";

/// What a code turned out to be.
enum CodeCheck {
    /// The method's own code; for TOTP, with the time step it matched.
    Code {
        totp_step: Option<i64>,
    },
    /// One of the user's unused recovery codes, now used up.
    RecoveryCode,
    Wrong,
}

impl HubService {
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

    /// What the half-done sign-in `token` asks for.
    pub(super) async fn sign_in_prompt(&self, token: &SecretString) -> Result<CodePrompt, HubError> {
        let challenge = self.open_sign_in_challenge(token).await?;
        let factor =
            self.store.second_factor(challenge.caller.user_id).await.or_internal()?.ok_or(HubError::Internal)?;
        Ok(code_prompt(challenge.method, challenge.phone.as_deref(), factor.phone_confirmed))
    }

    /// Checks the second step's code and opens the session. Wrong codes count toward the email's lockout, and a
    /// challenge takes only a few before the password must be entered again.
    pub(super) async fn finish_second_step(
        &self,
        token: &SecretString,
        code: &SecretString,
    ) -> Result<app::service::ConsoleSession, HubError> {
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
        let actor = format!("user:{}", caller.user_id);
        if let (CodeCheck::Code { .. }, Some(phone)) = (&check, &challenge.phone)
            && self.store.confirm_phone(caller.user_id, phone).await.or_internal()?
        {
            self.audit(caller.organization_id, actor.clone(), "user.phone_confirmed", actor.clone()).await?;
        }
        if matches!(check, CodeCheck::RecoveryCode) {
            self.audit(caller.organization_id, actor.clone(), "two_factor.recovery_code_used", actor).await?;
        }
        self.store.clear_sign_in_failures(&challenge.email).await.or_internal()?;
        self.open_session(caller).await
    }

    pub(super) async fn two_factor_of(&self, caller: &Caller) -> Result<TwoFactorStatus, HubError> {
        let factor = self.store.second_factor(caller.user_id).await.or_internal()?.ok_or(HubError::Internal)?;
        Ok(TwoFactorStatus {
            method: factor.method,
            phone: factor.phone,
            phone_confirmed: factor.phone_confirmed,
            recovery_codes_left: self.store.recovery_codes_left(caller.user_id).await.or_internal()?,
        })
    }

    /// A new TOTP secret, kept sealed with the enrolment until a code from it confirms it.
    pub(super) async fn start_totp_enrolment(&self, caller: &Caller) -> Result<TotpEnrolment, HubError> {
        let user = self.store.user(caller.user_id).await.or_internal()?.ok_or(HubError::Internal)?;
        let mut secret = [0u8; 20];
        OsRng.fill(&mut secret);
        let totp = TOTP::new(
            Algorithm::SHA1,
            TOTP_DIGITS,
            0,
            TOTP_STEP_SECONDS,
            secret.to_vec(),
            Some(TOTP_ISSUER.to_owned()),
            user.email_address,
        )
        .or_internal()?;
        let encoded = SecretString::from(totp.get_secret_base32());
        let qr = qrcode::QrCode::new(totp.get_url().as_bytes()).or_internal()?;
        let svg = qr.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build();
        let qr_code = format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg));
        self.store
            .insert_challenge(&NewChallenge {
                token_hash: None,
                user: caller.user_id,
                purpose: ChallengePurpose::Enrol,
                method: TwoFactorMethod::Totp,
                sealed_secret: Some(self.vault.seal(&encoded).or_internal()?),
                phone: None,
                expires_at: now_millis() + CHALLENGE_MILLIS,
            })
            .await
            .or_internal()?;
        Ok(TotpEnrolment {
            secret: RevealedSecret::new(encoded.expose_secret().to_owned()),
            qr_code: RevealedSecret::new(qr_code),
        })
    }

    /// Sends a code to the phone to enrol; confirming it makes that number the caller's.
    pub(super) async fn start_phone_enrolment(&self, caller: &Caller, phone: &str) -> Result<(), HubError> {
        let phone = validate::phone("phone", phone)?;
        let earlier = self.store.enrol_challenge(caller.user_id, TwoFactorMethod::Phone).await.or_internal()?;
        if let Some(wait) = earlier.map(|earlier| earlier.created_at + TEXT_INTERVAL_MILLIS - now_millis())
            && wait > 0
        {
            return Err(HubError::TooManyRequests {
                message: "A code was texted moments ago; wait a little before asking for another".into(),
                retry_after_seconds: (wait as u64).div_ceil(1000),
            });
        }
        let sealed_code = self.send_code(caller, &phone, "confirmation").await?;
        self.store
            .insert_challenge(&NewChallenge {
                token_hash: None,
                user: caller.user_id,
                purpose: ChallengePurpose::Enrol,
                method: TwoFactorMethod::Phone,
                sealed_secret: Some(sealed_code),
                phone: Some(&phone),
                expires_at: now_millis() + CHALLENGE_MILLIS,
            })
            .await
            .or_internal()
    }

    /// Confirms the pending enrolment of `method` with a code, turns it on, and makes new recovery codes.
    pub(super) async fn finish_enrolment(
        &self,
        caller: &Caller,
        method: TwoFactorMethod,
        code: &SecretString,
    ) -> Result<RecoveryCodes, HubError> {
        let challenge = self.store.enrol_challenge(caller.user_id, method).await.or_internal()?.ok_or_else(|| {
            HubError::BadRequest(format!("code: no {} enrolment is waiting; start again", method.label()))
        })?;
        let CodeCheck::Code { totp_step } = self.check_code(&challenge, code, false).await? else {
            if self.store.count_wrong_code(challenge.id).await.or_internal()? >= WRONG_CODES_PER_CHALLENGE {
                self.store.delete_challenge(challenge.id).await.or_internal()?;
                return Err(HubError::BadRequest("code: too many wrong codes; start the enrolment again".into()));
            }
            return Err(HubError::BadRequest("code: that code is not right".into()));
        };
        let totp = match (method, &challenge.sealed_secret, totp_step) {
            (TwoFactorMethod::Totp, Some(sealed), Some(step)) => {
                let secret = self.vault.unseal(sealed).await.or_internal()?;
                let stored =
                    self.vault.put(Some(caller.organization_id), "two_factor.totp", &secret).await.or_internal()?;
                Some((stored, step))
            }
            _ => None,
        };
        let (codes, hashes) = recovery_codes();
        let replaced = self
            .store
            .turn_on_two_factor(&Enrolment {
                user: caller.user_id,
                method,
                totp,
                phone: challenge.phone.as_deref(),
                recovery_code_hashes: &hashes,
            })
            .await
            .or_internal()?;
        if let Some(old) = replaced {
            self.vault.remove(old).await.or_internal()?;
        }
        let actor = format!("user:{}", caller.user_id);
        self.audit(caller.organization_id, actor.clone(), &format!("two_factor.enrolled.{}", method.as_str()), actor)
            .await?;
        Ok(RecoveryCodes { codes })
    }

    /// Turns a user's second factor off, as an admin does for someone who lost their device.
    pub(super) async fn remove_second_factor(&self, caller: &Caller, user: &User) -> Result<(), HubError> {
        if let Some(old) = self.store.reset_two_factor(user.id).await.or_internal()? {
            self.vault.remove(old).await.or_internal()?;
        }
        self.audit(
            caller.organization_id,
            format!("user:{}", caller.user_id),
            "two_factor.reset",
            format!("user:{}", user.id),
        )
        .await
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

    /// Checks a code against a challenge: the method's code, or, when `recovery` allows it, a recovery code.
    async fn check_code(
        &self,
        challenge: &Challenge,
        code: &SecretString,
        recovery: bool,
    ) -> Result<CodeCheck, HubError> {
        let typed: String = code.expose_secret().chars().filter(|c| !c.is_whitespace()).collect();
        if typed.len() == TOTP_DIGITS && typed.chars().all(|c| c.is_ascii_digit()) {
            return match challenge.method {
                TwoFactorMethod::Totp => self.check_totp(challenge, &typed).await,
                TwoFactorMethod::Phone => {
                    let Some(sealed) = &challenge.sealed_secret else { return Ok(CodeCheck::Wrong) };
                    let sent = self.vault.unseal(sealed).await.or_internal()?;
                    Ok(if constant_time_eq(sent.expose_secret(), &typed) {
                        CodeCheck::Code { totp_step: None }
                    } else {
                        CodeCheck::Wrong
                    })
                }
            };
        }
        let used = recovery
            && self
                .store
                .use_recovery_code(challenge.caller.user_id, &recovery_code_hash(&typed))
                .await
                .or_internal()?;
        Ok(if used { CodeCheck::RecoveryCode } else { CodeCheck::Wrong })
    }

    /// A TOTP code from the enrolment's sealed secret or the user's stored one, within a step either way of
    /// now. At sign-in each step is accepted once.
    async fn check_totp(&self, challenge: &Challenge, typed: &str) -> Result<CodeCheck, HubError> {
        let (secret, enrolling) = match &challenge.sealed_secret {
            Some(sealed) => (self.vault.unseal(sealed).await.or_internal()?, true),
            None => {
                let factor = self.store.second_factor(challenge.caller.user_id).await.or_internal()?;
                let Some(vault_id) = factor.and_then(|factor| factor.totp_vault_id) else {
                    return Ok(CodeCheck::Wrong);
                };
                (self.vault.use_secret(vault_id).await.or_internal()?, false)
            }
        };
        let Some(step) = matching_totp_step(&secret, typed, chrono::Utc::now().timestamp() as u64)? else {
            return Ok(CodeCheck::Wrong);
        };
        let step = step as i64;
        if !enrolling && !self.store.accept_totp_step(challenge.caller.user_id, step).await.or_internal()? {
            return Ok(CodeCheck::Wrong);
        }
        Ok(CodeCheck::Code { totp_step: Some(step) })
    }

    /// Sends a new six-digit code by text message; answers it sealed, for the challenge to keep.
    async fn send_code(&self, caller: &Caller, phone: &str, purpose: &str) -> Result<Vec<u8>, HubError> {
        let code = SecretString::from(format!("{:06}", OsRng.gen_range(0..1_000_000u32)));
        let message = TextMessage {
            organization: caller.organization_id,
            to: phone.to_owned(),
            body: SecretString::from(format!(
                "Your Tether {purpose} code is {}. It expires in {} minutes.",
                code.expose_secret(),
                CHALLENGE_MILLIS / 60_000
            )),
        };
        self.sms.send(&message).await.map_err(|error| {
            tracing::warn!(%error, "a text message with a code could not be sent");
            HubError::Provider {
                status: 502,
                message: "The text message with your code could not be sent; try again shortly".into(),
                provider_message: error,
            }
        })?;
        self.vault.seal(&code).or_internal()
    }
}

/// The step (counted from the Unix epoch) within one step of `now` whose code is `typed`, if any.
fn matching_totp_step(secret: &SecretString, typed: &str, now: u64) -> Result<Option<u64>, HubError> {
    let bytes = totp_rs::Secret::Encoded(secret.expose_secret().to_owned()).to_bytes().or_internal()?;
    let totp = TOTP::new_unchecked(Algorithm::SHA1, TOTP_DIGITS, 0, TOTP_STEP_SECONDS, bytes, None, String::new());
    let current = now / TOTP_STEP_SECONDS;
    Ok((current.saturating_sub(1)..=current + 1).find(|step| totp.check(typed, step * TOTP_STEP_SECONDS)))
}

/// Compares two short strings in time that does not depend on where they differ.
fn constant_time_eq(left: &str, right: &str) -> bool {
    use subtle::ConstantTimeEq;
    left.len() == right.len() && bool::from(left.as_bytes().ct_eq(right.as_bytes()))
}

/// Ten new recovery codes, as `xxxxx-xxxxx` from an alphabet without look-alikes, and their digests.
fn recovery_codes() -> (Vec<RevealedSecret>, Vec<String>) {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let mut code: String = (0..10).map(|_| ALPHABET[OsRng.gen_range(0..ALPHABET.len())] as char).collect();
            code.insert(5, '-');
            let hash = recovery_code_hash(&code);
            (RevealedSecret::new(code), hash)
        })
        .unzip()
}

/// The digest a recovery code is kept as: of its letters only, so case and dashes do not matter.
fn recovery_code_hash(typed: &str) -> String {
    let letters: String = typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    secrets::digest(&SecretString::from(letters))
}

/// What the second step shows: the method, the masked number a code went to, and whether entering it confirms a
/// changed number.
fn code_prompt(method: TwoFactorMethod, texted_to: Option<&str>, phone_confirmed: bool) -> CodePrompt {
    CodePrompt {
        method,
        sent_to: texted_to.map(masked_phone),
        confirms_new_phone: texted_to.is_some() && !phone_confirmed,
    }
}

/// A phone number with all but its last four digits hidden.
fn masked_phone(phone: &str) -> String {
    let digits = phone.chars().count();
    phone.chars().enumerate().map(|(index, c)| if index + 4 < digits && c.is_ascii_digit() { '•' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_the_rfc_6238_vector_within_one_step() {
        // RFC 6238, appendix B: the SHA-1 secret "12345678901234567890" gives 94287082 at T = 59 (8 digits);
        // its last six digits are the 6-digit code.
        let secret = SecretString::from(base32_of(b"12345678901234567890"));
        assert_eq!(matching_totp_step(&secret, "287082", 59).unwrap(), Some(1));
        assert_eq!(matching_totp_step(&secret, "287082", 59 + 30).unwrap(), Some(1), "one step late still counts");
        assert_eq!(matching_totp_step(&secret, "287082", 59 + 90).unwrap(), None, "three steps late does not");
        assert_eq!(matching_totp_step(&secret, "287083", 59).unwrap(), None);
    }

    fn base32_of(bytes: &[u8]) -> String {
        totp_rs::Secret::Raw(bytes.to_vec()).to_encoded().to_string()
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_without_case_or_dashes() {
        let (codes, hashes) = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let distinct: std::collections::HashSet<_> = hashes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODE_COUNT);
        let first = codes[0].as_str();
        assert_eq!(recovery_code_hash(&first.to_uppercase().replace('-', " ")), hashes[0]);
    }

    #[test]
    fn a_masked_phone_keeps_its_last_four_digits() {
        assert_eq!(masked_phone("+14155550123"), "+•••••••0123");
    }
}
